// SPDX-License-Identifier: GPL-2.0
/*
 * The time budget in the tool: the budget nest decoded from a DELTA_NTF
 * built as the contract says, the shares list/top/stat print, and the
 * JSON of dump -j, with exact numbers.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "budget.h"
#include "harness.h"
#include "json.h"
#include "testutil.h"
#include "vsnl.h"

/* A DELTA_NTF whose vCPU carries a budget of the given ns per state. */
static struct nl_msg *delta_with_budget(const uint64_t ns[8], uint32_t state)
{
	struct nl_msg *m = nlmsg_alloc();
	struct nlattr *v, *b, *u, *e;

	T_ASSERT(m);
	T_ASSERT(genlmsg_put(m, 0, 0, 0x20, 0, 0, VCPUSTAT_CMD_DELTA_NTF,
			     VCPUSTAT_GENL_VERSION));
	nla_put_u64(m, VCPUSTAT_A_SEQ, 1);
	nla_put_u64(m, VCPUSTAT_A_VM_ID, 1);
	v = nla_nest_start(m, VCPUSTAT_A_VCPU);
	nla_put_u32(m, VCPUSTAT_VCPU_A_ID, 0);
	b = nla_nest_start(m, VCPUSTAT_VCPU_A_BUDGET);
	for (int s = VCPUSTAT_STATE_GUEST; s <= VCPUSTAT_STATE_MAX; s++)
		nla_put_u64(m, VCPUSTAT_BUDGET_A_GUEST_NS + s - 1, ns[s]);
	nla_put_u32(m, VCPUSTAT_BUDGET_A_STATE, state);
	nla_put_u64(m, VCPUSTAT_BUDGET_A_OPEN_NS, 5);
	nla_put_u64(m, VCPUSTAT_BUDGET_A_AT_NS, 123);
	u = nla_nest_start(m, VCPUSTAT_BUDGET_A_USER);
	e = nla_nest_start(m, VCPUSTAT_USER_ENTRY);
	nla_put_u32(m, VCPUSTAT_USER_A_EXIT_REASON, 2);		/* KVM_EXIT_IO */
	nla_put_u64(m, VCPUSTAT_USER_A_COUNT, 300);
	nla_put_u64(m, VCPUSTAT_USER_A_NS, ns[VCPUSTAT_STATE_USER]);
	nla_nest_end(m, e);
	e = nla_nest_start(m, VCPUSTAT_USER_ENTRY);
	nla_put_u32(m, VCPUSTAT_USER_A_EXIT_REASON, VCPUSTAT_USER_OTHER);
	nla_put_u64(m, VCPUSTAT_USER_A_COUNT, 1);
	nla_put_u64(m, VCPUSTAT_USER_A_NS, 0);
	nla_nest_end(m, e);
	nla_nest_end(m, u);
	/* an attribute from a newer module: ignored */
	nla_put_u64(m, VCPUSTAT_BUDGET_A_MAX + 3, 1);
	nla_nest_end(m, b);
	nla_nest_end(m, v);
	return m;
}

