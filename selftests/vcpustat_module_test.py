#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""vcpustat.ko selftests, KTAP output. Run as root on a KVM host (the rig).

Ground truth is twofold: the workload driver (selftests/kvm_workload) says
exactly which exits it caused, and the kernel's own kvm:kvm_exit /
kvm:kvm_entry trace events (a tracefs hist trigger keyed by thread and exit
reason) say what KVM reported. The module must agree with both, exactly.

Environment: VCPUSTAT_KO (default build/<uname -r>/vcpustat.ko),
VCPUSTAT_WORKLOAD (default selftests/kvm_workload).
Exit: 0 all passed, 1 a failure, 4 skipped (not root, no /dev/kvm, no module).
"""
import errno
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import vsnl  # noqa: E402
from vsnl import (nla, nla_nest, nla_u32, nla_u64, nla_u8,  # noqa: E402
                  NetlinkError)

KO = os.environ.get("VCPUSTAT_KO") or \
    os.path.join(TOP, "build", os.uname().release, "vcpustat.ko")
DRIVER = os.environ.get("VCPUSTAT_WORKLOAD") or \
    os.path.join(HERE, "kvm_workload")
TRACING = "/sys/kernel/tracing"
SVM = 2
# SVM exit codes (asm/svm.h): the reasons the driver makes exactly.
SVM_IO, SVM_CPUID, SVM_HLT, SVM_MSR = 0x7b, 0x72, 0x78, 0x7c
EXACT = {"io": SVM_IO, "cpuid": SVM_CPUID, "hlt": SVM_HLT, "msr": SVM_MSR}


class Ktap:
    def __init__(self, names):
        self.names = names
        self.n = 0
        self.failed = 0
        self.skipped = 0
        print("KTAP version 1")
        print(f"1..{len(names)}")

    def result(self, name, ok, diag=None, skip=None):
        assert name == self.names[self.n], (name, self.names[self.n])
        self.n += 1
        if diag:
            for line in str(diag).splitlines()[:30]:
                print(f"# {line}")
        if skip:
            self.skipped += 1
            print(f"ok {self.n} {name} # SKIP {skip}")
        elif ok:
            print(f"ok {self.n} {name}")
        else:
            self.failed += 1
            print(f"not ok {self.n} {name}")
        sys.stdout.flush()

    def skip_rest(self, reason):
        while self.n < len(self.names):
            self.result(self.names[self.n], True, skip=reason)


def sh(cmd, check=True):
    return subprocess.run(cmd, shell=True, check=check, text=True,
                          capture_output=True)


def module_load():
    sh("rmmod vcpustat", check=False)
    r = sh(f"insmod {KO}", check=False)
    if r.returncode:
        raise RuntimeError(f"insmod {KO}: {r.stderr.strip()}")


class Driver:
    """kvm_workload held alive after its work, for inspection."""

    def __init__(self, *args):
        self.dir = tempfile.mkdtemp(prefix="vs-")
        self.ready = os.path.join(self.dir, "ready")
        self.report = os.path.join(self.dir, "report.json")
        self.proc = subprocess.Popen(
            [DRIVER, *map(str, args), "--hold", "--ready-file", self.ready,
             "--json", self.report], stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 240
        while not os.path.exists(self.ready):
            if self.proc.poll() is not None:
                raise RuntimeError("kvm_workload failed: " +
                                   self.proc.stderr.read())
            if time.time() > deadline:
                self.proc.kill()
                raise RuntimeError("kvm_workload never got ready")
            time.sleep(0.05)
        self.r = json.load(open(self.report))
        self.pid = self.r["pid"]

    def vcpus(self):
        for vm in self.r["vms"]:
            for v in vm["vcpus"]:
                yield vm["index"], v

    def stop(self):
        self.proc.send_signal(signal.SIGUSR1)
        rc = self.proc.wait(timeout=120)
        if rc:
            raise RuntimeError(f"kvm_workload exited {rc}")
        return rc


class ExitHist:
    """tracefs hist trigger: kvm_exit counts per (thread, exit reason).

    One trigger for the whole run: every enable/disable of a trace event
    live-patches kernel text, which QEMU's multi-threaded TCG occasionally
    mishandles. Counts are cumulative; tids are not reused within a run.
    """
    SPEC = "hist:keys=common_pid,exit_reason:size=65536"
    _shared = None

    def __new__(cls):
        if cls._shared is None:
            cls._shared = super().__new__(cls)
            cls._shared.path = f"{TRACING}/events/kvm/kvm_exit/trigger"
            with open(cls._shared.path, "w") as f:
                f.write(cls.SPEC)
        return cls._shared

    def read(self):
        counts = {}
        with open(f"{TRACING}/events/kvm/kvm_exit/hist") as f:
            for line in f:
                if not line.startswith("{"):
                    if line.startswith("    Dropped:") and \
                            int(line.split()[-1]):
                        raise RuntimeError("hist trigger dropped events")
                    continue
                keys, hits = line.rsplit("hitcount:", 1)
                kv = {a.strip(): b.strip() for a, b in
                      (p.split(":", 1) for p in
                       keys.strip("{} \t").split(","))}
                pid = int(kv["common_pid"].split()[-1].strip("[]"))
                code = int(kv["exit_reason"])
                counts[(pid, code)] = int(hits)
        return counts

    def close(self):
        pass  # kept for the whole run; see the class comment


class ExitCpuTrace:
    """kvm_exit events to the ring buffer: which CPU handled each exit.

    The module counts migrations and residency at kvm_exit, on the CPU the
    probe runs on, which is the CPU this event records.
    """

    def __init__(self):
        with open(f"{TRACING}/buffer_size_kb", "w") as f:
            f.write("16384")
        with open(f"{TRACING}/trace", "w") as f:
            f.write("")
        with open(f"{TRACING}/events/kvm/kvm_exit/enable", "w") as f:
            f.write("1")

    def moves(self):
        """tid -> number of exits on another CPU than its previous exit."""
        with open(f"{TRACING}/events/kvm/kvm_exit/enable", "w") as f:
            f.write("0")
        last, moves = {}, {}
        with open(f"{TRACING}/trace") as f:
            for line in f:
                if line.startswith("#") or "kvm_exit" not in line:
                    continue
                task, rest = line.split("[", 1)
                tid = int(task.strip().rsplit("-", 1)[1])
                cpu = int(rest.split("]", 1)[0])
                if tid in last and last[tid] != cpu:
                    moves[tid] = moves.get(tid, 0) + 1
                moves.setdefault(tid, 0)
                last[tid] = cpu
        return moves


def cpulist(path):
    out = set()
    for part in open(path).read().strip().split(","):
        if not part:
            continue
        a, _, b = part.partition("-")
        out.update(range(int(a), int(b or a) + 1))
    return out


def sysfs_distance(a, b):
    """Expected distance class from sysfs, to compare with the module."""
    base = "/sys/devices/system/cpu"
    if b in cpulist(f"{base}/cpu{a}/topology/thread_siblings_list"):
        return vsnl.VCPUSTAT_DIST_SMT
    idx = sorted(d for d in os.listdir(f"{base}/cpu{a}/cache")
                 if d.startswith("index"))
    best = max(idx, key=lambda d: int(open(
        f"{base}/cpu{a}/cache/{d}/level").read()))
    if b in cpulist(f"{base}/cpu{a}/cache/{best}/shared_cpu_list"):
        return vsnl.VCPUSTAT_DIST_LLC

    def node(c):
        return [d for d in os.listdir(f"{base}/cpu{c}")
                if d.startswith("node")]
    return vsnl.VCPUSTAT_DIST_NODE if node(a) == node(b) else \
        vsnl.VCPUSTAT_DIST_REMOTE


def dump_by_tid(g, pid=None):
    attrs = nla_u32(vsnl.VCPUSTAT_A_PID, pid) if pid else b""
    return {m["vcpu"]["tid"]: m for m in vsnl.dump_vcpus(g, attrs)}


def reasons(v):
    return {(r["isa"], r["code"]): r for r in v["reasons"]}


def check_exact(g, drv, hist):
    """Module == tracefs for every reason; == driver for exact reasons."""
    errs = []
    mod = dump_by_tid(g, drv.pid)
    trace = hist.read()
    for _, v in drv.vcpus():
        tid = v["tid"]
        if tid not in mod:
            errs.append(f"tid {tid}: not in dump")
            continue
        m = mod[tid]["vcpu"]
        mr = {code: r["count"] for (isa, code), r in reasons(m).items()}
        tr = {code: n for (p, code), n in trace.items() if p == tid}
        if mr != tr:
            errs.append(f"tid {tid}: module {mr} != tracefs {tr}")
        for kind, code in EXACT.items():
            if mr.get(code, 0) != v["expect"][kind]:
                errs.append(f"tid {tid}: {kind} module {mr.get(code, 0)} "
                            f"!= driver {v['expect'][kind]}")
        if m["exits"] != sum(mr.values()):
            errs.append(f"tid {tid}: exits {m['exits']} != sum of reasons")
        if m["vcpu_id"] != v["vcpu_id"] or mod[tid]["pid"] != drv.pid:
            errs.append(f"tid {tid}: identity mismatch")
    return errs


def t_exact(g, nvcpus, work):
    hist = ExitHist()
    try:
        drv = Driver("--vcpus", nvcpus, *work)
        try:
            return check_exact(g, drv, hist)
        finally:
            drv.stop()
    finally:
        hist.close()


def t_migrations(g, cpus):
    """Forced moves: migrations exact, per distance class as sysfs says."""
    errs, classes = [], set()
    exits = ExitCpuTrace()
    drv = Driver("--vcpus", 2, "--io", 200, "--cpuid", 100, "--hop",
                 ",".join(map(str, cpus)), "--hops", 12, "--chunk", 20)
    try:
        traced = exits.moves()
        mod = dump_by_tid(g, drv.pid)
        for _, v in drv.vcpus():
            m = mod[v["tid"]]["vcpu"]
            want = {d: 0 for d in range(1, vsnl.VCPUSTAT_DIST_MAX + 1)}
            for a, b in v["moves"]:
                want[sysfs_distance(a, b)] += 1
            classes |= {d for d, n in want.items() if n}
            got = {1: m["migr_smt"], 2: m["migr_llc"], 3: m["migr_node"],
                   4: m["migr_remote"]}
            if m["migrations"] != len(v["moves"]) or \
                    m["migrations"] != v["expect"]["migrations"]:
                errs.append(f"tid {v['tid']}: migrations {m['migrations']}"
                            f" != moves {len(v['moves'])}")
            if traced.get(v["tid"]) != m["migrations"]:
                errs.append(f"tid {v['tid']}: tracefs saw "
                            f"{traced.get(v['tid'])} moves")
            if got != want:
                errs.append(f"tid {v['tid']}: classes {got} != sysfs {want}")
            if m.get("pcpu") != v["end_cpu"]:
                errs.append(f"tid {v['tid']}: pcpu {m.get('pcpu')} != "
                            f"{v['end_cpu']}")
            res = m["residency"]
            if sum(res.values()) != m["exits"]:
                errs.append(f"tid {v['tid']}: residency sums to "
                            f"{sum(res.values())}, exits {m['exits']}")
            visited = {c for mv in v["moves"] for c in mv} | \
                {v["start_cpu"]}
            if not set(res) <= visited:
                errs.append(f"tid {v['tid']}: residency on {set(res)}, "
                            f"visited {visited}")
    finally:
        drv.stop()
    names = {1: "smt", 2: "llc", 3: "node", 4: "remote"}
    return errs, sorted(names[c] for c in classes)


def t_timing(g):
    errs = []
    drv = Driver("--vcpus", 1, "--io", 500, "--cpuid", 500, "--hlt", 20)
    try:
        for m in dump_by_tid(g, drv.pid).values():
            v = m["vcpu"]
            if sum(v["hist"]) != v["timed_exits"]:
                errs.append(f"hist sum {sum(v['hist'])} != timed "
                            f"{v['timed_exits']}")
            # The held vCPU's last exit has no entry after it yet.
            if v["timed_exits"] != v["exits"] - 1:
                errs.append(f"timed {v['timed_exits']} != exits - 1 "
                            f"({v['exits']})")
            tsum = 0
            for r in v["reasons"]:
                tsum += r["time_sum_ns"]
                if not r["timed"]:
                    continue
                avg = r["time_sum_ns"] / r["timed"]
                if not r["time_min_ns"] <= avg <= r["time_max_ns"]:
                    errs.append(f"code {r['code']:#x}: min {r['time_min_ns']}"
                                f" avg {avg} max {r['time_max_ns']}")
            if tsum != v["exit_time_ns"]:
                errs.append(f"reason times {tsum} != {v['exit_time_ns']}")
            if not any(r["code"] == SVM_IO and r["time_max_ns"] > 0
                       for r in v["reasons"]):
                errs.append("no time recorded for io exits")
    finally:
        drv.stop()
    return errs


def set_timing(g, on):
    vsnl.set_config(g, timing=int(on))
    if config(g)[vsnl.VCPUSTAT_CONFIG_A_TIMING] != int(on):
        raise RuntimeError(f"timing did not read back as {int(on)}")


def t_timing_switch(g):
    """timing=0 (kvm_entry unhooked): exits still exact, nothing timed; back
    on, every exit but the held vCPU's last is timed again."""
    errs = []
    set_timing(g, False)
    try:
        hist = ExitHist()
        drv = Driver("--vcpus", 2, "--io", 400, "--cpuid", 300, "--hlt", 10)
        try:
            errs += check_exact(g, drv, hist)
            for m in dump_by_tid(g, drv.pid).values():
                v = m["vcpu"]
                if v["timed_exits"] or v["exit_time_ns"] or any(v["hist"]) \
                        or any(r["timed"] for r in v["reasons"]):
                    errs.append(f"timing off: tid {v['tid']} timed "
                                f"{v['timed_exits']} exits")
        finally:
            drv.stop()
    finally:
        set_timing(g, True)
    drv = Driver("--vcpus", 2, "--io", 400, "--cpuid", 300)
    try:
        for m in dump_by_tid(g, drv.pid).values():
            v = m["vcpu"]
            if v["timed_exits"] != v["exits"] - 1:
                errs.append(f"timing back on: timed {v['timed_exits']} "
                            f"!= exits - 1 ({v['exits']})")
    finally:
        drv.stop()
    return errs


