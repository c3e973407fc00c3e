#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# arm64_test.sh: vcpustat on arm64 KVM, inside the arm64 rig (scripts/rig/
# run-arm64: busybox sh, run from /vs with vcpustat.ko, bin/ and
# selftests/). KTAP. With 2 CPUs or more (check-arm64: 4):
#   counts      kvm_workload_arm64 (2 vCPUs) makes exact MMIO (DABT_LOW),
#               HVC64, WFx and SYS64 exits per thread: the module
#               (vcpustat dump -j) has exactly those, and the kvm_exit hist
#               trigger (keys common_pid, ret, esr_ec) too
#   tracefs     every (thread, code) the module counted, IRQ and IABT_LOW
#               exits included, equals the hist's, and nothing is missing
#   names       every reason's name in the dump is the one the kvm_exit
#               event prints (its print fmt's __print_symbolic tables)
#   migrations  per thread, the module's migrations are the CPU changes
#               between the thread's kvm_exit events in the trace buffer,
#               and the driver's moves (its threads are pinned)
#   timing      every exit but the last of each vCPU was timed; WFx times
#               include the wait for the driver's 5 ms signal
#   list, top   the tool's list rows (tid, exits, top reason) and top -b's
#               per-reason totals against the dump
#   events      `vcpustat watch -j` saw the driver's VM come, each of its
#               migrations, and go with the dump's exit total; the destroy
#               hook (kprobe on kvm_destroy_vm) is in use
#   reload      rmmod and insmod while a looping VM runs: the new load
#               finds both vCPUs exiting, and the VM is gone once killed
#   refusal     with no kvm_exit to find (test_no_tracepoint=1) the load
#               fails with the message, leaving no module behind
#   host        `vcpustat host` reports the arm64 KVM mode (VHE or nVHE as
#               booted) and GIC, and no vmx/svm lines
# Env: VS_MMIO, VS_HVC, VS_WFI, VS_SYS (per vCPU), VS_MOVE_EVERY.
set -u
T=/sys/kernel/tracing
EV=$T/events/kvm/kvm_exit
TMP=$(mktemp -d)
MMIO=${VS_MMIO:-300} HVC=${VS_HVC:-60} WFI=${VS_WFI:-12} SYS=${VS_SYS:-40}
MOVE=${VS_MOVE_EVERY:-50}
NOTRAP=2147483648	# VCPUSTAT_ARM64_NOTRAP
n=0 fail=0
echo "KTAP version 1"
echo "1..11"
result() { # RC NAME
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n $2"; else echo "not ok $n $2"; fail=1; fi
}
bail() {
	echo "Bail out! $*"
	exit 1
}

# -------------------------------------------------------------- refusal
rc=0
if insmod vcpustat.ko test_no_tracepoint=1 2>/dev/null; then
	echo "# loaded without a kvm_exit"
	rmmod vcpustat
	rc=1
fi
[ -e /sys/module/vcpustat ] && { echo "# a module is left"; rc=1; }
dmesg | grep -q 'vcpustat: KVM.s kvm_exit/kvm_entry tracepoints not found' ||
	{ echo "# no message"; rc=1; }
result $rc "refusal: no kvm_exit found, the load fails with a message"

insmod vcpustat.ko || bail "insmod vcpustat.ko failed"
echo 0 >"$T/tracing_on"
echo 4096 >"$T/buffer_size_kb"
echo "hist:keys=common_pid,ret,esr_ec:sort=common_pid" >"$EV/trigger" ||
	bail "no hist trigger on kvm_exit"
echo 1 >"$EV/enable"
echo 1 >"$T/tracing_on"

# -------------------------------------------------------------- the run
# No delta events: watch then says so once it has joined the group.
vcpustat config snapshot_ms=0 >/dev/null || bail "vcpustat config failed"
vcpustat watch -j -t 120 >"$TMP/w.out" 2>"$TMP/w.err" &
watch=$!
i=0
until grep -q "delta events are off" "$TMP/w.err"; do
	i=$((i + 1))
	[ $i -lt 100 ] || bail "watch never joined: $(cat "$TMP/w.err")"
	sleep 0.1
