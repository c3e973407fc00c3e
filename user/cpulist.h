/* SPDX-License-Identifier: GPL-2.0 */
/* CPU sets in the kernel's list format ("0-3,8,10-11"). */
#ifndef VS_CPULIST_H
#define VS_CPULIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CPUSET_MAX 8192		/* CPUs; matches NR_CPUS of big configs */

struct cpuset {
	uint64_t bits[CPUSET_MAX / 64];
};

void cpuset_zero(struct cpuset *s);
void cpuset_set(struct cpuset *s, unsigned int cpu);
bool cpuset_isset(const struct cpuset *s, unsigned int cpu);
unsigned int cpuset_count(const struct cpuset *s);
/* Lowest CPU set at or after @from, or -1. */
int cpuset_next(const struct cpuset *s, unsigned int from);
bool cpuset_intersects(const struct cpuset *a, const struct cpuset *b);
/*
 * The one CPU list parser, for sysfs files and for lists a person types:
 * comma-separated groups of "N", "A-B" or "A-B:U/G" (U CPUs of every G, as
 * the kernel's bitmap_parselist() and taskset -c accept), decimal only.
 * Surrounding whitespace and a trailing newline are allowed; an empty
 * string is the empty set. On error returns -EINVAL (malformed) or
 * -ERANGE (a CPU >= CPUSET_MAX) and, if @err is not NULL, writes a
 * message quoting the bad group and number as typed. *out is only
 * written on success.
 */
int cpulist_parse(const char *s, struct cpuset *out, char *err,
		  size_t errlen);
/* Format as a list; returns @buf ("" when empty). */
char *cpuset_format(const struct cpuset *s, char *buf, size_t len);

#endif /* VS_CPULIST_H */