def t_timing_sampled(g):
    """timing_every=4: about one exit in 4 timed, per reason too.

    The skip before each timed exit is uniform in 0..6, so n exits give
    n/4 timed exits with a standard deviation of sqrt(n/16): the +-15 %
    bounds below are more than 6 deviations wide for 2000 exits, and every
    exit timed (the setting ignored) or none fails them.
    """
    errs = []
    vsnl.set_config(g, timing_every=4)
    try:
        if config(g)[vsnl.VCPUSTAT_CONFIG_A_TIMING_EVERY] != 4:
            errs.append("timing_every does not read back as 4")
        drv = Driver("--vcpus", 1, "--io", 2000, "--cpuid", 2000)
        try:
            for m in dump_by_tid(g, drv.pid).values():
                v = m["vcpu"]
                if sum(v["hist"]) != v["timed_exits"] or \
                        sum(r["timed"] for r in v["reasons"]) != \
                        v["timed_exits"]:
                    errs.append(f"hist/reasons do not sum to timed "
                                f"{v['timed_exits']}")
                for r in v["reasons"]:
                    if r["code"] not in (SVM_IO, SVM_CPUID):
                        continue
                    want = r["count"] / 4
                    if not 0.85 * want <= r["timed"] <= 1.15 * want:
                        errs.append(f"code {r['code']:#x}: {r['timed']} of "
                                    f"{r['count']} timed, want ~{want:.0f}")
        finally:
            drv.stop()
    finally:
        vsnl.set_config(g, timing_every=1)
    return errs


