#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The time budget against what the kernel and the workload measure on their
# own. budget_workload runs vCPUs whose time goes where each case wants it,
# then holds the VM (its vCPU threads gone, so nothing moves) while this
# reads the module with `vcpustat dump -j`. Per vCPU thread it compares:
#   wait   with the thread's own schedstat run_delay   (1 %, or 5 ms)
#   guest  with the thread's guest_time, where vtime keeps it (a nohz_full
#          CPU): guest <= guest_time <= guest + exit      (2 ticks)
#   guest + exit (+ user where the VMM only computes) with the thread's
#          schedstat time on a CPU                        (2 %)
#   halt, poll  with KVM's own halt_wait_ns, halt_poll_*_ns, less the wait
#          inside them, which counts as wait            (within 1 %)
#   user   with the workload's own time out of KVM_RUN, less the
#          run-queue wait inside it                       (within 5 %)
#   the states (without the interval still open) with the thread's wall
#   time in KVM_RUN's loop (within 1 %, plus at most the warm-up's time
#   before it: the module starts at the first exit)
#   io returns to the VMM with the workload's, each named or counted
#          as missed (STATUS_A_RUN_MISSED)                 (exactly)
#          (x86: KVM_EXIT_IO, "io"; arm64: KVM_EXIT_MMIO, "mmio")
# and the experiments' shares: 4 busy vCPUs on 2 pCPUs wait 50 % (+-5;
# each vCPU >= 5 %: the split among them is the scheduler's fairness),
# pinned 1:1 on idle pCPUs < 2 %, a halted vCPU is >= 90 % halt + poll.
# POSIX sh (plus local) and awk only, so it runs in the Bochs (VMX)
# initramfs and under the arm64 rig's busybox sh too (scripts/check-arm64).
# Needs root, /dev/kvm, the module loaded (or VCPUSTAT_KO). KTAP; skips are
# code 4. The workload: BUDGET_WORKLOAD, else next to this, else in PATH.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib_parse.sh"
WL=${BUDGET_WORKLOAD:-$here/budget_workload}
[ -x "$WL" ] || [ -n "${BUDGET_WORKLOAD:-}" ] || WL=$(command -v budget_workload) || WL=
# The workload's exit to userspace: x86's guest writes a port, arm64's
# stores to an unmapped IPA.
case $(uname -m) in
aarch64) UEXIT=6 UNAME=mmio ;;
*) UEXIT=2 UNAME=io ;;
esac
SECS=${BUDGET_SECONDS:-3}
IO_N=${BUDGET_IO:-50}
tmp=$(mktemp -d)
trap 'touch "$tmp/hold"; rm -rf "$tmp"' EXIT
ncpu=$(nproc)
n=0 failed=0

