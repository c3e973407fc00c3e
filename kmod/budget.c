// SPDX-License-Identifier: GPL-2.0
/*
 * The time budget's readers' side: a consistent copy of a vCPU's states,
 * with the interval open at the read counted in the state it is in, so
 * that the states sum to the wall time up to the read. The writer is
 * budget.h, in the probes.
 */
#include <linux/ktime.h>
#include "compat.h"
#include "vcpustat.h"

/* Bumped each time the budget is switched on (probe.c); 0 is never used. */
u32 vs_budget_gen = 1;

void vs_budget_read(const struct vs_vcpu *vc, struct vs_budget_snap *b)
{
	unsigned int seq;
	u64 since;
	int i;

	do {
		seq = raw_read_seqcount_begin(&vc->bseq);
		for (i = 0; i <= VCPUSTAT_STATE_MAX; i++)
			b->ns[i] = READ_ONCE(vc->budget[i]);
		for (i = 0; i <= VS_NR_USER; i++) {
			b->user[i].key = READ_ONCE(vc->user[i].key);
			b->user[i].count = READ_ONCE(vc->user[i].count);
			b->user[i].ns = READ_ONCE(vc->user[i].ns);
		}
		b->state = READ_ONCE(vc->bstate);
		since = READ_ONCE(vc->bsince);
		/* Off, or not started since a reset: nothing is open. */
		if (!READ_ONCE(vs_cfg.budget) ||
		    READ_ONCE(vc->bgen) != READ_ONCE(vs_budget_gen))
			b->state = VCPUSTAT_STATE_NONE;
		/* After since, so never before it (one global clock). */
		b->at = vs_clock_ns();
	} while (read_seqcount_retry(&vc->bseq, seq));

	b->open = 0;
	if (b->state > VCPUSTAT_STATE_NONE && b->state <= VCPUSTAT_STATE_MAX &&
	    b->at > since) {
		b->open = b->at - since;
		b->ns[b->state] += b->open;
		if (b->state == VCPUSTAT_STATE_USER &&
		    READ_ONCE(vc->buser) <= VS_NR_USER)
			b->user[READ_ONCE(vc->buser)].ns += b->open;
	}
}
