# SPDX-License-Identifier: GPL-2.0
"""Shared helpers for vcpustat's reliability campaigns (selftests/*_stress.py,
nl_fuzz.py; entry point selftests/stress_test.sh).

Everything here runs as root inside a kernel that has the vcpustat module
(the QEMU rig or a real KVM host). Mode: quick by default (each campaign
well under a minute in the rig), long when VCPUSTAT_STRESS=1.

Ground truth comes from outside the module wherever possible: the workload
driver's report (exact exits), tracefs (kvm_exit hist triggers), KVM's
debugfs (one directory per live struct kvm), /proc/slabinfo and
/proc/vmallocinfo (memory), /sys/module/vcpustat/refcnt (module pins).
"""
import errno
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import vsnl  # noqa: E402

LONG = os.environ.get("VCPUSTAT_STRESS", "0") not in ("", "0")
MODE = "long" if LONG else "quick"
KO = os.environ.get("VCPUSTAT_KO") or \
    os.path.join(TOP, "build", os.uname().release, "vcpustat.ko")
DRIVER = os.environ.get("VCPUSTAT_WORKLOAD") or \
    os.path.join(HERE, "kvm_workload")
TOOL = os.environ.get("VCPUSTAT") or os.path.join(TOP, "user", "vcpustat")
TRACING = "/sys/kernel/tracing"
KVM_DEBUGFS = "/sys/kernel/debug/kvm"

STATUS_NAMES = {
    vsnl.VCPUSTAT_STATUS_A_VERSION: "version",
    vsnl.VCPUSTAT_STATUS_A_VMS: "vms",
    vsnl.VCPUSTAT_STATUS_A_VCPUS: "vcpus",
    vsnl.VCPUSTAT_STATUS_A_MAX_VCPUS: "max_vcpus",
    vsnl.VCPUSTAT_STATUS_A_VMS_SEEN: "vms_seen",
    vsnl.VCPUSTAT_STATUS_A_OVERFLOW: "overflow",
    vsnl.VCPUSTAT_STATUS_A_ALLOC_FAIL: "alloc_fail",
    vsnl.VCPUSTAT_STATUS_A_EVENTS_SENT: "events_sent",
    vsnl.VCPUSTAT_STATUS_A_EVENTS_LOST: "events_lost",
    vsnl.VCPUSTAT_STATUS_A_MIGR_SUPPRESSED: "migr_suppressed",
    vsnl.VCPUSTAT_STATUS_A_GENERATION: "generation",
    vsnl.VCPUSTAT_STATUS_A_BAD_LAYOUT: "bad_layout",
    vsnl.VCPUSTAT_STATUS_A_NOMEM_EXITS: "nomem_exits",
    vsnl.VCPUSTAT_STATUS_A_STALE_VMS: "stale_vms",
}
CONFIG_NAMES = {
    vsnl.VCPUSTAT_CONFIG_A_SNAPSHOT_MS: "snapshot_ms",
    vsnl.VCPUSTAT_CONFIG_A_TIMING: "timing",
    vsnl.VCPUSTAT_CONFIG_A_MIGR_RATE: "migr_rate",
    vsnl.VCPUSTAT_CONFIG_A_TIMING_EVERY: "timing_every",
    vsnl.VCPUSTAT_CONFIG_A_HEARTBEAT_MS: "heartbeat_ms",
    vsnl.VCPUSTAT_CONFIG_A_BUDGET: "budget",
    vsnl.VCPUSTAT_CONFIG_A_DETAIL: "detail",
    vsnl.VCPUSTAT_CONFIG_A_DETAIL_K: "detail_k",
}


def log(msg):
    """A KTAP diagnostic line, flushed at once (the rig streams output)."""
    for line in str(msg).splitlines() or [""]:
        print(f"# {line}")
    sys.stdout.flush()