done
kvm_workload_arm64 -v 2 -m "$MMIO" -c "$HVC" -w "$WFI" -s "$SYS" -M "$MOVE" -H \
	>"$TMP/drv" 2>"$TMP/drv.err" &
drv=$!
i=0
while ! grep -qx done "$TMP/drv" 2>/dev/null; do
	i=$((i + 1))
	kill -0 $drv 2>/dev/null && [ $i -lt 600 ] ||
		{ cat "$TMP/drv.err"; bail "the driver failed or hung"; }
	sleep 0.2
done
vcpustat dump -j >"$TMP/dump.json" || bail "vcpustat dump -j failed"
vcpustat list >"$TMP/list"
vcpustat top -b -n 1 >"$TMP/top"
echo 0 >"$T/tracing_on"
cat "$EV/hist" >"$TMP/hist"
cat "$T/trace" >"$TMP/trace"
kill $drv
wait $drv
i=0
until grep -q '"vm-gone".*"pid":'$drv, "$TMP/w.out"; do
	i=$((i + 1))
	[ $i -lt 50 ] || break
	sleep 0.1
done
kill $watch
wait $watch

# The dump as "R tid code count timed name" per reason, "V tid exits
# migrations timed_exits" per vCPU (of the driver's VM: it is the only one).
awk '{
	s = $0;
	while ((i = index(s, "{\"vcpu_id\":")) > 0) {
		s = substr(s, i + 1);
		j = index(s, "{\"vcpu_id\":"); v = j ? substr(s, 1, j - 1) : s;
		match(v, /"tid":[0-9]+/); tid = substr(v, RSTART + 6, RLENGTH - 6);
		match(v, /"exits":[0-9]+/); ex = substr(v, RSTART + 8, RLENGTH - 8);
		match(v, /"migrations":[0-9]+/); mg = substr(v, RSTART + 13, RLENGTH - 13);
		match(v, /"timed_exits":[0-9]+/); te = substr(v, RSTART + 14, RLENGTH - 14);
		print "V", tid, ex, mg, te;
		r = v;
		while ((k = index(r, "{\"isa\":")) > 0) {
			r = substr(r, k + 1);
			match(r, /"code":[0-9]+/); c = substr(r, RSTART + 7, RLENGTH - 7);
			match(r, /"count":[0-9]+/); cnt = substr(r, RSTART + 8, RLENGTH - 8);
			match(r, /"timed":[0-9]+/); tm = substr(r, RSTART + 8, RLENGTH - 8);
			match(r, /"name":"[^"]*"/); nm = substr(r, RSTART + 8, RLENGTH - 9);
			print "R", tid, c, cnt, tm, nm;
		}
	}
}' "$TMP/dump.json" >"$TMP/mod"
# The hist as "tid code count", code as the module encodes it.
awk -v notrap=$NOTRAP '/^\{/ {
	gsub(/[{},:]/, " ");
	for (i = 1; i < NF; i++) {
		if ($i == "common_pid") p = $(i + 1);
		else if ($i == "ret") r = $(i + 1);
		else if ($i == "esr_ec") e = $(i + 1);
		else if ($i == "hitcount") h = $(i + 1);
	}
	printf "%s %.0f %s\n", p, r == 2 ? e : notrap + r, h;
}
/Dropped: [1-9]/ { print "DROPPED" }' "$TMP/hist" | sort >"$TMP/hist.lines"

# -------------------------------------------------------------- counts
awk -v hist="$TMP/hist.lines" '
BEGIN { while ((getline l < hist) > 0) { split(l, a, " "); H[a[1] " " a[2]] = a[3]; } }
FNR == NR { if ($1 == "R") M[$2 " " $3] = $4; next }
$1 == "expect" {
	split($2, t, "="); split($3, c, "="); split($4, k, "=");
	key = t[2] " " c[2]; n++;
	if (M[key] != k[2] || H[key] != k[2]) {
		printf "# tid %s code %s: driver %s, module %s, tracefs %s\n", t[2], c[2], k[2], M[key], H[key];
		bad = 1;
	} else printf "#   tid %s code %s: %s exits\n", t[2], c[2], k[2];
}
END { if (n != 8) { printf "# %d driver lines, not 8\n", n; bad = 1 } exit bad }' \
	"$TMP/mod" "$TMP/drv"
