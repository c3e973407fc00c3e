#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""detail_test.py: second-level exit keys (issue 16), exact, three ways.

kvm_workload --op makes known numbers of exits per key on each of its
vCPUs: port I/O of several ports, sizes and directions, RDMSR/WRMSR of
several indices, several CPUID leaves/subleaves, hypercalls with distinct
numbers, byte stores to two MMIO pages. With `vcpustat config detail=on`
the module's keys per vCPU thread (`vcpustat dump -j`) must equal
  - the driver's numbers, exactly, and
  - the kernel's own events, counted per thread by tracefs hist triggers:
    kvm_pio (port, rw, size), kvm_msr (ecx, write), kvm_cpuid (function,
    index), kvm_hypercall (nr), kvm_mmio (gpa, type write);
and for every keyed reason the keys plus "other" equal the reason's count
(which equals the kvm_exit hist). Then: every timed reason's histogram
holds its timed exits with p50 <= p90 <= p99 within [min, max]; with K
smaller than the distinct keys only K keys are kept, exact, and "other"
is the remainder; a K out of range is refused with the kernel's message
and changes nothing; K lowered under a running workload keeps the sums
exact; details off sends no keys. GPA keys name their region: the
driver's RAM slot, an extra slot it registers (first touches), its VMM
MMIO pages ("mmio", no range) and a coalesced zone (KVM's MMIO bus
range), exactly. A real guest: QEMU (KVM) running its
SeaBIOS for a few seconds shows the real device ports (PCI configuration,
RTC, fw_cfg) with the counts of kvm_pio.

Runs in the QEMU rig (SVM) and on any KVM host with python; the Bochs VMX
guest has no python and runs detail_keys_test.sh, its bash subset. KTAP.
Exit: 0 passed, 1 failed, 4 skipped (not root, no /dev/kvm, module not
loaded, no tracefs hist triggers).
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
WL = os.environ.get("KVM_WORKLOAD", os.path.join(HERE, "kvm_workload"))
VS = os.environ.get("VCPUSTAT") or next(
    (os.path.join(p, "vcpustat") for p in os.environ.get("PATH", "").split(":")
     if p and os.access(os.path.join(p, "vcpustat"), os.X_OK)),
    os.path.join(TOP, "user", "vcpustat"))
KSFT_SKIP = 4
TRACE_EVENTS = {
    # event: (hist keys after common_pid, filter)
    "kvm_exit": ("exit_reason", None),
    # a hist has at most 3 keys: size is checked against the driver
    "kvm_pio": ("port,rw", None),
    "kvm_msr": ("ecx,write", None),
    "kvm_cpuid": ("function,index", None),
    "kvm_hypercall": ("nr", None),
    "kvm_mmio": ("gpa,type", None),
}
KVM_PIO_IN = 0            # trace.h: KVM_PIO_IN 0, KVM_PIO_OUT 1
KVM_TRACE_MMIO_WRITE = 2  # include/trace/events/kvm.h
CTRL_PORT = 0x511         # workload_guest.h: "chunk done", OUT dword

# What every vCPU does: several keys of each kind, distinct counts.
OPS = [
    "pio:0x520:1:out:30", "pio:0x522:2:out:20", "pio:0x524:4:out:10",
    "pio:0x526:1:in:15", "pio:0x528:2:in:12", "pio:0x52c:4:in:8",
    "rdmsr:0x8b:25", "rdmsr:0x17:15", "rdmsr:0x1fc:9",
    "wrmsr:0x79:7", "wrmsr:0x1fc:5",
    "cpuid:0:0:22", "cpuid:1:0:14", "cpuid:7:1:6", "cpuid:0x80000000:0:4",
    "hcall:100:11", "hcall:101:7", "hcall:102:3",
    "mmio:0x20000:13", "mmio:0x31000:9",
]

