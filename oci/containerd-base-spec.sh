#!/bin/sh
# Writes the base OCI runtime spec for containerd's `sfagent` runtime handler:
# the runtime's own default spec (`ctr oci spec`, what the CRI plugin uses when
# a handler has no base_runtime_spec) plus the sfhook hooks.  Generated, never
# hand-edited, so it cannot drift from the containerd that runs it; rerun it
# after upgrading containerd (and restart containerd: the CRI plugin reads
# base specs once, at start).
#
# Usage: oci/containerd-base-spec.sh [options] > FILE
#   -o, --output FILE    write FILE atomically instead of stdout
#   --hook PATH          sfhook on the node (default /usr/local/libexec/sfagent/sfhook)
#   --socket PATH        agent socket (default /run/sfagent/sfagent.sock)
#   --stage STAGE        createRuntime (default) or prestart: when the tag+register runs
#   --fail POLICY        sfhook's fail policy: open (default; a container the agent
#                        cannot track starts, with a warning) or closed (it does not
#                        start).  The operator's choice: a pod can only make it stricter
#   --timeout SECS       runtime's kill timeout for the hook (default 10; sfhook's
#                        own --timeout, 2 s, fires well inside it)
#   --ctr CMD            ctr command (default `ctr`; e.g. "chroot /host ctr")
#   --from FILE          start from FILE instead of `ctr oci spec` ('-' = stdin),
#                        taken as it is (your own base spec, your own limits)
#
# From `ctr oci spec`, the rlimits, seccomp and AppArmor defaults are dropped,
# as containerd's CRI plugin drops them for a handler without a base spec
# (WithoutDefaultSecuritySettings).  With a base spec it keeps them: pods of
# the RuntimeClass would otherwise get `ctr`'s RLIMIT_NOFILE 1024 instead of
# the limits every other pod gets.
#
# Idempotent: hooks pointing at the same sfhook path are replaced, any other
# hooks already in the spec (another vendor's) are kept in order.
set -eu

prog=containerd-base-spec
hook=/usr/local/libexec/sfagent/sfhook
socket=/run/sfagent/sfagent.sock
stage=createRuntime
timeout=10
fail=open
ctr=ctr
from=
output=

die() { echo "$prog: $*" >&2; exit "${status:-1}"; }
usage() { status=2 die "$*"; }
need() { if [ "$#" -lt 2 ] || [ -z "$2" ]; then usage "option $1 needs a value"; fi; }

while [ "$#" -gt 0 ]; do
	case $1 in
	-o|--output) need "$@"; output=$2; shift 2 ;;
	--hook) need "$@"; hook=$2; shift 2 ;;
	--socket) need "$@"; socket=$2; shift 2 ;;
	--stage) need "$@"; stage=$2; shift 2 ;;
	--timeout) need "$@"; timeout=$2; shift 2 ;;
	--fail) need "$@"; fail=$2; shift 2 ;;
	--ctr) need "$@"; ctr=$2; shift 2 ;;
	--from) need "$@"; from=$2; shift 2 ;;
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d;s/^# \{0,1\}//'; exit 0 ;;
	*) usage "unknown argument \`$1\` (see --help)" ;;
	esac
done

case $stage in
createRuntime|prestart) ;;
*) usage "bad --stage \`$stage\`: want createRuntime or prestart" ;;
esac
case $fail in
open|closed) ;;
*) usage "bad --fail \`$fail\`: want open or closed" ;;
esac
case $hook in
/*) ;;
*) usage "--hook must be an absolute path (runc runs hooks from the host), got \`$hook\`" ;;
esac
case $socket in
/*) ;;
*) usage "--socket must be an absolute path, got \`$socket\`" ;;
esac
case $timeout in
''|*[!0-9]*|0) usage "bad --timeout \`$timeout\`: want whole seconds > 0" ;;
esac
command -v jq >/dev/null 2>&1 || die "jq is missing (apt-get install jq)"

tmp=$(mktemp "${TMPDIR:-/tmp}/sfagent-basespec.XXXXXX")
trap 'rm -f "$tmp" "$tmp.out" "$tmp.err"' EXIT

if [ -n "$from" ]; then
	cat -- "$from" > "$tmp" || die "cannot read \`$from\`"
else
	# shellcheck disable=SC2086 # --ctr may be a command with arguments
	$ctr oci spec > "$tmp.out" 2>"$tmp.err" ||
		die "\`$ctr oci spec\` failed: $(head -c 300 "$tmp.err")"
	jq 'del(.process.rlimits, .process.apparmorProfile, .linux.seccomp)' \
		< "$tmp.out" > "$tmp" 2>"$tmp.err" ||
		die "\`$ctr oci spec\` printed no JSON: $(head -c 300 "$tmp.err")"
fi

# Both stages get the same argv shape: sfhook --socket PATH --fail POLICY STAGE (options
# first: sfhook stops at the first operand).  The poststop hook ends the
# stream after the runtime deleted the container.
jq --arg hook "$hook" --arg socket "$socket" --arg stage "$stage" \
	--arg fail "$fail" --argjson timeout "$timeout" '
	def sfhook($st): {path: $hook, args: ["sfhook", "--socket", $socket, "--fail", $fail, $st],
			  timeout: $timeout};
	def others($st): ((.hooks[$st] // []) | map(select(.path != $hook)));
	if (type != "object") or (.ociVersion | type) != "string"
	then error("input is not an OCI runtime spec (no ociVersion)") else . end
	| .hooks = (.hooks // {})
	| .hooks.prestart = others("prestart")
	| .hooks.createRuntime = others("createRuntime")
	| .hooks[$stage] += [sfhook($stage)]
	| .hooks.poststop = others("poststop") + [sfhook("poststop")]
	| .hooks |= with_entries(select(.value != []))
	' < "$tmp" > "$tmp.out" 2>"$tmp.err" || {
	msg=$(head -c 300 "$tmp.err")
	die "cannot add the hooks: $msg"
}
rm -f "$tmp.err"

if [ -z "$output" ]; then
	cat "$tmp.out"
else
	dir=$(dirname -- "$output")
	[ -d "$dir" ] || die "directory \`$dir\` of --output does not exist"
	out_tmp=$(mktemp "$dir/.$(basename -- "$output").XXXXXX") ||
		die "cannot write in \`$dir\`"
	if ! { cat "$tmp.out" > "$out_tmp" && chmod 0644 "$out_tmp" &&
		mv -f "$out_tmp" "$output"; }; then
		rm -f "$out_tmp"
		die "cannot write \`$output\`"
	fi
fi
