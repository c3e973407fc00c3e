# SPDX-License-Identifier: GPL-2.0
# Sourced by the shell selftests: the one parser of a tracefs hist trigger
# keyed by (common_pid, exit_reason) on kvm:kvm_exit.

# hist_lines FILE: "tid reason count" per key, and "DROPPED" if the hist
# lost events (its counts are then not exact).
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
