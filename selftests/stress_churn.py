#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Campaign 3: VM churn at scale.

VMs are created, run and destroyed back to back (quick: ~1 000 VMs;
VCPUSTAT_STRESS=1: ~10 000), in three phases:
 - low rate: one short-lived process per VM;
 - one process churning N VMs (kvm_workload --churn);
 - four processes churning concurrently.
Two listeners are joined to the "events" group for the whole campaign:
 A with a 32 MiB buffer, read continuously: it must see every VM_GONE,
   with no sequence gap;
 B with the smallest buffer the kernel allows (SO_RCVBUF 1), read promptly
   during the low-rate phase (it must lose nothing there) and slowly
   during the fast phases: whatever it loses must show as sequence gaps
   (every missing event is one A has, every gap is events A has), and the
   module's EVENTS_LOST must count exactly the events B missed.
Checks: one VM_GONE per VM, VM ids distinct and never reused, VMS_SEEN grew
by the number of VMs, every VM's final count covers its driver's work;
then, once drained, no VM tracked, no struct kvm left (KVM debugfs), KVM's
vmalloc areas and kmalloc/skbuff slabs back to their baseline (a leak of
one object per VM would show as thousands).
Exit: 0 pass, 1 fail, 4 skip.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stress_lib as sl  # noqa: E402
from stress_lib import vsnl, log  # noqa: E402

GONE = vsnl.VCPUSTAT_CMD_VM_GONE_NTF
NEW = vsnl.VCPUSTAT_CMD_VM_NEW_NTF
N_LOW = 200 if sl.LONG else 10
N_ONE = 5800 if sl.LONG else 490
N_PAR = 1000 if sl.LONG else 125      # per process, 4 processes
WORK = ("--vcpus", 1, "--cpuid", 10, "--io", 2)


class Reader(threading.Thread):
    def __init__(self, lst, slow):
        super().__init__(daemon=True)
        self.lst = lst
        self.slow = slow          # threading.Event: read slowly when set
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.lst.recv(timeout=0.1)
            if self.slow.is_set():
                time.sleep(0.05)
        # Drain what is queued, for 2 s at most: the parked probe VM's
        # DELTA every 100 ms never lets the socket go quiet for long.
        end = time.time() + 2
        while time.time() < end and \
                self.lst.recv(timeout=0.3) is not None:
            pass


