// SPDX-License-Identifier: GPL-2.0
/*
 * Prometheus text exposition (format 0.0.4) of vcpustat snapshots; see
 * prom.h. Pure: no I/O but the FILE it is given.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "json.h"
#include "prom.h"

/* ---- label values and numbers ------------------------------------------ */

void prom_label_value(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	while (*s) {
		size_t n;

		switch (*s) {
		case '"':  fputs("\\\"", f); s++; continue;
		case '\\': fputs("\\\\", f); s++; continue;
		case '\n': fputs("\\n", f); s++; continue;
		}
		n = utf8_len(s);
		if (!n) {
			fputs("\xef\xbf\xbd", f);	/* U+FFFD */
			s++;
			continue;
		}
		fwrite(s, 1, n, f);
		s += n;
	}
	fputc('"', f);
}

char *prom_seconds(char *buf, size_t len, uint64_t ns)
{
	uint64_t frac = ns % UINT64_C(1000000000);
	int digits = 9;

	if (!frac) {
		snprintf(buf, len, "%" PRIu64, ns / UINT64_C(1000000000));
		return buf;
	}
	while (frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	snprintf(buf, len, "%" PRIu64 ".%0*" PRIu64, ns / UINT64_C(1000000000),
		 digits, frac);
	return buf;
}

int prom_parse_reasons(const char *s, struct prom_opts *o)
{
	uint64_t n;
	char *end;

	if (!strcmp(s, "all")) {
		o->top = false;
		o->top_n = 0;
		return 0;
	}
	if (strncmp(s, "top:", 4) || s[4] < '0' || s[4] > '9')
		return -1;
	errno = 0;
	n = strtoull(s + 4, &end, 10);
	if (errno || *end || n > 10000)
		return -1;
	o->top = true;
	o->top_n = (unsigned int)n;
	return 0;
}

int prom_parse_by(const char *s, struct prom_opts *o)
{
	if (!strcmp(s, "vcpu"))
		o->by = PROM_BY_VCPU;
	else if (!strcmp(s, "vm"))
		o->by = PROM_BY_VM;
	else
		return -1;
	return 0;
}

/* ---- exit reasons of one series group ----------------------------------- */

#define NAME_LEN 32		/* vs_reason_name() needs >= 16 */

struct rsum {
	uint32_t isa;
	char name[NAME_LEN];
	uint64_t count;
	/* the exit time histogram, of the (vCPU, reason)s that have one */
	bool has_hist;
	uint64_t timed, sum_ns, hist[VCPUSTAT_RHIST_BUCKETS];
};

struct rset {
	struct rsum *v;
	size_t n, cap;
};

static void rsum_merge(struct rsum *d, const struct rsum *x)
{
	d->count += x->count;
	if (!x->has_hist)
		return;
	d->has_hist = true;
	d->timed += x->timed;
	d->sum_ns += x->sum_ns;
	for (int b = 0; b < VCPUSTAT_RHIST_BUCKETS; b++)
		d->hist[b] += x->hist[b];
}

/* Add @x's counts to (x->isa, @name), merging equal names: two codes that
 * print alike must not become two series with one label set. */
static int rset_add(struct rset *t, const char *name, const struct rsum *x)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].isa == x->isa && !strcmp(t->v[i].name, name)) {
			rsum_merge(&t->v[i], x);
			return 0;
		}
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		struct rsum *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return -1;
		t->v = v;
		t->cap = cap;
	}
	memset(&t->v[t->n], 0, sizeof(t->v[t->n]));
	t->v[t->n].isa = x->isa;
	snprintf(t->v[t->n].name, NAME_LEN, "%s", name);
	rsum_merge(&t->v[t->n], x);
	t->n++;
	return 0;
}

