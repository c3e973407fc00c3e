#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# guest_name_test.sh: guest identity (issue 17) with real QEMU L2 guests.
# libvirt names a VM with QEMU's "-name guest=NAME,..." and "-uuid"; the
# tool reads both from the VMM's command line and shows and selects by
# them. Two QEMU guests (-accel kvm, no disk: SeaBIOS runs, finds nothing
# to boot and waits, which is plenty of exits) are started as:
#   A: -name guest=web01,debug-threads=on -uuid $UUID   (libvirt's form)
#   B: -name 'db "prod",, ü'                          (legacy form, ",,")
# KTAP output. Cases:
#  - dump -j: each VM's name and uuid exactly (B: 'db "prod", ü', uuid null)
#  - list -g web01: only A's vCPU rows, NAME column web01; -g with B's
#    name (quotes, comma, space, UTF-8) selects B only
#  - stat -j -g web01: name and uuid on every row; top -b -g web01 names it
#  - export --once: vcpustat_vm_info of both with name, domain (the
#    libvirt-exporter join label) and uuid, escaped; name on no other series
#  - -g nosuch: exit 1 "no VM matches"; pin -g web01 shows A by name
#  - watch -g web01: A's vm-gone (its process killed) still carries the name
#
# Usage: guest_name_test.sh (root; the vcpustat module loaded; /dev/kvm;
#        qemu-system-x86_64 and SeaBIOS; user/vcpustat built)
# Exit: 0 all passed, 1 a case failed, 4 skipped.

set -u

DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
TOP=$(dirname "$DIR")
VS=${VCPUSTAT:-$TOP/user/vcpustat}
QEMU=${QEMU:-qemu-system-x86_64}
KSFT_SKIP=4
NTESTS=6
UUID=5f0c7c1e-4a62-4b55-9d1e-0123456789ab
B_ARG='db "prod",, ü'
B_NAME='db "prod", ü'

skip_all() {
	echo "KTAP version 1"
	echo "1..0 # SKIP $*"
	exit $KSFT_SKIP
}

[ "$(id -u)" -eq 0 ] || skip_all "must be root"
[ -c /dev/kvm ] || skip_all "no /dev/kvm"
[ -d /sys/module/vcpustat ] || skip_all "vcpustat module not loaded"
[ -x "$VS" ] || skip_all "$VS missing: run 'make -C user'"
command -v "$QEMU" >/dev/null || skip_all "$QEMU not installed (qemu-system-x86)"
command -v python3 >/dev/null || skip_all "python3 needed"

