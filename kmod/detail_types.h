/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The layout of a vCPU's second-level keys and reason histograms
 * (detail.h has the code). A struct vs_detail is a member of struct
 * vs_vcpu, at a fixed offset, so that the probes reach it with no load;
 * how a reason's keys are read, its last key and its histogram are kept
 * in its struct vs_reason (dop, dkey, dhist), which the probes hold
 * already.
 */
#ifndef VCPUSTAT_DETAIL_TYPES_H
#define VCPUSTAT_DETAIL_TYPES_H

#include <linux/types.h>
#include <linux/vcpustat.h>

/* Reasons of one vCPU that get a key table; later ones get none. */
#define VS_DETAIL_TABLES	8
/* Reasons of one vCPU that get a time histogram. */
#define VS_DETAIL_HISTS		12

struct vs_dkey {
	u64 key;			/* as the exit gave it: vs_detail_key_uapi() */
	u64 count;
};

/*
 * The key table of one (vCPU, reason): entries keys[i * K_MAX + j], j in
 * [0, n), of its struct vs_detail, in the order first met, never evicted;
 * @other counts the exits of every other key and the reason's exits from
 * before the table was started, so that the entries plus @other always
 * sum to the reason's count. A table is started with its first key, so
 * n >= 1, and the reason's dkey (struct vs_reason) is always one of its
 * keys, which also names the table (dkey / K_MAX). Headers and entries
 * are apart so that both have a power-of-two stride.
 */
struct vs_dtable {
	u32 kind;			/* enum vcpustat_key_kind */
	u32 n;				/* published with release */
	u64 other;
};

/*
 * Written by the vCPU's own probes only (single writer, as struct
 * vs_vcpu). @gen and @reset_seen say which switch-on and which reset the
 * contents belong to: readers send nothing unless both are current.
 */
struct vs_detail {
	u32 gen;			/* vs_detail_gen it was started in */
	u32 reset_seen;			/* vc->reset_done it was started after */
	u8 ntabs;
	u8 nhists;
	struct vs_dtable tab[VS_DETAIL_TABLES];
	struct vs_dkey keys[VS_DETAIL_TABLES * VCPUSTAT_DETAIL_K_MAX];
	/* row 0 counts the exits of reasons without a row; never sent */
	u64 hist[VS_DETAIL_HISTS + 1][VCPUSTAT_RHIST_BUCKETS];
};

#endif /* VCPUSTAT_DETAIL_TYPES_H */