static int rset_add_vcpu(struct rset *t, const struct vs_vcpu *vc)
{
	for (size_t i = 0; i < vc->nr_reasons; i++) {
		const struct vs_reason *r = &vc->reasons[i];
		char buf[NAME_LEN];
		const char *name = vs_reason_name(r->isa, r->code, buf,
						  sizeof(buf));
		/* a reason without a histogram (details off, or the vCPU's
		 * histograms all taken) adds nothing to it: its timed exits
		 * would land in +Inf alone */
		struct rsum x = { .isa = r->isa, .count = r->count,
				  .has_hist = r->has_hist, .timed = r->timed,
				  .sum_ns = r->time_sum_ns };

		if (r->has_hist)
			memcpy(x.hist, r->hist, sizeof(x.hist));
		if (rset_add(t, name, &x))
			return -1;
	}
	return 0;
}

static int cmp_count_desc(const void *a, const void *b)
{
	const struct rsum *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->isa != y->isa)
		return x->isa < y->isa ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int cmp_name(const void *a, const void *b)
{
	const struct rsum *x = a, *y = b;

	if (x->isa != y->isa)
		return x->isa < y->isa ? -1 : 1;
	return strcmp(x->name, y->name);
}

static bool is_other(const struct rsum *r)
{
	return !strcmp(r->name, "other");
}

/*
 * Keep @n reasons by name and fold the rest, and the kernel's own "other",
 * into reason="other" of their ISA. The counts' total is unchanged.
 * Without @keep: the @n with the most exits now (ties: ISA, then name).
 * With @keep, the group (@vm, @vcpu) keeps what it exported before (see
 * prom_keep.h): named stay named, folded stay folded, and a reason new in
 * this refresh is named while fewer than @n are, largest first.
 */
static int rset_top(struct rset *t, unsigned int n, struct prom_keep *keep,
		    uint64_t vm, uint32_t vcpu)
{
	struct rset out = { 0 };
	unsigned int kept = keep ? prom_keep_named(keep, vm, vcpu) : 0;
	int err = 0;

	qsort(t->v, t->n, sizeof(*t->v), cmp_count_desc);
	for (size_t i = 0; i < t->n && !err; i++) {
		const struct rsum *r = &t->v[i];
		enum prom_keep_state st = PROM_KEEP_NEW;
		bool named;

		if (keep)
			st = prom_keep_get(keep, vm, vcpu, r->isa, r->name);
		if (is_other(r))
			named = false;
		else if (st != PROM_KEEP_NEW)
			named = st == PROM_KEEP_NAMED;
		else if ((named = kept < n))
			kept++;
		if (keep && !is_other(r) && st == PROM_KEEP_NEW)
			err = prom_keep_set(keep, vm, vcpu, r->isa, r->name,
					    named ? PROM_KEEP_NAMED :
						    PROM_KEEP_FOLDED);
		if (!err)
			err = rset_add(&out, named ? r->name : "other", r);
	}
	free(t->v);
	*t = out;
	return err ? -1 : 0;
}