T_TEST(budget_decode_and_shares)
{
	const uint64_t ns[8] = { 0, 500, 100, 200, 50, 100, 40, 10 };
	const uint64_t later[8] = { 0, 1500, 100, 200, 50, 100, 1040, 10 };
	struct nl_msg *m = delta_with_budget(ns, VCPUSTAT_STATE_GUEST);
	struct vs_budget prev;
	struct vs_event ev;
	double pct[VCPUSTAT_STATE_MAX + 1];

	T_EQ(vs_event_decode(nlmsg_hdr(m), &ev), 0);
	T_ASSERT(ev.delta.budget.valid);
	T_EQ(ev.delta.budget.ns[VCPUSTAT_STATE_GUEST], 500);
	T_EQ(ev.delta.budget.ns[VCPUSTAT_STATE_OUT], 10);
	T_EQ(ev.delta.budget.state, VCPUSTAT_STATE_GUEST);
	T_EQ(ev.delta.budget.open_ns, 5);
	T_EQ(ev.delta.budget.at_ns, 123);
	T_EQ(ev.delta.budget.nr_user, 2);
	T_EQ(ev.delta.budget.user[0].exit_reason, 2);
	T_EQ(ev.delta.budget.user[0].count, 300);
	T_STREQ(vs_kvm_exit_name(ev.delta.budget.user[0].exit_reason), "io");
	T_STREQ(vs_kvm_exit_name(ev.delta.budget.user[1].exit_reason), "other");
	/* Since the start: 1000 ns in all, guest 500 of them. */
	T_ASSERT(vs_budget_pct(&ev.delta.budget, NULL, pct));
	T_ASSERT(fabs(pct[VCPUSTAT_STATE_GUEST] - 50.0) < 1e-9);
	T_ASSERT(fabs(pct[VCPUSTAT_STATE_WAIT] - 4.0) < 1e-9);
	prev = ev.delta.budget;
	vs_event_release(&ev);
	nlmsg_free(m);

	/* Over an interval: 1000 more guest, 1000 more wait: 50 % each. */
	m = delta_with_budget(later, VCPUSTAT_STATE_WAIT);
	T_EQ(vs_event_decode(nlmsg_hdr(m), &ev), 0);
	T_ASSERT(vs_budget_pct(&ev.delta.budget, &prev, pct));
	T_ASSERT(fabs(pct[VCPUSTAT_STATE_GUEST] - 50.0) < 1e-9);
	T_ASSERT(fabs(pct[VCPUSTAT_STATE_WAIT] - 50.0) < 1e-9);
	T_ASSERT(pct[VCPUSTAT_STATE_EXIT] == 0);
	/* No time passed: no shares, rather than a division by zero. */
	T_ASSERT(!vs_budget_pct(&ev.delta.budget, &ev.delta.budget, pct));
	vs_event_release(&ev);
	nlmsg_free(m);
}

T_TEST(budget_json_and_columns)
{
	struct vs_budget b = { .valid = true, .state = VCPUSTAT_STATE_USER,
			       .open_ns = 7, .at_ns = 99, .nr_user = 1 };
	struct t_jw_mem m;
	char *buf;
	size_t len = 0;
	FILE *f;

	b.ns[VCPUSTAT_STATE_GUEST] = 750;
	b.ns[VCPUSTAT_STATE_USER] = 250;
	b.user[0] = (struct vs_user_exit){ 6, 4, 250 };	/* KVM_EXIT_MMIO */
	jw_budget(t_jw_open(&m, false), &b, false);
	buf = t_jw_close(&m);
	T_EQ(m.end, 0);
	T_STREQ(buf, "{\"guest_ns\":750,\"exit_ns\":0,\"user_ns\":250,"
		"\"poll_ns\":0,\"halt_ns\":0,\"wait_ns\":0,\"out_ns\":0,"
		"\"state\":\"user\",\"open_ns\":7,\"at_ns\":99,\"user\":"
		"[{\"exit_reason\":6,\"name\":\"mmio\",\"count\":4,\"ns\":250}]}\n");
	free(buf);

	f = open_memstream(&buf, &len);
	vs_budget_cols_header(f);
	vs_budget_cols(f, &b, NULL);
	b.valid = false;
	vs_budget_cols(f, &b, NULL);
	fclose(f);
	T_STREQ(buf, " %guest %exit  %user  %poll  %halt  %wait  %out  "
		"   75.0    0.0   25.0    0.0    0.0    0.0    0.0"
		"      -      -      -      -      -      -      -");
	free(buf);
}

/*
 * A state read with its interval open held the wait in it, which moved to
 * WAIT at the close: it went down, and that is no reset (the sum did not).
 */
