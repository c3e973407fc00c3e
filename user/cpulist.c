// SPDX-License-Identifier: GPL-2.0
/*
 * CPU list parsing and printing, for sysfs files (cpulist, isolated,
 * nohz_full, thread_siblings_list) and the host report.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpulist.h"

void cpuset_zero(struct cpuset *s)
{
	memset(s, 0, sizeof(*s));
}

void cpuset_set(struct cpuset *s, unsigned int cpu)
{
	if (cpu < CPUSET_MAX)
		s->bits[cpu / 64] |= 1ull << (cpu % 64);
}

bool cpuset_isset(const struct cpuset *s, unsigned int cpu)
{
	return cpu < CPUSET_MAX && (s->bits[cpu / 64] >> (cpu % 64)) & 1;
}

unsigned int cpuset_count(const struct cpuset *s)
{
	unsigned int n = 0;

	for (size_t i = 0; i < CPUSET_MAX / 64; i++)
		n += (unsigned int)__builtin_popcountll(s->bits[i]);
	return n;
}

int cpuset_next(const struct cpuset *s, unsigned int from)
{
	for (unsigned int c = from; c < CPUSET_MAX; c++) {
		uint64_t w = s->bits[c / 64] >> (c % 64);

		if (!w) {
			c |= 63;	/* skip the rest of this word */
			continue;
		}
		return (int)(c + (unsigned int)__builtin_ctzll(w));
	}
	return -1;
}

bool cpuset_intersects(const struct cpuset *a, const struct cpuset *b)
{
	for (size_t i = 0; i < CPUSET_MAX / 64; i++)
		if (a->bits[i] & b->bits[i])
			return true;
	return false;
}

static int num(const char **p, unsigned long *v)
{
	char *end;

	if (!isdigit((unsigned char)**p))
		return -1;
	errno = 0;
	*v = strtoul(*p, &end, 10);
	if (errno || *v >= CPUSET_MAX)
		return -1;
	*p = end;
	return 0;
}

int cpuset_parse(struct cpuset *s, const char *str)
{
	const char *p = str;

	cpuset_zero(s);
	while (isspace((unsigned char)*p))
		p++;
	while (*p) {
		unsigned long a, b;

		if (num(&p, &a))
			return -1;
		b = a;
		if (*p == '-') {
			p++;
			if (num(&p, &b) || b < a)
				return -1;
		}
		/* "0-15:2" strides are a boot-parameter form; sysfs never
		 * prints them, so they are an error here. */
		for (unsigned long c = a; c <= b; c++)
			cpuset_set(s, (unsigned int)c);
		while (isspace((unsigned char)*p))
			p++;
		if (*p == ',')
			p++;
		else if (*p)
			return -1;
		while (isspace((unsigned char)*p))
			p++;
	}
	return 0;
}

char *cpuset_format(const struct cpuset *s, char *buf, size_t len)
{
	size_t off = 0;
	int c = cpuset_next(s, 0);

	if (len)
		buf[0] = '\0';
	while (c >= 0 && off < len) {
		int e = c;

		while (e + 1 < CPUSET_MAX && cpuset_isset(s, (unsigned int)e + 1))
			e++;
		if (e == c)
			off += (size_t)snprintf(buf + off, len - off, "%s%d",
						off ? "," : "", c);
		else
			off += (size_t)snprintf(buf + off, len - off,
						"%s%d-%d", off ? "," : "", c, e);
		c = cpuset_next(s, (unsigned int)e + 1);
	}
	return buf;
}