def t_identity(g):
    errs = []
    drv = Driver("--vms", 2, "--vcpus", 2, "--cpuid", 10)
    try:
        vms = [vm for vm in vsnl.dump_vms(g) if vm["pid"] == drv.pid]
        if len(vms) != 2 or len({vm["vm_id"] for vm in vms}) != 2:
            errs.append(f"want 2 distinct VMs, got {vms}")
        for vm in vms:
            if vm["comm"] != "kvm_workload" or \
                    vm["stats_id"] != f"kvm-{drv.pid}" or \
                    vm["nr_vcpus"] != 2:
                errs.append(f"identity: {vm}")
        tids = {v["tid"] for _, v in drv.vcpus()}
        if set(dump_by_tid(g, drv.pid)) != tids:
            errs.append("tids differ from the driver's")
    finally:
        drv.stop()
    return errs


def vm_exits(g, pid):
    return {vm["vm_id"]: vm["exits"] for vm in vsnl.dump_vms(g)
            if vm["pid"] == pid}


def t_reset(g):
    errs = []
    drv = Driver("--vms", 2, "--vcpus", 1, "--cpuid", 300)
    try:
        before = vm_exits(g, drv.pid)
        first, second = sorted(before)
        g.request(vsnl.VCPUSTAT_CMD_RESET,
                  nla_u64(vsnl.VCPUSTAT_A_VM_ID, first))
        after = vm_exits(g, drv.pid)
        if after != {first: 0, second: before[second]}:
            errs.append(f"reset of VM {first}: {before} -> {after}")
        v = [m["vcpu"] for m in vsnl.dump_vcpus(g)
             if m["vm_id"] == first][0]
        if v["reasons"] or any(v["hist"]) or v["residency"]:
            errs.append("reset VM still reports reasons/hist/residency")
        try:
            g.request(vsnl.VCPUSTAT_CMD_RESET,
                      nla_u64(vsnl.VCPUSTAT_A_VM_ID, 999999))
            errs.append("reset of unknown VM succeeded")
        except NetlinkError as e:
            if e.errno != errno.ENOENT or not e.extack:
                errs.append(f"unknown VM: {e}")
        g.request(vsnl.VCPUSTAT_CMD_RESET)
        if any(vm_exits(g, drv.pid).values()):
            errs.append("reset all left counts")
    finally:
        drv.stop()
    return errs


def status(g):
    return vsnl.get_config(g)["status"]


def config(g):
    return vsnl.get_config(g)["config"]


def t_churn(g, n):
    """n VMs made and destroyed: n distinct ids, n VM_GONE, exact sum."""
    errs = []
    hist = ExitHist()
    before = sum(hist.read().values())
    seen0 = status(g)[vsnl.VCPUSTAT_STATUS_A_VMS_SEEN]
    ev = []
    lg = vsnl.Genl()
    lg.join()
    stop = threading.Event()

    overruns = []

    def listen():
        while not stop.is_set():
            try:
                msgs = lg.recv_msgs(timeout=0.2)
            except TimeoutError:
                continue
            except OSError as e:
                overruns.append(e.errno)  # ENOBUFS: too slow
                continue
            ev.extend(vsnl.decode_top(b[0], b[4:])
                      for t, _, _, b in msgs if t == lg.family)
    th = threading.Thread(target=listen)
    th.start()
    try:
        r = subprocess.run([DRIVER, "--churn", str(n), "--cpuid", "20",
                            "--io", "5"], capture_output=True, text=True,
                           timeout=900)
        if r.returncode:
            return [f"driver failed: {r.stderr}"]
        pid = json.loads(r.stdout)["pid"]
        # The sweep destroys VMs in the module's worker; under TCG a fast
        # churner outpaces it, so let the backlog drain (bounded).
        deadline = time.time() + 120
        while time.time() < deadline and \
                sum(e["cmd"] == vsnl.VCPUSTAT_CMD_VM_GONE_NTF and
                    e["vm"]["pid"] == pid for e in ev) < n:
            time.sleep(0.1)
    finally:
        stop.set()
        th.join()
        lg.close()
    trace = hist.read()
    hist.close()
    gone = [e for e in ev if e["cmd"] == vsnl.VCPUSTAT_CMD_VM_GONE_NTF and
            e["vm"]["pid"] == pid]
    ids = [e["vm"]["vm_id"] for e in gone]
    if len(gone) != n or len(set(ids)) != n:
        errs.append(f"{len(gone)} VM_GONE, {len(set(ids))} distinct ids")
    seqs = [e["seq"] for e in ev]
    gaps = sum(b - a - 1 for a, b in zip(seqs, seqs[1:]))
    if gaps or overruns:
        errs.append(f"{gaps} events lost ({len(overruns)} overruns)")
    total = sum(e["vm"]["exits"] for e in gone)
    # Only the churn process runs guests meanwhile: every exit tracefs saw
    # since the trigger was set must be in exactly one VM_GONE.
    traced = sum(trace.values()) - before
    if total != traced:
        errs.append(f"VM_GONE exits sum {total} != tracefs {traced}")
    low = min((e["vm"]["exits"] for e in gone), default=0)
    if low < 20 + 5 + 1:
        errs.append(f"a VM reported only {low} exits")
    st = status(g)
    if st[vsnl.VCPUSTAT_STATUS_A_VMS_SEEN] - seen0 != n:
        errs.append(f"vms_seen grew by "
                    f"{st[vsnl.VCPUSTAT_STATUS_A_VMS_SEEN] - seen0}")
    if st[vsnl.VCPUSTAT_STATUS_A_VMS] or st[vsnl.VCPUSTAT_STATUS_A_VCPUS]:
        errs.append(f"still tracking {st[vsnl.VCPUSTAT_STATUS_A_VMS]} VMs")
    # The default pool keeps up with a churn: no exit went untracked.
    if st[vsnl.VCPUSTAT_STATUS_A_NOMEM_EXITS] or \
            st[vsnl.VCPUSTAT_STATUS_A_ALLOC_FAIL]:
        errs.append(f"nomem exits {st[vsnl.VCPUSTAT_STATUS_A_NOMEM_EXITS]}"
                    f", alloc failures {st[vsnl.VCPUSTAT_STATUS_A_ALLOC_FAIL]}")
    return errs


