#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# export_test.sh: `vcpustat export` (Prometheus) against the real, loaded
# vcpustat module, with kvm_workload as the ground truth. KTAP output.
#
# Cases:
#  - export --once --per-vcpu: per vCPU of a held VM, vcpustat_vm_exits_total for the
#    exact reasons (cpuid, io) equals the driver's expect, every reason
#    equals `dump -j`, migrations summed over distances equal the forced
#    moves (and per distance equal dump -j), vcpu_info tid / vcpu_pcpu
#    equal the driver's tid / end_cpu, the histogram equals dump -j's
#    (12 buckets le = 512 ns .. 2.1 s in x4 steps, cumulative, +Inf ==
#    _count == timed exits, exact _sum); pid and comm only on _info
#  - the default (per VM): no vcpu label, at most 60 series for the VM
#  - --by vm --reasons top:1: one series group per VM, cpuid (the top
#    reason) exact, other == the rest, no vcpu label
#  - promtool check metrics on the real output (skipped without promtool)
#  - --listen: curl /metrics is byte-identical to the --textfile written by
#    the same refresh; 404 / 405; SIGTERM exits 0 and removes the file
#  - a VM that goes away: its final counts (exact) stay exported for one
#    more refresh while the module no longer has it, then it is dropped
#    for good
#  - --reason-hist (issue 16), details on, a VM with known exits of several
#    reasons: per vCPU and reason the histogram's _count equals the
#    reason's timed count in dump -j, +Inf == _count, the 10 buckets (le
#    512 ns .. 134 ms in x4 steps) are the module's rhist summed below each
#    le (so cumulative, ending at _count), _sum exact; per VM the vCPUs'
#    sums; with --reasons top:2 the exits family's reasons, "other" the
#    folded ones' timed exits; promtool on it; nothing without the flag;
#    details off: no samples, and the exporter logs why
#  - the module away at start-up (RELIABILITY.md F8): the exporter does not
#    exit; /metrics answers 200 with vcpustat_up 0 until the module is
#    loaded, then vcpustat_up 1 (needs VCPUSTAT_KO, the module to load)
#
# Usage: export_test.sh   (root; the vcpustat module loaded; kvm_workload
#        built; user/vcpustat built; or VCPUSTAT=.., KVM_WORKLOAD=..)
#   In the rig:
#   scripts/rig/run-vm -q -k KVER -s 4 -- \
#     'insmod build/KVER/vcpustat.ko && selftests/export_test.sh'
# Exit: 0 all passed, 1 a case failed, 4 skipped (not root, no /dev/kvm,
# module not loaded).

set -u

DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
TOP=$(dirname "$DIR")
WL=${KVM_WORKLOAD:-$DIR/kvm_workload}
VS=${VCPUSTAT:-$TOP/user/vcpustat}
KSFT_SKIP=4
NTESTS=7

skip_all() {
	echo "KTAP version 1"
	echo "1..0 # SKIP $*"
	exit $KSFT_SKIP
}

[ "$(id -u)" -eq 0 ] || skip_all "must be root"
if ! [ -c /dev/kvm ] || ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	skip_all "no usable /dev/kvm"
fi
[ -d /sys/module/vcpustat ] || skip_all "vcpustat module not loaded"
[ -x "$WL" ] || skip_all "$WL missing: run 'make -C selftests'"
[ -x "$VS" ] || skip_all "$VS missing: run 'make -C user'"
command -v python3 >/dev/null || skip_all "python3 needed"

TMP=$(mktemp -d /tmp/export_test.XXXXXX) || exit 1
BG=()

cleanup() {
	local p
	touch "$TMP/go1" "$TMP/go2" "$TMP/go3" 2>/dev/null
	for p in "${BG[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	sleep 0.3
	for p in "${BG[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

n=0
failed=0
echo "KTAP version 1"
echo "1..$NTESTS"

result() { # NAME STATUS [why]: 0 ok, 4 skip, else not ok
	local name=$1 st=$2
	shift 2
	n=$((n + 1))
	case $st in
	0) echo "ok $n $name" ;;
	4) echo "ok $n $name # SKIP $*" ;;
	*)
		echo "not ok $n $name"
		[ $# -gt 0 ] && echo "# $*"
		failed=$((failed + 1))
		;;
	esac
}