class Ktap:
    """KTAP v1 output for one campaign; exit code per kselftest."""

    def __init__(self, name, names):
        self.names = list(names)
        self.n = 0
        self.failed = 0
        self.skipped = 0
        self.t0 = time.time()
        print("KTAP version 1")
        print(f"# {name} ({MODE} mode)")
        print(f"1..{len(self.names)}")
        sys.stdout.flush()

    def result(self, name, ok, diag=None, skip=None, todo=None):
        assert name == self.names[self.n], (name, self.names[self.n])
        self.n += 1
        if diag:
            lines = [x for x in str(diag).splitlines() if x.strip()]
            for line in lines[:40]:
                print(f"# {line}")
            if len(lines) > 40:
                print(f"# ... {len(lines) - 40} more lines")
        if skip:
            self.skipped += 1
            print(f"ok {self.n} {name} # SKIP {skip}")
        elif ok:
            print(f"ok {self.n} {name}")
        elif todo:
            # A known, documented defect: shown, not counted as a failure.
            print(f"not ok {self.n} {name} # TODO {todo}")
        else:
            self.failed += 1
            print(f"not ok {self.n} {name}")
        sys.stdout.flush()

    def skip_rest(self, reason):
        while self.n < len(self.names):
            self.result(self.names[self.n], True, skip=reason)

    def run(self, name, fn, *args, todo=None):
        """Run fn(*args) -> errs or (errs, note); exceptions fail the test.
        @todo names a known defect: a failure is reported as KTAP TODO."""
        t = time.time()
        try:
            out = fn(*args)
            errs, note = out if isinstance(out, tuple) else (out, None)
        except Exception as e:  # noqa: BLE001 - a campaign must go on
            import traceback
            errs = [f"exception: {e!r}"] + \
                traceback.format_exc().splitlines()[-6:]
            note = None
        dt = time.time() - t
        diag = "\n".join(errs)
        if isinstance(note, (list, tuple)):
            note = "\n".join(note)
        if note:
            diag += "\n" + note
        diag += f"\n{name}: {dt:.1f} s"
        self.result(name, not errs, diag, todo=todo)
        return errs, note

    def finish(self):
        log(f"campaign time {time.time() - self.t0:.1f} s; "
            f"{self.n - self.failed - self.skipped} passed, "
            f"{self.failed} failed, {self.skipped} skipped")
        if self.failed:
            return 1
        if self.skipped == len(self.names):
            return 4
        return 0


def preflight(need_module=True):
    """None if a campaign can run, else the reason to skip it."""
    if os.geteuid():
        return "must run as root"
    if not os.path.exists("/dev/kvm"):
        return "no /dev/kvm (modprobe kvm_amd / kvm_intel)"
    if not os.access(DRIVER, os.X_OK):
        return f"{DRIVER} missing: make -C selftests"
    if need_module and not module_loaded():
        if not os.path.exists(KO):
            return f"vcpustat not loaded and no {KO}"
        r = sh(f"insmod {KO}")
        if r.returncode:
            return f"insmod {KO}: {r.stderr.strip()}"
    return None


def sh(cmd, timeout=600):
    return subprocess.run(cmd, shell=True, text=True, capture_output=True,
                          timeout=timeout)


# ------------------------------------------------------------------ module

def module_loaded():
    return os.path.isdir("/sys/module/vcpustat")


def module_refcnt():
    try:
        return int(open("/sys/module/vcpustat/refcnt").read())
    except OSError:
        return None


RMMOD_STACKS = {}     # kernel stack of a running rmmod -> samples