def t_events(g):
    """VM_NEW, MIGRATE (matching forced moves), DELTA, VM_GONE, no gaps."""
    errs = []
    vsnl.Genl().request(vsnl.VCPUSTAT_CMD_SET_CONFIG, nla_nest(
        vsnl.VCPUSTAT_A_CONFIG, nla_u32(vsnl.VCPUSTAT_CONFIG_A_SNAPSHOT_MS,
                                        200)))
    lg = vsnl.Genl()
    lg.join()
    drv = Driver("--vcpus", 1, "--io", 50, "--hop", "0,1", "--hops", 3,
                 "--chunk", 10)
    time.sleep(1.0)
    moves = [tuple(mv) for _, v in drv.vcpus() for mv in v["moves"]]
    drv.stop()
    t_exit = time.time()
    ev, gone_at = [], None
    while time.time() < t_exit + 3 and gone_at is None:
        try:
            msgs = lg.recv_msgs(timeout=0.2)
        except TimeoutError:
            continue
        for t, _, _, b in msgs:
            if t == lg.family:
                e = vsnl.decode_top(b[0], b[4:])
                ev.append(e)
                if e["cmd"] == vsnl.VCPUSTAT_CMD_VM_GONE_NTF and \
                        e["vm"]["pid"] == drv.pid:
                    gone_at = time.time()
    lg.close()
    mine = [e for e in ev if e.get("pid", e.get("vm", {}).get("pid"))
            == drv.pid]
    cmds = [e["cmd"] for e in mine]
    if cmds[:1] != [vsnl.VCPUSTAT_CMD_VM_NEW_NTF]:
        errs.append(f"first event {cmds[:1]}, want VM_NEW")
    if gone_at is None or gone_at - t_exit > 1.5:
        errs.append("no VM_GONE within 1.5 s of the VM's end")
    mig = [e["migration"] for e in mine
           if e["cmd"] == vsnl.VCPUSTAT_CMD_MIGRATE_NTF]
    got = [(m["from"], m["to"]) for m in mig]
    folded = sum(m["suppressed"] for m in mig)
    if len(got) + folded != len(moves) or not set(got) <= set(moves):
        errs.append(f"MIGRATE {got} (+{folded} folded) vs moves {moves}")
    if not any(c == vsnl.VCPUSTAT_CMD_DELTA_NTF for c in cmds):
        errs.append("no DELTA_NTF at a 200 ms snapshot interval")
    seqs = [e["seq"] for e in ev]
    if any(b != a + 1 for a, b in zip(seqs, seqs[1:])):
        errs.append(f"sequence gaps: {seqs}")
    return errs


def expect_err(g, want, what, **kw):
    try:
        g.request(**kw)
    except NetlinkError as e:
        if e.errno != want:
            return [f"{what}: got {e}, want {os.strerror(want)}"]
        if want in (errno.EINVAL, errno.ERANGE) and not e.extack:
            return [f"{what}: no extack message"]
        return []
    return [f"{what}: accepted"]


def t_bad_input(g):
    errs = []
    before = config(g)
    C = vsnl.VCPUSTAT_A_CONFIG
    cases = [
        (errno.EOPNOTSUPP, "undefined command", dict(cmd=77)),
        (errno.EOPNOTSUPP, "notification as request",
         dict(cmd=vsnl.VCPUSTAT_CMD_VM_GONE_NTF)),
        (errno.EOPNOTSUPP, "wrong version",
         dict(cmd=vsnl.VCPUSTAT_CMD_GET_CONFIG, version=9, flags=0)),
        (errno.EINVAL, "unknown attribute",
         dict(cmd=vsnl.VCPUSTAT_CMD_RESET, attrs=nla_u32(42, 1))),
        (errno.EINVAL, "attribute not in the op's policy",
         dict(cmd=vsnl.VCPUSTAT_CMD_RESET,
              attrs=nla_u32(vsnl.VCPUSTAT_A_PID, 1))),
        (errno.EINVAL, "u32 where u64 is due",
         dict(cmd=vsnl.VCPUSTAT_CMD_RESET,
              attrs=nla_u32(vsnl.VCPUSTAT_A_VM_ID, 1))),
        (errno.EINVAL, "attribute on GET_CONFIG",
         dict(cmd=vsnl.VCPUSTAT_CMD_GET_CONFIG, flags=0,
              attrs=nla_u64(vsnl.VCPUSTAT_A_VM_ID, 1))),
        (errno.EINVAL, "SET_CONFIG without config",
         dict(cmd=vsnl.VCPUSTAT_CMD_SET_CONFIG)),
        (errno.EINVAL, "snapshot 50 ms",
         dict(cmd=vsnl.VCPUSTAT_CMD_SET_CONFIG, attrs=nla_nest(C, nla_u32(
             vsnl.VCPUSTAT_CONFIG_A_SNAPSHOT_MS, 50)))),
        (errno.ERANGE, "snapshot over range",
         dict(cmd=vsnl.VCPUSTAT_CMD_SET_CONFIG, attrs=nla_nest(C, nla_u32(
             vsnl.VCPUSTAT_CONFIG_A_SNAPSHOT_MS, 4000000)))),
        (errno.ERANGE, "timing 2 with a valid rate beside it",
         dict(cmd=vsnl.VCPUSTAT_CMD_SET_CONFIG, attrs=nla_nest(
             C, nla_u32(vsnl.VCPUSTAT_CONFIG_A_MIGR_RATE, 5),
             nla_u8(vsnl.VCPUSTAT_CONFIG_A_TIMING, 2)))),
        (errno.ERANGE, "timing_every 0 with timing off beside it",
         dict(cmd=vsnl.VCPUSTAT_CMD_SET_CONFIG, attrs=nla_nest(
             C, nla_u8(vsnl.VCPUSTAT_CONFIG_A_TIMING, 0),
             nla_u32(vsnl.VCPUSTAT_CONFIG_A_TIMING_EVERY, 0)))),
        (errno.ERANGE, "budget 2 with timing off beside it",
         dict(cmd=vsnl.VCPUSTAT_CMD_SET_CONFIG, attrs=nla_nest(
             C, nla_u8(vsnl.VCPUSTAT_CONFIG_A_TIMING, 0),
             nla_u8(vsnl.VCPUSTAT_CONFIG_A_BUDGET, 2)))),
        (errno.ERANGE, "timing_every 65537",
         dict(cmd=vsnl.VCPUSTAT_CMD_SET_CONFIG, attrs=nla_nest(C, nla_u32(
             vsnl.VCPUSTAT_CONFIG_A_TIMING_EVERY, 65537)))),
        (errno.EINVAL, "heartbeat 50 ms beside a valid snapshot",
         dict(cmd=vsnl.VCPUSTAT_CMD_SET_CONFIG, attrs=nla_nest(
             C, nla_u32(vsnl.VCPUSTAT_CONFIG_A_SNAPSHOT_MS, 300),
             nla_u32(vsnl.VCPUSTAT_CONFIG_A_HEARTBEAT_MS, 50)))),
        (errno.ERANGE, "heartbeat over range",
         dict(cmd=vsnl.VCPUSTAT_CMD_SET_CONFIG, attrs=nla_nest(C, nla_u32(
             vsnl.VCPUSTAT_CONFIG_A_HEARTBEAT_MS, 3600001)))),
        (errno.EINVAL, "unknown nested attribute",
         dict(cmd=vsnl.VCPUSTAT_CMD_SET_CONFIG, attrs=nla_nest(
             C, nla_u32(vsnl.VCPUSTAT_CONFIG_A_MAX + 1, 1)))),
        (errno.EINVAL, "reserved header bits",
         dict(cmd=vsnl.VCPUSTAT_CMD_RESET,
              raw=bytes([vsnl.VCPUSTAT_CMD_RESET, 1, 1, 0]))),
        (errno.EINVAL, "truncated attribute",
         dict(cmd=vsnl.VCPUSTAT_CMD_RESET,
              raw=bytes([vsnl.VCPUSTAT_CMD_RESET, 1, 0, 0]) +
              nla_u64(vsnl.VCPUSTAT_A_VM_ID, 1)[:6])),
    ]
    for want, what, kw in cases:
        errs += expect_err(g, want, what, **kw)
    # A header shorter than genlmsghdr must fail, not be read past.
    try:
        g.request(cmd=0, raw=b"\x03")
        errs.append("truncated genl header accepted")
    except NetlinkError as e:
        if e.errno != errno.EINVAL:
            errs.append(f"truncated genl header: {e}")
    if config(g) != before:
        errs.append(f"config changed by rejected requests: {before} -> "
                    f"{config(g)}")
    return errs


