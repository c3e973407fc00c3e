#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# run_kselftest.sh for a standalone vcpustat kselftest install
# (make -C selftests install INSTALL_PATH=DIR puts it at DIR/run_kselftest.sh,
# next to DIR/kselftest-list.txt and DIR/vcpustat/). Same command line and
# the same KTAP as the kernel's tools/testing/selftests/run_kselftest.sh, so
# CI that runs kernel kselftest installs runs this one the same way; unlike
# it, the exit status says what happened: 0 all passed (some may have
# skipped), 1 a test failed or timed out, 4 every test skipped.
#
# The vcpustat tests need root, /dev/kvm and the vcpustat module: set
# VCPUSTAT_KO=/path/to/vcpustat.ko for a module built outside this tree.
BASE_DIR=$(cd "$(dirname "$0")" && pwd -P)
LIST=$BASE_DIR/kselftest-list.txt

usage() {
	cat <<EOF
Usage: $0 [OPTIONS]
  -s | --summary                Print a summary; full log in $BASE_DIR/output.log
  -t | --test COLLECTION:TEST   Run TEST from COLLECTION
  -c | --collection COLLECTION  Run all tests from COLLECTION
  -l | --list                   List the available collection:test entries
  -d | --dry-run                Don't actually run any tests
  -o | --override-timeout SECS  Timeout per test (default: the collection's
                                settings file, else 45)
  -h | --help                   Show this usage info
EOF
	exit "$1"
}

[ -r "$LIST" ] || { echo "$0: no $LIST" >&2; exit 1; }
available=$(cat "$LIST")
selected="" dry="" override="" logfile=""
while [ $# -gt 0 ]; do
	case $1 in
	-s | --summary) logfile=$BASE_DIR/output.log; : >"$logfile"; shift ;;
	-t | --test) selected="$selected $2"; shift 2 ;;
	-c | --collection)
		found=$(echo "$available" | grep "^$2:")
		[ -n "$found" ] || { echo "No such collection '$2'" >&2; exit 1; }
		selected="$selected $found"
		shift 2 ;;
	-l | --list) echo "$available"; exit 0 ;;
	-d | --dry-run) dry=1; shift ;;
	-o | --override-timeout) override=$2; shift 2 ;;
	-h | --help) usage 0 ;;
	*) usage 1 ;;
	esac
done
if [ -n "$selected" ]; then
	for t in $selected; do
		echo "$available" | grep -qx "$t" || { echo "No such test '$t'" >&2; exit 1; }
	done
	available=$(echo "$selected" | tr ' ' '\n' | grep .)
fi

total=$(echo "$available" | grep -c .)
echo "TAP version 13"
echo "1..$total"
n=0 pass=0 fail=0 skip=0
for entry in $available; do
	n=$((n + 1))
	coll=${entry%%:*} test=${entry#*:}
	dir=$BASE_DIR/$coll
	timeout=45
	if [ -r "$dir/settings" ]; then
		v=$(sed -n 's/^timeout=//p' "$dir/settings" | tail -n 1)
		[ -n "$v" ] && timeout=$v
	fi
	[ -n "$override" ] && timeout=$override
	echo "# timeout set to $timeout"
	echo "# selftests: $coll: $test"
	if [ -n "$dry" ]; then
		echo "ok $n selftests: $coll: $test # SKIP dry run"
		skip=$((skip + 1))
		continue
	fi
	rcf=$(mktemp "${TMPDIR:-/tmp}/run_kselftest.XXXXXX")
	if [ -n "$logfile" ]; then
		(cd "$dir" && timeout -k 10 "$timeout" "./$test" 2>&1; echo $? >"$rcf") |
			sed 's/^/# /' >>"$logfile"
	else
		(cd "$dir" && timeout -k 10 "$timeout" "./$test" 2>&1; echo $? >"$rcf") |
			sed 's/^/# /'
	fi
	rc=$(cat "$rcf")
	rm -f "$rcf"
	case $rc in
	0) echo "ok $n selftests: $coll: $test"; pass=$((pass + 1)) ;;
	4) echo "ok $n selftests: $coll: $test # SKIP"; skip=$((skip + 1)) ;;
	124 | 137) echo "not ok $n selftests: $coll: $test # TIMEOUT $timeout seconds"; fail=$((fail + 1)) ;;
	*) echo "not ok $n selftests: $coll: $test # exit=$rc"; fail=$((fail + 1)) ;;
	esac
done
echo "# Totals: pass:$pass fail:$fail skip:$skip"
[ $fail -eq 0 ] || exit 1
[ $pass -eq 0 ] && [ $skip -gt 0 ] && exit 4
exit 0
