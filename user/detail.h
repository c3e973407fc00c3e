/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Second-level exit keys and per-reason histograms (VCPUSTAT_REASON_A_KEYS,
 * _HIST): decoding, names and percentiles, shared by dump, top and stat.
 */
#ifndef VS_DETAIL_H
#define VS_DETAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "vsnl.h"

/* "io", "msr", "cpuid", "hypercall", "exception", "intr", "gpa", "?" */
const char *vs_key_kind_name(uint32_t kind);
/* Kind from such a name (also "port", "mmio", "npf", "ept"); 0 if none. */
uint32_t vs_key_kind_from_name(const char *name);
/* Conventional device of a port (small documented table), or NULL. */
const char *vs_port_name(uint32_t port);
/* Name from the kernel's msr-index.h (generated), or NULL. */
const char *vs_msr_name(uint32_t index);
/* "#PF" etc. for exception vectors 0..31, or NULL. */
const char *vs_vector_name(uint32_t vector);
/* One key as text, e.g. "out 0x3f8/1 COM1", "read 0x8b IA32_UCODE_REV". */
void vs_key_fmt(uint32_t kind, uint64_t key, char *buf, size_t len);
/* The key's fields as JSON members (stable names, see README). */
void jw_key_fields(struct jw *w, uint32_t kind, uint64_t key);
/*
 * A GPA key's region (VCPUSTAT_KEY_A_REGION..): "region" "ram" with
 * "slot", "slot_flags", "region_base", "region_size"; "region" "mmio",
 * with "region_base", "region_size" of KVM's MMIO bus range if any;
 * nothing when the kernel sent none.
 */
void jw_key_region(struct jw *w, const struct vs_key *k);
/* The region as text: "ram slot 1 0x40000+32K", "mmio", "" if none. */
void vs_key_region_fmt(const struct vs_key *k, char *buf, size_t len);
/* vs_key_fmt() of @k, and its region when it has one. */
void vs_key_fmt_full(uint32_t kind, const struct vs_key *k, char *buf,
		     size_t len);
/*
 * Quantile @q (0..1) of a reason's histogram in ns, interpolated within
 * its log2 bucket and clamped to the reason's min/max; false without a
 * histogram or with an empty one.
 */
bool vs_rhist_quantile(const struct vs_reason *r, double q, uint64_t *ns);
/* "key_kind", "keys", "keys_other", "rhist", "p50_ns".. of a reason. */
void jw_reason_detail(struct jw *w, const struct vs_reason *r);

/*
 * One row per key (and one "other" row per reason) of the reasons whose
 * keys are of @kind, per vCPU of @cur: counts since @prev (NULL or a vCPU
 * missing from it: the whole counts; a count that went back: reset).
 */
struct vs_krow {
	const struct vs_vm *vm;
	const struct vs_vcpu *vc;
	const struct vs_reason *r;
	bool other;			/* the reason's "other" bucket */
	uint64_t key;
	struct vs_key kinfo;		/* the key with its region (not other) */
	uint64_t count;			/* cumulative */
	uint64_t d_count;		/* since @prev */
	uint64_t d_reason;		/* the reason's exits since @prev */
};

int vs_krows(const struct vs_snapshot *cur, const struct vs_snapshot *prev,
	     uint32_t kind, struct vs_krow **rows, size_t *n);
/* A row's key as text: vs_key_fmt_full() of it, or @other for "other". */
void vs_krow_fmt(const struct vs_krow *k, uint32_t kind, const char *other,
		 char *buf, size_t len);
/* The same key rows merged over every vCPU of @cur (vm, vc NULL). */
int vs_krows_merged(const struct vs_snapshot *cur,
		    const struct vs_snapshot *prev, uint32_t kind,
		    struct vs_krow **rows, size_t *n);
/*
 * GPA rows grouped by region (a memslot, a KVM MMIO bus range, or all
 * other MMIO): one row per region, kinfo holding the region, key the
 * lowest page, counts summed; "other" rows are left out.
 */
int vs_krows_regions(const struct vs_krow *rows, size_t n,
		     struct vs_krow **out, size_t *nout);

#endif /* VS_DETAIL_H */
