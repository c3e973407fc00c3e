#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn bench/run's raw results (OUT/KVER/PHASE/results.jsonl) into the
Markdown tables of BENCHMARKS.md. Usage: bench/report.py OUT"""
import glob
import json
import os
import statistics
import sys

CFG_ORDER = ["baseline", "nullprobe", "nullprobe_exit", "vcpustat_default",
             "vcpustat_default_ktime", "vcpustat_budget_only", "vcpustat_timing_on",
             "vcpustat_timing_on_every16", "vcpustat_timing_off",
             "vcpustat_timing_on_detail", "vcpustat_timing_off_detail",
             "proposal_timing_on", "proposal_timing_off",
             "ftrace", "perf_kvm_stat", "perf_record_kvm_exit", "bpftrace"]
WL_ORDER = ["cpuid_1vcpu", "io_1vcpu", "mixed_1vcpu", "mixed_2vcpu"]
TRACERS = ["ftrace", "perf_kvm_stat", "perf_record_kvm_exit", "bpftrace"]
VCPUSTAT = ["vcpustat_default", "vcpustat_default_ktime",
            "vcpustat_budget_only", "vcpustat_timing_on",
            "vcpustat_timing_on_every16", "vcpustat_timing_off"]
ANCHORS = ["nullprobe", "nullprobe_exit"]
PROPOSAL = ["proposal_timing_on", "proposal_timing_off"]
# second-level keys (issue 16): each configuration and the one without them
DETAIL = [("vcpustat_timing_off_detail", "vcpustat_timing_off"),
          ("vcpustat_timing_on_detail", "vcpustat_timing_on")]


def load(out):
    recs = []
    for f in sorted(glob.glob(os.path.join(out, "*", "*", "results.jsonl"))):
        if ".failed-" in f:
            continue
        for line in open(f):
            line = line.strip()
            if line:
                recs.append(json.loads(line))
    return recs


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def pct(x):
    return f"{x * 100:+.2f} %"


def spread(xs):
    """(max - min) / median, as a percentage."""
    m = med(xs)
    return (max(xs) - min(xs)) / m * 100 if xs and m else float("nan")


def overhead(recs, out):
    rows = [r for r in recs if r["kind"] == "overhead"]
    if not rows:
        return {}
    kvers = sorted({r["kver"] for r in rows})
    summary = {}
    for kv in kvers:
        out.append(f"\n### Exit throughput, {kv}\n")
        out.append("Exits per second of guest (icount) time; one run = one "
                   "`kvm_workload` process; runs (boots) per cell, "
                   "configurations interleaved round by round with the "
                   "baseline of the same boot. Spread = (max − min) / median "
                   "of the rates. "
                   "Ratio = median over rounds of (config rate / baseline "
                   "rate of the same round, same boot); "
                   "+ns/exit = 1/rate − 1/rate(baseline), i.e. emulated "
                   "instructions added per exit.\n")
        out.append("| workload | configuration | runs (boots) | median exits/s "
                   "| spread | ratio to baseline (min–max) | +ns (insn) per exit |")
        out.append("|---|---|---|---|---|---|---|")
        kr = [r for r in rows if r["kver"] == kv]
        base = {(r["boot"], r["round"], r["workload"]): r["rate"]
                for r in kr if r["config"] == "baseline"}
        for wl in WL_ORDER:
            for cfg in CFG_ORDER:
                cr = [r for r in kr if r["workload"] == wl and r["config"] == cfg]
                if not cr:
                    continue
                rates = [r["rate"] for r in cr]
                pairs = [(r["rate"], base[(r["boot"], r["round"], wl)])
                         for r in cr if (r["boot"], r["round"], wl) in base]
                ratios = [a / b for a, b in pairs]
                dns = [1e9 / a - 1e9 / b for a, b in pairs]
                nb = len({r["boot"] for r in cr})
                if cfg == "baseline":
                    rr, d = "1", "–"
                else:
                    rr = f"{med(ratios):.4f} ({min(ratios):.4f}–{max(ratios):.4f})"
                    d = f"{med(dns):+.0f} ({min(dns):+.0f}…{max(dns):+.0f})"
                    summary.setdefault(kv, {}).setdefault(cfg, {})[wl] = {
                        "ratio": med(ratios), "dns": med(dns),
                        "rate": med(rates)}
                out.append(f"| {wl} | {cfg} | {len(cr)} ({nb}) | "
                           f"{med(rates):,.0f} | {spread(rates):.2f} % | "
                           f"{rr} | {d} |")
        # Headline per kernel
        s = summary.get(kv, {})
        out.append(f"\n**Summary, {kv}** (medians over rounds; overhead = "
                   "1 − ratio, added = +ns (insn) per exit):\n")
        cols = [c for c in ANCHORS + VCPUSTAT + PROPOSAL + TRACERS if c in s]
        out.append("| workload | " + " | ".join(cols) +
                   " | " + " | ".join(f"{c[len('vcpustat_'):]} ÷ cheapest tracer"
                                      for c in VCPUSTAT) + " |")
        out.append("|---|" + "---|" * (len(cols) + len(VCPUSTAT)))
        for wl in WL_ORDER:
            cells, tr = [], []
            for c in cols:
                if c not in s:
                    continue
                v = s[c].get(wl)
                if v is None:
                    cells.append("–")
                    continue
                cells.append(f"{(1 - v['ratio']) * 100:.1f} % / {v['dns']:+.0f}")
                if c in TRACERS:
                    tr.append(v["dns"])
            cheap = min(tr) if tr else None
            rel = []
            for c in VCPUSTAT:
                v = s.get(c, {}).get(wl)
                rel.append(f"{v['dns'] / cheap:.2f}" if v and cheap else "–")
            out.append(f"| {wl} | " + " | ".join(cells) + " | " +
                       " | ".join(rel) + " |")
    # what each tracer saw (sanity: did it really record every exit?)
    att = [r for r in recs if r["kind"] == "attach" and r["config"] != "baseline"]
    if att:
        out.append("\n### What each configuration recorded (per attach, "
                   "4 workloads)\n")
        out.append("| kernel | configuration | workload exits (exact kinds) | recorded |")
        out.append("|---|---|---|---|")
        seen = {}
        for r in att:
            seen.setdefault((r["kver"], r["config"]), []).append(r)
        for (kv, cfg), rs in sorted(seen.items()):
            s = rs[0]["seen"]
            if cfg == "ftrace":
                rec = (f"{s.get('entries')} in buffer + {s.get('overrun')} "
                       f"overwritten ({s.get('buffer_size_kb')} KiB/CPU)")
            elif cfg.startswith("perf"):
                rec = f"{s.get('samples')} samples, {s.get('data_bytes', 0) / 1e6:.1f} MB, lost {s.get('lost')}"
            elif cfg == "bpftrace":
                rec = f"{s.get('counted')} kvm_exit counted"
            elif "status" in s:
                # uapi VCPUSTAT_STATUS_A_*: 6 VMS_SEEN, 7 OVERFLOW,
                # 8 ALLOC_FAIL, 13 BAD_LAYOUT
                st = s["status"]
                rec = (f"module: {st.get('6')} VMs seen, {st.get('7')} untracked "
                       f"exits, {st.get('8')} allocation failures, "
                       f"{st.get('13')} exits of unknown reason")
            else:
                rec = "–"
            out.append(f"| {kv} | {cfg} | {rs[0]['workload_exits']} | {rec} |")
    return summary


def ubench(recs, out):
    rows = [r for r in recs if r["kind"] == "ubench"]
    if not rows:
        return
    info = {r["kver"]: r for r in recs if r["kind"] == "ubench_info"
            and "sizeof_vcpu" in r}
    out.append("\n### Accounting micro-benchmark (vs_ubench.ko)\n")
    out.append("Per exit = one `vs_vcpu_account_exit()` and, for a timed "
               "exit, one `vs_vcpu_account_entry()` with the entry probe's "
               "clock read (the module's own probe.o); *empty* = the same "
               "loop calling an empty function of the exit accounting's "
               "signature. *on16*: timing_every=16. "
               "Median batch of N exits / N, interrupts off; under icount "
               "1 ns = 1 instruction. *codes*: one reason (CPUID) or "
               "5 reasons in turn.\n")
    out.append("| kernel | codes | timing | empty (ns=insn/exit) | accounting | net cost | net, batch spread |")
    out.append("|---|---|---|---|---|---|---|")
    for kv in sorted({r["kver"] for r in rows}):
        for codes in ("one", "mix"):
            for t in ("off", "on", "on16"):
                e = [r for r in rows if r["kver"] == kv and r["codes"] == codes
                     and r["variant"] == f"empty_{t}"]
                a = [r for r in rows if r["kver"] == kv and r["codes"] == codes
                     and r["variant"] == f"account_{t}"]
                if not e or not a:
                    continue
                e, a = e[0], a[0]
                n = a["calls"]
                pe, pa = e["med_ns"] / n, a["med_ns"] / n
                lo = (a["min_ns"] - e["max_ns"]) / n
                hi = (a["max_ns"] - e["min_ns"]) / n
                out.append(f"| {kv} | {codes} | {t} | {pe:.1f} | {pa:.1f} | "
                           f"**{pa - pe:.1f}** | {lo:.1f}–{hi:.1f} |")
    clocks = [r for r in recs if r["kind"] == "ubench_info" and "clock" in r]
    if clocks:
        out.append("\nCandidate clocks for exit timing (the probes read one "
                   "twice per exit): instructions per pair of reads, same "
                   "boot. Not vcpustat code; under TCG the clocksource is "
                   "HPET and an rdtsc is one instruction.\n")
        out.append("| kernel | clock | insn per 2 reads |")
        out.append("|---|---|---|")
        for r in clocks:
            out.append(f"| {r['kver']} | {r['clock']} | "
                       f"{r['med_ns'] / r['pairs']:.1f} |")
    for kv, i in sorted(info.items()):
        out.append(f"\n{kv}: struct vs_vcpu with residency = "
                   f"{i['sizeof_vcpu']} B (nr_cpu_ids={i['nr_cpu_ids']}).")


def memory(recs, out):
    rows = [r for r in recs if r["kind"] == "memory"]
    if not rows:
        return
    out.append("\n### Memory per vCPU (slab cache vcpustat_vcpu)\n")
    out.append("Read while the VMs were held and tracked (*tracked* = the "
               "module's own count). /proc/slabinfo's active_objs, and "
               "SLUB's sysfs `objects`, count the free objects of per-CPU "
               "slabs as in use, so the honest figure is the slab memory: "
               "slabs × pages/slab × 4 KiB, divided by the tracked vCPUs.\n")
    out.append("| kernel | vCPUs (VMs) | tracked | object size | slot (objsize) | "
               "objs/slab × pages/slab | slabs | active objs | slab memory | per tracked vCPU |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: (r["kver"], r["vcpus"])):
        s = r["slab"]
        if not s:
            out.append(f"| {r['kver']} | {r['vcpus']} | – | no vcpustat_vcpu line "
                       f"in /proc/slabinfo ({r.get('sysfs')}) |")
            continue
        mem = s["num_slabs"] * s["pagesperslab"] * 4096
        osz = (r.get("sysfs") or {}).get("object_size", "–")
        out.append(f"| {r['kver']} | {r['vcpus']} ({r['vms']}) | "
                   f"{r['tracked_vcpus']} | {osz} | {s['objsize']} | "
                   f"{s['objperslab']} × {s['pagesperslab']} | {s['num_slabs']} | "
                   f"{s['active_objs']} | {mem / 1024:.0f} KiB | "
                   f"{mem / max(1, r['tracked_vcpus']):.0f} B |")


def memory_release(recs, out):
    rows = [r for r in recs if r["kind"] == "memory_release"]
    if not rows:
        return
    out.append("\nAfter the VMs are gone (module loaded, 1 s later), and "
               "after `echo 1 > /sys/kernel/slab/vcpustat_vcpu/shrink`:\n")
    out.append("| kernel | after (vCPUs) | slabs | slabs after shrink | sysfs objects after shrink |")
    out.append("|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: (r["kver"], r["vcpus"])):
        a, b = r["slab_after_release"] or {}, r["slab_after_shrink"] or {}
        sb = r.get("sysfs_after_shrink") or {}
        out.append(f"| {r['kver']} | {r['vcpus']} | {a.get('num_slabs')} | "
                   f"{b.get('num_slabs')} | {sb.get('objects', '–')} |")


def dump(recs, out):
    raw = [r for r in recs if r["kind"] == "dump_raw"]
    tool = [r for r in recs if r["kind"] == "dump_tool"]
    if not raw and not tool:
        return
    out.append("\n### Dump cost\n")
    out.append("Raw = one netlink dump request from Python (vsnl.py's "
               "socket): send, then recv until NLMSG_DONE without decoding "
               "(only each batch's tail is looked at); time = guest "
               "CLOCK_MONOTONIC under icount from before the send (the "
               "kernel builds the first batch inside send) to DONE, i.e. "
               "instructions, nearly all in the kernel building the dump. "
               "The 1-VM GET_VM row is the fixed cost (syscalls, Python). "
               "stime = getrusage over all reps (tick-sampled).\n")
    out.append("| kernel | vCPUs (VMs) | dump | median µs (icount) | spread | messages | bytes | µs per vCPU | stime total (reps) |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    for r in sorted(raw, key=lambda r: (r["kver"], r["cmd"], r["vcpus"])):
        m = med(r["guest_ns"]) / 1e3
        out.append(f"| {r['kver']} | {r['vcpus']} ({r['vms']}) | {r['cmd']} | "
                   f"{m:,.0f} | {spread(r['guest_ns']):.1f} % | {r['msgs']} | "
                   f"{r['bytes']:,} | {m / max(1, r['tracked_vcpus']):.1f} | "
                   f"{r['stime_s_total']:.3f} s ({r['reps']}) |")
    if tool:
        out.append("\n`vcpustat dump -j >/dev/null`, whole process (exec, "
                   "libnl, decode, JSON), CPU time user+sys from wait4 "
                   "(the total is the scheduler's exact runtime; the split is "
                   "tick-sampled). Guest elapsed time is not used: starting a "
                   "process blocks on the rig's 9p root, and idle icount time "
                   "jumps to the next timer. `config -j` = the same process "
                   "doing one small request (exec + libnl + family lookup).\n")
        out.append("| kernel | vCPUs (VMs) | dump -j CPU ms (median) | spread | `config -j` CPU ms | dump-only ms | per vCPU µs | JSON bytes | of which sys ms |")
        out.append("|---|---|---|---|---|---|---|---|---|")
        for r in sorted(tool, key=lambda r: (r["kver"], r["vcpus"])):
            cpu = [(a + b) * 1e3 for a, b in zip(r["utime_s"], r["stime_s"])]
            ccpu = [(a + b) * 1e3 for a, b in
                    zip(r.get("config_utime_s", []), r.get("config_stime_s", []))]
            d, c = med(cpu), med(ccpu)
            out.append(f"| {r['kver']} | {r['vcpus']} ({r['vms']}) | "
                       f"{d:,.1f} | {spread(cpu):.1f} % | {c:,.1f} | {d - c:,.1f} | "
                       f"{(d - c) * 1e3 / max(1, r['tracked_vcpus']):,.0f} | "
                       f"{r['json_bytes']:,} | {med(r['stime_s']) * 1e3:.1f} |")


def events(recs, out):
    rows = [r for r in recs if r["kind"] == "events"]
    if not rows:
        return
    out.append("\n### Event stream (`vcpustat watch -j`, snapshot_ms=100)\n")
    out.append("Window: from the first event the watcher printed (it has "
               "joined the group) to 0.3 s after the work ended, in guest "
               "time (the module's timers run in guest time). "
               "ping = events of the 1-exit VMs run until the watcher "
               "printed a line (proof it was listening), not counted in "
               "events (earlier runs held a 'delta-marker' VM instead, "
               "which sent a delta every period before issue 14). "
               "Gaps = missing sequence numbers "
               "across everything received; listener CPU = user+sys of the "
               "watch process from wait4 (exact total). Idle cases: the "
               "held VMs make no exits; only vCPUs that changed "
               "send a delta (issue 14).\n")
    out.append("| kernel | case | window s (guest) | events | events/s | by type | seq gaps | lost reported | vCPU moves done | MIGRATE folded (suppressed) | listener CPU s | listener CPU % |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: (r["kver"], r["case"])):
        w = r.get("workload", {})
        cpu = r["watch_utime_s"] + r["watch_stime_s"]
        if r["case"].endswith("idle") and "delta-marker" in r["types"]:
            # Early runs labelled the held VMs' own deltas as the marker's.
            r["types"] = {("delta" if k == "delta-marker" else k): v
                          for k, v in r["types"].items()}
        out.append(f"| {r['kver']} | {r['case']} | {r['guest_s']:.2f} | "
                   f"{r['events']} | {r['events'] / r['guest_s']:,.0f} | "
                   f"{json.dumps(r['types'])} | {r['seq_gaps']} | "
                   f"{r['lost_reported']} | {w.get('moves', '–')} | "
                   f"{r['suppressed']} | {cpu:.3f} | "
                   f"{cpu / r['guest_s'] * 100:.1f} % |")


def detail(recs, out):
    """What details on add: 1/rate(with) - 1/rate(without), same round."""
    rows = [r for r in recs if r["kind"] == "overhead"]
    rate = {(r["kver"], r["boot"], r["round"], r["workload"], r["config"]):
            r["rate"] for r in rows}
    for kv in sorted({r["kver"] for r in rows}):
        pairs = [(on, off) for on, off in DETAIL
                 if any(k[0] == kv and k[4] == on for k in rate)]
        if not pairs:
            continue
        out.append(f"\n### Second-level keys: details on vs off, {kv}\n")
        out.append("Instructions added per exit by `detail=1`: 1/rate(with) "
                   "− 1/rate(without) of the same boot and round, median "
                   "(min…max).\n")
        out.append("| workload | " + " | ".join(
            on[len("vcpustat_"):] for on, _ in pairs) + " |")
        out.append("|---|" + "---|" * len(pairs))
        for wl in WL_ORDER:
            cells = []
            for on, off in pairs:
                d = [1e9 / v - 1e9 / rate[(kv, b, rd, wl, off)]
                     for (k, b, rd, w, c), v in rate.items()
                     if k == kv and w == wl and c == on and
                     (kv, b, rd, wl, off) in rate]
                cells.append(f"{med(d):+.0f} ({min(d):+.0f}…{max(d):+.0f})"
                             if d else "–")
            out.append(f"| {wl} | " + " | ".join(cells) + " |")


def main():
    out_dir = sys.argv[1]
    recs = load(out_dir)
    out = [f"# vcpustat benchmark results ({os.path.basename(out_dir)})"]
    boots = [r for r in recs if r["kind"] == "boot"]
    for kv in sorted({r["kver"] for r in boots}):
        b = [r for r in boots if r["kver"] == kv][0]
        out.append(f"\nGuest {kv}: {b['cpus']} CPU(s), clocksource "
                   f"{b['clocksource']}; QEMU TCG -cpu max, nested SVM, "
                   "-icount shift=0.")
    summary = overhead(recs, out)
    detail(recs, out)
    ubench(recs, out)
    memory(recs, out)
    memory_release(recs, out)
    dump(recs, out)
    events(recs, out)
    hs = []
    for f in sorted(glob.glob(os.path.join(out_dir, "*", "*", "host-seconds"))):
        hs.append(f"{os.path.relpath(os.path.dirname(f), out_dir)} "
                  f"{open(f).read().strip()} s")
    if hs:
        out.append("\nHost wall time per boot (noise; for planning only): " +
                   ", ".join(hs) + ".")
    json.dump(summary, open(os.path.join(out_dir, "summary.json"), "w"),
              indent=1)
    print("\n".join(out))


if __name__ == "__main__":
    main()
