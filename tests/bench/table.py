#!/usr/bin/env python3
"""Turns tests/bench/run.sh results into one table (stdout) and, with
--report FILE, rewrites the generated part of docs/performance.md (between
the bench:begin/bench:end markers; the text around them is kept)."""
import statistics
import sys
from collections import defaultdict

res_path, meta_path = sys.argv[1], sys.argv[2]
report = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--report" else None

vals = defaultdict(list)
for line in open(res_path):
    k, _, v = line.rstrip("\n").partition("\t")
    vals[k].append(v)
meta = dict(l.rstrip("\n").split("=", 1) for l in open(meta_path) if "=" in l)


def nums(k):
    out = []
    for v in vals.get(k, []):
        try:
            out.append(float(v))
        except ValueError:
            pass
    return out


def med(k):
    n = nums(k)
    return statistics.median(n) if n else None


def mmm(k, fmt="{:,.0f}", scale=1.0):
    n = nums(k)
    if not n:
        return "n/a"
    m = statistics.median(n) * scale
    if len(n) == 1:
        return fmt.format(m)
    return (fmt + " ({}–{})").format(m, fmt.format(min(n) * scale), fmt.format(max(n) * scale))


def ratio(k, base, fmt="{:.2f}x"):
    """median of per-rep ratios, with min-max"""
    a, b = nums(k), nums(base)
    r = [x / y for x, y in zip(a, b) if y]
    if not r:
        return "n/a"
    m = statistics.median(r)
    if len(r) == 1:
        return fmt.format(m)
    return (fmt + " ({}–{})").format(m, fmt.format(min(r)), fmt.format(max(r)))


rows = []  # (section, measurement, value, note)
W = ["orc", "fork", "tar"]

TP_DESC = {
    "kill": "kill(getpid(),0) loops: signal.kill",
    "files": "open+close loops of one file: file.open, path resolved",
}
for v in meta.get("tp_variants", "json quixote").split():
    f, _, wl = v.partition(".")
    wl = wl or "kill"
    what = TP_DESC[wl]
    if f == "sysflow":
        what += ", no SysFlow record: decoded, counted unmapped" if wl == "kill" else ", one FileFlow each"
    lim = vals.get(f"tp.{v}.limit", ["?"])
    lim = "source (the traced generators could go no faster; no loss)" if all(
        x == "source" for x in lim) else "agent (bisected to the largest rate with 0 missed)"
    r = mmm(f"tp.{v}")
    if med(f"tp.{v}") == 0 and nums(f"tp.{v}.below"):
        r = "below {:,.0f}".format(min(nums(f"tp.{v}.below")))
    rows.append(("1 throughput", f"{f} to a file, 0 missed (ev/s): {what}",
                 r, f"ring buffer {meta.get('ringbuf')}; {meta.get('tp_procs')} generators; limit: {lim}"))
    rows.append(("1 throughput", f"{f} flat out (ev/s, missed): {wl}",
                 mmm(f"tp.{v}.flatout_rate") + ", missed " + mmm(f"tp.{v}.flatout_missed"),
                 "as fast as the generators go"))
    c = med(f"tp.{v}.cpu_ns")
    note = "the agent's threads' run time from the loop's start to 0.5 s after, per event"
    if c:
        note += "; capacity {:,.0f} ev/s per core (derived: 1e9 / median)".format(1e9 / c)
    if nums(f"tp.{v}.flatout_core"):
        note += "; share of a core flat out " + mmm(f"tp.{v}.flatout_core", "{:.2f}")
    if f == "sysflow":
        note += "; SysFlow records per event " + mmm(f"tp.{v}.records_per_ev", "{:.3f}")
    rows.append(("1 throughput", f"{f} agent CPU per event (ns): {wl}", mmm(f"tp.{v}.cpu_ns"), note))
for wl in ["kill", "files"]:
    if nums(f"tp.bare.{wl}"):
        rows.append(("1 throughput", f"the generators alone, no agent (ev/s): {wl}", mmm(f"tp.bare.{wl}"),
                     "the same loops untraced, once per round: the machine's ceiling for every trial"))

