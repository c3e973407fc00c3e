// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshot arithmetic shared by the periodic views. Everything is
 * computed from cumulative kernel counters: the module keeps no
 * per-reader state, so two readers never disturb each other.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "view.h"

const struct vs_vcpu *vcpu_prev(const struct vs_vcpu *cur,
				const struct vs_snapshot *prev)
{
	const struct vs_vcpu *p;

	if (!prev)
		return NULL;
	p = vs_snapshot_find_vcpu(prev, cur->vm_id, cur->vcpu_id);
	if (!p || cur->exits < p->exits ||
	    cur->migrations < p->migrations)
		return NULL;
	return p;
}

void vcpu_delta(const struct vs_vcpu *cur, const struct vs_vcpu *prev,
		struct vdelta *d)
{
	static const struct vs_vcpu zero;

	if (!prev)
		prev = &zero;
	d->exits = vs_delta(cur->exits, prev->exits);
	d->migrations = vs_delta(cur->migrations, prev->migrations);
	d->exit_time_ns = vs_delta(cur->exit_time_ns, prev->exit_time_ns);
	d->timed_exits = vs_delta(cur->timed_exits, prev->timed_exits);
	for (int i = 0; i <= VCPUSTAT_DIST_MAX; i++)
		d->migr[i] = vs_delta(cur->migr[i], prev->migr[i]);
}

static const struct vs_reason *find_reason(const struct vs_vcpu *vc,
					   uint32_t isa, uint32_t code)
{
	if (!vc)
		return NULL;
	for (size_t i = 0; i < vc->nr_reasons; i++)
		if (vc->reasons[i].isa == isa && vc->reasons[i].code == code)
			return &vc->reasons[i];
	return NULL;
}

const struct vs_reason *vcpu_top_reason(const struct vs_vcpu *cur,
					const struct vs_vcpu *prev,
					uint64_t *count)
{
	const struct vs_reason *best = NULL, *best_all = NULL;
	uint64_t bd = 0, ba = 0;

	for (size_t i = 0; i < cur->nr_reasons; i++) {
		const struct vs_reason *r = &cur->reasons[i];
		const struct vs_reason *p = find_reason(prev, r->isa, r->code);
		uint64_t d = prev ? vs_delta(r->count, p ? p->count : 0) : 0;

		if (d > bd) {
			bd = d;
			best = r;
		}
		if (r->count > ba) {
			ba = r->count;
			best_all = r;
		}
	}
	if (best) {
		*count = bd;
		return best;
	}
	*count = ba;
	return best_all;
}

void rtab_free(struct rtab *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static struct rstat *rtab_get(struct rtab *t, uint32_t isa, uint32_t code)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].isa == isa && t->v[i].code == code)
			return &t->v[i];
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 32;
		struct rstat *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		t->v = v;
		t->cap = cap;
	}
	memset(&t->v[t->n], 0, sizeof(t->v[0]));
	t->v[t->n].isa = isa;
	t->v[t->n].code = code;
	return &t->v[t->n++];
}

int rtab_add_vcpu(struct rtab *t, const struct vs_vcpu *cur,
		  const struct vs_vcpu *prev)
{
	for (size_t i = 0; i < cur->nr_reasons; i++) {
		const struct vs_reason *r = &cur->reasons[i];
		const struct vs_reason *p = find_reason(prev, r->isa, r->code);
		struct rstat *s = rtab_get(t, r->isa, r->code);

		if (!s)
			return -ENOMEM;
		s->count += r->count;
		s->timed += r->timed;
		s->time_sum_ns += r->time_sum_ns;
		if (r->timed) {
			if (!s->time_min_ns || r->time_min_ns < s->time_min_ns)
				s->time_min_ns = r->time_min_ns;
			if (r->time_max_ns > s->time_max_ns)
				s->time_max_ns = r->time_max_ns;
		}
		if (!prev) {
			/* new in this interval: all of it is the delta */
			s->d_count += r->count;
			s->d_timed += r->timed;
			s->d_time_sum_ns += r->time_sum_ns;
		} else {
			s->d_count += vs_delta(r->count, p ? p->count : 0);
			s->d_timed += vs_delta(r->timed, p ? p->timed : 0);
			s->d_time_sum_ns += vs_delta(r->time_sum_ns,
						     p ? p->time_sum_ns : 0);
		}
	}
	return 0;
}

static const char *const rsort_names[] = {
	[RS_COUNT] = "count", [RS_RATE] = "rate", [RS_TIME] = "time",
	[RS_AVG] = "avg", [RS_MAX] = "max", [RS_NAME] = "name",
};

int rsort_parse(const char *s)
{
	int hit = -1;
	size_t len = strlen(s);

	if (!len)
		return -1;
	for (int i = 0; i <= RS_NAME; i++) {
		if (!strcmp(s, rsort_names[i]))
			return i;
		if (!strncmp(s, rsort_names[i], len)) {
			if (hit >= 0)
				return -1;	/* ambiguous */
			hit = i;
		}
	}
	return hit;
}

const char *rsort_name(int key)
{
	return key >= 0 && key <= RS_NAME ? rsort_names[key] : "?";
}

double rstat_avg_ns(const struct rstat *r)
{
	if (r->d_timed)
		return (double)r->d_time_sum_ns / (double)r->d_timed;
	if (r->timed)
		return (double)r->time_sum_ns / (double)r->timed;
	return 0;
}

static int sort_key;

static int cmp_u64_desc(uint64_t a, uint64_t b)
{
	return a < b ? 1 : a > b ? -1 : 0;
}

static int cmp_rstat(const void *pa, const void *pb)
{
	const struct rstat *a = pa, *b = pb;
	int c = 0;

	switch (sort_key) {
	case RS_COUNT:
		c = cmp_u64_desc(a->count, b->count);
		break;
	case RS_RATE:
		c = cmp_u64_desc(a->d_count, b->d_count);
		break;
	case RS_TIME:
		c = cmp_u64_desc(a->d_time_sum_ns, b->d_time_sum_ns);
		break;
	case RS_AVG: {
		double x = rstat_avg_ns(a), y = rstat_avg_ns(b);

		c = x < y ? 1 : x > y ? -1 : 0;
		break;
	}
	case RS_MAX:
		c = cmp_u64_desc(a->time_max_ns, b->time_max_ns);
		break;
	case RS_NAME: {
		char ba[24], bb[24];

		c = strcmp(vs_reason_name(a->isa, a->code, ba, sizeof(ba)),
			   vs_reason_name(b->isa, b->code, bb, sizeof(bb)));
		break;
	}
	}
	if (c)
		return c;
	/* ties: by ISA, then count, then code, so the order is stable */
	if (a->isa != b->isa)
		return a->isa < b->isa ? -1 : 1;
	if (sort_key != RS_NAME && a->count != b->count)
		return cmp_u64_desc(a->count, b->count);
	return a->code < b->code ? -1 : a->code > b->code;
}

void rtab_sort(struct rtab *t, int key)
{
	sort_key = key;	/* qsort has no context argument in C11 */
	if (t->n)
		qsort(t->v, t->n, sizeof(t->v[0]), cmp_rstat);
}

double snap_interval_s(const struct vs_snapshot *cur,
		       const struct vs_snapshot *prev)
{
	double s;

	if (!prev || cur->ts_ns <= prev->ts_ns)
		return 1e-3;
	s = (double)(cur->ts_ns - prev->ts_ns) / 1e9;
	return s < 1e-3 ? 1e-3 : s;
}