wait_file() { # FILE SECONDS
	local i
	for i in $(seq $(($2 * 10))); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# Prometheus text parser + checks, shared by the cases.
cat >"$TMP/prom.py" <<'PY'
import json, re, sys

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')

def labels(s):
    out, i = {}, 0
    while i < len(s):
        eq = s.index('=', i)
        key = s[i:eq]
        assert s[eq + 1] == '"', s
        j, val = eq + 2, []
        while s[j] != '"':
            if s[j] == '\\':
                val.append({'n': '\n', '\\': '\\', '"': '"'}[s[j + 1]])
                j += 2
            else:
                val.append(s[j])
                j += 1
        out[key] = ''.join(val)
        i = j + 1
        if i < len(s):
            assert s[i] == ',', s
            i += 1
    return out

def parse(path):
    """[(name, labels, value)] of every sample; asserts the syntax."""
    samples = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.rstrip('\n')
            if line.startswith('#'):
                assert line.startswith('# HELP ') or line.startswith('# TYPE '), line
                continue
            m = LINE.match(line)
            assert m, 'bad line: %r' % line
            samples.append((m.group(1), labels(m.group(3) or ''),
                            float(m.group(4))))
    return samples

def pick(samples, name, **want):
    return [(l, v) for (nm, l, v) in samples
            if nm == name and all(l.get(k) == str(x) for k, x in want.items())]

def one(samples, name, **want):
    r = pick(samples, name, **want)
    assert len(r) == 1, '%s %s: %d samples' % (name, want, len(r))
    return r[0][1]

def secs(ns):
    s, f = divmod(ns, 10**9)
    return str(s) if not f else ('%d.%09d' % (s, f)).rstrip('0')
PY

# ---- setup: a held VM with exact exits and forced moves -------------------
NCPUS=$(getconf _NPROCESSORS_ONLN)
HOPS=0
[ "$NCPUS" -ge 2 ] && HOPS=2
"$WL" --vcpus 2 --cpuid 500 --io 100 --hops $HOPS --hold \
	--hold-file "$TMP/go1" --ready-file "$TMP/ready1" \
	--json "$TMP/w1.json" >/dev/null 2>"$TMP/w1.err" &
BG+=($!)
if ! wait_file "$TMP/ready1" 120; then
	echo "# kvm_workload did not get ready: $(head -3 "$TMP/w1.err")"
	for i in $(seq $NTESTS); do result "case$i" 1 "no workload"; done
	exit 1
fi
W1=$(cat "$TMP/ready1")
echo "# held VM: pid $W1, $NCPUS CPUs, $HOPS moves per vCPU"
"$VS" dump -j -P "$W1" >"$TMP/dump1.json"
W1_VMID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vms"][0]["vm_id"])' "$TMP/dump1.json")

# ---- 1: --once, per vCPU, exact --------------------------------------------
t_once_exact() {
	"$VS" export --once --per-vcpu -P "$W1" >"$TMP/once.prom" 2>"$TMP/once.err" ||
		{ echo "# export --once failed: $(cat "$TMP/once.err")"; return 1; }
	"$VS" export --once -P "$W1" >"$TMP/fleet.prom" 2>"$TMP/fleet.err" ||
		{ echo "# export --once (per VM) failed: $(cat "$TMP/fleet.err")"; return 1; }
	python3 - "$TMP/once.prom" "$TMP/w1.json" "$TMP/dump1.json" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1].rsplit('/', 1)[0])
from prom import *
s = parse(sys.argv[1])
rep = json.load(open(sys.argv[2]))
dump = json.load(open(sys.argv[3]))
isa = rep['isa']
names = {'svm': {'cpuid': 'cpuid', 'io': 'io'},
         'vmx': {'cpuid': 'CPUID', 'io': 'IO_INSTRUCTION'}}[isa]