for w in W:
    desc = meta.get(f"wl.{w}", w)
    base = mmm(f"traced.{w}.none", "{:,.0f}", 1e-6) + " ms"
    rows.append(("2 traced workload", f"{desc}: untraced", base, "wall time"))
    for how in ["sfagent", "bpftrace", "strace"]:
        ev = mmm(f"events.{w}.{how}")
        note = f"{ev} records"
        if how == "sfagent":
            note += f", missed {mmm(f'missed.{w}.sfagent')}"
        if how == "bpftrace":
            note += f", lost (whole run) {mmm('lost.bpftrace')}"
        rows.append(("2 traced workload", f"{desc}: {how}", ratio(f"traced.{w}.{how}", f"traced.{w}.none")
                     + " wall, " + ratio(f"traced_cpu.{w}.{how}", f"traced_cpu.{w}.none") + " CPU", note))
    # wall time: what the user waits; CPU: the workload's own user+sys (BPF
    # programs run in its context), less disturbed by a loaded machine
    for key, what in (("traced", "wall"), ("traced_cpu", "CPU")):
        sf = [x / y - 1 for x, y in zip(nums(f"{key}.{w}.sfagent"), nums(f"{key}.{w}.none")) if y]
        bt = [x / y - 1 for x, y in zip(nums(f"{key}.{w}.bpftrace"), nums(f"{key}.{w}.none")) if y]
        if not (sf and bt):
            continue
        if statistics.median(bt) <= 0:
            v, n = "n/a", "bpftrace's median is not above untraced: overhead within this run's noise"
        elif statistics.median(sf) <= 0:
            v, n = "n/a", "sfagent's median is not above untraced: overhead within this run's noise"
        else:
            g = statistics.median(sf) / statistics.median(bt)
            v, n = f"{g:.2f}", "goal <= 0.5" + (" (met)" if g <= 0.5 else " (MISSED)")
        rows.append(("2 traced workload", f"{desc}: sfagent overhead / bpftrace overhead ({what})", v, n))

for w in W:
    desc = meta.get(f"wl.{w}", w)
    rows.append(("3 everyone else", f"{desc}: agent tracking busy container vs none",
                 ratio(f"other.{w}.busy1", f"other.{w}.busy0", "{:.3f}x") + " wall, "
                 + ratio(f"other_cpu.{w}.busy1", f"other_cpu.{w}.busy0", "{:.3f}x") + " CPU",
                 f"busy container: kill loop at {meta.get('busy_rate')}/s in both; goal < 1.03x"))

for kind in ["signal.kill", "file.open"]:
    for wr, what in [("sbuf", "hand-written writer (agent/sbuf.c)"), ("yajl", "yajl_gen, validation off")]:
        rows.append(("4 agent resources", f"encode one {kind} record: {what} (ns)",
                     mmm(f"enc.{kind}.{wr}", "{:,.0f}"),
                     "" if wr == "sbuf" else "yajl/sbuf " + ratio(f"enc.{kind}.yajl", f"enc.{kind}.sbuf", "{:.1f}x")))
rows.append(("4 agent resources", "CPU seconds per million events", mmm("tp.json.cpu_ns", "{:.2f}", 1e-3),
             "the agent's threads in the flat-out json kill trials, start-up (BPF load, attach) excluded"))
c = med("tp.json.cpu_ns")
if c:
    rows.append(("4 agent resources", "agent capacity per CPU core (derived)", "{:,.0f} ev/s".format(1e9 / c),
                 "1 / (CPU seconds per event): not a measured rate"))
rows.append(("4 agent resources", "RSS idle (1 tracked workload)", mmm("res.rss_idle_kb") + " KiB", "VmRSS"))
for rb in ["1M", "64M"]:
    rows.append(("4 agent resources", f"RSS idle with --ringbuf-size {rb}", mmm(f"res.rss_idle_kb.{rb}") + " KiB",
                 "the ring's data pages are mapped twice (libbpf), so VmRSS counts them twice"))
rows.append(("4 agent resources", "RSS under load (max)", mmm("res.rss_load_kb") + " KiB",
             "max RSS in the flat-out trial, ring buffer pages included"))
