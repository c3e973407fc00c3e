#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Campaign 2: bounded concurrency storm, with the module unloaded and
reloaded in the middle of it.

For S seconds (quick 30, VCPUSTAT_STRESS=1: 240) all of this runs at once:
 - 2 VMs x 2 vCPUs at full exit rate (io, cpuid, hlt, msr) with forced
   pCPU moves (kvm_workload --seconds);
 - a churner creating and destroying VMs back to back (--churn);
 - 4 reader processes: vCPU dumps, VM dumps, GET_CONFIG, and dumps
   abandoned after the first read (socket closed mid-dump); every complete
   dump that was not flagged NLM_F_DUMP_INTR must be ordered and free of
   duplicates;
 - 2 listener processes on the "events" group (32 MiB buffers: no loss
   allowed), following the family across the reload through nlctrl's
   notifications;
 - a reset loop (RESET of every VM, by id and all at once);
 - `vcpustat autopin --dry-run` and `vcpustat export --listen` (scraped
   every 0.1 s) when the tool is built: both must live through every
   reload (RELIABILITY.md F8): autopin logs one module-gone and one
   module-back per reload and stops cleanly on SIGTERM; the exporter
   serves vcpustat_up 1, then 0 while the module is out (the reload
   waits until a scrape saw it), then 1 again;
 - DELTA events every 100 ms.
