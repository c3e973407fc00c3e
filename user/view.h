/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Views over snapshots shared by list/top/stat: which vCPUs are selected,
 * what changed between two snapshots, per-reason totals.
 */
#ifndef VS_VIEW_H
#define VS_VIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "vsnl.h"

/* Cumulative counters plus deltas against a previous snapshot. */
struct rstat {
	uint32_t isa, code;
	uint64_t count, timed, time_sum_ns, time_min_ns, time_max_ns;
	uint64_t d_count, d_timed, d_time_sum_ns;
};

struct rtab {
	struct rstat *v;
	size_t n, cap;
};

struct vdelta {
	uint64_t exits, migrations, exit_time_ns, timed_exits;
	uint64_t migr[VCPUSTAT_DIST_MAX + 1];
};

/*
 * The previous state of @cur in @prev, or NULL when it is new or its
 * counters went backwards (a RESET): then deltas are the whole counters.
 */
const struct vs_vcpu *vcpu_prev(const struct vs_vcpu *cur,
				const struct vs_snapshot *prev);
void vcpu_delta(const struct vs_vcpu *cur, const struct vs_vcpu *prev,
		struct vdelta *d);
/* Reason with the most exits in the interval (or overall, if none). */
const struct vs_reason *vcpu_top_reason(const struct vs_vcpu *cur,
					const struct vs_vcpu *prev,
					uint64_t *count);

void rtab_free(struct rtab *t);
/* Merge @cur's reasons (deltas against @prev, may be NULL) into @t. */
int rtab_add_vcpu(struct rtab *t, const struct vs_vcpu *cur,
		  const struct vs_vcpu *prev);

enum rsort { RS_COUNT, RS_RATE, RS_TIME, RS_AVG, RS_MAX, RS_NAME };
/* "count", "rate", ... (unique prefixes accepted); -1 if unknown. */
int rsort_parse(const char *s);
const char *rsort_name(int key);
void rtab_sort(struct rtab *t, int key);

/* Interval average of a reason's time (falls back to cumulative). */
double rstat_avg_ns(const struct rstat *r);

/* Seconds between two snapshots, >= 1e-3 to keep rates finite. */
double snap_interval_s(const struct vs_snapshot *cur,
		       const struct vs_snapshot *prev);

#endif /* VS_VIEW_H */
