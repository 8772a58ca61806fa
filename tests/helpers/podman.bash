# podman for the suites: private storage under the suite's temp dir ($HT),
# cgroupfs, the suite's hooks dir ($HOOKS_DIR or $HT/hooks).

# podman on private storage (driver $PM_DRIVER, vfs by default); the
# ulimits are needed on this machine
pm() {
	podman --root "$HT/storage" --runroot "$HT/runroot" --storage-driver "${PM_DRIVER:-vfs}" \
		--cgroup-manager cgroupfs --events-backend file \
		--hooks-dir "${HOOKS_DIR:-$HT/hooks}" "$@"
}

pm_run() {
	timeout 120 podman --runtime runc --root "$HT/storage" --runroot "$HT/runroot" \
		--storage-driver "${PM_DRIVER:-vfs}" --cgroup-manager cgroupfs --events-backend file \
		--hooks-dir "${HOOKS_DIR:-$HT/hooks}" run --rm --network none \
		--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$@"
}

# podman_suite_setup: the hooks.d file as `make install` writes it, in
# $HT/hooks (and $HT/hooks-absent, aimed at a socket nobody serves;
# $HT/hooks-closed, the same with the operator's fail policy closed), and the
# sample rootfs imported as localhost/sfagent-busybox:test.
podman_suite_setup() {
	# the hooks.d file as installed, pointed at the installed sfhook and at
	# the suite's socket
	make -s -C "$SF_TOP" install DESTDIR="$HT/dest" >/dev/null
	installed="$HT/dest/usr/share/containers/oci/hooks.d/sfagent.json"
	hook_bin=$(jq -r .hook.path "$installed")
	[ -x "$HT/dest$hook_bin" ]
	mkdir -p "$HT/hooks" "$HT/hooks-absent"
	jq --arg p "$HT/dest$hook_bin" --arg s "$SOCK" \
		'.hook.path = $p | .hook.args = ["sfhook", "--socket", $s]' \
		"$installed" >"$HT/hooks/sfagent.json"
	jq --arg p "$HT/dest$hook_bin" --arg s "$HT/absent.sock" \
		'.hook.path = $p | .hook.args = ["sfhook", "--socket", $s]' \
		"$installed" >"$HT/hooks-absent/sfagent.json"
	# the operator's fail policy as `make install HOOK_FAIL=closed` writes it
	make -s -C "$SF_TOP" install DESTDIR="$HT/dest-closed" HOOK_FAIL=closed >/dev/null
	mkdir -p "$HT/hooks-closed"
	jq --arg p "$HT/dest$hook_bin" --arg s "$HT/absent.sock" \
		'.hook.path = $p | .hook.args |= (.[0:1] + ["--socket", $s] + .[1:])' \
		"$HT/dest-closed/usr/share/containers/oci/hooks.d/sfagent.json" >"$HT/hooks-closed/sfagent.json"
	tar -C "$ROOTFS" -cf "$HT/rootfs.tar" .
	pm import "$HT/rootfs.tar" localhost/sfagent-busybox:test >/dev/null
}
