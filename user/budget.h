/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The time budget of a vCPU (struct vs_budget): names, JSON and shares.
 */
#ifndef VS_BUDGET_H
#define VS_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#include "json.h"
#include "vsnl.h"

/* "guest", "exit", "user", "poll", "halt", "wait", "out"; NULL: none. */
const char *vs_state_name(uint32_t state);

/* KVM_EXIT_* as "io", "mmio", ... (from <linux/kvm.h>); "other"; "?". */
const char *vs_kvm_exit_name(uint32_t exit_reason);

/* The budget as a JSON object: "<state>_ns" keys, state, open, user. */
void jw_budget(struct jw *w, const struct vs_budget *b);

/*
 * Percent of the wall time per state between @prev (NULL: since the
 * start) and @cur. False when there is no time to share (no budget, or
 * no time passed); then @pct is all zero.
 */
bool vs_budget_pct(const struct vs_budget *cur, const struct vs_budget *prev,
		   double pct[VCPUSTAT_STATE_MAX + 1]);

#endif /* VS_BUDGET_H */
