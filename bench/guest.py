#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""vcpustat benchmarks, the part that runs inside the rig guest.

bench/run boots the rig (scripts/rig/run-vm -i) once per phase and runs

    bench/guest.py PHASE --ko VCPUSTAT_KO [options]

which appends one JSON object per measurement to $RIG_OUT/results.jsonl
and logs progress on stdout. Phases:

  overhead  the exit-heavy workloads under several configurations,
            interleaved by round (--configs, --rounds)
  ubench    load vs_ubench.ko (--ubench-ko) and collect its kernel log lines
  memory    vcpustat_vcpu slab with 1, 64 and 512 tracked vCPUs
  dump      netlink dump and `vcpustat dump -j` cost for 1..1024 vCPUs
  events    delta and migration event streams seen by `vcpustat watch -j`

Time: under -icount shift=0 the guest's CLOCK_MONOTONIC advances 1 ns per
emulated instruction, summed over all guest CPUs (single-threaded TCG), and
jumps ahead when every CPU idles. Work that never idles (a KVM exit loop,
a netlink dump) therefore measures instructions, not wall time.
"""
import argparse
import glob
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "selftests"))
import vsnl  # noqa: E402  (the project's own netlink client)

WL = os.path.join(TOP, "selftests", "kvm_workload")
TOOL = os.path.join(TOP, "user", "vcpustat")
TRACEFS = "/sys/kernel/tracing"
OUT = os.environ.get("RIG_OUT", "/tmp")
RESULTS = os.path.join(OUT, "results.jsonl")
KVER = os.uname().release

# Exit-heavy workloads: (name, kvm_workload arguments). Counts are sized for
# ~0.05 s of guest (icount) time each at the baseline rate: TCG runs the
# guest 40-170x slower than guest time (host load), and each boot must stay
# around 10 minutes; icount's run-to-run noise does not need longer runs
# (see BENCHMARKS.md). mixed_2vcpu does the same total work as mixed_1vcpu.
WORKLOADS = [
    ("cpuid_1vcpu", ["--vcpus", "1", "--cpuid", "20000", "--chunk", "100000"]),
    ("io_1vcpu", ["--vcpus", "1", "--io", "15000", "--chunk", "100000"]),
    ("mixed_1vcpu", ["--vcpus", "1", "--cpuid", "3000", "--io", "3000",
                     "--hlt", "3000", "--rdmsr", "3000", "--wrmsr", "3000"]),
    ("mixed_2vcpu", ["--vcpus", "2", "--cpuid", "1500", "--io", "1500",
                     "--hlt", "1500", "--rdmsr", "1500", "--wrmsr", "1500"]),
]


def log(*a):
    print("bench:", *a, flush=True)


def emit(rec):
    rec.setdefault("kver", KVER)
    with open(RESULTS, "a") as f:
        f.write(json.dumps(rec, sort_keys=True) + "\n")


def mono():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def sh(cmd, check=True):
    r = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if check and r.returncode:
        raise RuntimeError(f"{cmd}: exit {r.returncode}: {r.stdout[-2000:]}")
    return r.stdout


def wfile(path, text):
    with open(path, "w") as f:
        f.write(text)


def wait_file(path, timeout_s=600, what=None, proc=None):
    """Poll for @path (host wall time bound; guest sleeps are cheap)."""
    t_end = time.monotonic() + timeout_s
    while not os.path.exists(path):
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what or path}: process exited {proc.returncode}")
        if time.monotonic() > t_end:
            raise RuntimeError(f"timeout waiting for {what or path}")
        time.sleep(0.05)


# ---------------------------------------------------------------- workload
def run_workload(args, tag):
    js = f"/tmp/wl-{tag}.json"
    if os.path.exists(js):
        os.unlink(js)
    t0 = mono()
    r = subprocess.run([WL] + args + ["--json", js], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True,
                       preexec_fn=many_fds)
    t1 = mono()
    d = json.load(open(js))
    if r.returncode or d.get("status") != "ok":
        raise RuntimeError(f"kvm_workload {args}: {r.returncode} {r.stdout[-500:]}")
    e = d["expect"]
    exits = e["io"] + e["cpuid"] + e["hlt"] + e["msr"]
    return {"exits": exits, "elapsed_s": d["elapsed_s"],
            "process_s": (t1 - t0) / 1e9, "rate": exits / d["elapsed_s"]}


class Keeper:
    """One held VM for the whole boot: KVM flips its preempt-notifier
    static key only on the host's first VM / last VM (see
    selftests/kvm_workload.md: text patching has oopsed TCG guests)."""

    def __init__(self):
        for f in ("/tmp/keeper.go", "/tmp/keeper.ready"):
            if os.path.exists(f):
                os.unlink(f)
        self.p = subprocess.Popen(
            [WL, "--vcpus", "1", "--hold", "--hold-file", "/tmp/keeper.go",
             "--ready-file", "/tmp/keeper.ready", "--json", "/tmp/keeper.json"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_file("/tmp/keeper.ready", 300, "keeper VM", self.p)

    def stop(self):
        wfile("/tmp/keeper.go", "")
        self.p.wait(timeout=300)


# ---------------------------------------------------------------- vcpustat
def vs_loaded():
    return os.path.exists("/sys/module/vcpustat")


def vs_load(ko, **params):
    if vs_loaded():
        vs_unload()
    sh(f"insmod {ko} " + " ".join(f"{k}={v}" for k, v in params.items()))


def vs_unload():
    if vs_loaded():
        sh("rmmod vcpustat")


def vs_set(**kv):
    g = vsnl.Genl()
    try:
        vsnl.set_config(g, **kv)
    finally:
        g.close()


def vs_wait_drained(timeout_s=300):
    """Until the module tracks no VM (the sweep runs every 50 ms)."""
    t_end = time.monotonic() + timeout_s
    g = vsnl.Genl()
    try:
        while vsnl.dump_vms(g):
            if time.monotonic() > t_end:
                raise RuntimeError("VMs still tracked")
            time.sleep(0.05)
    finally:
        g.close()


# ---------------------------------------------------------------- configs
class Config:
    name = "?"
    note = ""

    def attach(self):
        pass

    def detach(self):
        """Return a dict of what the tracer saw (for the record)."""
        return {}


class Baseline(Config):
    name = "baseline"
    note = "nothing attached"


class Vcpustat(Config):
    """vcpustat.ko with exit timing (every exit, or 1 in @every) and the
    time budget (@budget) switched as given."""

    def __init__(self, ko, timing, prefix="vcpustat", what="vcpustat.ko",
                 every=1, budget=False, detail=False, clock_tsc=1):
        self.ko, self.timing, self.every = ko, timing, every
        self.budget, self.detail = budget, detail
        # The rig's TSC is one clock but does not say so in CPUID: 1 gives
        # the probes the TSC as on real hosts, 0 ktime_get_mono_fast_ns.
        self.clock_tsc = clock_tsc
        if budget:
            self.name = f"{prefix}_default" if timing else \
                f"{prefix}_budget_only"
        else:
            self.name = f"{prefix}_timing_{'on' if timing else 'off'}" + \
                (f"_every{every}" if every > 1 else "") + \
                ("_detail" if detail else "")
        self.note = f"{what} loaded, timing={int(timing)}" + \
            (f" timing_every={every}" if every > 1 else "") + \
            f" budget={int(budget)}" + \
            (" detail=1" if detail else "") + \
            f" clock_tsc={clock_tsc} (vsnl.py set)"
        if not clock_tsc:
            self.name += "_ktime"

    def attach(self):
        vs_load(self.ko, clock_tsc=self.clock_tsc)
        kv = {"timing": int(self.timing), "budget": int(self.budget)}
        if self.every > 1:
            kv["timing_every"] = self.every
        if self.detail:
            kv["detail"] = 1
        vs_set(**kv)

    def detach(self):
        g = vsnl.Genl()
        try:
            c = vsnl.get_config(g)
        finally:
            g.close()
        vs_unload()
        return {"status": {str(k): v for k, v in c.get("status", {}).items()}}


class NullProbe(Config):
    def __init__(self, ko, entry=True):
        self.ko, self.entry = ko, entry
        self.name = "nullprobe" if entry else "nullprobe_exit"
        self.note = ("vs_nullprobe.ko: empty probes on kvm_exit + kvm_entry"
                     if entry else "vs_nullprobe.ko entry=0: an empty probe "
                     "on kvm_exit only") + " (dispatch floor)"

    def attach(self):
        sh(f"insmod {self.ko} entry={int(self.entry)}")

    def detach(self):
        sh("rmmod vs_nullprobe")
        return {}


class Ftrace(Config):
    name = "ftrace"
    note = "kvm:kvm_exit + kvm:kvm_entry enabled into the ring buffer"

    def attach(self):
        wfile(f"{TRACEFS}/trace", "")
        wfile(f"{TRACEFS}/tracing_on", "1")
        for ev in ("kvm_exit", "kvm_entry"):
            wfile(f"{TRACEFS}/events/kvm/{ev}/enable", "1")

    def detach(self):
        for ev in ("kvm_exit", "kvm_entry"):
            wfile(f"{TRACEFS}/events/kvm/{ev}/enable", "0")
        ent = ovr = 0
        for f in glob.glob(f"{TRACEFS}/per_cpu/cpu*/stats"):
            s = open(f).read()
            ent += int(re.search(r"^entries: (\d+)", s, re.M).group(1))
            ovr += int(re.search(r"^overrun: (\d+)", s, re.M).group(1))
        kb = open(f"{TRACEFS}/buffer_size_kb").read().strip()
        wfile(f"{TRACEFS}/trace", "")
        return {"entries": ent, "overrun": ovr, "buffer_size_kb": kb}


class Perf(Config):
    """perf record (kvm stat or plain), events enabled only once perf has
    set everything up: -D -1 + --control fifo, 'enable' then wait 'ack'."""

    def __init__(self, kind):
        self.kind = kind
        if kind == "kvm_stat":
            self.name = "perf_kvm_stat"
            self.note = "perf kvm stat record -a (Debian linux-perf)"
            # It refuses -B/-N, so its build-id pass over perf.data runs
            # after SIGINT: slow under TCG, but after the measured runs.
            self.cmd = ["perf", "kvm", "stat", "record", "-a"]
        else:
            self.name = "perf_record_kvm_exit"
            self.note = "perf record -e kvm:kvm_exit -a -B -N"
            self.cmd = ["perf", "record", "-e", "kvm:kvm_exit", "-a",
                        "-B", "-N"]

    def attach(self):
        for f in ("/tmp/perf.ctl", "/tmp/perf.ack", "/tmp/perf.data"):
            if os.path.exists(f):
                os.unlink(f)
        os.mkfifo("/tmp/perf.ctl")
        os.mkfifo("/tmp/perf.ack")
        self.out = open("/tmp/perf.out", "w")
        self.p = subprocess.Popen(
            self.cmd + ["-o", "/tmp/perf.data", "-D", "-1",
                        "--control", "fifo:/tmp/perf.ctl,/tmp/perf.ack"],
            stdout=self.out, stderr=subprocess.STDOUT)
        # Open our FIFO ends without blocking (perf may die on a bad
        # option and never open its own): poll until perf is there.
        t_end = time.monotonic() + 600
        while True:
            if self.p.poll() is not None:
                self.out.close()
                raise RuntimeError("perf exited: " + open("/tmp/perf.out").read()[-500:])
            try:
                fd = os.open("/tmp/perf.ctl", os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError:  # ENXIO: no reader yet
                if time.monotonic() > t_end:
                    raise RuntimeError("perf never opened its control FIFO")
                time.sleep(0.1)
        os.set_blocking(fd, True)
        self.ctl = os.fdopen(fd, "w")
        self.ack = open("/tmp/perf.ack", "r")
        self.ctl.write("enable\n")
        self.ctl.flush()
        a = self.ack.readline()
        if not a.startswith("ack"):
            raise RuntimeError(f"perf control: {a!r}")

    def detach(self):
        self.p.send_signal(signal.SIGINT)
        self.p.wait(timeout=600)
        self.ctl.close()
        self.ack.close()
        self.out.close()
        txt = open("/tmp/perf.out").read()
        m = re.search(r"Captured and wrote ([\d.]+) MB \S+ \((\d+) samples", txt)
        lost = re.findall(r"[Ll]ost (\d+)", txt)
        size = os.path.getsize("/tmp/perf.data")
        os.unlink("/tmp/perf.data")
        return {"samples": int(m.group(2)) if m else None,
                "data_bytes": size, "lost": sum(map(int, lost)),
                "tail": txt[-300:]}


class Bpftrace(Config):
    name = "bpftrace"
    note = "bpftrace: @[args->exit_reason] = count() on tracepoint:kvm:kvm_exit"
    PROG = ('BEGIN { printf("READY\\n"); } '
            'tracepoint:kvm:kvm_exit { @[args->exit_reason] = count(); }')

    def attach(self):
        self.out = open("/tmp/bt.out", "w")
        self.p = subprocess.Popen(["bpftrace", "-e", self.PROG],
                                  stdout=self.out, stderr=subprocess.STDOUT)
        t_end = time.monotonic() + 600
        while "READY" not in open("/tmp/bt.out").read():
            if self.p.poll() is not None or time.monotonic() > t_end:
                raise RuntimeError("bpftrace: " + open("/tmp/bt.out").read())
            time.sleep(0.1)

    def detach(self):
        self.p.send_signal(signal.SIGINT)
        self.p.wait(timeout=600)
        self.out.close()
        txt = open("/tmp/bt.out").read()
        counts = {int(k): int(v) for k, v in re.findall(r"@\[(\d+)\]: (\d+)", txt)}
        return {"counted": sum(counts.values()), "by_reason": counts}


def make_configs(names, ko, nullprobe_ko=None, prop_ko=None):
    prop = "vcpustat.ko + bench/proposal/hotpath.patch"
    table = {
        "prop_on": lambda: Vcpustat(prop_ko, True, "proposal", prop),
        "prop_off": lambda: Vcpustat(prop_ko, False, "proposal", prop),
        "baseline": lambda: Baseline(),
        "nullprobe": lambda: NullProbe(nullprobe_ko),
        "nullprobe_exit": lambda: NullProbe(nullprobe_ko, entry=False),
        "vs_on": lambda: Vcpustat(ko, True),
        "vs_off": lambda: Vcpustat(ko, False),
        "vs_on16": lambda: Vcpustat(ko, True, every=16),
        "vs_default": lambda: Vcpustat(ko, True, budget=True),
        "vs_budget": lambda: Vcpustat(ko, False, budget=True),
        "vs_default_ktime": lambda: Vcpustat(ko, True, budget=True,
                                             clock_tsc=0),
        "vs_on_detail": lambda: Vcpustat(ko, True, detail=True),
        "vs_off_detail": lambda: Vcpustat(ko, False, detail=True),
        "ftrace": lambda: Ftrace(),
        "perf_kvm": lambda: Perf("kvm_stat"),
        "perf_exit": lambda: Perf("exit"),
        "bpftrace": lambda: Bpftrace(),
    }
    return [table[n]() for n in names]


def phase_overhead(a):
    cfgs = make_configs(a.configs.split(","), a.ko, a.nullprobe_ko, a.prop_ko)
    wls = [w for w in WORKLOADS if a.workloads == "all" or w[0] in a.workloads.split(",")]
    keeper = Keeper()
    # One untimed run of each workload first: page cache, first-use costs.
    for name, args in wls:
        run_workload(args, "warm")
    for r in range(a.rounds):
        # Rotate the order every round: no configuration always comes
        # first after boot, or right after a given other one.
        order = cfgs[r % len(cfgs):] + cfgs[:r % len(cfgs)]
        for c in order:
            t0 = mono()
            c.attach()
            t_att = mono() - t0
            res = []
            for name, args in wls:
                res.append((name, run_workload(args, name)))
            t0 = mono()
            seen = c.detach()
            t_det = mono() - t0
            exits = sum(x["exits"] for _, x in res)
            for name, x in res:
                emit({"kind": "overhead", "boot": a.boot, "round": r,
                      "config": c.name, "config_note": c.note,
                      "workload": name, **x})
            emit({"kind": "attach", "boot": a.boot, "round": r,
                  "config": c.name, "attach_s": t_att / 1e9,
                  "detach_s": t_det / 1e9, "workload_exits": exits,
                  "seen": seen})
            log(f"round {r} {c.name}: " + " ".join(
                f"{n}={x['rate']:.0f}/s" for n, x in res) + f" seen={json.dumps(seen)[:200]}")
    keeper.stop()


# ---------------------------------------------------------------- ubench
def phase_ubench(a):
    sh("dmesg -c >/dev/null")
    sh(f"insmod {a.ubench_ko} calls={a.calls} batches={a.batches}")
    sh("rmmod vs_ubench")
    for line in sh("dmesg").splitlines():
        m = re.search(r"vs_ubench: (.*)", line)
        if not m:
            continue
        kv = dict(re.findall(r"(\w+)=(\S+)", m.group(1)))
        kv = {k: (int(v) if re.fullmatch(r"\d+", v) else v) for k, v in kv.items()}
        log(m.group(1))
        if "variant" in kv:
            emit({"kind": "ubench", **kv})
        else:
            emit({"kind": "ubench_info", **kv})


# ---------------------------------------------------------------- memory
def slabinfo(name):
    for line in open("/proc/slabinfo"):
        f = line.split()
        if f and f[0] == name:
            # name active_objs num_objs objsize objperslab pagesperslab :
            # tunables .. : slabdata active_slabs num_slabs sharedavail
            return {"active_objs": int(f[1]), "num_objs": int(f[2]),
                    "objsize": int(f[3]), "objperslab": int(f[4]),
                    "pagesperslab": int(f[5]), "num_slabs": int(f[14])}
    return None


def sysfs_slab(name):
    d = f"/sys/kernel/slab/{name}"
    if not os.path.exists(d):
        return None
    out = {"real": os.path.basename(os.path.realpath(d))}
    for k in ("object_size", "slab_size", "objs_per_slab", "order", "aliases",
              "objects", "total_objects", "slabs", "partial", "cpu_slabs"):
        try:
            out[k] = int(open(f"{d}/{k}").read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return out


def many_fds():
    # One fd per vCPU: 1024 vCPUs need more than the default 1024 files.
    resource.setrlimit(resource.RLIMIT_NOFILE, (1 << 16, 1 << 16))


def hold_vms(vms, vcpus, extra=()):
    """Start kvm_workload holding vms x vcpus (each made one exit)."""
    for f in ("/tmp/hold.go", "/tmp/hold.ready"):
        if os.path.exists(f):
            os.unlink(f)
    p = subprocess.Popen([WL, "--vms", str(vms), "--vcpus", str(vcpus),
                          "--io", "1", "--hold", "--hold-file", "/tmp/hold.go",
                          "--ready-file", "/tmp/hold.ready",
                          "--json", "/tmp/hold.json", *extra],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         preexec_fn=many_fds)
    wait_file("/tmp/hold.ready", 900, f"{vms}x{vcpus} VMs", p)
    return p


def release(p):
    wfile("/tmp/hold.go", "")
    p.wait(timeout=900)
    vs_wait_drained()


def tracked():
    g = vsnl.Genl()
    try:
        vms = vsnl.dump_vms(g)
    finally:
        g.close()
    return len(vms), sum(v.get("nr_vcpus", 0) for v in vms)


LAYOUTS = {1: (1, 1), 64: (1, 64), 256: (2, 128), 512: (4, 128),
           1024: (8, 128)}


def phase_memory(a):
    keeper = Keeper()
    vs_load(a.ko)
    emit({"kind": "memory_info", "sysfs": sysfs_slab("vcpustat_vcpu"),
          "nr_cpu_ids": len(os.sched_getaffinity(0)),
          "possible": open("/sys/devices/system/cpu/possible").read().strip()})
    k192_0 = slabinfo("kmalloc-192")
    for n in (1, 64, 512):
        before = slabinfo("vcpustat_vcpu")
        k0 = slabinfo("kmalloc-192")
        vms, vcpus = LAYOUTS[n]
        p = hold_vms(vms, vcpus)
        nv, nc = tracked()
        after = slabinfo("vcpustat_vcpu")
        k1 = slabinfo("kmalloc-192")
        emit({"kind": "memory", "vcpus": n, "vms": vms, "tracked_vms": nv,
              "tracked_vcpus": nc, "slab_before": before, "slab": after,
              "kmalloc192_before": k0, "kmalloc192": k1,
              "sysfs": sysfs_slab("vcpustat_vcpu")})
        log(f"memory {n} vCPUs: tracked {nv} VMs {nc} vCPUs slab={after} sysfs={sysfs_slab('vcpustat_vcpu')}")
        release(p)
        # The VMs are gone (untracked); their records are freed after an
        # RCU grace period and kvm_destroy_vm(): give the worker a second.
        time.sleep(1.0)
        held = slabinfo("vcpustat_vcpu")
        shrink = "/sys/kernel/slab/vcpustat_vcpu/shrink"
        if os.path.exists(shrink):
            wfile(shrink, "1")
        emit({"kind": "memory_release", "vcpus": n, "slab_after_release": held,
              "sysfs_after_release": sysfs_slab("vcpustat_vcpu"),
              "slab_after_shrink": slabinfo("vcpustat_vcpu"),
              "sysfs_after_shrink": sysfs_slab("vcpustat_vcpu")})
    emit({"kind": "memory_end", "slab": slabinfo("vcpustat_vcpu"),
          "kmalloc192_start": k192_0, "kmalloc192": slabinfo("kmalloc-192")})
    vs_unload()
    keeper.stop()


# ---------------------------------------------------------------- dump
def raw_dump(g, cmd, count=False):
    """One dump, not decoded: (guest ns, messages, bytes, thread cpu ns).

    Timed runs (count=False) do nothing per message in Python: each recv
    lands in one buffer and only its tail is checked for NLMSG_DONE (the
    kernel appends it to the last batch), so the time is the syscalls and
    the kernel building the dump, plus a small fixed cost per recv.
    """
    buf = bytearray(1 << 20)
    msgs = nbytes = 0
    # From before the request: the kernel fills the first batch in send().
    c0 = time.thread_time_ns()
    t0 = mono()
    seq = g.send(g.family, vsnl.NLM_F_DUMP, cmd, vsnl.VCPUSTAT_GENL_VERSION)
    g.sk.settimeout(60)
    while True:
        n = g.sk.recv_into(buf)
        nbytes += n
        if count:
            off, end = 0, False
            while off + 16 <= n:
                ln, mtype, _, s, _ = vsnl.struct.unpack_from("IHHII", buf, off)
                if s == seq:
                    if mtype in (vsnl.NLMSG_DONE, vsnl.NLMSG_ERROR):
                        end = True
                    else:
                        msgs += 1
                off += (ln + 3) & ~3
            if end:
                break
            continue
        # NLMSG_DONE: 16-byte header + 4-byte status, last in the batch
        # (checked by the counting run: see dump_tail_ok()).
        if n >= 20:
            ln, mtype, _, s, _ = vsnl.struct.unpack_from("IHHII", buf, n - 20)
            if ln == 20 and s == seq and mtype == vsnl.NLMSG_DONE:
                break
    return mono() - t0, msgs, nbytes, time.thread_time_ns() - c0


def dump_tail_ok(g, cmd):
    """Does every dump end with a 20-byte NLMSG_DONE at a batch's tail?"""
    seq = g.send(g.family, vsnl.NLM_F_DUMP, cmd, vsnl.VCPUSTAT_GENL_VERSION)
    g.sk.settimeout(60)
    while True:
        data = g.sk.recv(1 << 20)
        off, last = 0, None
        while off + 16 <= len(data):
            ln, mtype, _, s, _ = vsnl.struct.unpack_from("IHHII", data, off)
            last = (ln, mtype, s, off + ((ln + 3) & ~3) >= len(data))
            if s == seq and mtype in (vsnl.NLMSG_DONE, vsnl.NLMSG_ERROR):
                return mtype == vsnl.NLMSG_DONE and ln == 20 and last[3]
            off += (ln + 3) & ~3


