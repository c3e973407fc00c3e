#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# detail_keys_test.sh: second-level exit keys (issue 16), exact, with bash, awk
# and busybox only, so that it runs in the Bochs VMX guest as well as in
# the QEMU SVM rig (detail_test.py covers more, with python, on SVM).
#
# kvm_workload --op makes known exits per key (ports of several sizes in
# and out, RDMSR/WRMSR of several indices, CPUID leaves, hypercall
# numbers, stores to two MMIO pages). Per vCPU thread, the module's keys
# (`vcpustat stat --detail KIND --total -j`) must equal
#  - the driver's numbers (ports with their size, MSRs, leaves, numbers,
#    MMIO pages over NPF or EPT violation + misconfiguration), and
#  - the kernel's events counted by tracefs hist triggers: kvm_pio (port,
#    rw), kvm_msr (ecx, write), kvm_cpuid (function, index), kvm_hypercall
#    (nr), kvm_mmio (gpa, writes);
# every keyed reason's keys plus OTHER equal its count; with detail_k=3
# below the distinct keys, only 3 keys are kept, each exact, and OTHER is
# the remainder; detail_k=0 and 17 are refused and change nothing.
#
# Env: VCPUSTAT_KO (loaded if the module is not), KVM_WORKLOAD, VCPUSTAT.
# Exit: 0 all passed, 1 a failure, 4 skipped. KTAP.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
KO=${VCPUSTAT_KO:-$top/build/$(uname -r)/vcpustat.ko}
WL=${KVM_WORKLOAD:-$here/kvm_workload}
VS=${VCPUSTAT:-$top/user/vcpustat}
T=/sys/kernel/tracing
TMP=$(mktemp -d /tmp/detail_keys.XXXXXX) || exit 1
INST=$T/instances/vs_detail_keys_$$
# event:hist keys after common_pid (a hist takes at most 3 keys)
EVENTS="kvm_pio:port,rw kvm_msr:ecx,write kvm_cpuid:function,index kvm_hypercall:nr kvm_mmio:gpa,type"
CTRL_PORT=1297		# workload_guest.h: 0x511, "chunk done", OUT dword
OPS="pio:0x520:1:out:30 pio:0x522:2:out:20 pio:0x524:4:out:10
pio:0x526:1:in:15 pio:0x528:2:in:12 pio:0x52c:4:in:8
rdmsr:0x8b:25 rdmsr:0x17:15 rdmsr:0x1fc:9 wrmsr:0x79:7 wrmsr:0x1fc:5
cpuid:0:0:22 cpuid:1:0:14 cpuid:7:1:6 cpuid:0x80000000:0:4
hcall:100:11 hcall:101:7 hcall:102:3 mmio:0x20000:13 mmio:0x31000:9"

skip_all() {
	echo "KTAP version 1"
	echo "1..0 # SKIP $*"
	exit 4
}
[ "$(id -u)" -eq 0 ] || skip_all "must be root"
[ -c /dev/kvm ] || skip_all "no /dev/kvm"
[ -d "$T/events/kvm" ] || mount -t tracefs nodev "$T" 2>/dev/null
for e in $EVENTS; do
	[ -d "$T/events/kvm/${e%%:*}" ] || skip_all "no kvm:${e%%:*} event"
done
grep -qw hist "$T/events/kvm/kvm_exit/trigger" 2>/dev/null ||
	skip_all "kernel without hist triggers (CONFIG_HIST_TRIGGERS)"
if ! [ -d /sys/module/vcpustat ]; then
	insmod "$KO" || skip_all "vcpustat not loaded and $KO does not load"
fi
. "$here/lib_parse.sh"

NAMES=(k_out_of_range exact_keys keys_sum_to_count topk_exact_other
	exception_vectors_ept0)
N=0 FAILED=0
echo "KTAP version 1"
echo "1..${#NAMES[@]}"
result() { # 0|1|skip NAME [WHY]
	N=$((N + 1))
	if [ "$1" = skip ]; then
		echo "ok $N $2 # SKIP $3"
	elif [ "$1" = 0 ]; then
		echo "ok $N $2"
	else
		echo "not ok $N $2"
		FAILED=$((FAILED + 1))
	fi
}

