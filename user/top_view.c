// SPDX-License-Identifier: GPL-2.0
/*
 * top's reason filter and view reset; see top_view.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "top_view.h"
#include "vsnl.h"

int top_view_filter(struct top_view *v, const char *re, char *err,
		    size_t errlen)
{
	regex_t nre;
	int r;

	if (!*re) {
		if (v->has_re)
			regfree(&v->re);
		v->has_re = false;
		v->re_src[0] = '\0';
		return 0;
	}
	if (strlen(re) >= sizeof(v->re_src)) {
		snprintf(err, errlen, "regex too long");
		return -1;
	}
	r = regcomp(&nre, re, REG_EXTENDED | REG_NOSUB);
	if (r) {
		char msg[128];

		regerror(r, &nre, msg, sizeof(msg));
		snprintf(err, errlen, "bad regex '%s': %s", re, msg);
		return -1;
	}
	if (v->has_re)
		regfree(&v->re);
	v->re = nre;
	v->has_re = true;
	snprintf(v->re_src, sizeof(v->re_src), "%s", re);
	return 0;
}

int top_view_reset(struct top_view *v, const struct rtab *rt)
{
	struct rstat *copy = NULL;

	if (rt->n) {
		copy = malloc(rt->n * sizeof(*copy));
		if (!copy)
			return -1;
		memcpy(copy, rt->v, rt->n * sizeof(*copy));
	}
	rtab_free(&v->base);
	v->base.v = copy;
	v->base.n = v->base.cap = rt->n;
	v->has_base = true;
	return 0;
}

static const struct rstat *base_of(const struct top_view *v, uint32_t isa,
				   uint32_t code)
{
	for (size_t i = 0; v->has_base && i < v->base.n; i++)
		if (v->base.v[i].isa == isa && v->base.v[i].code == code)
			return &v->base.v[i];
	return NULL;
}

void top_view_apply(const struct top_view *v, struct rtab *rt)
{
	size_t out = 0;

	for (size_t i = 0; i < rt->n; i++) {
		struct rstat r = rt->v[i];
		const struct rstat *b = base_of(v, r.isa, r.code);
		char nb[40];

		if (v->has_re &&
		    regexec(&v->re, vs_reason_name(r.isa, r.code, nb, sizeof(nb)),
			    0, NULL, 0))
			continue;
		if (b) {
			r.count = vs_delta(r.count, b->count);
			r.timed = vs_delta(r.timed, b->timed);
			r.time_sum_ns = vs_delta(r.time_sum_ns, b->time_sum_ns);
		}
		rt->v[out++] = r;
	}
	rt->n = out;
}

unsigned long long top_view_base_exits(const struct top_view *v)
{
	unsigned long long n = 0;

	for (size_t i = 0; v->has_base && i < v->base.n; i++)
		n += v->base.v[i].count;
	return n;
}

void top_view_free(struct top_view *v)
{
	if (v->has_re)
		regfree(&v->re);
	v->has_re = false;
	rtab_free(&v->base);
	v->has_base = false;
}
