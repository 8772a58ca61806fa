#!/usr/bin/env python3
"""Registers cgroups with a running `sfagent -D` directly over its socket, as
sfhook would, without a runtime (benchmark helper, tests/bench/run.sh).

  reg.py SOCK CGROUP_DIR attach N LOG PID [IDLE_S]
      N cycles, each from an idle daemon (PID holds no BPF link): register a
      fresh cgroup (cold: the probe attaches), register a second one while
      the first is live (warm), unregister both, wait until LOG (the
      daemon's -v stderr) says the probe detached and the links are gone,
      then IDLE_S more seconds (default 1).
      Prints per cycle: cold_ms=X warm_ms=Y (the REGISTER round trips).

  reg.py SOCK CGROUP_DIR add FROM TO
      registers the cgroups wFROM .. wTO-1 (made if absent); prints the
      round trip of each: reg_ms=X
  reg.py SOCK CGROUP_DIR del FROM TO
      unregisters them and removes the cgroups

CGROUP_DIR is a cgroup v2 directory the caller made; the cgroups go below
it and are removed again.
"""
import json
import os
import socket
import sys
import time

sock_path, base, cmd = sys.argv[1], sys.argv[2], sys.argv[3]
mnt = next(l.split()[4] for l in open("/proc/self/mountinfo") if l.split()[-3] == "cgroup2")


def request(msg):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(30)
    s.connect(sock_path)
    t0 = time.monotonic()
    s.send(json.dumps(msg).encode())
    reply = json.loads(s.recv(65536).decode())
    dt = time.monotonic() - t0
    s.close()
    if reply.get("op") != "ack":
        sys.exit("reg.py: %s refused: %s" % (msg["op"], reply))
    return dt * 1e3


def register(name):
    d = os.path.join(base, name)
    os.makedirs(d, exist_ok=True)
    return request({"v": 1, "op": "register", "container_id": name, "pid": os.getpid(),
                    "cgroup_id": os.stat(d).st_ino, "cgroup_path": d[len(mnt):],
                    "bundle": base, "workload": name})


def unregister(name):
    request({"v": 1, "op": "unregister", "container_id": name})
    for _ in range(100):
        try:
            os.rmdir(os.path.join(base, name))
            return
        except OSError:
            time.sleep(0.05)


def detaches(log):
    return open(log, errors="replace").read().count("nothing tracked for")


def links(pid):
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            n += os.readlink("/proc/%d/fd/%s" % (pid, fd)) == "anon_inode:bpf_link"
        except OSError:
            pass
    return n


def wait_idle(log, seen, pid):
    """until LOG tells one more detach and the kernel released the links"""
    deadline = time.monotonic() + 60
    while (detaches(log) <= seen or links(pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    # idle for a while, as between two containers after the hysteresis: a
    # tracepoint enabled again right after its last probe went waits for an
    # RCU grace period in the kernel (tracepoint.c, the 1-0-1 transition),
    # which is the cost of a detach that came too early, measured apart
    time.sleep(IDLE_S)


if cmd == "attach":
    n, log, pid = int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
    IDLE_S = float(sys.argv[7]) if len(sys.argv) > 7 else 1.0
    wait_idle(log, -1, pid)
    for i in range(n):
        seen = detaches(log)
        cold = register("cold%d" % i)
        warm = register("warm%d" % i)
        unregister("warm%d" % i)
        unregister("cold%d" % i)
        print("cold_ms=%.2f warm_ms=%.2f" % (cold, warm), flush=True)
        wait_idle(log, seen, pid)
elif cmd == "add":
    for i in range(int(sys.argv[4]), int(sys.argv[5])):
        print("reg_ms=%.3f" % register("w%d" % i), flush=True)
elif cmd == "del":
    for i in range(int(sys.argv[4]), int(sys.argv[5])):
        unregister("w%d" % i)
else:
    sys.exit("reg.py: unknown command %s" % cmd)