pid = rep['pid']
(vm,) = [v for v in dump['vms'] if v['pid'] == pid]
vmid = vm['vm_id']
assert one(s, 'vcpustat_up') == 1
assert one(s, 'vcpustat_vm_info', vm_id=vmid, pid=pid, comm='kvm_workload') == 1
assert one(s, 'vcpustat_vm_vcpus', vm_id=vmid) == len(vm['vcpus'])
assert one(s, 'vcpustat_module_vcpus') >= 2
bad = []
for rv in rep['vms'][0]['vcpus']:
    vid, exp = rv['vcpu_id'], rv['expect']
    (dv,) = [d for d in vm['vcpus'] if d['vcpu_id'] == vid]
    lab = dict(vm_id=vmid, vcpu=vid)
    for kind in ('cpuid', 'io'):
        got = one(s, 'vcpustat_vm_exits_total', isa=isa, reason=names[kind], **lab)
        if got != exp[kind]:
            bad.append('vcpu %d %s: %d, driver did %d' % (vid, kind, got, exp[kind]))
    # every reason as dump -j has it, and nothing else
    for r in dv['reasons']:
        got = one(s, 'vcpustat_vm_exits_total', reason=r['name'], **lab)
        if got != r['count']:
            bad.append('vcpu %d %s: %d, dump %d' % (vid, r['name'], got, r['count']))
    tot = sum(v for _, v in pick(s, 'vcpustat_vm_exits_total', **lab))
    if tot != dv['exits']:
        bad.append('vcpu %d exits %d, dump %d' % (vid, tot, dv['exits']))
    mig = pick(s, 'vcpustat_vcpu_migrations_total', **lab)
    if sum(v for _, v in mig) != exp['migrations'] or len(mig) != 4:
        bad.append('vcpu %d migrations %s, driver moved %d' % (vid, mig, exp['migrations']))
    for d, c in dv['migrations_by_distance'].items():
        if one(s, 'vcpustat_vcpu_migrations_total', distance=d, **lab) != c:
            bad.append('vcpu %d distance %s' % (vid, d))
    if one(s, 'vcpustat_vcpu_info', tid=rv['tid'], **lab) != 1:
        bad.append('vcpu %d tid' % vid)
    if one(s, 'vcpustat_vcpu_pcpu', **lab) != rv['end_cpu']:
        bad.append('vcpu %d pcpu, driver ended on %d' % (vid, rv['end_cpu']))
    h = 'vcpustat_vm_exit_duration_seconds'
    # le = 2^e ns, e = 9, 11, ..., 31: the kernel's buckets below 2^e
    les = [l['le'] for l, _ in pick(s, h + '_bucket', **lab)]
    if les != [secs(1 << e) for e in range(9, 32, 2)] + ['+Inf']:
        bad.append('vcpu %d buckets %s' % (vid, les))
    for e in range(9, 32, 2):
        if one(s, h + '_bucket', le=secs(1 << e), **lab) != sum(dv['hist'][:e]):
            bad.append('vcpu %d bucket le=%s' % (vid, secs(1 << e)))
    cum = sum(dv['hist'])
    if not (one(s, h + '_bucket', le='+Inf', **lab) == one(s, h + '_count', **lab)
            == cum == dv['timed_exits']):
        bad.append('vcpu %d +Inf/_count %d, timed %d' % (vid, cum, dv['timed_exits']))
    want_sum = 'vcpustat_vm_exit_duration_seconds_sum{vm_id="%d",vcpu="%d"} %s\n' % (
        vmid, vid, secs(dv['exit_time_ns']))
    if want_sum not in open(sys.argv[1]).read():
        bad.append('vcpu %d _sum, want %s' % (vid, want_sum.strip()))
# identity only on the _info series
for nm, l, v in s:
    if ('pid' in l or 'comm' in l) and not nm.endswith('_info'):
        bad.append('pid/comm on %s' % nm)
# the default: per VM, within the fleet budget (3 + reasons + 15 + 4 + 7
# time states)
f = parse(sys.argv[1].replace('once.prom', 'fleet.prom'))
mine = [(nm, l) for nm, l, v in f if l.get('vm_id') == str(vmid)]
nreasons = len({r['name'] for d in vm['vcpus'] for r in d['reasons']})
if any('vcpu' in l for _, l in mine):
    bad.append('a vcpu label by default')
