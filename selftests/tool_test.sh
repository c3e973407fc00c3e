#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tool_test.sh: integration tests of the vcpustat tool (user/vcpustat)
# against the real, loaded vcpustat module, with kvm_workload as the ground
# truth (it performs exact numbers of exits and forced pCPU moves and says
# so in its JSON report). KTAP output.
#
# Cases:
#  - dump -j: per vCPU, the exits of every exact reason (by code and name),
#    vcpu_id, tid, pid, comm, stats_id, migrations == forced moves (and by
#    distance class as sysfs says), pCPU, residency, histogram and
#    exit time sums; VM totals == sums of its vCPUs
#  - dump filters (-P, --vm, --vcpu, global option before the command),
#    -p == -j, the text form
#  - list text / -j / -p (rows, pid, tids, vCPU ids, exits, top reason, rate
#    of a held VM is 0, interval+count), -P excludes another process's VMs
#    (list, stat, top)
#  - stat -t -j / --csv / text with -P, and stat -j deltas over a VM that
#    appears and works during the run sum up to its dump -j totals exactly
#  - top -b -n 2 (text rows and header), top without -b to a pipe, top on a
#    pty (full screen, s and q keys), top -j / -p: totals and per-reason
#    counts equal dump -j, --vcpu drill-down, -s name
#  - watch -j while a driver hops: vm-new, migrate (pairs among the moves,
#    distance as sysfs says, count + suppressed == moves), vm-gone with final
#    totals, consecutive sequence numbers, no loss; -P filters; -c 1 and
#    -t 0.5 stop by themselves; the text form
#  - a comm with quotes, backslash, comma, tab, UTF-8 and half a UTF-8
#    character: valid JSON carrying it, printable text and CSV
#  - host / host -j / -p against /sys/devices/system/{cpu,node} and /proc,
#    and its VM lint (pinned vCPUs, NUMA spread, over-commit) recomputed
#  - exit codes: bad arguments 2, kernel-rejected requests 1 with the
#    kernel's message, unprivileged 4 naming CAP_NET_ADMIN (host still 0),
#    module absent 3 with the modprobe hint (host still 0), then insmod
#    again ($VCPUSTAT_KO)
#  - config KEY=VALUE round trip (text, -j, -p); reset of one process's VM
#    (-P) and of one VM (--vm) leaves the others untouched
#
# Usage: tool_test.sh   (root; the vcpustat module loaded; kvm_workload
#        built; vcpustat on PATH or in ../user; or VCPUSTAT=..,
#        KVM_WORKLOAD=.., VCPUSTAT_KO=.. for the reload case)
# Exit: 0 all passed, 1 a case failed, 4 skipped (not root, no /dev/kvm,
# module not loaded).

# The cases are functions called through run_case.
# shellcheck disable=SC2317
set -u

DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
TOP=$(dirname "$DIR")
WL=${KVM_WORKLOAD:-$DIR/kvm_workload}
VS=${VCPUSTAT:-$(command -v vcpustat 2>/dev/null || echo "$TOP/user/vcpustat")}
KO=${VCPUSTAT_KO:-$TOP/build/$(uname -r)/vcpustat.ko}
KSFT_SKIP=4
NTESTS=19

skip_all() {
	echo "KTAP version 1"
	echo "1..0 # SKIP $*"
	exit $KSFT_SKIP
}

fail_all() {
	echo "KTAP version 1"
	echo "1..1"
	echo "# $*"
	echo "not ok 1 prerequisites"
	exit 1
}

[ "$(id -u)" -eq 0 ] || skip_all "must be root"
if ! [ -c /dev/kvm ] || ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	skip_all "no usable /dev/kvm"
fi
[ -d /sys/module/vcpustat ] || skip_all "vcpustat module not loaded"
[ -x "$WL" ] || fail_all "$WL missing: run 'make -C selftests'"
[ -x "$VS" ] || fail_all "$VS missing: run 'make -C user'"
command -v python3 >/dev/null || fail_all "python3 needed to read JSON"
# the interpreter itself, not a wrapper (pyenv shims are slow under TCG)
PY=$(python3 -c 'import sys; print(sys.executable)') || fail_all "python3 does not run"

NCPUS=$(getconf _NPROCESSORS_ONLN)
TMP=$(mktemp -d /tmp/tool_test.XXXXXX) || exit 1
chmod 755 "$TMP"
BG=()		# every background pid we started
CFG_SAVED=	# "snapshot_ms=.. timing=.. migr_rate=.." to restore

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	local p
	for p in "${BG[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	sleep 0.3
	for p in "${BG[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	# never leave the module unloaded by us, nor reconfigured
	if ! [ -d /sys/module/vcpustat ] && [ -n "${RMMODDED:-}" ]; then
		insmod "$KO" 2>/dev/null
	fi
	if [ -n "$CFG_SAVED" ] && [ -d /sys/module/vcpustat ]; then
		# shellcheck disable=SC2086
		"$VS" config $CFG_SAVED >/dev/null 2>&1
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

n=0
failed=0

# result NAME STATUS: STATUS 0 ok, 4 skip (reason in $TMP/diag), else not
# ok; $TMP/diag holds the diagnostics, printed as "# " lines.
result() {
	local name=$1 st=$2 why
	n=$((n + 1))
	case $st in
	0)
		[ -s "$TMP/diag" ] && sed 's/^/# /' "$TMP/diag"
		echo "ok $n $name"
		;;
	4)
		why=$(head -n 1 "$TMP/diag" 2>/dev/null)
		echo "ok $n $name # SKIP ${why:-skipped}"
		;;
	*)
		[ -s "$TMP/diag" ] && sed 's/^/# /' "$TMP/diag" | head -n 60
		echo "not ok $n $name"
		failed=$((failed + 1))
		;;
	esac
	: >"$TMP/diag"
}

# run_case NAME FUNCTION: run a case, its diagnostics going to $TMP/diag.
run_case() {
	local name=$1 fn=$2 st t0=$SECONDS
	: >"$TMP/diag"
	"$fn" >>"$TMP/diag" 2>&1
	st=$?
	echo "$name took $((SECONDS - t0)) s" >>"$TMP/diag"
	result "$name" "$st"
}

# vs OUT ARGS...: run the tool (bounded), stdout to $TMP/OUT.out, stderr
# to $TMP/OUT.err; returns its exit status.
vs() {
	local out=$1
	shift
	timeout 60 "$VS" "$@" >"$TMP/$out.out" 2>"$TMP/$out.err"
}

# Python helpers shared by the cases.
cat >"$TMP/lib.py" <<'EOF'
import json, os, re, sys

TMP = os.environ["TMP"]

def load(name):
    with open(os.path.join(TMP, name)) as f:
        return json.load(f)

def jlines(name):
    out = []
    with open(os.path.join(TMP, name)) as f:
        for i, line in enumerate(f):
            if line.strip():
                out.append(json.loads(line))
    return out

def text(name):
    with open(os.path.join(TMP, name)) as f:
        return f.read()

NAMES = {
    "svm": {123: "io", 114: "cpuid", 120: "hlt", 124: "msr", 1024: "npf",
            96: "interrupt"},
    "vmx": {30: "IO_INSTRUCTION", 10: "CPUID", 12: "HLT", 31: "MSR_READ",
            32: "MSR_WRITE", 48: "EPT_VIOLATION", 49: "EPT_MISCONFIG",
            1: "EXTERNAL_INTERRUPT"},
}

def exact_codes(isa, e):
    """code -> exact count the driver promises for one vCPU."""
    if isa == "svm":
        return {123: e["io"], 114: e["cpuid"], 120: e["hlt"], 124: e["msr"]}
    return {30: e["io"], 10: e["cpuid"], 12: e["hlt"], 31: e["rdmsr"],
            32: e["wrmsr"]}

def npf_codes(isa):
    return {1024} if isa == "svm" else {48, 49}

def intr_codes(isa):
    return {96} if isa == "svm" else {1}

def report(name):
    r = load(name)
    assert r["status"] == "ok", f"driver status {r['status']}"
    return r

def rvcpus(r):
    return [v for vm in r["vms"] for v in vm["vcpus"]]

def settled(vm):
    """@vm without what moves with the clock alone while its vCPUs are
    parked: its age and each vCPU's open budget interval (the budget's
    states are checked by budget_test.sh)."""
    vm.pop("age_ns", None)
    for c in vm.get("vcpus", []):
        c.pop("budget", None)
    return vm


def vms_of(dump, pid):
    return [vm for vm in dump["vms"] if vm["pid"] == pid]

def cpulist(s):
    cpus = set()
    for part in s.strip().split(","):
        if not part:
            continue
        if "-" in part:
            a, b = part.split("-")
            cpus |= set(range(int(a), int(b) + 1))
        else:
            cpus.add(int(part))
    return cpus

def sysfs_distance(a, b):
    """The distance class of a move a -> b, from sysfs (as the module)."""
    base = "/sys/devices/system/cpu"
    if b in cpulist(open(f"{base}/cpu{a}/topology/thread_siblings_list").read()):
        return "smt"
    idx = [d for d in os.listdir(f"{base}/cpu{a}/cache") if d.startswith("index")]
    llc = max(idx, key=lambda d: int(open(f"{base}/cpu{a}/cache/{d}/level").read()))
    if b in cpulist(open(f"{base}/cpu{a}/cache/{llc}/shared_cpu_list").read()):
        return "llc"
    node = lambda c: sorted(d for d in os.listdir(f"{base}/cpu{c}") if re.fullmatch(r"node\d+", d))
    return "node" if node(a) == node(b) else "remote"

def count_num(s):
    """Parse a fmt_count() column: 123, 1.23k, 12.3M."""
    m = re.fullmatch(r"([0-9.]+)([kMGTPE]?)", s)
    if not m:
        raise ValueError(f"not a count: {s!r}")
    return float(m.group(1)) * 1000 ** " kMGTPE".index(m.group(2) or " ")

errs = []

def check(cond, msg):
    if not cond:
        errs.append(msg)
    return cond

def done():
    for e in errs:
        print(e)
    sys.exit(1 if errs else 0)
EOF
export TMP

# py: run a check script (stdin) with lib.py loaded.
py() {
	"$PY" -c "import sys; sys.path.insert(0, '$TMP'); from lib import *; exec(sys.stdin.read())"
}

# start_driver NAME ARGS...: kvm_workload ARGS --hold, report in
# $TMP/NAME.json; sets NAME_PID. Fails if not ready within 180 s. $WLBIN,
# if set, is the path to run it by (a symlink: the process's comm).
start_driver() {
	local name=$1 pid
	shift
	"${WLBIN:-$WL}" "$@" --hold --ready-file "$TMP/$name.ready" \
		--json "$TMP/$name.json" 2>"$TMP/$name.wlerr" &
	pid=$!
	BG+=("$pid")
	for _ in $(seq 1800); do
		if [ -e "$TMP/$name.ready" ]; then
			printf -v "${name}_PID" '%s' "$pid"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "driver $name failed: $(cat "$TMP/$name.wlerr")"
	kill -KILL "$pid" 2>/dev/null
	return 1
}

