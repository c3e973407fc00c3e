#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The family's YNL spec (include/uapi/linux/vcpustat.yaml) driven through
# the kernel's own netlink client, tools/net/ynl/cli.py from Debian's
# linux-source-6.12 (unpacked on the host into build/ynl by
# scripts/ynl-check; the rig sees the host's files over 9p). With a parked
# kvm_workload VM, what ynl decodes must equal what `vcpustat dump -j`
# reports for it, value for value:
#   1. --dump get-vcpu: every vCPU's identity (id, idx, tid, pCPU, isa),
#      exits, per-reason counts and times, histogram, migrations by
#      distance and residency;
#   2. --dump get-vm and 3. --do get-vm (vm-id): the VM's totals;
#   4. --do get-config: the config, and the status the tool reports;
#   5. with dump_budget=1 every vCPU is split at each residency CPU: ynl
#      shows exactly one `continued` part per CPU after the first, and the
#      parts put together equal test 1's vCPUs;
#   6. ynl's library subscribed to "events" while a second VM comes, moves
#      and goes: one vm-new and one vm-gone of it, equal to its dump -j
#      (the final totals), migrate-ntf with a distance name, seq gapless.
# Env: YNL_SPEC (another spec, to see this test fail on a wrong one).
# Usage: ynl_test.sh (root; vcpustat loaded; kvm_workload and the tool
# built; scripts/ynl-check run once on the host). Exit: 0 passed, 1 a case
# failed, 4 skipped (not root, no /dev/kvm, module, ynl or python3-yaml).
set -u
DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
TOP=$(dirname "$DIR")
WL=${KVM_WORKLOAD:-$DIR/kvm_workload}
VS=${VCPUSTAT:-$TOP/user/vcpustat}
YNL=${YNL_DIR:-$TOP/build/ynl}/tools/net/ynl/cli.py
SPEC=${YNL_SPEC:-$TOP/include/uapi/linux/vcpustat.yaml}
BUDGET=/sys/module/vcpustat/parameters/dump_budget
# Debian's python3 with python3-yaml, not a pyenv shim (slow under TCG).
PY=/usr/bin/python3

skip_all() {
	echo "KTAP version 1"
	echo "1..0 # SKIP $*"
	exit 4
}

[ "$(id -u)" -eq 0 ] || skip_all "must be root"
[ -c /dev/kvm ] || skip_all "no /dev/kvm"
[ -d /sys/module/vcpustat ] || skip_all "vcpustat module not loaded"
[ -e "$YNL" ] || skip_all "no ynl at $YNL (run scripts/ynl-check on the host)"
"$PY" -c 'import yaml' 2>/dev/null || skip_all "no python3-yaml for $PY"
if ! [ -x "$WL" ] || ! [ -x "$VS" ]; then
	echo "KTAP version 1"
	echo "1..1"
	echo "not ok 1 $WL or $VS missing: run make -C selftests and make -C user"
	exit 1
fi

TMP=$(mktemp -d /tmp/ynl_test.XXXXXX) || exit 1
WPID=
OLD_BUDGET=$(cat "$BUDGET" 2>/dev/null)
cleanup() {
	[ -n "$WPID" ] && kill -USR1 "$WPID" 2>/dev/null && wait "$WPID"
	[ -n "$OLD_BUDGET" ] && echo "$OLD_BUDGET" >"$BUDGET"
	rm -rf "$TMP"
}
trap cleanup EXIT

# A VM of 2 vCPUs with every exact exit kind, moved between pCPUs (so the
# residency has several CPUs to split at), then parked: its counters stay
# still while both clients read them.
HOPS=0
[ "$(getconf _NPROCESSORS_ONLN)" -ge 2 ] && HOPS=3
"$WL" --vcpus 2 --io 100 --cpuid 50 --hlt 5 --rdmsr 10 --wrmsr 10 \
	--mmio 5 --chunk 25 --hops "$HOPS" --hold \
	--ready-file "$TMP/ready" --json "$TMP/wl.json" 2>"$TMP/wl.err" &
