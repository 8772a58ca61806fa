#!/usr/bin/python3
"""A workload with known reads and writes, for -F sysflow's flow counts.

usage: flow_workload.py DIR FACTS [SPLIT_SECS]
       flow_workload.py --maps OUT   (run by a workload under the agent)

  DIR/w      written with 5 write(2) of 100 bytes, closed, read back with
             4 read(2) of 125 bytes, closed
  DIR/r1     opened, 1 write of 7 bytes, closed; opened again (the same fd
             number), 2 writes of 3 bytes, closed
  loopback TCP: the client sends 3 x 1000 bytes (send), the server
             receives them with 3 recv(MSG_WAITALL) and answers 2 x 50,
             which the client receives with 2 recv(MSG_WAITALL)
  DIR/long   (SPLIT_SECS given) held open for about 2.5 x SPLIT_SECS, one
             write of 10 bytes every tenth of that, an open of /dev/null
             each time so that the stream has events
Before the sockets close, the agent's flow_counts map (found from the
agent's fds, /proc/PID/fdinfo) is dumped with bpftool: its entry count
goes to FACTS as map_entries (the flows still open then: the socket
pair and the file held).  Every other number the checks need goes to
FACTS too.

With --maps, the entry counts of the agent's flow_counts and flow_uring
(io_uring requests waiting to be counted) go to OUT as JSON, for
tests/workloads/uringflow.c, which runs this while a receive waits.
"""
import json
import os
import socket
import subprocess
import sys
import time


def agent_pid():
    pid = os.getppid()
    while pid > 1:
        with open("/proc/%d/comm" % pid) as f:
            if f.read().strip() == "sfagent":
                return pid
        with open("/proc/%d/stat" % pid) as f:
            pid = int(f.read().rsplit(")", 1)[1].split()[1])
    raise SystemExit("no sfagent above this process")


def flow_map_entries(apid, name="flow_counts"):
    """entries of the agent's map NAME, or None: no such map"""
    seen = set()
    for fd in os.listdir("/proc/%d/fdinfo" % apid):
        try:
            info = open("/proc/%d/fdinfo/%s" % (apid, fd)).read()
        except OSError:
            continue
        ids = [l.split()[1] for l in info.splitlines() if l.startswith("map_id:")]
        if not ids or ids[0] in seen:
            continue
        seen.add(ids[0])
        show = json.loads(subprocess.check_output(
            ["bpftool", "-j", "map", "show", "id", ids[0]]))
        if show.get("name") != name:
            continue
        dump = json.loads(subprocess.check_output(
            ["bpftool", "-j", "map", "dump", "id", ids[0]]))
        return len(dump)
    return None


def main():
    if sys.argv[1] == "--maps":
        apid = agent_pid()
        # counted before OUT is opened (an open file is a flow)
        n = {m: flow_map_entries(apid, m) for m in ("flow_counts", "flow_uring")}
        with open(sys.argv[2], "w") as f:
            json.dump(n, f)
        return
    d, facts_path = sys.argv[1], sys.argv[2]
    split = float(sys.argv[3]) if len(sys.argv) > 3 else 0
    facts = {"pid": os.getpid()}

    w = os.path.join(d, "w")
    fd = os.open(w, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    for _ in range(5):
        assert os.write(fd, b"x" * 100) == 100
    os.close(fd)
    fd = os.open(w, os.O_RDONLY)
    for _ in range(4):
        assert len(os.read(fd, 125)) == 125
    os.close(fd)

    r1 = os.path.join(d, "r1")
    fd1 = os.open(r1, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd1, b"1234567")
    os.close(fd1)
    fd2 = os.open(r1, os.O_WRONLY | os.O_APPEND)
    assert fd2 == fd1, (fd1, fd2)
    os.write(fd2, b"abc")
    os.write(fd2, b"def")
    os.close(fd2)
    facts["reuse_fd"] = fd1

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    cli = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    cli.connect(srv.getsockname())
    conn, peer = srv.accept()
    facts["server_port"] = srv.getsockname()[1]
    facts["client_port"] = cli.getsockname()[1]
    for _ in range(3):
        assert cli.send(b"c" * 1000) == 1000
    for _ in range(3):
        assert len(conn.recv(1000, socket.MSG_WAITALL)) == 1000
    for _ in range(2):
        assert conn.send(b"s" * 50) == 50
    for _ in range(2):
        assert len(cli.recv(50, socket.MSG_WAITALL)) == 50

    if split:
        lf = os.open(os.path.join(d, "long"), os.O_WRONLY | os.O_CREAT, 0o644)
        n = 0
        end = time.monotonic() + 2.5 * split
        while time.monotonic() < end:
            os.write(lf, b"0123456789")
            n += 1
            os.close(os.open("/dev/null", os.O_RDONLY))
            time.sleep(split / 10)
        facts["long_writes"] = n
    facts["map_entries"] = flow_map_entries(agent_pid())
    if split:
        os.close(lf)
    conn.close()
    cli.close()
    srv.close()
    with open(facts_path, "w") as f:
        json.dump(facts, f)


main()
