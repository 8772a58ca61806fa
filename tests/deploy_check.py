#!/usr/bin/python3
"""Checks deploy/: every Kubernetes manifest against the API schema that
Debian's python3-kubernetes carries (field names, types, required fields),
and that names, handlers, labels, paths and options agree across the
manifests, the containerd fragments and the image layout.

Usage: tests/deploy_check.py DEPLOY_DIR [INSTALL_ROOT]
INSTALL_ROOT: a `make install DESTDIR=... PREFIX=/usr/local` tree, to check
that the paths the DaemonSet runs exist in the image.
Prints one line per problem; exit 1 if any.
"""
import glob
import os
import re
import sys
import tomllib

import yaml
from kubernetes import client as k8s

problems = []


def bad(where, msg):
    problems.append("%s: %s" % (where, msg))


# ---- schema ---------------------------------------------------------------
MODELS = {
    ("v1", "Namespace"): "V1Namespace",
    ("v1", "ConfigMap"): "V1ConfigMap",
    ("v1", "Pod"): "V1Pod",
    ("apps/v1", "DaemonSet"): "V1DaemonSet",
    ("node.k8s.io/v1", "RuntimeClass"): "V1RuntimeClass",
}


def check_type(where, value, typ):
    """Walks value against an openapi type name of the python client."""
    if typ == "object":  # IntOrString, Quantity, free-form
        return
    if typ == "str":
        if not isinstance(value, str):
            bad(where, "want a string, got %r (quote it)" % (value,))
        return
    if typ == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            bad(where, "want an integer, got %r" % (value,))
        return
    if typ == "bool":
        if not isinstance(value, bool):
            bad(where, "want true/false, got %r" % (value,))
        return
    m = re.fullmatch(r"list\[(.+)\]", typ)
    if m:
        if not isinstance(value, list):
            bad(where, "want a list")
            return
        for i, v in enumerate(value):
            check_type("%s[%d]" % (where, i), v, m.group(1))
        return
    m = re.fullmatch(r"dict\(str, (.+)\)", typ)
    if m:
        if not isinstance(value, dict):
            bad(where, "want a mapping")
            return
        for k, v in value.items():
            check_type("%s.%s" % (where, k), v, m.group(1))
        return
    cls = getattr(k8s, typ, None)
    if cls is None:
        bad(where, "schema type %s unknown to the checker" % typ)
        return
    if not isinstance(value, dict):
        bad(where, "want a mapping (%s)" % typ)
        return
    by_json = {j: a for a, j in cls.attribute_map.items()}
    for k, v in value.items():
        if k not in by_json:
            bad(where, "unknown field `%s` in %s" % (k, typ))
            continue
        check_type("%s.%s" % (where, k), v, cls.openapi_types[by_json[k]])


def check_schema(where, doc):
    model = MODELS.get((doc.get("apiVersion"), doc.get("kind")))
    if not model:
        bad(where, "unexpected apiVersion/kind %s/%s"
            % (doc.get("apiVersion"), doc.get("kind")))
        return
    n = len(problems)
    check_type(where, doc, model)
    if len(problems) > n:
        return
    # The client's constructors refuse a missing required field.
    try:
        k8s.ApiClient()._ApiClient__deserialize(doc, model)
    except (ValueError, TypeError) as e:
        bad(where, "required field missing or invalid: %s" % e)


# ---- helpers --------------------------------------------------------------
def load_manifests(kdir):
    docs = {}
    for path in sorted(glob.glob(os.path.join(kdir, "*.yaml"))):
        name = os.path.basename(path)
        try:
            with open(path) as f:
                loaded = [d for d in yaml.safe_load_all(f) if d is not None]
        except yaml.YAMLError as e:
            bad(name, "not YAML: %s" % str(e).replace("\n", " "))
            continue
        docs[name] = loaded
    return docs


def one(docs, kind):
    found = [(f, d) for f, ds in docs.items() for d in ds
             if isinstance(d, dict) and d.get("kind") == kind]
    if len(found) != 1:
        bad("deploy/kubernetes", "want exactly one %s, found %d" % (kind, len(found)))
        return None, {}
    return found[0]


def dig(d, *path, default=None):
    for p in path:
        if isinstance(d, dict) and p in d:
            d = d[p]
        elif isinstance(d, list) and isinstance(p, int) and p < len(d):
            d = d[p]
        else:
            return default
    return d


def opt_value(words, opt):
    """The value following opt in a shell-ish word list."""
    for i, w in enumerate(words[:-1]):
        if w == opt:
            return words[i + 1]
    return None


def words_of(cmd):
    return re.findall(r'"[^"]*"|\'[^\']*\'|\S+', " ".join(cmd))