WPID=$!
for _ in $(seq 600); do
	[ -e "$TMP/ready" ] && break
	kill -0 "$WPID" 2>/dev/null || break
	sleep 0.1
done
if ! [ -e "$TMP/ready" ]; then
	grep -q SKIP "$TMP/wl.err" && skip_all "kvm_workload: $(cat "$TMP/wl.err")"
	echo "KTAP version 1"
	echo "1..1"
	sed 's/^/# /' "$TMP/wl.err"
	echo "not ok 1 kvm_workload did not park a VM"
	exit 1
fi

ynl() { # OUT ynl-args...: the kernel's client, JSON out
	local out=$1
	shift
	timeout 120 "$PY" "$YNL" --spec "$SPEC" --no-schema --output-json "$@" \
		>"$TMP/$out" 2>"$TMP/$out.err"
}

"$VS" -P "$WPID" dump -j >"$TMP/dump.json" 2>"$TMP/dump.err"
"$VS" config -j >"$TMP/config.json" 2>"$TMP/config.err"
ynl vcpu.json --dump get-vcpu --json "{\"pid\": $WPID}"
ynl vm.json --dump get-vm --json "{\"pid\": $WPID}"
VMID=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["vms"][0]["vm_id"])' \
	"$TMP/dump.json" 2>/dev/null)
ynl vmdo.json --do get-vm --json "{\"vm-id\": ${VMID:-0}}"
ynl cfg.json --do get-config
if [ -w "$BUDGET" ]; then
	echo 1 >"$BUDGET"
	ynl split.json --dump get-vcpu --json "{\"pid\": $WPID}"
	echo "${OLD_BUDGET:-0}" >"$BUDGET"
fi

# Events: a listener on the kernel's ynl library subscribed to "events"
# while a second VM (moved between pCPUs) comes, is dumped, and goes.
cat >"$TMP/listen.py" <<'PYEOF'
import json, os, sys, time
ynl_lib, spec, tmp = sys.argv[1:4]
sys.path.insert(0, ynl_lib)
from lib import YnlFamily
ynl = YnlFamily(spec, "")
ynl.ntf_subscribe("events")
open(os.path.join(tmp, "lready"), "w").close()
t = time.monotonic()
while not os.path.exists(os.path.join(tmp, "lstop")) and \
        time.monotonic() - t < 60:
    ynl.check_ntf()
    time.sleep(0.1)
ynl.check_ntf()
json.dump(ynl.async_msg_queue, open(os.path.join(tmp, "ntf.json"), "w"))
PYEOF
"$PY" "$TMP/listen.py" "$(dirname "$YNL")" "$SPEC" "$TMP" 2>"$TMP/listen.err" &
LPID=$!
for _ in $(seq 600); do
	[ -e "$TMP/lready" ] && break
	kill -0 "$LPID" 2>/dev/null || break
	sleep 0.1
done
if [ -e "$TMP/lready" ]; then
	"$WL" --vcpus 1 --io 40 --chunk 10 --hops "$HOPS" --hold \
		--ready-file "$TMP/ready2" --json "$TMP/wl2.json" 2>"$TMP/wl2.err" &
	W2=$!
	for _ in $(seq 600); do
		[ -e "$TMP/ready2" ] && break
		kill -0 "$W2" 2>/dev/null || break
		sleep 0.1
	done
	"$VS" -P "$W2" dump -j >"$TMP/dump2.json" 2>"$TMP/dump2.err"
	kill -USR1 "$W2" 2>/dev/null
	wait "$W2"
	# vm-gone is sent when KVM destroys the VM: wait until it is gone
	for _ in $(seq 100); do
		"$VS" -P "$W2" dump -j 2>/dev/null | grep -q '"vms":\[\]' && break
		sleep 0.1
	done
	echo "$W2" >"$TMP/w2pid"