static void rset_free(struct rset *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* Reasons of one group (a vCPU, or every vCPU of @vm when @vc is NULL),
 * folded per @o and sorted by ISA and name. */
static int rset_build(struct rset *t, const struct vs_vm *vm,
		      const struct vs_vcpu *vc, const struct prom_opts *o)
{
	memset(t, 0, sizeof(*t));
	if (vc) {
		if (rset_add_vcpu(t, vc))
			return -1;
	} else {
		for (size_t j = 0; j < vm->nr_vcpus; j++)
			if (rset_add_vcpu(t, &vm->vcpus[j]))
				return -1;
	}
	if (o->top && rset_top(t, o->top_n, o->keep, vm->id,
				vc ? vc->vcpu_id : PROM_KEEP_VM))
		return -1;
	qsort(t->v, t->n, sizeof(*t->v), cmp_name);
	return 0;
}

/* ---- families ------------------------------------------------------------ */

static void family(FILE *f, const char *name, const char *type,
		   const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample_u64(FILE *f, const char *name, uint64_t v)
{
	fprintf(f, "%s %" PRIu64 "\n", name, v);
}

/* Every series names its VM by vm_id alone; what describes the VM (pid,
 * comm, name, uuid) is on the _info series, for a join (group_left) when
 * a query wants it, so a VM costs one label set per series. */
static void lbl_vm(FILE *f, const struct vs_vm *vm)
{
	fprintf(f, "vm_id=\"%" PRIu64 "\"", vm->id);
}

static void lbl_vm_comm(FILE *f, const struct vs_vm *vm)
{
	lbl_vm(f, vm);
	fprintf(f, ",pid=\"%" PRIu32 "\",comm=", vm->pid);
	prom_label_value(f, vm->comm);
}

/* The group's labels: VM, then vcpu in per-vCPU mode. */
static void lbl_group(FILE *f, const struct vs_vm *vm, bool comm,
		      const struct vs_vcpu *vc)
{
	if (comm)
		lbl_vm_comm(f, vm);
	else
		lbl_vm(f, vm);
	if (vc)
		fprintf(f, ",vcpu=\"%" PRIu32 "\"", vc->vcpu_id);
}

static void write_self(FILE *f, const struct prom_self *s)
{
	char b[PROM_SECONDS_BUF];

	family(f, "vcpustat_up", "gauge",
	       "1 if the exporter's last refresh read the vcpustat module, else 0.");
	sample_u64(f, "vcpustat_up", s->up);
	family(f, "vcpustat_exporter_refreshes_total", "counter",
	       "Refreshes of the exported data, failed ones included.");
	sample_u64(f, "vcpustat_exporter_refreshes_total", s->refreshes);
	family(f, "vcpustat_exporter_refresh_errors_total", "counter",
	       "Refreshes that could not read the vcpustat module.");
	sample_u64(f, "vcpustat_exporter_refresh_errors_total",
		   s->refresh_errors);
	family(f, "vcpustat_exporter_scrape_errors_total", "counter",
	       "Textfile writes that failed and HTTP responses that could not be sent.");
	sample_u64(f, "vcpustat_exporter_scrape_errors_total",
		   s->scrape_errors);
	family(f, "vcpustat_exporter_last_refresh_timestamp_seconds", "gauge",
	       "Unix time of the refresh that produced this data.");
	fprintf(f, "vcpustat_exporter_last_refresh_timestamp_seconds %s\n",
		prom_seconds(b, sizeof(b), s->timestamp_ns));
	family(f, "vcpustat_exporter_refresh_duration_seconds", "gauge",
	       "Time the last refresh spent reading the vcpustat module.");
	fprintf(f, "vcpustat_exporter_refresh_duration_seconds %s\n",
		prom_seconds(b, sizeof(b), s->refresh_ns));
}

static void write_module(FILE *f, const struct vs_status *st)
{
	static const struct {
		const char *name, *type, *help;
		size_t off;
		bool u32;
	} m[] = {
#define U32(n, t, h, fld) { n, t, h, offsetof(struct vs_status, fld), true }
#define U64(n, t, h, fld) { n, t, h, offsetof(struct vs_status, fld), false }
		U32("vcpustat_module_vms", "gauge",
		    "VMs the vcpustat module tracks now.", vms),
		U32("vcpustat_module_vcpus", "gauge",
		    "vCPUs the vcpustat module tracks now.", vcpus),
		U32("vcpustat_module_max_vcpus", "gauge",
		    "The module's max_vcpus parameter (vCPUs tracked at most).",
		    max_vcpus),
		U64("vcpustat_module_vms_seen_total", "counter",
		    "VMs seen since the module was loaded.", vms_seen),
		U64("vcpustat_module_overflow_exits_total", "counter",
		    "Exits not tracked because the vCPU table was full.",
		    overflow),
		U64("vcpustat_module_nomem_exits_total", "counter",
		    "Exits not tracked because no vCPU record was ready.",
		    nomem_exits),
		U64("vcpustat_module_stale_vms_total", "counter",
		    "VMs found destroyed without the kvm_destroy_vm hook.",
		    stale_vms),
		U64("vcpustat_module_alloc_failures_total", "counter",
		    "Failed record allocations in the module.", alloc_fail),
		U64("vcpustat_module_events_sent_total", "counter",
		    "Notifications the module sent.", events_sent),
		U64("vcpustat_module_events_lost_total", "counter",
		    "Notifications the module could not build or send.",
		    events_lost),
		U64("vcpustat_module_migration_events_suppressed_total",
		    "counter",
		    "Migration notifications suppressed by the rate limit.",
		    migr_suppressed),
		U64("vcpustat_module_unknown_reason_exits_total", "counter",
		    "Exits whose reason could not be read (layout check failed).",
		    bad_layout),
#undef U32
#undef U64
	};

	family(f, "vcpustat_module_info", "gauge",
	       "The loaded vcpustat module; its version is a label.");
	fputs("vcpustat_module_info{version=", f);
	prom_label_value(f, st->version);
	fputs("} 1\n", f);
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		const char *p = (const char *)st + m[i].off;
		uint64_t v;

		if (m[i].u32) {
			uint32_t x;

			memcpy(&x, p, sizeof(x));
			v = x;
		} else {
			memcpy(&v, p, sizeof(v));
		}
		family(f, m[i].name, m[i].type, m[i].help);
		sample_u64(f, m[i].name, v);
	}
}

/* VMs of @cur, plus those of @prev that @cur no longer has, by id. */
static const struct vs_vm **vm_list(const struct vs_snapshot *cur,
				    const struct vs_snapshot *prev,
				    size_t *np)
{
	size_t nc = cur ? cur->nr_vms : 0, np_ = prev ? prev->nr_vms : 0;
	const struct vs_vm **v = malloc((nc + np_ + 1) * sizeof(*v));
	size_t i = 0, j = 0, n = 0;

	if (!v)
		return NULL;
	while (i < nc || j < np_) {
		if (j == np_ || (i < nc && cur->vms[i].id < prev->vms[j].id)) {
			v[n++] = &cur->vms[i++];
		} else if (i == nc || prev->vms[j].id < cur->vms[i].id) {
			v[n++] = &prev->vms[j++];	/* gone */
		} else {
			v[n++] = &cur->vms[i++];	/* same VM: current */
			j++;
		}
	}
	*np = n;
	return v;
}

static void write_vms(FILE *f, const struct vs_vm **vms, size_t n)
{
	family(f, "vcpustat_vm_info", "gauge",
	       "A VM the module tracks (or tracked until the last refresh); identity as labels.");
	for (size_t i = 0; i < n; i++) {
		fputs("vcpustat_vm_info{", f);
		lbl_vm_comm(f, vms[i]);
		fputs(",stats_id=", f);
		prom_label_value(f, vms[i]->stats_id);
		/* the VMM's -name and -uuid; "domain" is the label
		 * libvirt-exporter names a VM by, so a query can join on it */
		fputs(",name=", f);
		prom_label_value(f, vms[i]->name);
		fputs(",domain=", f);
		prom_label_value(f, vms[i]->name);
		fputs(",uuid=", f);
		prom_label_value(f, vms[i]->uuid);
		fputs("} 1\n", f);
	}
	family(f, "vcpustat_vm_vcpus", "gauge",
	       "vCPUs of the VM that the module tracks.");
	for (size_t i = 0; i < n; i++) {
		fputs("vcpustat_vm_vcpus{", f);
		lbl_vm(f, vms[i]);
		fprintf(f, "} %" PRIu32 "\n", vms[i]->tracked_vcpus);
	}
	family(f, "vcpustat_vm_untracked_exits_total", "counter",
	       "Exits of the VM's vCPUs beyond the module's vCPU cap.");
	for (size_t i = 0; i < n; i++) {
		fputs("vcpustat_vm_untracked_exits_total{", f);
		lbl_vm(f, vms[i]);
		fprintf(f, "} %" PRIu64 "\n", vms[i]->untracked_exits);
	}
}

static void write_vcpu_info(FILE *f, const struct vs_vm **vms, size_t n)
{
	family(f, "vcpustat_vcpu_info", "gauge",
	       "A tracked vCPU; tid is the host thread that last ran it (empty: unknown).");
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < vms[i]->nr_vcpus; j++) {
			const struct vs_vcpu *vc = &vms[i]->vcpus[j];

			fputs("vcpustat_vcpu_info{", f);
			lbl_group(f, vms[i], true, vc);
			if (vc->tid)
				fprintf(f, ",tid=\"%" PRIu32 "\"} 1\n",
					vc->tid);
			else
				fputs(",tid=\"\"} 1\n", f);
		}
	family(f, "vcpustat_vcpu_pcpu", "gauge",
	       "Host CPU of the vCPU's last exit (absent while unknown).");
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < vms[i]->nr_vcpus; j++) {
			const struct vs_vcpu *vc = &vms[i]->vcpus[j];

			if (vc->pcpu == VS_NO_CPU)
				continue;
			fputs("vcpustat_vcpu_pcpu{", f);
			lbl_group(f, vms[i], false, vc);
			fprintf(f, "} %" PRIu32 "\n", vc->pcpu);
		}
}