if len(mine) != 3 + nreasons + 15 + 4 + 7 or len(mine) > 60:
    bad.append('%d series for the VM (%d reasons)' % (len(mine), nreasons))
print('# per-VM series of the VM: %d (%d reasons)' % (len(mine), nreasons))
for b in bad:
    print('#', b)
sys.exit(1 if bad else 0)
PY
}

# ---- 2: --by vm --reasons top:1 -------------------------------------------
t_by_vm_top() {
	"$VS" export --once --by vm --reasons top:1 -P "$W1" >"$TMP/vm.prom" ||
		return 1
	python3 - "$TMP/vm.prom" "$TMP/w1.json" "$TMP/dump1.json" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1].rsplit('/', 1)[0])
from prom import *
s = parse(sys.argv[1])
rep = json.load(open(sys.argv[2]))
dump = json.load(open(sys.argv[3]))
pid = rep['pid']
(vm,) = [v for v in dump['vms'] if v['pid'] == pid]
name = {'svm': 'cpuid', 'vmx': 'CPUID'}[rep['isa']]
ex = pick(s, 'vcpustat_vm_exits_total', vm_id=vm['vm_id'])
got = {l['reason']: v for l, v in ex}
ok = True
if any('vcpu' in l for nm, l, v in s):
    print('# a vcpu label with --by vm'); ok = False
# 2 vCPUs x 500 CPUID is the most frequent reason
if got.get(name) != rep['vms'][0]['expect']['cpuid'] or set(got) != {name, 'other'}:
    print('# reasons %s, driver did %d cpuid' % (got, rep['vms'][0]['expect']['cpuid'])); ok = False
if sum(got.values()) != vm['exits']:
    print('# sum %d, dump %d' % (sum(got.values()), vm['exits'])); ok = False
mig = sum(v for _, v in pick(s, 'vcpustat_vcpu_migrations_total', vm_id=vm['vm_id']))
if mig != rep['vms'][0]['expect']['migrations']:
    print('# migrations %d' % mig); ok = False
sys.exit(0 if ok else 1)
PY
}

# ---- 3: promtool ------------------------------------------------------------
t_promtool() {
	if ! command -v promtool >/dev/null; then
		return 4
	fi
	"$VS" export --once >"$TMP/all.prom" || return 1
	if ! promtool check metrics <"$TMP/all.prom" >"$TMP/promtool.out" 2>&1 ||
	   ! promtool check metrics <"$TMP/vm.prom" >>"$TMP/promtool.out" 2>&1; then
		sed 's/^/# /' "$TMP/promtool.out" | head
		return 1
	fi
}

# start_exporter NAME ARGS...: background exporter, stderr in $TMP/NAME.err,
# sets PORT (if --listen) once it logged "listening", or once the first
# textfile exists.
start_exporter() {
	local name=$1 i
	shift
	"$VS" export "$@" 2>"$TMP/$name.err" &
	EXP=$!
	BG+=("$EXP")
	PORT=
	for i in $(seq 300); do
		PORT=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' \
			"$TMP/$name.err")
		[ -n "$PORT" ] && return 0
		case " $* " in *" --listen "*) ;; *) [ -s "$TMP/$name/vcpustat.prom" ] && return 0 ;; esac
		kill -0 "$EXP" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# ---- 4: HTTP == textfile ----------------------------------------------------
