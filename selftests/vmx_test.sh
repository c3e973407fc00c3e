#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vmx_test.sh: vcpustat on Intel VMX, exactly. KTAP output. Runs as root in
# a guest with kvm_intel (scripts/rig/run-bochs: Bochs emulates VMX with
# EPT), with bash and busybox only (no python).
#
# Three sources must agree per (vCPU thread, VMX exit reason):
#  - kvm_workload's report: the exits it made (io, cpuid, hlt, rdmsr, wrmsr;
#    MMIO stores as a lower bound on EPT violations + misconfigs);
#  - the module, read with the tool: `vcpustat dump -j -P PID`;
#  - the kernel's kvm:kvm_exit event: a hist trigger keyed by
#    (common_pid, exit_reason), exact per thread and reason.
# Cases: exact counts (1 and 2 vCPUs), exit times and histograms, reason
# names (the tool's == the names in the kvm_exit event's print format),
# `vcpustat list`, EXCEPTION_NMI exits with kvm_intel ept=0, and a
# rmmod/insmod of vcpustat while a VM is alive.
#
# Env: VCPUSTAT_KO (module; default build/$(uname -r)/vcpustat.ko),
#      KVM_WORKLOAD (default selftests/kvm_workload), VCPUSTAT (the tool;
#      default user/vcpustat), RIG_KVM_MODDIR (dir with kvm-intel.ko for
#      the ept=0 reload; default: modprobe).
# Exit: 0 all passed, 1 a failure, 4 skipped (not root, no kvm_intel).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
KO=${VCPUSTAT_KO:-$top/build/$(uname -r)/vcpustat.ko}
WL=${KVM_WORKLOAD:-$here/kvm_workload}
VS=${VCPUSTAT:-$top/user/vcpustat}
T=/sys/kernel/tracing
TMP=$(mktemp -d /tmp/vmx_test.XXXXXX) || exit 1
HIST='hist:keys=common_pid,exit_reason:vals=hitcount:sort=common_pid,exit_reason:size=8192'
# VMX basic exit reasons (asm/vmx.h, uapi): what kvm_workload makes.
R_EXC=0 R_CPUID=10 R_HLT=12 R_IO=30 R_RDMSR=31 R_WRMSR=32 R_EPTV=48 R_EPTM=49

skip_all() {
	echo "KTAP version 1"
	echo "1..0 # SKIP $*"
	exit 4
}
[ "$(id -u)" -eq 0 ] || skip_all "must be root"
[ -d /sys/module/kvm_intel ] || skip_all "kvm_intel not loaded (not a VMX host)"
[ -c /dev/kvm ] || skip_all "no /dev/kvm"
[ -d "$T/events/kvm/kvm_exit" ] || mount -t tracefs nodev "$T" 2>/dev/null
[ -d "$T/events/kvm/kvm_exit" ] || skip_all "no kvm:kvm_exit event"

NAMES=(isa exact_vcpus1 exact_vcpus2 timing reason_names tool_list
	exception_nmi_ept0 reload_under_vm failed_load_leaves_nothing
	churn_without_kprobes)
N=0 FAILED=0
echo "KTAP version 1"
echo "1..${#NAMES[@]}"
result() { # 0|1|skip NAME [REASON]
	N=$((N + 1))
	[ "$2" = "${NAMES[N - 1]}" ] || echo "# internal: test $N is $2, expected ${NAMES[N - 1]}"
	case $1 in
	0) echo "ok $N $2" ;;
	skip) echo "ok $N $2 # SKIP $3" ;;
	*) echo "not ok $N $2"; FAILED=$((FAILED + 1)) ;;
	esac
}