static int write_exits_group(FILE *f, const struct vs_vm *vm,
			     const struct vs_vcpu *vc,
			     const struct prom_opts *o)
{
	struct rset t;

	if (rset_build(&t, vm, vc, o)) {
		rset_free(&t);
		return -1;
	}
	for (size_t k = 0; k < t.n; k++) {
		fputs("vcpustat_vm_exits_total{", f);
		lbl_group(f, vm, false, vc);
		fprintf(f, ",isa=\"%s\",reason=", vs_isa_name(t.v[k].isa));
		prom_label_value(f, t.v[k].name);
		fprintf(f, "} %" PRIu64 "\n", t.v[k].count);
	}
	rset_free(&t);
	return 0;
}

static int write_hist_group(FILE *f, const struct vs_vm *vm,
			    const struct vs_vcpu *vc, const struct prom_opts *o)
{
	static const char name[] = "vcpustat_vm_exit_duration_seconds";
	uint64_t hist[VCPUSTAT_HIST_BUCKETS] = { 0 }, sum_ns = 0, cum = 0;
	const struct vs_vcpu *v0 = vc ? vc : vm->vcpus;
	size_t nv = vc ? 1 : vm->nr_vcpus;
	char b[PROM_SECONDS_BUF];

	for (size_t j = 0; j < nv; j++) {
		const struct vs_vcpu *v = &v0[j];

		for (int h = 0; h < VCPUSTAT_HIST_BUCKETS; h++)
			hist[h] += v->hist[h];
		sum_ns += v->exit_time_ns;
	}
	/* bucket h: [2^h, 2^(h+1)) ns, so after adding it everything below
	 * 2^(h+1) ns is counted: print that le when it is one of ours */
	for (int h = 0, k = 0; h < VCPUSTAT_HIST_BUCKETS - 1; h++) {
		int le = h + 1;

		cum += hist[h];
		if (k >= PROM_HIST_FINITE ||
		    le != PROM_HIST_LE_FIRST + k * PROM_HIST_LE_STEP)
			continue;
		k++;
		fprintf(f, "%s_bucket{", name);
		lbl_group(f, vm, false, vc);
		fprintf(f, ",le=\"%s\"} %" PRIu64 "\n",
			prom_seconds(b, sizeof(b), 1ull << le), cum);
	}
	cum += hist[VCPUSTAT_HIST_BUCKETS - 1];
	fprintf(f, "%s_bucket{", name);
	lbl_group(f, vm, false, vc);
	fprintf(f, ",le=\"+Inf\"} %" PRIu64 "\n", cum);
	fprintf(f, "%s_sum{", name);
	lbl_group(f, vm, false, vc);
	fprintf(f, "} %s\n", prom_seconds(b, sizeof(b), sum_ns));
	fprintf(f, "%s_count{", name);
	lbl_group(f, vm, false, vc);
	fprintf(f, "} %" PRIu64 "\n", cum);
	(void)o;
	return 0;
}