def as_user(code, extra=""):
    """Run python @code unprivileged / in another namespace."""
    return sh(f"{extra} python3 -c 'import sys; sys.path.insert(0, "
              f"\"{HERE}\"); import vsnl, errno\n{code}'", check=False)


PRIV_PROBE = """
try:
    g = vsnl.Genl()
except vsnl.NetlinkError as e:
    print("nofamily", e.errno); sys.exit(0)
try:
    vsnl.get_config(g); print("cmd-ok")
except vsnl.NetlinkError as e:
    print("cmd", e.errno)
try:
    vsnl.dump_vcpus(g); print("dump-ok")
except vsnl.NetlinkError as e:
    print("dump", e.errno)
try:
    g.join(); print("join-ok")
except OSError as e:
    print("join", e.errno)
"""


def t_privilege():
    errs, notes = [], []
    eperm = str(errno.EPERM)
    nobody = as_user(PRIV_PROBE, "setpriv --reuid=65534 --regid=65534 "
                     "--clear-groups --inh-caps=-all --bounding-set=-all")
    want = f"cmd {eperm}\ndump {eperm}\njoin {eperm}"
    if nobody.stdout.strip() != want:
        errs.append(f"unprivileged: {nobody.stdout!r} {nobody.stderr!r}")
    userns = as_user(PRIV_PROBE, "unshare --user --map-root-user")
    if userns.stdout.strip() != want:
        errs.append(f"root in a user namespace: {userns.stdout!r} "
                    f"{userns.stderr!r}")
    netns = as_user(PRIV_PROBE, "unshare --net")
    if netns.stdout.strip() != f"nofamily {errno.ENOENT}":
        errs.append(f"another netns: {netns.stdout!r} {netns.stderr!r}")
    return errs, notes


def t_big_dump(g, n):
    """A VM with n vCPUs: the dump spans several messages, all present."""
    errs = []
    drv = Driver("--vcpus", n, "--cpuid", 3, "--io", 2)
    try:
        seq = g.send(g.family, vsnl.NLM_F_DUMP, vsnl.VCPUSTAT_CMD_GET_VCPU,
                     1, nla_u32(vsnl.VCPUSTAT_A_PID, drv.pid))
        batches, got, done = 0, [], False
        while not done:
            msgs = [m for m in g.recv_msgs() if m[2] == seq]
            batches += 1
            for mtype, flags, _, body in msgs:
                if mtype == vsnl.NLMSG_DONE:
                    done = True
                elif mtype == g.family:
                    if flags & vsnl.NLM_F_DUMP_INTR:
                        errs.append("dump interrupted without churn")
                    got.append(vsnl.decode_top(body[0], body[4:]))
        ids = sorted(m["vcpu"]["vcpu_id"] for m in got)
        if ids != list(range(n)):
            errs.append(f"vcpu ids {ids[:5]}..., {len(ids)} of {n}")
        if batches < 2:
            errs.append("dump fit one read: not split")
        if any(m["vcpu"]["exits"] < 6 for m in got):
            errs.append("a vCPU lacks its exits")
    finally:
        drv.stop()
    return errs, batches


BUDGET = "/sys/module/vcpustat/parameters/dump_budget"


def raw_vcpu_dump(g, pid):
    """One GET_VCPU dump of @pid's vCPUs, unjoined: decoded messages."""
    replies, intr = g.request(vsnl.VCPUSTAT_CMD_GET_VCPU,
                              nla_u32(vsnl.VCPUSTAT_A_PID, pid), dump=True)
    return [vsnl.decode_top(c, b) for c, b in replies], intr


def t_split_residency(g):
    """A vCPU whose residency does not fit one message is split at a CPU
    and joins back whole. The rig cannot run a vCPU on the ~430 CPUs that
    overflow a real 16 KiB dump buffer, so the test-only dump_budget
    parameter shrinks the buffer residency may fill: with 1 byte every
    part carries exactly one residency entry, as on a huge host every part
    carries as many as fit."""
    errs = []
    ncpu = os.cpu_count()
    if ncpu < 2:
        return ["needs 2 CPUs to split residency (the rig has 8)"]
    drv = Driver("--vcpus", 2, "--io", 40 * ncpu, "--hop", f"0-{ncpu - 1}",
                 "--hops", ncpu - 1)
    try:
        whole, intr = raw_vcpu_dump(g, drv.pid)
        if len(whole) != 2 or any(m["vcpu"].get("continued")
                                  for m in whole) or intr:
            errs.append(f"unsplit dump: {len(whole)} messages, want 2")
        with open(BUDGET, "w") as f:
            f.write("1")
        try:
            parts, intr = raw_vcpu_dump(g, drv.pid)
        finally:
            with open(BUDGET, "w") as f:
                f.write("0")
        if intr:
            errs.append("split dump interrupted without churn")
        joined, n = vsnl.join_parts(parts)
        want = sum(len(m["vcpu"]["residency"]) for m in whole)
        if len(parts) != want or n != want - 2:
            errs.append(f"{len(parts)} parts ({n} continued), want one "
                        f"per residency entry: {want}")
        if any(len(m["vcpu"]["residency"]) != 1 for m in parts):
            errs.append("a part holds other than one residency entry: " +
                        str([(m["vcpu"]["idx"], m["vcpu"].get("continued"),
                              sorted(m["vcpu"]["residency"]))
                             for m in parts]))
        if any(m["vcpu"].get("continued") and "exits" in m["vcpu"]
               for m in parts):
            errs.append("a continued part repeats the counters")
        # The parked vCPUs' budgets move with the clock alone (the open
        # interval grows between the two dumps): compared without them.
        for m in joined + whole:
            m["vcpu"].pop("budget", None)
        if joined != whole:
            errs.append(f"joined parts differ from the whole: {joined} "
                        f"vs {whole}")
        for m in whole:
            v = m["vcpu"]
            if sum(v["residency"].values()) != v["exits"] or \
                    len(v["residency"]) != ncpu:
                errs.append(f"vCPU {v['idx']}: residency {v['residency']}"
                            f" vs {v['exits']} exits on {ncpu} CPUs")
        # The tool reassembles the same parts (vsnl.c).
        with open(BUDGET, "w") as f:
            f.write("1")
        try:
            r = sh(f"{TOP}/user/vcpustat dump -j --pid {drv.pid}",
                   check=False)
        finally:
            with open(BUDGET, "w") as f:
                f.write("0")
        if r.returncode:
            errs.append(f"vcpustat dump -j: exit {r.returncode}: "
                        f"{r.stderr.strip()}")
        else:
            tool = {(c["idx"], x["cpu"]): x["exits"]
                    for vm in json.loads(r.stdout)["vms"]
                    for c in vm["vcpus"] for x in c["residency"]}
            mine = {(m["vcpu"]["idx"], c): n for m in whole
                    for c, n in m["vcpu"]["residency"].items()}
            if tool != mine:
                errs.append(f"vcpustat dump -j residency {tool} != {mine}")
    finally:
        drv.stop()
    return errs, f"{len(parts)} messages for 2 vCPUs on {ncpu} CPUs"


class Listener:
    """Events of the group, collected in a thread."""

    def __init__(self):
        self.g = vsnl.Genl()
        self.g.join()
        self.ev, self.errs = [], []
        self.stop_ev = threading.Event()
        self.th = threading.Thread(target=self.run)
        self.th.start()

    def run(self):
        while not self.stop_ev.is_set():
            try:
                msgs = self.g.recv_msgs(timeout=0.2)
            except TimeoutError:
                continue
            except OSError as e:
                self.errs.append(e.errno)
                continue
            now = time.monotonic()
            for t, _, _, b in msgs:
                if t == self.g.family:
                    e = vsnl.decode_top(b[0], b[4:])
                    e["t"] = now
                    self.ev.append(e)

    def deltas(self, pid, since=0.0):
        return [e for e in list(self.ev)
                if e["cmd"] == vsnl.VCPUSTAT_CMD_DELTA_NTF and
                e.get("pid") == pid and e["t"] >= since]

    def close(self):
        self.stop_ev.set()
        self.th.join()
        self.g.close()