# stop_driver PID: end the hold, wait for the exit.
stop_driver() {
	kill -USR1 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# ---------------------------------------------------------------- setup
# B: two small held VMs in one process for the whole run. It is the
# "other process" for the filters and reset, and it keeps the host's VM
# count above 0 (see kvm_workload.md: flipping KVM's static key under TCG
# has oopsed guests).
if ! start_driver B --vms 2 --vcpus 1 --cpuid 100 >"$TMP/diag" 2>&1; then
	grep -q SKIP "$TMP/B.wlerr" && skip_all "kvm_workload: $(cat "$TMP/B.wlerr")"
	fail_all "$(cat "$TMP/diag")"
fi
HOPS=0
[ "$NCPUS" -ge 2 ] && HOPS=3
# A: the main subject, all exact kinds, forced moves. Every per-reason
# sum stays below 1000 so that even fmt_count()ed columns are exact.
if ! start_driver A --vcpus 2 --io 300 --cpuid 200 --hlt 50 --rdmsr 30 \
		--wrmsr 20 --mmio 10 --chunk 50 --hops $HOPS >"$TMP/diag" 2>&1; then
	fail_all "$(cat "$TMP/diag")"
fi
echo "KTAP version 1"
echo "1..$NTESTS"
echo "# $NCPUS CPUs ($(cat /sys/devices/system/cpu/online)), kernel $(uname -r), tool $VS"
# shellcheck disable=SC2154 # set by start_driver
echo "# drivers: A pid $A_PID (2 vCPUs, $HOPS moves each), B pid $B_PID (2 VMs)"
if ! vs cfg0 config -j; then
	echo "# vcpustat config -j failed: $(cat "$TMP/cfg0.err")"
	echo "Bail out! the tool cannot talk to the module"
	exit 1
fi
CFG_SAVED=$(py <<'EOF'
c = load("cfg0.out")["config"]
print(f"snapshot_ms={c['snapshot_ms']} timing={'on' if c['timing'] else 'off'} migr_rate={c['migr_rate']} timing_every={c['timing_every']} heartbeat_ms={c['heartbeat_ms']} budget={'on' if c['budget'] else 'off'}")
EOF
)
export A_PID B_PID
# One dump for the cases that only read held VMs.
if ! vs d0 dump -j; then
	echo "# vcpustat dump -j failed: $(cat "$TMP/d0.err")"
	echo "Bail out! the tool cannot dump"
	exit 1
fi

# ---------------------------------------------------------------- cases

t_dump_exact() {
	py <<'EOF'
r = report("A.json")
d = load("d0.out")
pid = r["pid"]
isa = r["isa"]
timing = d["config"].get("timing", True)
check(d["consistent"] is True, "dump not consistent")
vms = vms_of(d, pid)
if not check(len(vms) == 1, f"{len(vms)} VMs of pid {pid} in dump, want 1"):
    done()
vm = vms[0]
check(vm["comm"] == "kvm_workload", f"comm {vm['comm']!r}")
check(vm["stats_id"] == f"kvm-{pid}", f"stats_id {vm['stats_id']!r}")
check(vm["nr_vcpus"] == 2 and len(vm["vcpus"]) == 2,
      f"nr_vcpus {vm['nr_vcpus']}, {len(vm['vcpus'])} listed")
check(vm.get("incomplete") is None, "VM flagged incomplete")
for key in ("exits", "migrations", "exit_time_ns"):
    s = sum(c[key] for c in vm["vcpus"])
    check(vm[key] == s, f"VM {key} {vm[key]} != sum over vCPUs {s}")
check(vm["untracked_exits"] == 0, f"untracked {vm['untracked_exits']}")
by_id = {c["vcpu_id"]: c for c in vm["vcpus"]}
check([c["idx"] for c in vm["vcpus"]] == sorted(c["idx"] for c in vm["vcpus"]),
      "vCPUs not in idx order")
for v in rvcpus(r):
    e = v["expect"]
    c = by_id.get(v["vcpu_id"])
    if not check(c is not None, f"vcpu {v['vcpu_id']} missing"):
        continue
    tag = f"vcpu {v['vcpu_id']} (tid {v['tid']})"
    check(c["tid"] == v["tid"], f"{tag}: tid {c['tid']}")
    check(c["isa"] == isa, f"{tag}: isa {c['isa']} != driver's {isa}")
    got = {x["code"]: x for x in c["reasons"]}
    for code, want in exact_codes(isa, e).items():
        n = got.get(code, {}).get("count", 0)
        check(n == want, f"{tag}: reason {code} ({NAMES[isa][code]}) count {n} != driver {want}")
    npf = sum(got[k]["count"] for k in npf_codes(isa) if k in got)
    check(npf >= e["mmio_min"], f"{tag}: npf {npf} < mmio {e['mmio_min']}")
    allowed = set(exact_codes(isa, e)) | npf_codes(isa) | intr_codes(isa)
    for code, x in got.items():
        check(code in allowed, f"{tag}: unexpected reason {code} {x['name']} x{x['count']}")
        if code in NAMES[isa]:
            check(x["name"] == NAMES[isa][code], f"{tag}: code {code} named {x['name']!r}, want {NAMES[isa][code]!r}")
        check(x["isa"] == isa, f"{tag}: reason isa {x['isa']}")
        if x["timed"]:
            check(x["time_min_ns"] <= x["time_avg_ns"] <= x["time_max_ns"],
                  f"{tag}: {x['name']} min/avg/max {x['time_min_ns']}/{x['time_avg_ns']}/{x['time_max_ns']}")
            check(x["time_avg_ns"] == x["time_sum_ns"] // x["timed"], f"{tag}: {x['name']} avg")
        else:
            check(x["time_min_ns"] is None and x["time_avg_ns"] is None, f"{tag}: {x['name']} untimed but min/avg not null")
    check(c["exits"] == sum(x["count"] for x in c["reasons"]),
          f"{tag}: exits {c['exits']} != sum of reasons")
    check(c["migrations"] == e["migrations"] == v["moves_count"],
          f"{tag}: migrations {c['migrations']}, driver moves {v['moves_count']}")
    check(sum(c["migrations_by_distance"].values()) == c["migrations"],
          f"{tag}: by distance {c['migrations_by_distance']} != {c['migrations']}")
    want = {"smt": 0, "llc": 0, "node": 0, "remote": 0}
    for x, y in v["moves"]:
        want[sysfs_distance(x, y)] += 1
    check(c["migrations_by_distance"] == want, f"{tag}: by distance {c['migrations_by_distance']} != sysfs {want} for moves {v['moves']}")
    check(c["pcpu"] == v["end_cpu"], f"{tag}: pcpu {c['pcpu']} != end_cpu {v['end_cpu']}")
    res = {x["cpu"]: x["exits"] for x in c["residency"]}
    check(sum(res.values()) == c["exits"], f"{tag}: residency sum {sum(res.values())} != exits {c['exits']}")
    visited = {v["start_cpu"]} | {cpu for mv in v["moves"] for cpu in mv}
    check(set(res) <= visited, f"{tag}: residency on {sorted(res)}, visited {sorted(visited)}")
    check(len(c["hist"]) == 40, f"{tag}: hist has {len(c['hist'])} buckets")
    if timing:
        check(sum(c["hist"]) == c["timed_exits"], f"{tag}: hist sum {sum(c['hist'])} != timed {c['timed_exits']}")
        # held: the last exit (a control OUT) has no entry after it
        check(c["timed_exits"] == c["exits"] - 1, f"{tag}: timed {c['timed_exits']} != exits-1")
        check(c["exit_time_ns"] == sum(x["time_sum_ns"] for x in c["reasons"]), f"{tag}: exit_time_ns != sum of reason times")
st = d["status"]
try:
    ver = open("/sys/module/vcpustat/version").read().strip()
    check(st["version"] == ver, f"status version {st['version']!r} != sysfs {ver!r}")
except OSError:
    pass
check(st["vms"] >= 2 and st["vcpus"] >= 3, f"status vms {st['vms']} vcpus {st['vcpus']}")
check(st["vms"] == len(d["vms"]), f"status vms {st['vms']} != {len(d['vms'])} listed")
done()
EOF
}

t_dump_filters() {
	local rc=0 bvm
	bvm=$(py <<'EOF'
print(vms_of(load("d0.out"), int(os.environ["B_PID"]))[0]["vm_id"])
EOF
) || return 1
	vs fa dump -j -P "$A_PID" --vcpu 1 || { echo "dump -P --vcpu: $(cat "$TMP/fa.err")"; rc=1; }
	vs fb --vm "$bvm" dump -j || { echo "--vm before dump: $(cat "$TMP/fb.err")"; rc=1; }
	vs fc dump -j --pid "$A_PID" || rc=1
	vs fd dump --pretty -P "$A_PID" || rc=1
	vs fe dump -P "$A_PID" || rc=1
	# a pid that runs no VM selects nothing: exit 1 (issue 17)
	"$VS" dump -j -P 4194303 >"$TMP/ff.out" 2>"$TMP/ff.err"
	[ $? -eq 1 ] && [ ! -s "$TMP/ff.out" ] && grep -q "no VM matches -p 4194303" "$TMP/ff.err" ||
		{ echo "dump -P unknown pid: $(cat "$TMP/ff.err")"; rc=1; }
	[ "$rc" -eq 0 ] || return 1
	BVM=$bvm py <<'EOF'
a, b = int(os.environ["A_PID"]), int(os.environ["B_PID"])
r = report("A.json")
fa = load("fa.out")
check([vm["pid"] for vm in fa["vms"]] == [a], f"-P A --vcpu 1: VMs of pids {[vm['pid'] for vm in fa['vms']]}")
if fa["vms"]:
    check([c["vcpu_id"] for c in fa["vms"][0]["vcpus"]] == [1],
          f"--vcpu 1 listed {[c['vcpu_id'] for c in fa['vms'][0]['vcpus']]}")
fb = load("fb.out")
check([(vm["vm_id"], vm["pid"]) for vm in fb["vms"]] == [(int(os.environ["BVM"]), b)],
      f"--vm {os.environ['BVM']}: got {[(vm['vm_id'], vm['pid']) for vm in fb['vms']]}")
fc, fd = load("fc.out"), load("fd.out")
for x in (fc, fd):
    for vm in x["vms"]:
        settled(vm)
check(fc["vms"] == fd["vms"], "dump -p differs from dump -j")
d0a = vms_of(load("d0.out"), a)
for vm in d0a:
    settled(vm)
check(fc["vms"] == d0a, "dump -j -P A differs from A in the unfiltered dump")
t = text("fe.out")
vm = fc["vms"][0] if fc["vms"] else None
if vm:
    check(re.search(rf"^VM {vm['vm_id']}  pid {a}  kvm_workload  kvm-{a} .* vCPUs 2  exits {vm['exits']}  migrations {vm['migrations']}", t, re.M),
          "text dump: no VM line with id, pid, comm, stats_id, exits, migrations")
    for c in vm["vcpus"]:
        check(re.search(rf"^  vCPU {c['vcpu_id']} \(idx {c['idx']}\)  tid {c['tid']}  pCPU {c['pcpu']}  \S+  exits {c['exits']}$", t, re.M),
              f"text dump: no line for vCPU {c['vcpu_id']}")
        for x in c["reasons"]:
            check(re.search(rf"^    {re.escape(x['name'])} +{x['count']} ", t, re.M),
                  f"text dump: vCPU {c['vcpu_id']} has no row '{x['name']} {x['count']}'")
done()
EOF
}

t_list() {
	local rc=0
	vs la list -P "$A_PID" --sample 0 || rc=1
	vs lb list -j -P "$A_PID" || rc=1
	vs lc list -j 0.2 2 || rc=1
	vs ld l -P "$A_PID" 0.2 2 || rc=1	# prefix, interval + count
	vs lp list --pretty -p "$A_PID" --sample 0 || rc=1
	"$VS" list -P 4194303 >"$TMP/le.out" 2>"$TMP/le.err"
	[ $? -eq 1 ] && grep -q "no VM matches -p 4194303" "$TMP/le.err" ||
		{ echo "list -P <unused pid>: $(cat "$TMP/le.err")"; rc=1; }
	[ "$rc" -eq 0 ] || { cat "$TMP"/l?.err; return 1; }
	py <<'EOF'
a, b = int(os.environ["A_PID"]), int(os.environ["B_PID"])
r = report("A.json")
d = load("d0.out")
vm = vms_of(d, a)[0]
dv = {c["vcpu_id"]: c for c in vm["vcpus"]}
isa = r["isa"]
tids = {v["vcpu_id"]: v["tid"] for v in rvcpus(r)}

def top_of(c):
    return max(c["reasons"], key=lambda x: (x["count"], -(x["code"] or 0)))

# text, --sample 0
lines = text("la.out").splitlines()
check(lines and lines[0].split()[:7] == ["VM", "PID", "COMM", "NAME", "VCPU", "TID", "PCPU"], f"header {lines[:1]}")
# kvm_workload has no -name: NAME is "-"; drop that column
rows = [l.split() for l in lines[1:]]
check(all(f[3] == "-" for f in rows), f"list NAME of an unnamed VM {rows}")
rows = [f[:3] + f[4:] for f in rows]
check(len(rows) == 2, f"list -P A: {len(rows)} rows, want 2")
for f in rows:
    vid = int(f[3])
    c = dv.get(vid)
    if not check(c is not None, f"row for unknown vCPU {vid}: {f}"):
        continue
    check(int(f[0]) == vm["vm_id"] and int(f[1]) == a and f[2] == "kvm_workload",
          f"vCPU {vid}: VM/PID/COMM {f[:3]}")
    check(int(f[4]) == tids[vid], f"vCPU {vid}: TID {f[4]} != {tids[vid]}")
    check(f[5] == str(c["pcpu"]), f"vCPU {vid}: PCPU {f[5]} != {c['pcpu']}")
    check(f[6] == str(c["exits"]), f"vCPU {vid}: EXITS {f[6]} != {c['exits']}")
    check(f[7] == "-", f"vCPU {vid}: EXITS/s {f[7]} with --sample 0")
    check(f[8] == str(c["migrations"]), f"vCPU {vid}: MIGR {f[8]} != {c['migrations']}")
    # %guest .. %out: the budget's shares since the start, summing to 100
    pcts = [float(x) for x in f[9:16]]
    check(abs(sum(pcts) - 100) < 0.5, f"vCPU {vid}: budget shares {f[9:16]} do not sum to 100")
    t = top_of(c)
    want = f"{t['name']} ({100.0 * t['count'] / c['exits']:.1f}%)"
    check(" ".join(f[16:]) == want, f"vCPU {vid}: TOP-REASON {' '.join(f[16:])!r} != {want!r}")

# -j with the default 250 ms sample: a held VM exits 0/s
lb = load("lb.out")
check(lb.get("sample_s", 0) > 0, "list -j: no sample_s")
check(sorted(x["vcpu_id"] for x in lb["vcpus"]) == [0, 1], f"list -j -P A vCPUs {[x['vcpu_id'] for x in lb['vcpus']]}")
for x in lb["vcpus"]:
    c = dv.get(x["vcpu_id"], {})
    check(x["pid"] == a and x["vm_id"] == vm["vm_id"] and x["comm"] == "kvm_workload", f"list -j identity {x}")
    check(x["tid"] == tids.get(x["vcpu_id"]), f"list -j vCPU {x['vcpu_id']} tid {x['tid']}")
    check(x["exits"] == c.get("exits") and x["migrations"] == c.get("migrations") and x["pcpu"] == c.get("pcpu"),
          f"list -j vCPU {x['vcpu_id']}: exits/migrations/pcpu {x['exits']}/{x['migrations']}/{x['pcpu']} != dump")
    check(x["exits_per_sec"] == 0, f"list -j vCPU {x['vcpu_id']}: held VM at {x['exits_per_sec']} exits/s")
    if c:
        t = top_of(c)
        check(x["top_reason"] and x["top_reason"]["code"] == t["code"] and x["top_reason"]["count"] == t["count"]
              and x["top_reason"]["name"] == t["name"], f"list -j top_reason {x['top_reason']} != {t['name']} x{t['count']}")

# unfiltered, interval and count: two reports, both VMs in each
lc = []
dec = json.JSONDecoder()
s = text("lc.out")
i = 0
while i < len(s):
    while i < len(s) and s[i].isspace():
        i += 1
    if i >= len(s):
        break
    o, i = dec.raw_decode(s, i)
    lc.append(o)
check(len(lc) == 2, f"list -j 0.2 2 printed {len(lc)} reports")
for k, rep in enumerate(lc):
    pids = {x["pid"] for x in rep["vcpus"]}
    check({a, b} <= pids, f"unfiltered list: pids {sorted(pids)} lack A or B")
    check({x["tid"] for x in rep["vcpus"] if x["pid"] == a} == set(tids.values()), "unfiltered list: A's tids differ")
    if k:
        check(rep.get("sample_s", 0) > 0.1, f"report {k}: sample_s {rep.get('sample_s')}")
    else:
        check("sample_s" not in rep, "first report of list 0.2 2 has a rate")

lp = load("lp.out")
lj = [x for x in lb["vcpus"]]
for x in lj:
    x["exits_per_sec"] = None
# the budget's shares move with the clock between the two runs
for x in lj + lp["vcpus"]:
    x.pop("time_pct", None)
check(text("lp.out").count("\n") > 10, "list -p is not indented")
check(lp["vcpus"] == lj, "list -p differs from list -j")
ld = text("ld.out")
check(ld.count("TOP-REASON") == 2, f"list 0.2 2 printed {ld.count('TOP-REASON')} tables")
done()
EOF
}

t_list_filter() {
	local rc=0
	vs xa list -j -P "$B_PID" --sample 0 || rc=1
	vs xb list -P "$B_PID" --sample 0 || rc=1
	vs xc stat -t -j -P "$B_PID" 0.2 1 || rc=1
	vs xd top -j -n 1 -d 0.2 -P "$B_PID" || rc=1
	vs xe stat -j -P "$B_PID" 0.2 1 || rc=1
	[ "$rc" -eq 0 ] || { cat "$TMP"/x?.err; return 1; }
	py <<'EOF'
a, b = int(os.environ["A_PID"]), int(os.environ["B_PID"])
ra, rb = report("A.json"), report("B.json")
atids = {v["tid"] for v in rvcpus(ra)}
btids = {v["tid"] for v in rvcpus(rb)}
xa = load("xa.out")["vcpus"]
check({x["pid"] for x in xa} == {b}, f"list -j -P B: pids {sorted({x['pid'] for x in xa})}")
check({x["tid"] for x in xa} == btids, f"list -j -P B: tids {sorted(x['tid'] for x in xa)} != {sorted(btids)}")
rows = [f[:3] + f[4:] for f in (l.split() for l in text("xb.out").splitlines()[1:])]
check(len(rows) == 2 and all(int(f[1]) == b and int(f[4]) in btids for f in rows), f"list -P B text rows {rows}")
bvms = vms_of(load("d0.out"), b)
check(len(bvms) == 2, f"{len(bvms)} VMs of B in dump, want 2")
check(sorted(int(f[0]) for f in rows) == sorted(vm["vm_id"] for vm in bvms), f"list -P B VM ids {rows}")
for l in text("xb.out").split():
    check(not l.isdigit() or int(l) not in atids | {a}, f"list -P B text mentions A's pid/tid {l}")
xc = jlines("xc.out")
check(xc and all(x["pid"] == b and x["tid"] in btids for x in xc), f"stat -t -j -P B rows {xc}")
xd = load("xd.out")
check(xd["totals"]["vms"] == 2 and xd["totals"]["vcpus"] == 2, f"top -j -P B totals {xd['totals']}")
check(xd["totals"]["exits"] == sum(vm["exits"] for vm in bvms), f"top -j -P B exits {xd['totals']['exits']} != B's {[vm['exits'] for vm in bvms]}")
xe = jlines("xe.out")
check(sorted((x["vm_id"], x["pid"]) for x in xe) == sorted((vm["vm_id"], b) for vm in bvms), f"stat -j -P B rows {xe}")
done()
EOF
}

t_stat() {
	local rc=0
	vs sa stat -t -j -P "$A_PID" 0.2 2 || rc=1
	vs sb stat -j --pid "$A_PID" 0.2 1 || rc=1
	vs sc stat --csv -t -P "$A_PID" 0.2 2 || rc=1
	vs sd stat -t -P "$A_PID" 0.2 2 || rc=1
	vs se stat -P "$A_PID" 0.2 1 || rc=1
	[ "$rc" -eq 0 ] || { cat "$TMP"/s?.err; return 1; }
	py <<'EOF'
import csv, io
a = int(os.environ["A_PID"])
r = report("A.json")
vm = vms_of(load("d0.out"), a)[0]
tids = {v["vcpu_id"]: v["tid"] for v in rvcpus(r)}
sa = jlines("sa.out")
check(len(sa) == 4, f"stat -t -j 0.2 2: {len(sa)} rows, want 4")
for x in sa:
    check(x["pid"] == a and x["vm_id"] == vm["vm_id"] and x["comm"] == "kvm_workload", f"stat -t -j identity {x}")
    check(x.get("tid") == tids.get(x.get("vcpu_id")), f"stat -t -j vCPU {x.get('vcpu_id')} tid {x.get('tid')}")
    check(x["exits_delta"] == 0 and x["migrations_delta"] == 0 and x["exits_per_sec"] == 0, f"held VM moved: {x}")
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", x["time"]) and x["mono_ns"] > 0, f"stat -j time keys {x}")
    check(0.1 < x["interval_s"] < 5, f"interval_s {x['interval_s']}")
check(sorted(x["vcpu_id"] for x in sa) == [0, 0, 1, 1], f"stat -t -j vCPUs {[x.get('vcpu_id') for x in sa]}")
sb = jlines("sb.out")
check(len(sb) == 1 and sb[0]["pid"] == a and "vcpu_id" not in sb[0], f"stat -j (per VM) rows {sb}")
rows = list(csv.reader(io.StringIO(text("sc.out"))))
# the columns are stat -j's keys (the time keys, _delta for deltas)
hdr = ["time", "mono_ns", "vm_id", "pid", "comm", "name", "uuid", "vcpu_id", "tid", "interval_s", "exits_delta",
       "exits_per_sec", "migrations_delta", "migrations_per_sec", "exit_time_ns_delta", "exit_time_pct",
       "avg_exit_ns", "top_reason", "top_reason_count_delta",
       "guest_pct", "exit_pct", "user_pct", "poll_pct", "halt_pct", "wait_pct", "out_pct"]
check(rows and rows[0] == hdr, f"csv header {rows[:1]}")
body = rows[1:]
check(len(body) == 4, f"csv: {len(body)} rows, want 4")
for row in body:
    if not check(len(row) == len(hdr), f"csv row has {len(row)} fields: {row}"):
        continue
    x = dict(zip(hdr, row))
    check(int(x["pid"]) == a and x["comm"] == "kvm_workload" and int(x["vm_id"]) == vm["vm_id"], f"csv identity {row}")
    check(int(x["vcpu_id"]) in tids and int(x["tid"]) == tids[int(x["vcpu_id"])] and int(x["exits_delta"]) == 0,
          f"csv vCPU/exits {row}")
    check(x["name"] == "" and x["uuid"] == "" and int(x["mono_ns"]) > 0 and
          re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", x["time"]), f"csv time/name {row}")
t = text("sd.out")
# the NAME column ("-": kvm_workload has no -name) dropped
avg = [f[:3] + f[4:] for f in (l.split() for l in t.splitlines() if l.startswith("Average:"))]
data = [l for l in avg if len(l) > 3 and l[1] != "VM"]
check(len(data) == 2, f"stat -t text: {len(data)} Average rows, want 2")
for f in data:
    check(int(f[1]) == vm["vm_id"] and int(f[2]) == a and int(f[3]) in tids, f"Average row {f}")
per_iv = [l.split() for l in t.splitlines() if re.match(r"\d\d:\d\d:\d\d ", l) and " VM " not in l]
check(len(per_iv) == 4, f"stat -t text: {len(per_iv)} interval rows, want 4")
se = [f[:3] + f[4:] for f in (l.split() for l in text("se.out").splitlines() if re.match(r"\d\d:\d\d:\d\d ", l) and " VM " not in l)]
check(len(se) == 1 and int(se[0][2]) == a and se[0][3] == "-", f"stat (per VM) text rows {se}")
done()
EOF
}

# stat -j over a VM that appears and does its work during the run: the
# per-interval deltas of its vCPUs must add up to its final counters.
t_stat_deltas() {
	local spid rc
	"$VS" stat -t -j 0.3 >"$TMP/sl.out" 2>"$TMP/sl.err" &
	spid=$!
	BG+=("$spid")
	# its first rows (of A and B) mean its first snapshot predates L
	for _ in $(seq 300); do
		[ -s "$TMP/sl.out" ] && break
		sleep 0.1
	done
	start_driver L --vcpus 2 --io 400 --cpuid 300 --hlt 20 --wrmsr 10 || return 1
	sleep 1
	kill -TERM "$spid"
	wait "$spid"
	rc=$?
	[ "$rc" -eq 0 ] || { echo "stat exited $rc: $(cat "$TMP/sl.err")"; return 1; }
	# shellcheck disable=SC2153 # set by start_driver
	vs dl dump -j -P "$L_PID" || return 1
	stop_driver "$L_PID"
	L_PID=$L_PID py <<'EOF'
l = int(os.environ["L_PID"])
r = report("L.json")
isa = r["isa"]
vm = vms_of(load("dl.out"), l)[0]
rows = [x for x in jlines("sl.out") if x["pid"] == l]
check(rows, "stat printed no row of the new VM")
for c in vm["vcpus"]:
    mine = [x for x in rows if x["vcpu_id"] == c["vcpu_id"]]
    for key in ("exits", "migrations", "exit_time_ns"):
        s = sum(x[key + "_delta"] for x in mine)
        check(s == c[key], f"vCPU {c['vcpu_id']}: stat {key}_delta sum {s} != dump {c[key]}")
    for x in mine:
        check(abs(x["exits_per_sec"] * x["interval_s"] - x["exits_delta"]) < 1e-6 * max(1, x["exits_delta"]) + 1e-6,
              f"exits_per_sec {x['exits_per_sec']} * {x['interval_s']} != {x['exits_delta']}")
    busy = max(mine, key=lambda x: x["exits_delta"], default=None)
    if busy and busy["exits_delta"]:
        check(busy["top_reason"] and busy["top_reason"]["name"] in (NAMES[isa][123 if isa == "svm" else 30], NAMES[isa][114 if isa == "svm" else 10]),
              f"busiest interval's top reason {busy['top_reason']}")
for v in rvcpus(r):
    c = [c for c in vm["vcpus"] if c["vcpu_id"] == v["vcpu_id"]][0]
    io = exact_codes(isa, v["expect"])
    got = {x["code"]: x["count"] for x in c["reasons"]}
    check(all(got.get(k, 0) == n for k, n in io.items()), f"vCPU {v['vcpu_id']}: dump {got} vs driver {io}")
done()
EOF
}

t_top_text() {
	vs ta top -b -n 2 -d 0.3 -P "$A_PID" || { cat "$TMP/ta.err"; return 1; }
	# not a terminal: batch without -b
	vs tn top -n 1 -d 0.2 -P "$A_PID" || { cat "$TMP/tn.err"; return 1; }
	grep -q "^REASON" "$TMP/tn.out" || { echo "top -n 1 to a pipe printed no frame"; return 1; }
	# on a terminal (a pty): the full-screen mode, -n and the s/q keys
	VS=$VS py <<'EOF' || return 1
import fcntl, pty, select, struct, subprocess, termios, time

def run(args, keys=(), term="xterm"):
    """keys: (bytes to wait for in the output, key to press then); the
    pty is an ANSI terminal (the rig's own TERM is dumb)"""
    m, s = pty.openpty()
    fcntl.ioctl(s, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    p = subprocess.Popen([os.environ["VS"], "top", *args], stdin=s, stdout=s, stderr=s, start_new_session=True,
                         env=dict(os.environ, TERM=term))
    os.close(s)
    out, keys, end = b"", list(keys), time.time() + 60
    while time.time() < end:
        r, _, _ = select.select([m], [], [], 1)
        if r:
            try:
                d = os.read(m, 65536)
            except OSError:
                break
            if not d:
                break
            out += d
        if keys and keys[0][0] in out:
            os.write(m, keys.pop(0)[1])
    try:
        rc = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = "hung"
    os.close(m)
    return rc, out

a = os.environ["A_PID"]
rc, out = run(["-n", "2", "-d", "0.3", "-P", a])
check(rc == 0, f"interactive top -n 2 exited {rc}")
check(b"\033[?1049h" in out and out.rstrip().endswith(b"\033[?1049l"), "interactive top: alternate screen not entered and left")
check(out.count(b"\033[7mREASON") >= 2, f"interactive top: {out.count(b'REASON')} frames")
check(b"sort rate" in out, "interactive top: default sort is not rate")
rc, out = run(["-d", "5", "-P", a], keys=[(b"q quit", b"s"), (b"sort time", b"q")])
check(rc == 0, f"interactive top, keys s then q: exited {rc}")
check(b"sort time" in out, "interactive top: 's' did not switch the sort to time")
check(out.rstrip().endswith(b"\033[?1049l"), "interactive top: screen not restored after 'q'")
open(os.path.join(TMP, "ti.out"), "wb").write(out)
# kvm_stat's keys: f filters reasons by regex, r resets the view
rc, out = run(["-d", "0.5", "-P", a], keys=[(b"q quit", b"f"), (b"regex", b"^cpuid$\r"),
                                             (b"reasons matching /^cpuid$/", b"q")])
check(rc == 0 and b"reasons matching /^cpuid$/" in out, f"interactive top: f filter: exit {rc}")
# TERM=dumb on a terminal: batch frames, no screen control (kvm_stat)
rc, out = run(["-n", "1", "-d", "0.2", "-P", a], term="dumb")
check(rc == 0 and b"\033[?1049h" not in out and b"REASON" in out, f"top with TERM=dumb: exit {rc}, {out[:80]!r}")
done()
EOF
	py <<'EOF'
a = int(os.environ["A_PID"])
vm = vms_of(load("d0.out"), a)[0]
want = {}
for c in vm["vcpus"]:
    for x in c["reasons"]:
        want[x["name"]] = want.get(x["name"], 0) + x["count"]
frames = [f for f in text("ta.out").split("vcpustat top ")[1:]]
check(len(frames) == 2, f"top -b -n 2 printed {len(frames)} frames")
for k, f in enumerate(frames):
    lines = f.splitlines()
    check(f"VM {vm['vm_id']} (pid {a} kvm_workload)" in lines[0], f"frame {k}: scope line {lines[0]!r}")
    m = re.match(r"VMs (\d+) vCPUs (\d+) \| exits (\S+) (\S+)/s \| exit time (\S+)% cpu \| migr (\S+) (\S+)/s", lines[1])
    if not check(m, f"frame {k}: header {lines[1]!r}"):
        continue
    check(m.group(1) == "1" and m.group(2) == "2", f"frame {k}: VMs/vCPUs {m.group(1)}/{m.group(2)}")
    tot = count_num(m.group(3))
    check(abs(tot - vm["exits"]) <= 0.006 * vm["exits"], f"frame {k}: exits {m.group(3)} vs dump {vm['exits']}")
    check(m.group(4) == "0" and m.group(7) == "0", f"frame {k}: rates of a held VM {m.group(4)}, {m.group(7)}")
    check(count_num(m.group(6)) == vm["migrations"], f"frame {k}: migr {m.group(6)} != {vm['migrations']}")
    hi = [i for i, l in enumerate(lines) if l.startswith("REASON")]
    if not check(hi, f"frame {k}: no REASON header"):
        continue
    got = {}
    for l in lines[hi[0] + 1:]:
        if not l.strip():
            break
        p = l.split()
        check(len(p) == 7, f"frame {k}: row {l!r}")
        got[p[0]] = p
    check(set(got) == set(want), f"frame {k}: reasons {sorted(got)} != dump {sorted(want)}")
    for name, p in got.items():
        if name in want:
            check(p[1] == str(want[name]), f"frame {k}: {name} COUNT {p[1]} != {want[name]}")
            check(p[2] == "0" and p[3] == "-", f"frame {k}: {name} RATE/% of a held VM {p[2]}, {p[3]}")
done()
EOF
}

t_top_json() {
	local rc=0
	vs tb top -j -n 2 -d 0.3 -P "$A_PID" || rc=1
	vs tc top -j -n 1 -d 0.2 -P "$A_PID" --vcpu 1 || rc=1
	vs td top -j -n 1 -d 0.2 -s name || rc=1
	vs tp top --pretty -n 1 -d 0.2 -P "$A_PID" || rc=1
	[ "$rc" -eq 0 ] || { cat "$TMP"/t?.err; return 1; }
	py <<'EOF'
a = int(os.environ["A_PID"])
d = load("d0.out")
vm = vms_of(d, a)[0]

def sums(vcpus):
    w = {}
    for c in vcpus:
        for x in c["reasons"]:
            w[(x["code"], x["name"])] = w.get((x["code"], x["name"]), 0) + x["count"]
    return w

def cmp(tag, o, vcpus, nvms):
    t = o["totals"]
    check(t["vms"] == nvms and t["vcpus"] == len(vcpus), f"{tag}: vms/vcpus {t['vms']}/{t['vcpus']}")
    check(t["exits"] == sum(c["exits"] for c in vcpus), f"{tag}: exits {t['exits']} != dump {sum(c['exits'] for c in vcpus)}")
    check(t["migrations"] == sum(c["migrations"] for c in vcpus), f"{tag}: migrations {t['migrations']}")
    got = {(x["code"], x["name"]): x["count"] for x in o["reasons"]}
    check(got == sums(vcpus), f"{tag}: reasons {got} != dump {sums(vcpus)}")
    check(sum(x["count"] for x in o["reasons"]) == t["exits"], f"{tag}: reason counts do not add up to exits")

tb = jlines("tb.out")
check(len(tb) == 2, f"top -j -n 2 printed {len(tb)} objects")
for k, o in enumerate(tb):
    cmp(f"top -j frame {k}", o, vm["vcpus"], 1)
    check(o["totals"]["exits_delta"] == 0 and o["totals"]["exits_per_sec"] == 0, f"frame {k}: held VM has a rate")
    check(0.2 < o["interval_s"] < 5, f"frame {k}: interval_s {o['interval_s']}")
tc = jlines("tc.out")
check(len(tc) == 1, f"top -j -n 1 printed {len(tc)} objects")
if tc:
    cmp("top -j --vcpu 1", tc[0], [c for c in vm["vcpus"] if c["vcpu_id"] == 1], 1)
tp = load("tp.out")
check(text("tp.out").count("\n") > 10, "top -p is not indented")
cmp("top -p", tp, vm["vcpus"], 1)
td = jlines("td.out")
if check(len(td) == 1, f"top -j -s name printed {len(td)} objects"):
    names = [x["name"] for x in td[0]["reasons"]]
    check(names == sorted(names), f"-s name order {names}")
    allv = [c for v in d["vms"] for c in v["vcpus"]]
    # every VM is held: the unfiltered totals equal the unfiltered dump
    cmp("top -j (all VMs)", td[0], allv, len(d["vms"]))
done()
EOF
}

t_watch() {
	local wj wp wa wc wt wq rc ok=0 p
	[ "$NCPUS" -ge 2 ] || { echo "needs 2 CPUs for moves"; return 4; }
	# W: a driver that hops. It is started stopped, so that its pid is
	# known before it makes its VM and watch -P can be pointed at it.
	# It holds its VM until every move was announced, then ends it: the
	# module only reports moves at its next tick, and does not report
	# those of a VM destroyed before that tick (a module bug: they are
	# neither sent nor counted as suppressed).
	local nmoves=$((HOPS + 2))
	sh -c 'kill -STOP $$; exec "$@"' sh "$WL" --vcpus 2 --io 200 --cpuid 100 \
		--chunk 20 --hops "$nmoves" --hold --ready-file "$TMP/W.ready" \
		--json "$TMP/W.json" 2>"$TMP/W.wlerr" &
	W_PID=$!
	BG+=("$W_PID")
	for _ in $(seq 100); do
		[ "$(awk '{print $3}' "/proc/$W_PID/stat" 2>/dev/null)" = T ] && break
		sleep 0.05
	done
	# snapshot_ms=0: no delta events, so every notification the module
	# sends here is one watch prints, and watch's "delta events are off"
	# note (written after it joined the group) says it is listening.
	vs cw config snapshot_ms=0 migr_rate=1000 || { cat "$TMP/cw.err"; return 1; }
	"$VS" watch -j -t 120 >"$TMP/wj.out" 2>"$TMP/wj.err" &
	wj=$!
	"$VS" watch -j -P "$W_PID" -t 120 >"$TMP/wp.out" 2>"$TMP/wp.err" &
	wp=$!
	"$VS" -P "$A_PID" watch -j -t 120 >"$TMP/wa.out" 2>"$TMP/wa.err" &
	wa=$!
	"$VS" watch -j -c 1 -e vm,delta -t 120 >"$TMP/wc.out" 2>"$TMP/wc.err" &
	wc=$!
	"$VS" watch -e vm,delta -t 120 >"$TMP/wt.out" 2>"$TMP/wt.err" &
	wt=$!
	BG+=("$wj" "$wp" "$wa" "$wc" "$wt")
	for _ in $(seq 300); do
		ok=1
		for p in wj wp wa wc wt; do
			grep -q "delta events are off" "$TMP/$p.err" || ok=0
		done
		[ "$ok" -eq 1 ] && break
		sleep 0.1
	done
	[ "$ok" -eq 1 ] || { echo "watchers never joined: $(cat "$TMP"/w?.err)"; return 1; }
	kill -CONT "$W_PID"
	for _ in $(seq 1800); do
		[ -e "$TMP/W.ready" ] && break
		kill -0 "$W_PID" 2>/dev/null || break
		sleep 0.1
	done
	for _ in $(seq 100); do
		grep -q "\"pid\":$W_PID,\"vcpu_id\":0,.*\"total\":$nmoves," "$TMP/wj.out" &&
			grep -q "\"pid\":$W_PID,\"vcpu_id\":1,.*\"total\":$nmoves," "$TMP/wj.out" && break
		sleep 0.1
	done
	kill -USR1 "$W_PID"
	wait "$W_PID"
	rc=$?
	[ "$rc" -eq 0 ] || { echo "driver W exited $rc: $(cat "$TMP/W.wlerr")"; return 1; }
	ok=0
	for _ in $(seq 150); do
		grep -q "\"vm-gone\".*\"pid\":$W_PID," "$TMP/wj.out" &&
			grep -q "\"vm-gone\".*\"pid\":$W_PID," "$TMP/wp.out" &&
			grep -q "vm-gone .* pid $W_PID " "$TMP/wt.out" && { ok=1; break; }
		sleep 0.1
	done
	[ "$ok" -eq 1 ] || echo "no vm-gone for pid $W_PID within 15 s"
	kill -TERM "$wj" "$wp" "$wa" "$wt" 2>/dev/null
	for p in "$wj" "$wp" "$wa" "$wt"; do
		wait "$p"
		rc=$?
		[ "$rc" -eq 0 ] || { echo "a watch exited $rc after SIGTERM"; ok=0; }
	done
	# -c 1 must have stopped by itself after the vm-new
	for _ in $(seq 50); do
		kill -0 "$wc" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$wc" 2>/dev/null; then
		echo "watch -c 1 still running after an event"
		ok=0
	else
		wait "$wc"
		rc=$?
		[ "$rc" -eq 0 ] || { echo "watch -c 1 exited $rc"; ok=0; }
	fi
	# -t with a fraction, nothing happening: exits 0 on its own
	"$VS" watch -j -t 0.5 >"$TMP/wq.out" 2>"$TMP/wq.err" &
	wq=$!
	BG+=("$wq")
	for _ in $(seq 100); do
		kill -0 "$wq" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$wq" 2>/dev/null; then
		echo "watch -t 0.5 still running after 10 s"
		ok=0
	else
		wait "$wq"
		rc=$?
		[ "$rc" -eq 0 ] || { echo "watch -t 0.5 exited $rc"; ok=0; }
		[ -s "$TMP/wq.out" ] && { echo "watch -t 0.5 printed: $(head -c 300 "$TMP/wq.out")"; ok=0; }
	fi
	# shellcheck disable=SC2086
	vs cw2 config $CFG_SAVED || ok=0
	W_PID=$W_PID OK=$ok py <<'EOF'
w = int(os.environ["W_PID"])
r = report("W.json")
check(r["pid"] == w, f"driver pid {r['pid']} != {w}")
ev = jlines("wj.out")
check(ev, "watch -j printed nothing")
check(not [e for e in ev if e["type"] == "lost"], f"lost events reported: {[e for e in ev if e['type'] == 'lost']}")
seqs = [e["seq"] for e in ev if "seq" in e]
check(all(y == x + 1 for x, y in zip(seqs, seqs[1:])), f"sequence gaps: {seqs}")
new = [e for e in ev if e["type"] == "vm-new" and e["vm"]["pid"] == w]
gone = [e for e in ev if e["type"] == "vm-gone" and e["vm"]["pid"] == w]
check(len(new) == 1 and len(gone) == 1, f"{len(new)} vm-new, {len(gone)} vm-gone for pid {w}")
if new and gone:
    vid = new[0]["vm"]["vm_id"]
    check(gone[0]["vm"]["vm_id"] == vid, "vm-new and vm-gone name different VMs")
    check(new[0]["vm"]["comm"] == "kvm_workload" and new[0]["vm"]["stats_id"] == f"kvm-{w}", f"vm-new {new[0]['vm']}")
    g = gone[0]["vm"]
    moves = sum(v["moves_count"] for v in rvcpus(r))
    check(g["nr_vcpus"] == 2, f"vm-gone nr_vcpus {g['nr_vcpus']}")
    check(g["migrations"] == moves, f"vm-gone migrations {g['migrations']} != driver moves {moves}")
    low = sum(sum(exact_codes(r["isa"], v["expect"]).values()) for v in rvcpus(r))
    check(g["exits"] >= low, f"vm-gone exits {g['exits']} < exact ones {low}")
    mig = [e for e in ev if e["type"] == "migrate" and e["vm_id"] == vid]
    pos = [i for i, e in enumerate(ev) if e in new + gone + mig]
    check(ev.index(new[0]) == min(pos) and ev.index(gone[0]) == max(pos), "vm-new/migrate/vm-gone out of order")
    check(mig, "no migrate event for a driver that hopped")
    check(len(mig) + sum(e["suppressed"] for e in mig) == moves,
          f"{len(mig)} migrate events + {sum(e['suppressed'] for e in mig)} suppressed != {moves} moves")
    for v in rvcpus(r):
        mine = [e for e in mig if e["vcpu_id"] == v["vcpu_id"]]
        pairs = {tuple(m) for m in v["moves"]}
        for e in mine:
            check(e["pid"] == w and e["tid"] == v["tid"], f"migrate pid/tid {e['pid']}/{e['tid']} != {w}/{v['tid']}")
            check((e["from"], e["to"]) in pairs, f"vCPU {v['vcpu_id']}: migrate {e['from']}->{e['to']} not a driver move {sorted(pairs)}")
            check(e["distance"] == sysfs_distance(e["from"], e["to"]),
                  f"migrate {e['from']}->{e['to']}: distance {e['distance']} != sysfs {sysfs_distance(e['from'], e['to'])}")
        tot = [e["total"] for e in mine]
        check(tot == sorted(tot) and (not tot or tot[-1] == v["moves_count"]),
              f"vCPU {v['vcpu_id']}: totals {tot}, moves {v['moves_count']}")
        check(len(mine) + sum(e["suppressed"] for e in mine) == v["moves_count"], f"vCPU {v['vcpu_id']}: events + suppressed != moves")
    # -P W: exactly W's events, the same ones
    wp = jlines("wp.out")
    strip = lambda e: {k: v for k, v in e.items() if k not in ("time", "mono_ns")}
    check([strip(e) for e in wp] == [strip(e) for e in ev if e in new + mig + gone],
          f"watch -P W printed {len(wp)} events, want W's {len(new + mig + gone)}")
check(jlines("wa.out") == [], f"watch -P A (a held VM) printed {text('wa.out')[:300]!r}")
wc = jlines("wc.out")
check(len(wc) == 1 and wc[0]["type"] == "vm-new" and wc[0]["vm"]["pid"] == w, f"watch -c 1 -e vm,delta printed {wc}")
t = text("wt.out")
check(re.search(rf" vm-new +vm \d+ pid {w} \(kvm_workload\) kvm-{w}$", t, re.M), "text watch: no vm-new line")
check(re.search(rf" vm-gone +vm \d+ pid {w} \(kvm_workload\) vcpus 2 exits \d+ migrations {sum(v['moves_count'] for v in rvcpus(r))} ", t, re.M),
      "text watch: no vm-gone line")
check("migrate" not in t, "text watch -e vm,delta printed migrate events")
if os.environ["OK"] != "1":
    errs.append("(see above)")
done()
EOF
}

# A VM whose creator's comm has JSON/CSV-special bytes, a tab, UTF-8 and,
# cut at 15 bytes by the kernel, half a UTF-8 character: JSON output must
# stay valid and carry it, text output must stay printable ASCII, CSV valid
# UTF-8 without control bytes.
t_odd_comm() {
	local name rc=0
	name=$'\xc3\xa9"b\\,d e\tfghi\xc3\xa9'
	mkdir -p "$TMP/bin" && ln -sf "$WL" "$TMP/bin/$name" || return 1
	WLBIN="$TMP/bin/$name" start_driver C --vcpus 1 --cpuid 20 || return 1
	# shellcheck disable=SC2153 # set by start_driver
	head -c 15 "/proc/$C_PID/comm" >"$TMP/C.comm"
	vs oa dump -j -P "$C_PID" || rc=1
	vs ob list -j -P "$C_PID" --sample 0 || rc=1
	vs oc stat -t -j -P "$C_PID" 0.2 1 || rc=1
	vs od stat -t --csv -P "$C_PID" 0.2 1 || rc=1
	vs oe list -P "$C_PID" --sample 0 || rc=1
	vs of dump -P "$C_PID" || rc=1
	vs og top -b -n 1 -d 0.2 -P "$C_PID" || rc=1
	vs oh host || rc=1
	stop_driver "$C_PID"
	[ "$rc" -eq 0 ] || { cat "$TMP"/o?.err; return 1; }
	C_PID=$C_PID py <<'EOF'
import csv, io
c = int(os.environ["C_PID"])
raw = open(os.path.join(TMP, "C.comm"), "rb").read().rstrip(b"\n")
check(raw == "é\"b\\,d e\tfghi".encode() + b"\xc3", f"kernel comm {raw!r} (test assumption)")
want = raw.decode("utf-8", "replace")
safe = "".join(chr(b) if 0x20 <= b < 0x7f else "?" for b in raw)
d = load("oa.out")
check([vm["comm"] for vm in d["vms"]] == [want], f"dump -j comm {[vm['comm'] for vm in d['vms']]} != {want!r}")
check([x["comm"] for x in load("ob.out")["vcpus"]] == [want], "list -j comm")
check([x["comm"] for x in jlines("oc.out")] == [want], "stat -j comm")
# CSV is UTF-8 data, not a terminal: valid UTF-8 stays, a control byte or
# the half character is "?"
csv_safe = "".join("?" if ch == "\ufffd" or ord(ch) < 0x20 or ord(ch) == 0x7f else ch for ch in want)
rows = list(csv.reader(io.StringIO(open(os.path.join(TMP, "od.out"), encoding="utf-8", errors="strict").read())))
check(len(rows) == 2 and len(rows[1]) == len(rows[0]) and dict(zip(rows[0], rows[1]))["comm"] == csv_safe,
      f"stat --csv row {rows[1:]} (comm want {csv_safe!r})")
for f, what in (("oe.out", "list"), ("of.out", "dump"), ("og.out", "top"), ("oh.out", "host")):
    b = open(os.path.join(TMP, f), "rb").read()
    bad = sorted({x for x in b if not (0x20 <= x < 0x7f or x == 0x0a)})
    check(not bad, f"{what} text output has bytes {bad}")
check(safe[:15] in text("oe.out"), f"list text lacks {safe[:15]!r}")
check(f"  pid {c}  {safe}  kvm-{c}  " in text("of.out"), f"dump text lacks {safe!r}")
check(f"(pid {c} {safe})" in text("og.out"), f"top scope lacks {safe!r}")
done()
EOF
}

t_host_json() {
	local rc=0
	# P: two vCPUs pinned to the same CPU, for the lint
	start_driver P --vcpus 2 --hop 0 --cpuid 5 || return 1
	vs ha host -j || { cat "$TMP/ha.err"; rc=1; }
	vs hd dump -j || rc=1
	[ "$rc" -eq 0 ] || return 1
	# shellcheck disable=SC2153 # set by start_driver
	P_PID=$P_PID py <<'EOF'
j = load("ha.out")
S = "/sys/devices/system"
rd = lambda p: open(p).read().strip()
online = cpulist(rd(f"{S}/cpu/online"))
t = j["topology"]
check(t["logical_cpus"] == len(online), f"logical_cpus {t['logical_cpus']} != {len(online)}")
check(cpulist(t["online"]) == online, f"online {t['online']!r} != {rd(S + '/cpu/online')!r}")
check(cpulist(t["possible"]) == cpulist(rd(f"{S}/cpu/possible")), f"possible {t['possible']!r}")
pk, cores, thr = set(), set(), 0
for c in online:
    tp = f"{S}/cpu/cpu{c}/topology"
    p = int(rd(f"{tp}/physical_package_id"))
    pk.add(p)
    cores.add((p, int(rd(f"{tp}/core_id"))))
    thr = max(thr, len(cpulist(rd(f"{tp}/thread_siblings_list"))))
check(t["sockets"] == len(pk), f"sockets {t['sockets']} != {len(pk)}")
check(t["cores"] == len(cores), f"cores {t['cores']} != {len(cores)} (package, core_id) pairs")
check(t["threads_per_core"] == thr, f"threads_per_core {t['threads_per_core']} != {thr}")
if os.path.exists(f"{S}/cpu/smt/active"):
    active = int(rd(f"{S}/cpu/smt/active")) != 0
    check((t["smt"] == "on") == active, f"smt {t['smt']!r} with smt/active {int(active)}")
want = []
for nd in sorted(cpulist(rd(f"{S}/node/online"))):
    mem = int(re.search(r"MemTotal:\s+(\d+)", open(f"{S}/node/node{nd}/meminfo").read()).group(1))
    want.append((nd, cpulist(rd(f"{S}/node/node{nd}/cpulist")), mem))
got = [(x["node"], cpulist(x["cpus"]), x["mem_total_kb"]) for x in j["numa"]]
check(got == want, f"numa {got} != sysfs {want}")
flags = next((l for l in open("/proc/cpuinfo") if l.startswith("flags")), "").split()
check(j["cpu"]["svm"] == ("svm" in flags) and j["cpu"]["vmx"] == ("vmx" in flags)
      and j["cpu"]["hypervisor"] == ("hypervisor" in flags), f"cpu {j['cpu']}")
for m in ("kvm", "kvm_intel", "kvm_amd"):
    loaded = os.path.isdir(f"/sys/module/{m}")
    check(j["kvm"][m]["loaded"] == loaded, f"{m} loaded {j['kvm'][m]['loaded']} != {loaded}")
    for k, v in j["kvm"][m].get("parameters", {}).items():
        f = f"/sys/module/{m}/parameters/{k}"
        if loaded and os.path.exists(f):
            check(v == rd(f), f"{m}.{k} {v!r} != {rd(f)!r}")
check(j["vcpustat"]["loaded"] is True and j["vcpustat"]["state"] == "loaded", f"vcpustat {j['vcpustat']}")
d = load("hd.out")
check(j["vcpustat"]["version"] == d["status"]["version"], f"version {j['vcpustat']['version']}")
l = j["lint"]
check(l["ran"] is True, f"lint {l}")
if l["ran"]:
    check(l["vms"] == len(d["vms"]) and l["vcpus"] == sum(vm["nr_vcpus"] for vm in d["vms"]) and l["cpus"] == len(online),
          f"lint vms/vcpus/cpus {l['vms']}/{l['vcpus']}/{l['cpus']}")
# the lint's findings, recomputed from the dump and sysfs
node_of = {c: nd for nd, cpus, _ in want for c in cpus}
sib = {c: cpulist(rd(f"{S}/cpu/cpu{c}/topology/thread_siblings_list")) for c in online}
exp = set()
if l["ran"] and l["vcpus"] > l["cpus"]:
    exp.add(("overcommit", None))
for vm in d["vms"]:
    pins = []
    for c in vm["vcpus"]:
        try:
            aff = os.sched_getaffinity(c["tid"])
        except OSError:
            aff = set()
        if len(aff) == 1:
            pins.append(next(iter(aff)))
    for i in range(len(pins)):
        for k in range(i + 1, len(pins)):
            if pins[i] == pins[k]:
                exp.add(("same-cpu-pinned", vm["vm_id"]))
            elif pins[k] in sib.get(pins[i], ()):
                exp.add(("smt-pinned", vm["vm_id"]))
    ran = {x["cpu"] for c in vm["vcpus"] for x in c["residency"] if x["exits"]}
    if len(want) > 1 and len({node_of.get(c) for c in ran} - {None}) > 1:
        exp.add(("numa-spread", vm["vm_id"]))
got = {(f["check"], f.get("vm_id")) for f in l.get("findings", [])}
check(got == exp, f"lint findings {sorted(got, key=str)} != expected {sorted(exp, key=str)}")
pvm = vms_of(d, int(os.environ["P_PID"]))
check(pvm and ("same-cpu-pinned", pvm[0]["vm_id"]) in got, "no same-cpu-pinned finding for two vCPUs pinned to CPU 0")
iso = rd(f"{S}/cpu/isolated") if os.path.exists(f"{S}/cpu/isolated") else None
if iso is not None:
    check(cpulist(j["isolation"]["isolated"] or "") == cpulist(iso), f"isolated {j['isolation']['isolated']!r}")
done()
EOF
	rc=$?
	# the lint and the check read the vCPU threads' affinities: P lives until here
	stop_driver "$P_PID"
	return "$rc"
}

t_host_text() {
	vs hb host || { cat "$TMP/hb.err"; return 1; }
	vs hc host -j || return 1
	vs hp host --pretty || return 1
	py <<'EOF'
t = text("hb.out")
j = load("hc.out")
check(text("hp.out").count("\n") > 10 and load("hp.out")["topology"] == j["topology"] and load("hp.out")["numa"] == j["numa"],
      "host -p differs from host -j")
tp = j["topology"]
m = re.search(r"^  logical CPUs +(\d+) online \(([^)]*)\) of (\d+) possible$", t, re.M)
if check(m, "no 'logical CPUs' line"):
    check(int(m.group(1)) == tp["logical_cpus"] and cpulist(m.group(2)) == cpulist(open("/sys/devices/system/cpu/online").read()),
          f"logical CPUs line {m.group(0)!r}")
    check(int(m.group(3)) == len(cpulist(open("/sys/devices/system/cpu/possible").read())), f"possible in {m.group(0)!r}")
# "1 socket", "SMT not supported": the words as a person writes them
m = re.search(r"^  layout +(\d+) sockets?, (\d+) cores?, (\d+) threads? per core, SMT (.+)$", t, re.M)
smt_words = {"notsupported": "not supported", "notimplemented": "not implemented", "forceoff": "forced off"}
if check(m, "no 'layout' line"):
    check((int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4)) ==
          (tp["sockets"], tp["cores"], tp["threads_per_core"], smt_words.get(tp["smt"], tp["smt"])),
          f"layout line {m.group(0)!r} != -j {tp}")
nodes = re.findall(r"^  node(\d+) +cpus (\S+)  memory (\S+)$", t, re.M)
check([(int(a), cpulist(b)) for a, b, _ in nodes] == [(x["node"], cpulist(x["cpus"])) for x in j["numa"]],
      f"NUMA lines {nodes} != -j {j['numa']}")
# the live module's uapi revision is the tool's (one header, one build)
m = re.search(r"^  module +loaded, version \S+, uapi revision (\d+), \d+ VMs, \d+ vCPUs tracked$", t, re.M)
mt = re.search(r"^  tool +\S+, uapi revision (\d+)$", t, re.M)
if check(m and mt, "vcpustat module and tool lines"):
    check(m.group(1) == mt.group(1) and int(m.group(1)) == j["vcpustat"]["uapi_revision"],
          f"uapi revision: module {m.group(1)}, tool {mt.group(1)}, -j {j['vcpustat']}")
check(re.search(r"^  \d+ VMs, \d+ vCPUs on \d+ CPUs: over-commit [0-9.]+$", t, re.M), "lint summary line")
done()
EOF
}

# expect_rc WANT LABEL ARGS...: the tool exits WANT and writes to stderr.
expect_rc() {
	local want=$1 label=$2 rc
	shift 2
	vs er "$@"
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "$label: 'vcpustat $*' exited $rc, want $want; stderr: $(head -c 300 "$TMP/er.err")"
		return 1
	fi
	if [ "$want" -ne 0 ] && ! [ -s "$TMP/er.err" ]; then
		echo "$label: 'vcpustat $*' exited $rc with nothing on stderr"
		return 1
	fi
	return 0
}

t_bad_args() {
	local rc=0 a
	local -a cases=(
		"" "bogus" "h" "help bogus" "list --bogus" "list abc"
		"list --sample 99999999" "dump extra" "dump --vcpu x" "top -n 0"
		"top -d 0.01" "top -s bogus" "stat --csv -j" "stat 1 x"
		"watch -e bogus" "watch -c 0" "config bogus=1" "config timing=maybe"
		"reset extra" "host extra" "-P x list" "--vm 0 list" "reset --vm 0"
		"list -P"
	)
	for a in "${cases[@]}"; do
		# shellcheck disable=SC2086 # word splitting intended
		expect_rc 2 usage $a || rc=1
		# a usage error says how to get help
		if [ -n "$a" ] && ! grep -qiE "usage|try" "$TMP/er.err"; then
			echo "usage: 'vcpustat $a' printed no usage hint: $(head -c 200 "$TMP/er.err")"
			rc=1
		fi
		[ -s "$TMP/er.out" ] && { echo "usage: 'vcpustat $a' wrote to stdout"; rc=1; }
	done
	# and the good forms around them
	expect_rc 0 ok --help || rc=1
	expect_rc 0 ok help list || rc=1
	expect_rc 0 ok -V || rc=1
	expect_rc 0 ok l -P "$A_PID" --sample 0 || rc=1
	grep -q "kvm_workload" "$TMP/er.out" || { echo "'vcpustat l' is not list"; rc=1; }
	# -P 0: VMs whose creator KVM never recorded; these all have a pid,
	# so it selects nothing, which is an error like any empty selection
	expect_rc 1 none -P 0 list --sample 0 || rc=1
	grep -q "no VM matches -p 0" "$TMP/er.err" || { echo "'vcpustat -P 0 list': $(cat "$TMP/er.err")"; rc=1; }
	# issue 17: -p is the pid everywhere (stat -p used to take it as the
	# interval); an empty selection exits 1 in every command; decimal ids
	expect_rc 0 ok stat -j -p "$A_PID" 0.1 1 || rc=1
	grep -q "\"pid\":$A_PID," "$TMP/er.out" || { echo "stat -p $A_PID: $(head -c 300 "$TMP/er.out")"; rc=1; }
	for a in "list -p 4194303" "dump -j --vm 4000000000" "top -b -n 1 -g nosuch" \
		 "stat -p 4194303 0.1 1" "watch -t 1 --vm 4000000000" "reset -g nosuch" \
		 "pin -p 4194303" "export --once -g nosuch" "list --vm 0100000"; do
		# shellcheck disable=SC2086 # word splitting intended
		expect_rc 1 none $a || rc=1
		grep -q "no VM matches" "$TMP/er.err" || { echo "'vcpustat $a': $(cat "$TMP/er.err")"; rc=1; }
	done
	grep -q "no VM matches --vm 100000$" "$TMP/er.err" || { echo "--vm 0100000 is not decimal: $(cat "$TMP/er.err")"; rc=1; }
	expect_rc 2 usage top -b -n 1 --vcpu 0 || rc=1
	# a failed write to stdout is an error
	"$VS" dump -j >/dev/full 2>"$TMP/full.err"
	[ $? -eq 1 ] && grep -q "write error" "$TMP/full.err" || { echo "dump -j >/dev/full: $(cat "$TMP/full.err")"; rc=1; }
	return "$rc"
}

t_kernel_rejects() {
	local rc=0
	expect_rc 1 kernel config snapshot_ms=50 || rc=1
	grep -q "kernel reports: " "$TMP/er.err" || { echo "config snapshot_ms=50: no kernel message: $(cat "$TMP/er.err")"; rc=1; }
	expect_rc 1 kernel config migr_rate=99999999 || rc=1
	grep -q "kernel reports: " "$TMP/er.err" || { echo "config migr_rate=99999999: no kernel message: $(cat "$TMP/er.err")"; rc=1; }
	expect_rc 1 kernel config timing_every=0 || rc=1
	grep -q "kernel reports: " "$TMP/er.err" || { echo "config timing_every=0: no kernel message: $(cat "$TMP/er.err")"; rc=1; }
	expect_rc 1 kernel reset --vm 4000000000 || rc=1
	grep -q "no VM matches --vm 4000000000" "$TMP/er.err" || { echo "reset --vm unknown: $(cat "$TMP/er.err")"; rc=1; }
	expect_rc 1 kernel reset -P 4194303 || rc=1
	# nothing was changed by the rejected requests
	vs kc config -j || rc=1
	py <<'EOF' || rc=1
check(load("kc.out")["config"] == load("cfg0.out")["config"], f"config changed by rejected requests: {load('kc.out')['config']}")
done()
EOF
	return "$rc"
}

as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$@"
}

t_unprivileged() {
	local rc=0 a st
	command -v setpriv >/dev/null || { echo "setpriv (util-linux) not installed"; return 4; }
	for a in "list" "dump -j" "top -b -n 1 -d 0.1" "stat 0.1 1" \
		 "config migr_rate=5" "reset -P $A_PID" "watch -j -t 1"; do
		# shellcheck disable=SC2086
		timeout 30 setpriv --reuid=65534 --regid=65534 --clear-groups \
			--inh-caps=-all "$VS" $a >"$TMP/np.out" 2>"$TMP/np.err"
		st=$?
		if [ "$st" -ne 4 ]; then
			echo "unprivileged 'vcpustat $a' exited $st, want 4; stderr: $(head -c 200 "$TMP/np.err")"
			rc=1
		elif ! grep -q CAP_NET_ADMIN "$TMP/np.err"; then
			echo "unprivileged 'vcpustat $a': message does not name CAP_NET_ADMIN: $(cat "$TMP/np.err")"
			rc=1
		fi
	done
	as_nobody "$VS" host >"$TMP/np.out" 2>"$TMP/np.err"
	st=$?
	[ "$st" -eq 0 ] || { echo "unprivileged host exited $st"; rc=1; }
	grep -q "permission denied" "$TMP/np.out" || { echo "unprivileged host does not say permission denied"; rc=1; }
	grep -q "^Topology" "$TMP/np.out" || { echo "unprivileged host printed no report"; rc=1; }
	vs nc config -j || rc=1
	py <<'EOF' || rc=1
check(load("nc.out")["config"] == load("cfg0.out")["config"], "config changed by an unprivileged request")
d = load("nc.out")
done()
EOF
	vs nd dump -j -P "$A_PID" || rc=1
	py <<'EOF' || rc=1
a = int(os.environ["A_PID"])
check(vms_of(load("nd.out"), a)[0]["exits"] == vms_of(load("d0.out"), a)[0]["exits"],
      "an unprivileged reset changed A's counters")
done()
EOF
	return "$rc"
}

t_config() {
	local rc=0
	vs ca config snapshot_ms=300 timing=off migr_rate=77 timing_every=16 heartbeat_ms=500 budget=off || { cat "$TMP/ca.err"; return 1; }
	grep -qE "^budget +off$" "$TMP/ca.out" || { echo "config output: no budget off"; rc=1; }
	grep -qE "^snapshot_ms +300$" "$TMP/ca.out" || { echo "config output: no snapshot_ms 300"; rc=1; }
	grep -qE "^timing +off$" "$TMP/ca.out" || { echo "config output: no timing off"; rc=1; }
	grep -qE "^migr_rate +77/s$" "$TMP/ca.out" || { echo "config output: no migr_rate 77/s"; rc=1; }
	grep -qE "^timing_every +16 \(sampled\)$" "$TMP/ca.out" || { echo "config output: no timing_every 16"; rc=1; }
	grep -qE "^heartbeat_ms +500$" "$TMP/ca.out" || { echo "config output: no heartbeat_ms 500"; rc=1; }
	vs cb config -j || rc=1
	vs cc dump -j -P "$B_PID" || rc=1
	vs cd config migr_rate=0 || rc=1
	grep -qE "^migr_rate +0 \(migration events off\)$" "$TMP/cd.out" || { echo "config migr_rate=0 output: $(grep migr_rate "$TMP/cd.out")"; rc=1; }
	# shellcheck disable=SC2086
	vs ce config $CFG_SAVED || rc=1
	vs cf config -j || rc=1
	vs cg config || rc=1
	vs ch config --pretty || rc=1
	py <<'EOF' || rc=1
want = {"snapshot_ms": 300, "timing": False, "migr_rate": 77, "timing_every": 16, "heartbeat_ms": 500, "budget": False, "detail": False, "detail_k": 8}
check(load("cb.out")["config"] == want, f"config -j after set: {load('cb.out')['config']}")
check(load("cc.out")["config"] == want, f"dump -j config after set: {load('cc.out')['config']}")
# Budget off: every vCPU's budget is there, in no state (nothing open).
for vm in load("cc.out")["vms"]:
    for c in vm["vcpus"]:
        check(c["budget"] is None or c["budget"]["state"] is None, f"budget off, yet vCPU {c['vcpu_id']} is in state {c['budget']['state']}")
check(load("cf.out")["config"] == load("cfg0.out")["config"], f"restored {load('cf.out')['config']} != original {load('cfg0.out')['config']}")
st = load("cf.out")["status"]
check(load("ch.out")["config"] == load("cf.out")["config"] and text("ch.out").count("\n") > 5, "config -p")
for k in ("version", "vms", "vcpus", "max_vcpus", "vms_seen", "overflow", "alloc_fail", "events_sent",
          "events_lost", "migr_suppressed", "generation", "bad_layout", "nomem_exits", "stale_vms",
          "run_hook", "run_missed"):
    check(k in st, f"status lacks {k}")
t = text("cg.out")
for k, v in st.items():
    if k in ("vms_seen", "overflow", "alloc_fail", "bad_layout", "generation", "nomem_exits", "stale_vms"):
        check(re.search(rf"^{k} +{v}$", t, re.M), f"config text: {k} {v} missing")
print(f"module status: events sent {st['events_sent']} lost {st['events_lost']}, migrations suppressed {st['migr_suppressed']}")
done()
EOF
	return "$rc"
}

t_reset() {
	local rc=0 bvm
	vs ra dump -j || return 1
	vs rb reset -P "$A_PID" || { cat "$TMP/rb.err"; return 1; }
	vs rc dump -j || return 1
	vs rl list -j -P "$A_PID" --sample 0 || rc=1
	vs rt top -j -n 1 -d 0.2 -P "$A_PID" || rc=1
	bvm=$(py <<'EOF'
print(vms_of(load("ra.out"), int(os.environ["B_PID"]))[0]["vm_id"])
EOF
)
	vs rd reset --vm "$bvm" || { cat "$TMP/rd.err"; rc=1; }
	vs re dump -j || rc=1
	py <<'EOF' || rc=1
a, b = int(os.environ["A_PID"]), int(os.environ["B_PID"])
before, after, last = load("ra.out"), load("rc.out"), load("re.out")

def zero(vm, tag):
    check(vm["exits"] == 0 and vm["migrations"] == 0 and vm["exit_time_ns"] == 0, f"{tag}: VM totals not zero")
    for c in vm["vcpus"]:
        check(all(c[k] == 0 for k in ("exits", "migrations", "timed_exits", "exit_time_ns")),
              f"{tag}: vCPU {c['vcpu_id']} counters not zero")
        check(c["reasons"] == [] and not any(c["hist"]) and c["residency"] == []
              and not any(c["migrations_by_distance"].values()), f"{tag}: vCPU {c['vcpu_id']} arrays not empty")

ab, aa = vms_of(before, a)[0], vms_of(after, a)[0]
check(ab["exits"] > 0, "A had no exits before the reset")
zero(aa, "A after reset -P A")
check(aa["vm_id"] == ab["vm_id"] and aa["nr_vcpus"] == ab["nr_vcpus"], "A's identity changed")
for x, y in zip(ab["vcpus"], aa["vcpus"]):
    check((x["vcpu_id"], x["tid"], x["pcpu"]) == (y["vcpu_id"], y["tid"], y["pcpu"]), f"vCPU identity changed {x['vcpu_id']}")
noage = lambda vm: settled(dict(vm, vcpus=[dict(c) for c in vm["vcpus"]]))
for pid in {vm["pid"] for vm in before["vms"]} - {a}:
    for x, y in zip(vms_of(before, pid), vms_of(after, pid)):
        check(noage(x) == noage(y), f"VM {x['vm_id']} (pid {pid}) changed by reset -P A")
check(all(x["exits"] == 0 for x in load("rl.out")["vcpus"]), "list -j after reset shows exits")
check(load("rt.out")["totals"]["exits"] == 0 and load("rt.out")["reasons"] == [], "top -j after reset shows exits")
b1, b2 = vms_of(last, b)
zero(b1, "B's first VM after reset --vm")
check(b2["exits"] > 0 and noage(b2) == noage(vms_of(after, b)[1]), "B's second VM changed by reset --vm of the first")
zero(vms_of(last, a)[0], "A after reset of B")
done()
EOF
	return "$rc"
}

t_module_absent() {
	local rc=0 a
	if ! [ -r "$KO" ]; then
		echo "no module file to reload ($KO; set VCPUSTAT_KO)"
		return 4
	fi
	if ! rmmod vcpustat 2>"$TMP/rmmod.err"; then
		echo "rmmod vcpustat: $(cat "$TMP/rmmod.err")"
		return 1
	fi
	RMMODDED=1
	for a in "list" "dump -j" "stat 0.1 1" "watch -t 1" "config timing=on" \
		 "reset" "-P $A_PID top -b -n 1"; do
		# shellcheck disable=SC2086
		expect_rc 3 absent $a || rc=1
		grep -qx "vcpustat: kernel module not loaded (try: modprobe vcpustat)" "$TMP/er.err" ||
			{ echo "absent: 'vcpustat $a' message: $(cat "$TMP/er.err")"; rc=1; }
	done
	as_nobody "$VS" list >/dev/null 2>"$TMP/np.err"
	a=$?
	[ "$a" -eq 3 ] || { echo "unprivileged list without module exited $a, want 3"; rc=1; }
	expect_rc 0 absent host || rc=1
	grep -qE "^  module +not loaded" "$TMP/er.out" || { echo "host does not say 'not loaded'"; rc=1; }
	grep -q "skipped: vcpustat module not loaded" "$TMP/er.out" || { echo "host lint not skipped"; rc=1; }
	expect_rc 0 absent host -j || rc=1
	cp "$TMP/er.out" "$TMP/hn.out"
	py <<'EOF' || rc=1
j = load("hn.out")
check(j["vcpustat"]["loaded"] is False and j["vcpustat"]["state"] == "not loaded", f"host -j vcpustat {j['vcpustat']}")
check(j["lint"]["ran"] is False, f"host -j lint {j['lint']}")
done()
EOF
	if ! insmod "$KO" 2>"$TMP/insmod.err"; then
		echo "insmod $KO: $(cat "$TMP/insmod.err")"
		return 1
	fi
	RMMODDED=
	expect_rc 0 reloaded list --sample 0 || rc=1
	expect_rc 0 reloaded config -j || rc=1
	return "$rc"
}

run_case dump_json_exact_counts t_dump_exact
run_case dump_filters_pretty_and_text t_dump_filters
run_case list_text_json_interval t_list
run_case pid_filter_excludes_other_vm t_list_filter
run_case stat_text_json_csv t_stat
run_case stat_deltas_sum_to_totals t_stat_deltas
run_case top_batch_text t_top_text
run_case top_json_equals_dump t_top_json
run_case watch_vm_and_migration_events t_watch
run_case odd_comm_escaped t_odd_comm
run_case host_json_topology t_host_json
run_case host_text_topology t_host_text
run_case bad_arguments_exit_2 t_bad_args
run_case kernel_rejections_exit_1 t_kernel_rejects
run_case unprivileged_exit_4 t_unprivileged
run_case config_round_trip t_config
run_case reset_one_vm t_reset
stop_driver "$A_PID"
run_case module_absent_exit_3 t_module_absent

# the held B ends last
stop_driver "$B_PID"
rc=$?
: >"$TMP/diag"
[ "$rc" -eq 0 ] || echo "driver B exited $rc: $(cat "$TMP/B.wlerr")" >"$TMP/diag"
result drivers_exit_cleanly $rc

echo "# $failed of $NTESTS failed"
[ "$failed" -eq 0 ] || exit 1
exit 0