/* The labels of one reason of a group, as the exits family has them. */
static void lbl_reason(FILE *f, const struct vs_vm *vm,
		       const struct vs_vcpu *vc, const struct rsum *r)
{
	lbl_group(f, vm, false, vc);
	fprintf(f, ",isa=\"%s\",reason=", vs_isa_name(r->isa));
	prom_label_value(f, r->name);
}

/*
 * --reason-hist: per reason of the group (the reasons the exits family
 * names, "other" holding the folded ones), the module's exit time
 * histogram, summed over the vCPUs whose reason has one. _count is their
 * timed exits and _sum their time, as for the all-reasons histogram; the
 * buckets hold the exits timed since details were switched on, so timed
 * exits from before (a constant, which rate() drops) are in +Inf only. A
 * bucket is capped at _count: the module reads a reason's timed count
 * before its buckets, and a vCPU running meanwhile may have added one.
 */
static int write_rhist_group(FILE *f, const struct vs_vm *vm,
			     const struct vs_vcpu *vc,
			     const struct prom_opts *o)
{
	static const char name[] = "vcpustat_vm_exit_reason_duration_seconds";
	char b[PROM_SECONDS_BUF];
	struct rset t;

	if (rset_build(&t, vm, vc, o)) {
		rset_free(&t);
		return -1;
	}
	for (size_t i = 0; i < t.n; i++) {
		const struct rsum *r = &t.v[i];
		uint64_t cum = 0;

		if (!r->has_hist)
			continue;
		/* bucket h ends at 2^(SHIFT+h+1) ns: print that le when it
		 * is on the x4 grid (the last bucket is open: +Inf) */
		for (int h = 0; h < VCPUSTAT_RHIST_BUCKETS - 1; h++) {
			int le = VCPUSTAT_RHIST_SHIFT + h + 1;

			cum += r->hist[h];
			if (le < PROM_HIST_LE_FIRST ||
			    (le - PROM_HIST_LE_FIRST) % PROM_HIST_LE_STEP)
				continue;
			fprintf(f, "%s_bucket{", name);
			lbl_reason(f, vm, vc, r);
			fprintf(f, ",le=\"%s\"} %" PRIu64 "\n",
				prom_seconds(b, sizeof(b), 1ull << le),
				cum < r->timed ? cum : r->timed);
		}
		fprintf(f, "%s_bucket{", name);
		lbl_reason(f, vm, vc, r);
		fprintf(f, ",le=\"+Inf\"} %" PRIu64 "\n", r->timed);
		fprintf(f, "%s_sum{", name);
		lbl_reason(f, vm, vc, r);
		fprintf(f, "} %s\n", prom_seconds(b, sizeof(b), r->sum_ns));
		fprintf(f, "%s_count{", name);
		lbl_reason(f, vm, vc, r);
		fprintf(f, "} %" PRIu64 "\n", r->timed);
	}
	rset_free(&t);
	return 0;
}

