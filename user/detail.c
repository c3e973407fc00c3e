// SPDX-License-Identifier: GPL-2.0
/*
 * Second-level exit keys and per-reason histograms (detail.h). The key
 * encodings are the uapi header's (enum vcpustat_key_kind).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "detail.h"
#include "view.h"

static const char *const kind_names[] = {
	[VCPUSTAT_KEY_KIND_IO] = "io",
	[VCPUSTAT_KEY_KIND_MSR] = "msr",
	[VCPUSTAT_KEY_KIND_CPUID] = "cpuid",
	[VCPUSTAT_KEY_KIND_HYPERCALL] = "hypercall",
	[VCPUSTAT_KEY_KIND_EXCEPTION] = "exception",
	[VCPUSTAT_KEY_KIND_INTR] = "intr",
	[VCPUSTAT_KEY_KIND_GPA] = "gpa",
};

const char *vs_key_kind_name(uint32_t kind)
{
	if (kind < sizeof(kind_names) / sizeof(kind_names[0]) &&
	    kind_names[kind])
		return kind_names[kind];
	return "?";
}

uint32_t vs_key_kind_from_name(const char *name)
{
	static const struct {
		const char *alias;
		uint32_t kind;
	} aliases[] = {
		{ "port", VCPUSTAT_KEY_KIND_IO },
		{ "pio", VCPUSTAT_KEY_KIND_IO },
		{ "ioio", VCPUSTAT_KEY_KIND_IO },
		{ "mmio", VCPUSTAT_KEY_KIND_GPA },
		{ "npf", VCPUSTAT_KEY_KIND_GPA },
		{ "ept", VCPUSTAT_KEY_KIND_GPA },
		{ "vmcall", VCPUSTAT_KEY_KIND_HYPERCALL },
		{ "vmmcall", VCPUSTAT_KEY_KIND_HYPERCALL },
		{ "hc", VCPUSTAT_KEY_KIND_HYPERCALL },
		{ "exc", VCPUSTAT_KEY_KIND_EXCEPTION },
		{ "interrupt", VCPUSTAT_KEY_KIND_INTR },
	};

	for (uint32_t k = 1; k <= VCPUSTAT_KEY_KIND_MAX; k++)
		if (!strcasecmp(name, kind_names[k]))
			return k;
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (!strcasecmp(name, aliases[i].alias))
			return aliases[i].kind;
	return 0;
}

/*
 * Conventional PC ports: what a port means on a PC-compatible machine
 * (and in QEMU's default i440fx/q35 machines). First match wins.
 */
static const struct {
	uint16_t lo, hi;
	const char *name;
} port_names[] = {
	{ 0x020, 0x021, "PIC1" },		/* 8259 master */
	{ 0x040, 0x043, "PIT" },		/* 8254 timer */
	{ 0x060, 0x060, "KBD-DATA" },		/* 8042 */
	{ 0x061, 0x061, "PIT-GATE" },		/* NMI status / speaker */
	{ 0x064, 0x064, "KBD-CMD" },
	{ 0x070, 0x071, "RTC" },		/* MC146818 CMOS */
	{ 0x080, 0x080, "POST" },		/* port 0x80 delay */
	{ 0x092, 0x092, "SYSCTRL-A" },		/* PS/2 system control: fast A20 */
	{ 0x0a0, 0x0a1, "PIC2" },		/* 8259 slave */
	{ 0x0b2, 0x0b3, "APM-SMI" },
	{ 0x1f0, 0x1f7, "IDE0" },
	{ 0x2e8, 0x2ef, "COM4" },
	{ 0x2f8, 0x2ff, "COM2" },
	{ 0x3c0, 0x3df, "VGA" },
	{ 0x3e8, 0x3ef, "COM3" },
	{ 0x3f8, 0x3ff, "COM1" },
	{ 0x402, 0x402, "DEBUGCON" },		/* QEMU isa-debugcon (SeaBIOS log) */
	{ 0x4d0, 0x4d1, "ELCR" },		/* PIC edge/level */
	{ 0x510, 0x511, "FW_CFG" },		/* QEMU firmware config */
	{ 0x600, 0x67f, "ACPI-PM" },		/* QEMU q35 (ICH9) PM base */
	{ 0xb000, 0xb03f, "ACPI-PM" },		/* QEMU i440fx (PIIX4) PM base */
	{ 0xcf8, 0xcfb, "PCI-CONF-ADDR" },
	{ 0xcfc, 0xcff, "PCI-CONF-DATA" },
};

