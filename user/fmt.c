// SPDX-License-Identifier: GPL-2.0
/*
 * Number formatting for fixed-width columns: three significant digits and
 * a unit, so a column never grows with the counter.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fmt.h"
#include "json.h"

/* v scaled by @base until it prints in at most 3 digits (+ 2 decimals). */
static char *scaled(char *buf, size_t len, double v, double base,
		    const char *const *units, int nunits)
{
	int u = 0;

	while (u < nunits - 1 && v >= base)
		v /= base, u++;
	/* 999.7 would print as "1000": that is the next unit's "1.00" */
	if (u < nunits - 1 && v >= 999.5)
		v /= base, u++;
	if (u == 0 && v == (double)(uint64_t)v)
		snprintf(buf, len, "%.0f%s", v, units[0]);
	else if (v < 9.995)
		snprintf(buf, len, "%.2f%s", v, units[u]);
	else if (v < 99.95)
		snprintf(buf, len, "%.1f%s", v, units[u]);
	else
		snprintf(buf, len, "%.0f%s", v, units[u]);
	return buf;
}

static const char *const si[] = { "", "k", "M", "G", "T", "P", "E" };

char *fmt_count(char *buf, size_t len, uint64_t v)
{
	if (v < 1000) {
		snprintf(buf, len, "%" PRIu64, v);
		return buf;
	}
	return scaled(buf, len, (double)v, 1000, si, 7);
}

char *fmt_rate(char *buf, size_t len, double v)
{
	if (!(v >= 0.005)) {		/* also NaN */
		snprintf(buf, len, v > 0 ? "<0.01" : "0");
		return buf;
	}
	return scaled(buf, len, v, 1000, si, 7);
}

char *fmt_ns_d(char *buf, size_t len, double ns)
{
	static const char *const tu[] = { "ns", "us", "ms", "s" };

	if (!(ns > 0)) {
		snprintf(buf, len, "0");
		return buf;
	}
	if (ns >= 999.5e9) {		/* long halts: whole seconds */
		snprintf(buf, len, "%.0fs", ns / 1e9);
		return buf;
	}
	return scaled(buf, len, ns, 1000, tu, 4);
}

char *fmt_ns(char *buf, size_t len, uint64_t ns)
{
	return fmt_ns_d(buf, len, (double)ns);
}

char *fmt_pct(char *buf, size_t len, uint64_t part, uint64_t whole)
{
	if (!whole)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.1f", 100.0 * (double)part / (double)whole);
	return buf;
}

char *fmt_bytes(char *buf, size_t len, uint64_t bytes)
{
	static const char *const bu[] = { "", "K", "M", "G", "T", "P", "E" };
	double v = (double)bytes;
	int u = 0;

	while (u < 6 && v >= 1024)
		v /= 1024, u++;
	if (u == 0)
		snprintf(buf, len, "%" PRIu64, bytes);
	else if (v == (double)(uint64_t)v)
		snprintf(buf, len, "%.0f%s", v, bu[u]);
	else
		snprintf(buf, len, "%.1f%s", v, bu[u]);
	return buf;
}

char *fmt_group(char *buf, size_t len, uint64_t v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
	size_t o = 0;

	for (int i = 0; i < n && o + 1 < len; i++) {
		if (i && (n - i) % 3 == 0 && o + 2 < len)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	if (len)
		buf[o < len ? o : len - 1] = '\0';
	return buf;
}

char *fmt_age(char *buf, size_t len, uint64_t ns)
{
	uint64_t s = ns / 1000000000ull;

	if (s < 60)
		snprintf(buf, len, "%" PRIu64 "s", s);
	else if (s < 3600)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600,
			 s / 60 % 60);
	else
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", s / 86400,
			 s / 3600 % 24);
	return buf;
}

char *fmt_safe(char *buf, size_t len, const char *s)
{
	size_t i;

	if (!len)
		return buf;
	for (i = 0; s[i] && i + 1 < len; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

char *fmt_name(char *buf, size_t len, const char *s, int width)
{
	size_t o = 0;
	int cols = 0, max = width < 0 ? -width : width;

	if (!len)
		return buf;
	if (!*s)
		s = "-";
	while (*s && (!max || cols < max)) {
		size_t n = (unsigned char)*s >= 0x80 ?
			   utf8_len((const unsigned char *)s) : 1;

		/* C1 controls (U+0080..U+009F, CSI among them) are as
		 * dangerous to a terminal as their 7-bit forms */
		bool c1 = n == 2 && (unsigned char)s[0] == 0xc2 &&
			  (unsigned char)s[1] < 0xa0;

		if (c1 || (n <= 1 && ((unsigned char)*s < 0x20 ||
				      (unsigned char)*s >= 0x7f))) {
			if (o + 1 >= len)
				break;
			buf[o++] = '?';
			s++;
		} else {
			if (o + n >= len)
				break;
			memcpy(buf + o, s, n);
			o += n;
			s += n;
		}
		cols++;
	}
	while (width > 0 && cols < width && o + 1 < len) {
		buf[o++] = ' ';
		cols++;
	}
	buf[o] = '\0';
	return buf;
}