if nums("res.d_rss_idle_kb"):
    dnote = "sfagent -D, runc containers with sfhook, shared read-only busybox rootfs"
    rows.append(("4 agent resources", "daemon RSS idle (no container)", mmm("res.d_rss_idle_kb") + " KiB", dnote))
    rows.append(("4 agent resources", f"daemon RSS with {mmm('res.d_tracked')} tracked containers",
                 mmm("res.d_rss_tracked_kb") + " KiB", f"{meta.get('n_tracked')} `sleep` containers started, "
                 f"{mmm('res.d_tracked')} streams started"))
    rows.append(("4 agent resources", "daemon RSS after those were deleted", mmm("res.d_rss_deleted_kb") + " KiB", ""))
    ch = med("res.d_churned") or 0
    rows.append(("4 agent resources", f"daemon RSS after {ch:,.0f} short-lived containers",
                 mmm("res.d_rss_churned_kb") + " KiB",
                 f"`/bin/true` containers one after another, at most {meta.get('n_churn')} or "
                 f"{meta.get('churn_secs')} s; {mmm('res.d_streams_ended')} stream.end records in all; "
                 "vs before churn: " + ("{:+,.0f} KiB".format(med("res.d_rss_churned_kb") - med("res.d_rss_deleted_kb"))
                                       if nums("res.d_rss_churned_kb") and nums("res.d_rss_deleted_kb") else "n/a")))
else:
    rows.append(("4 agent resources", "RSS with 100 tracked containers / after 1,000 churned", "not measured",
                 "section churn not run (or runc/jq/sfhook missing)"))

for sc in ["getpid", "openclose"]:
    for lab, what in [("none", "no agent"), ("sfagent", "sfagent (tp_btf sys_exit + tp_btf sched/cap)"),
                      ("rawtp", "alternative: raw_tp sys_enter+sys_exit, same filter")]:
        v = mmm(f"sys.{sc}.{lab}", "{:,.1f}") + " ns"
        note = "" if lab == "none" else "+" + "{:,.1f}".format(
            (med(f"sys.{sc}.{lab}") or 0) - (med(f"sys.{sc}.none") or 0)) + " ns/call, " + ratio(
            f"sys.{sc}.{lab}", f"sys.{sc}.none")
        rows.append(("5 untracked syscall", f"{sc}: {what} (CPU ns per call)", v, note))

hk = [("hook_agent", "sfhook + sfagent -D (container traced)"), ("hook_no_agent", "sfhook, no agent (fail open)"),
      ("_bin_true_hook", "/bin/true as prestart + poststop hook")]
if nums("hook.without_hook.med"):
    rows.append(("6 peers' figures", "`runc run /bin/true` without hook: median, p95 (ms)",
                 "{:.1f}, {:.1f}".format(med("hook.without_hook.med"), med("hook.without_hook.p95")),
                 f"tests/bench/hook-start.sh {meta.get('n_hook')} (runs interleaved)"))
    for k, what in hk:
        if nums(f"hook.{k}.med"):
            rows.append(("6 peers' figures", f"hook cost on container start, {what}: +median, +p95 (ms)",
                         "{:+.1f}, {:+.1f}".format(med(f"hook.{k}.dmed"), med(f"hook.{k}.dp95")),
                         "start to exit of `runc run` vs without hook; median {:.1f}, p95 {:.1f} ms".format(
                             med(f"hook.{k}.med"), med(f"hook.{k}.p95"))))
    if nums("hook.alone.share_med"):
        rows.append(("6 peers' figures", "sfhook's own share of a start (the hook alone, prestart + poststop over `/bin/true`'s): median, min (ms)",
                     "{:+.2f}, {:+.2f}".format(med("hook.alone.share_med"), med("hook.alone.share_min")),
                     "tests/bench/hook-start.sh, hook alone, exec to exit; sfhook {:.2f} ms, /bin/true {:.2f} ms at the median".format(
                         med("hook.alone.sfhook"), med("hook.alone.true"))))
else:
    rows.append(("6 peers' figures", "hook cost on container start (median, p95)", "not measured",
                 "section hook not run or tests/bench/hook-start.sh failed"))