class Sampler(threading.Thread):
    """Peak backlog and memory while VMs churn: VMs the module tracks,
    struct kvm alive (KVM debugfs), Slab and vmalloc."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.peak = {"tracked": 0, "kvm_debugfs_dirs": 0, "slab_kib": 0,
                     "vmalloc_kvm": 0}

    def run(self):
        g = sl.genl()
        while not self.stop.wait(0.5):
            try:
                st = sl.status(g)
            except Exception:  # noqa: BLE001
                continue
            cur = {"tracked": st["vms"], "kvm_debugfs_dirs":
                   len(sl.kvm_debugfs_vms()), "slab_kib":
                   sl.meminfo()["Slab"], "vmalloc_kvm": sl.vmalloc_kvm() or 0}
            for k, v in cur.items():
                self.peak[k] = max(self.peak[k], v)
        g.close()


class Churn:
    def __init__(self):
        self.phases = {}          # name -> [(pid, vms made, report)]
        self.errs = []
        self.notes = []

    def run(self):
        g = sl.genl()
        # Warm up (slab caches, KVM's first-VM work), then take baselines.
        d = sl.Driver("--churn", 30, *WORK, hold=False)
        d.wait(timeout=300)
        sl.drained({d.pid}, 120)
        self.cfg0 = sl.config(g)
        # A parked 1-vCPU VM: its DELTA_NTF every 100 ms measure how
        # regularly the module's tick runs while VMs churn. Parked, it
        # changes nothing, so only the heartbeat makes it send them.
        self.probe = sl.Driver("--vcpus", 1, "--cpuid", 5)
        sl.set_config(g, snapshot_ms=100, heartbeat_ms=100)
        self.st0 = sl.status(g)
        time.sleep(1)
        self.slab0 = sl.slabinfo(shrink=True)
        self.vmalloc0 = sl.vmalloc_kvm()
        self.mem0 = sl.meminfo()
        self.sampler = Sampler()
        self.sampler.start()
        self.a = sl.Listener(32 << 20)
        self.b = sl.Listener(1)
        self.slow = threading.Event()
        ra = Reader(self.a, threading.Event())
        rb = Reader(self.b, self.slow)
        ra.start()
        rb.start()
        t = time.time()
        # Low rate: one process per VM.
        low = []
        for _ in range(N_LOW):
            d = sl.Driver("--churn", 1, *WORK, hold=False)
            d.wait(timeout=120)
            low.append((d.pid, 1, d.r))
            time.sleep(0.05)
        self.phases["low rate"] = (low, time.time() - t)
        time.sleep(0.5)
        # High rate, one process.
        self.slow.set()
        t = time.time()
        d = sl.Driver("--churn", N_ONE, *WORK, hold=False)
        d.wait(timeout=1800)
        self.phases["one process"] = ([(d.pid, N_ONE, d.r)], time.time() - t)
        # High rate, four processes at once.
        t = time.time()
        ds = [sl.Driver("--churn", N_PAR, *WORK, hold=False)
              for _ in range(4)]
        for d in ds:
            d.wait(timeout=1800)
        self.phases["4 processes"] = ([(d.pid, N_PAR, d.r) for d in ds],
                                      time.time() - t)
        pids = {p for ph, _ in self.phases.values() for p, _, _ in ph}
        total = sum(n for ph, _ in self.phases.values() for _, n, _ in ph)
        # The sweep unlinks every dead VM at once (they leave the dump
        # together) but sends each VM_GONE right before that VM's
        # kvm_put_kvm(), one destruction after the other: the events lag.
        self.errs_drain, self.drain_s = sl.drained(pids, timeout=600)
        log(f"no VM of ours in the dump {self.drain_s:.1f} s after the "
            "last driver")

        def all_gone():
            return sum(1 for e in list(self.a.events) if e["cmd"] == GONE
                       and sl.ev_pid(e) in pids) >= total
        _, self.gone_s = sl.wait_until(all_gone, 900, 0.5)
        self.gone_s += self.drain_s
        _, w = sl.wait_until(lambda: (sl.vmalloc_kvm() or 0) <=
                             (self.vmalloc0 or 0) + 2, 300, 0.5)
        self.freed_s = self.gone_s + w
        log(f"last VM_GONE {self.gone_s:.1f} s, KVM's vmalloc areas back "
            f"to baseline {self.freed_s:.1f} s after the last driver")
        time.sleep(1)
        ra.stop.set()
        rb.stop.set()
        ra.join()
        rb.join()
        self.sampler.stop.set()
        self.sampler.join()
        self.st1 = sl.status(g)
        sl.set_config(g, snapshot_ms=self.cfg0["snapshot_ms"],
                      heartbeat_ms=self.cfg0["heartbeat_ms"])
        self.probe.stop()
        sl.drained({self.probe.pid}, 60)
        g.close()
        self.pids = pids

    def check_events(self):
        errs, notes = [], []
        total = sum(n for ph, _ in self.phases.values() for _, n, _ in ph)
        a = self.a.events
        gone = [e for e in a if e["cmd"] == GONE and
                sl.ev_pid(e) in self.pids]
        ids = [sl.ev_vm_id(e) for e in gone]
        new_ids = {sl.ev_vm_id(e) for e in a if e["cmd"] == NEW}
        if len(gone) != total:
            other = {}
            for e in a:
                if e["cmd"] == GONE and sl.ev_pid(e) not in self.pids:
                    other[sl.ev_pid(e)] = other.get(sl.ev_pid(e), 0) + 1
            errs.append(f"listener A: {len(gone)} VM_GONE for {total} VMs "
                        f"(VM_GONE of other pids: {other})")
        if len(set(ids)) != len(ids):
            errs.append(f"VM ids reused: {len(ids) - len(set(ids))} "
                        "duplicates among VM_GONE")
        for name, (ph, secs) in self.phases.items():
            for pid, n, r in ph:
                mine = [e for e in gone if sl.ev_pid(e) == pid]
                if len(mine) != n:
                    errs.append(f"{name}: pid {pid}: {len(mine)} VM_GONE "
                                f"for {n} VMs")
                if r and r.get("vms"):
                    ex = r["vms"][0]["expect"]
                    floor = ex["io"] + ex["cpuid"] + ex["hlt"] + ex["msr"]
                    low = [e["vm"]["exits"] for e in mine
                           if e["vm"]["exits"] < floor]
                    if low:
                        errs.append(f"{name}: {len(low)} VMs of pid {pid} "
                                    f"ended with fewer exits than their "
                                    f"work ({min(low)} < {floor})")
            rate = sum(n for _, n, _ in ph) / secs if secs else 0
            notes.append(f"{name}: {sum(n for _, n, _ in ph)} VMs in "
                         f"{secs:.1f} s ({rate:.0f} VMs/s)")
        seen = self.st1["vms_seen"] - self.st0["vms_seen"]
        if seen != total:
            errs.append(f"VMS_SEEN grew by {seen}, {total} VMs made")
        no_new = [i for i in ids if i not in new_ids]
        notes.append(f"{len(no_new)} of {len(ids)} VMs had a VM_GONE but "
                     "no VM_NEW (died before the tick announced them)")
        gaps, back = sl.seq_gaps(a)
        if gaps or back or self.a.overruns:
            errs.append(f"listener A (32 MiB): {gaps} lost, {back} "
                        f"backwards, {self.a.overruns} overruns")
        # Listener B: loss is allowed, but only visibly.
        # Compare A and B over the sequence range both were reading (the
        # probe's DELTAs keep coming while the two stop, not at once).
        a_last = max((e["seq"] for e in a), default=0)
        b = [e for e in self.b.events if e["seq"] <= a_last]
        a_by = {e["seq"]: (e["cmd"], sl.ev_vm_id(e)) for e in a}
        b_seqs = [e["seq"] for e in b]
        wrong = [e["seq"] for e in b if a_by.get(e["seq"]) !=
                 (e["cmd"], sl.ev_vm_id(e))]
        if wrong:
            errs.append(f"listener B got {len(wrong)} events A has not "
                        f"(or different): seqs {wrong[:5]}")
        bgaps, bback = sl.seq_gaps(b)
        if b_seqs:
            lo, hi = b_seqs[0], b_seqs[-1]
            missed_in = sum(1 for s in a_by if lo <= s <= hi) - len(b)
            if bgaps != missed_in or bback:
                errs.append(f"listener B: gaps {bgaps} != events missed "
                            f"{missed_in} (backwards {bback})")
        b_hi = b_seqs[-1] if b_seqs else 0
        missed = len({x for x in a_by if x <= b_hi} - set(b_seqs))
        # EVENTS_LOST counts what the module could not build or hand to
        # netlink. A listener's overflow is invisible to the sender
        # (netlink_broadcast only reports it to senders whose receivers
        # set NETLINK_BROADCAST_ERROR), so it shows only as B's gaps.
        lost = self.st1["events_lost"] - self.st0["events_lost"]
        notes.append(f"listener A: {len(a)} events; listener B (SO_RCVBUF "
                     f"1): {len(b)} events, {bgaps} in gaps, {missed} "
                     f"missed in all, {self.b.overruns} ENOBUFS; module "
                     f"EVENTS_LOST +{lost}, EVENTS_SENT "
                     f"+{self.st1['events_sent'] - self.st0['events_sent']}")
        if missed and not self.b.overruns:
            errs.append("listener B lost events without an ENOBUFS")
        if lost:
            errs.append(f"module EVENTS_LOST grew by {lost}: it failed to "
                        "build or send events")
        absurd = [e["vcpu"]["interval_ns"] for e in a
                  if e["cmd"] == vsnl.VCPUSTAT_CMD_DELTA_NTF and
                  e["vcpu"].get("interval_ns", 0) > 10 ** 12]
        if absurd:
            errs.append(f"{len(absurd)} DELTA_NTF with INTERVAL_NS > 1000 s,"
                        f" e.g. {absurd[0]} (u64 underflow)")
        ivs = [e["vcpu"].get("interval_ns", 0) / 1e9 for e in a
               if e["cmd"] == vsnl.VCPUSTAT_CMD_DELTA_NTF and
               e.get("pid") == self.probe.pid and
               e["vcpu"].get("interval_ns", 0) <= 10 ** 12]
        if ivs:
            ivs.sort()
            notes.append(f"DELTA_NTF of a parked vCPU at a 100 ms period "
                         f"during the churn: {len(ivs)} events, interval "
                         f"median {ivs[len(ivs) // 2]:.2f} s, max "
                         f"{ivs[-1]:.2f} s (the tick worker also destroys "
                         "the VMs)")
        notes.append(f"peaks during the churn: {self.sampler.peak}")
        low_pids = {p for p, _, _ in self.phases["low rate"][0]}
        b_low = [e for e in b if e["cmd"] == GONE and
                 sl.ev_pid(e) in low_pids]
        if len(b_low) != N_LOW:
            errs.append(f"low rate: listener B got {len(b_low)} of {N_LOW}"
                        " VM_GONE")
        return errs, "\n".join(notes)

    def check_memory(self):
        errs = list(self.errs_drain)
        total = sum(n for ph, _ in self.phases.values() for _, n, _ in ph)
        # A leak stays; frees that KVM and the rest of the kernel defer
        # (RCU, workqueues) do not: a cache that looks grown is measured
        # again, for up to 5 s. (CI once saw kmalloc-8 +626 objects at 1 s,
        # and -282 in the same run elsewhere: 8-byte objects of others.)
        for _ in range(5):
            time.sleep(1)
            delta = sl.slab_delta(self.slab0, sl.slabinfo(shrink=True))
            big = {k: v for k, v in delta.items()
                   if v[0] > max(total // 2, 64)}
            if not big:
                break
            log(f"slab caches grown at this read: {big}")
        tb, top = sl.slab_report(delta)
        if big:
            errs.append(f"slab caches grew by >= 1 object per 2 VMs: {big}")
        vm1 = sl.vmalloc_kvm()
        if self.vmalloc0 is not None and vm1 is not None and \
                vm1 > self.vmalloc0 + 4:
            errs.append(f"KVM vmalloc areas {self.vmalloc0} -> {vm1}")
        mem1 = sl.meminfo()
        g = sl.genl()
        errs += sl.consistency(g)
        g.close()
        return errs, (f"{total} VMs; after the last driver: none in the "
                      f"dump at {self.drain_s:.1f} s, last VM_GONE at "
                      f"{self.gone_s:.1f} s, KVM memory freed at "
                      f"{self.freed_s:.1f} s; slab growth {tb / 1024:.0f} KiB "
                      f"({top}); KVM vmalloc areas {self.vmalloc0} -> {vm1};"
                      f" Slab {self.mem0['Slab']} -> {mem1['Slab']} KiB, "
                      f"MemAvailable {self.mem0['MemAvailable']} -> "
                      f"{mem1['MemAvailable']} KiB")


def t_debugfs():
    """KVM names a VM's debugfs directory "<pid>-<vm fd>". A process that
    closes a VM and creates the next one gets the same fd: if the module
    still held the old struct kvm (pinned lifecycle, until its sweep), KVM
    would find the name taken, log "duplicate directory" and create the new
    VM with no debugfs at all (F2)."""
    d = sl.Driver("--churn", 3, "--vcpus", 1, "--cpuid", 10)
    try:
        time.sleep(1.0)       # every sweep is done: only the held VM left
        dirs = sl.kvm_debugfs_vms({d.pid})
    finally:
        d.stop()
    sl.drained({d.pid}, 60)
    if not dirs:
        return [f"the VM held after 3 back-to-back VMs (pid {d.pid}) has "
                "no KVM debugfs directory: its name was taken by the "
                "previous VM, still pinned by vcpustat"], None
    return [], f"held VM's debugfs: {dirs}"


def main():
    names = ["churn_ran", "one_vm_gone_per_vm_ids_unique",
             "memory_back_to_baseline", "kvm_debugfs_of_next_vm",
             "dmesg_clean"]
    k = sl.Ktap("stress_churn", names)
    why = sl.preflight()
    if why:
        k.skip_rest(why)
        return 4
    dm = sl.Dmesg()
    c = Churn()
    t = time.time()
    try:
        c.run()
    except Exception as e:  # noqa: BLE001
        import traceback
        k.result("churn_ran", False, repr(e) + "\n" +
                 traceback.format_exc()[-1200:])
        k.skip_rest("churn did not complete")
        return 1
    k.result("churn_ran", True, f"{time.time() - t:.1f} s")
    k.run("one_vm_gone_per_vm_ids_unique", c.check_events)
    k.run("memory_back_to_baseline", c.check_memory)
    # RELIABILITY.md F2: fixed by the destruction hook; a known limit of
    # the pinned fallback lifecycle (destroy_hook=N).
    try:
        with open("/sys/module/vcpustat/parameters/destroy_hook") as f:
            hooked = f.read().strip() == "Y"
    except OSError:
        hooked = False
    k.run("kvm_debugfs_of_next_vm", t_debugfs,
          todo=None if hooked else
          "F2: destroy_hook=N pins the previous VM until its sweep")
    dup = [ln for ln in dm.new() if "duplicate directory" in ln]
    if dup:
        log(f"{len(dup)} 'KVM: debugfs: duplicate directory' messages "
            "(rate limited) during the campaign")
    bad = dm.bad()
    k.result("dmesg_clean", not bad, "\n".join(bad[:20]))
    return k.finish()


if __name__ == "__main__":
    sys.exit(main())
