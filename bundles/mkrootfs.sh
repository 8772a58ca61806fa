#!/bin/sh
# Builds BUNDLE/rootfs from the static busybox plus BUNDLE/files/.
# Usage: bundles/mkrootfs.sh BUNDLE_DIR
set -eu
bundle=$1
busybox=${BUSYBOX:-/bin/busybox}
if ! "$busybox" --list >/dev/null 2>&1; then
	echo "mkrootfs: $busybox is not a busybox binary (install busybox-static)" >&2
	exit 1
fi
if ldd "$busybox" >/dev/null 2>&1; then
	echo "mkrootfs: $busybox is dynamically linked; install busybox-static" >&2
	exit 1
fi
root="$bundle/rootfs"
tmp="$bundle/rootfs.tmp"
rm -rf "$tmp"
mkdir -p "$tmp/bin" "$tmp/etc" "$tmp/tmp" "$tmp/proc" "$tmp/sys" "$tmp/dev" "$tmp/root"
cp "$busybox" "$tmp/bin/busybox"
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] || ln -sf busybox "$tmp/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$tmp/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' > "$tmp/etc/group"
chmod 1777 "$tmp/tmp"
if [ -d "$bundle/files" ]; then
	cp -R "$bundle/files/." "$tmp/"
fi
rm -rf "$root"
mv "$tmp" "$root"