sk = [("mqtt_q0_b1", "MQTT QoS 0, batch 1"), ("mqtt_q1_b1", "MQTT QoS 1, batch 1"),
      ("mqtt_q0_b64", "MQTT QoS 0, batch 64"), ("mqtt_q1_b64", "MQTT QoS 1, batch 64"),
      ("http_b1000", "HTTP, batch 1000"), ("http_b5000", "HTTP, batch 5000")]
if any(nums(f"sink.{k}") for k, _ in sk):
    for k, what in sk:
        rows.append(("6 peers' figures", f"delivery rate {what} (ev/s)", mmm(f"sink.{k}"),
                     f"tests/bench/mqtt-http.sh {meta.get('n_sink')}: file.open events to a local mosquitto "
                     "subscriber / tests/helpers/http_receiver.py, zero loss checked" if k == "mqtt_q0_b1" else ""))
else:
    rows.append(("6 peers' figures", "MQTT / HTTP delivery rate", "not measured",
                 "section sinks not run or tests/bench/mqtt-http.sh failed"))

if nums("short.sfagent"):
    n = meta.get("n_short")
    rows.append(("7 short commands", "`/bin/true` (ms)", mmm("short.true", "{:,.1f}", 1e-6),
                 f"wall time, start to exit; {n} runs, interleaved with the next row"))
    add = [(a - b) * 1e-6 for a, b in zip(nums("short.sfagent"), nums("short.true"))]
    rows.append(("7 short commands", "`sfagent -X -w t -o /dev/null -- /bin/true` (ms)",
                 mmm("short.sfagent", "{:,.1f}", 1e-6),
                 "adds {:+,.1f} ms at the median ({:+,.1f} to {:+,.1f}): BPF load and attach, "
                 "the stream's end; the tracepoints are released after the exit".format(
                     statistics.median(add), min(add), max(add))))
else:
    rows.append(("7 short commands", "`sfagent -X -- /bin/true` vs `/bin/true`", "not measured",
                 "section short not run"))
if nums("vtime.total"):
    progs = [k[len("vtime."):] for k in vals if k.startswith("vtime.") and k != "vtime.total"]
    per = ", ".join("{} {}".format(p, mmm("vtime." + p, "{:,.1f}", 1e-3).split(" (")[0]) for p in
                    sorted(progs, key=lambda p: -(med("vtime." + p) or 0)))
    rows.append(("7 short commands", "verifier time per program (ms)", mmm("vtime.total", "{:,.1f}", 1e-3),
                 "sum over the programs, each loaded alone (build/bench/vtime, the kernel's "
                 "\"verification time\"; {} rounds), median per program: {}; the agent loads "
                 "sf_sys_exit beside the rest (agent/probe.c bpf_load_split)".format(meta.get("reps"), per)))

if nums("burst.openfail.written"):
    n = meta.get("n_burst")
    for k, what in [("openfail", "file.open (a 26-byte path)"), ("kill", "signal.kill")]:
        rows.append(("11 burst", f"{what}: of {n} caused while the agent is stopped, in the ring",
                     mmm(f"burst.{k}.written"),
                     f"ring {meta.get('ringbuf')}; missed_ringbuf " + mmm(f"burst.{k}.missed")))
else:
    rows.append(("11 burst", "what a stopped agent's ring absorbs", "not measured",
                 "section burst not run"))