fi
touch "$TMP/lstop"
wait "$LPID"

"$PY" - "$TMP" "$WPID" "$HOPS" <<'PYEOF'
import json, os, sys

tmp, pid, hops = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
res = []
diag = []  # printed after the KTAP plan


def load(name):
    """ynl's --output-json output (one JSON text) or None, with why."""
    p = os.path.join(tmp, name)
    try:
        return json.load(open(p)), ""
    except Exception as e:
        err = open(p + ".err").read() if os.path.exists(p + ".err") else ""
        return None, f"{name}: {e!r} {err.strip()[-300:]}"


def case(name, fn):
    try:
        errs = fn()
    except Exception as e:
        errs = [f"{type(e).__name__}: {e}"]
    res.append((name, errs))


dump, why = load("dump.json")
vm = dump["vms"][0] if dump and len(dump["vms"]) == 1 else None


def vcpu_of(v):
    """A ynl vcpu nest in vcpustat dump -j's terms."""
    reasons = []
    for r in v.get("reasons", {}).get("entry", []):
        reasons.append({"isa": r["isa"], "code": r["code"],
                        "count": r["count"], "timed": r["timed"],
                        "time_sum_ns": r["time-sum-ns"],
                        "time_min_ns": r.get("time-min-ns"),
                        "time_max_ns": r.get("time-max-ns")})
    hist = [v.get("hist", {}).get(f"bucket-{i}", 0) for i in range(40)]
    return {"vcpu_id": v["id"], "idx": v["idx"], "tid": v["tid"],
            "pcpu": v.get("pcpu"), "isa": v["isa"], "exits": v["exits"],
            "migrations": v["migrations"],
            "timed_exits": v["timed-exits"],
            "exit_time_ns": v["exit-time-ns"],
            "reasons": sorted(reasons, key=lambda r: r["code"]),
            "hist": hist,
            "migrations_by_distance": {
                d: v.get(f"migr-{d}", 0)
                for d in ("smt", "llc", "node", "remote")},
            "residency": [{"cpu": e["cpu"], "exits": e["exits"]}
                          for e in v.get("residency", {}).get("entry", [])]}


# dump -j names the special reasons and gives them "code": null; on the
# wire they are VCPUSTAT_CODE_OTHER/_UNKNOWN
SPECIAL = {"other": 0xfffffffd, "unknown": 0xfffffffe}


def tool_code(r):
    return SPECIAL[r["name"]] if r["code"] is None else r["code"]


def tool_vcpus():
    out = []
    for v in vm["vcpus"]:
        v = {k: v[k] for k in ("vcpu_id", "idx", "tid", "pcpu", "isa",
                               "exits", "migrations", "timed_exits",
                               "exit_time_ns", "hist",
                               "migrations_by_distance", "residency")} | {
            "reasons": sorted(({k: r[k] for k in (
                "isa", "count", "timed", "time_sum_ns",
                "time_min_ns", "time_max_ns")} | {"code": tool_code(r)}
                for r in v["reasons"]),
                key=lambda r: r["code"])}
        out.append(v)
    return out


def diff(a, b, what):
    errs = []
    if len(a) != len(b):
        return [f"{what}: ynl {len(a)} vCPUs, tool {len(b)}"]
    for x, y in zip(a, b):
        for k in y:
            if x.get(k) != y[k]:
                errs.append(f"{what} vCPU {y['vcpu_id']} {k}: ynl "
                            f"{x.get(k)!r} != tool {y[k]!r}")
    return errs