# Regions of GPA keys (dump -j "region"...): the driver's RAM slot 0, an
# extra slot it registers and the guest touches first, two MMIO pages the
# VMM handles, and a coalesced MMIO zone on KVM's MMIO bus (every store an
# exit, handled in the kernel).
RAM = (0, 0x10000)              # workload_guest.h: GUEST_MEM_SIZE, slot 0
SLOT = (1, 0x40000, 0x8000)     # --slot GPA:SIZE, memslot id 1
COAL = (0x50000, 0x100)         # --coalesced GPA:SIZE
REGION_OPS = ["mmio:0x20000:13", "mmio:0x31000:9",
              "touch:0x40000:5", "touch:0x43010:3", "touch:0x50000:6"]
KVM_USER_MEM_SLOTS = 509        # x86: ids from here on are KVM's own

out_lines = []
ntests = 0
failed = 0


def ktap(ok, name, diag=()):
    global ntests, failed
    ntests += 1
    for d in diag[:40]:
        out_lines.append("# " + d)
    if not ok:
        failed += 1
    out_lines.append(("ok " if ok else "not ok ") + f"{ntests} {name}")


def skip_all(why):
    print("KTAP version 1")
    print(f"1..0 # SKIP {why}")
    sys.exit(KSFT_SKIP)


def vs(*args, check=True):
    r = subprocess.run([VS, *args], capture_output=True, text=True)
    if check and r.returncode:
        raise RuntimeError(f"vcpustat {' '.join(args)}: {r.returncode} {r.stderr.strip()}")
    return r


def tracefs():
    for t in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing"):
        if os.path.isdir(t + "/events/kvm"):
            return t
    subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"],
                   capture_output=True)
    return "/sys/kernel/tracing" if os.path.isdir(
        "/sys/kernel/tracing/events/kvm") else None


def spec(event):
    keys, _ = TRACE_EVENTS[event]
    return f"hist:keys=common_pid,{keys}:vals=hitcount:size=8192"


class Trace:
    """A private tracefs instance with one hist trigger per event."""

    def __init__(self, root):
        self.inst = os.path.join(root, "instances", f"vs_detail_{os.getpid()}")
        os.mkdir(self.inst)
        for ev in TRACE_EVENTS:
            with open(f"{self.inst}/events/kvm/{ev}/trigger", "w") as f:
                f.write(spec(ev))

    def read(self, event):
        """{(pid, key fields...): hitcount}; raises if events were dropped."""
        res = {}
        with open(f"{self.inst}/events/kvm/{event}/hist") as f:
            text = f.read()
        if re.search(r"Dropped: [1-9]", text):
            raise RuntimeError(f"{event} hist dropped events")
        for line in text.splitlines():
            if not line.startswith("{"):
                continue
            m = re.match(r"\{(.*)\}\s*hitcount:\s*(\d+)", line)
            if not m:
                continue
            fields = {}
            for part in m.group(1).split(","):
                k, _, v = part.partition(":")
                fields[k.strip()] = int(v.strip().split()[0], 0)
            keys = TRACE_EVENTS[event][0].split(",")
            res[(fields["common_pid"],) + tuple(fields[k] for k in keys)] = \
                int(m.group(2))
        return res

    def clear(self):
        for ev in TRACE_EVENTS:
            with open(f"{self.inst}/events/kvm/{ev}/trigger", "w") as f:
                f.write("!" + spec(ev))
            with open(f"{self.inst}/events/kvm/{ev}/trigger", "w") as f:
                f.write(spec(ev))

    def close(self):
        for ev in TRACE_EVENTS:
            try:
                with open(f"{self.inst}/events/kvm/{ev}/trigger", "w") as f:
                    f.write("!" + spec(ev))
            except OSError:
                pass
        try:
            os.rmdir(self.inst)
        except OSError:
            pass