t_http() {
	local code st
	command -v curl >/dev/null || return 4
	mkdir -p "$TMP/http"
	start_exporter http --listen 127.0.0.1:0 --textfile "$TMP/http" \
		--interval 3600 --per-vcpu -P "$W1" ||
		{ echo "# exporter: $(cat "$TMP/http.err")"; return 1; }
	curl -sS --max-time 20 -o "$TMP/body.prom" "http://127.0.0.1:$PORT/metrics" ||
		return 1
	cmp -s "$TMP/body.prom" "$TMP/http/vcpustat.prom" ||
		{ echo "# /metrics differs from the textfile"; return 1; }
	# the VM's series are the --once ones (the VM is held: nothing moves
	# but the clock, in its vCPUs' time budget)
	diff <(grep "vm_id=\"$W1_VMID\"" "$TMP/once.prom" | grep -v '^vcpustat_vcpu_seconds_total') \
		<(grep "vm_id=\"$W1_VMID\"" "$TMP/body.prom" | grep -v '^vcpustat_vcpu_seconds_total') >/dev/null ||
		{ echo "# /metrics VM series differ from export --once"; return 1; }
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/x")
	[ "$code" = 404 ] || { echo "# /x: $code"; return 1; }
	code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/metrics")
	[ "$code" = 405 ] || { echo "# POST: $code"; return 1; }
	kill -TERM "$EXP"
	wait "$EXP"
	st=$?
	[ "$st" -eq 0 ] || { echo "# exporter exit $st"; return 1; }
	[ ! -e "$TMP/http/vcpustat.prom" ] || { echo "# textfile left behind"; return 1; }
}

# ---- 5: a gone VM gets one more refresh --------------------------------------
t_gone() {
	local i w2 st
	mkdir -p "$TMP/gone"
	start_exporter gone --textfile "$TMP/gone" --interval 2 ||
		{ echo "# exporter: $(cat "$TMP/gone.err")"; return 1; }
	"$WL" --vcpus 1 --cpuid 300 --hold --hold-file "$TMP/go2" \
		--ready-file "$TMP/ready2" --json "$TMP/w2.json" \
		>/dev/null 2>"$TMP/w2.err" &
	w2=$!
	BG+=("$w2")
	wait_file "$TMP/ready2" 120 || { echo "# second VM not ready"; return 1; }
	# The poller records every refresh (the file is replaced once per
	# refresh); it releases the VM itself once the exporter shows it, so
	# no refresh after the exit is missed.
	python3 - "$TMP/gone/vcpustat.prom" "$w2" "$TMP/w2.json" "$TMP/go2" <<'PY'
import json, os, sys, time
sys.path.insert(0, sys.argv[1].rsplit('/', 1)[0].rsplit('/', 1)[0])
from prom import *
path, pid = sys.argv[1], int(sys.argv[2])
rep = json.load(open(sys.argv[3]))
name = {'svm': 'cpuid', 'vmx': 'CPUID'}[rep['isa']]
want = rep['vms'][0]['vcpus'][0]['expect']['cpuid']
deadline = time.time() + 60
while time.time() < deadline:
    if pick(parse(path), 'vcpustat_vm_info', pid=pid):
        break
    time.sleep(0.05)
open(sys.argv[4], 'w').close()     # release the VM: it exits
seen, order, deadline = {}, [], time.time() + 60
while time.time() < deadline:
    s = parse(path)
    r = one(s, 'vcpustat_exporter_refreshes_total')
    if r not in seen:
        info = pick(s, 'vcpustat_vm_info', pid=pid)
        # series other than _info name the VM by vm_id alone
        cpuid = pick(s, 'vcpustat_vm_exits_total', vm_id=info[0][0]['vm_id'],
                     reason=name) if info else []
        # the module's own view: does it still track a VM of that pid?
        seen[r] = (bool(info), cpuid[0][1] if cpuid else None,
                   one(s, 'vcpustat_module_vms') <
                   len(pick(s, 'vcpustat_vm_info')))
        order.append(r)
        if len(order) >= 3 and not any(seen[x][0] for x in order[-3:]):
            break
    time.sleep(0.05)
states = [seen[r] for r in order]
print('# refreshes after the exit: %s' % ['%s%s' % ('present' if p else 'gone',
      '' if c is None else ' cpuid=%d' % c) for p, c, _ in states])
pres = [i for i, st in enumerate(states) if st[0]]
ok = True
if not pres:
    print('# the VM was never exported after it exited'); ok = False
elif states[pres[-1]][1] != want:
    print('# last exported cpuid %s, driver did %d' % (states[pres[-1]][1], want)); ok = False
if pres and pres != list(range(pres[-1] + 1)):
    print('# the VM came back after it was dropped'); ok = False
if states and states[-1][0]:
    print('# the VM is still exported'); ok = False
# the carried refresh: the VM in the file, but no longer in the module
# (the module tracks fewer VMs than the file shows)
if not [i for i in pres if states[i][2]]:
    print('# no refresh exported the gone VM after the module dropped it'); ok = False
sys.exit(0 if ok else 1)
PY
	st=$?
	wait "$w2" || { echo "# second VM: exit $?"; st=1; }
	kill -TERM "$EXP"
	wait "$EXP" || st=1
	return $st
}