const char *vs_port_name(uint32_t port)
{
	for (size_t i = 0; i < sizeof(port_names) / sizeof(port_names[0]); i++)
		if (port >= port_names[i].lo && port <= port_names[i].hi)
			return port_names[i].name;
	return NULL;
}

/* gen/msr_names.inc: scripts/gen-msr-names from the kernel's msr-index.h */
static const struct {
	uint32_t index;
	const char *name;
} msr_names[] = {
#include "msr_names.inc"
	{ 0, NULL }
};

const char *vs_msr_name(uint32_t index)
{
	for (size_t i = 0; msr_names[i].name; i++)
		if (msr_names[i].index == index)
			return msr_names[i].name;
	return NULL;
}

/* The architectural exception mnemonics (SDM vol. 3, table 6-1). */
static const char *const vector_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
	"#DF", NULL, "#TS", "#NP", "#SS", "#GP", "#PF", NULL,
	"#MF", "#AC", "#MC", "#XM", "#VE", "#CP", NULL, NULL,
	NULL, NULL, NULL, NULL, "#HV", "#VC", "#SX", NULL,
};

const char *vs_vector_name(uint32_t vector)
{
	return vector < 32 ? vector_names[vector] : NULL;
}

/* The fields of an encoded key (uapi enum vcpustat_key_kind). */
struct key_fields {
	uint32_t port, size;
	bool in, string, write;
	uint32_t index, leaf, subleaf, vector;
	uint64_t value;
};

static struct key_fields key_decode(uint32_t kind, uint64_t key)
{
	struct key_fields f = { 0 };

	switch (kind) {
	case VCPUSTAT_KEY_KIND_IO:
		f.port = key & 0xffff;
		f.size = (key >> 16) & 0xff;
		f.in = (key >> 24) & 1;
		f.string = (key >> 25) & 1;
		break;
	case VCPUSTAT_KEY_KIND_MSR:
		f.index = (uint32_t)key;
		f.write = (key >> 32) & 1;
		break;
	case VCPUSTAT_KEY_KIND_CPUID:
		f.leaf = (uint32_t)key;
		f.subleaf = (uint32_t)(key >> 32);
		break;
	case VCPUSTAT_KEY_KIND_EXCEPTION:
	case VCPUSTAT_KEY_KIND_INTR:
		f.vector = key & 0xff;
		break;
	default:
		f.value = key;
	}
	return f;
}

void vs_key_fmt(uint32_t kind, uint64_t key, char *buf, size_t len)
{
	struct key_fields f = key_decode(kind, key);
	const char *n;

	switch (kind) {
	case VCPUSTAT_KEY_KIND_IO:
		n = vs_port_name(f.port);
		snprintf(buf, len, "%s%s 0x%x/%u%s%s", f.in ? "in" : "out",
			 f.string ? "s" : "", f.port, f.size, n ? " " : "",
			 n ? n : "");
		break;
	case VCPUSTAT_KEY_KIND_MSR:
		n = vs_msr_name(f.index);
		snprintf(buf, len, "%s 0x%x%s%s", f.write ? "write" : "read",
			 f.index, n ? " " : "", n ? n : "");
		break;
	case VCPUSTAT_KEY_KIND_CPUID:
		snprintf(buf, len, "leaf 0x%x.%u", f.leaf, f.subleaf);
		break;
	case VCPUSTAT_KEY_KIND_HYPERCALL:
		snprintf(buf, len, "nr %" PRIu64, f.value);
		break;
	case VCPUSTAT_KEY_KIND_EXCEPTION:
	case VCPUSTAT_KEY_KIND_INTR:
		n = kind == VCPUSTAT_KEY_KIND_EXCEPTION ?
		    vs_vector_name(f.vector) : NULL;
		snprintf(buf, len, "vector %u%s%s", f.vector, n ? " " : "",
			 n ? n : "");
		break;
	case VCPUSTAT_KEY_KIND_GPA:
		snprintf(buf, len, "gpa 0x%" PRIx64, f.value);
		break;
	default:
		snprintf(buf, len, "0x%" PRIx64, key);
	}
}