result $? "counts: driver == module == tracefs per (thread, DABT_LOW/HVC64/WFx/SYS64)"

# -------------------------------------------------------------- tracefs
awk '$1 == "R" { print $2, $3, $4 }' "$TMP/mod" | sort >"$TMP/mod.lines"
tids=$(awk '$1 == "V" { print $2 }' "$TMP/mod" | tr '\n' '|')
grep -E "^(${tids%|}) " "$TMP/hist.lines" >"$TMP/hist.ours"
irq=$(awk -v n=$NOTRAP '$2 == n { s += $3 } END { print s + 0 }' "$TMP/mod.lines")
echo "# $(wc -l <"$TMP/mod.lines") (thread, code) pairs; IRQ exits: $irq"
if grep -q DROPPED "$TMP/hist.lines" || ! [ -s "$TMP/mod.lines" ] ||
	! cmp -s "$TMP/mod.lines" "$TMP/hist.ours"; then
	diff "$TMP/mod.lines" "$TMP/hist.ours" | sed 's/^/# /'
	result 1 "tracefs: every (thread, code) count, IRQ and IABT_LOW included, == hist"
else
	result 0 "tracefs: every (thread, code) count, IRQ and IABT_LOW included, == hist"
fi

# -------------------------------------------------------------- names
# print fmt: __print_symbolic(REC->ret, {0, "IRQ"}, ...), REC->esr_ec,
# __print_symbolic(REC->esr_ec, {0x00, "UNKNOWN"}, ...): the first table
# names ret, the second esr_ec. 6.12 writes the codes as _UL(0x24):
# (((0x24UL))).
grep '^print fmt' "$EV/format" | sed 's/__print_symbolic/\n&/g' | sed -n '2,3p' |
	awk '{ t = NR == 1 ? "ret" : "ec"; s = $0;
	while (match(s, /\{ *[0-9a-fA-FxUL()]+ *, *"[A-Za-z_0-9]+" *\}/)) {
		e = substr(s, RSTART, RLENGTH); s = substr(s, RSTART + RLENGTH);
		gsub(/[{}()" ]/, "", e); split(e, a, ",");
		v = a[1]; x = 0; sub(/UL$/, "", v);
		if (v ~ /^0x/) { v = substr(v, 3); for (i = 1; i <= length(v); i++) x = x * 16 + index("0123456789abcdef", tolower(substr(v, i, 1))) - 1 }
		else x = v + 0;
		print t, x, a[2];
	} }' >"$TMP/fmt"
awk -v fmt="$TMP/fmt" -v notrap=$NOTRAP '
BEGIN { while ((getline l < fmt) > 0) { split(l, a, " "); F[a[1] " " a[2]] = a[3]; nf++ } }
$1 == "R" {
	c = $3 + 0; key = c >= notrap ? "ret " (c - notrap) : "ec " c;
	if (!(key in F)) { printf "# code %s (%s): not in the event table\n", c, $6; bad = 1 }
	else if (F[key] != $6) { printf "# code %s: tool %s, tracefs %s\n", c, $6, F[key]; bad = 1 }
	else seen[key " " $6] = 1;
}
END { for (s in seen) printf "#   %s\n", s; if (nf < 30) { printf "# only %d names in the print fmt\n", nf; bad = 1 } exit bad }' \
	"$TMP/mod"
result $? "names: the tool's reason names == the kvm_exit event's tables"

# -------------------------------------------------------------- migrations
# Trace lines: "comm-TID [CPU] flags ts: kvm_exit: ...".
if ! awk '/entries-in-buffer\/entries-written/ { split($(NF - 1), a, "/"); exit a[1] != a[2] }' \
	"$TMP/trace"; then
	echo "# the trace buffer overflowed"
	result 1 "migrations: module == CPU changes between kvm_exit events == driver moves"
else
	awk -v drv="$TMP/drv" '
	BEGIN { while ((getline l < drv) > 0) if (l ~ /^moves/) { split(l, a, /[ =]/); D[a[3]] = a[5] } }
	FNR == NR { if ($1 == "V") { M[$2] = $3; G[$2] = $4 } next }
	/kvm_exit:/ {
		match($0, /-[0-9]+ +\[[0-9]+\]/); s = substr($0, RSTART + 1, RLENGTH - 1);
		gsub(/[^0-9]+/, " ", s); split(s, a, " "); tid = a[1]; cpu = a[2] + 0;
		if (tid in last && last[tid] != cpu) mv[tid]++;
		last[tid] = cpu;
	}
	END {
		for (t in M) {
			printf "#   tid %s: module %d, trace %d, driver moves %d\n", t, G[t], mv[t], D[t];
			if (G[t] != mv[t] + 0 || G[t] != D[t] || D[t] < 1) bad = 1;
		}
		exit bad;
	}' "$TMP/mod" "$TMP/trace"
	result $? "migrations: module == CPU changes between kvm_exit events == driver moves"
fi

# -------------------------------------------------------------- timing
# Timing is on by default: each exit is closed by the vCPU's next
# kvm_entry, except its last (the "done" store, never re-entered).
awk '$1 == "V" { n++; if ($5 != $3 - 1) { printf "# tid %s: %s exits, %s timed\n", $2, $3, $5; bad = 1 } }
$1 == "R" && $6 == "WFx" && $5 > 0 { w++ }
END { if (n != 2 || w != 2) { print "# vCPUs", n, "with timed WFx", w; bad = 1 } exit bad }' "$TMP/mod"
result $? "timing: all exits but each vCPU's last timed"

# -------------------------------------------------------------- list, top
awk -v mod="$TMP/mod" '
BEGIN { while ((getline l < mod) > 0) { split(l, a, " "); if (a[1] == "V") E[a[2]] = a[3] } }
# VM PID COMM NAME VCPU TID PCPU EXITS EXITS/s MIGR, the 7 budget
# shares (summing to 100), TOP-REASON
$1 ~ /^[0-9]+$/ && NF >= 18 {
	n++;
	s = 0; for (i = 11; i <= 17; i++) s += $i;
	if (!($6 in E) || $8 != E[$6] || $18 != "DABT_LOW" || s < 99.5 || s > 100.5) { print "# row:", $0; bad = 1 }
}
END { if (n != 2) { print "# rows:", n; bad = 1 } exit bad }' "$TMP/list"
r1=$?
awk -v mod="$TMP/mod" '
BEGIN { while ((getline l < mod) > 0) { split(l, a, " "); if (a[1] == "R") S[a[6]] += a[4] } }
$1 in S { seen[$1] = 1; if ($2 != S[$1]) { printf "# %s: top %s, dump %s\n", $1, $2, S[$1]; bad = 1 } }
END { for (r in S) if (!(r in seen)) { print "# top lacks", r; bad = 1 } exit bad }' "$TMP/top"
r2=$?
[ $r1 = 0 ] || sed 's/^/# /' "$TMP/list"
[ $r2 = 0 ] || sed 's/^/# /' "$TMP/top"
result $r1 "list: one row per vCPU thread, its exits, DABT_LOW on top"
result $r2 "top -b: per-reason totals == the dump's"

# -------------------------------------------------------------- events
vmexits=$(sed -n 's/.*"vms":\[{"vm_id":[0-9]*,"pid":'$drv',[^[]*"exits":\([0-9]*\),.*/\1/p' "$TMP/dump.json")
rc=0
# The lifecycle is the kprobe on kvm_destroy_vm (built into the image
# here), not the pinning fallback.
hook=$(cat /sys/module/vcpustat/parameters/destroy_hook)
[ "$hook" = Y ] || { echo "# destroy_hook=$hook, want Y"; rc=1; }
grep -q '"type":"vm-new".*"pid":'$drv, "$TMP/w.out" || { echo "# no vm-new"; rc=1; }
gone=$(grep '"type":"vm-gone".*"pid":'$drv, "$TMP/w.out" |
	sed -n 's/.*"pid":'$drv',[^[]*"exits":\([0-9]*\),.*/\1/p')
echo "# vm-gone exits ${gone:-none}, dump ${vmexits:-none}"
[ -n "$vmexits" ] && [ "$gone" = "$vmexits" ] || rc=1
# Moves within one tick come as one event that counts the others as
# suppressed: per thread, events + suppressed == the last total == the
# module's migrations.
grep '"type":"migrate".*"pid":'$drv, "$TMP/w.out" | awk -v mod="$TMP/mod" '
BEGIN { while ((getline l < mod) > 0) { split(l, a, " "); if (a[1] == "V") G[a[2]] = a[4] } }
{
	match($0, /"tid":[0-9]+/); t = substr($0, RSTART + 6, RLENGTH - 6);
	match($0, /"total":[0-9]+/); tot[t] = substr($0, RSTART + 8, RLENGTH - 8);
	match($0, /"suppressed":[0-9]+/); n[t] += 1 + substr($0, RSTART + 13, RLENGTH - 13);
}
END {
	for (t in G) {
		printf "#   tid %s: %d moves in events, last total %d, module %d\n", t, n[t], tot[t], G[t];
		if (n[t] != G[t] || tot[t] != G[t] || G[t] < 1) bad = 1;
	}
	exit bad;
}' || rc=1
[ $rc = 0 ] || sed 's/^/# /' "$TMP/w.out" | head -20
result $rc "events: vm-new, every migration, vm-gone with the dump's exit total (destroy kprobe)"

# -------------------------------------------------------------- reload
kvm_workload_arm64 -v 2 -m 20 -c 5 -w 1 -s 5 -l >/dev/null 2>"$TMP/loop.err" &
loop=$!
sleep 1
rc=0
rmmod vcpustat || rc=1
insmod vcpustat.ko || rc=1
sleep 1
vcpustat dump -j >"$TMP/d2.json" || rc=1
grep -q '"vms":1,"vcpus":2' "$TMP/d2.json" || { echo "# after reload: $(head -c 300 "$TMP/d2.json")"; rc=1; }
kill $loop
wait $loop || { cat "$TMP/loop.err"; rc=1; }
sleep 0.5
vcpustat dump -j | grep -q '"vms":0,' || { echo "# the VM outlived its process"; rc=1; }
result $rc "reload: rmmod/insmod under a running VM; it is tracked again, gone once killed"

# -------------------------------------------------------------- host
mode=$(grep -o 'kvm-arm.mode=[a-z]*' /proc/cmdline | cut -d= -f2)
want=${mode:-vhe}
vcpustat host >"$TMP/host" 2>&1
awk -v want="$want" '
tolower($0) ~ /vmx|svm/ { print "# x86 line:", $0; bad = 1 }
tolower($0) ~ /kvm mode/ { m = tolower($0) }
tolower($0) ~ /gic/ { g = 1 }
tolower($0) ~ /boot el/ && /EL2/ { el = 1 }
END {
	if (index(m, want) == 0 || (want == "vhe" && index(m, "nvhe"))) { print "# mode line:", m, "want", want; bad = 1 }
	if (!g) { print "# no GIC line"; bad = 1 }
	if (!el) { print "# no boot EL2 line"; bad = 1 }
	exit bad
}' "$TMP/host"
r=$?
[ $r = 0 ] || sed 's/^/# /' "$TMP/host"
result $r "host: arm64 KVM mode ($want), booted at EL2, GIC, no vmx/svm"

rmmod vcpustat
dmesg | grep -E 'vcpustat' | tail -3 | sed 's/^/# /'
exit $fail