def c_vcpu():
    msgs, why2 = load("vcpu.json")
    if not vm or msgs is None:
        return [why or why2 or "tool dump: not one VM"]
    errs = []
    for m in msgs:
        if m["pid"] != pid or m["vm-id"] != vm["vm_id"]:
            errs.append(f"message of pid {m['pid']} vm {m['vm-id']}")
        if m["vcpu"].get("continued"):
            errs.append("a continued part without dump_budget")
    mine = [vcpu_of(m["vcpu"]) for m in msgs]
    errs += diff(mine, tool_vcpus(), "get-vcpu")
    # Not trivially equal: the VM did work of every exact kind.
    if sum(v["exits"] for v in mine) < 2 * 180:
        errs.append(f"only {sum(v['exits'] for v in mine)} exits")
    return errs


VMKEYS = {"id": "vm_id", "pid": "pid", "comm": "comm",
          "stats-id": "stats_id", "nr-vcpus": "nr_vcpus", "exits": "exits",
          "migrations": "migrations", "exit-time-ns": "exit_time_ns",
          "untracked-exits": "untracked_exits"}  # age-ns moves on


def vm_cmp(x, what):
    errs = [f"{what} {k}: ynl {x.get(k)!r} != tool {vm[t]!r}"
            for k, t in VMKEYS.items() if x.get(k) != vm[t]]
    if not isinstance(x.get("age-ns"), int) or x["age-ns"] < vm["age_ns"]:
        errs.append(f"{what} age-ns {x.get('age-ns')!r} < {vm['age_ns']}")
    return errs


def c_vm_dump():
    msgs, why2 = load("vm.json")
    if not vm or msgs is None:
        return [why or why2]
    if len(msgs) != 1:
        return [f"get-vm dump for pid {pid}: {len(msgs)} messages"]
    return vm_cmp(msgs[0]["vm"], "get-vm dump")


def c_vm_do():
    m, why2 = load("vmdo.json")
    if not vm or m is None:
        return [why or why2]
    return vm_cmp(m["vm"], "get-vm do")


def c_config():
    m, why2 = load("cfg.json")
    t, why3 = load("config.json")
    if m is None or t is None:
        return [why2 or why3]
    tc, yc = t["config"], m["config"]
    want = {"snapshot-ms": tc["snapshot_ms"], "timing": int(tc["timing"]),
            "migr-rate": tc["migr_rate"], "timing-every": tc["timing_every"],
            "heartbeat-ms": tc["heartbeat_ms"]}
    errs = [f"config {k}: ynl {yc.get(k)!r} != tool {v!r}"
            for k, v in want.items() if yc.get(k) != v]
    ts, ys = t["status"], m["status"]
    # The counters of events and VMs may move between the two requests;
    # these may not.
    for k in ("version", "max_vcpus", "vms_seen", "generation",
              "overflow", "bad_layout"):
        if ys.get(k.replace("_", "-")) != ts[k]:
            errs.append(f"status {k}: ynl {ys.get(k.replace('_', '-'))!r}"
                        f" != tool {ts[k]!r}")
    return errs


def c_split():
    if not os.path.exists(os.path.join(tmp, "split.json")):
        return None
    msgs, why2 = load("split.json")
    if not vm or msgs is None:
        return [why or why2]
    errs, whole = [], []
    for m in msgs:
        v = m["vcpu"]
        if v.get("continued"):
            if not whole or whole[-1]["id"] != v["id"]:
                errs.append(f"continued part of vCPU {v['id']} follows "
                            "another vCPU")
                continue
            whole[-1]["residency"]["entry"] += v["residency"]["entry"]
        else:
            whole.append(v)
    parts = len(msgs) - len(whole)
    want = sum(len(v["residency"]) - 1 for v in vm["vcpus"])
    if parts != want:
        errs.append(f"{parts} continued parts, want {want} (one per "
                    "residency CPU after each vCPU's first)")
    if hops and want == 0:
        errs.append("moved vCPUs but no residency to split")
    errs += diff([vcpu_of(v) for v in whole], tool_vcpus(), "split")
    return errs