static int write_migr_group(FILE *f, const struct vs_vm *vm,
			    const struct vs_vcpu *vc, const struct prom_opts *o)
{
	const struct vs_vcpu *v0 = vc ? vc : vm->vcpus;
	size_t nv = vc ? 1 : vm->nr_vcpus;

	for (uint32_t d = VCPUSTAT_DIST_SMT; d <= VCPUSTAT_DIST_MAX; d++) {
		uint64_t v = 0;

		for (size_t j = 0; j < nv; j++)
			v += v0[j].migr[d];
		fputs("vcpustat_vcpu_migrations_total{", f);
		lbl_group(f, vm, false, vc);
		fprintf(f, ",distance=\"%s\"} %" PRIu64 "\n",
			vs_distance_name(d), v);
	}
	(void)o;
	return 0;
}

/*
 * The time budget: seconds per state, summed over the group's vCPUs (per
 * vCPU the states sum to its wall time since the module first saw it).
 * Nothing for a group without one (the budget off, an older module).
 */
static int write_time_group(FILE *f, const struct vs_vm *vm,
			    const struct vs_vcpu *vc, const struct prom_opts *o)
{
	const struct vs_vcpu *v0 = vc ? vc : vm->vcpus;
	size_t nv = vc ? 1 : vm->nr_vcpus;
	struct vs_budget sum = { 0 };
	char b[PROM_SECONDS_BUF];

	for (size_t j = 0; j < nv; j++)
		vs_budget_add(&sum, &v0[j].budget);
	for (uint32_t s = VCPUSTAT_STATE_GUEST; sum.valid &&
	     s <= VCPUSTAT_STATE_MAX; s++) {
		fputs("vcpustat_vcpu_seconds_total{", f);
		lbl_group(f, vm, false, vc);
		fprintf(f, ",state=\"%s\"} %s\n", vs_state_name(s),
			prom_seconds(b, sizeof(b), sum.ns[s]));
	}
	(void)o;
	return 0;
}