class Workload:
    """kvm_workload held after its work, until stop()."""

    def __init__(self, tmp, args, mid=None):
        self.ready = os.path.join(tmp, "ready")
        self.hold = os.path.join(tmp, "hold")
        self.json = os.path.join(tmp, "wl.json")
        for p in (self.ready, self.hold, self.json):
            if os.path.exists(p):
                os.unlink(p)
        self.err = open(os.path.join(tmp, "wl.err"), "w+")
        self.p = subprocess.Popen(
            [WL, *args, "--hold", "--hold-file", self.hold,
             "--ready-file", self.ready, "--json", self.json],
            stdout=subprocess.DEVNULL, stderr=self.err)
        start = time.time()
        deadline = start + 600
        while not os.path.exists(self.ready):
            if mid and time.time() - start >= mid[0]:
                mid[1]()
                mid = None
            if self.p.poll() is not None or time.time() > deadline:
                self.err.seek(0)
                raise RuntimeError("kvm_workload did not get ready: " +
                                   self.err.read().strip())
            time.sleep(0.1)
        with open(self.json) as f:
            self.report = json.load(f)

    def vcpus(self):
        return [v for vm in self.report["vms"] for v in vm["vcpus"]]

    def stop(self):
        open(self.hold, "w").close()
        try:
            self.p.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def dump_vcpus(pid):
    """{tid: vcpu object} of the VMs of @pid, from vcpustat dump -j."""
    doc = json.loads(vs("dump", "-j").stdout)
    res = {}
    for vm in doc["vms"]:
        if vm["pid"] == pid:
            for vc in vm["vcpus"]:
                res[vc["tid"]] = vc
    return res


def key_of(kind, k):
    """A module key as a tuple comparable with the trace's fields."""
    if kind == "io":
        return (k["port"], k["dir"], k["size"])
    if kind == "msr":
        return (k["msr"], k["dir"])
    if kind == "cpuid":
        return (k["leaf"], k["subleaf"])
    if kind == "hypercall":
        return (k["nr"],)
    if kind == "gpa":
        return (k["gpa"],)
    return (k.get("vector"),)


def module_keys(vc):
    """{kind: {key: count}} summed over the reasons of each kind, plus the
    per-reason sum check (keys + other == count)."""
    keys, bad = {}, []
    for r in vc["reasons"]:
        kind = r.get("key_kind")
        if not kind:
            continue
        d = keys.setdefault(kind, {})
        s = r["keys_other"]
        for k in r["keys"]:
            t = key_of(kind, k)
            d[t] = d.get(t, 0) + k["count"]
            s += k["count"]
        if s != r["count"]:
            bad.append(f"{r['name']}: keys {s - r['keys_other']} + other "
                       f"{r['keys_other']} != count {r['count']}")
    return keys, bad


def no_size(kind, keys):
    """Port keys without their size, as kvm_pio's hist counts them."""
    if kind != "io":
        return keys
    res = {}
    for (port, d, _), n in keys.items():
        res[(port, d)] = res.get((port, d), 0) + n
    return res


def trace_keys(tr, tid):
    """The same {kind: {key: count}} from the kernel's events."""
    res = {"io": {}, "msr": {}, "cpuid": {}, "hypercall": {}, "gpa": {}}
    for (pid, port, rw), n in tr.read("kvm_pio").items():
        if pid == tid:
            res["io"][(port, "in" if rw == KVM_PIO_IN else "out")] = n
    for (pid, ecx, write), n in tr.read("kvm_msr").items():
        if pid == tid:
            res["msr"][(ecx, "write" if write else "read")] = n
    for (pid, fn, idx), n in tr.read("kvm_cpuid").items():
        if pid == tid:
            res["cpuid"][(fn, idx)] = n
    for (pid, nr), n in tr.read("kvm_hypercall").items():
        if pid == tid:
            res["hypercall"][(nr,)] = n
    for (pid, gpa, typ), n in tr.read("kvm_mmio").items():
        if pid == tid and typ == KVM_TRACE_MMIO_WRITE:
            page = gpa & ~0xfff
            res["gpa"][(page,)] = res["gpa"].get((page,), 0) + n
    return res