# ---- cross-file -----------------------------------------------------------
def main():
    deploy = sys.argv[1]
    install_root = sys.argv[2] if len(sys.argv) > 2 else None
    kdir = os.path.join(deploy, "kubernetes")
    docs = load_manifests(kdir)
    if not docs:
        bad(kdir, "no manifests")

    for name, ds in docs.items():
        if name == "kustomization.yaml":
            continue
        for i, d in enumerate(ds):
            if not isinstance(d, dict):
                bad(name, "document %d is not a mapping" % i)
                continue
            check_schema("%s:%s/%s" % (name, d.get("kind"),
                                       dig(d, "metadata", "name")), d)

    rcf, rc = one(docs, "RuntimeClass")
    dsf, ds = one(docs, "DaemonSet")
    cmf, cm = one(docs, "ConfigMap")
    nsf, ns = one(docs, "Namespace")
    pf, pod = one(docs, "Pod")

    # containerd fragments: the handler, base spec and annotations
    frags = {}
    for v, plugin in (("v2", "io.containerd.grpc.v1.cri"),
                      ("v3", "io.containerd.cri.v1.runtime")):
        path = os.path.join(deploy, "containerd", "sfagent-%s.toml" % v)
        try:
            with open(path, "rb") as f:
                t = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as e:
            bad(path, "cannot load: %s" % e)
            continue
        want_version = 2 if v == "v2" else 3
        if t.get("version") != want_version:
            bad(path, "version must be %d" % want_version)
        runtimes = dig(t, "plugins", plugin, "containerd", "runtimes", default={})
        if len(runtimes) != 1:
            bad(path, "want exactly one runtime under plugins.%s" % plugin)
            continue
        (handler, r), = runtimes.items()
        frags[v] = (handler, r)
        if r.get("runtime_type") != "io.containerd.runc.v2":
            bad(path, "runtime_type must be io.containerd.runc.v2")
        if "io.sfagent.*" not in (r.get("pod_annotations") or []):
            bad(path, "pod_annotations must pass io.sfagent.*")
        if not str(r.get("base_runtime_spec", "")).startswith("/"):
            bad(path, "base_runtime_spec must be an absolute path")
    if len(frags) == 2 and frags["v2"] != frags["v3"]:
        bad("deploy/containerd", "sfagent-v2.toml and sfagent-v3.toml disagree: %r vs %r"
            % (frags["v2"], frags["v3"]))
    handler, frag = frags.get("v2", (None, {}))

    # RuntimeClass <-> containerd handler <-> DaemonSet placement <-> Pod
    if rc:
        if rc.get("handler") != handler:
            bad(rcf, "handler `%s` is not the containerd runtime `%s`"
                % (rc.get("handler"), handler))
        if not dig(rc, "scheduling", "nodeSelector"):
            bad(rcf, "scheduling.nodeSelector is missing")
        if not dig(rc, "overhead", "podFixed"):
            bad(rcf, "overhead.podFixed is missing")
    tspec = dig(ds, "spec", "template", "spec", default={})
    if rc and ds and dig(rc, "scheduling", "nodeSelector") != tspec.get("nodeSelector"):
        bad(dsf, "nodeSelector %r differs from the RuntimeClass's %r"
            % (tspec.get("nodeSelector"), dig(rc, "scheduling", "nodeSelector")))
    if pod and rc and dig(pod, "spec", "runtimeClassName") != dig(rc, "metadata", "name"):
        bad(pf, "runtimeClassName is not the RuntimeClass `%s`" % dig(rc, "metadata", "name"))
    ann = dig(pod, "metadata", "annotations", default={}) or {}
    if not re.fullmatch(r"file(:[A-Za-z0-9._-]+)?", str(ann.get("io.sfagent.export", ""))):
        bad(pf, "io.sfagent.export annotation missing or not file|file:NAME")
    for k in ann:
        if k.startswith("io.sfagent.") and "io.sfagent.*" not in (frag.get("pod_annotations") or []):
            bad(pf, "annotation %s would not reach the hook" % k)

    # namespaces
    nsname = dig(ns, "metadata", "name")
    for f, d in ((dsf, ds), (cmf, cm)):
        if d and dig(d, "metadata", "namespace") != nsname:
            bad(f, "namespace is not `%s`" % nsname)

    # DaemonSet: selector, ConfigMap, volumes, paths
    sel = dig(ds, "spec", "selector", "matchLabels", default={}) or {}
    labels = dig(ds, "spec", "template", "metadata", "labels", default={}) or {}
    if not sel or any(labels.get(k) != v for k, v in sel.items()):
        bad(dsf, "selector.matchLabels must match the template's labels")
    containers = (tspec.get("initContainers") or []) + (tspec.get("containers") or [])
    agent = next((c for c in tspec.get("containers") or [] if c.get("name") == "agent"), None)
    init = next((c for c in tspec.get("initContainers") or [] if c.get("name") == "install"), None)
    if not agent:
        bad(dsf, "no container `agent`")
        agent = {}
    if not init:
        bad(dsf, "no init container `install`")
        init = {}
    cm_keys = set((cm.get("data") or {}).keys()) if cm else set()
    used = set()
    for c in containers:
        for ef in c.get("envFrom") or []:
            ref = dig(ef, "configMapRef", "name")
            if ref and ref != dig(cm, "metadata", "name"):
                bad(dsf, "container %s: configMapRef `%s` does not exist" % (c["name"], ref))
        text = " ".join((c.get("command") or []) + (c.get("args") or []))
        used |= set(re.findall(r"\$\{?(SFAGENT_[A-Z_]+)", text))
    for k in sorted(used - cm_keys):
        bad(dsf, "uses $%s, which the ConfigMap does not define" % k)
    for k in sorted(cm_keys - used):
        bad(cmf, "key %s is used by no container" % k)

    vols = {v.get("name"): v for v in tspec.get("volumes") or []}
    mounted = set()
    for c in containers:
        for m in c.get("volumeMounts") or []:
            mounted.add(m.get("name"))
            if m.get("name") not in vols:
                bad(dsf, "container %s mounts unknown volume `%s`" % (c["name"], m.get("name")))
    for n in sorted(set(vols) - mounted):
        bad(dsf, "volume `%s` is mounted by no container" % n)
    agent_hostpaths = {dig(vols.get(m.get("name")), "hostPath", "path"): m.get("mountPath")
                       for m in agent.get("volumeMounts") or []}
    for p in ("/sys/fs/bpf", "/sys/kernel/btf", "/sys/fs/cgroup", "/run/sfagent",
              "/var/log/sfagent", "/sys/kernel/tracing"):
        if agent_hostpaths.get(p) != p:
            bad(dsf, "agent must mount host %s at %s" % (p, p))
    if not tspec.get("hostPID"):
        bad(dsf, "hostPID must be true (event pids are the node's)")
    if not agent.get("readinessProbe"):
        bad(dsf, "agent has no readinessProbe")

    # The agent container gets exactly the systemd unit's capabilities: one
    # list, tested once (tests/50-deploy.bats runs the agent within it).
    unit = os.path.join(deploy, "systemd", "sfagent.service")
    try:
        with open(unit) as f:
            m = re.search(r"^CapabilityBoundingSet=(.*)$", f.read(), re.M)
        unit_caps = sorted(c.replace("CAP_", "", 1) for c in m.group(1).split()) if m else []
    except OSError as e:
        bad(unit, "cannot read: %s" % e)
        unit_caps = []
    ds_caps = sorted(dig(agent, "securityContext", "capabilities", "add", default=[]) or [])
    if ds_caps != unit_caps:
        bad(dsf, "agent capabilities %r differ from the systemd unit's %r" % (ds_caps, unit_caps))
    if dig(agent, "securityContext", "capabilities", "drop") != ["ALL"]:
        bad(dsf, "agent must drop ALL other capabilities")

    # One socket, one output dir, one base spec path, everywhere.
    agent_words = words_of(agent.get("args") or [])
    init_words = words_of((init.get("args") or []))
    probe_words = words_of(dig(agent, "readinessProbe", "exec", "command", default=[]))
    socket = opt_value(agent_words, "--socket")
    if socket != "/run/sfagent/sfagent.sock":
        bad(dsf, "agent --socket is %r, not the hook's default /run/sfagent/sfagent.sock" % socket)
    if opt_value(probe_words, "--socket") != socket:
        bad(dsf, "readinessProbe asks socket %r, agent listens on %r"
            % (opt_value(probe_words, "--socket"), socket))
    if opt_value(init_words, "--socket") != socket:
        bad(dsf, "init container gives the hook socket %r, agent listens on %r"
            % (opt_value(init_words, "--socket"), socket))
    if agent_hostpaths.get("/run/sfagent") != os.path.dirname(socket or "/x/y"):
        bad(dsf, "the socket's directory is not the /run/sfagent host mount")
    outdir = opt_value(agent_words, "--output-dir")
    if outdir not in agent_hostpaths.values():
        bad(dsf, "--output-dir %r is not a host mount" % outdir)
    if opt_value(init_words, "--base-spec") != frag.get("base_runtime_spec"):
        bad(dsf, "init --base-spec %r is not the fragments' base_runtime_spec %r"
            % (opt_value(init_words, "--base-spec"), frag.get("base_runtime_spec")))

    # Kustomization lists every resource but the example, images match.
    kz = (docs.get("kustomization.yaml") or [{}])[0] or {}
    want = sorted(n for n in docs if n not in ("kustomization.yaml", "example-pod.yaml"))
    if sorted(kz.get("resources") or []) != want:
        bad("kustomization.yaml", "resources %r, want %r" % (kz.get("resources"), want))
    images = {c.get("image", "").rsplit(":", 1)[0] for c in containers}
    kz_images = {i.get("name") for i in kz.get("images") or []}
    if images != kz_images:
        bad("kustomization.yaml", "images %r do not match the DaemonSet's %r"
            % (sorted(kz_images), sorted(images)))

    # The files the DaemonSet runs are where `make install` puts them.
    if install_root:
        paths = [w for w in agent_words + init_words + probe_words
                 if w.startswith("/usr/local/")]
        paths += ["/usr/local/bin/sfagent"]
        for p in sorted(set(paths)):
            if not os.access(install_root + p, os.X_OK):
                bad(dsf, "runs %s, which `make install PREFIX=/usr/local` does not install" % p)

    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
