#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# workload_vs_tracefs.sh: check kvm_workload's exact exit counts against the
# kernel's own kvm:kvm_exit / kvm:kvm_entry tracepoints. KTAP output.
#
# For every case it runs kvm_workload in a private tracefs instance with
#  - a hist trigger on kvm_exit keyed by (common_pid, exit_reason): exact
#    per-thread, per-reason counts, no ring buffer to overflow;
#  - kvm_entry recorded in the instance's ring buffer (emptied before each
#    case), with a cross-CPU monotonic trace clock: the pCPU of every entry
#    of every vCPU thread.
# and asserts, per vCPU thread (tid from the driver's JSON report):
#  - IOIO, CPUID, HLT and MSR exits equal the driver's "expect" numbers
#    (IO = requested OUTs + control OUTs; MSR = rdmsr + wrmsr on SVM, where
#    both share one exit code; VMX has separate read/write codes);
#  - NPF (SVM) or EPT violation + misconfig (VMX) exits >= the requested
#    MMIO stores (first touches add more);
#  - entries on a pCPU different from the previous entry == forced moves;
#  - kvm_entry events == kvm_exit events (the capture lost nothing);
#  - the threads seen by tracefs are exactly the driver's vCPU threads.
# The churn case checks the sums over all the driver's threads instead (its
# threads are those whose comm is the driver's name).
#
# Usage: workload_vs_tracefs.sh   (as root; kvm_workload built next to it,
#        or KVM_WORKLOAD=/path/to/kvm_workload)
# Exit: 0 all passed, 1 a case failed, 4 skipped (not root, no /dev/kvm, no
# tracefs/kvm events/hist triggers).

set -u

DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
WL=${KVM_WORKLOAD:-$DIR/kvm_workload}
KSFT_SKIP=4

skip_all() {
	echo "KTAP version 1"
	echo "1..0 # SKIP $*"
	exit $KSFT_SKIP
}

[ "$(id -u)" -eq 0 ] || skip_all "must be root"
[ -c /dev/kvm ] || skip_all "no /dev/kvm"
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	skip_all "/dev/kvm not accessible"
fi

T=/sys/kernel/tracing
if [ ! -d "$T/events" ]; then
	mount -t tracefs nodev "$T" 2>/dev/null
	if [ ! -d "$T/events" ] && [ -d /sys/kernel/debug/tracing/events ]; then
		T=/sys/kernel/debug/tracing
	fi
fi
[ -d "$T/events" ] || skip_all "tracefs not available"
if ! [ -d "$T/events/kvm/kvm_exit" ] || ! [ -d "$T/events/kvm/kvm_entry" ]; then
	skip_all "no kvm:kvm_exit/kvm_entry events (kvm not loaded?)"
fi
grep -qw hist "$T/events/kvm/kvm_exit/trigger" 2>/dev/null ||
	skip_all "kernel without hist triggers (CONFIG_HIST_TRIGGERS)"
[ -d "$T/instances" ] || skip_all "tracefs without instances"

if [ ! -x "$WL" ]; then
	echo "KTAP version 1"
	echo "1..1"
	echo "# $WL missing: run 'make -C selftests' first"
	echo "not ok 1 kvm_workload_built"
	exit 1
fi