def driver_keys(report, vcpu):
    """{kind: {key: count}} that the driver made on one vCPU."""
    res = {"io": {}, "msr": {}, "cpuid": {}, "hypercall": {}, "gpa": {}}
    for op in report["ops"]:
        c = op["count"]
        if op["op"] == "pio":
            res["io"][(op["port"], op["dir"], op["size"])] = c
        elif op["op"] in ("rdmsr", "wrmsr"):
            t = (op["msr"], "read" if op["op"] == "rdmsr" else "write")
            res["msr"][t] = res["msr"].get(t, 0) + c
        elif op["op"] == "cpuidx":
            res["cpuid"][(op["leaf"], op["subleaf"])] = c
        elif op["op"] == "hcall":
            res["hypercall"][(op["nr"],)] = c
        elif op["op"] == "mmiox":
            res["gpa"][(op["gpa"],)] = c
    res["io"][(CTRL_PORT, "out", 4)] = vcpu["control_io"]
    return res


def compare(name, want, got, diag, subset=False):
    """want == got per key (only want's keys when @subset)."""
    ok = True
    for k in sorted(set(want) | (set() if subset else set(got)), key=str):
        if want.get(k) != got.get(k):
            diag.append(f"{name} {k}: want {want.get(k)} got {got.get(k)}")
            ok = False
    return ok


def check_exact(tr, wl, pid, label):
    vcpus = dump_vcpus(pid)
    exits = tr.read("kvm_exit")
    for v in wl.vcpus():
        tid, diag, ok = v["tid"], [], True
        vc = vcpus.get(tid)
        if not vc:
            ktap(False, f"{label}: vcpu {v['vcpu_id']} keys", [f"tid {tid} not in the dump"])
            continue
        mk, bad = module_keys(vc)
        diag += bad
        ok &= not bad
        # reason counts == kvm_exit's
        for r in vc["reasons"]:
            if r.get("key_kind"):
                t = exits.get((tid, r["code"]), 0)
                if t != r["count"]:
                    diag.append(f"{r['name']}: module {r['count']} kvm_exit {t}")
                    ok = False
        tk = trace_keys(tr, tid)
        dk = driver_keys(wl.report, v)
        for kind in ("io", "msr", "cpuid", "hypercall"):
            ok &= compare(f"{kind} module/trace", tk[kind],
                          no_size(kind, mk.get(kind, {})), diag)
            ok &= compare(f"{kind} module/driver", dk[kind], mk.get(kind, {}), diag,
                          subset=(kind == "msr"))
        # guest pages: the MMIO pages exactly (RAM pages fault too)
        ok &= compare("gpa module/trace", tk["gpa"], mk.get("gpa", {}), diag, subset=True)
        ok &= compare("gpa module/driver", dk["gpa"], mk.get("gpa", {}), diag, subset=True)
        nkeys = sum(len(d) for d in mk.values())
        ktap(ok, f"{label}: vcpu {v['vcpu_id']}: {nkeys} keys == driver == tracefs, keys + other == count", diag)


def region_want(page):
    """The region fields dump -j must give a page of the driver's VM, or
    None for a page it never touches."""
    if RAM[0] <= page < RAM[0] + RAM[1]:
        return {"region": "ram", "slot": 0, "slot_flags": 0,
                "region_base": RAM[0], "region_size": RAM[1]}
    if SLOT[1] <= page < SLOT[1] + SLOT[2]:
        return {"region": "ram", "slot": SLOT[0], "slot_flags": 0,
                "region_base": SLOT[1], "region_size": SLOT[2]}
    if page == COAL[0]:
        return {"region": "mmio", "region_base": COAL[0],
                "region_size": COAL[1]}
    if page in (0x20000, 0x31000):
        return {"region": "mmio"}
    return None


