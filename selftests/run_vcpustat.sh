#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run_vcpustat.sh: the kselftest entry point of vcpustat (TEST_PROGS in the
# Makefile; what `make run_tests` and run_kselftest.sh run). It runs every
# test program below in one booted kernel, each under a timeout, and prints
# KTAP: one result per program, the program's own KTAP nested as "# "
# diagnostics (as kselftest's runner does).
#
# The module: the tests that need it loaded get it loaded first, from the
# first of
#   $VCPUSTAT_KO                      (kernel CI: the .ko built separately)
#   ./vcpustat.ko                     (copied in by make install VCPUSTAT_KO=)
#   ../build/$(uname -r)/vcpustat.ko  (a vcpustat source tree, scripts/build-modules)
#   modinfo -n vcpustat               (installed: make install-module, DKMS)
# and it is unloaded at the end if it was not loaded before. Without any,
# those tests SKIP. The tool: $VCPUSTAT, ./vcpustat, ../user/vcpustat or
# vcpustat on PATH. The workload driver: $KVM_WORKLOAD or ./kvm_workload.
#
# Env: VCPUSTAT_PROGS="a b" runs only those programs (in that order);
#      VCPUSTAT_TEST_TIMEOUT seconds per program (default 900).
# Exit: 0 all passed (some may have skipped), 1 a program failed, timed
# out or crashed, 4 (KSFT_SKIP) every program skipped.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
top=$(dirname "$here")
KSFT_SKIP=4
# Same list and order as run_guest.sh (stress_test.sh is `make stress`,
# not here): the module test loads and unloads the module
# itself; the later ones want it loaded.
DEFAULT_TESTS="workload_vs_tracefs.sh detail_test.py detail_keys_test.sh vcpustat_module_test.py tool_test.sh ynl_test.sh autopin_test.sh export_test.sh guest_name_test.sh budget_test.sh stress_test.sh"
TIMEOUT=${VCPUSTAT_TEST_TIMEOUT:-900}

tests=()
for t in ${VCPUSTAT_PROGS:-$DEFAULT_TESTS}; do
	[ -e "$here/$t" ] && tests+=("$t")
done

# ---------------------------------------------------------------- module
ko=${VCPUSTAT_KO:-}
if [ -z "$ko" ]; then
	for c in "$here/vcpustat.ko" "$top/build/$(uname -r)/vcpustat.ko"; do
		if [ -e "$c" ]; then ko=$c; break; fi
	done
fi
[ -n "$ko" ] || ko=$(modinfo -n vcpustat 2>/dev/null)
case $ko in "" | /*) ;; *) ko=$PWD/$ko ;; esac
export VCPUSTAT_KO=$ko
was_loaded=0
[ -d /sys/module/vcpustat ] && was_loaded=1

load_module() {
	[ -d /sys/module/vcpustat ] && return 0
	[ "$(id -u)" -eq 0 ] || return 1
	if [ -n "$ko" ] && [ -e "$ko" ]; then
		# insmod does not load dependencies: vcpustat needs kvm.
		[ -d /sys/module/kvm ] || modprobe kvm 2>/dev/null
		insmod "$ko"
	else
		modprobe vcpustat
	fi
}

# ---------------------------------------------------------------- tool
vs=${VCPUSTAT:-}
if [ -z "$vs" ]; then
	for c in "$here/vcpustat" "$top/user/vcpustat" "$(command -v vcpustat 2>/dev/null)"; do
		if [ -n "$c" ] && [ -x "$c" ]; then vs=$c; break; fi
	done
fi
if [ -n "$vs" ]; then
	export VCPUSTAT=$vs
	PATH=$(dirname "$vs"):$PATH
fi
export KVM_WORKLOAD=${KVM_WORKLOAD:-$here/kvm_workload}
export VCPUSTAT_WORKLOAD=${VCPUSTAT_WORKLOAD:-$KVM_WORKLOAD}
export PATH

echo "KTAP version 1"
echo "1..${#tests[@]}"
echo "# kernel $(uname -r); module ${ko:-none}$([ $was_loaded = 1 ] && echo ' (already loaded)'); tool ${vs:-none}"
for f in "$here"/*_test.sh "$here"/*_test.py; do
	[ -e "$f" ] || continue
	case " ${tests[*]} " in *" ${f##*/} "*) continue ;; esac
	[ -n "${VCPUSTAT_PROGS:-}" ] || echo "# not in run_vcpustat.sh's list, not run: ${f##*/}"
done

n=0 passed=0 failed=0 skipped=0
for t in "${tests[@]}"; do
	n=$((n + 1))
	case $t in
	workload_vs_tracefs.sh | vcpustat_module_test.py) ;;
	*) load_module 2>&1 | sed 's/^/# load: /' ;;
	esac
	echo "# selftests: vcpustat: $t"
	out=$(mktemp "${TMPDIR:-/tmp}/run_vcpustat.XXXXXX")
	start=$SECONDS
	(cd "$here" && timeout -k 10 "$TIMEOUT" "./$t") 2>&1 | tee "$out" | sed -u 's/^/# /'
	rc=${PIPESTATUS[0]}
	el=$((SECONDS - start))
	reason=$(sed -n 's/^1\.\.0 *# *SKIP *//p' "$out" | head -n 1)
	rm -f "$out"
	echo "# $t: exit $rc after ${el}s"
	if [ "$rc" -eq 0 ]; then
		echo "ok $n $t"
		passed=$((passed + 1))
	elif [ "$rc" -eq $KSFT_SKIP ]; then
		echo "ok $n $t # SKIP ${reason:-exit 4}"
		skipped=$((skipped + 1))
	elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "not ok $n $t # TIMEOUT $TIMEOUT seconds"
		failed=$((failed + 1))
	else
		echo "not ok $n $t # exit=$rc"
		failed=$((failed + 1))
	fi
done

if [ $was_loaded = 0 ] && [ -d /sys/module/vcpustat ]; then
	rmmod vcpustat 2>&1 | sed 's/^/# unload: /'
elif [ $was_loaded = 1 ] && [ ! -d /sys/module/vcpustat ]; then
	load_module 2>&1 | sed 's/^/# reload: /'
fi
echo "# vcpustat: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ] || exit 1
[ $passed -eq 0 ] && [ $skipped -gt 0 ] && exit $KSFT_SKIP
exit 0
