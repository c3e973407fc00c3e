# SPDX-License-Identifier: GPL-2.0
# Sourced by the shell selftests: their one parser of each syntax they read.

# hist_lines FILE: a tracefs hist trigger keyed by (common_pid,
# exit_reason) on kvm:kvm_exit, as "tid reason count" per key, and
# "DROPPED" if the hist lost events (its counts are then not exact).
hist_lines() {
	awk '/^\{/ {
		gsub(/[{},:]/, " ");
		pid = ""; r = ""; c = "";
		for (i = 1; i < NF; i++) {
			if ($i == "common_pid") pid = $(i + 1);
			else if ($i == "exit_reason") r = $(i + 1);
			else if ($i == "hitcount") c = $(i + 1);
		}
		if (pid != "" && r != "" && c != "") print pid, r, c;
	}
	/Dropped: [1-9]/ { print "DROPPED"; }' "$1"
}

# awk functions reading one field of a flat JSON object held in a string
# (kvm_workload's report, `vcpustat dump -j`): num() a non-negative
# integer, str() a string without escapes; "" when absent. Use as
#   awk "$JSON_AWK"' { ... num(s, "exits") ... }'
JSON_AWK='
function num(s, key,   m) {
	if (!match(s, "\"" key "\":[0-9]+")) return "";
	m = substr(s, RSTART, RLENGTH); sub(/.*:/, "", m); return m;
}
function str(s, key,   m) {
	if (!match(s, "\"" key "\":\"[^\"]*\"")) return "";
	m = substr(s, RSTART, RLENGTH); sub(/^[^:]*:"/, "", m);
	sub(/"$/, "", m); return m;
}
'