DRV=
EXC_HIST='hist:keys=common_pid,exit_reason,intr_info:vals=hitcount:size=8192'
cleanup() {
	[ -n "$DRV" ] && kill -USR1 "$DRV" 2>/dev/null && wait "$DRV" 2>/dev/null
	echo "!$EXC_HIST" >"$INST/events/kvm/kvm_exit/trigger" 2>/dev/null
	for e in $EVENTS; do
		echo "!hist:keys=common_pid,${e#*:}:vals=hitcount:size=8192" \
			>"$INST/events/kvm/${e%%:*}/trigger" 2>/dev/null
	done
	rmdir "$INST" 2>/dev/null
	"$VS" config detail=off detail_k=8 >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT

trace_on() { # fresh triggers for a run
	local e
	for e in $EVENTS; do
		echo "!hist:keys=common_pid,${e#*:}:vals=hitcount:size=8192" \
			>"$INST/events/kvm/${e%%:*}/trigger" 2>/dev/null
		echo "hist:keys=common_pid,${e#*:}:vals=hitcount:size=8192" \
			>"$INST/events/kvm/${e%%:*}/trigger" || return 1
	done
}

# The kernel's events as "tid kind key... count" lines (io: port dir).
trace_read() {
	local e
	for e in $EVENTS; do
		awk -v ev="${e%%:*}" '
		/Dropped: [1-9]/ { print "DROPPED", ev }
		/^\{/ {
			gsub(/[{},:]/, " ");
			for (i = 1; i < NF; i++) f[$i] = $(i + 1);
			c = f["hitcount"]; t = f["common_pid"];
			if (ev == "kvm_pio")
				print t, "io", f["port"], f["rw"] == 0 ? "in" : "out", c;
			else if (ev == "kvm_msr")
				print t, "msr", f["ecx"], f["write"] ? "write" : "read", c;
			else if (ev == "kvm_cpuid")
				print t, "cpuid", f["function"], f["index"], c;
			else if (ev == "kvm_hypercall")
				print t, "hypercall", f["nr"], c;
			else if (f["type"] == 2)	# KVM_TRACE_MMIO_WRITE
				print t, "gpa", f["gpa"] - f["gpa"] % 4096, c;
			delete f;
		}' "$INST/events/kvm/${e%%:*}/hist"
	done
}

# The module's keys, `vcpustat stat --detail K --total -j -P PID`, as
# "tid kind key... count" (io: port dir size) and, per reason,
# "tid kind SUM code nkeys keysum other reason_count_delta".
mod_read() { # PID
	local k
	for k in io msr cpuid hypercall gpa; do
		"$VS" stat --detail $k --total -j -P "$1" || return 1
	done | awk "$JSON_AWK"'
	{
		t = num($0, "tid"); k = str($0, "key_kind"); c = num($0, "count");
		r = t " " k " SUM " num($0, "code");
		rc[r] = num($0, "reason_count_delta");
		if ($0 ~ /"other":true/) { oth[r] = c; next }
		nk[r]++; ks[r] += c;
		if (k == "io") print t, k, num($0, "port"), str($0, "dir"), num($0, "size"), c;
		else if (k == "msr") print t, k, num($0, "msr"), str($0, "dir"), c;
		else if (k == "cpuid") print t, k, num($0, "leaf"), num($0, "subleaf"), c;
		else if (k == "hypercall") print t, k, num($0, "nr"), c;
		else if (k == "gpa") print t, k, num($0, "gpa"), c;
	}
	END { for (r in rc) print r, nk[r] + 0, ks[r] + 0, oth[r] + 0, rc[r] }'
}

# What the driver made, per vCPU tid: "tid kind key... count" (io: with
# size; gpa: the MMIO pages only).
drv_read() { # REPORT
	awk "$JSON_AWK"'
	{ all = all $0 }
	END {
		match(all, /"ops":\[[^]]*\]/);
		nops = split(substr(all, RSTART, RLENGTH), ops, /\},?\{/);
		n = split(all, parts, /\{"vcpu_id":/);
		for (i = 2; i <= n; i++) {
			t = num(parts[i], "tid");
			print t, "io", '"$CTRL_PORT"', "out", 4, num(parts[i], "control_io");
			for (j = 1; j <= nops; j++) {
				o = ops[j]; c = num(o, "count"); op = str(o, "op");
				if (op == "pio") print t, "io", num(o, "port"), str(o, "dir"), num(o, "size"), c;
				else if (op == "rdmsr") print t, "msr", num(o, "msr"), "read", c;
				else if (op == "wrmsr") print t, "msr", num(o, "msr"), "write", c;
				else if (op == "cpuidx") print t, "cpuid", num(o, "leaf"), num(o, "subleaf"), c;
				else if (op == "hcall") print t, "hypercall", num(o, "nr"), c;
				else if (op == "mmiox") print t, "gpa", num(o, "gpa"), c;
			}
		}
	}' "$1"
}

drv_start() { # PREFIX ARGS...
	local p=$1 i
	shift
	rm -f "$p.ready" "$p.json"
	"$WL" "$@" --hold --ready-file "$p.ready" --json "$p.json" 2>"$p.err" &
	DRV=$!
	for i in $(seq 3000); do
		[ -e "$p.ready" ] && return 0
		kill -0 "$DRV" 2>/dev/null || break
		sleep 0.1
	done
	echo "# kvm_workload did not get ready ($i): $(cat "$p.err")"
	DRV=
	return 1
}
drv_stop() {
	kill -USR1 "$DRV" 2>/dev/null
	wait "$DRV"
	DRV=
}
ops_args() {
	local o
	for o in $OPS; do printf -- '--op %s ' "$o"; done
}

# compare WANT GOT NAME: every "tid kind key... count" key of WANT is in
# GOT with that count (the key is everything but the last field; counts
# of one key on several lines add up: a guest page under EPT violation
# and EPT misconfiguration).
compare() {
	awk -v name="$3" '
	NR == FNR { k = $0; sub(/ [0-9]+$/, "", k); want[k] += $NF; next }
	{ k = $0; sub(/ [0-9]+$/, "", k); got[k] += $NF }
	END {
		bad = 0;
		for (k in want)
			if (got[k] != want[k]) {
				printf "# %s %s: want %s got %s\n", name, k, want[k], got[k];
				bad = 1;
			}
		exit bad;
	}' "$1" "$2"
}

mkdir "$INST" 2>/dev/null || { echo "# cannot make $INST"; exit 1; }

# 1: K out of range: refused, the kernel says why, nothing changes
"$VS" config detail=on detail_k=8 >/dev/null
rc=0
for bad in 0 17; do
	if "$VS" config detail_k=$bad >/dev/null 2>"$TMP/err"; then
		echo "# detail_k=$bad accepted"
		rc=1
	fi
	grep -q "out of range" "$TMP/err" || { echo "# detail_k=$bad: $(cat "$TMP/err")"; rc=1; }
	"$VS" config -j | grep -q '"detail":true,"detail_k":8' ||
		{ echo "# config changed: $("$VS" config -j)"; rc=1; }
done
result $rc k_out_of_range

# 2, 3: exact keys with K = 8
trace_on || { echo "# cannot set hist triggers"; exit 1; }
# shellcheck disable=SC2046 # ops_args: word splitting wanted
if drv_start "$TMP/a" --vcpus 1 $(ops_args); then
	pid=$(awk "$JSON_AWK"'{ print num($0, "pid"); exit }' "$TMP/a.json")
	mod_read "$pid" >"$TMP/a.mod"
	trace_read >"$TMP/a.trace"
	drv_read "$TMP/a.json" >"$TMP/a.drv"
	drv_stop
	rc=0
	grep -q DROPPED "$TMP/a.trace" && { echo "# a hist dropped events"; rc=1; }
	grep ' SUM ' "$TMP/a.mod" >"$TMP/a.sum"
	grep -v ' SUM ' "$TMP/a.mod" >"$TMP/a.keys"
	# the module's keys == the driver's (all of io, msr, cpuid,
	# hypercall; the MMIO pages of gpa)
	compare "$TMP/a.drv" "$TMP/a.keys" "driver/module" || rc=1
	# == the kernel's events (io without size: kvm_pio's hist has 3 keys)
	# (the MMIO pages of gpa: RAM pages fault without a kvm_mmio event)
	awk '$2 == "io" { k = $1 " io " $3 " " $4; s[k] += $6; next }
	     { print } END { for (k in s) print k, s[k] }' "$TMP/a.keys" >"$TMP/a.mod3"
	compare "$TMP/a.trace" "$TMP/a.mod3" "trace/module" || rc=1
	grep -v ' gpa ' "$TMP/a.mod3" >"$TMP/a.mod4"
	compare "$TMP/a.mod4" "$TMP/a.trace" "module/trace" || rc=1
	echo "# $(wc -l <"$TMP/a.keys") keys, $(wc -l <"$TMP/a.drv") made by the driver, $(wc -l <"$TMP/a.trace") in tracefs"
	result $rc exact_keys
	# keys + OTHER == the reason's count, per (tid, reason)
	awk '{ n++; if ($6 + $7 != $8) { print "# " $0 ": keys + other != count"; bad = 1 } }
	     END { print "# " n " keyed reasons"; exit bad || !n }' "$TMP/a.sum"
	result $? keys_sum_to_count
else
	result 1 exact_keys
	result 1 keys_sum_to_count
fi

# 4: K = 3 below the distinct keys: 3 kept, exact; OTHER the remainder
"$VS" config detail_k=3 >/dev/null
trace_on
# shellcheck disable=SC2046
if drv_start "$TMP/b" --vcpus 1 $(ops_args); then
	pid=$(awk "$JSON_AWK"'{ print num($0, "pid"); exit }' "$TMP/b.json")
	mod_read "$pid" >"$TMP/b.mod"
	trace_read >"$TMP/b.trace"
	drv_stop
	rc=0
	# each kept key == the kernel's count (io without its size)
	grep -v ' SUM \| gpa ' "$TMP/b.mod" |
		awk '$2 == "io" { print $1, $2, $3, $4, $6; next } { print }' >"$TMP/b.keys"
	compare "$TMP/b.keys" "$TMP/b.trace" "kept/trace" || rc=1
	# per reason: at most 3 keys, keys + OTHER == count; io and cpuid
	# (7 and 4 distinct keys) keep 3 and count the rest as OTHER
	grep ' SUM ' "$TMP/b.mod" | grep -v ' gpa ' | awk '
	{
		n++;
		if ($5 > 3 || $6 + $7 != $8) { print "# " $0 ": > 3 keys or keys + other != count"; bad = 1 }
		if (($2 == "io" || $2 == "cpuid") && ($5 != 3 || !$7)) { print "# " $0 ": want 3 keys and other"; bad = 1 }
	}
	END { print "# " n " keyed reasons checked"; exit bad || !n }' || rc=1
	result $rc topk_exact_other
else
	result 1 topk_exact_other
fi
# 5: exception vectors (VMX, kvm_intel ept=0: the real-mode guest runs in
# vm86 under shadow paging, so its page faults and the #GP of every HLT,
# RDMSR and WRMSR exit as EXCEPTION_NMI): the module's vectors per thread
# == VM_EXIT_INTR_INFO of the kernel's kvm_exit events (hist by intr_info)
reload_kvm_intel() { # ARGS...
	rmmod kvm_intel || return 1
	if [ -n "${RIG_KVM_MODDIR:-}" ]; then
		# shellcheck disable=SC2068
		insmod "$RIG_KVM_MODDIR/kvm-intel.ko" $@
	else
		modprobe kvm_intel "$@"
	fi
}
"$VS" config detail_k=8 >/dev/null
if ! [ -d /sys/module/kvm_intel ]; then
	result skip exception_vectors_ept0 "not VMX (SVM reports vectors as exit codes)"
elif ! reload_kvm_intel ept=0; then
	result 1 exception_vectors_ept0
else
	rc=0
	echo "$EXC_HIST" >"$INST/events/kvm/kvm_exit/trigger" || rc=1
	if drv_start "$TMP/x" --vcpus 1 --io 20 --hlt 10 --rdmsr 5 --wrmsr 5; then
		pid=$(awk "$JSON_AWK"'{ print num($0, "pid"); exit }' "$TMP/x.json")
		"$VS" stat --detail exception --total -j -P "$pid" | awk "$JSON_AWK"'
			$0 !~ /"other":true/ { print num($0, "tid"), num($0, "vector"), num($0, "count") }
			$0 ~ /"other":true/ { print num($0, "tid"), "OTHER", num($0, "count") }' >"$TMP/x.mod"
		# EXCEPTION_NMI is exit reason 0; the vector is intr_info bits 7:0
		awk '/^\{/ { gsub(/[{},:]/, " "); for (i = 1; i < NF; i++) f[$i] = $(i + 1);
			if (f["exit_reason"] == 0) v[f["common_pid"] " " f["intr_info"] % 256] += f["hitcount"]; delete f }
		     END { for (k in v) print k, v[k] }' "$INST/events/kvm/kvm_exit/hist" >"$TMP/x.trace"
		drv_stop
		sed 's/^/#   vector /' "$TMP/x.mod"
		compare "$TMP/x.trace" "$TMP/x.mod" "trace/module" || rc=1
		grep -v OTHER "$TMP/x.mod" >"$TMP/x.keys"
		compare "$TMP/x.keys" "$TMP/x.trace" "module/trace" || rc=1
		# every HLT, RDMSR and WRMSR is a #GP(13) here: 20 at least
		awk '$2 == 13 { s += $3 } END { exit s < 20 }' "$TMP/x.mod" ||
			{ echo "# fewer than 20 #GP"; rc=1; }
		[ -s "$TMP/x.keys" ] || rc=1
	else
		rc=1
	fi
	echo "!$EXC_HIST" >"$INST/events/kvm/kvm_exit/trigger"
	result $rc exception_vectors_ept0
	reload_kvm_intel || echo "# could not restore kvm_intel defaults"
fi
[ $FAILED -eq 0 ]