T_TEST(budget_state_down_is_no_reset)
{
	struct vs_budget prev = { .valid = true }, cur = { .valid = true };
	double pct[VCPUSTAT_STATE_MAX + 1];

	prev.ns[VCPUSTAT_STATE_GUEST] = 1000;
	prev.ns[VCPUSTAT_STATE_EXIT] = 400;	/* 300 of it a wait, open */
	cur.ns[VCPUSTAT_STATE_GUEST] = 1100;
	cur.ns[VCPUSTAT_STATE_EXIT] = 150;
	cur.ns[VCPUSTAT_STATE_WAIT] = 300;
	T_ASSERT(!vs_budget_reset(&cur, &prev));
	/* guest +100, wait +300, exit down: 0 (not its whole 150 again) */
	T_ASSERT(vs_budget_pct(&cur, &prev, pct));
	T_ASSERT(fabs(pct[VCPUSTAT_STATE_GUEST] - 25.0) < 1e-9);
	T_ASSERT(fabs(pct[VCPUSTAT_STATE_WAIT] - 75.0) < 1e-9);
	T_ASSERT(pct[VCPUSTAT_STATE_EXIT] == 0);
	/* As counters: exit stays at 400 until it catches up. */
	vs_budget_mono(&cur, &prev);
	T_EQ(cur.ns[VCPUSTAT_STATE_EXIT], 400);
	T_EQ(cur.ns[VCPUSTAT_STATE_GUEST], 1100);
	T_EQ(cur.ns[VCPUSTAT_STATE_WAIT], 300);

	/* A reset: every state from 0 again, the sum went down. */
	memset(cur.ns, 0, sizeof(cur.ns));
	cur.ns[VCPUSTAT_STATE_GUEST] = 50;
	T_ASSERT(vs_budget_reset(&cur, &prev));
	vs_budget_mono(&cur, &prev);
	T_EQ(cur.ns[VCPUSTAT_STATE_GUEST], 50);
	T_EQ(cur.ns[VCPUSTAT_STATE_EXIT], 0);
	T_ASSERT(vs_budget_pct(&cur, &prev, pct));
	T_ASSERT(fabs(pct[VCPUSTAT_STATE_GUEST] - 100.0) < 1e-9);
}

/* Export's refreshes: each vCPU found in the last one (by VM and vCPU id). */
T_TEST(budget_snapshot_mono_per_vcpu)
{
	struct vs_vcpu pv[1] = { { .vcpu_id = 1 } }, cv[2] = {
		{ .vcpu_id = 1 }, { .vcpu_id = 2 } };
	struct vs_vm pvm = { .id = 7, .vcpus = pv, .nr_vcpus = 1 };
	struct vs_vm cvm = { .id = 7, .vcpus = cv, .nr_vcpus = 2 };
	struct vs_snapshot prev = { .vms = &pvm, .nr_vms = 1 };
	struct vs_snapshot cur = { .vms = &cvm, .nr_vms = 1 };

	pv[0].budget.valid = true;
	pv[0].budget.ns[VCPUSTAT_STATE_EXIT] = 400;
	cv[0].budget.valid = true;
	cv[0].budget.ns[VCPUSTAT_STATE_EXIT] = 150;
	cv[0].budget.ns[VCPUSTAT_STATE_WAIT] = 300;
	cv[1].budget.valid = true;
	cv[1].budget.ns[VCPUSTAT_STATE_EXIT] = 10;
	vs_snapshot_budget_mono(&cur, &prev);
	T_EQ(cv[0].budget.ns[VCPUSTAT_STATE_EXIT], 400);
	T_EQ(cv[0].budget.ns[VCPUSTAT_STATE_WAIT], 300);
	/* not in the last refresh: as read */
	T_EQ(cv[1].budget.ns[VCPUSTAT_STATE_EXIT], 10);
	/* another VM id: no match */
	cvm.id = 8;
	cv[0].budget.ns[VCPUSTAT_STATE_EXIT] = 150;
	vs_snapshot_budget_mono(&cur, &prev);
	T_EQ(cv[0].budget.ns[VCPUSTAT_STATE_EXIT], 150);
}