In the middle (quick: once; long: 3 times) the module is removed (retried
while a dump in flight pins it) and inserted again, and a fresh VM that
lives entirely inside the new load must then show exact counts (the
driver's expect for io/cpuid/hlt/msr, migrations) while the storm goes on,
and a VM_GONE with its final count.

Afterwards: no VM of ours tracked, every struct kvm of ours freed (KVM
debugfs), status counts consistent with a dump, module refcount back to its
baseline, kmalloc/skbuff slab growth small.
Exit: 0 pass, 1 fail, 4 skip.
"""
import errno
import json
import multiprocessing as mp
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stress_lib as sl  # noqa: E402
from stress_lib import vsnl, log  # noqa: E402

SECONDS = int(os.environ.get("VCPUSTAT_STORM_SECONDS") or
              (240 if sl.LONG else 20))
CYCLES = 3 if sl.LONG else 1
CTRL_CMD_NEWFAMILY, CTRL_CMD_DELFAMILY = 1, 2


def reader(idx, stop, out):
    """Dump in a loop; survive the family going away and coming back."""
    rng = random.Random(idx)
    st = {"vcpu_dumps": 0, "vm_dumps": 0, "configs": 0, "aborted": 0,
          "intr": 0, "errors": {}, "reconnects": 0, "bad": []}
    g = None
    while not stop.is_set():
        try:
            if g is None:
                g = vsnl.Genl()
            x = rng.random()
            if x < 0.45:
                replies, intr = g.request(vsnl.VCPUSTAT_CMD_GET_VCPU,
                                          dump=True)
                st["vcpu_dumps"] += 1
                if intr:
                    st["intr"] += 1
                else:
                    keys = []
                    for _, body in replies:
                        d = vsnl.decode_top(vsnl.VCPUSTAT_CMD_GET_VCPU, body)
                        keys.append((d["vm_id"], d["vcpu"]["idx"]))
                    if keys != sorted(set(keys)) and len(st["bad"]) < 5:
                        st["bad"].append(f"unordered/duplicate dump: {keys}")
            elif x < 0.7:
                replies, intr = g.request(vsnl.VCPUSTAT_CMD_GET_VM, dump=True)
                st["vm_dumps"] += 1
                ids = [vsnl.decode_top(c, b)["vm"]["vm_id"]
                       for c, b in replies]
                if ids != sorted(set(ids)) and len(st["bad"]) < 5:
                    st["bad"].append(f"VM dump not ascending: {ids}")
            elif x < 0.85:
                vsnl.get_config(g)
                st["configs"] += 1
            else:
                # Start a dump, read one part, close the socket.
                g.send(g.family, vsnl.NLM_F_DUMP, vsnl.VCPUSTAT_CMD_GET_VCPU,
                       1)
                try:
                    g.recv_msgs(timeout=2)
                except TimeoutError:
                    pass
                g.close()
                g = None
                st["aborted"] += 1
        except vsnl.NetlinkError as e:
            k = errno.errorcode.get(e.errno, str(e.errno))
            st["errors"][k] = st["errors"].get(k, 0) + 1
            if g:
                g.close()
            g = None
            st["reconnects"] += 1
            time.sleep(0.05)
        except (OSError, TimeoutError, RuntimeError) as e:
            k = type(e).__name__ + (f":{e.errno}" if isinstance(e, OSError)
                                    else "")
            st["errors"][k] = st["errors"].get(k, 0) + 1
            if g:
                g.close()
            g = None
            st["reconnects"] += 1
            time.sleep(0.05)
    if g:
        g.close()
    out.put(("reader", idx, st))


def listener(idx, stop, out):
    """Events per module load ("epoch"), following nlctrl's notify group."""
    epochs = [[]]
    st = {"overruns": 0, "ctrl": [], "rejoin_fail": 0}
    while True:
        try:
            lst = sl.Listener(32 << 20, ctrl_notify=True)
            break
        except Exception:  # noqa: BLE001 - module reloading at start
            time.sleep(0.1)
    while not stop.is_set():
        n_ctrl = len(lst.ctrl_events)
        try:
            lst.recv(timeout=0.2)
        except OSError:
            st["overruns"] += 1
        for cmd, body in lst.ctrl_events[n_ctrl:]:
            name = None
            for t, p in vsnl.parse_attrs(body):
                if t == vsnl.CTRL_ATTR_FAMILY_NAME:
                    name = vsnl.cstr(p)
            if name != vsnl.VCPUSTAT_GENL_NAME:
                continue
            st["ctrl"].append(cmd)
            if cmd == CTRL_CMD_DELFAMILY:
                # Events of the old load end here.
                epochs[-1].extend(lst.events)
                lst.events = []
                epochs.append([])
            elif cmd == CTRL_CMD_NEWFAMILY:
                for _ in range(50):
                    try:
                        lst.rejoin()
                        break
                    except Exception:  # noqa: BLE001
                        time.sleep(0.1)
                else:
                    st["rejoin_fail"] += 1
    # What is still queued, for 5 s at most: a live VM's DELTAs would
    # never let the socket go quiet.
    end = time.time() + 5
    while time.time() < end:
        try:
            if lst.recv(timeout=0.3) is None:
                break
        except OSError:
            st["overruns"] += 1
    epochs[-1].extend(lst.events)
    lst.close()
    st["overruns"] += lst.overruns
    slim = [[(e["seq"], e["cmd"], sl.ev_vm_id(e), sl.ev_pid(e),
              e.get("vm", {}).get("exits"),
              e.get("vcpu", {}).get("interval_ns")) for e in ep]
            for ep in epochs]
    out.put(("listener", idx, {"epochs": slim, **st}))


def resetter(stop, phase, storm_pids, out):
    st = {"by_id": 0, "all": 0, "enoent": 0, "errors": 0}
    g, i = None, 0
    while not stop.is_set():
        try:
            if g is None:
                g = vsnl.Genl()
            i += 1
            vms = vsnl.dump_vms(g)
            for vm in vms:
                if phase.value == 1 or vm["pid"] in storm_pids:
                    try:
                        g.request(vsnl.VCPUSTAT_CMD_RESET,
                                  vsnl.nla_u64(vsnl.VCPUSTAT_A_VM_ID,
                                               vm["vm_id"]))
                        st["by_id"] += 1
                    except vsnl.NetlinkError as e:
                        if e.errno != errno.ENOENT:
                            raise
                        st["enoent"] += 1
            if phase.value == 1 and i % 5 == 0:
                g.request(vsnl.VCPUSTAT_CMD_RESET)
                st["all"] += 1
            time.sleep(0.02)
        except (vsnl.NetlinkError, OSError, TimeoutError):
            st["errors"] += 1
            if g:
                g.close()
            g = None
            time.sleep(0.05)
    if g:
        g.close()
    out.put(("resetter", 0, st))


class Exporter:
    """`vcpustat export --listen` plus a scraper thread recording every
    change of vcpustat_up as scraped (HTTP status and value)."""

    def __init__(self):
        self.err = open("/tmp/vs-storm-export.err", "w+")
        self.p = subprocess.Popen(
            [sl.TOOL, "export", "--listen", "127.0.0.1:0", "--interval",
             "0.2"], stdout=subprocess.DEVNULL, stderr=self.err)
        self.port = None
        end = time.time() + 60
        while time.time() < end and self.port is None:
            self.err.seek(0)
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)",
                          self.err.read())
            if m:
                self.port = int(m.group(1))
            elif self.p.poll() is not None:
                break
            time.sleep(0.1)
        self.ups = []           # (time, up) on every change
        self.bad = []           # scrapes that were not a 200 with vcpustat_up
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.scrape)
        if self.port:
            self.t.start()

    def scrape(self):
        url = f"http://127.0.0.1:{self.port}/metrics"
        while not self.stop.is_set():
            try:
                with urllib.request.urlopen(url, timeout=10) as r:
                    body = r.read().decode()
                m = re.search(r"^vcpustat_up (\d+)$", body, re.M)
                if not m:
                    raise ValueError("no vcpustat_up")
                up = int(m.group(1))
                if not self.ups or self.ups[-1][1] != up:
                    self.ups.append((time.time(), up))
            except Exception as e:  # noqa: BLE001
                if len(self.bad) < 5:
                    self.bad.append(repr(e)[:160])
            time.sleep(0.1)

    def wait_up(self, up, timeout):
        """Until the latest scrape says vcpustat_up == @up (the callers
        wait for a change: 1 -> 0 with the module out, 0 -> 1 back)."""
        end = time.time() + timeout
        while time.time() < end:
            if self.ups and self.ups[-1][1] == up:
                return True
            time.sleep(0.05)
        return False

    def finish(self):
        """Stop scraping, SIGTERM; returns (alive before, exit code)."""
        self.stop.set()
        if self.t.is_alive():
            self.t.join()
        alive = self.p.poll() is None
        self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = "hung on SIGTERM"
        self.err.seek(0)
        self.log = self.err.read().splitlines()
        self.err.close()
        return alive, rc