cleanup() {
	[ -n "${DRV:-}" ] && kill -USR1 "$DRV" 2>/dev/null && wait "$DRV" 2>/dev/null
	echo "!$HIST" >>"$T/events/kvm/kvm_exit/trigger" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

load_vcpustat() {
	rmmod vcpustat 2>/dev/null
	insmod "$KO" || { echo "# insmod $KO failed"; return 1; }
}

# One hist trigger for the whole run; cleared before each case.
hist_on() { echo "$HIST" >>"$T/events/kvm/kvm_exit/trigger"; }
hist_clear() { echo "$HIST:clear" >>"$T/events/kvm/kvm_exit/trigger"; }
# hist -> "tid code count" lines
. "$here/lib_parse.sh"
hist_read() { hist_lines "$T/events/kvm/kvm_exit/hist"; }

# Start kvm_workload ARGS... held after its work (so the module still
# tracks its vCPUs); sets DRV (pid) and leaves the report in $1.json.
drv_start() { # PREFIX ARGS...
	local p=$1
	shift
	rm -f "$p.ready" "$p.json"
	echo "# kvm_workload $*"
	"$WL" "$@" --hold --ready-file "$p.ready" --json "$p.json" 2>"$p.err" &
	DRV=$!
	for _ in $(seq 1200); do
		[ -e "$p.ready" ] && return 0
		kill -0 "$DRV" 2>/dev/null || break
		sleep 0.1
	done
	echo "# kvm_workload did not get ready: $(cat "$p.err")"
	kill -USR1 "$DRV" 2>/dev/null
	wait "$DRV" 2>/dev/null
	DRV=
	return 1
}
drv_stop() {
	local rc
	kill -USR1 "$DRV" 2>/dev/null
	wait "$DRV"
	rc=$?
	DRV=
	[ $rc -eq 0 ] || echo "# kvm_workload exited $rc"
	return $rc
}

# Driver report -> "tid io cpuid hlt rdmsr wrmsr mmio_min moves" per vCPU, and
# "isa" in PREFIX.isa.
drv_parse() { # PREFIX
	awk -v out="$1" '
	function num(s, key,   m) {
		if (!match(s, "\"" key "\":[0-9]+")) return "";
		m = substr(s, RSTART, RLENGTH); sub(/.*:/, "", m); return m;
	}
	{ all = all $0 }
	END {
		match(all, /"isa":"[a-z]*"/);
		isa = substr(all, RSTART + 7, RLENGTH - 8);
		print isa > (out ".isa");
		n = split(all, parts, /\{"vcpu_id":/);
		for (i = 2; i <= n; i++) {
			p = parts[i];
			match(p, /"expect":\{[^}]*\}/);
			e = substr(p, RSTART, RLENGTH);
			print num(p, "tid"), num(e, "io"), num(e, "cpuid"), num(e, "hlt"),
			      num(e, "rdmsr"), num(e, "wrmsr"), num(e, "mmio_min"),
			      num(p, "moves_count");
		}
	}' "$1.json" >"$1.drv"
}

# `vcpustat dump -j -P PID` -> PREFIX.mod:
#   V tid exits timed_exits hist_sum migrations
#   R tid code count timed time_max_ns name
mod_read() { # PREFIX PID
	"$VS" dump -j -P "$2" >"$1.dump" 2>"$1.dump.err" ||
		{ echo "# vcpustat dump failed: $(cat "$1.dump.err")"; return 1; }
	awk "$JSON_AWK"'
	{ all = all $0 }
	END {
		n = split(all, parts, /\{"vcpu_id":/);
		for (i = 2; i <= n; i++) {
			p = parts[i];
			k = index(p, "\"reasons\":");
			head = substr(p, 1, k);
			rest = substr(p, k);
			h = index(rest, "\"hist\":[");
			rs = substr(rest, 1, h);
			hs = substr(rest, h + 8);
			hs = substr(hs, 1, index(hs, "]") - 1);
			tid = num(head, "tid");
			m = split(hs, hv, ",");
			sum = 0;
			for (j = 1; j <= m; j++) sum += hv[j];
			print "V", tid, num(head, "exits"), num(head, "timed_exits"), sum,
			      num(head, "migrations");
			m = split(rs, rv, /\{"isa":/);
			for (j = 2; j <= m; j++)
				print "R", tid, num(rv[j], "code"), num(rv[j], "count"),
				      num(rv[j], "timed"), num(rv[j], "time_max_ns") + 0,
				      str(rv[j], "name");
		}
	}' "$1.dump" >"$1.mod"
}

# Module == tracefs for every (tid, code); driver's exact kinds == both.
# EXACT_KINDS: which driver columns are exact exits of a VMX reason here
# (ept=0 turns hlt, rdmsr and wrmsr into #GP exits, EXCEPTION_NMI).
compare() { # PREFIX EXACT_KINDS
	awk -v drv="$1.drv" -v hist="$1.hist" -v kinds="$2" \
	    -v cio=$R_IO -v ccpuid=$R_CPUID -v chlt=$R_HLT -v crd=$R_RDMSR \
	    -v cwr=$R_WRMSR -v ceptv=$R_EPTV -v ceptm=$R_EPTM '
	BEGIN {
		bad = 0;
		while ((getline l < hist) > 0) {
			if (l == "DROPPED") { print "# hist trigger dropped events"; bad = 1; continue; }
			split(l, a, " "); H[a[1], a[2]] = a[3];
		}
		code["io"] = cio; code["cpuid"] = ccpuid; code["hlt"] = chlt;
		code["rdmsr"] = crd; code["wrmsr"] = cwr;
		col["io"] = 2; col["cpuid"] = 3; col["hlt"] = 4; col["rdmsr"] = 5;
		col["wrmsr"] = 6;
		nk = split(kinds, K, " ");
	}
	$1 == "V" { V[$2] = $3; MIG[$2] = $6; }
	$1 == "R" { M[$2, $3] = $4; MS[$2] += $4; }
	END {
		while ((getline l < drv) > 0) {
			split(l, d, " "); tid = d[1]; nv++;
			if (!(tid in V)) { printf "# tid %s: not in the module dump\n", tid; bad = 1; continue; }
			line = "";
			for (k in H) {
				split(k, kk, SUBSEP);
				if (kk[1] != tid) continue;
				if (M[tid, kk[2]] + 0 != H[k]) {
					printf "# tid %s code %s: module %d, tracefs %d\n", tid, kk[2], M[tid, kk[2]], H[k];
					bad = 1;
				}
				line = line " " kk[2] ":" H[k];
			}
			for (k in M) {
				split(k, kk, SUBSEP);
				if (kk[1] == tid && !((tid, kk[2]) in H)) {
					printf "# tid %s code %s: module %d, tracefs none\n", tid, kk[2], M[k];
					bad = 1;
				}
			}
			if (MS[tid] != V[tid]) { printf "# tid %s: exits %d != sum of reasons %d\n", tid, V[tid], MS[tid]; bad = 1; }
			for (i = 1; i <= nk; i++) {
				c = code[K[i]]; want = d[col[K[i]]];
				if (M[tid, c] + 0 != want) {
					printf "# tid %s: %s exits (reason %d): module %d, driver %d\n", tid, K[i], c, M[tid, c], want;
					bad = 1;
				}
			}
			# Forced pCPU moves (--hops, with 2+ CPUs): the module counts
			# each as one migration at the next exit.
			if (MIG[tid] != d[8]) {
				printf "# tid %s: migrations: module %d, driver moves %d\n", tid, MIG[tid], d[8];
				bad = 1;
			}
			if (M[tid, ceptv] + M[tid, ceptm] < d[7]) {
				printf "# tid %s: EPT exits %d < MMIO stores %d\n", tid, M[tid, ceptv] + M[tid, ceptm], d[7];
				bad = 1;
			}
			printf "#   tid %s: %d exits, %d migrations, reason:count%s\n", tid, V[tid], MIG[tid], line;
		}
		if (!nv) { print "# no vCPU in the driver report"; bad = 1; }
		exit bad;
	}' "$1.mod"
}

# One exact-count case: driver held, module and tracefs read, compared.
exact_case() { # PREFIX EXACT_KINDS ARGS...
	local p=$1 kinds=$2 rc=0
	shift 2
	hist_clear
	drv_start "$p" "$@" || return 1
	hist_read >"$p.hist"
	mod_read "$p" "$DRV" || rc=1
	drv_stop || rc=1
	drv_parse "$p"
	[ "$(cat "$p.isa")" = vmx ] || { echo "# driver isa '$(cat "$p.isa")', want vmx"; rc=1; }
	[ $rc -eq 0 ] && { compare "$p" "$kinds" || rc=1; }
	return $rc
}

ALL="io cpuid hlt rdmsr wrmsr"
WORK1="--io 300 --cpuid 200 --hlt 40 --rdmsr 30 --wrmsr 20 --mmio 10 --chunk 64"

# ---------------------------------------------------------------- isa
load_vcpustat || { result 1 isa; for t in "${NAMES[@]:1}"; do result skip "$t" "module did not load"; done; exit 1; }
hist_on
isa=$("$VS" config -j 2>&1 | head -c 300)
if "$WL" --vcpus 1 --cpuid 1 --json "$TMP/isa.json" 2>"$TMP/isa.err" &&
	grep -q '"isa":"vmx"' "$TMP/isa.json"; then
	result 0 isa
else
	echo "# kvm_workload: $(cat "$TMP/isa.err") $(head -c 200 "$TMP/isa.json")"
	echo "# config: $isa"
	result 1 isa
fi

# ---------------------------------------------------------------- exact
# shellcheck disable=SC2086
exact_case "$TMP/e1" "$ALL" --vcpus 1 $WORK1
result $? exact_vcpus1
# Two vCPUs share however many pCPUs the guest has (Bochs cpu count):
# per-thread attribution must still be exact; with 2+ pCPUs each vCPU is
# also moved 4 times and the module must count exactly those migrations.
ncpu=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)
hops=0
[ "$ncpu" -ge 2 ] && hops=4
echo "# pCPUs: $ncpu, forced moves per vCPU: $hops"
exact_case "$TMP/e2" "$ALL" --vms 1 --vcpus 2 --io 150 --cpuid 100 --hlt 20 \
	--rdmsr 15 --wrmsr 10 --mmio 5 --chunk 32 --hops $hops
result $? exact_vcpus2

# ---------------------------------------------------------------- timing
# From exact_vcpus1 (timing on, timing_every=1 by default): every exit but
# the held vCPU's last one (no kvm_entry after it yet) is timed, the
# histogram holds every timed exit, and IO exits have a non-zero time.
awk '
$1 == "V" { n++; if ($4 != $3 - 1) { printf "# tid %s: timed %d != exits - 1 (%d)\n", $2, $4, $3; bad = 1; }
	if ($5 != $4) { printf "# tid %s: histogram sum %d != timed %d\n", $2, $5, $4; bad = 1; }
	printf "#   tid %s: exits %d timed %d hist %d\n", $2, $3, $4, $5; }
$1 == "R" { t[$2] += $5; if ($3 == io && $6 > 0) ioset = 1; }
END {
	if (!n) { print "# no vCPU"; bad = 1; }
	if (!ioset) { print "# no time recorded for IO exits"; bad = 1; }
	exit bad;
}' io=$R_IO "$TMP/e1.mod"
result $? timing

# ---------------------------------------------------------------- names
# Every reason the module reported, by the tool's name, against the name
# the kvm_exit event prints: its print fmt's VMX __print_symbolic table.
fmt=$(grep '^print fmt' "$T/events/kvm/kvm_exit/format")
# Pairs { N, "NAME" } with N decimal: the VMX table (the macros expand to
# decimal codes there; SVM's are hex, 0x07b, and the VMX flags too).
echo "$fmt" | grep -oE '\{ *[0-9]+, *"[A-Z_0-9]+" *\}' | tr -d '{}" ' |
	tr ',' ' ' >"$TMP/fmt.names"
if ! [ -s "$TMP/fmt.names" ]; then
	echo "# no VMX table in: $(echo "$fmt" | head -c 300)"
	result 1 reason_names
else
	cat "$TMP/e1.mod" "$TMP/e2.mod" | awk -v fmt="$TMP/fmt.names" '
	BEGIN { while ((getline l < fmt) > 0) { split(l, a, " "); F[a[1]] = a[2]; } }
	$1 == "R" {
		n++;
		if (!($3 in F)) { printf "# code %s (%s): not in the event table\n", $3, $7; bad = 1; }
		else if (F[$3] != $7) { printf "# code %s: tool %s, tracefs %s\n", $3, $7, F[$3]; bad = 1; }
		else seen[$3 " " $7] = 1;
	}
	END {
		for (s in seen) printf "#   %s\n", s;
		if (!n) { print "# no reasons"; bad = 1; }
		exit bad;
	}'
	result $? reason_names
fi

# ---------------------------------------------------------------- list
# `vcpustat list` while two vCPUs are held: one row per vCPU thread, with
# its tid and exit count as dump saw them.
if drv_start "$TMP/l" --vcpus 2 --io 50 --cpuid 20; then
	"$VS" list --sample 0 -P "$DRV" >"$TMP/l.list" 2>&1
	lrc=$?
	mod_read "$TMP/l" "$DRV"
	drv_stop
	sed 's/^/#   /' "$TMP/l.list"
	bad=$lrc
	while read -r _ tid exits _; do
		grep -qE "(^|[[:space:]])${tid}[[:space:]].*[[:space:]]${exits}([[:space:]]|$)" "$TMP/l.list" ||
			{ echo "# list has no row for tid $tid with $exits exits"; bad=1; }
	done < <(grep '^V ' "$TMP/l.mod")
	[ "$(grep -c '^V ' "$TMP/l.mod")" = 2 ] || { echo "# dump: not 2 vCPUs"; bad=1; }
	result $bad tool_list
else
	result 1 tool_list
fi

# ---------------------------------------------------------------- ept=0
# Shadow paging: the real-mode guest runs as vm86 (no unrestricted guest
# without EPT), so page faults and #GP (hlt, rdmsr, wrmsr are privileged
# at CPL 3) exit as EXCEPTION_NMI, which the module must count as tracefs
# does. IO and CPUID stay exact exits of their own.
reload_kvm_intel() { # ARGS...
	rmmod kvm_intel || return 1
	if [ -n "${RIG_KVM_MODDIR:-}" ]; then
		# shellcheck disable=SC2068
		insmod "$RIG_KVM_MODDIR/kvm-intel.ko" $@
	else
		modprobe kvm_intel "$@"
	fi
}
if reload_kvm_intel ept=0; then
	echo "# kvm_intel ept=$(cat /sys/module/kvm_intel/parameters/ept) unrestricted_guest=$(cat /sys/module/kvm_intel/parameters/unrestricted_guest)"
	exact_case "$TMP/x" "io cpuid" --vcpus 1 --io 100 --cpuid 50 --hlt 10 --rdmsr 5 --wrmsr 5
	rc=$?
	nmi=$(awk -v c=$R_EXC '$1 == "R" && $3 == c { s += $4 } END { print s + 0 }' "$TMP/x.mod")
	echo "#   EXCEPTION_NMI exits: $nmi"
	# Each hlt, rdmsr and wrmsr is a #GP: at least 20 of them.
	[ "$nmi" -ge 20 ] || { echo "# want >= 20 EXCEPTION_NMI exits"; rc=1; }
	result $rc exception_nmi_ept0
else
	result 1 exception_nmi_ept0
fi
reload_kvm_intel || echo "# could not restore kvm_intel defaults"

# ---------------------------------------------------------------- reload
# rmmod + insmod vcpustat while a VM is alive (held), then a fresh run is
# counted exactly.
rc=0
if drv_start "$TMP/r0" --vcpus 1 --io 20; then
	rmmod vcpustat || { echo "# rmmod with a live VM failed"; rc=1; }
	insmod "$KO" || { echo "# insmod after rmmod failed"; rc=1; }
	drv_stop || rc=1
else
	rc=1
fi
exact_case "$TMP/r1" "$ALL" --vcpus 1 --io 100 --cpuid 50 --hlt 10 --rdmsr 5 --wrmsr 5 || rc=1
result $rc reload_under_vm

# ---------------------------------------------------------------- failed load
# The load fails at its last step (test_fail_init=1, before the family
# is registered): EAGAIN every time, and nothing is left behind.
rc=0
rmmod vcpustat 2>/dev/null
for i in 1 2 3 4 5; do
	if insmod "$KO" test_fail_init=1 2>"$TMP/fl.err"; then
		echo "# insmod test_fail_init=1 succeeded"
		rc=1
		break
	fi
	grep -q 'Resource temporarily unavailable' "$TMP/fl.err" ||
		{ echo "# insmod: $(cat "$TMP/fl.err")"; rc=1; }
done
[ -d /sys/module/vcpustat ] && { echo "# module left loaded"; rc=1; }
grep -q '^vcpustat_vcpu ' /proc/slabinfo 2>/dev/null &&
	{ echo "# vcpustat_vcpu slab cache left behind"; rc=1; }
insmod "$KO" || { echo "# a normal load after them failed"; rc=1; }
result $rc failed_load_leaves_nothing

# ---------------------------------------------------------------- stale VMs
# kprobes disarmed: the kvm_destroy_vm hook never fires. 50 VMs made and
# closed in one process (KVM reuses their addresses) must still be 50 VMs
# seen, and none of them may stay tracked once the process is gone.
KP=/sys/kernel/debug/kprobes/enabled
st() { vcpustat config | awk -v k="$1" '$1 == k { print $2 }'; }
if ! [ -w "$KP" ]; then
	result skip churn_without_kprobes "no $KP (debugfs, CONFIG_KPROBES)"
else
	rc=0
	seen0=$(st vms_seen) stale0=$(st stale_vms)
	echo 0 >"$KP"
	"$WL" --churn 50 --cpuid 20 --io 5 >"$TMP/ch.json" 2>"$TMP/ch.err" ||
		{ echo "# churn failed: $(head -c 300 "$TMP/ch.err")"; rc=1; }
	sleep 3 # the driver is gone: its idle VMs are orphans within 2 s
	echo 1 >"$KP"
	seen=$(($(st vms_seen) - seen0)) stale=$(($(st stale_vms) - stale0))
	left=$(st vms)
	echo "# 50 VMs with kprobes off: $seen seen, $stale reclaimed as stale, $left tracked"
	[ "$seen" = 50 ] || rc=1
	[ "$left" = 0 ] || rc=1
	result $rc churn_without_kprobes
fi

echo "# $((N - FAILED)) passed, $FAILED failed"
[ $FAILED -eq 0 ]
