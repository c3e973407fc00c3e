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

/* The detail of a record: it follows the residency array (track.c). */
static __always_inline struct vs_detail *vs_detail_of(const struct vs_vcpu *vc)
{
	return (struct vs_detail *)(vc->residency + nr_cpu_ids);
}

/* probes: after an exit's accounting, and with its exit time */
void vs_detail_exit(struct vs_vcpu *vc, const struct kvm_vcpu *vcpu, u32 code);
void vs_detail_time(struct vs_vcpu *vc, u64 t);

/* readers and configuration (netlink.c) */
int vs_detail_fill(struct sk_buff *skb, const struct vs_vcpu *vc,
		   unsigned int slot);
int vs_detail_set(bool on);
void vs_detail_set_k(u32 k);
bool vs_detail_enabled(void);
u32 vs_detail_k(void);

/* detail_svm.c, detail_vmx.c: the key of an exit, VS_NO_KEY for none */
#define VS_NO_KEY		(~0ULL)
u32 vs_detail_kind_svm(u32 code);
u64 vs_detail_key_svm(const struct kvm_vcpu *vcpu, u32 code);
u32 vs_detail_kind_vmx(u32 code);
u64 vs_detail_key_vmx(const struct kvm_vcpu *vcpu, u32 code);

#endif /* VCPUSTAT_DETAIL_H */