def check_regions(wl, pid):
    """Every GPA key names its region exactly; the pages the driver
    touched are all there, the MMIO ones with its exact counts."""
    vcpus = dump_vcpus(pid)
    fields = ("region", "slot", "slot_flags", "region_base", "region_size")
    diag, ok, seen, nkeys = [], len(vcpus) == len(wl.vcpus()), {}, 0
    for v in wl.vcpus():
        vc = vcpus.get(v["tid"], {"reasons": []})
        per = {}
        for r in vc["reasons"]:
            if r.get("key_kind") != "gpa":
                continue
            for k in r["keys"]:
                nkeys += 1
                page = k["gpa"]
                per[page] = per.get(page, 0) + k["count"]
                got = {f: k[f] for f in fields if f in k}
                want = region_want(page)
                # KVM's own slots (VMX: APIC access, TSS, identity map)
                if want is None and got.get("region") == "ram" and \
                   got.get("slot", 0) & 0xffff >= KVM_USER_MEM_SLOTS and \
                   got["region_base"] <= page < got["region_base"] + got["region_size"]:
                    continue
                if got != want:
                    diag.append(f"vcpu {v['vcpu_id']} {r['name']} page {page:#x}: got {got} want {want}")
                    ok = False
        for page, n in ((0x20000, 13), (0x31000, 9), (COAL[0], 6)):
            if per.get(page) != n:
                diag.append(f"vcpu {v['vcpu_id']} page {page:#x}: count {per.get(page)} want {n}")
                ok = False
        for page, n in per.items():
            seen[page] = seen.get(page, 0) + n
    # first touches of the new slot: at least one vCPU faulted each page,
    # and no vCPU more than once (the nested page table is the VM's)
    for page in (0x40000, 0x43000):
        if not 1 <= seen.get(page, 0) <= len(wl.vcpus()):
            diag.append(f"slot page {page:#x}: {seen.get(page, 0)} faults over the vCPUs")
            ok = False
    ktap(ok and nkeys > 0, f"GPA keys ({nkeys}) name their region: RAM slot 0, slot 1 "
         f"{SLOT[1]:#x}+{SLOT[2]:#x}, coalesced zone {COAL[0]:#x}+{COAL[1]:#x}, VMM MMIO", diag)


def check_hist(wl, pid):
    vcpus = dump_vcpus(pid)
    diag, ok, n = [], True, 0
    for v in wl.vcpus():
        vc = vcpus.get(v["tid"], {"reasons": []})
        for r in vc["reasons"]:
            if "rhist" not in r:
                continue
            n += 1
            if sum(r["rhist"]) != r["timed"]:
                diag.append(f"{r['name']}: rhist sum {sum(r['rhist'])} != timed {r['timed']}")
                ok = False
            p = [r["p50_ns"], r["p90_ns"], r["p99_ns"]]
            if None in p or not (r["time_min_ns"] <= p[0] <= p[1] <= p[2] <= r["time_max_ns"]):
                diag.append(f"{r['name']}: min {r['time_min_ns']} p50/90/99 {p} max {r['time_max_ns']}")
                ok = False
    ktap(ok and n > 0, f"per-reason histograms: {n} reasons, buckets == timed exits, min <= p50 <= p90 <= p99 <= max", diag)


