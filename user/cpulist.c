// SPDX-License-Identifier: GPL-2.0
/*
 * CPU list parsing and printing: the one parser for sysfs files
 * (cpulist, isolated, nohz_full, thread_siblings_list) and for lists a
 * person types (pin, autopin), and the host report's printer.
 */
#include <ctype.h>
#include <limits.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpulist.h"
#include "errmsg.h"

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

/*
 * Parse a decimal number at *p (never octal: "010" is ten); advance *p.
 * -1 if none. A number too big saturates at LONG_MAX, which is out of
 * range for every use; the error then quotes the digits as typed.
 */
static long parse_num(const char **p)
{
	const char *s = *p;
	long v = 0;

	if (!isdigit((unsigned char)*s))
		return -1;
	while (isdigit((unsigned char)*s)) {
		if (v < LONG_MAX / 10)
			v = v * 10 + (*s - '0');
		else
			v = LONG_MAX;
		s++;
	}
	*p = s;
	return v;
}

int cpulist_parse(const char *s, struct cpuset *out, char *err,
		  size_t errlen)
{
	struct cpuset set;
	const char *p = s, *end;

	cpuset_zero(&set);
	while (isspace((unsigned char)*p))
		p++;
	end = p + strlen(p);
	while (end > p && isspace((unsigned char)end[-1]))
		end--;

	while (p < end) {
		const char *grp = p, *q;
		long a, b, used = 1, size = 1;
		const char *bs;		/* where the last CPU number was typed */
		int glen;

		q = memchr(p, ',', (size_t)(end - p));
		if (!q)
			q = end;
		glen = (int)(q - grp);

		bs = p;
		a = parse_num(&p);
		if (a < 0)
			goto bad;
		b = a;
		if (p < q && *p == '-') {
			p++;
			bs = p;
			b = parse_num(&p);
			if (b < 0)
				goto bad;
			if (p < q && *p == ':') {
				p++;
				used = parse_num(&p);
				if (used < 0 || p >= q || *p != '/')
					goto bad;
				p++;
				size = parse_num(&p);
				if (size < 0)
					goto bad;
				if (used == 0 || size == 0 || used > size) {
					vs_seterr(err, errlen,
					          "bad group \"%.*s\": need 0 < used <= group size",
					          glen, grp);
					return -EINVAL;
				}
			}
		}
		if (p != q)
			goto bad;
		if (b < a) {
			vs_seterr(err, errlen,
			          "bad range \"%.*s\": end before start", glen, grp);
			return -EINVAL;
		}
		if (a >= CPUSET_MAX || b >= CPUSET_MAX) {
			size_t dl = strspn(a >= CPUSET_MAX ? grp : bs,
					   "0123456789");

			vs_seterr(err, errlen,
			          "CPU %.*s in \"%.*s\" is out of range (max %d)",
			          (int)dl, a >= CPUSET_MAX ? grp : bs, glen, grp,
			          CPUSET_MAX - 1);
			return -ERANGE;
		}
		for (long c = a; c <= b; c++)
			if ((c - a) % size < used)
				cpuset_set(&set, (unsigned int)c);
		if (q == end)
			break;
		p = q + 1;
		if (p == end) {
			vs_seterr(err, errlen, "trailing comma in \"%s\"", s);
			return -EINVAL;
		}
		continue;
bad:
		vs_seterr(err, errlen,
		          "bad CPU list group \"%.*s\" (want N, A-B or A-B:used/size)",
		          glen, grp);
		return -EINVAL;
	}
	*out = set;
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
