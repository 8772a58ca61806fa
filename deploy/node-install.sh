#!/bin/sh
# Installs sfagent's containerd runtime handler `sfagent` on a node:
#   1. copies sfhook to the node (with --hook-src),
#   2. writes the base spec (oci/containerd-base-spec.sh: this node's own
#      `ctr oci spec` plus the sfhook hooks),
#   3. adds the handler (deploy/containerd/sfagent-v2.toml or -v3.toml, chosen
#      by the node's containerd) to config.toml between marker lines,
#   4. checks the result with the node's `containerd config dump` before
#      replacing config.toml, and restarts containerd only with --restart and
#      only when something changed.
# Idempotent; --uninstall removes what it added.  Used as the DaemonSet's init
# container (--root /host, commands run through chroot) or by hand on a node.
#
# Usage: deploy/node-install.sh [options]
#   --root DIR          the node's root as seen here (default /; /host in the pod)
#   --config FILE       containerd config, node path (default /etc/containerd/config.toml)
#   --hook PATH         node path of sfhook (default /usr/local/libexec/sfagent/sfhook)
#   --hook-src FILE     copy this sfhook binary to --hook (default: leave --hook alone)
#   --base-spec PATH    node path of the base spec (default /etc/sfagent/containerd-base-spec.json)
#   --socket PATH       agent socket (default /run/sfagent/sfagent.sock)
#   --fail POLICY       sfhook's fail policy in the base spec: open (default) or
#                       closed; a pod's io.sfagent.fail can only make it stricter
#   --restart           restart containerd when the config or base spec changed
#   --restart-cmd CMD   how (default `systemctl restart containerd`, run on the node)
#   --uninstall         remove the handler block, base spec and copied sfhook
set -eu

prog=node-install
here=$(cd "$(dirname -- "$0")" && pwd)
root=/
config=/etc/containerd/config.toml
hook=/usr/local/libexec/sfagent/sfhook
hook_src=
base_spec=/etc/sfagent/containerd-base-spec.json
socket=/run/sfagent/sfagent.sock
fail=open
restart=no
restart_cmd="systemctl restart containerd"
uninstall=no
begin_mark="# BEGIN sfagent runtime handler (deploy/node-install.sh)"
end_mark="# END sfagent runtime handler"

die() { echo "$prog: $*" >&2; exit "${status:-1}"; }
usage() { status=2 die "$*"; }
need() { if [ "$#" -lt 2 ] || [ -z "$2" ]; then usage "option $1 needs a value"; fi; }
say() { echo "$prog: $*" >&2; }

while [ "$#" -gt 0 ]; do
	case $1 in
	--root) need "$@"; root=$2; shift 2 ;;
	--config) need "$@"; config=$2; shift 2 ;;
	--hook) need "$@"; hook=$2; shift 2 ;;
	--hook-src) need "$@"; hook_src=$2; shift 2 ;;
	--base-spec) need "$@"; base_spec=$2; shift 2 ;;
	--socket) need "$@"; socket=$2; shift 2 ;;
	--fail) need "$@"; fail=$2; shift 2 ;;
	--restart) restart=yes; shift ;;
	--restart-cmd) need "$@"; restart_cmd=$2; shift 2 ;;
	--uninstall) uninstall=yes; shift ;;
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d;s/^# \{0,1\}//'; exit 0 ;;
	*) usage "unknown argument \`$1\` (see --help)" ;;
	esac
done
for p in "$config" "$hook" "$base_spec" "$socket"; do
	case $p in /*) ;; *) usage "node paths must be absolute, got \`$p\`" ;; esac
done
[ -d "$root" ] || usage "--root \`$root\` is not a directory"
root=$(cd "$root" && pwd)
[ "$root" = / ] && root=

# Commands that must be the node's own (its containerd, its ctr) run chrooted
# when --root is not /.
on_node() {
	if [ -n "$root" ]; then chroot "$root" "$@"; else "$@"; fi
}

basespec_sh=$here/containerd-base-spec.sh
[ -x "$basespec_sh" ] || basespec_sh=$here/../oci/containerd-base-spec.sh
[ -x "$basespec_sh" ] || die "containerd-base-spec.sh not found next to $0"
fragdir=$here/containerd
[ -r "$fragdir/sfagent-v2.toml" ] || die "containerd fragments not found in \`$fragdir\`"

[ -f "$root$config" ] || die "no containerd config at \`$config\` on the node; create it with \`containerd config default > $config\` first"

tmpdir=$(mktemp -d "$root/tmp/sfagent-install.XXXXXX") || die "cannot create a temp dir under $root/tmp"
trap 'rm -rf "$tmpdir"' EXIT
node_tmp=${tmpdir#"$root"}
changed=no

# The config without our block (so reinstall replaces it, uninstall drops it).
awk -v b="$begin_mark" -v e="$end_mark" '
	$0 == b { skip = 1; next }
	$0 == e { skip = 0; next }
	!skip' "$root$config" > "$tmpdir/base.toml"

dump() { on_node containerd --config "$1" config dump 2>"$tmpdir/dump.err"; }
runtimes_of() { # dump-file prefix -> runtime names, one a line
	sed -n "s/^ *\[$2\.containerd\.runtimes\.\([^].]*\)\]\$/\1/p" "$1" | sort -u
}

dump "$node_tmp/base.toml" > "$tmpdir/base.dump" ||
	die "containerd cannot load \`$config\` as it is: $(head -c 300 "$tmpdir/dump.err")"
# The file's own version (containerd's dump shows a version 1 file migrated).
version=$(awk '/^[ \t]*\[/ { exit }
	/^[ \t]*version[ \t]*=/ { sub(/^[^=]*=[ \t]*/, ""); sub(/[ \t]*(#.*)?$/, ""); print; exit }' \
	"$tmpdir/base.toml")
case $version in
2) frag=$fragdir/sfagent-v2.toml; prefix='plugins\."io\.containerd\.grpc\.v1\.cri"' ;;
3) frag=$fragdir/sfagent-v3.toml; prefix='plugins\.'"'"'io\.containerd\.cri\.v1\.runtime'"'" ;;
*) die "\`$config\` is containerd config version ${version:-1}; sfagent's handler needs version 2 (containerd 1.6/1.7) or 3 (2.x): migrate it with \`containerd config migrate\`" ;;
esac
# containerd 2.x dumps keys with single quotes; the 1.x dump uses double.
[ "$version" = 3 ] && ! grep -q "^ *\[$prefix" "$tmpdir/base.dump" &&
	prefix='plugins\."io\.containerd\.cri\.v1\.runtime"'