typedef int (*group_fn)(FILE *f, const struct vs_vm *vm,
			const struct vs_vcpu *vc, const struct prom_opts *o);

/* @fn for every series group: each vCPU, or each VM with --by vm. */
static int for_groups(FILE *f, const struct vs_vm **vms, size_t n,
		      const struct prom_opts *o, group_fn fn)
{
	for (size_t i = 0; i < n; i++) {
		if (o->by == PROM_BY_VM) {
			if (fn(f, vms[i], NULL, o))
				return -1;
			continue;
		}
		for (size_t j = 0; j < vms[i]->nr_vcpus; j++)
			if (fn(f, vms[i], &vms[i]->vcpus[j], o))
				return -1;
	}
	return 0;
}

/* The groups of VMs no longer exported are forgotten. */
static int keep_prune(struct prom_keep *k, const struct vs_vm **vms, size_t n)
{
	uint64_t *ids = calloc(n ? n : 1, sizeof(*ids));

	if (!ids)
		return -1;
	for (size_t i = 0; i < n; i++)
		ids[i] = vms[i]->id;
	prom_keep_prune(k, ids, n);
	free(ids);
	return 0;
}

int prom_write(FILE *f, const struct vs_snapshot *cur,
	       const struct vs_snapshot *prev, const struct vs_status *st,
	       const struct prom_self *self, const struct prom_opts *o)
{
	static const struct prom_opts dflt = { 0 };
	const struct vs_vm **vms = NULL;
	size_t n = 0;
	int err = 0;

	if (!o)
		o = &dflt;
	if (self)
		write_self(f, self);
	if (st)
		write_module(f, st);
	if (cur) {
		vms = vm_list(cur, prev, &n);
		if (!vms)
			return -1;
		write_vms(f, vms, n);
		if (o->by == PROM_BY_VCPU)
			write_vcpu_info(f, vms, n);
		family(f, "vcpustat_vm_exits_total", "counter",
		       o->by == PROM_BY_VM ?
		       "VM exits by exit reason, summed over the VM's vCPUs." :
		       "VM exits of the vCPU by exit reason.");
		err = for_groups(f, vms, n, o, write_exits_group);
		family(f, "vcpustat_vm_exit_duration_seconds", "histogram",
		       "Exit handling time, kvm_exit to the next kvm_entry, of timed exits.");
		for_groups(f, vms, n, o, write_hist_group);
		if (o->reason_hist) {
			family(f, "vcpustat_vm_exit_reason_duration_seconds",
			       "histogram",
			       "Exit handling time of timed exits by exit reason; only while the module's details are on (vcpustat config detail=on).");
			if (for_groups(f, vms, n, o, write_rhist_group))
				err = -1;
		}
		family(f, "vcpustat_vcpu_migrations_total", "counter",
		       "Exits handled on another host CPU than the previous exit, by distance.");
		for_groups(f, vms, n, o, write_migr_group);
		family(f, "vcpustat_vcpu_seconds_total", "counter",
		       "Time of the vCPU threads by state: guest, exit, user, poll, halt, wait (for a pCPU), out; per vCPU the states sum to its wall time.");
		for_groups(f, vms, n, o, write_time_group);
		if (o->keep && keep_prune(o->keep, vms, n))
			err = -1;
		free(vms);
	}
	if (fflush(f) || ferror(f))
		err = -1;
	return err ? -1 : 0;
}

char *prom_render(const struct vs_snapshot *cur,
		  const struct vs_snapshot *prev, const struct vs_status *st,
		  const struct prom_self *self, const struct prom_opts *o,
		  size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	int err;

	if (!f)
		return NULL;
	err = prom_write(f, cur, prev, st, self, o);
	if (fclose(f))
		err = -1;
	if (err) {
		free(buf);
		return NULL;
	}
	if (len)
		*len = n;
	return buf;
}