void jw_key_fields(struct jw *w, uint32_t kind, uint64_t key)
{
	struct key_fields f = key_decode(kind, key);
	const char *n;

	switch (kind) {
	case VCPUSTAT_KEY_KIND_IO:
		jw_ku64(w, "port", f.port);
		jw_kstr(w, "dir", f.in ? "in" : "out");
		jw_ku64(w, "size", f.size);
		if (f.string)
			jw_kbool(w, "string", true);
		n = vs_port_name(f.port);
		if (n)
			jw_kstr(w, "device", n);
		break;
	case VCPUSTAT_KEY_KIND_MSR:
		jw_ku64(w, "msr", f.index);
		jw_kstr(w, "dir", f.write ? "write" : "read");
		n = vs_msr_name(f.index);
		if (n)
			jw_kstr(w, "name", n);
		break;
	case VCPUSTAT_KEY_KIND_CPUID:
		jw_ku64(w, "leaf", f.leaf);
		jw_ku64(w, "subleaf", f.subleaf);
		break;
	case VCPUSTAT_KEY_KIND_HYPERCALL:
		jw_ku64(w, "nr", f.value);
		break;
	case VCPUSTAT_KEY_KIND_EXCEPTION:
	case VCPUSTAT_KEY_KIND_INTR:
		jw_ku64(w, "vector", f.vector);
		n = kind == VCPUSTAT_KEY_KIND_EXCEPTION ?
		    vs_vector_name(f.vector) : NULL;
		if (n)
			jw_kstr(w, "name", n);
		break;
	case VCPUSTAT_KEY_KIND_GPA:
		jw_ku64(w, "gpa", f.value);
		break;
	default:
		jw_ku64(w, "key", key);
	}
}

void jw_key_region(struct jw *w, const struct vs_key *k)
{
	if (k->region == VCPUSTAT_REGION_RAM) {
		jw_kstr(w, "region", "ram");
		jw_ku64(w, "slot", k->slot);
		jw_ku64(w, "slot_flags", k->slot_flags);
	} else if (k->region == VCPUSTAT_REGION_MMIO) {
		jw_kstr(w, "region", "mmio");
	} else {
		return;
	}
	if (k->has_base) {
		jw_ku64(w, "region_base", k->region_base);
		jw_ku64(w, "region_size", k->region_size);
	}
}

/* Bytes as "32K", "1M", or hex when not a whole KiB. */
static void size_fmt(uint64_t n, char *buf, size_t len)
{
	if (n && !(n & ((1ULL << 30) - 1)))
		snprintf(buf, len, "%" PRIu64 "G", n >> 30);
	else if (n && !(n & ((1ULL << 20) - 1)))
		snprintf(buf, len, "%" PRIu64 "M", n >> 20);
	else if (n && !(n & 1023))
		snprintf(buf, len, "%" PRIu64 "K", n >> 10);
	else
		snprintf(buf, len, "0x%" PRIx64, n);
}

void vs_key_region_fmt(const struct vs_key *k, char *buf, size_t len)
{
	char sz[32] = "";

	if (k->has_base)
		size_fmt(k->region_size, sz, sizeof(sz));
	if (k->region == VCPUSTAT_REGION_RAM) {
		/* address space 0 is the common case: its slot id alone */
		if (k->slot >> 16)
			snprintf(buf, len, "ram slot %u/%u 0x%" PRIx64 "+%s",
				 k->slot >> 16, k->slot & 0xffff,
				 k->region_base, sz);
		else
			snprintf(buf, len, "ram slot %u 0x%" PRIx64 "+%s",
				 k->slot, k->region_base, sz);
	} else if (k->region == VCPUSTAT_REGION_MMIO && k->has_base) {
		snprintf(buf, len, "mmio kvm-bus 0x%" PRIx64 "+%s",
			 k->region_base, sz);
	} else if (k->region == VCPUSTAT_REGION_MMIO) {
		snprintf(buf, len, "mmio");
	} else if (len) {
		buf[0] = '\0';
	}
}

void vs_key_fmt_full(uint32_t kind, const struct vs_key *k, char *buf,
		     size_t len)
{
	char rg[64];
	size_t used;

	vs_key_fmt(kind, k->key, buf, len);
	vs_key_region_fmt(k, rg, sizeof(rg));
	used = strlen(buf);
	if (rg[0] && used + 1 < len)
		snprintf(buf + used, len - used, " %s", rg);
}

/* Bucket b's bounds in ns (uapi VCPUSTAT_RHIST_*); hi 0: open-ended. */
static void rhist_bounds(int b, uint64_t *lo, uint64_t *hi)
{
	*lo = b ? (uint64_t)1 << (VCPUSTAT_RHIST_SHIFT + b) : 0;
	*hi = b < VCPUSTAT_RHIST_BUCKETS - 1 ?
	      (uint64_t)1 << (VCPUSTAT_RHIST_SHIFT + b + 1) : 0;
}