class Storm:
    def __init__(self):
        self.errs = []          # the storm itself
        self.exact_errs = []    # the exact-count VMs
        self.notes = []
        self.pids = set()
        self.stop = mp.Event()
        self.phase = mp.Value("i", 1)
        self.out = mp.Queue()
        self.churn_stop = threading.Event()
        self.churn_runs = 0
        self.churn_fail = []

    def churner(self):
        while not self.churn_stop.is_set():
            try:
                d = sl.Driver("--churn", 10, "--vms", 2, "--vcpus", 1,
                              "--cpuid", 20, "--io", 5, hold=False)
                self.pids.add(d.pid)
                d.wait(timeout=300)
                self.churn_runs += 1
            except Exception as e:  # noqa: BLE001
                self.churn_fail.append(str(e)[:200])
                time.sleep(0.2)

    def exact_vm(self, cycle):
        """A VM born and dead inside one load: exact counts while the storm
        goes on, then a VM_GONE carrying its final count."""
        lst = sl.Listener(32 << 20)
        drv = sl.Driver("--vcpus", 2, "--io", 200, "--cpuid", 200,
                        "--hlt", 10, "--rdmsr", 20, "--wrmsr", 10,
                        "--hop", self.hop, "--hops", 4)
        self.pids.add(drv.pid)
        g = sl.genl()
        try:
            errs = sl.check_exact(g, drv, f"cycle {cycle}: ")
            vm = [v for v in vsnl.dump_vms(g) if v["pid"] == drv.pid]
            time.sleep(1)
            errs += [e + " (1 s later)" for e in
                     sl.check_exact(g, drv, f"cycle {cycle}: ")]
        finally:
            g.close()
            drv.stop()
        t_end = time.time()
        gone = []
        while time.time() < t_end + 180 and not gone:
            lst.recv(timeout=0.5)
            gone = [e for e in lst.events if e["cmd"] ==
                    vsnl.VCPUSTAT_CMD_VM_GONE_NTF and sl.ev_pid(e) == drv.pid]
        lst.close()
        vm_id = vm[0]["vm_id"] if vm else None
        exits = vm[0]["exits"] if vm else None
        if len(gone) != 1 or sl.ev_vm_id(gone[0]) != vm_id or \
                gone[0]["vm"]["exits"] != exits:
            errs.append(f"cycle {cycle}: exact VM {vm_id} ({exits} exits): "
                        f"VM_GONE {[g_['vm'] for g_ in gone]}")
        lag = gone[0]["t"] - t_end if gone else None
        self.exact_ids.append((cycle, vm_id, exits, drv.pid,
                               round(lag, 1) if lag is not None else None))
        return errs

    def run(self):
        t0 = time.time()
        ncpu = os.cpu_count()
        self.hop = f"0-{ncpu - 1}" if ncpu > 1 else "0"
        g = sl.genl()
        self.cfg0 = sl.config(g)
        self.slab0 = sl.slabinfo()
        self.ref0 = sl.module_refcnt()
        sl.set_config(g, snapshot_ms=100)
        g.close()
        storm = [sl.Driver("--vms", 2, "--vcpus", 2, "--cpuid", 1000,
                           "--io", 1000, "--hlt", 20, "--rdmsr", 50,
                           "--hop", self.hop, "--hops", 10 if ncpu > 1 else 0,
                           "--seconds", SECONDS, hold=False)]
        self.pids.add(storm[0].pid)
        procs = [mp.Process(target=reader, args=(i, self.stop, self.out))
                 for i in range(4)]
        procs += [mp.Process(target=listener, args=(i, self.stop, self.out))
                  for i in range(2)]
        procs.append(mp.Process(target=resetter, args=(
            self.stop, self.phase, [storm[0].pid], self.out)))
        for p in procs:
            p.start()
        churn = threading.Thread(target=self.churner)
        churn.start()
        autopin = exporter = None
        if os.access(sl.TOOL, os.X_OK):
            self.ap_out = open("/tmp/vs-storm-autopin.log", "w")
            autopin = subprocess.Popen(
                [sl.TOOL, "autopin", "--dry-run", "--window", "1", "-j",
                 "-v"], stdout=self.ap_out, stderr=subprocess.STDOUT)
            exporter = Exporter()
            if not exporter.port:
                self.errs.append("exporter did not start")
            elif not exporter.wait_up(1, 30):
                self.errs.append(f"exporter: no vcpustat_up 1 at start: "
                                 f"{exporter.ups}")
        self.exact_ids = []
        self.reloads = []
        time.sleep(2)   # let everything reach full speed
        slot = (SECONDS - 6) / CYCLES
        for c in range(CYCLES):
            time.sleep(max(0.0, slot * 0.3))
            self.phase.value = 1
            log(f"reload {c + 1}/{CYCLES} at {time.time() - t0:.1f} s")
            t = time.time()
            ok, attempts, last = sl.rmmod(timeout=60)
            t_rm = time.time() - t
            if not ok:
                self.errs.append(f"cycle {c}: rmmod failed after "
                                 f"{attempts} tries: {last}")
                break
            time.sleep(0.3)
            if exporter and exporter.port and \
                    not exporter.wait_up(0, 20):
                self.errs.append(f"cycle {c}: no scrape saw vcpustat_up 0 "
                                 f"in 20 s with the module out: "
                                 f"{exporter.ups[-3:]}")
            sl.insmod()
            self.phase.value = 2
            self.reloads.append((attempts, round(t_rm, 2), last))
            try:
                sl.genl().request(vsnl.VCPUSTAT_CMD_SET_CONFIG, vsnl.nla_nest(
                    vsnl.VCPUSTAT_A_CONFIG, vsnl.nla_u32(
                        vsnl.VCPUSTAT_CONFIG_A_SNAPSHOT_MS, 100)))
                self.exact_errs += self.exact_vm(c)
            except Exception as e:  # noqa: BLE001
                self.exact_errs.append(f"cycle {c}: exact VM: {e!r}")
            if exporter and exporter.port and \
                    not exporter.wait_up(1, 30):
                self.errs.append(f"cycle {c}: vcpustat_up not back to 1 "
                                 f"30 s after insmod: {exporter.ups[-3:]}")
        log(f"reloads done at {time.time() - t0:.1f} s; storm runs on")
        # The rest of the storm, then stop everything.
        for d in storm:
            try:
                d.wait(timeout=SECONDS + 300)
            except Exception as e:  # noqa: BLE001
                self.errs.append(f"storm VM: {e}")
        self.churn_stop.set()
        churn.join()
        self.stop.set()
        results = []
        for _ in procs:
            try:
                results.append(self.out.get(timeout=120))
            except Exception:  # noqa: BLE001
                self.errs.append("a storm process did not report")
                break
        for p in procs:
            p.join(timeout=30)
            if p.exitcode != 0:
                self.errs.append(f"storm process {p.name} exit {p.exitcode}")
        if exporter:
            alive, rc = exporter.finish()
            seq = "".join(str(u) for _, u in exporter.ups)
            self.notes.append(f"export: up as scraped {seq}, exit {rc}, "
                              f"log {exporter.log[:6]}")
            if not alive:
                self.errs.append(f"exporter died: {exporter.log[-3:]}")
            if rc != 0:
                self.errs.append(f"exporter exit {rc} after SIGTERM")
            if exporter.port and seq != "1" + "01" * len(self.reloads):
                self.errs.append(f"vcpustat_up as scraped went {seq}, want "
                                 f"{'1' + '01' * len(self.reloads)}")
            if exporter.bad:
                self.errs.append(f"failed scrapes: {exporter.bad}")
        if autopin:
            ap_alive = autopin.poll() is None
            if not ap_alive:
                self.errs.append(f"autopin died during the storm: exit "
                                 f"{autopin.returncode}")
            autopin.send_signal(signal.SIGTERM)
            try:
                rc = autopin.wait(timeout=30)
            except subprocess.TimeoutExpired:
                autopin.kill()
                rc = "hung on SIGTERM"
            self.ap_out.close()
            lines = open("/tmp/vs-storm-autopin.log").read().splitlines()
            self.notes.append(f"autopin --dry-run: exit {rc}, "
                              f"{len(lines)} log lines; last: "
                              f"{lines[-1][:160] if lines else ''}")
            if rc:
                other = [ln for ln in lines if not ln.startswith("{")][:4]
                self.notes += [f"autopin: {ln[:200]}" for ln in other]
            if rc != 0:
                self.errs.append(f"autopin ended badly: {rc}")
            acts = []
            for ln in lines:
                try:
                    acts.append(json.loads(ln).get("action"))
                except ValueError:
                    pass
            self.notes += [f"autopin: {ln[:200]}" for ln in lines
                           if '"module-' in ln or '"resumed"' in ln]
            n_gone = acts.count("module-gone")
            n_back = acts.count("module-back")
            self.notes.append(f"autopin: {n_gone} module-gone, {n_back} "
                              f"module-back for {len(self.reloads)} reloads")
            if n_gone != len(self.reloads) or n_back != len(self.reloads):
                self.errs.append(f"autopin: {n_gone} module-gone and "
                                 f"{n_back} module-back lines, want "
                                 f"{len(self.reloads)} each")
            if "stop" not in acts or acts[-1] != "exit":
                self.errs.append(f"autopin's last lines: {lines[-2:]}")
        else:
            self.notes.append("autopin: user/vcpustat not built, not run")
        self.results = results
        self.elapsed = time.time() - t0
        self.storm = storm

    def check(self):
        errs, notes = [], []
        readers = [r[2] for r in self.results if r[0] == "reader"]
        listeners = [r[2] for r in self.results if r[0] == "listener"]
        resets = [r[2] for r in self.results if r[0] == "resetter"]
        tot = {}
        for r in readers:
            for k, v in r.items():
                if isinstance(v, int):
                    tot[k] = tot.get(k, 0) + v
            errs += r["bad"]
        rerr = {}
        for r in readers:
            for k, v in r["errors"].items():
                rerr[k] = rerr.get(k, 0) + v
        notes.append(f"readers: {tot}; errors while reloading: {rerr}")
        if not tot.get("vcpu_dumps"):
            errs.append("readers completed no dump")
        for i, lst in enumerate(listeners):
            ep = lst["epochs"]
            summary = []
            for n, evs in enumerate(ep):
                gaps, back = sl.seq_gaps([{"seq": e[0]} for e in evs])
                cnt = {}
                for e in evs:
                    cnt[e[1]] = cnt.get(e[1], 0) + 1
                ivs = [e[5] for e in evs if e[1] ==
                       vsnl.VCPUSTAT_CMD_DELTA_NTF and e[5]]
                absurd = [x for x in ivs if x > 10 ** 12]
                if absurd:
                    errs.append(f"listener {i} load {n}: {len(absurd)} "
                                f"DELTA_NTF with INTERVAL_NS > 1000 s, e.g. "
                                f"{absurd[0]} (u64 underflow)")
                    ivs = [x for x in ivs if x <= 10 ** 12]
                summary.append(f"load {n}: {len(evs)} events, gaps {gaps}, "
                               f"{cnt.get(vsnl.VCPUSTAT_CMD_DELTA_NTF, 0)} "
                               f"DELTA (100 ms period) with intervals up to "
                               f"{max(ivs) / 1e9 if ivs else 0:.2f} s")
                if gaps or back:
                    errs.append(f"listener {i} load {n}: {gaps} lost, "
                                f"{back} backwards")
                gone = [e[2] for e in evs if e[1] ==
                        vsnl.VCPUSTAT_CMD_VM_GONE_NTF]
                new = [e[2] for e in evs if e[1] ==
                       vsnl.VCPUSTAT_CMD_VM_NEW_NTF]
                if len(gone) != len(set(gone)) or len(new) != len(set(new)):
                    errs.append(f"listener {i} load {n}: a VM id announced "
                                "or gone twice")
            notes.append(f"listener {i}: {'; '.join(summary)}; ctrl "
                         f"{lst['ctrl']}; overruns {lst['overruns']}")
            if lst["overruns"]:
                errs.append(f"listener {i}: {lst['overruns']} overruns")
            if len(ep) != CYCLES + 1:
                errs.append(f"listener {i}: saw {len(ep) - 1} reloads, "
                            f"want {CYCLES}")
        notes.append(f"reset loop: {resets[0] if resets else None}")
        notes.append(f"reloads (rmmod attempts, s, last error): "
                     f"{self.reloads}; each rmmod call took {sl.RMMOD_TIMES}"
                     " s")
        top = sorted(sl.RMMOD_STACKS.items(), key=lambda kv: -kv[1])[:4]
        for stack, n in top:
            notes.append(f"rmmod kernel stack x{n} (0.2 s samples): "
                         f"{stack}")
        notes.append(f"churn: {self.churn_runs} runs of 10 x 2 VMs"
                     + (f"; failures {self.churn_fail[:2]}"
                        if self.churn_fail else ""))
        if self.churn_fail:
            errs.append(f"churner failed: {self.churn_fail[:2]}")
        r = self.storm[0].r or {}
        notes.append(f"storm VMs: {r.get('expect')}")
        return errs, notes

    def leaks(self):
        errs, notes = [], []
        e, waited = sl.drained(self.pids, timeout=120)
        errs += e
        notes.append(f"all {len(self.pids)} workload processes' VMs untracked"
                     f" and freed {waited:.1f} s after the storm")
        g = sl.genl()
        errs += sl.consistency(g)
        st = sl.status(g)
        notes.append(f"status after: vms {st['vms']} vcpus {st['vcpus']} "
                     f"alloc_fail {st['alloc_fail']} events_lost "
                     f"{st['events_lost']}")
        c = self.cfg0
        sl.set_config(g, snapshot_ms=c["snapshot_ms"], timing=c["timing"],
                      migr_rate=c["migr_rate"],
                      timing_every=c["timing_every"])
        g.close()
        ok, _ = sl.wait_until(lambda: sl.module_refcnt() == self.ref0, 10)
        if not ok:
            errs.append(f"module refcnt {sl.module_refcnt()} != baseline "
                        f"{self.ref0}")
        time.sleep(1)
        total, top = sl.slab_report(sl.slab_delta(self.slab0,
                                                  sl.slabinfo()))
        notes.append(f"slab growth {total / 1024:.0f} KiB: {top}")
        if total > 2 << 20:
            errs.append(f"kmalloc/skbuff slabs grew {total >> 10} KiB")
        return errs, notes