replace() { # tmp-file dest: install atomically when different
	if [ -f "$2" ] && cmp -s "$1" "$2"; then return 0; fi
	mkdir -p "$(dirname -- "$2")"
	if ! { cp "$1" "$2.sfagent-new" && mv -f "$2.sfagent-new" "$2"; }; then
		rm -f "$2.sfagent-new"
		die "cannot write \`$2\`"
	fi
	changed=yes
}

if [ "$uninstall" = yes ]; then
	replace "$tmpdir/base.toml" "$root$config"
	rm -f "$root$base_spec"
	[ -n "$hook_src" ] && rm -f "$root$hook"
	say "removed the sfagent handler from $config"
else
	if [ -n "$hook_src" ]; then
		[ -x "$hook_src" ] || die "--hook-src \`$hook_src\` is not an executable file"
		replace "$hook_src" "$root$hook"
		chmod 0755 "$root$hook"
	fi
	[ -x "$root$hook" ] || die "sfhook is not installed at \`$hook\` on the node (use --hook-src, or \`make install\`)"

	"$basespec_sh" --ctr "${root:+chroot $root} ctr" --hook "$hook" --socket "$socket" --fail "$fail" \
		> "$tmpdir/spec.json"
	replace "$tmpdir/spec.json" "$root$base_spec"

	# Our block: the fragment's tables (its `version` line would land inside
	# the previous table when appended), with the paths of this node.
	{
		cat "$tmpdir/base.toml"
		echo "$begin_mark"
		sed -n '/^\[/,$p' "$frag" | sed "s|/etc/sfagent/containerd-base-spec.json|$base_spec|"
		echo "$end_mark"
	} > "$tmpdir/new.toml"
	dump "$node_tmp/new.toml" > "$tmpdir/new.dump" ||
		die "containerd rejects the config with the handler added: $(head -c 300 "$tmpdir/dump.err")"

	# containerd 1.x: a config that declares no runtime of its own relies on
	# the built-in `runc`; declaring `sfagent` replaces that built-in table.
	# Carry over (from the dump) every handler the node had before.
	runtimes_of "$tmpdir/base.dump" "$prefix" > "$tmpdir/before"
	runtimes_of "$tmpdir/new.dump" "$prefix" > "$tmpdir/after"
	lost=$(comm -23 "$tmpdir/before" "$tmpdir/after" | tr '\n' ' ')
	if [ -n "$lost" ]; then
		{
			cat "$tmpdir/base.toml"
			echo "$begin_mark"
			echo "# handlers containerd had built in, declared so they stay: $lost"
			for name in $lost; do
				P="^ *\\[$prefix\\.containerd\\.runtimes\\.${name}[].]" awk '
					BEGIN { p = ENVIRON["P"] }
					/^ *\[/ { keep = ($0 ~ p) }
					keep' "$tmpdir/base.dump"
			done
			sed -n '/^\[/,$p' "$frag" | sed "s|/etc/sfagent/containerd-base-spec.json|$base_spec|"
			echo "$end_mark"
		} > "$tmpdir/new.toml"
		dump "$node_tmp/new.toml" > "$tmpdir/new.dump" ||
			die "containerd rejects the config with the handler added: $(head -c 300 "$tmpdir/dump.err")"
		runtimes_of "$tmpdir/new.dump" "$prefix" > "$tmpdir/after"
		lost=$(comm -23 "$tmpdir/before" "$tmpdir/after" | tr '\n' ' ')
		[ -z "$lost" ] || die "adding the handler would drop the node's runtime handlers: $lost"
	fi
	if ! grep -q "^ *\[$prefix\.containerd\.runtimes\.sfagent\]\$" "$tmpdir/new.dump" ||
		! grep -qF -e "base_runtime_spec = \"$base_spec\"" -e "base_runtime_spec = '$base_spec'" \
			"$tmpdir/new.dump"; then
		die "containerd does not show the sfagent handler after the merge (config dump)"
	fi
	replace "$tmpdir/new.toml" "$root$config"
	say "sfagent handler in $config (containerd config version $version), base spec $base_spec, hook $hook"
fi

if [ "$changed" = yes ]; then
	if [ "$restart" = yes ]; then
		say "restarting containerd: $restart_cmd"
		# shellcheck disable=SC2086 # a command line
		$restart_cmd || die "\`$restart_cmd\` failed"
	else
		say "changed: restart containerd to load it (running containers keep going)"
	fi
fi