bool vs_rhist_quantile(const struct vs_reason *r, double q, uint64_t *ns)
{
	uint64_t total = 0, cum = 0, lo, hi;
	double rank, v;

	if (!r->has_hist)
		return false;
	for (int b = 0; b < VCPUSTAT_RHIST_BUCKETS; b++)
		total += r->hist[b];
	if (!total)
		return false;
	rank = q * (double)total;
	for (int b = 0; b < VCPUSTAT_RHIST_BUCKETS; b++) {
		if (!r->hist[b] || (double)(cum + r->hist[b]) < rank) {
			cum += r->hist[b];
			continue;
		}
		rhist_bounds(b, &lo, &hi);
		/* the open last bucket ends at the reason's max */
		if (!hi)
			hi = r->time_max_ns > lo ? r->time_max_ns : lo;
		v = (double)lo + (double)(hi - lo) *
		    ((rank - (double)cum) / (double)r->hist[b]);
		*ns = (uint64_t)v;
		if (r->timed && *ns < r->time_min_ns)
			*ns = r->time_min_ns;
		if (r->timed && *ns > r->time_max_ns)
			*ns = r->time_max_ns;
		return true;
	}
	return false;
}

void jw_reason_detail(struct jw *w, const struct vs_reason *r)
{
	static const struct {
		const char *key;
		double q;
	} qs[] = { { "p50_ns", 0.5 }, { "p90_ns", 0.9 }, { "p99_ns", 0.99 } };
	uint64_t ns;

	if (r->key_kind) {
		jw_kstr(w, "key_kind", vs_key_kind_name(r->key_kind));
		jw_key(w, "keys");
		jw_arr_open(w);
		for (uint32_t i = 0; i < r->nr_keys; i++) {
			jw_obj_open(w);
			jw_key_fields(w, r->key_kind, r->keys[i].key);
			jw_key_region(w, &r->keys[i]);
			jw_ku64(w, "count", r->keys[i].count);
			jw_obj_close(w);
		}
		jw_arr_close(w);
		jw_ku64(w, "keys_other", r->keys_other);
	}
	if (r->has_hist) {
		jw_key(w, "rhist");
		jw_arr_open(w);
		for (int b = 0; b < VCPUSTAT_RHIST_BUCKETS; b++)
			jw_u64(w, r->hist[b]);
		jw_arr_close(w);
		for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
			jw_key(w, qs[i].key);
			if (vs_rhist_quantile(r, qs[i].q, &ns))
				jw_u64(w, ns);
			else
				jw_null(w);
		}
	}
}

/* @r's reason in @pv (the same vCPU before), or NULL. */
static const struct vs_reason *reason_prev(const struct vs_vcpu *pv,
					   const struct vs_reason *r)
{
	for (size_t i = 0; pv && i < pv->nr_reasons; i++)
		if (pv->reasons[i].isa == r->isa &&
		    pv->reasons[i].code == r->code)
			return &pv->reasons[i];
	return NULL;
}

static uint64_t key_prev(const struct vs_reason *pr, uint64_t key)
{
	for (uint32_t i = 0; pr && i < pr->nr_keys; i++)
		if (pr->keys[i].key == key)
			return pr->keys[i].count;
	return 0;
}

static int krow_push(struct vs_krow **rows, size_t *n, size_t *cap,
		     const struct vs_krow *row)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct vs_krow *p = realloc(*rows, nc * sizeof(*p));

		if (!p)
			return -1;
		*rows = p;
		*cap = nc;
	}
	(*rows)[(*n)++] = *row;
	return 0;
}

/* Largest interval count first, then largest count, "other" last. */
static int krow_cmp(const void *a, const void *b)
{
	const struct vs_krow *x = a, *y = b;

	if (x->other != y->other)
		return x->other ? 1 : -1;
	if (x->d_count != y->d_count)
		return x->d_count > y->d_count ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->key < y->key ? -1 : x->key > y->key;
}

