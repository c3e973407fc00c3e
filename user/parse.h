/* SPDX-License-Identifier: GPL-2.0 */
/* Numbers on the command line (parse.c). */
#ifndef VS_PARSE_H
#define VS_PARSE_H

#include <stdint.h>

/*
 * Numbers: strict, whole string, no sign; decimal ("010" is ten) or
 * 0x-prefixed hex. 0 ok, -1 bad.
 */
int vs_parse_u64(const char *s, uint64_t *v);
int vs_parse_u32(const char *s, uint32_t *v);
/* A plain decimal number, may be fractional, >= 0 ("010" is ten; no
 * sign, exponent, hex or inf). 0 ok, -1 bad. */
int vs_parse_decimal(const char *s, double *v);
/* Seconds, may be fractional ("0.5"), > 0 and <= 1 day. */
int vs_parse_seconds(const char *s, double *sec);
/*
 * sysstat-style trailing "[interval [count]]" at argv[optind..]. Leaves
 * *interval and *count unchanged when absent; count 0 means forever.
 * Returns 0 or -1 (bad or extra arguments).
 */
int vs_parse_interval(int argc, char **argv, int optind_, double *interval,
		      uint64_t *count);

#endif /* VS_PARSE_H */