def child_cost(argv, stdout):
    """Run argv; return guest ns, and its user/sys CPU s from wait4."""
    t0 = mono()
    p = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    t1 = mono()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode:
        raise RuntimeError(f"{argv}: exit {p.returncode}")
    return t1 - t0, ru.ru_utime, ru.ru_stime


def phase_dump(a):
    keeper = Keeper()
    vs_load(a.ko)
    for n in (1, 64, 256, 1024):
        vms, vcpus = LAYOUTS[n]
        p = hold_vms(vms, vcpus)
        nv, nc = tracked()
        g = vsnl.Genl()
        for cmd, cname in ((vsnl.VCPUSTAT_CMD_GET_VCPU, "GET_VCPU"),
                           (vsnl.VCPUSTAT_CMD_GET_VM, "GET_VM")):
            _, nmsg, _, _ = raw_dump(g, cmd, count=True)  # warm, count
            fast = dump_tail_ok(g, cmd)
            ru0 = resource.getrusage(resource.RUSAGE_SELF)
            xs = [raw_dump(g, cmd, count=not fast) for _ in range(a.reps)]
            ru1 = resource.getrusage(resource.RUSAGE_SELF)
            emit({"kind": "dump_raw", "vcpus": n, "vms": vms,
                  "tracked_vcpus": nc, "cmd": cname, "reps": a.reps,
                  "guest_ns": [x[0] for x in xs], "msgs": nmsg,
                  "python_per_message": not fast,
                  "bytes": xs[0][2], "thread_cpu_ns": [x[3] for x in xs],
                  "stime_s_total": ru1.ru_stime - ru0.ru_stime,
                  "utime_s_total": ru1.ru_utime - ru0.ru_utime})
            log(f"dump_raw {cname} {n}: med {statistics.median(x[0] for x in xs)/1e3:.0f} us(icount) {nmsg} msgs {xs[0][2]} B")
        g.close()
        # The tool: whole process (exec, libnl, JSON) to a pipe we drain.
        with open("/tmp/dump.json", "w") as f:
            child_cost([TOOL, "dump", "-j"], f)
        size = os.path.getsize("/tmp/dump.json")
        xs = []
        for _ in range(a.reps):
            with open("/dev/null", "w") as f:
                xs.append(child_cost([TOOL, "dump", "-j"], f))
        # Same process, one small request: exec, libnl, family lookup.
        ys = []
        for _ in range(a.reps):
            with open("/dev/null", "w") as f:
                ys.append(child_cost([TOOL, "config", "-j"], f))
        emit({"kind": "dump_tool", "vcpus": n, "vms": vms, "tracked_vcpus": nc,
              "reps": a.reps, "guest_ns": [x[0] for x in xs],
              "utime_s": [x[1] for x in xs], "stime_s": [x[2] for x in xs],
              "json_bytes": size,
              "config_guest_ns": [y[0] for y in ys],
              "config_utime_s": [y[1] for y in ys],
              "config_stime_s": [y[2] for y in ys]})
        log(f"dump -j {n}: med {statistics.median(x[0] for x in xs)/1e6:.1f} ms(icount) {size} B")
        release(p)
    vs_unload()
    keeper.stop()


