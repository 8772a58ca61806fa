# Runs once before the suites: fails loudly rather than skipping everything.
setup_suite() {
	if [ "$(id -u)" != 0 ]; then
		echo "the test suite needs root (BPF programs, cgroups, runc)" >&2
		return 1
	fi
	if [ ! -x build/sfagent ]; then
		echo "build/sfagent is missing: run 'make test', which builds first" >&2
		return 1
	fi
	if [ ! -e /sys/kernel/btf/vmlinux ]; then
		echo "no kernel BTF at /sys/kernel/btf/vmlinux" >&2
		return 1
	fi
}