ok() { n=$((n + 1)); echo "ok $n $*"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n $*"; }
skip() { n=$((n + 1)); echo "ok $n $* # SKIP"; }

echo "KTAP version 1"
if [ -z "$WL" ] || [ ! -x "$WL" ] || ! command -v vcpustat >/dev/null; then
	echo "1..0 # SKIP budget_workload or vcpustat not built"
	exit 4
fi
# Load the module if it is not (the Bochs lane runs this after tests
# that unload it); unload it again at the end then.
loaded_here=0
if ! lsmod | grep -q '^vcpustat ' && [ -n "${VCPUSTAT_KO:-}" ]; then
	insmod "$VCPUSTAT_KO" && loaded_here=1
fi
if ! lsmod | grep -q '^vcpustat '; then
	echo "1..0 # SKIP the vcpustat module is not loaded (VCPUSTAT_KO)"
	exit 4
fi
trap 'touch "$tmp/hold"; rm -rf "$tmp"; [ $loaded_here = 1 ] && rmmod vcpustat' EXIT
echo "1..9"
# This script and what it runs between cases stay on CPU 0, off the
# CPUs whose wait the cases measure.
taskset -pc 0 $$ >/dev/null 2>&1

# run NAME MODE ARGS...: the workload's report in $tmp/NAME.json and the
# module's dump, taken while the VM is held, in $tmp/NAME.dump.
run() {
	local name=$1 pid i
	shift
	rm -f "$tmp/hold" "$tmp/$name.json"
	missed0=$(run_missed)
	"$WL" "$@" --hold-file "$tmp/hold" --json "$tmp/$name.json" \
		2>"$tmp/$name.err" &
	pid=$!
	i=0
	while [ $i -lt 1200 ]; do
		[ -s "$tmp/$name.json" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	vcpustat dump -j >"$tmp/$name.dump" 2>>"$tmp/$name.err"
	touch "$tmp/hold"
	wait "$pid"
}

# KVM_RUN returns whose kind the module missed so far (STATUS_A_RUN_MISSED).
run_missed() {
	vcpustat dump -j 2>/dev/null | grep -o '"run_missed":[0-9]*' | cut -d: -f2
}

# check NAME WHAT: one line per vCPU thread joining the workload's report
# and the module's vCPU of that tid, then WHAT's verdict. Prints "#"
# diagnostics and returns non-zero when any vCPU fails.
check() {
	local name=$1 what=$2 gcheck=${3:-0}
	awk -v what="$what" -v gcheck="$gcheck" -v missed0="${missed0:-0}" \
		-v uexit="$UEXIT" -v uxname="$UNAME" "$JSON_AWK"'
	function absd(a, b) { return a > b ? a - b : b - a; }
	function near(a, b, rel, abs_) { return absd(a, b) <= rel * b + abs_; }
	FNR == 1 { file++ }
	file == 1 {
		# The workload report: one object per vCPU after "vcpus":[
		n = split($0, parts, /\{"id":/);
		for (i = 2; i <= n; i++) {
			s = parts[i]; t = (num(s, "tid") + 0);
			wl[t] = s; tids[++nt] = t;
		}
		next
	}
	file == 2 {
		missed = (num($0, "run_missed") + 0) - missed0;
		n = split($0, parts, /\{"vcpu_id":/);
		for (i = 2; i <= n; i++) {
			s = parts[i]; t = (num(s, "tid") + 0);
			mod[t] = substr(s, index(s, "\"budget\":{"));
		}
	}
	END {
		bad = 0;
		if (!nt) { print "# no vCPU in the workload report"; exit 1; }
		for (k = 1; k <= nt; k++) {
			t = tids[k]; w = wl[t]; b = mod[t];
			if (b == "") { print "# tid " t ": no budget in the dump"; bad = 1; continue; }
			g = (num(b, "guest_ns") + 0); e = (num(b, "exit_ns") + 0); u = (num(b, "user_ns") + 0);
			p = (num(b, "poll_ns") + 0); h = (num(b, "halt_ns") + 0); wt = (num(b, "wait_ns") + 0);
			o = (num(b, "out_ns") + 0); op = (num(b, "open_ns") + 0);
			sum = g + e + u + p + h + wt + o - op;
			wall = (num(w, "wall_ns") + 0); rd = (num(w, "run_delay_ns") + 0);
			printf "# tid %s: guest %.0f exit %.0f user %.0f poll %.0f halt %.0f wait %.0f out %.0f (open %.0f) | wall %.0f pre %.0f run_delay %.0f cpu %.0f ticks u/s/g %d/%d/%d user %.0f kvm poll %.0f halt %.0f\n", \
				t, g, e, u, p, h, wt, o, op, wall, (num(w, "pre_ns") + 0), rd, (num(w, "cpu_ns") + 0), (num(w, "utime_ticks") + 0), (num(w, "stime_ticks") + 0), (num(w, "guest_ticks") + 0), (num(w, "user_ns") + 0), \
				(num(w, "halt_poll_success_ns") + 0) + (num(w, "halt_poll_fail_ns") + 0), (num(w, "halt_wait_ns") + 0);
			if (what == "gap") {
				if (sum > wall * 1.01 + (num(w, "pre_ns") + 0) || sum < wall * 0.2 || wt > rd + 1e6) { print "# tid " t ": after a gap: sum " sum " wall " wall " wait " wt " run_delay " rd; bad = 1; }
				if (sum > wall - 20 * 50e6) { print "# tid " t ": no gap of 1 s: sum " sum " wall " wall; bad = 1; }
				continue;
			}
			# The module counts from the first exit of the vCPU, inside the
			# first warm-up KVM_RUN: up to pre_ns before the span (a
			# slow first run, e.g. under TCG on a loaded host, was seen
			# to put 29 ms of 2.85 s there: arm64 nVHE).
			pre = (num(w, "pre_ns") + 0);
			if (sum < wall * 0.99 || sum > wall * 1.01 + pre) { print "# tid " t ": states sum to " sum ", wall " wall " (+ up to " pre " before it)"; bad = 1; }
			# 1 %, or 5 ms where the wait is small: the two reads that
			# bound the span of the thread cannot be events of the module
			if (!near(wt, rd, 0.01, 5e6)) { print "# tid " t ": wait " wt " vs run_delay " rd; bad = 1; }
			# Time on a CPU (schedstat, ns): guest and exit handling, and
			# the work of the VMM where it only computes (io).
			cpu = (num(w, "cpu_ns") + 0); on = g + e + (what == "io" ? u : 0);
			if (what != "hlt" && what != "vtime" && what != "overio" && !near(on, cpu, 0.02, 1e6)) { print "# tid " t ": on-CPU states " on " vs schedstat " cpu; bad = 1; }
			# guest_time, where vtime measures it (nohz_full CPUs: at
			# guest entry and exit, not by ticks): it runs from before
			# kvm_entry to after the host interrupt of the exit, so it holds
			# our guest and lies within guest + exit (2 ticks of slack).
			if (gcheck) {
				gt = (num(w, "guest_ticks") + 0) * 1e9 / (num(w, "clk_tck") + 0);
				tick = 1e9 / (num(w, "clk_tck") + 0);
				if (g > gt + 2 * tick || gt > g + e + 2 * tick) { print "# tid " t ": guest " g " (+ exit " e ") vs guest_time " gt; bad = 1; }
			}
			# The VM waits half the time. How it is shared among the
			# threads is the fairness of the scheduler, not ours: over 3 s
			# under TCG one thread was seen to wait 16 % and the others
			# 59-63 %. The wait of each is exact all the same
			# (run_delay, above), and each one contended (>= 5 %).
			if (what == "wait50") {
				share += wt / sum / nt;
				if (wt / sum < 0.05) { print "# tid " t ": wait share " wt / sum; bad = 1; }
			}
			if (what == "pinned" && wt / sum >= 0.02) { print "# tid " t ": wait share " wt / sum; bad = 1; }
			if (what == "hlt") {
				kp = (num(w, "halt_poll_success_ns") + 0) + (num(w, "halt_poll_fail_ns") + 0);
				kh = (num(w, "halt_wait_ns") + 0);
				# The rest is the VMM at its timer exits: under TCG on a
				# loaded host that was seen to take 5 % (user 137 ms of 3 s).
				if ((h + p) / sum < 0.9) { print "# tid " t ": halt+poll share " (h + p) / sum; bad = 1; }
				# The halt and poll times of KVM hold the wait for a CPU after
				# the wakeup; the module counts that once, as wait
				# (budget.h): what it lacks of them is within its wait,
				# which is checked against run_delay above. A loaded x86
				# rig was seen to wait 54 ms of 2.94 s so.
				if (h > kh + 1e6 || p > kp + 1e6 || (kh - h) + (kp - p) > wt + 0.01 * (kh + kp) + 1e6) { print "# tid " t ": halt " h " poll " p " (wait " wt ") vs KVM halt_wait_ns " kh " halt_poll_*_ns " kp; bad = 1; }
			}
			if (what == "io") {
				uc = u - (str(b, "state") == "user" ? op : 0);
				# The VMM work, without the waits for a CPU inside it
				# (those are wait, here and in the account of the workload).
				uw = (num(w, "user_ns") + 0) - (num(w, "user_wait_ns") + 0);
				if (!(uc > 0) || !near(uc, uw, 0.05, 0)) { print "# tid " t ": user " uc " vs the workload " uw; bad = 1; }
			}
			if (what == "io" || what == "overio") {
				# KVM_RUN returned with KVM_EXIT_IO (arm64: _MMIO) exactly
				# as often as the workload handled one (the last stays
				# open: no re-entry), but for the returns the module says
				# it missed (below).
				if (!match(b, "\"exit_reason\":" uexit ",\"name\":\"" uxname "\",\"count\":[0-9]+")) { print "# tid " t ": no " uxname " user entry"; bad = 1; }
				else { c = substr(b, RSTART, RLENGTH); sub(/.*:/, "", c);
				       r = (num(w, "runs") + 0) - (num(w, "eintr") + 0); short += r - c;
				       printf "# tid %s: %s returns %d, KVM_RUN returned 0 %d times\n", t, uxname, c, r;
				       if (c > r) { print "# tid " t ": " uxname " returns " c " vs " r; bad = 1; } }
			}
		}
		if (what == "wait50" && !near(share, 0.5, 0, 0.05)) { print "# the vCPUs waited " share " of their time"; bad = 1; }
		if ((what == "io" || what == "overio") && short != missed) { print "# io returns not named: " short ", the module says it missed " missed; bad = 1; }
		if (what == "io" || what == "overio") printf "# io returns missed: %d\n", missed;
		exit bad;
	}' "$tmp/$name.json" "$tmp/$name.dump"
}

case_run() {
	local name=$1 what=$2 desc=$3 gcheck=0
	shift 3
	[ "$what" = vtime ] && gcheck=1
	if ! run "$name" "$@"; then
		sed 's/^/# /' "$tmp/$name.err"
		notok "$desc: the workload failed"
		return
	fi
	if check "$name" "$what" "$gcheck"; then ok "$desc"; else notok "$desc"; fi
}

if [ "$ncpu" -ge 3 ]; then
	case_run over wait50 "4 busy vCPUs on 2 pCPUs wait 50 % (+-5) for a pCPU" \
		spin --vcpus 4 --cpus 1-2 --seconds "$SECS"
else
	skip "4 busy vCPUs on 2 pCPUs: needs 3 CPUs (one for this script), this kernel has $ncpu"
fi
# guest_time is checked where the kernel keeps it by vtime, at each guest
# entry and exit: a nohz_full CPU (the rig makes its last CPU one). Elsewhere
# it is sampled by ticks, and under TCG ticks are lost (2.96 s in the guest
# read as 0.61 s of guest_time), so it is not compared there.
nohz=$(cat /sys/devices/system/cpu/nohz_full 2>/dev/null)
case $nohz in
'' | *[!0-9]*) nohz= ;;
esac
if [ "$ncpu" -ge 8 ] && [ "$nohz" = $((ncpu - 1)) ]; then
	case_run pinned pinned "4 busy vCPUs pinned 1:1 on idle pCPUs wait < 2 %" \
		spin --vcpus 4 --cpus "$((ncpu - 5))-$((ncpu - 2))" --pin --seconds "$SECS"
elif [ "$ncpu" -ge 5 ]; then
	case_run pinned pinned "4 busy vCPUs pinned 1:1 on idle pCPUs wait < 2 %" \
		spin --vcpus 4 --cpus "$((ncpu - 4))-$((ncpu - 1))" --pin --seconds "$SECS"
else
	skip "4 vCPUs pinned 1:1: needs 5 CPUs (one for this script), this kernel has $ncpu"
fi
if [ -n "$nohz" ]; then
	case_run vtime vtime "guest equals the kernel's vtime guest_time (nohz_full CPU $nohz)" \
		spin --cpus "$nohz" --seconds "$SECS"
else
	skip "guest vs guest_time: no nohz_full CPU, and ticks are lost under TCG"
fi
# The one-vCPU cases run off this script's CPU 0 where there is another.
one=
[ "$ncpu" -ge 2 ] && one="--cpus 1"

case_run hlt hlt "a halted vCPU woken by a timer: halt + poll >= 90 %, equal to KVM's halt stats" \
	hlt --seconds "$SECS" $one
case_run io io "an io-heavy vCPU: user equals the VMM's own time out of KVM_RUN (5 %)" \
	io --io "$IO_N" --user-us 50000 $one
# Over-committed, threads are preempted and moved between KVM_RUN's end
# and its return, where the module names the end (kmod/probe_run.c): each
# return is named all the same, or counted as missed. Sum and wait are
# checked as everywhere; time on a CPU and the workload's own user time
# are not: contended, its threads also sleep (0.4 s of 4.2 s seen) and
# are preempted inside its own schedstat reads, which it cannot see.
if [ "$ncpu" -ge 3 ]; then
	case_run overio overio "4 io-heavy vCPUs on 2 pCPUs: states sum, wait exact, each return named" \
		io --vcpus 4 --cpus 1-2 --io 1500 --user-us 300
else
	skip "4 io-heavy vCPUs on 2 pCPUs: needs 3 CPUs (one for this script), this kernel has $ncpu"
fi

# Off and on again while the vCPU runs (after its 20th and 40th exit to
# userspace, from its own thread, so the gap is there however slow the
# machine): a gap, never a wrong sum. The states sum to less than the
# wall time, by at least the 20 exits of 50 ms it was off, never to more,
# and wait never exceeds the run-queue delay.
case_run gap gap "budget off and on while a vCPU runs: a gap, never a wrong sum" \
	io --io 60 --user-us 50000 $one \
	--exec-at "20:vcpustat config budget=off >/dev/null" \
	--exec-at "40:vcpustat config budget=on >/dev/null"

# The same on the TSC clock (kmod/clock.c): real hosts' TSC is constant
# and stable, so the probes read it; the rig's emulated TSC does not say so
# in CPUID, so the module falls back to ktime there unless clock_tsc=1.
if [ "$UEXIT" != 2 ]; then
	skip "TSC clock, halted vCPU: the TSC clock is x86's (kmod/clock.c; arm64 reads ktime)"
	skip "TSC clock, io-heavy vCPU: the TSC clock is x86's (kmod/clock.c; arm64 reads ktime)"
elif [ -n "${VCPUSTAT_KO:-}" ] && rmmod vcpustat 2>/dev/null &&
   insmod "$VCPUSTAT_KO" clock_tsc=1 &&
   dmesg | tail -n 5 | grep -q 'vcpustat: clock: TSC'; then
	case_run hlt_tsc hlt "TSC clock: a halted vCPU, halt + poll equal to KVM's halt stats" \
		hlt --seconds "$SECS" $one
	case_run io_tsc io "TSC clock: an io-heavy vCPU, user equals the VMM's own time" \
		io --io "$IO_N" --user-us 50000 $one
	rmmod vcpustat
	[ $loaded_here = 1 ] || insmod "$VCPUSTAT_KO"
else
	dmesg | grep 'vcpustat: clock' | tail -n 1 | sed 's/^/# /'
	skip "TSC clock, halted vCPU: no module to reload, or the kernel marked the TSC unstable"
	skip "TSC clock, io-heavy vCPU: no module to reload, or the kernel marked the TSC unstable"
	lsmod | grep -q '^vcpustat ' || [ -z "${VCPUSTAT_KO:-}" ] || [ $loaded_here = 1 ] ||
		insmod "$VCPUSTAT_KO"
fi

echo "# $failed failed"
[ "$failed" = 0 ]
