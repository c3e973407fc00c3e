#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# stress_test.sh: vcpustat's reliability campaigns, one after another, in
# one booted kernel (the rig, or a real KVM host) with the module loaded.
#
#   nl_fuzz.py        netlink fuzzing with a model of every answer
#   stress_storm.py   concurrency storm, rmmod/insmod in the middle of it
#   stress_churn.py   VM churn at scale, event loss only as sequence gaps
#   stress_limits.py  KVM's vCPU limits, the tracked-vCPU cap, a listener
#                     that never reads
#   stress_priv.py    privilege, user and network namespaces, fd handover
#
# Each prints its own KTAP block; after each one a line
# "# vcpustat-stress NAME exit=RC". Quick by default (each campaign about
# a minute or less in the rig); VCPUSTAT_STRESS=1 runs the long versions
# (>= 100 000 fuzz messages, ~10 000 VMs churned, a 4-minute storm with 3
# reloads, ...; about half an hour in the rig).
#
# Env: VCPUSTAT_KO (module to reload; default build/$(uname -r)/vcpustat.ko),
#      VCPUSTAT_STRESS=1, VCPUSTAT_STRESS_ONLY="nl_fuzz.py ..." (a subset),
#      VCPUSTAT_FUZZ_SEED (reproduce a fuzz run).
# Exit: 0 all passed, 1 a campaign failed or crashed, 4 all skipped.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
export VCPUSTAT_KO=${VCPUSTAT_KO:-$top/build/$(uname -r)/vcpustat.ko}
export PATH=$top/user:$PATH
export VCPUSTAT_STRESS=${VCPUSTAT_STRESS:-0}
WL=$here/kvm_workload

CAMPAIGNS=${VCPUSTAT_STRESS_ONLY:-"
	nl_fuzz.py
	stress_storm.py
	stress_churn.py
	stress_limits.py
	stress_priv.py
"}

skip_all() {
	echo "KTAP version 1"
	echo "1..0 # SKIP $*"
	exit 4
}

[ "$(id -u)" -eq 0 ] || skip_all "must be root"
[ -c /dev/kvm ] || skip_all "no /dev/kvm"
[ -x "$WL" ] || skip_all "$WL missing: run 'make -C selftests'"
command -v python3 >/dev/null || skip_all "python3 missing"

tmp=$(mktemp -d /tmp/vs-stress.XXXXXX)
keeper=
cleanup() {
	[ -n "$keeper" ] && kill -USR1 "$keeper" 2>/dev/null && wait "$keeper" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# A "keeper" VM alive for the whole run (see kvm_workload.md): KVM patches
# kernel text when the number of VMs goes 0 -> 1 and 1 -> 0, and in the
# QEMU/TCG rig that patching has oopsed the guest. Campaigns take the
# VMs present when they start (this one) as their baseline.
loaded=0
[ -d /sys/module/vcpustat ] && loaded=1
"$WL" --vcpus 1 --hold --ready-file "$tmp/keeper.ready" \
	--json "$tmp/keeper.json" 2>"$tmp/keeper.err" &
keeper=$!
for _ in $(seq 600); do
	[ -e "$tmp/keeper.ready" ] && break
	kill -0 "$keeper" 2>/dev/null || break
	sleep 0.1
done
[ -e "$tmp/keeper.ready" ] || {
	keeper=
	skip_all "keeper VM failed: $(cat "$tmp/keeper.err")"
}
if [ $loaded = 0 ]; then
	[ -e "$VCPUSTAT_KO" ] || skip_all "vcpustat not loaded and no $VCPUSTAT_KO"
	insmod "$VCPUSTAT_KO" || skip_all "insmod $VCPUSTAT_KO failed"
fi

mode=quick
[ "$VCPUSTAT_STRESS" != 0 ] && mode=long
echo "# vcpustat stress campaigns, $mode mode, kernel $(uname -r), $(nproc) CPUs"
rc_all=0 ran=0 skipped=0
start=$(date +%s)
for c in $CAMPAIGNS; do
	t0=$(date +%s)
	echo "# vcpustat-stress $c start"
	timeout -k 10 $([ $mode = long ] && echo 5400 || echo 900) \
		python3 "$here/$c"
	rc=$?
	echo "# vcpustat-stress $c exit=$rc ($(($(date +%s) - t0)) s)"
	case $rc in
	0) ran=$((ran + 1)) ;;
	4) skipped=$((skipped + 1)) ;;
	*) rc_all=1 ;;
	esac
	# A campaign that died must not leave the module out.
	[ -d /sys/module/vcpustat ] || insmod "$VCPUSTAT_KO" 2>/dev/null
done
echo "# stress campaigns: $ran passed, $skipped skipped, total $(($(date +%s) - start)) s"
[ $rc_all = 0 ] || exit 1
[ $ran = 0 ] && [ $skipped -gt 0 ] && exit 4
exit 0