TMP=$(mktemp -d /tmp/guest_name_test.XXXXXX) || exit 1
BG=()
cleanup() {
	local p
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

result() { # NAME STATUS [why]
	local name=$1 st=$2
	shift 2
	n=$((n + 1))
	if [ "$st" -eq 0 ]; then
		echo "ok $n $name"
	else
		echo "not ok $n $name"
		[ $# -gt 0 ] && echo "# $*"
		failed=$((failed + 1))
	fi
}

qemu() { # LOG -name ARG [more]
	local log=$1
	shift
	"$QEMU" -accel kvm -m 64 -smp 1 -nodefaults -no-user-config \
		-display none -monitor none -serial none "$@" >"$log" 2>&1 &
	echo "$!"
}

A_PID=$(qemu "$TMP/a.log" -name guest=web01,debug-threads=on -uuid "$UUID")
B_PID=$(qemu "$TMP/b.log" -name "$B_ARG")
BG+=("$A_PID" "$B_PID")

# both tracked: the module sees a VM at its first exit
up=0
for _ in $(seq 900); do
	if "$VS" dump -j -p "$A_PID" >/dev/null 2>&1 &&
	   "$VS" dump -j -p "$B_PID" >/dev/null 2>&1; then
		up=1
		break
	fi
	kill -0 "$A_PID" 2>/dev/null && kill -0 "$B_PID" 2>/dev/null || break
	sleep 0.1
done
if [ "$up" -ne 1 ]; then
	echo "# QEMU guests not tracked; logs: $(head -c 400 "$TMP/a.log") $(head -c 400 "$TMP/b.log")"
	for t in dump list stat export select watch; do
		result "$t" 1 "no guests"
	done
	exit 1
fi
export A_PID B_PID UUID B_NAME TMP

py() { # python checks on files in $TMP; exit 1 with the first failure
	python3 - "$@"
}

# ---- dump -j
"$VS" dump -j >"$TMP/d.json" 2>"$TMP/d.err"
py <<'PY'
import json, os
d = json.load(open(os.environ["TMP"] + "/d.json"))
vm = {v["pid"]: v for v in d["vms"]}
a, b = vm[int(os.environ["A_PID"])], vm[int(os.environ["B_PID"])]
assert a["name"] == "web01" and a["uuid"] == os.environ["UUID"], a
assert b["name"] == os.environ["B_NAME"] and b["uuid"] is None, (b["name"], b["uuid"])
assert a["comm"].startswith("qemu-system-x86"), a["comm"]
PY
result dump_j_name_uuid $? "$(cat "$TMP/d.err")"

# ---- list: -g by name, the NAME column
rc=0
"$VS" list --sample 0 -g web01 >"$TMP/l.txt" 2>&1 || rc=1
"$VS" list -j --sample 0 -g "$B_NAME" >"$TMP/lb.json" 2>&1 || rc=1
[ $rc -eq 0 ] && py <<'PY'
import json, os
t = open(os.environ["TMP"] + "/l.txt").read().splitlines()
assert t[0].split()[:4] == ["VM", "PID", "COMM", "NAME"], t[0]
rows = [l.split() for l in t[1:]]
assert rows and all(int(f[1]) == int(os.environ["A_PID"]) and f[3] == "web01" for f in rows), rows
lb = json.load(open(os.environ["TMP"] + "/lb.json"))["vcpus"]
assert lb and all(x["pid"] == int(os.environ["B_PID"]) and x["name"] == os.environ["B_NAME"] for x in lb), lb
PY
rc=$((rc | $?))
result list_select_by_name $rc "$(head -c 400 "$TMP/l.txt")"

# ---- stat and top
rc=0
"$VS" stat -j -g web01 0.3 1 >"$TMP/s.json" 2>&1 || rc=1
"$VS" top -b -n 1 -d 0.2 -g web01 >"$TMP/t.txt" 2>&1 || rc=1
[ $rc -eq 0 ] && py <<'PY'
import json, os
rows = [json.loads(l) for l in open(os.environ["TMP"] + "/s.json")]
assert len(rows) == 1, rows
r = rows[0]
assert r["pid"] == int(os.environ["A_PID"]) and r["name"] == "web01" and r["uuid"] == os.environ["UUID"], r
t = open(os.environ["TMP"] + "/t.txt").read()
assert " VM " in t.splitlines()[0] and "web01 (pid " + os.environ["A_PID"] in t.splitlines()[0], t.splitlines()[0]
PY
rc=$((rc | $?))
result stat_top_by_name $rc "$(head -c 400 "$TMP/s.json")"

# ---- export: identity only on vcpustat_vm_info, escaped
"$VS" export --once >"$TMP/e.prom" 2>"$TMP/e.err"
rc=$?
[ $rc -eq 0 ] && py <<'PY'
import os
t = open(os.environ["TMP"] + "/e.prom").read()
u = os.environ["UUID"]
a = 'name="web01",domain="web01",uuid="%s"} 1' % u
b = 'name="db \\"prod\\", ü",domain="db \\"prod\\", ü",uuid=""} 1'
info = [l for l in t.splitlines() if l.startswith("vcpustat_vm_info{")]
assert any(l.endswith(a) and 'pid="%s"' % os.environ["A_PID"] in l for l in info), info
assert any(l.endswith(b) and 'pid="%s"' % os.environ["B_PID"] in l for l in info), info
other = [l for l in t.splitlines() if "web01" in l and not l.startswith("vcpustat_vm_info{")]
assert not other, other[:3]
PY
rc=$((rc | $?))
result export_vm_info_name_uuid $rc "$(head -c 300 "$TMP/e.err")"

# ---- selection errors and pin
rc=0
"$VS" list -g nosuch >/dev/null 2>"$TMP/n.err"
[ $? -eq 1 ] && grep -q "no VM matches -g 'nosuch'" "$TMP/n.err" || { echo "# -g nosuch: $(cat "$TMP/n.err")"; rc=1; }
"$VS" pin -g web01 >"$TMP/p.txt" 2>&1 || rc=1
grep -q "^VM [0-9]* pid $A_PID (qemu-system-x86.*) name web01: 1 vCPUs" "$TMP/p.txt" || { echo "# pin -g web01: $(head -c 300 "$TMP/p.txt")"; rc=1; }
result select_errors_and_pin $rc

# ---- watch: vm-gone after the process is gone still names the VM
"$VS" watch -j -e vm -g web01 -c 1 -t 60 >"$TMP/w.json" 2>"$TMP/w.err" &
wpid=$!
BG+=("$wpid")
# watch reads the VMs (and remembers their names), then joins the group;
# there is no line to wait for with -e vm, so give it time (TCG is slow)
sleep 4
kill -KILL "$A_PID"
wait "$wpid"
rc=$?
[ $rc -eq 0 ] && py <<'PY'
import json, os
ev = [json.loads(l) for l in open(os.environ["TMP"] + "/w.json")]
assert len(ev) == 1 and ev[0]["type"] == "vm-gone", ev
v = ev[0]["vm"]
assert v["pid"] == int(os.environ["A_PID"]) and v["name"] == "web01" and v["uuid"] == os.environ["UUID"], v
assert "time" in ev[0] and "mono_ns" in ev[0], ev[0]
PY
rc=$((rc | $?))
result watch_gone_keeps_name $rc "$(cat "$TMP/w.err")"

[ "$failed" -eq 0 ] && exit 0
exit 1