# ---- 6: --reason-hist, per reason, exact against dump -j ------------------
t_reason_hist() {
	local cfg w3 st=0
	cfg=$("$VS" config -j) || return 1
	# timing every exit and details on before the VM exists: every timed
	# exit is in its reason's histogram
	"$VS" config timing=on timing_every=1 detail=on >/dev/null || return 1
	"$WL" --vcpus 2 --cpuid 300 --io 200 --rdmsr 40 --wrmsr 30 --hlt 20 \
		--mmio 10 --hold --hold-file "$TMP/go3" \
		--ready-file "$TMP/ready3" --json "$TMP/w3.json" \
		>/dev/null 2>"$TMP/w3.err" &
	w3=$!
	BG+=("$w3")
	if ! wait_file "$TMP/ready3" 120; then
		echo "# third VM not ready: $(head -3 "$TMP/w3.err")"
		st=1
	fi
	[ $st -eq 0 ] && { "$VS" dump -j -P "$w3" >"$TMP/dump3.json" || st=1; }
	[ $st -eq 0 ] && { "$VS" export --once --per-vcpu --reason-hist -P "$w3" \
		>"$TMP/rh_vcpu.prom" || st=1; }
	[ $st -eq 0 ] && { "$VS" export --once --reason-hist -P "$w3" \
		>"$TMP/rh_vm.prom" || st=1; }
	[ $st -eq 0 ] && { "$VS" export --once --reason-hist --reasons top:2 -P "$w3" \
		>"$TMP/rh_top.prom" || st=1; }
	[ $st -eq 0 ] && { "$VS" export --once -P "$w3" >"$TMP/rh_none.prom" || st=1; }
	touch "$TMP/go3"
	wait "$w3" || { echo "# third VM: exit $?"; st=1; }
	[ $st -eq 0 ] && python3 - "$TMP/rh_vcpu.prom" "$TMP/dump3.json" "$TMP/w3.json" <<'PY' || st=1
import json, sys
d = sys.argv[1].rsplit('/', 1)[0]
sys.path.insert(0, d)
from prom import *
H = 'vcpustat_vm_exit_reason_duration_seconds'
dump = json.load(open(sys.argv[2]))
rep = json.load(open(sys.argv[3]))
(vm,) = [v for v in dump['vms'] if v['pid'] == rep['pid']]
vmid = vm['vm_id']
GRID = list(range(9, 28, 2))            # le = 2^9 .. 2^27 ns
bad = []

def reasons(vcpus):
    """(isa, name) -> [timed, time_sum_ns, rhist] of the reasons with a
    histogram, summed over @vcpus (equal names are one series)."""
    out = {}
    for v in vcpus:
        for r in v['reasons']:
            if 'rhist' not in r:
                continue
            k = (r['isa'], r['name'])
            t = out.setdefault(k, [0, 0, [0] * 20])
            t[0] += r['timed']
            t[1] += r['time_sum_ns']
            t[2] = [a + b for a, b in zip(t[2], r['rhist'])]
    return out

def check(s, lab, what, want):
    got = {(l['isa'], l['reason']) for l, _ in pick(s, H + '_count', **lab)}
    if got != set(want):
        bad.append('%s: histograms of %s, dump has %s' % (what, sorted(got), sorted(want)))
    for (isa, name), (timed, sum_ns, rh) in want.items():
        rl = dict(lab, isa=isa, reason=name)
        cnt = one(s, H + '_count', **rl)
        if cnt != timed:
            bad.append('%s %s: _count %d, dump timed %d' % (what, name, cnt, timed))
        if sum(rh) != timed:
            bad.append('%s %s: dump rhist sums to %d, timed %d' % (what, name, sum(rh), timed))
        bk = pick(s, H + '_bucket', **rl)
        les = [l['le'] for l, _ in bk]
        if les != [secs(1 << e) for e in GRID] + ['+Inf']:
            bad.append('%s %s: le %s' % (what, name, les))
            continue
        vals = [v for _, v in bk]
        if name in ('cpuid', 'CPUID', 'io', 'IO_INSTRUCTION') and what == 'vm':
            print('# %s buckets (512 ns .. 134 ms, +Inf): %s' % (name, [int(x) for x in vals]))
        # module bucket b holds times below 2^(9 + b) ns
        want_b = [sum(rh[:e - 8]) for e in GRID] + [timed]
        if vals != want_b:
            bad.append('%s %s: buckets %s, rhist gives %s' % (what, name, vals, want_b))
        if vals != sorted(vals) or vals[-1] != cnt:
            bad.append('%s %s: not cumulative up to _count' % (what, name))
        line = '%s_sum{%s,isa="%s",reason="%s"} %s\n' % (
            H, ','.join('%s="%s"' % kv for kv in lab.items()), isa, name,
            secs(sum_ns))
        if line not in open(s_path[what]).read():
            bad.append('%s %s: want %s' % (what, name, line.strip()))

s_path = {}
s = parse(sys.argv[1])
for v in vm['vcpus']:
    what = 'vcpu %d' % v['vcpu_id']
    s_path[what] = sys.argv[1]
    check(s, {'vm_id': str(vmid), 'vcpu': str(v['vcpu_id'])}, what, reasons([v]))
    # the known exits are there, timed and in a histogram
    (rv,) = [x for x in rep['vms'][0]['vcpus'] if x['vcpu_id'] == v['vcpu_id']]
    names = {r['name']: r for r in v['reasons']}
    for kind, nm in {'svm': (('cpuid', 'cpuid'), ('io', 'io')),
                     'vmx': (('cpuid', 'CPUID'), ('io', 'IO_INSTRUCTION'))}[rep['isa']]:
        r = names.get(nm)
        if not r or r['count'] != rv['expect'][kind] or 'rhist' not in r:
            bad.append('%s %s: %s, driver did %d' % (what, nm, r, rv['expect'][kind]))
nh = len(reasons(vm['vcpus']))
if nh < 4:
    bad.append('only %d reasons with a histogram' % nh)
vmf = sys.argv[1].replace('rh_vcpu', 'rh_vm')
s_path['vm'] = vmf
sv = parse(vmf)
if any('vcpu' in l for _, l, _ in sv):
    bad.append('a vcpu label per VM')
check(sv, {'vm_id': str(vmid)}, 'vm', reasons(vm['vcpus']))
# top:2: the exits family's reason set; "other" holds the folded reasons
topf = sys.argv[1].replace('rh_vcpu', 'rh_top')
st = parse(topf)
ex = {(l['isa'], l['reason']) for l, _ in pick(st, 'vcpustat_vm_exits_total', vm_id=vmid)}
hs = {(l['isa'], l['reason']) for l, _ in pick(st, H + '_count', vm_id=vmid)}
allr = reasons(vm['vcpus'])
named = {k for k in ex if k[1] != 'other'}
if len(named) != 2 or not hs <= ex or not named <= hs:
    bad.append('top:2: exits %s, histograms %s' % (sorted(ex), sorted(hs)))
for isa in {k[0] for k in allr}:
    folded = [v for k, v in allr.items() if k[0] == isa and k not in named]
    if not folded:
        continue
    want = sum(v[0] for v in folded)
    got = one(st, H + '_count', vm_id=vmid, isa=isa, reason='other')
    if got != want:
        bad.append('top:2 other (%s): _count %d, folded timed %d' % (isa, got, want))
none = open(sys.argv[1].replace('rh_vcpu', 'rh_none')).read()
if H in none:
    bad.append('the family without --reason-hist')
n_vm = len([1 for nm, l, _ in sv if nm.startswith(H) and l.get('vm_id') == str(vmid)])
print('# --reason-hist: %d reasons with a histogram, %d series for the VM (13 each)' % (nh, n_vm))
if n_vm != 13 * nh:
    bad.append('%d series, 13 x %d expected' % (n_vm, nh))
for b in bad:
    print('#', b)
sys.exit(1 if bad else 0)
PY
	if [ $st -eq 0 ] && command -v promtool >/dev/null &&
	   ! promtool check metrics <"$TMP/rh_vcpu.prom" >"$TMP/promtool3.out" 2>&1; then
		sed 's/^/# /' "$TMP/promtool3.out" | head
		st=1
	fi
	# details off: the family has no samples, and the exporter says why
	if "$VS" config detail=off >/dev/null &&
	   "$VS" export --once --reason-hist >"$TMP/rh_off.prom" 2>"$TMP/rh_off.err"; then
		if grep -q '^vcpustat_vm_exit_reason_duration_seconds_' "$TMP/rh_off.prom" ||
		   ! grep -q "details are off" "$TMP/rh_off.err"; then
			echo "# details off: $(grep -c '^vcpustat_vm_exit_reason' "$TMP/rh_off.prom") samples, log: $(cat "$TMP/rh_off.err")"
			st=1
		fi
	else
		echo "# details off: export failed: $(cat "$TMP/rh_off.err")"
		st=1
	fi
	# the configuration as it was
	cfg=$(python3 -c '
import json, sys
c = json.loads(sys.argv[1])["config"]
print("detail=%s timing=%s timing_every=%d" % (
    "on" if c.get("detail") else "off", "on" if c.get("timing", True) else "off",
    c.get("timing_every", 1)))' "$cfg") || return 1
	"$VS" config $cfg >/dev/null || st=1
	return $st
}

# ---- 7: the module away at start-up, then loaded -------------------------
scrape_up() { # PORT: "HTTP-CODE UP" of one scrape
	curl -s --max-time 10 -o "$TMP/up.prom" -w '%{http_code}' \
		"http://127.0.0.1:$1/metrics" 2>/dev/null
	printf ' %s\n' "$(sed -n 's/^vcpustat_up //p' "$TMP/up.prom" 2>/dev/null)"
}

t_waits() {
	local ko=${VCPUSTAT_KO:-} i got st=0
	command -v curl >/dev/null || return 4
	[ -n "$ko" ] && [ -e "$ko" ] || return 4
	for i in $(seq 100); do
		rmmod vcpustat 2>/dev/null && break
		sleep 0.2
	done
	[ -d /sys/module/vcpustat ] && { echo "# rmmod: busy"; return 1; }
	if ! start_exporter waits --listen 127.0.0.1:0 --interval 0.3; then
		echo "# exporter without the module: $(cat "$TMP/waits.err")"
		insmod "$ko"
		return 1
	fi
	got=$(scrape_up "$PORT")
	[ "$got" = "200 0" ] || { echo "# without the module: $got"; st=1; }
	insmod "$ko" || { echo "# insmod $ko failed"; return 1; }
	for i in $(seq 100); do
		got=$(scrape_up "$PORT")
		[ "$got" = "200 1" ] && break
		sleep 0.1
	done
	[ "$got" = "200 1" ] || { echo "# 10 s after insmod: $got"; st=1; }
	grep -q '^vcpustat_module_vcpus ' "$TMP/up.prom" ||
		{ echo "# no module families once it is back"; st=1; }
	kill -TERM "$EXP"
	wait "$EXP" || { echo "# exporter exit $?"; st=1; }
	echo "# exporter log: $(tr '\n' '|' <"$TMP/waits.err")"
	return $st
}

t_once_exact;	result export_once_exact $?
t_by_vm_top;	result export_by_vm_top1 $?
t_promtool;	result export_promtool $? "promtool not installed"
t_http;		result export_http_same_as_textfile $? "curl not installed"
t_gone;		result export_gone_vm_final_window $?
t_reason_hist;	result export_reason_hist_exact $?
t_waits;	result export_waits_for_the_module $? "needs curl and VCPUSTAT_KO"

touch "$TMP/go1"
echo "# $failed failed"
[ "$failed" -eq 0 ]