def wait_for(cond, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def t_delta_after_reset(g):
    """A RESET applied at the vCPU's next exit, long before the next DELTA
    check: that DELTA must count every exit since the reset, exactly (it
    said exits - baseline before)."""
    errs = []
    ncpu = os.cpu_count()
    vsnl.set_config(g, snapshot_ms=100)
    ls = Listener()
    d = tempfile.mkdtemp(prefix="vs-")
    ready = os.path.join(d, "ready")
    hop = ["--hop", "0,1", "--hops", 4] if ncpu >= 2 else []
    argv = [DRIVER, "--vcpus", 1, "--cpuid", 500, "--io", 100, *hop,
            "--seconds", 4, "--hold", "--ready-file", ready,
            "--json", os.path.join(d, "r.json")]
    p = subprocess.Popen([str(x) for x in argv], stderr=subprocess.PIPE,
                         text=True)
    base = after = None
    try:
        if not wait_for(lambda: ls.deltas(p.pid), 30):
            return ["no DELTA while the vCPU ran"]
        # Freeze the DELTA checks (the baseline stays), let a tick that
        # may be under way finish, then reset while the vCPU runs.
        vsnl.set_config(g, snapshot_ms=0)
        time.sleep(0.3)
        t_frozen = time.monotonic()
        # The baseline: everything the DELTAs so far reported.
        base = sum(e["vcpu"]["exits"] for e in ls.deltas(p.pid))
        (vm_id,) = vm_exits(g, p.pid)
        g.request(vsnl.VCPUSTAT_CMD_RESET, nla_u64(vsnl.VCPUSTAT_A_VM_ID,
                                                   vm_id))
        if not wait_for(lambda: os.path.exists(ready) or
                        p.poll() is not None, 120) or p.poll() is not None:
            return [f"driver failed: {p.stderr.read() if p.stderr else ''}"]
        (m,) = vsnl.dump_vcpus(g, nla_u32(vsnl.VCPUSTAT_A_PID, p.pid))
        after = m["vcpu"]
        if after["exits"] <= base:
            errs.append(f"only {after['exits']} exits after the reset, "
                        f"baseline {base}: the test proves nothing")
        t0 = time.monotonic()
        vsnl.set_config(g, snapshot_ms=100)
        if not wait_for(lambda: ls.deltas(p.pid, t0), 10):
            errs.append("no DELTA after snapshot_ms went back to 100")
        else:
            dv = ls.deltas(p.pid, t0)[0]["vcpu"]
            for k in ("exits", "migrations", "timed_exits",
                      "exit_time_ns"):
                if dv.get(k) != after[k]:
                    errs.append(f"DELTA {k} {dv.get(k)} != {after[k]} "
                                f"counted since the reset (baseline "
                                f"{base})")
        if [e for e in ls.deltas(p.pid, t_frozen) if e["t"] < t0]:
            errs.append("DELTAs while snapshot_ms was 0")
    finally:
        p.send_signal(signal.SIGUSR1)
        p.wait(timeout=120)
        ls.close()
        vsnl.set_config(g, snapshot_ms=1000)
    return errs, f"baseline {base}, {after and after['exits']} exits " \
        "after the reset"


def t_delta_only_changed(g):
    """Idle vCPUs send no DELTA at all, busy ones do; heartbeat_ms sends
    all-zero DELTAs of idle vCPUs, and only then."""
    errs = []
    HB = vsnl.VCPUSTAT_CONFIG_A_HEARTBEAT_MS
    has_hb = HB in config(g)
    vsnl.set_config(g, snapshot_ms=100)
    ls = Listener()
    idle = Driver("--vcpus", 4, "--cpuid", 10)
    busy = None
    try:
        # The idle VM's first DELTAs (its initial work) come and go.
        wait_for(lambda: len(ls.deltas(idle.pid)) >= 4, 10)
        time.sleep(0.5)
        t0 = time.monotonic()
        busy = subprocess.Popen([DRIVER, "--vcpus", "2", "--cpuid", "200",
                                 "--seconds", "1.5"],
                                stdout=subprocess.PIPE, text=True)
        out, _ = busy.communicate(timeout=300)
        bpid = json.loads(out)["pid"]
        time.sleep(0.5)
        t1 = time.monotonic()
        quiet = ls.deltas(idle.pid, t0)
        if quiet:
            errs.append(f"{len(quiet)} DELTAs of idle vCPUs in "
                        f"{t1 - t0:.1f} s, want 0")
        loud = ls.deltas(bpid)
        per = {e["vcpu"]["idx"] for e in loud}
        if per != {0, 1} or any(not e["vcpu"]["exits"] and
                                not e["vcpu"]["exit_time_ns"]
                                for e in loud):
            errs.append(f"busy vCPUs: {len(loud)} DELTAs from {per}, "
                        f"want non-empty ones from both")
        if not has_hb:
            errs.append("GET_CONFIG has no heartbeat_ms")
            return errs
        vsnl.set_config(g, heartbeat_ms=300)
        if config(g).get(HB) != 300:
            errs.append("GET_CONFIG does not show heartbeat_ms 300")
        t2 = time.monotonic()
        time.sleep(1.5)
        hb = ls.deltas(idle.pid, t2)
        idx = sorted(e["vcpu"]["idx"] for e in hb)
        if not all(2 <= idx.count(i) <= 6 for i in range(4)) or \
                any(e["vcpu"][k] for e in hb for k in
                    ("exits", "migrations", "exit_time_ns", "timed_exits")):
            errs.append(f"heartbeat 300 ms over 1.5 s: {len(hb)} DELTAs "
                        f"by idx {idx}, want 2..6 all-zero per vCPU")
        vsnl.set_config(g, heartbeat_ms=0)
        time.sleep(0.3)
        t3 = time.monotonic()
        time.sleep(1.0)
        if ls.deltas(idle.pid, t3):
            errs.append("DELTAs of idle vCPUs after heartbeat_ms=0")
        if ls.errs:
            errs.append(f"listener overruns: {ls.errs}")
    finally:
        idle.stop()
        ls.close()
        vsnl.set_config(g, snapshot_ms=1000)
        if has_hb:
            vsnl.set_config(g, heartbeat_ms=0)
    return errs


def t_unload_under_load(g_unused):
    """rmmod/insmod while VMs run, dumps loop and a listener is joined."""
    errs = []
    stop = threading.Event()

    def dumper():
        while not stop.is_set():
            try:
                g = vsnl.Genl()
                vsnl.dump_vcpus(g)
                g.close()
            except Exception:
                time.sleep(0.01)

    def listener():
        while not stop.is_set():
            try:
                g = vsnl.Genl()
                g.join()
                end = time.time() + 1
                while time.time() < end and not stop.is_set():
                    try:
                        g.recv_msgs(timeout=0.1)
                    except TimeoutError:
                        pass
                g.close()
            except Exception:
                time.sleep(0.01)
    load = subprocess.Popen([DRIVER, "--vcpus", "2", "--cpuid", "200",
                             "--io", "100", "--hop", "0-1", "--hops", "2",
                             "--seconds", "8"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    threads = [threading.Thread(target=f) for f in (dumper, dumper,
                                                     listener)]
    for t in threads:
        t.start()
    cycles = 0
    try:
        end = time.time() + 6
        while time.time() < end:
            time.sleep(0.7)
            # A dump in flight pins the module: rmmod may say busy.
            for _ in range(50):
                if sh("rmmod vcpustat", check=False).returncode == 0:
                    break
                time.sleep(0.05)
            else:
                errs.append("rmmod never succeeded under load")
                break
            module_load()
            cycles += 1
    finally:
        stop.set()
        for t in threads:
            t.join()
    if load.wait(timeout=120):
        errs.append(f"driver failed under unload: {load.stderr.read()}")
    # After the storm the module still counts exactly.
    g = vsnl.Genl()
    errs += t_exact(g, 2, ["--cpuid", 100, "--io", 50])
    return errs, cycles


def t_overflow():
    """max_vcpus=2 and a 3-vCPU VM: the third vCPU is not tracked, and its
    exits, exactly as many as tracefs saw from its thread, are counted as
    OVERFLOW and as the VM's UNTRACKED_EXITS (entries are not exits)."""
    errs = []
    hist = ExitHist()
    sh("rmmod vcpustat", check=False)
    sh(f"insmod {KO} max_vcpus=2")
    try:
        g = vsnl.Genl()
        drv = Driver("--vcpus", 3, "--cpuid", 100, "--io", 50)
        try:
            st = status(g)
            vms = [vm for vm in vsnl.dump_vms(g) if vm["pid"] == drv.pid]
            tracked = dump_by_tid(g, drv.pid)
            trace = hist.read()
            untracked = {v["tid"] for _, v in drv.vcpus()} - set(tracked)
            lost = sum(n for (tid, _), n in trace.items()
                       if tid in untracked)
            over = st[vsnl.VCPUSTAT_STATUS_A_OVERFLOW]
            if st[vsnl.VCPUSTAT_STATUS_A_VCPUS] != 2 or len(tracked) != 2:
                errs.append(f"tracked {st[vsnl.VCPUSTAT_STATUS_A_VCPUS]}")
            if lost < 150 or over != lost or \
                    vms[0]["untracked_exits"] != lost:
                errs.append(f"overflow {over} untracked "
                            f"{vms[0]['untracked_exits']}, tracefs {lost}")
            print(f"# untracked vCPU: {lost} exits (tracefs), "
                  f"overflow {over}")
            # A reset zeroes the VM's untracked count too.
            g.request(vsnl.VCPUSTAT_CMD_RESET,
                      nla_u64(vsnl.VCPUSTAT_A_VM_ID, vms[0]["vm_id"]))
            left = [vm["untracked_exits"] for vm in vsnl.dump_vms(g)
                    if vm["pid"] == drv.pid]
            if left != [0]:
                errs.append(f"untracked exits after reset: {left}")
        finally:
            drv.stop()
    finally:
        module_load()
    return errs


def t_pool_dry():
    """pool_vcpus=1 and an 8-vCPU VM: first sight finds the record pool
    empty for some vCPUs until the refill. Nothing is lost: tracked exits
    plus the VM's untracked exits (== the module's nomem exits) equal what
    tracefs saw from the driver's threads, every vCPU has a record in the
    end, and no exit is blamed on the cap."""
    errs = []
    hist = ExitHist()
    sh("rmmod vcpustat", check=False)
    sh(f"insmod {KO} pool_vcpus=1")
    try:
        g = vsnl.Genl()
        before = hist.read()
        # rounds for 2 s: a vCPU that finished all its work before the
        # refill ran would never have a record (seen on sid's kernel)
        drv = Driver("--vcpus", 8, "--cpuid", 200, "--io", 50,
                     "--seconds", 2)
        try:
            tids = {v["tid"] for _, v in drv.vcpus()}
            trace = hist.read()
            traced = sum(n - before.get(k, 0) for k, n in trace.items()
                         if k[0] in tids)
            tracked = dump_by_tid(g, drv.pid)
            mine = sum(v["vcpu"]["exits"] for v in tracked.values())
            vms = [vm for vm in vsnl.dump_vms(g) if vm["pid"] == drv.pid]
            st = status(g)
            nomem = st[vsnl.VCPUSTAT_STATUS_A_NOMEM_EXITS]
            if len(vms) != 1 or mine + vms[0]["untracked_exits"] != traced:
                errs.append(f"tracked {mine} + untracked "
                            f"{vms[0]['untracked_exits'] if vms else '?'}"
                            f" != tracefs {traced}")
            if vms and vms[0]["untracked_exits"] != nomem:
                errs.append(f"VM untracked {vms[0]['untracked_exits']} != "
                            f"module nomem {nomem}")
            if st[vsnl.VCPUSTAT_STATUS_A_OVERFLOW]:
                errs.append("exits counted as cap overflow")
            if set(tracked) != tids:
                errs.append(f"vCPUs with a record {sorted(tracked)}, "
                            f"want {sorted(tids)}")
            note = f"{nomem} exits met an empty pool"
        finally:
            drv.stop()
    finally:
        module_load()
    return errs, note


def t_failed_load(n=20):
    """test_fail_init=1 fails the load at its last step while a thread
    keeps asking for the family: every load fails with EAGAIN, the family
    never answers (it is registered last), and nothing is left behind (no
    module, no vcpustat_vcpu slab cache). Then a normal load counts
    exactly."""
    errs = []
    sh("rmmod vcpustat", check=False)
    stop = threading.Event()
    seen = []

    def asker():
        while not stop.is_set():
            try:
                g = vsnl.Genl()
                seen.append(len(vsnl.dump_vms(g)))
                g.close()
            except Exception:
                pass
    th = threading.Thread(target=asker)
    th.start()
    try:
        for _ in range(n):
            r = sh(f"insmod {KO} test_fail_init=1", check=False)
            if r.returncode == 0 or "Resource temporarily" not in r.stderr:
                errs.append(f"insmod test_fail_init=1: rc {r.returncode} "
                            f"{r.stderr.strip()}")
                break
    finally:
        stop.set()
        th.join()
    if seen:
        errs.append(f"the family answered {len(seen)} requests "
                    "during failed loads")
    if sh("lsmod", check=False).stdout.count("vcpustat"):
        errs.append("module still loaded")
    with open("/proc/slabinfo") as f:
        if "vcpustat_vcpu" in f.read():
            errs.append("vcpustat_vcpu slab cache left behind")
    module_load()
    errs += t_exact(vsnl.Genl(), 1, ["--cpuid", 100, "--io", 30])
    return errs, f"{n} failed loads"


def kprobes_enabled(on):
    with open("/sys/kernel/debug/kprobes/enabled", "w") as f:
        f.write("1" if on else "0")


def t_churn_no_kprobes(g, n):
    """kprobes disabled globally: the kvm_destroy_vm hook never fires. A
    churn of n one-vCPU VMs in one process (KVM reuses the same
    addresses) must still give n VMs (not one record for all), each with
    its own exits, and the dead VMs' records must come back (found stale
    when their addresses are reused, or once the process is gone and they
    are idle) with every exit accounted for."""
    errs = []
    hist = ExitHist()
    before = sum(hist.read().values())
    st0 = status(g)
    lg = vsnl.Genl()
    lg.join()
    ev = []
    stop = threading.Event()

    def listen():
        while not stop.is_set():
            try:
                msgs = lg.recv_msgs(timeout=0.2)
            except (TimeoutError, OSError):
                continue
            ev.extend(vsnl.decode_top(b[0], b[4:])
                      for t, _, _, b in msgs if t == lg.family)
    th = threading.Thread(target=listen)
    th.start()
    kprobes_enabled(False)
    try:
        r = subprocess.run([DRIVER, "--churn", str(n), "--cpuid", "20",
                            "--io", "5"], capture_output=True, text=True,
                           timeout=900)
        if r.returncode:
            return [f"driver failed: {r.stderr}"]
        pid = json.loads(r.stdout)["pid"]
        # The driver has exited: within 2 s its idle VMs are orphans.
        time.sleep(3)
    finally:
        kprobes_enabled(True)
        stop.set()
        th.join()
        lg.close()
    traced = sum(hist.read().values()) - before
    gone = [e["vm"] for e in ev if e["cmd"] == vsnl.VCPUSTAT_CMD_VM_GONE_NTF
            and e["vm"]["pid"] == pid]
    left = [vm for vm in vsnl.dump_vms(g) if vm["pid"] == pid]
    st = status(g)
    seen = st[vsnl.VCPUSTAT_STATUS_A_VMS_SEEN] - \
        st0[vsnl.VCPUSTAT_STATUS_A_VMS_SEEN]
    stale = st[vsnl.VCPUSTAT_STATUS_A_STALE_VMS] - \
        st0[vsnl.VCPUSTAT_STATUS_A_STALE_VMS]
    if seen != n:
        errs.append(f"{seen} VMs seen for {n} created")
    total = sum(vm["exits"] for vm in gone + left)
    if total != traced:
        errs.append(f"exits of gone + tracked VMs {total} != tracefs {traced}")
    per = sorted(vm["exits"] for vm in gone + left)
    if per and per[-1] >= 2 * per[0]:
        errs.append(f"a VM holds another's exits: {per[0]}..{per[-1]}")
    if left:
        errs.append(f"{len(left)} dead VMs still tracked (records not "
                    "reclaimed)")
    return errs, f"{stale} stale VMs reclaimed, {len(left)} still tracked"


def destroy_hook():
    with open("/sys/module/vcpustat/parameters/destroy_hook") as f:
        return f.read().strip()


def kvm_debugfs_dirs(pid):
    try:
        return [d for d in os.listdir("/sys/kernel/debug/kvm")
                if d.startswith(f"{pid}-")]
    except OSError:
        return None


def t_next_vm_debugfs():
    """Hooked lifecycle (default): the module pins no VM, so a process that
    closes a VM and creates the next one gets KVM's debugfs directory
    "<pid>-<fd>" for it (RELIABILITY.md F2)."""
    drv = Driver("--churn", 3, "--vcpus", 1, "--cpuid", 10)
    try:
        time.sleep(0.5)
        dirs = kvm_debugfs_dirs(drv.pid)
    finally:
        drv.stop()
    if dirs is None:
        return [], "no /sys/kernel/debug/kvm: not checked"
    if len(dirs) != 1:
        return [f"held VM after 3 back-to-back VMs: debugfs {dirs}"]
    return [], f"held VM's debugfs: {dirs}"


def t_pinned_lifecycle(g0):
    """destroy_hook=N: the fallback lifecycle (a reference per VM, the
    sweep). Exact counts and a 100-VM churn as in the default mode."""
    errs = []
    sh("rmmod vcpustat", check=False)
    sh(f"insmod {KO} destroy_hook=0")
    try:
        if destroy_hook() != "N":
            errs.append(f"destroy_hook reads {destroy_hook()}, want N")
        g = vsnl.Genl()
        errs += t_exact(g, 2, ["--cpuid", 300, "--io", 100])
        errs += t_churn(g, 100)
    finally:
        module_load()
    if destroy_hook() != "Y":
        errs.append("default load: destroy_hook is not Y")
    return errs


def main():
    names = ["module_loads", "exact_counts_1vcpu", "exact_counts_2vcpus",
             "exact_counts_8vcpus", "migrations_exact_by_distance",
             "exit_times_and_histogram", "timing_off_exact_untimed",
             "timing_every_samples",
             "vm_identity", "reset_scope",
             "bad_input_rejected_with_extack", "privilege_and_netns",
             "dump_split_64_vcpus", "dump_split_residency",
             "events_stream", "delta_exact_after_reset",
             "delta_only_changed_vcpus", "churn_1000_vms",
             "tracked_vcpu_cap_overflow", "next_vm_has_kvm_debugfs",
             "pinned_lifecycle_fallback", "empty_pool_loses_no_exit",
             "failed_load_leaves_nothing", "churn_without_kprobes",
             "unload_reload_under_load"]
    k = Ktap(names)
    if os.geteuid():
        k.skip_rest("must run as root")
        return 4
    if not os.path.exists("/dev/kvm"):
        k.skip_rest("no /dev/kvm (modprobe kvm_amd / kvm_intel)")
        return 4
    if not os.path.exists(KO) or not os.path.exists(DRIVER):
        k.skip_rest(f"missing {KO} or {DRIVER}")
        return 4
    try:
        module_load()
        g = vsnl.Genl()
    except Exception as e:
        k.result("module_loads", False, e)
        k.skip_rest("module did not load")
        return 1
    # The kprobe on kvm_destroy_vm must take on these kernels.
    hook = destroy_hook()
    k.result("module_loads", hook == "Y",
             None if hook == "Y" else f"destroy_hook={hook}, want Y: dmesg")

    only = set(filter(None, os.environ.get("VCPUSTAT_TESTS", "").split(",")))

    def run(name, fn, *a):
        if only and name not in only:
            k.result(name, True, skip="not selected (VCPUSTAT_TESTS)")
            return None
        try:
            out = fn(*a)
            errs, note = out if isinstance(out, tuple) else (out, None)
        except Exception as e:
            errs, note = [f"exception: {e!r}"], None
        k.result(name, not errs, "\n".join(errs) +
                 (f"\n{note}" if note else ""))
        return note

    run("exact_counts_1vcpu", t_exact, g, 1,
        ["--io", 3000, "--cpuid", 2000, "--hlt", 100, "--rdmsr", 300,
         "--wrmsr", 200, "--mmio", 50])
    run("exact_counts_2vcpus", t_exact, g, 2,
        ["--io", 1000, "--cpuid", 5000, "--rdmsr", 100])
    run("exact_counts_8vcpus", t_exact, g, 8,
        ["--io", 500, "--cpuid", 500, "--hlt", 20, "--wrmsr", 50])
    ncpu = os.cpu_count()
    res = None

    def mig():
        nonlocal res
        errs, classes = t_migrations(g, list(range(ncpu)))
        res = classes
        return errs, f"distance classes exercised: {classes}"
    run("migrations_exact_by_distance", mig)
    run("exit_times_and_histogram", t_timing, g)
    run("timing_off_exact_untimed", t_timing_switch, g)
    run("timing_every_samples", t_timing_sampled, g)
    run("vm_identity", t_identity, g)
    run("reset_scope", t_reset, g)
    run("bad_input_rejected_with_extack", t_bad_input, g)
    run("privilege_and_netns", t_privilege)
    run("dump_split_64_vcpus", lambda: (lambda e, b: (
        e, f"{b} reads"))(*t_big_dump(g, 64)))
    run("dump_split_residency", t_split_residency, g)
    run("events_stream", t_events, g)
    run("delta_exact_after_reset", t_delta_after_reset, g)
    run("delta_only_changed_vcpus", t_delta_only_changed, g)
    run("churn_1000_vms", t_churn, g, 1000)
    run("tracked_vcpu_cap_overflow", t_overflow)
    run("next_vm_has_kvm_debugfs", t_next_vm_debugfs)
    run("pinned_lifecycle_fallback", t_pinned_lifecycle, g)
    run("empty_pool_loses_no_exit", t_pool_dry)
    run("failed_load_leaves_nothing", t_failed_load)
    g = vsnl.Genl()
    run("churn_without_kprobes", t_churn_no_kprobes, g, 200)
    g = vsnl.Genl()
    run("unload_reload_under_load", lambda: (lambda e, c: (
        e, f"{c} unload/reload cycles"))(*t_unload_under_load(g)))
    sh("rmmod vcpustat", check=False)
    return 1 if k.failed else 0


if __name__ == "__main__":
    sys.exit(main())
