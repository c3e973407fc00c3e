/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prometheus text exposition format 0.0.4 from vcpustat snapshots: the
 * pure rendering half of `vcpustat export` (cmd_export.c owns netlink,
 * files and HTTP). Everything here is a function of its arguments, so the
 * unit tests render synthetic snapshots and compare text.
 *
 * Output rules: one # HELP and # TYPE per family, the samples of a family
 * contiguous; VMs in ascending id (gone VMs merged in by id), vCPUs in
 * snapshot order, exit reasons sorted by ISA then name; no timestamps
 * (node_exporter's textfile collector rejects them). Label values are
 * escaped (\\, \", \n) and invalid UTF-8 becomes U+FFFD, which Prometheus
 * would otherwise reject for the whole scrape.
 */
#ifndef VS_PROM_H
#define VS_PROM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "prom_keep.h"
#include "vsnl.h"

/* The Content-Type of what prom_write() produces. */
#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Series grouping of the per-vCPU families. */
enum prom_by {
	PROM_BY_VCPU,		/* default: one series group per vCPU */
	PROM_BY_VM,		/* vCPUs summed per VM, no vcpu label */
};

struct prom_opts {
	enum prom_by by;
	bool top;		/* --reasons top:N */
	unsigned int top_n;	/* N: reasons kept per group, the rest is
				 * folded into reason="other" */
	struct prom_keep *keep;	/* with top: the reasons named in earlier
				 * refreshes (prom_keep.h), updated; NULL:
				 * the N largest now, nothing remembered */
	bool reason_hist;	/* --reason-hist: per-reason exit time
				 * histograms (module details on) */
};

/* The exporter's own state, rendered as vcpustat_up / _exporter_*. */
struct prom_self {
	bool up;			/* the last refresh read the module */
	uint64_t refreshes;		/* refreshes so far, this one included */
	uint64_t refresh_errors;	/* refreshes that failed (netlink) */
	uint64_t scrape_errors;		/* files not written, HTTP responses
					 * not built or queued */
	uint64_t refresh_ns;		/* how long reading the module took */
	uint64_t timestamp_ns;		/* CLOCK_REALTIME of the refresh */
};

/*
 * Write the whole exposition to @f. @cur: the current snapshot (NULL:
 * none, the module could not be read); @prev: the previous refresh's
 * snapshot, whose VMs missing from @cur are rendered once more with their
 * last values (gone VMs get one final scrape window; NULL: none);
 * @st: module status (NULL: leave the module families out); @self: NULL
 * leaves the exporter families out. Returns 0, or -1 when @f reports an
 * error (ENOMEM from open_memstream, a full disk).
 */
int prom_write(FILE *f, const struct vs_snapshot *cur,
	       const struct vs_snapshot *prev, const struct vs_status *st,
	       const struct prom_self *self, const struct prom_opts *o);

/* Same into a malloc'ed, NUL-terminated buffer; NULL on ENOMEM. */
char *prom_render(const struct vs_snapshot *cur,
		  const struct vs_snapshot *prev, const struct vs_status *st,
		  const struct prom_self *self, const struct prom_opts *o,
		  size_t *len);

/* A label value, quoted and escaped, as prom_write() prints it. */
void prom_label_value(FILE *f, const char *s);
/*
 * Nanoseconds as exact decimal seconds: 0 -> "0", 2 -> "0.000000002",
 * 1500000000 -> "1.5". @buf: at least PROM_SECONDS_BUF bytes.
 */
#define PROM_SECONDS_BUF 32
char *prom_seconds(char *buf, size_t len, uint64_t ns);

/* "all" -> top = false; "top:N" -> top, top_n = N. 0 or -1 (bad). */
int prom_parse_reasons(const char *s, struct prom_opts *o);
/* "vcpu" / "vm". 0 or -1. */
int prom_parse_by(const char *s, struct prom_opts *o);

/*
 * The exit duration histogram's finite buckets: le = 2^k ns for k = 9, 11,
 * ..., 31, i.e. 512 ns to 2.1 s in x4 steps (12 buckets, plus +Inf), a
 * fleet's budget instead of the kernel's 40 log2 buckets: exits of a
 * healthy VM take 1-100 us, a halted vCPU's wake-up up to seconds. Each
 * is exact: the kernel's bucket i holds [2^i, 2^(i+1)) ns, so le = 2^k is
 * the sum of buckets 0..k-1.
 */
#define PROM_HIST_LE_FIRST	9	/* 2^9 ns = 512 ns */
#define PROM_HIST_LE_STEP	2	/* x4 */
#define PROM_HIST_FINITE	12
/* Series per VM with the defaults (--by vm, --reasons all), for a VM with
 * R exit reasons: vm_info, vm_vcpus, vm_untracked_exits_total, R exits,
 * the histogram (12 buckets, +Inf, _sum, _count), 4 migration distances
 * and the time budget's 7 states. */
#define PROM_SERIES_PER_VM(r)	(3 + (r) + PROM_HIST_FINITE + 3 + 4 + \
				 VCPUSTAT_STATE_MAX)

/*
 * The per-reason histogram (--reason-hist) from the module's per-reason
 * buckets (uapi VCPUSTAT_RHIST_*: bucket 0 below 2^(SHIFT+1) ns, bucket i
 * up to 2^(SHIFT+i+1) ns, the last one open). Its le are those of the
 * histogram above that the module's buckets can state exactly: 2^9 ns up
 * to 2^(SHIFT+BUCKETS-1) = 2^27 ns (134 ms), 10 buckets in the same x4
 * steps, so the two families' le values line up.
 */
#define PROM_RHIST_LE_LAST	(VCPUSTAT_RHIST_SHIFT + VCPUSTAT_RHIST_BUCKETS - 1)
#define PROM_RHIST_FINITE	((PROM_RHIST_LE_LAST - PROM_HIST_LE_FIRST) / \
				 PROM_HIST_LE_STEP + 1)
/* Series per group (a VM, or a vCPU with --by vcpu) and exported reason
 * that has a histogram: the finite buckets, +Inf, _sum and _count. */
#define PROM_RHIST_SERIES	(PROM_RHIST_FINITE + 3)

#endif /* VS_PROM_H */
