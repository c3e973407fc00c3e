/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Second-level exit keys (port, MSR, CPUID leaf, hypercall, vector, guest
 * page) and per-reason exit time histograms, per vCPU (detail.c).
 *
 * Each vCPU record carries one struct vs_detail after its residency array
 * (track.c sizes the record for it), so nothing is allocated for details,
 * in the probes or anywhere else. The probes reach it only while the
 * static key vs_detail_on is set: with details off the cost is a no-op
 * jump.
 */
#ifndef VCPUSTAT_DETAIL_H
#define VCPUSTAT_DETAIL_H

#include <linux/jump_label.h>
#include <linux/vcpustat.h>
#include "vcpustat.h"

/* Reasons of one vCPU that get a key table; later ones get none. */
#define VS_DETAIL_TABLES	8
/* Reasons of one vCPU that get a time histogram. */
#define VS_DETAIL_HISTS		12
#define VS_DETAIL_K_DEFAULT	8

struct vs_dkey {
	u64 key;
	u64 count;
};

/*
 * The keys of one (vCPU, reason): entries [0, n) in the order first met,
 * never evicted; @other counts the exits of every other key and the
 * reason's exits from before the table was started, so that the entries
 * plus @other always sum to the reason's count.
 */
struct vs_dtable {
	u32 kind;			/* enum vcpustat_key_kind */
	u32 n;				/* published with release */
	u64 other;
	struct vs_dkey e[VCPUSTAT_DETAIL_K_MAX];
};

/*
 * Written by the vCPU's own probes only (single writer, as struct
 * vs_vcpu). @gen and @reset_seen say which switch-on and which reset the
 * contents belong to; a mismatch makes the next exit start afresh and
 * readers send nothing meanwhile.
 */
struct vs_detail {
	u32 gen;			/* vs_detail_gen it was started in */
	u32 reset_seen;			/* vc->reset_done it was started after */
	u8 ntabs;
	u8 nhists;
	/* per reason slot (vc->reasons[i], i == VS_NR_REASONS: vc->other) */
	u8 tab_of[VS_NR_REASONS + 1];	/* table index + 1, 0: none */
	u8 hist_of[VS_NR_REASONS + 1];	/* histogram index + 1, 0: none */
	struct vs_dtable tab[VS_DETAIL_TABLES];
	u64 hist[VS_DETAIL_HISTS][VCPUSTAT_RHIST_BUCKETS];
};

DECLARE_STATIC_KEY_FALSE(vs_detail_on);
extern u32 vs_detail_gen;

/* tab_of[] of a reason that has no key table (no keys, or none left) */
#define VS_DTAB_NONE		0xff
/* A key read gave nothing (no current VMCS, protected registers). */
#define VS_NO_KEY		(~0ULL)

/* The detail of a record: it follows the residency array (track.c). */
static __always_inline struct vs_detail *vs_detail_of(const struct vs_vcpu *vc)
{
	return (struct vs_detail *)(vc->residency + nr_cpu_ids);
}

/* vc->reasons[i] is slot i; vc->other is slot VS_NR_REASONS. */
static __always_inline unsigned int vs_detail_slot(const struct vs_vcpu *vc,
						   const struct vs_reason *r)
{
	return r - vc->reasons;
}

/* detail.c: the slow paths */
void vs_detail_restart(struct vs_detail *d, u32 gen, u32 reset);
struct vs_dtable *vs_detail_table_new(struct vs_vcpu *vc, struct vs_detail *d,
				      const struct kvm_vcpu *vcpu, u32 code);
void vs_detail_miss(struct vs_dtable *t, u64 key);
void vs_detail_hist_new(struct vs_detail *d, unsigned int slot, u64 t);

/* detail_svm.c, detail_vmx.c: which reasons have keys (once per reason) */
u32 vs_detail_kind_svm(const struct kvm_vcpu *vcpu, u32 code);
u32 vs_detail_kind_vmx(u32 code);
/* the key of one exit (VS_NO_KEY: none) */
#ifdef VS_KVM_ARM64
/*
 * arm64 has no second-level keys yet (its vCPUs are never VS_SRC_SVM or
 * _VMX, so no reason gets a key table); its per-reason histograms work.
 */