def check_topk(tr, wl, pid, k):
    """K smaller than the distinct keys: K kept, exact, other = rest."""
    vcpus = dump_vcpus(pid)
    diag, ok, seen = [], True, 0
    for v in wl.vcpus():
        tid = v["tid"]
        vc = vcpus.get(tid, {"reasons": []})
        tk = trace_keys(tr, tid)
        for r in vc["reasons"]:
            kind = r.get("key_kind")
            if kind not in ("io", "msr", "cpuid", "hypercall"):
                continue
            distinct = len([1 for t in tk[kind] if True])
            if len(r["keys"]) > k:
                diag.append(f"{r['name']}: {len(r['keys'])} keys > K {k}")
                ok = False
            s = 0
            for key in r["keys"]:
                t = key_of(kind, key)[:2] if kind == "io" else key_of(kind, key)
                s += key["count"]
                if tk[kind].get(t) != key["count"]:
                    diag.append(f"{r['name']} {t}: module {key['count']} trace {tk[kind].get(t)}")
                    ok = False
            if r["keys_other"] != r["count"] - s:
                diag.append(f"{r['name']}: other {r['keys_other']} != count {r['count']} - keys {s}")
                ok = False
            if kind != "msr" and distinct > k:
                seen += 1
                if len(r["keys"]) != k or r["keys_other"] == 0:
                    diag.append(f"{r['name']}: {distinct} distinct keys but {len(r['keys'])} kept, other {r['keys_other']}")
                    ok = False
    ktap(ok and seen > 0, f"K={k} < distinct keys ({seen} reasons): K keys exact, other == remainder", diag)


