// SPDX-License-Identifier: GPL-2.0
/*
 * Numbers typed by a person: decimal, or hexadecimal with 0x where a code
 * is naturally hex (SVM exit codes); never octal. Every command and
 * reasons.c read numbers through here so they all agree.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "parse.h"

int vs_parse_u64(const char *s, uint64_t *v)
{
	unsigned long long x;
	int base = 10;
	char *end;

	/* decimal, or 0x hex; never octal: "010" is ten, as a person means */
	if (s && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		base = 16;
		if (!isxdigit((unsigned char)*s))
			return -1;
	} else if (!s || *s < '0' || *s > '9') {
		return -1;
	}
	errno = 0;
	x = strtoull(s, &end, base);
	if (errno || *end)
		return -1;
	*v = x;
	return 0;
}

int vs_parse_u32(const char *s, uint32_t *v)
{
	uint64_t x;

	if (vs_parse_u64(s, &x) || x > UINT32_MAX)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

int vs_parse_decimal(const char *s, double *v)
{
	size_t digits = 0, dots = 0;
	char *end;
	double x;

	/* strtod would also take "0x1p3", "1e3", "inf", "-0" */
	for (const char *p = s; p && *p; p++) {
		if (*p >= '0' && *p <= '9')
			digits++;
		else if (*p == '.')
			dots++;
		else
			return -1;
	}
	if (!digits || dots > 1)
		return -1;
	errno = 0;
	x = strtod(s, &end);
	if (errno || *end || !isfinite(x))
		return -1;
	*v = x;
	return 0;
}

int vs_parse_seconds(const char *s, double *sec)
{
	double x;

	/* plain decimal only (vs_parse_decimal), then a sane interval */
	if (vs_parse_decimal(s, &x) || x <= 0 || x > 86400)
		return -1;
	*sec = x;
	return 0;
}

int vs_parse_interval(int argc, char **argv, int optind_, double *interval,
		      uint64_t *count)
{
	if (optind_ < argc) {
		if (vs_parse_seconds(argv[optind_], interval))
			return -1;
		optind_++;
	}
	if (optind_ < argc) {
		if (vs_parse_u64(argv[optind_], count))
			return -1;
		optind_++;
	}
	return optind_ < argc ? -1 : 0;
}