def c_events():
    ntf, why2 = load("ntf.json")
    if ntf is None:
        return [why2]
    d2, why3 = load("dump2.json")
    if d2 is None or len(d2["vms"]) != 1:
        return [why3 or f"dump of the second VM: {d2}"]
    w2, v2 = int(open(os.path.join(tmp, "w2pid")).read()), d2["vms"][0]
    cfg, _ = load("config.json")
    errs = []
    diag.append(f"# events: {len(ntf)} notifications: " + ", ".join(
        f"{k} {sum(n['name'] == k for n in ntf)}"
        for k in sorted({n['name'] for n in ntf})))
    seq = [n["msg"]["seq"] for n in ntf]
    if seq != list(range(seq[0], seq[0] + len(seq))) if seq else True:
        errs.append(f"seq not consecutive: {seq[:20]}")
    new = [n["msg"]["vm"] for n in ntf if n["name"] == "vm-new-ntf"
           and n["msg"]["vm"]["pid"] == w2]
    gone = [n["msg"]["vm"] for n in ntf if n["name"] == "vm-gone-ntf"
            and n["msg"]["vm"]["pid"] == w2]
    if len(new) != 1 or len(gone) != 1:
        return errs + [f"vm-new {len(new)}, vm-gone {len(gone)} for pid {w2}"]
    for k, t in VMKEYS.items():
        if k in ("exits", "migrations", "exit-time-ns", "untracked-exits",
                 "nr-vcpus"):
            if gone[0].get(k) != v2[t]:
                errs.append(f"vm-gone {k}: {gone[0].get(k)!r} != dump "
                            f"{v2[t]!r}")
        elif new[0].get(k) != v2[t] or gone[0].get(k) != v2[t]:
            errs.append(f"vm-new/gone {k}: {new[0].get(k)!r}/"
                        f"{gone[0].get(k)!r} != dump {v2[t]!r}")
    mig = [n["msg"] for n in ntf if n["name"] == "migrate-ntf"
           and n["msg"]["pid"] == w2]
    for m in mig:
        x = m["migration"]
        if x["distance"] not in ("smt", "llc", "node", "remote") or \
                x["from"] == x["to"] or m["vm-id"] != v2["vm_id"]:
            errs.append(f"migrate-ntf {m}")
    if hops and cfg and cfg["config"]["migr_rate"] and not mig:
        errs.append(f"{v2['migrations']} migrations, no migrate-ntf")
    return errs


case("ynl --dump get-vcpu equals vcpustat dump -j per vCPU", c_vcpu)
case("ynl --dump get-vm equals the tool's VM totals", c_vm_dump)
case("ynl --do get-vm (vm-id) equals the tool's VM totals", c_vm_do)
case("ynl --do get-config equals vcpustat config -j", c_config)
case("ynl decodes split get-vcpu parts (continued), merged they equal "
     "the tool's vCPUs", c_split)
case("ynl's library decodes the events group: vm-new, migrate and "
     "vm-gone of a VM equal its dump, seq gapless", c_events)
print("KTAP version 1")
print(f"1..{len(res)}")
if vm:
    print(f"# VM {vm['vm_id']} pid {pid}: " + ", ".join(
        f"vCPU {v['vcpu_id']} exits {v['exits']} reasons {len(v['reasons'])}"
        f" residency CPUs {[r['cpu'] for r in v['residency']]}"
        for v in vm["vcpus"]))
sp, _ = load("split.json")
if sp is not None:
    print(f"# dump_budget=1: {len(sp)} get-vcpu messages, "
          f"{sum(1 for m in sp if m['vcpu'].get('continued'))} continued")
for d in diag:
    print(d)
fail = 0
for i, (name, errs) in enumerate(res, 1):
    if errs is None:
        print(f"ok {i} {name} # SKIP no dump_budget parameter")
        continue
    for e in errs[:15]:
        print(f"# {e}")
    print(f"{'not ' if errs else ''}ok {i} {name}")
    fail |= bool(errs)
sys.exit(fail)
PYEOF
