#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs every in-kernel selftest inside one booted kernel (the rig, or a real
# KVM host as root). Each program prints its own KTAP block; after each one
# a line "# vcpustat-prog NAME exit=RC" lets scripts/check tell a crash
# (non-zero exit with no failed result) from a clean run.
#
# Env: VCPUSTAT_KO (module to insmod; default build/$(uname -r)/vcpustat.ko),
#      VCPUSTAT_GUEST_TESTS (space-separated subset of the list below),
#      VCPUSTAT_STRESS=1 (stress_test.sh's long mode).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
export VCPUSTAT_KO=${VCPUSTAT_KO:-$top/build/$(uname -r)/vcpustat.ko}
export PATH=$top/user:$PATH

# Order matters: the module test loads and unloads the module itself; the
# others expect it loaded (the unit test loads only its own test module).
TESTS=${VCPUSTAT_GUEST_TESTS:-"
	reason_unit.sh
	workload_vs_tracefs.sh
	detail_test.py
	detail_keys_test.sh
	vcpustat_module_test.py
	tool_test.sh
	ynl_test.sh
	autopin_test.sh
	export_test.sh
	guest_name_test.sh
	budget_test.sh
	stress_test.sh
"}
# Each program's bound; the long stress campaigns (VCPUSTAT_STRESS=1, make
# stress) take up to 90 minutes.
limit=900
[ "${VCPUSTAT_STRESS:-0}" != 0 ] && limit=7200

for t in $TESTS; do
	[ -e "$here/$t" ] || continue
	case $t in
	vcpustat_module_test.py|reason_unit.sh) ;;
	*)	lsmod | grep -q '^vcpustat ' || insmod "$VCPUSTAT_KO" ;;
	esac
	echo "# vcpustat-prog $t start"
	timeout -k 30 "$limit" "$here/$t"
	echo "# vcpustat-prog $t exit=$?"
done
rmmod vcpustat 2>/dev/null
exit 0
