#!/usr/bin/python3
"""Packs a root filesystem directory as a one-layer OCI image archive that
`ctr images import` accepts (an OCI image layout in a tar: oci-layout,
index.json, blobs/sha256/{layer, config, manifest}).  No registry involved.

Usage: tests/oci_image.py ROOTFS_DIR IMAGE_NAME OUT.tar [CMD...]
"""
import hashlib
import io
import json
import os
import sys
import tarfile


def blob(data, blobs):
    digest = hashlib.sha256(data).hexdigest()
    blobs.append((digest, data))
    return "sha256:" + digest, len(data)


def layer_of(rootfs):
    buf = io.BytesIO()

    def reset(ti):  # a reproducible layer: root-owned, no host timestamps
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = ""
        ti.mtime = 0
        return ti

    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name in sorted(os.listdir(rootfs)):
            t.add(os.path.join(rootfs, name), arcname=name, filter=reset)
    return buf.getvalue()


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: oci_image.py ROOTFS_DIR IMAGE_NAME OUT.tar [CMD...]")
    rootfs, name, out = sys.argv[1:4]
    cmd = sys.argv[4:] or ["/bin/sh"]
    if not os.path.isfile(os.path.join(rootfs, "bin", "busybox")):
        sys.exit("oci_image.py: %s has no bin/busybox: run `make bundles`" % rootfs)
    blobs = []
    layer = layer_of(rootfs)
    layer_digest, layer_size = blob(layer, blobs)
    config = json.dumps({
        "architecture": {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine,
                                                                  os.uname().machine),
        "os": "linux",
        "config": {"Cmd": cmd, "Env": ["PATH=/bin"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
    }, sort_keys=True).encode()
    config_digest, config_size = blob(config, blobs)
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer_digest, "size": layer_size}],
    }, sort_keys=True).encode()
    manifest_digest, manifest_size = blob(manifest, blobs)
    index = json.dumps({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest, "size": manifest_size,
            "annotations": {"io.containerd.image.name": name,
                            "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1]},
        }],
    }, sort_keys=True).encode()

    with tarfile.open(out, "w") as t:
        def add(path, data):
            ti = tarfile.TarInfo(path)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add("index.json", index)
        for digest, data in blobs:
            add("blobs/sha256/" + digest, data)


if __name__ == "__main__":
    main()