NCPUS=$(getconf _NPROCESSORS_ONLN)
COMM=$(basename "$WL" | cut -c1-15)
TMP=$(mktemp -d /tmp/workload_vs_tracefs.XXXXXX) || exit 1
INST=
KEEPER=
HIST_SPEC='hist:keys=common_pid,exit_reason:vals=hitcount:sort=common_pid,exit_reason:size=8192'

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup_instance() {
	if [ -z "$INST" ] || ! [ -d "$INST" ]; then
		return 0
	fi
	echo 0 >"$INST/events/kvm/kvm_entry/enable" 2>/dev/null
	echo "!$HIST_SPEC" >"$INST/events/kvm/kvm_exit/trigger" 2>/dev/null
	rmdir "$INST" 2>/dev/null
	INST=
}
# shellcheck disable=SC2317
cleanup() {
	cleanup_instance
	if [ -n "$KEEPER" ]; then
		kill -TERM "$KEEPER" 2>/dev/null
		wait "$KEEPER" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# One instance for the whole run, set up once: every enable/disable of a
# tracepoint live-patches kernel text (see start_keeper below for why that
# is worth avoiding under QEMU/TCG). So no set_event_pid/event-fork either
# (they hook sched_switch/fork); the driver's threads are told apart by tid
# (from its report) or by comm.
setup_instance() {
	INST=$T/instances/kvm_workload_$$
	mkdir "$INST" || { echo "# cannot create $INST"; INST=; return 1; }
	# Timestamps comparable across CPUs, so a thread that moved is
	# merged in order.
	local clk
	for clk in mono global; do
		grep -qw "$clk" "$INST/trace_clock" &&
			echo "$clk" >"$INST/trace_clock" && break
	done
	echo 8192 >"$INST/buffer_size_kb" || return 1
	echo "$HIST_SPEC" >"$INST/events/kvm/kvm_exit/trigger" || return 1
	echo 1 >"$INST/events/kvm/kvm_entry/enable" || return 1
}

# Empty the ring buffer and the histogram before a case.
reset_capture() {
	: >"$INST/trace" &&
		echo "$HIST_SPEC:clear" >>"$INST/events/kvm/kvm_exit/trigger"
}

collect() { # OUTPREFIX
	cat "$INST/events/kvm/kvm_exit/hist" >"$1.hist"
	cat "$INST/trace" >"$1.trace"
	cat "$INST"/per_cpu/cpu*/stats >"$1.stats" 2>/dev/null
}

# JSON report -> one line per vCPU:
#   tid moves_count io cpuid hlt msr rdmsr wrmsr mmio_min
# and $1.meta: isa io_code cpuid_code hlt_code rdmsr_code wrmsr_code npf_code
#   status churn_iterations_done misconfig_code (VMX: EPT_MISCONFIG, the
#   exit of an MMIO store once KVM has cached the GPA as MMIO; SVM: none,
#   every such store is an NPF; printed as -1)
# The report is generated by kvm_workload with a fixed layout; this awk
# splits it at each vCPU object and reads the fields by name.
parse_json() { # JSONFILE OUTPREFIX
	awk -v out="$2" "$JSON_AWK"'
	function obj(s, key) {
		if (!match(s, "\"" key "\":\\{[^}]*\\}")) return "";
		return substr(s, RSTART, RLENGTH);
	}
	{ all = all $0 }
	END {
		codes = obj(all, "exit_codes");
		chn = obj(all, "churn");
		print str(all, "isa"), num(codes, "io"), num(codes, "cpuid"),
		      num(codes, "hlt"), num(codes, "rdmsr"), num(codes, "wrmsr"),
		      (num(codes, "npf") != "" ? num(codes, "npf") : num(codes, "ept_violation")),
		      str(all, "status"),
		      (chn != "" ? num(chn, "iterations_done") : 0),
		      (num(codes, "ept_misconfig") != "" ? num(codes, "ept_misconfig") : -1) > (out ".meta");
		n = split(all, parts, /\{"vcpu_id":/);
		for (i = 2; i <= n; i++) {
			p = parts[i]; e = obj(p, "expect");
			print num(p, "tid"), num(p, "moves_count"), num(e, "io"),
			      num(e, "cpuid"), num(e, "hlt"), num(e, "msr"),
			      num(e, "rdmsr"), num(e, "wrmsr"),
			      num(e, "mmio_min") > (out ".vcpus");
		}
	}' "$1"
}

# hist -> "tid reason count" lines
. "$DIR/lib_parse.sh"
parse_hist() { hist_lines "$1"; } # HISTFILE

# trace -> "tid entries cpu_changes" lines (kvm_entry events of threads
# whose comm is the driver's)
parse_entries() { # TRACEFILE
	awk -v comm="$COMM" '/ kvm_entry: / {
		tid = ""; cpu = "";
		for (i = 2; i <= NF; i++) {
			if ($i ~ /^\[[0-9]+\]$/) {
				cpu = substr($i, 2, length($i) - 2) + 0;
				t = $(i - 1);
				if (t ~ /^\(.*\)$/) t = $(i - 2);	# record-tgid
				c = t;
				sub(/.*-/, "", t);
				sub(/-[0-9]+$/, "", c);
				tid = t;
				break;
			}
		}
		if (tid == "" || tid !~ /^[0-9]+$/ || c != comm) next;
		n[tid]++;
		if ((tid in last) && last[tid] != cpu) ch[tid]++;
		last[tid] = cpu;
	}
	END { for (t in n) print t, n[t], ch[t] + 0; }' "$1"
}

# Sanity of what tracefs captured: nothing lost.
check_capture() { # PREFIX
	local p=$1 bad=0
	if grep -Eq '^(overrun|dropped events): *[1-9]' "$p.stats"; then
		echo "# trace ring buffer lost events:"
		grep -E '^(overrun|dropped events):' "$p.stats" | sort | uniq -c | sed 's/^/#   /'
		bad=1
	fi
	if ! grep -q 'Dropped: 0' "$p.hist"; then
		echo "# hist trigger dropped entries"
		bad=1
	fi
	return $bad
}

# Compare per-vCPU expectations with tracefs. Prints diagnostics, returns 0/1.
compare_per_vcpu() { # PREFIX
	local p=$1
	awk -v meta="$p.meta" -v hist="$p.h" -v ent="$p.e" '
	BEGIN {
		getline m < meta; split(m, M, " ");
		isa = M[1]; c_io = M[2]; c_cpuid = M[3]; c_hlt = M[4];
		c_rd = M[5]; c_wr = M[6]; c_npf = M[7]; c_mis = M[10];
		while ((getline l < hist) > 0) {
			split(l, a, " "); H[a[1], a[2]] = a[3]; X[a[1]] += a[3];
			R[a[2]] = 1;
		}
		while ((getline l < ent) > 0) {
			split(l, a, " "); E[a[1]] = a[2]; CH[a[1]] = a[3];
		}
		bad = 0;
	}
	function h(t, r) { return ((t, r) in H) ? H[t, r] + 0 : 0; }
	function chk(what, got, want) {
		if (got != want) {
			printf "# tid %s: %s: tracefs %d, expected %d\n", tid, what, got, want;
			bad = 1;
		}
	}
	{
		tid = $1; mv = $2; io = $3; cpuid = $4; hlt = $5; msr = $6;
		rd = $7; wr = $8; mmio = $9;
		mine[tid] = 1; nv++;
		if (!(tid in E)) {
			printf "# tid %s: no kvm_entry event seen\n", tid; bad = 1;
		}
		chk("IO exits", h(tid, c_io), io);
		chk("CPUID exits", h(tid, c_cpuid), cpuid);
		chk("HLT exits", h(tid, c_hlt), hlt);
		if (c_rd == c_wr) {
			chk("MSR exits", h(tid, c_rd), msr);
		} else {
			chk("MSR read exits", h(tid, c_rd), rd);
			chk("MSR write exits", h(tid, c_wr), wr);
		}
		npf = h(tid, c_npf) + (c_mis >= 0 ? h(tid, c_mis) : 0);
		if (npf < mmio) {
			printf "# tid %s: NPF/EPT exits %d < MMIO stores %d\n", tid, npf, mmio;
			bad = 1;
		}
		chk("entries on another pCPU than the previous entry", CH[tid] + 0, mv);
		# Every VM-exit follows exactly one VM-entry (the last exit of
		# a KVM_RUN is not followed by one): a complete capture has
		# as many kvm_entry events as kvm_exit hits.
		chk("kvm_entry events vs kvm_exit events", E[tid] + 0, X[tid] + 0);
		printf "#   tid %s: io %d cpuid %d hlt %d msr %d npf %d (mmio %d) moves %d entries %d\n",
		       tid, h(tid, c_io), h(tid, c_cpuid), h(tid, c_hlt), h(tid, c_rd) + (c_rd == c_wr ? 0 : h(tid, c_wr)),
		       npf, mmio, CH[tid] + 0, E[tid];
	}
	END {
		if (!nv) { print "# no vCPU in the report"; bad = 1; }
		for (t in E) if (!(t in mine)) {
			printf "# tid %s entered a guest but is not in the report\n", t; bad = 1;
		}
		s = "";
		for (r in R) s = s " " r;
		printf "#   exit reasons seen (%s):%s\n", isa, s;
		exit bad;
	}' "$p.vcpus"
}

NTESTS=0
FAILED=0

result() { # OK(0/1) NAME
	NTESTS=$((NTESTS + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $NTESTS $2"
	else
		echo "not ok $NTESTS $2"
		FAILED=$((FAILED + 1))
	fi
}

run_driver() { # PREFIX ARGS... ; runs traced, leaves PREFIX.{json,hist,trace,...}
	local p=$1
	shift
	reset_capture || { echo "# cannot reset the trace instance"; return 1; }
	echo "# kvm_workload $*"
	"$WL" "$@" --json "$p.json" 2>"$p.err"
	local rc=$?
	collect "$p"
	if [ $rc -ne 0 ]; then
		echo "# kvm_workload exited $rc:"
		sed 's/^/#   /' "$p.err"
		return 1
	fi
	parse_json "$p.json" "$p"
	parse_hist "$p.hist" >"$p.h"
	parse_entries "$p.trace" >"$p.e"
	check_capture "$p" || return 1
	read -r _ _ _ _ _ _ _ st _ <"$p.meta"
	[ "$st" = ok ] || { echo "# report status '$st'"; return 1; }
	return 0
}

case_per_vcpu() { # NAME ARGS...
	local name=$1 p="$TMP/$1"
	shift
	if run_driver "$p" "$@" && compare_per_vcpu "$p"; then
		result 0 "$name"
	else
		result 1 "$name"
	fi
}

# Churn: threads differ per iteration. The instance only recorded the
# driver's threads, so the tids in kvm_entry are exactly all its vCPU
# threads over all iterations; sum the hist over those.
case_churn() { # NAME ARGS...
	local name=$1 p="$TMP/$1"
	shift
	if ! run_driver "$p" "$@"; then
		result 1 "$name"
		return
	fi
	awk -v meta="$p.meta" -v hist="$p.h" -v ent="$p.e" '
	BEGIN {
		getline m < meta; split(m, M, " ");
		c_io = M[2]; c_cpuid = M[3]; c_hlt = M[4]; c_rd = M[5];
		c_wr = M[6]; iters = M[9];
		while ((getline l < ent) > 0) {
			split(l, a, " "); E[a[1]] = 1; nt++; ch += a[3];
		}
		while ((getline l < hist) > 0) {
			split(l, a, " ");
			if (a[1] in E) S[a[2]] += a[3];
		}
	}
	{ io += $3; cpuid += $4; hlt += $5; msr += $6; mv += $2; nv++; }
	END {
		bad = 0;
		msrgot = S[c_rd] + (c_rd == c_wr ? 0 : S[c_wr]);
		printf "#   %d iterations, %d vCPU threads traced\n", iters, nt;
		if (nt != iters * nv) { printf "# expected %d threads\n", iters * nv; bad = 1; }
		if (S[c_io] != iters * io) { printf "# IO %d != %d\n", S[c_io], iters * io; bad = 1; }
		if (S[c_cpuid] != iters * cpuid) { printf "# CPUID %d != %d\n", S[c_cpuid], iters * cpuid; bad = 1; }
		if (S[c_hlt] != iters * hlt) { printf "# HLT %d != %d\n", S[c_hlt], iters * hlt; bad = 1; }
		if (msrgot != iters * msr) { printf "# MSR %d != %d\n", msrgot, iters * msr; bad = 1; }
		if (ch != iters * mv) { printf "# pCPU changes %d != %d\n", ch, iters * mv; bad = 1; }
		printf "#   totals: io %d cpuid %d hlt %d msr %d moves %d\n", S[c_io], S[c_cpuid], S[c_hlt], msrgot, ch;
		exit bad;
	}' "$p.vcpus"
	result $? "$name"
}

# Hold: the report must be complete when --ready-file appears, and the
# counts must not change while the VMs are held.
case_hold() { # NAME ARGS...
	local name=$1 p="$TMP/$1" rc
	shift
	rm -f "$p.ready" "$p.release"
	reset_capture || { result 1 "$name"; return; }
	echo "# kvm_workload $* --hold"
	"$WL" "$@" --hold --hold-file "$p.release" \
		--ready-file "$p.ready" --json "$p.json" 2>"$p.err" &
	local pid=$! ok=0
	for _ in $(seq 600); do
		[ -e "$p.ready" ] && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	if [ -e "$p.ready" ] && [ -s "$p.json" ] && kill -0 $pid 2>/dev/null; then
		cat "$INST/events/kvm/kvm_exit/hist" >"$p.hist1"
		sleep 1
		cat "$INST/events/kvm/kvm_exit/hist" >"$p.hist2"
		ok=1
	else
		echo "# no ready file / report, or the driver died before holding"
	fi
	touch "$p.release"
	wait $pid
	rc=$?
	collect "$p"
	if [ $ok -eq 0 ] || [ $rc -ne 0 ]; then
		echo "# kvm_workload exited $rc"
		sed 's/^/#   /' "$p.err"
		result 1 "$name"
		return
	fi
	parse_json "$p.json" "$p"
	parse_hist "$p.hist1" >"$p.h"
	parse_entries "$p.trace" >"$p.e"
	if ! cmp -s <(parse_hist "$p.hist1") <(parse_hist "$p.hist2"); then
		echo "# kvm_exit counts changed while holding"
		result 1 "$name"
		return
	fi
	if ! cmp -s <(parse_hist "$p.hist1") <(parse_hist "$p.hist"); then
		echo "# kvm_exit counts changed after the hold"
		result 1 "$name"
		return
	fi
	check_capture "$p" && compare_per_vcpu "$p"
	result $? "$name"
}

# Keep one VM alive for the whole run. KVM flips the preempt-notifier
# static key (live-patching __schedule/finish_task_switch) whenever the
# number of VMs goes 0 -> 1 or 1 -> 0; under QEMU/TCG that patching has
# oopsed the guest ("Oops: int3" in __schedule / finish_task_switch). With
# a VM held throughout, it is patched once here and never again.
start_keeper() {
	"$WL" --vcpus 1 --hold --ready-file "$TMP/keeper.ready" \
		--json "$TMP/keeper.json" 2>"$TMP/keeper.err" &
	KEEPER=$!
	for _ in $(seq 600); do
		[ -e "$TMP/keeper.ready" ] && return 0
		kill -0 "$KEEPER" 2>/dev/null || break
		sleep 0.1
	done
	kill -TERM "$KEEPER" 2>/dev/null
	wait "$KEEPER" 2>/dev/null
	local rc=$?
	KEEPER=
	echo "# keeper VM failed to start (exit $rc): $(cat "$TMP/keeper.err")"
	return $rc
}

start_keeper
rc=$?
[ $rc -eq 4 ] && skip_all "kvm_workload cannot use /dev/kvm: $(cat "$TMP/keeper.err")"
if [ $rc -ne 0 ]; then
	echo "KTAP version 1"
	echo "1..1"
	echo "not ok 1 keeper_vm"
	exit 1
fi
setup_instance || skip_all "cannot set up a tracefs instance with a kvm_exit hist trigger"
echo "KTAP version 1"

HOPS1=0 HOPS2=0 HOPS3=0
if [ "$NCPUS" -ge 2 ]; then
	HOPS1=5 HOPS2=3 HOPS3=2
fi

echo "1..8"
case_per_vcpu vcpus1_all_kinds --vcpus 1 --io 1000 --cpuid 500 --hlt 200 \
	--rdmsr 300 --wrmsr 300 --mmio 100 --chunk 128
case_per_vcpu vcpus2_all_kinds_hops --vcpus 2 --io 300 --cpuid 300 --hlt 100 \
	--rdmsr 50 --wrmsr 70 --mmio 30 --chunk 50 --hops $HOPS1
case_per_vcpu vcpus8_hops --vcpus 8 --io 200 --cpuid 100 --hlt 50 \
	--rdmsr 20 --wrmsr 20 --mmio 10 --chunk 64 --hops $HOPS2
case_per_vcpu vcpus1_io_only_chunk1 --vcpus 1 --io 200 --chunk 1
if [ "$NCPUS" -ge 2 ]; then
	case_per_vcpu vms2_vcpus2_hop01 --vms 2 --vcpus 2 --io 50 --hlt 10 \
		--cpuid 10 --hop 0,1 --hops 7
else
	case_per_vcpu vms2_vcpus2 --vms 2 --vcpus 2 --io 50 --hlt 10 --cpuid 10
fi
case_per_vcpu seconds_vcpus2 --vcpus 2 --io 100 --cpuid 50 --hlt 20 \
	--rdmsr 10 --wrmsr 10 --chunk 40 --hops $HOPS3 --seconds 2
case_churn churn10_vcpus2 --churn 10 --vcpus 2 --io 20 --cpuid 10 --hlt 5 \
	--rdmsr 3 --wrmsr 4 --hops $HOPS3
case_hold hold_vms2 --vms 2 --vcpus 2 --io 40 --cpuid 40 --hlt 10 --hops $HOPS3

echo "# $((NTESTS - FAILED)) passed, $FAILED failed"
[ "$FAILED" -eq 0 ] || exit 1
exit 0
