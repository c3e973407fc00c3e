/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What top's view keys change, kvm_stat style: a regex over exit reason
 * names (-f REGEX, key f) and a view reset (key r) that zeroes the COUNT
 * column from now on without touching the kernel's counters (that is
 * `vcpustat reset`).
 */
#ifndef VS_TOP_VIEW_H
#define VS_TOP_VIEW_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "view.h"

struct top_view {
	bool has_re;
	regex_t re;
	char re_src[128];
	bool has_base;
	struct rtab base;	/* cumulative per reason at the reset */
};

/*
 * Show only reasons whose name matches @re (POSIX extended, case
 * sensitive as the names are); "" shows all. 0, or -1 with the regcomp
 * message in @err (the old filter stays).
 */
int top_view_filter(struct top_view *v, const char *re, char *err,
		    size_t errlen);
/* From now on COUNT (and the totals) count from @rt's values. */
int top_view_reset(struct top_view *v, const struct rtab *rt);
/* Apply both to a freshly built @rt: drop unmatched rows, subtract the
 * reset's counts (a counter below it was reset by the kernel: as is). */
void top_view_apply(const struct top_view *v, struct rtab *rt);
/* The reset's total of count over all reasons (0 without a reset). */
unsigned long long top_view_base_exits(const struct top_view *v);
void top_view_free(struct top_view *v);

#endif /* VS_TOP_VIEW_H */