def _rmmod_once():
    """One rmmod; while it runs, sample its kernel stack (where a slow
    module exit spends its time) into RMMOD_STACKS."""
    p = subprocess.Popen(["rmmod", "vcpustat"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    next_report = t0 + 20
    while True:
        try:
            p.wait(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            pass
        now = time.time()
        if now > next_report:
            # A module exit that does not finish: say where it is.
            next_report = now + 20
            try:
                stack = open(f"/proc/{p.pid}/stack").read()
                state = [ln for ln in open(f"/proc/{p.pid}/status")
                         if ln.startswith("State")]
            except OSError:
                stack, state = "?", []
            log(f"rmmod running for {now - t0:.0f} s, {state}; stack:\n"
                f"{stack}")
            if now - t0 > 60:
                dump_blocked_tasks()
            if now - t0 > 150:
                log("giving up on this rmmod (left running)")
                return 99, "rmmod hung"
        try:
            frames = [ln.split()[1].split("+")[0] for ln in
                      open(f"/proc/{p.pid}/stack").read().splitlines()]
        except (OSError, IndexError):
            continue
        key = " < ".join(f for f in frames[:8]
                         if not f.startswith(("__", "entry_", "do_syscall",
                                              "x64_sys")))
        RMMOD_STACKS[key] = RMMOD_STACKS.get(key, 0) + 1
    return p.returncode, p.stderr.read().strip()


def dump_blocked_tasks():
    """sysrq-w (tasks in D state) and sysrq-l (CPU backtraces) into the
    kernel log, then the new part of that log into ours."""
    before = len(subprocess.run(["dmesg"], capture_output=True,
                                text=True).stdout.splitlines())
    for key in "wl":
        try:
            with open("/proc/sysrq-trigger", "w") as f:
                f.write(key)
        except OSError:
            pass
    time.sleep(1)
    lines = subprocess.run(["dmesg"], capture_output=True,
                           text=True).stdout.splitlines()[before:]
    log("kernel log after sysrq-w/l:\n" + "\n".join(lines[-150:]))


def rmmod(timeout=30.0):
    """rmmod, retrying while busy (a dump in flight pins the module).
    Returns (ok, attempts, last error text); per-attempt durations in
    RMMOD_TIMES."""
    deadline = time.time() + timeout
    attempts, last = 0, ""
    while True:
        attempts += 1
        t = time.time()
        rc, err = _rmmod_once()
        RMMOD_TIMES.append(round(time.time() - t, 2))
        if rc == 0:
            return True, attempts, ""
        last = err
        if not module_loaded():
            return True, attempts, last
        if time.time() > deadline:
            return False, attempts, last
        time.sleep(0.02)


RMMOD_TIMES = []


def insmod(*params):
    r = sh(f"insmod {KO} {' '.join(params)}")
    if r.returncode:
        raise RuntimeError(f"insmod {KO} {' '.join(params)}: "
                           f"{r.stderr.strip()}")


def reload(*params):
    ok, attempts, last = rmmod()
    if not ok:
        raise RuntimeError(f"rmmod failed after {attempts} tries: {last}")
    insmod(*params)
    return attempts


def genl(retries=50):
    """A vsnl.Genl, retried for a moment while the family (re)appears."""
    for i in range(retries):
        try:
            return vsnl.Genl()
        except vsnl.NetlinkError:
            if i == retries - 1:
                raise
            time.sleep(0.1)


def status(g=None):
    own = g is None
    g = g or genl()
    try:
        st = vsnl.get_config(g)["status"]
    finally:
        if own:
            g.close()
    return {STATUS_NAMES.get(k, k): v for k, v in st.items()}


def config(g=None):
    own = g is None
    g = g or genl()
    try:
        c = vsnl.get_config(g)["config"]
    finally:
        if own:
            g.close()
    return {CONFIG_NAMES.get(k, k): v for k, v in c.items()}


set_config = vsnl.set_config


def vms(g):
    return vsnl.dump_vms(g)


def wait_until(pred, timeout, interval=0.1):
    """Poll pred() until true or timeout; returns (value, seconds waited)."""
    t0 = time.time()
    while True:
        v = pred()
        if v or time.time() - t0 > timeout:
            return v, time.time() - t0
        time.sleep(interval)


def drained(pids, timeout=120):
    """Wait until the module tracks no VM of @pids and KVM has freed every
    struct kvm of them (their debugfs directories are gone). Returns
    (errors, seconds)."""
    pids = set(pids)

    def done():
        try:
            g = genl(retries=5)
            left = [vm for vm in vms(g) if vm["pid"] in pids]
            g.close()
        except Exception:  # noqa: BLE001 - module reloading
            return False
        return not left and not kvm_debugfs_vms(pids)
    ok, waited = wait_until(done, timeout, 0.2)
    if ok:
        return [], waited
    errs = []
    try:
        g = genl(retries=5)
        left = [vm for vm in vms(g) if vm["pid"] in pids]
        g.close()
        if left:
            errs.append(f"{len(left)} VMs of finished processes still "
                        f"tracked after {timeout} s, e.g. {left[:2]}")
    except Exception as e:  # noqa: BLE001
        errs.append(f"cannot dump: {e}")
    d = kvm_debugfs_vms(pids)
    if d:
        errs.append(f"{len(d)} struct kvm of finished processes still "
                    f"alive (debugfs {d[:5]})")
    return errs, waited


def consistency(g):
    """Module-wide counts agree with a dump of the VMs."""
    st = status(g)
    vl = vms(g)
    errs = []
    if st["vms"] != len(vl):
        errs.append(f"status VMS {st['vms']} != {len(vl)} VMs dumped")
    if st["vcpus"] != sum(vm["nr_vcpus"] for vm in vl):
        errs.append(f"status VCPUS {st['vcpus']} != sum of nr_vcpus "
                    f"{sum(vm['nr_vcpus'] for vm in vl)}")
    return errs


# ------------------------------------------------------------------ memory

def slab_shrink():
    """Flush per-CPU and partial slabs of the caches we compare, so that
    active_objs counts objects in use rather than cached slabs."""
    base = "/sys/kernel/slab"
    try:
        names = os.listdir(base)
    except OSError:
        return
    for n in names:
        if MEM_CACHES.match(n):
            try:
                with open(f"{base}/{n}/shrink", "w") as f:
                    f.write("1")
            except OSError:
                pass


def slabinfo(shrink=False):
    """{cache: (active_objs, objsize)} from /proc/slabinfo."""
    if shrink:
        slab_shrink()
    out = {}
    with open("/proc/slabinfo") as f:
        for line in f:
            if line.startswith(("slabinfo", "#")):
                continue
            p = line.split()
            out[p[0]] = (int(p[1]), int(p[3]))
    return out


MEM_CACHES = re.compile(r"^(kmalloc-(rcl-|cg-)?\d+k?|vcpustat.*|"
                        r"skbuff_head_cache|skbuff_small_head)$")


def slab_delta(a, b, pattern=MEM_CACHES):
    """Per-cache (objects, bytes) growth from snapshot a to b."""
    out = {}
    for name in set(a) | set(b):
        if not pattern.match(name):
            continue
        na, sa = a.get(name, (0, 0))
        nb, sb = b.get(name, (0, sa))
        if nb != na:
            out[name] = (nb - na, nb * (sb or sa) - na * sa)
    return out


def slab_report(delta):
    total = sum(v[1] for v in delta.values())
    top = sorted(delta.items(), key=lambda kv: -abs(kv[1][1]))[:6]
    return total, ", ".join(f"{k} {v[0]:+d} obj ({v[1] / 1024:+.0f} KiB)"
                            for k, v in top)


def meminfo():
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            out[k] = int(v.split()[0])
    return out


def vmalloc_kvm():
    """vmalloc areas allocated by code in KVM's modules (kvm, kvm_amd,
    kvm_intel): struct kvm itself lives there (kvm_arch_alloc_vm), so this
    counts live VMs (times a constant) even when KVM could not give a VM
    its debugfs directory."""
    try:
        with open("/proc/vmallocinfo") as f:
            return sum(1 for line in f if "[kvm" in line)
    except OSError:
        return None


def kvm_debugfs_vms(pids=None):
    """KVM's per-VM debugfs directories ("<pid>-<fd>"): one per struct kvm
    not yet destroyed. With @pids, only those processes' VMs."""
    try:
        names = os.listdir(KVM_DEBUGFS)
    except OSError:
        return []
    out = []
    for n in names:
        m = re.match(r"^(\d+)-(\d+)$", n)
        if m and (pids is None or int(m.group(1)) in pids):
            out.append(n)
    return out


# ------------------------------------------------------------------ dmesg

class Dmesg:
    """New kernel messages since construction, and the bad ones among them
    (the rig also fails the whole run on these; outside the rig this is the
    only check)."""
    BAD = re.compile(r"BUG:|Oops|WARNING:|KASAN|general protection fault|"
                     r"Call Trace|soft lockup|hung_task|rcu_.*stall|"
                     r"refcount_t:|list_(add|del) corruption")

    def __init__(self):
        self.start = self._lines()

    @staticmethod
    def _lines():
        r = subprocess.run(["dmesg"], capture_output=True, text=True)
        return r.stdout.splitlines()

    def new(self):
        cur = self._lines()
        # The ring may have wrapped: fall back to "everything after the
        # last line we knew".
        if self.start and self.start[-1] in cur:
            idx = len(cur) - 1 - cur[::-1].index(self.start[-1])
            return cur[idx + 1:]
        return cur[len(self.start):]

    def bad(self):
        return [line for line in self.new() if self.BAD.search(line)]


# ------------------------------------------------------------------ driver

class Driver:
    """kvm_workload; held after its work (hold=True) for inspection, or
    run to completion (wait())."""

    def __init__(self, *args, hold=True, ready_timeout=300):
        self.dir = tempfile.mkdtemp(prefix="vs-stress-")
        self.ready = os.path.join(self.dir, "ready")
        self.report = os.path.join(self.dir, "report.json")
        self.args = [str(a) for a in args]
        cmd = [DRIVER, *self.args, "--json", self.report]
        if hold:
            cmd += ["--hold", "--ready-file", self.ready]
        self.errf = open(os.path.join(self.dir, "stderr"), "w+")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=self.errf)
        self.pid = self.proc.pid
        self.r = None
        if hold:
            deadline = time.time() + ready_timeout
            while not os.path.exists(self.ready):
                if self.proc.poll() is not None:
                    raise RuntimeError(f"kvm_workload {' '.join(self.args)}"
                                       f" failed: {self.stderr()}")
                if time.time() > deadline:
                    self.proc.kill()
                    raise RuntimeError("kvm_workload never got ready")
                time.sleep(0.05)
            self.r = json.load(open(self.report))

    def stderr(self):
        self.errf.flush()
        self.errf.seek(0)
        return self.errf.read().strip()

    def vcpus(self):
        for vm in self.r["vms"]:
            for v in vm["vcpus"]:
                yield vm["index"], v

    def stop(self, timeout=120):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGUSR1)
        return self.wait(timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def wait(self, timeout=None):
        rc = self.proc.wait(timeout=timeout)
        if os.path.exists(self.report):
            try:
                self.r = json.load(open(self.report))
            except ValueError:
                pass
        if rc:
            raise RuntimeError(f"kvm_workload {' '.join(self.args)} exited "
                               f"{rc}: {self.stderr()[-300:]}")
        return rc


def exact_reasons(drv):
    """{kind: hardware code} of the reasons the driver makes exactly."""
    codes = drv.r["exit_codes"]
    out = {"io": codes["io"], "cpuid": codes["cpuid"], "hlt": codes["hlt"]}
    if drv.r.get("isa") == "vmx":
        out["rdmsr"] = codes["rdmsr"]
        out["wrmsr"] = codes["wrmsr"]
    else:
        out["msr"] = codes["rdmsr"]
    return out


def check_exact(g, drv, label=""):
    """Every vCPU of a held driver: exact reasons == the driver's expect,
    exits == sum of reasons, migrations == forced moves."""
    errs = []
    dump = vsnl.dump_vcpus(g, vsnl.nla_u32(vsnl.VCPUSTAT_A_PID, drv.pid))
    by_tid = {m["vcpu"]["tid"]: m["vcpu"] for m in dump}
    want = exact_reasons(drv)
    for _, v in drv.vcpus():
        m = by_tid.get(v["tid"])
        if m is None:
            errs.append(f"{label}tid {v['tid']}: not in the dump")
            continue
        got = {}
        for r in m["reasons"]:
            got[r["code"]] = got.get(r["code"], 0) + r["count"]
        for kind, code in want.items():
            exp = v["expect"][kind]
            if got.get(code, 0) != exp:
                errs.append(f"{label}tid {v['tid']} {kind}: module "
                            f"{got.get(code, 0)} != driver {exp}")
        if m["exits"] != sum(got.values()):
            errs.append(f"{label}tid {v['tid']}: exits {m['exits']} != "
                        f"sum of reasons {sum(got.values())}")
        if m["migrations"] != v["expect"]["migrations"]:
            errs.append(f"{label}tid {v['tid']}: migrations "
                        f"{m['migrations']} != {v['expect']['migrations']}")
    return errs


class ExitHist:
    """tracefs hist trigger on kvm:kvm_exit keyed by (thread, reason)."""
    SPEC = "hist:keys=common_pid,exit_reason:size=8192"

    def __init__(self):
        self.path = f"{TRACING}/events/kvm/kvm_exit/trigger"
        with open(self.path, "w") as f:
            f.write(self.SPEC)

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
                counts[(pid, int(kv["exit_reason"]))] = int(hits)
        return counts

    def close(self):
        with open(self.path, "w") as f:
            f.write("!" + self.SPEC)


class TickTimer:
    """How long each run of the module's tick worker (vs_tick) took, from
    the kernel's own workqueue:workqueue_execute_start/_end events in a
    private tracefs instance, filtered on vs_tick's address (kallsyms),
    with the mono clock so that a worker moved across CPUs still reads
    right. longest() is in seconds."""

    def __init__(self):
        addr = None
        with open("/proc/kallsyms") as f:
            for line in f:
                a, _, name = line.split()[:3]
                if name == "vs_tick":
                    addr = int(a, 16)
        if not addr:
            raise RuntimeError("vs_tick not in /proc/kallsyms")
        self.dir = f"{TRACING}/instances/vs_tick"
        if os.path.isdir(self.dir):
            os.rmdir(self.dir)
        os.mkdir(self.dir)
        self._w("trace_clock", "mono")
        self._w("buffer_size_kb", "2048")
        for ev in ("workqueue_execute_start", "workqueue_execute_end"):
            base = f"{self.dir}/events/workqueue/{ev}"
            self._w(f"{base}/filter", f"function == {addr:#x}")
            self._w(f"{base}/enable", "1")

    def _w(self, name, value):
        path = name if name.startswith("/") else f"{self.dir}/{name}"
        with open(path, "w") as f:
            f.write(value)

    def durations(self):
        start, out = {}, []
        with open(f"{self.dir}/trace") as f:
            for line in f:
                m = re.search(r" (\d+\.\d+): workqueue_execute_(start|end): "
                              r"work struct (?:0x)?([0-9a-f]+)", line)
                if not m:
                    continue
                t, kind, work = float(m.group(1)), m.group(2), m.group(3)
                if kind == "start":
                    start[work] = t
                elif work in start:
                    out.append(t - start.pop(work))
        return out

    def close(self):
        self._w("tracing_on", "0")
        for ev in ("workqueue_execute_start", "workqueue_execute_end"):
            self._w(f"{self.dir}/events/workqueue/{ev}/enable", "0")
        os.rmdir(self.dir)


# ------------------------------------------------------------------ events

NLMSG_ERROR, NLMSG_DONE = 2, 3


class Listener:
    """A socket joined to the events group; recv() collects decoded
    events, counting overruns (ENOBUFS) separately. @rcvbuf None: the
    default; an int: SO_RCVBUF (the kernel doubles it, min ~2.3 KiB)."""

    def __init__(self, rcvbuf=32 << 20, ctrl_notify=False):
        self.g = vsnl.Genl()    # (vsnl forces a 32 MiB buffer)
        if rcvbuf is None:      # the system default, as a plain client
            rcvbuf = int(open("/proc/sys/net/core/rmem_default").read())
            self.g.sk.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF,
                                 rcvbuf // 2)    # the kernel doubles it
        else:
            try:
                self.g.sk.setsockopt(socket.SOL_SOCKET, 33, rcvbuf)  # FORCE
            except OSError:
                self.g.sk.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF,
                                     rcvbuf)
        self.g.join()
        self.events = []
        self.overruns = 0
        self.ctrl_events = []
        if ctrl_notify:
            _, groups = self.g.resolve("nlctrl")
            self.g.sk.setsockopt(vsnl.SOL_NETLINK,
                                 vsnl.NETLINK_ADD_MEMBERSHIP,
                                 groups["notify"])

    def rejoin(self):
        self.g.family, self.g.groups = self.g.resolve(vsnl.VCPUSTAT_GENL_NAME)
        self.g.join()

    def recv(self, timeout=0.2, bufsize=1 << 20):
        """One read; returns the number of events decoded, None if nothing
        arrived within @timeout."""
        import select
        r, _, _ = select.select([self.g.sk], [], [], timeout)
        if not r:
            return None
        try:
            data = self.g.sk.recv(bufsize)
        except OSError as e:
            if e.errno == errno.ENOBUFS:
                self.overruns += 1
                return 0
            raise
        off, n = 0, 0
        while off + 16 <= len(data):
            ln, mtype, _, _, _ = struct.unpack_from("IHHII", data, off)
            body = data[off + 16:off + ln]
            if mtype == self.g.family:
                e = vsnl.decode_top(body[0], body[4:])
                e["t"] = time.time()
                self.events.append(e)
                n += 1
            elif mtype == vsnl.GENL_ID_CTRL:
                self.ctrl_events.append((body[0], body[4:]))
            off += (ln + 3) & ~3
        return n

    def close(self):
        self.g.close()


def seq_gaps(events):
    """(gaps, backwards): missing sequence numbers between consecutive
    events and the number of times the sequence went backwards."""
    gaps, back = 0, 0
    seqs = [e["seq"] for e in events if "seq" in e]
    for a, b in zip(seqs, seqs[1:]):
        if b <= a:
            back += 1
        else:
            gaps += b - a - 1
    return gaps, back


def ev_pid(e):
    return e.get("pid", e.get("vm", {}).get("pid"))


def ev_vm_id(e):
    return e.get("vm_id", e.get("vm", {}).get("vm_id"))
