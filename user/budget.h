/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The time budget of a vCPU (struct vs_budget): names, JSON and shares.
 */
#ifndef VS_BUDGET_H
#define VS_BUDGET_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "json.h"
#include "vsnl.h"

/* "guest", "exit", "user", "poll", "halt", "wait", "out"; NULL: none. */
const char *vs_state_name(uint32_t state);

/* KVM_EXIT_* as "io", "mmio", ... (from <linux/kvm.h>); "other"; "?". */
const char *vs_kvm_exit_name(uint32_t exit_reason);

/*
 * The budget as a JSON object: "<state>_ns" keys (in a delta event, the
 * change: "<state>_ns_delta"), state, open_ns, at_ns, user.
 */
void jw_budget(struct jw *w, const struct vs_budget *b, bool delta);

/*
 * The states as counters. A state read with its interval still open holds
 * the run-queue wait inside that interval, which moves to WAIT when the
 * interval closes: that state can go down once. The states' sum never
 * goes down but at a reset (the module's RESET, or a new module). So:
 * vs_budget_reset() says whether @cur restarted since @prev (or there is
 * no @prev), and vs_budget_mono() keeps each state of @cur at least where
 * @prev had it unless it did, so that a series of reads only climbs (what
 * Prometheus counters need); the states catch up as time passes.
 * vs_snapshot_budget_mono() does it for every vCPU found in both (by VM
 * id and vCPU id, vs_snapshot_find_vcpu()).
 */
bool vs_budget_reset(const struct vs_budget *cur, const struct vs_budget *prev);
void vs_budget_mono(struct vs_budget *cur, const struct vs_budget *prev);
void vs_snapshot_budget_mono(struct vs_snapshot *cur,
			     const struct vs_snapshot *prev);

/*
 * Percent of the wall time per state between @prev (NULL: since the
 * start) and @cur; a state that went down since @prev counts 0. False when there is no time to share (no budget, or
 * no time passed); then @pct is all zero.
 */
bool vs_budget_pct(const struct vs_budget *cur, const struct vs_budget *prev,
		   double pct[VCPUSTAT_STATE_MAX + 1]);


/* The share columns of list, top and stat: header and one row's cells. */
#define VS_BUDGET_COLS_W	42
void vs_budget_cols_header(FILE *f);
void vs_budget_cols(FILE *f, const struct vs_budget *cur,
		    const struct vs_budget *prev);

/* The shares as JSON: {"guest": %, ...}, or null without a budget. */
void jw_budget_pct(struct jw *w, const char *key, const struct vs_budget *cur,
		   const struct vs_budget *prev);

/* Add @b's states to @acc (a VM's or a host's total); NULL: nothing. */
void vs_budget_add(struct vs_budget *acc, const struct vs_budget *b);

/* "time %: guest 45.1 exit 3.2 ... out 0.0" (or "time: -"), for top. */
int vs_budget_line(char *buf, size_t len, const struct vs_budget *cur,
		   const struct vs_budget *prev);

#endif /* VS_BUDGET_H */
