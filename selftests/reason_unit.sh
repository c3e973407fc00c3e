#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# reason_unit.sh: run the in-kernel unit test module (kmod/test/, built by
# scripts/build-modules as build/<kver>/vcpustat_test.ko) and check its KTAP.
# The module runs every case in its init, prints KTAP to the kernel log
# with the prefix "vcpustat_test: " and loads only if all passed. This
# script prints that KTAP block and adds a final result for what the block
# cannot say for itself: that it was complete (a plan, then exactly that
# many results, then the module's summary line) and that insmod's verdict
# agrees with it.
#
# Usage: reason_unit.sh   (as root, in the rig; VCPUSTAT_TEST_KO= the module,
#        default build/$(uname -r)/vcpustat_test.ko next to VCPUSTAT_KO)
# Exit: 0 all passed, 1 a case failed, 4 skipped.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
ko=${VCPUSTAT_TEST_KO:-$(dirname "${VCPUSTAT_KO:-$top/build/$(uname -r)/x}")/vcpustat_test.ko}

skip_all() {
	echo "KTAP version 1"
	echo "1..0 # SKIP $*"
	exit 4
}

[ "$(id -u)" -eq 0 ] || skip_all "must be root"
[ -e "$ko" ] || skip_all "no unit test module $ko (scripts/build-modules)"
rmmod vcpustat_test 2>/dev/null
# A marker in the log: only what follows it belongs to this run.
mark="vcpustat_test: run $$-$RANDOM"
echo "$mark" >/dev/kmsg
insmod "$ko" 2>/dev/null
ins=$?
rmmod vcpustat_test 2>/dev/null
# The module's KTAP lines only (not the kernel's own "vcpustat_test: ..."
# lines, such as the out-of-tree taint notice).
block=$(dmesg | sed -n "/$mark/,\$p" |
	sed -n 's/^.*vcpustat_test: \(.*\)$/\1/p' |
	grep -E '^(KTAP version 1|1\.\.[0-9]+.*|(not )?ok [0-9]+ .*|# .*)$')
echo "$block"

plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' <<<"$block")
results=$(grep -cE '^(not )?ok [0-9]+ ' <<<"$block")
failed=$(grep -cE '^not ok [0-9]+ ' <<<"$block")
summary=$(grep -c '^# [0-9]* of [0-9]* failed$' <<<"$block")
n=$((results + 1))
if [ -z "$plan" ] || [ "$plan" -eq 0 ]; then
	echo "not ok $n unit test module ran no case (insmod exit $ins)"
	exit 1
fi
if [ "$results" -ne "$plan" ] || [ "$summary" -ne 1 ]; then
	echo "# $results results for a plan of $plan, summary lines $summary"
	echo "not ok $n unit test module reported a complete run"
	exit 1
fi
if { [ "$failed" -eq 0 ] && [ $ins -ne 0 ]; } ||
   { [ "$failed" -ne 0 ] && [ $ins -eq 0 ]; }; then
	echo "# $failed failed cases, but insmod exited $ins"
	echo "not ok $n insmod agrees with the results"
	exit 1
fi
[ "$failed" -eq 0 ] || exit 1
exit 0