static __always_inline u64 vs_detail_key(const struct vs_vcpu *vc,
					 const struct kvm_vcpu *vcpu, u32 code)
{
	return VS_NO_KEY;
}
#else
#include "detail_svm.h"
#include "detail_vmx.h"

static __always_inline u64 vs_detail_key(const struct vs_vcpu *vc,
					 const struct kvm_vcpu *vcpu, u32 code)
{
	return vc->src == VS_SRC_SVM ? vs_detail_key_svm(vcpu, code) :
				       vs_detail_key_vmx(vcpu, code);
}
#endif

/* Details of another switch-on or from before a reset: start afresh. */
static __always_inline void vs_detail_check(struct vs_vcpu *vc,
					    struct vs_detail *d)
{
	u32 gen = READ_ONCE(vs_detail_gen);

	if (unlikely(d->gen != gen || d->reset_seen != vc->reset_done))
		vs_detail_restart(d, gen, vc->reset_done);
}

/*
 * kvm_exit, after the exit was counted under vc->pending: count its key.
 * Inlined into the probe (under the static key) because the calls cost
 * as much as the work: the common case is a known reason whose key is
 * the table's first entry, a few loads and one store.
 */
static __always_inline void vs_detail_exit(struct vs_vcpu *vc,
					   const struct kvm_vcpu *vcpu,
					   u32 code)
{
	struct vs_detail *d = vs_detail_of(vc);
	unsigned int slot = vs_detail_slot(vc, vc->pending);
	struct vs_dtable *t;
	u32 tab, n, i;
	u64 key;

	vs_detail_check(vc, d);
	tab = d->tab_of[slot];
	if (unlikely(!tab))
		t = vs_detail_table_new(vc, d, vcpu, code);
	else if (likely(tab != VS_DTAB_NONE))
		t = &d->tab[tab - 1];
	else
		t = NULL;
	if (!t)
		return;
	key = vs_detail_key(vc, vcpu, code);
	n = t->n;
	for (i = 0; i < n; i++) {
		if (t->e[i].key == key) {
			WRITE_ONCE(t->e[i].count, t->e[i].count + 1);
			return;
		}
	}
	vs_detail_miss(t, key);
}

/*
 * kvm_entry, with the pending exit's time @t: its reason's histogram.
 * Bucket 0 below 2^(SHIFT + 1) ns, then one per power of two, the last
 * open-ended (uapi VCPUSTAT_RHIST_*).
 */
static __always_inline void vs_detail_time(struct vs_vcpu *vc, u64 t)
{
	struct vs_detail *d = vs_detail_of(vc);
	unsigned int slot = vs_detail_slot(vc, vc->pending);
	u32 h, b;

	/* Timed exits of another generation are not this one's. */
	if (unlikely(d->gen != READ_ONCE(vs_detail_gen) ||
		     d->reset_seen != vc->reset_done))
		return;
	h = d->hist_of[slot];
	if (unlikely(!h)) {
		vs_detail_hist_new(d, slot, t);
		return;
	}
	b = t < (2ULL << VCPUSTAT_RHIST_SHIFT) ? 0 :
	    min_t(u32, ilog2(t) - VCPUSTAT_RHIST_SHIFT,
		  VCPUSTAT_RHIST_BUCKETS - 1);
	WRITE_ONCE(d->hist[h - 1][b], d->hist[h - 1][b] + 1);
}

/* readers and configuration (netlink.c) */
struct vs_region_ctx;
int vs_detail_fill(struct sk_buff *skb, const struct vs_vcpu *vc,
		   unsigned int slot, struct vs_region_ctx *rc);
int vs_detail_set(bool on);
void vs_detail_set_k(u32 k);
bool vs_detail_enabled(void);
u32 vs_detail_k(void);

#endif /* VCPUSTAT_DETAIL_H */