if nums("sys.getpid.idle_daemon"):
    for sc in ["getpid", "openclose"]:
        rows.append(("8 idle = free", f"{sc}: no agent (CPU ns per call)",
                     mmm(f"sys.{sc}.idle_none", "{:,.1f}") + " ns", "untracked loop"))
        rows.append(("8 idle = free", f"{sc}: idle `sfagent -D`, nothing registered (CPU ns per call)",
                     mmm(f"sys.{sc}.idle_daemon", "{:,.1f}") + " ns",
                     ratio(f"sys.{sc}.idle_daemon", f"sys.{sc}.idle_none", "{:.3f}x") +
                     " (per-rep ratios, interleaved); goal <= 1.02"))
    rows.append(("8 idle = free", "BPF links of other processes on the host during the runs",
                 mmm("idle.others_links"), "0 on a machine of one's own; others' syscall tracepoints slow both variants"))
    rows.append(("8 idle = free", "first REGISTER after idle: round trip (ms)", mmm("attach.cold_ms", "{:,.1f}"),
                 f"tests/bench/reg.py, {meta.get('n_attach')} cycles, each after the probe was detached and released"
                 " and 1 s idle; goal < 20 ms at the median"))
    rows.append(("8 idle = free", "  of which the attach (ms)", mmm("attach.probe_ms", "{:,.1f}"),
                 "the daemon's own measure (`probe attached in`)"))
    rows.append(("8 idle = free", "REGISTER while attached: round trip (ms)", mmm("attach.warm_ms", "{:,.1f}"), ""))
    if nums("attach.persys_cold_ms"):
        rows.append(("8 idle = free", "per-syscall mode (a kernel without ia32 emulation; simulated here): first REGISTER after idle (ms)",
                     mmm("attach.persys_cold_ms", "{:,.1f}"), "~90 perf tracepoints attach; goal < 20 ms at the median"))
        rows.append(("8 idle = free", "  of which the attach (ms)", mmm("attach.persys_probe_ms", "{:,.1f}"),
                     "the daemon's own measure (`probe attached in`)"))
        rows.append(("8 idle = free", "per-syscall mode: REGISTER while attached (ms)", mmm("attach.persys_warm_ms", "{:,.1f}"), ""))
else:
    rows.append(("8 idle = free", "idle daemon vs no agent; attach cost", "not measured", "section idle not run"))

if nums("sys.getpid.floor_sfagent"):
    for sc in ["getpid", "openclose"]:
        base = med(f"sys.{sc}.floor_none") or 0
        rows.append(("9 busy vs floor", f"{sc}: untracked, no BPF (CPU ns per call)",
                     mmm(f"sys.{sc}.floor_none", "{:,.1f}") + " ns", "a busy kill loop runs beside, untracked"))
        rows.append(("9 busy vs floor", f"{sc}: the floor, one empty program on one syscall tracepoint",
                     mmm(f"sys.{sc}.floor_floor", "{:,.1f}") + " ns",
                     "{:+,.1f} ns/call".format((med(f"sys.{sc}.floor_floor") or 0) - base)))
        fl = (med(f"sys.{sc}.floor_floor") or 0) - base
        def vs_floor(variant, label, tail, added=True):
            """a row for VARIANT: its added ns and, with ADDED, their ratio
            to the floor's"""
            if not nums(f"sys.{sc}.{variant}"):
                return
            v = (med(f"sys.{sc}.{variant}") or 0) - base
            note = "{:+,.1f} ns/call".format(v)
            if added:
                note += "; added / the floor's added: " + (
                    "{:.1f}".format(v / fl) if fl > 0 else "n/a (the floor added nothing measurable)")
            rows.append(("9 busy vs floor", f"{sc}: {label}",
                         mmm(f"sys.{sc}.{variant}", "{:,.1f}") + " ns", note + tail))
        vs_floor("floor_raw", "the ia32 guard's least, an empty program on the generic sys_exit", "", added=False)
        vs_floor("floor_own", "an empty program on the call's own tracepoint ({}'s)".format(
            "getpid" if sc == "getpid" else "openat"), "; the least of any design exporting it")
        vs_floor("floor_sfagent", "sfagent tracking the busy loop", "; goal <= 1.2")
        vs_floor("floor_sfproc", "sfagent tracking it, filtered to process exec/fork/exit (no sys_exit program)", "")
        vs_floor("floor_persys", "sfagent, per-syscall mode (a kernel without ia32 emulation; simulated here)",
                 "; goal <= 1.2")
    rows.append(("9 busy vs floor", "BPF links of other processes on the host during the runs",
                 mmm("floor.others_links"), "their syscall tracepoints are on in every variant"))
else:
    rows.append(("9 busy vs floor", "untracked loops: no BPF, the floor, sfagent", "not measured", "section floor not run"))