def main():
    names = ["storm_ran_with_reload", "events_and_dumps_consistent",
             "exact_counts_inside_one_load", "no_leaks_after_storm",
             "dmesg_clean"]
    k = sl.Ktap("stress_storm", names)
    why = sl.preflight()
    if why:
        k.skip_rest(why)
        return 4
    if not os.path.exists(sl.KO):
        k.skip_rest(f"no {sl.KO} to reload")
        return 4
    dm = sl.Dmesg()
    s = Storm()
    try:
        s.run()
    except Exception as e:  # noqa: BLE001
        import traceback
        s.stop.set()
        s.churn_stop.set()
        k.result("storm_ran_with_reload", False,
                 repr(e) + "\n" + traceback.format_exc()[-1500:])
        if not sl.module_loaded():
            sl.insmod()
        k.skip_rest("storm did not complete")
        return 1
    k.result("storm_ran_with_reload", not s.errs,
             "\n".join(s.errs + s.notes) +
             f"\n{SECONDS} s storm, {CYCLES} reload(s), {s.elapsed:.1f} s")
    errs, notes = s.check()
    k.result("events_and_dumps_consistent", not errs,
             "\n".join(errs[:20] + notes))
    ex = s.exact_errs
    k.result("exact_counts_inside_one_load", not ex and bool(s.exact_ids),
             "\n".join(ex[:20]) + "\nexact VMs (cycle, id, exits, pid, "
             "s from its end to its VM_GONE): "
             f"{s.exact_ids}")
    k.run("no_leaks_after_storm", s.leaks)
    bad = dm.bad()
    k.result("dmesg_clean", not bad, "\n".join(bad[:20]))
    return k.finish()


if __name__ == "__main__":
    sys.exit(main())