def check_real_guest(tr, tmp):
    qemu = next((os.path.join(p, "qemu-system-x86_64")
                 for p in os.environ.get("PATH", "/usr/bin").split(":") + ["/usr/bin"]
                 if os.access(os.path.join(p, "qemu-system-x86_64"), os.X_OK)), None)
    name = "real guest (QEMU/KVM SeaBIOS): device ports == kvm_pio, keys + other == count"
    if not qemu:
        ntests_skip(name, "no qemu-system-x86_64")
        ntests_skip("real guest: every GPA key has its region", "no qemu-system-x86_64")
        return
    vs("config", "detail_k=16")
    tr.clear()
    p = subprocess.Popen([qemu, "-enable-kvm", "-m", "64", "-display", "none",
                          "-monitor", "none", "-serial", "none", "-nodefaults",
                          "-no-reboot", "-device", "isa-serial,chardev=s",
                          "-chardev", f"file,id=s,path={tmp}/seabios.serial"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(15)
        # stopped: no more exits; an IN still in flight in QEMU is
        # counted at kvm_exit but traced (kvm_pio) when it completes
        os.kill(p.pid, 19)  # SIGSTOP
        time.sleep(1)
        rows = [json.loads(l) for l in
                vs("stat", "--detail", "io", "--total", "-j", "-P", str(p.pid)).stdout.splitlines()]
        trace = tr.read("kvm_pio")
        gpa_diag = real_guest_regions(dump_vcpus(p.pid))
    finally:
        p.kill()
        p.wait()
    diag, ok = [], bool(rows)
    by_tid = {}
    for r in rows:
        by_tid.setdefault(r["tid"], []).append(r)
    for tid, rs in by_tid.items():
        total = rs[0]["reason_count_delta"]
        keys = [r for r in rs if not r.get("other")]
        other = sum(r["count"] for r in rs if r.get("other"))
        if sum(r["count"] for r in keys) + other != total:
            diag.append(f"tid {tid}: keys + other != {total}")
            ok = False
        mod = {}
        for r in keys:
            k = (r["port"], r["dir"])
            mod[k] = mod.get(k, 0) + r["count"]
        t = {(port, "in" if rw == KVM_PIO_IN else "out"): n
             for (pid, port, rw), n in trace.items() if pid == tid}
        for k, n in sorted(mod.items()):
            diag.append(f"tid {tid} port 0x{k[0]:x} {k[1]}: module {n} kvm_pio {t.get(k)}")
            # a (port, dir) may have sizes beyond K in other: <=; and at
            # most one more IN exit than events: an IN still in QEMU when
            # stopped (kvm_pio traces an IN when it completes), or a
            # string INS whose exits KVM's emulator traced as one event
            if n > t.get(k, 0) + (1 if k[1] == "in" else 0):
                ok = False
        # the PCI configuration address port takes only 4-byte OUTs
        if mod.get((0xcf8, "out")) != t.get((0xcf8, "out")) or not mod.get((0xcf8, "out")):
            diag.append("0xcf8 out: module != kvm_pio or none")
            ok = False
        if not 0 <= total - sum(t.values()) <= 1:
            diag.append(f"io exits {total}, kvm_pio events {sum(t.values())}")
            ok = False
    ktap(ok, name, diag)
    ktap(gpa_diag == [], "real guest: every GPA key has its region, RAM pages inside their slot", gpa_diag)


def real_guest_regions(vcpus):
    """QEMU's VM (created by its main thread, whose fd table holds it):
    every GPA key has a region; a RAM key lies in its slot's range, an
    MMIO bus range overlaps its page; some key is RAM (SeaBIOS runs from
    guest memory). Problems as diag lines, [] if none."""
    diag, ram, seen = [], 0, {}
    for vc in vcpus.values():
        for r in vc["reasons"]:
            if r.get("key_kind") != "gpa":
                continue
            for k in r["keys"]:
                g, reg = k["gpa"], k.get("region")
                base, size = k.get("region_base"), k.get("region_size")
                where = f"{reg} slot {k['slot']:#x}" if "slot" in k else str(reg)
                seen[where] = seen.get(where, 0) + 1
                if reg == "ram" and base is not None and base <= g < base + size:
                    ram += 1
                elif reg == "mmio" and (base is None or base < g + 0x1000 and base + max(size, 1) > g):
                    pass
                else:
                    diag.append(f"gpa {g:#x}: {k}")
    if diag or not ram:
        diag.append(f"keys by region: {seen}")
    if not ram:
        diag.append(f"no RAM key among {sum(len(r['keys']) for vc in vcpus.values() for r in vc['reasons'] if r.get('key_kind') == 'gpa')} GPA keys")
    return diag


def ntests_skip(name, why):
    global ntests
    ntests += 1
    out_lines.append(f"ok {ntests} {name} # SKIP {why}")


def main():
    if os.geteuid():
        skip_all("must be root")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        skip_all("no usable /dev/kvm")
    if not os.path.isdir("/sys/module/vcpustat"):
        skip_all("vcpustat module not loaded")
    root = tracefs()
    if not root:
        skip_all("no tracefs with kvm events")
    for ev in TRACE_EVENTS:
        if not os.path.exists(f"{root}/events/kvm/{ev}/trigger"):
            skip_all(f"no kvm:{ev} event")
    with open(f"{root}/events/kvm/kvm_exit/trigger") as f:
        if "hist" not in f.read():
            skip_all("kernel without hist triggers (CONFIG_HIST_TRIGGERS)")
    for p, what in ((WL, "make -C selftests"), (VS, "make -C user")):
        if not os.access(p, os.X_OK):
            print("KTAP version 1\n1..1")
            print(f"# {p} missing: run '{what}'")
            print("not ok 1 prerequisites")
            return 1

    saved = json.loads(vs("config", "-j").stdout)["config"]
    tmp = tempfile.mkdtemp(prefix="detail_test.")
    tr = Trace(root)
    wl = None
    ops = [a for o in OPS for a in ("--op", o)]
    try:
        # 1: refusals change nothing
        vs("config", "detail=on", "detail_k=8")
        diag, ok = [], True
        for bad in ("0", "17"):
            r = vs("config", f"detail_k={bad}", check=False)
            cfg = json.loads(vs("config", "-j").stdout)["config"]
            diag.append(f"detail_k={bad}: exit {r.returncode}: {r.stderr.strip()}")
            if r.returncode != 1 or "range" not in r.stderr or \
               cfg.get("detail_k") != 8 or cfg.get("detail") is not True:
                ok = False
        ktap(ok, "detail_k out of range (0, 17) refused with the kernel's message, config unchanged", diag)

        # 2: exact keys, K = 8 >= distinct keys per reason
        tr.clear()
        wl = Workload(tmp, ["--vcpus", "2", "--chunk", "1000", *ops])
        ktap(all(v["complete"] for v in wl.vcpus()), "driver did all its work",
             [wl.report.get("error", "")] if wl.report.get("error") else [])
        check_exact(tr, wl, wl.report["pid"], "K=8")
        check_hist(wl, wl.report["pid"])
        wl.stop()
        wl = None

        # 2b: GPA keys by region (K = 16 keeps every page)
        vs("config", "detail_k=16")
        wl = Workload(tmp, ["--vcpus", "2", "--slot", f"{SLOT[1]:#x}:{SLOT[2]:#x}",
                            "--coalesced", f"{COAL[0]:#x}:{COAL[1]:#x}",
                            *[a for o in REGION_OPS for a in ("--op", o)]])
        ktap(all(v["complete"] for v in wl.vcpus()), "region driver did all its work",
             [wl.report.get("error", "")] if wl.report.get("error") else [])
        check_regions(wl, wl.report["pid"])
        wl.stop()
        wl = None

        # 3: K = 3 < distinct keys
        vs("config", "detail_k=3")
        tr.clear()
        wl = Workload(tmp, ["--vcpus", "2", *ops])
        check_topk(tr, wl, wl.report["pid"], 3)
        wl.stop()
        wl = None

        # 4: K lowered while the workload runs: the tables fold their
        # keys beyond the new K into other at their next exits
        vs("config", "detail_k=8")
        tr.clear()
        wl = Workload(tmp, ["--vcpus", "2", "--seconds", "6", *ops],
                      mid=(2.5, lambda: vs("config", "detail_k=2")))
        vcs = dump_vcpus(wl.report["pid"])
        diag, ok = [], len(vcs) == 2
        for tid, vc in vcs.items():
            _, bad = module_keys(vc)
            diag += bad
            ok &= not bad
            tk = trace_keys(tr, tid)
            for r in vc["reasons"]:
                kind = r.get("key_kind")
                if kind not in ("io", "msr", "cpuid", "hypercall"):
                    continue
                if len(r["keys"]) > 2:
                    diag.append(f"{r['name']}: {len(r['keys'])} keys after K=2")
                    ok = False
                for key in r["keys"]:
                    t = key_of(kind, key)[:2] if kind == "io" else key_of(kind, key)
                    if tk[kind].get(t) != key["count"]:
                        diag.append(f"{r['name']} {t}: module {key['count']} trace {tk[kind].get(t)}")
                        ok = False
        ktap(ok, "K lowered under load (8 -> 2): at most 2 keys, each == tracefs, keys + other == count", diag)
        wl.stop()
        wl = None
        vs("config", "detail_k=8")

        # 5: a real guest: QEMU/KVM booting its SeaBIOS (no disk, so it
        # stays in POST and its boot menu), stopped, against kvm_pio
        check_real_guest(tr, tmp)
        vs("config", "detail_k=8")

        # 6: details off: no keys, no reason histograms
        vs("config", "detail=off")
        wl = Workload(tmp, ["--vcpus", "1", *ops])
        vcs = dump_vcpus(wl.report["pid"])
        leaked = [r["name"] for vc in vcs.values() for r in vc["reasons"]
                  if "keys" in r or "rhist" in r]
        ktap(bool(vcs) and not leaked, "detail=off: no keys, no reason histograms",
             [f"still sent for {leaked}"] if leaked else [])
        wl.stop()
        wl = None
    except Exception as e:  # a failed step fails the run, with why
        ktap(False, "detail test ran to the end", [repr(e)])
    finally:
        if wl:
            wl.stop()
        tr.close()
        vs("config", f"detail={'on' if saved.get('detail') else 'off'}",
           f"detail_k={saved.get('detail_k', 8)}", check=False)
        subprocess.run(["rm", "-rf", tmp])
    print("KTAP version 1")
    print(f"1..{ntests}")
    print("\n".join(out_lines))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