if nums("scale.rss_kb." + meta.get("scale_counts", "1").split()[0]):
    counts = meta.get("scale_counts", "").split()
    first = counts[0]
    for n in counts:
        rows.append(("10 tracked workloads", f"{int(n):,} tracked: daemon RSS (KiB)", mmm(f"scale.rss_kb.{n}"),
                     "sfagent -D, cgroups registered straight on its socket (tests/bench/reg.py)" if n == first else
                     "vs {} tracked: {:+,.0f} KiB".format(first, (med(f"scale.rss_kb.{n}") or 0) - (med(f"scale.rss_kb.{first}") or 0))))
        rows.append(("10 tracked workloads", f"{int(n):,} tracked: daemon CPU with no event (ms per s)",
                     mmm(f"scale.idle_cpu.{n}"), "over 2 s; CPU clock ticks, so 10 ms is the resolution"))
        rows.append(("10 tracked workloads", f"{int(n):,} tracked: REGISTER round trip (ms)",
                     mmm(f"scale.reg_ms.{n}", "{:,.2f}"), "10 more registered (and unregistered) at this count"))
        rows.append(("10 tracked workloads", f"{int(n):,} tracked: traced kill loop (CPU ns per call)",
                     mmm(f"scale.traced_ns.{n}", "{:,.1f}") + " ns",
                     "untracked: " + mmm(f"scale.untracked_ns.{n}", "{:,.1f}") + " ns; "
                     f"{meta.get('n_scale')} kills in the first cgroup, events written " + mmm(f"scale.events.{n}")))
        rows.append(("10 tracked workloads", f"{int(n):,} tracked: daemon CPU per event (ns)",
                     mmm(f"scale.agent_ns.{n}"), "utime+stime of the daemon over the loop / events in its file"))
else:
    rows.append(("10 tracked workloads", "1 / 100 / 1,000 tracked", "not measured", "section scale not run"))


def text_table():
    w1 = max(len(r[1]) for r in rows)
    w2 = max(len(r[2]) for r in rows)
    out, sec = [], None
    for s, m, v, n in rows:
        if s != sec:
            out.append(f"-- {s} " + "-" * max(0, w1 + w2 - len(s)))
            sec = s
        out.append(f"  {m:<{w1}}  {v:>{w2}}  {n}")
    return "\n".join(out)


def md_table():
    out = ["| | measurement | median (min–max) | notes |", "|---|---|---|---|"]
    for s, m, v, n in rows:
        out.append(f"| {s} | {m} | {v} | {n} |")
    return "\n".join(out)


print(f"sfagent bench  {meta['date']}  kernel {meta['kernel']}  {meta['cpu']}")
print(f"commit {meta['commit']}, {meta['reps']} reps, quick={meta['quick']}, {meta['seconds']} s")
print(text_table())

if report:
    gen = "\n".join([
        "<!-- bench:begin (generated by `make bench-report`; edit outside the markers) -->",
        f"Measured {meta['date']} on kernel {meta['kernel']}, {meta['cpu']}, "
        f"commit {meta['commit']}, {meta['reps']} repetitions"
        f"{' (BENCH_QUICK=1)' if meta['quick'] == '1' else ''}, {meta['seconds']} s in all. "
        f"Ring buffer: {meta['ringbuf']}. Throughput trials: {meta['tp_secs']} s each, "
        f"{meta['tp_procs']} generator processes.",
        "",
        md_table(),
        "",
        "Reproduce: `make bench-report` (all of the above, rewrites this table), "
        "`make bench` (prints it), `BENCH_QUICK=1 make bench` (smoke run), "
        "`BENCH_REPS=N`, `BENCH_RINGBUF=SIZE`.",
        "<!-- bench:end -->",
    ])
    try:
        doc = open(report).read()
    except FileNotFoundError:
        doc = "# Performance\n\n<!-- bench:begin -->\n<!-- bench:end -->\n"
    b = doc.find("<!-- bench:begin")
    e = doc.find("<!-- bench:end -->")
    if b < 0 or e < 0:
        doc = doc.rstrip("\n") + "\n\n" + gen + "\n"
    else:
        doc = doc[:b] + gen + doc[e + len("<!-- bench:end -->"):]
    open(report, "w").write(doc)
    print(f"bench: wrote {report}", file=sys.stderr)