# ---------------------------------------------------------------- events
def ping():
    """A 1-vCPU VM that makes one exit and ends: VM_NEW, DELTA, VM_GONE."""
    r = subprocess.run([WL, "--io", "1"], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    return json.loads(r.stdout)["pid"]


def watch_run(work, marker=True):
    """`vcpustat watch -j` around work(), from the moment it provably
    receives events (a line arrived) to 0.3 s (guest) after work() ends.

    Readiness: "ping" VMs (one exit each, then gone) are run until the
    watcher prints a line, which proves it has joined the group. An idle
    held VM would not do: only vCPUs that changed send DELTA. The pings'
    events, some of which land in the window, are counted apart ("ping").
    @marker is kept for the callers; readiness is the same either way.
    """
    out = "/tmp/watch.jsonl"
    f = open(out, "w")
    w = subprocess.Popen([TOOL, "watch", "-j", "-t", "3600"],
                         stdout=f, stderr=subprocess.STDOUT)
    t_end = time.monotonic() + 600
    pings = set()
    while os.path.getsize(out) == 0:
        if w.poll() is not None or time.monotonic() > t_end:
            raise RuntimeError("watch: no event: " + open(out).read())
        pings.add(ping())
        time.sleep(0.2)
    n0 = sum(1 for _ in open(out))
    t0 = mono()
    info = work()
    time.sleep(0.3)
    t1 = mono()
    w.send_signal(signal.SIGINT)
    _, status, ru = os.wait4(w.pid, 0)
    f.close()
    types, seqs, lost, supp, bad = {}, [], 0, 0, 0
    lines = open(out).read().splitlines()
    for i, line in enumerate(lines):
        try:
            e = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if "seq" in e:
            seqs.append(e["seq"])
        if i < n0:
            continue
        t = e.get("type", "?")
        if e.get("pid") in pings:
            t = "ping"
        types[t] = types.get(t, 0) + 1
        if t == "lost":
            lost += e.get("count", 0)
        m = e.get("suppressed")
        if isinstance(m, int):
            supp += m
    gaps = sum(b - a - 1 for a, b in zip(seqs, seqs[1:]) if b > a + 1)
    n = sum(v for k, v in types.items() if k not in ("lost", "ping"))
    return {"guest_s": (t1 - t0) / 1e9, "types": types, "events": n,
            "seq_gaps": gaps, "lost_reported": lost, "suppressed": supp,
            "unparsed": bad, "watch_exit": os.waitstatus_to_exitcode(status),
            "watch_utime_s": ru.ru_utime, "watch_stime_s": ru.ru_stime,
            **info}


def phase_events(a):
    keeper = Keeper()
    vs_load(a.ko)
    vs_set(snapshot_ms=100)
    g = vsnl.Genl()
    cfg = vsnl.get_config(g)
    g.close()

    def busy(vcpus, extra, secs, vms=1):
        def work():
            r = run_workload(["--vms", str(vms), "--vcpus", str(vcpus),
                              "--seconds", str(secs), *extra], "ev")
            d = json.load(open("/tmp/wl-ev.json"))
            moves = sum(v["moves_count"] for vm in d["vms"] for v in vm["vcpus"])
            return {"workload": {"vms": vms, "vcpus": vcpus, "args": extra,
                                 **r, "moves": moves}}
        return work

    sh(f"{TOOL} config -j >/dev/null")  # page cache: the tool starts fast
    # 1. periodic deltas, 4 busy vCPUs
    r = watch_run(busy(4, ["--cpuid", "1000", "--io", "1000"], a.secs))
    emit({"kind": "events", "case": "delta_4busy", "snapshot_ms": 100, **r})
    log("events delta_4busy", json.dumps(r)[:300])
    # 2. migration storm: 4 vCPUs hopping over every guest CPU (needs 2+)
    ncpu = len(os.sched_getaffinity(0))
    if ncpu >= 2:
        r = watch_run(busy(4, ["--io", "200", "--hop", f"0-{ncpu - 1}",
                               "--hops", str(a.hops)], a.secs))
        emit({"kind": "events", "case": "migrate_storm", "snapshot_ms": 100,
              "hop_cpus": ncpu, **r})
        log("events migrate_storm", json.dumps(r)[:300])
    else:
        log("events migrate_storm skipped: one guest CPU")
    # 3. deltas of many idle vCPUs: the stream scales with tracked vCPUs
    for n in (256, 1024):
        vms, vcpus = LAYOUTS[n]
        p = hold_vms(vms, vcpus)
        nv, nc = tracked()

        def idle():
            t_end = mono() + int(a.secs * 1e9)
            while mono() < t_end:
                time.sleep(0.05)
            return {"held_vcpus": nc}
        r = watch_run(idle, marker=False)
        emit({"kind": "events", "case": f"delta_{n}idle", "snapshot_ms": 100, **r})
        log(f"events delta_{n}idle", json.dumps(r)[:300])
        release(p)
    # 4. deltas of as many busy vCPUs: one per vCPU per period
    vms, vcpus = LAYOUTS[1024]
    r = watch_run(busy(vcpus, ["--cpuid", "200"], a.secs, vms))
    emit({"kind": "events", "case": "delta_1024busy", "snapshot_ms": 100, **r})
    log("events delta_1024busy", json.dumps(r)[:300])
    g = vsnl.Genl()
    c = vsnl.get_config(g)
    g.close()
    emit({"kind": "events_status", "before": str(cfg.get("status")),
          "after": str(c.get("status"))})
    vs_unload()
    keeper.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("phase")
    ap.add_argument("--ko", default=os.path.join(TOP, "build", KVER, "vcpustat.ko"))
    ap.add_argument("--ubench-ko")
    ap.add_argument("--nullprobe-ko")
    ap.add_argument("--prop-ko")
    ap.add_argument("--boot", default="?")
    ap.add_argument("--configs", default="baseline,vs_on,vs_off")
    ap.add_argument("--workloads", default="all")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--batches", type=int, default=15)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--secs", type=float, default=1.0)
    ap.add_argument("--hops", type=int, default=20)
    a = ap.parse_args()
    log(f"phase {a.phase} kver {KVER} boot {a.boot}")
    emit({"kind": "boot", "boot": a.boot, "phase": a.phase,
          "cmdline": open("/proc/cmdline").read().strip(),
          "clocksource": open("/sys/devices/system/clocksource/clocksource0/current_clocksource").read().strip(),
          "cpus": os.cpu_count(),
          "vulnerabilities": {os.path.basename(f): open(f).read().strip()
                              for f in glob.glob("/sys/devices/system/cpu/vulnerabilities/*")}})
    {"overhead": phase_overhead, "ubench": phase_ubench,
     "memory": phase_memory, "dump": phase_dump,
     "events": phase_events}[a.phase](a)
    log("phase done")


if __name__ == "__main__":
    main()
