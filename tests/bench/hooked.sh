# shellcheck shell=bash
# Sourced by the benchmarks that run containers through sfhook.

# hook_bundle BUNDLE SF HOOK SOCKET: sfhook injected into BUNDLE's config
# for SOCKET, with a 10 s timeout: a loaded machine must not turn a slow ACK
# into a fail-open start
hook_bundle() {
	"$2" --inject-hook "$1" --hook-path "$3" --socket "$4" >/dev/null
	jq '(.hooks.prestart[], .hooks.poststop[]) |=
		(.args |= ((indices("--timeout") | first) as $i |
			   if $i then .[$i + 1] = "10000"
			   else .[0:1] + ["--timeout", "10000"] + .[1:] end) |
		 .timeout = 20)' \
		"$1/config.json" >"$1/c.tmp" && mv "$1/c.tmp" "$1/config.json"
}