int vs_krows(const struct vs_snapshot *cur, const struct vs_snapshot *prev,
	     uint32_t kind, struct vs_krow **rows, size_t *n)
{
	size_t cap = 0;

	*rows = NULL;
	*n = 0;
	for (size_t i = 0; i < cur->nr_vms; i++) {
		const struct vs_vm *vm = &cur->vms[i];

		for (size_t j = 0; j < vm->nr_vcpus; j++) {
			const struct vs_vcpu *vc = &vm->vcpus[j];
			const struct vs_vcpu *pv = prev ? vcpu_prev(vc, prev) : NULL;

			for (size_t k = 0; k < vc->nr_reasons; k++) {
				const struct vs_reason *r = &vc->reasons[k];
				const struct vs_reason *pr;
				struct vs_krow row = { .vm = vm, .vc = vc, .r = r };
				size_t first = *n;

				if (r->key_kind != kind)
					continue;
				pr = reason_prev(pv, r);
				/* a count that went back: the reason was reset */
				if (pr && pr->count > r->count)
					pr = NULL;
				row.d_reason = r->count - (pr ? pr->count : 0);
				for (uint32_t q = 0; q < r->nr_keys; q++) {
					row.key = r->keys[q].key;
					row.kinfo = r->keys[q];
					row.count = r->keys[q].count;
					row.d_count = vs_delta(row.count,
						key_prev(pr, row.key));
					if (krow_push(rows, n, &cap, &row))
						return -1;
				}
				row.other = true;
				row.key = 0;
				memset(&row.kinfo, 0, sizeof(row.kinfo));
				row.count = r->keys_other;
				row.d_count = vs_delta(r->keys_other,
						       pr ? pr->keys_other : 0);
				if (krow_push(rows, n, &cap, &row))
					return -1;
				qsort(*rows + first, *n - first, sizeof(**rows),
				      krow_cmp);
			}
		}
	}
	return 0;
}

void vs_krow_fmt(const struct vs_krow *k, uint32_t kind, const char *other,
		 char *buf, size_t len)
{
	if (k->other)
		snprintf(buf, len, "%s", other);
	else
		vs_key_fmt_full(kind, &k->kinfo, buf, len);
}

/*
 * Fold @rows in place: rows @same calls one are summed into the first of
 * them, which keeps the lowest key (a region is named by its lowest page;
 * merged keys are equal anyway) and leaves vm/vc/r, as no single vCPU's.
 * Sorted as vs_krows(); returns how many rows are left.
 */
static size_t krows_fold(struct vs_krow *rows, size_t n,
			 bool (*same)(const struct vs_krow *,
				      const struct vs_krow *))
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < m; j++)
			if (same(&rows[j], &rows[i]))
				break;
		if (j == m) {
			rows[m] = rows[i];
			rows[m].vm = NULL;
			rows[m].vc = NULL;
			rows[m].r = NULL;
			m++;
			continue;
		}
		rows[j].count += rows[i].count;
		rows[j].d_count += rows[i].d_count;
		if (rows[i].key < rows[j].key)
			rows[j].key = rows[i].key;
	}
	/* no rows: @rows may be NULL, which qsort() must not get */
	if (m)
		qsort(rows, m, sizeof(*rows), krow_cmp);
	return m;
}

/* The same key: one row per key, and one "other" row. */
static bool same_key(const struct vs_krow *a, const struct vs_krow *b)
{
	return a->other == b->other && a->key == b->key;
}

int vs_krows_merged(const struct vs_snapshot *cur,
		    const struct vs_snapshot *prev, uint32_t kind,
		    struct vs_krow **rows, size_t *n)
{
	struct vs_krow *all;
	size_t na, m;
	uint64_t d_reason = 0;

	if (vs_krows(cur, prev, kind, &all, &na))
		return -1;
	/* one d_reason per (vCPU, reason): taken from its "other" row */
	for (size_t i = 0; i < na; i++)
		if (all[i].other)
			d_reason += all[i].d_reason;
	m = krows_fold(all, na, same_key);
	for (size_t i = 0; i < m; i++)
		all[i].d_reason = d_reason;
	*rows = all;
	*n = m;
	return 0;
}

/* The same region: RAM by slot, MMIO by bus range, other MMIO as one. */
static bool same_region(const struct vs_krow *x, const struct vs_krow *y)
{
	const struct vs_key *a = &x->kinfo, *b = &y->kinfo;

	return a->region == b->region && a->slot == b->slot &&
	       a->has_base == b->has_base &&
	       a->region_base == b->region_base &&
	       a->region_size == b->region_size;
}

int vs_krows_regions(const struct vs_krow *rows, size_t n,
		     struct vs_krow **out, size_t *nout)
{
	struct vs_krow *g = calloc(n ? n : 1, sizeof(*g));
	size_t m = 0;

	if (!g)
		return -1;
	/* only keys with a region: not "other", not a key sent without */
	for (size_t i = 0; i < n; i++)
		if (!rows[i].other && rows[i].kinfo.region)
			g[m++] = rows[i];
	*out = g;
	*nout = krows_fold(g, m, same_region);
	return 0;
}
