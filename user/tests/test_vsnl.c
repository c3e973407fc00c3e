// SPDX-License-Identifier: GPL-2.0
/*
 * vsnl decoding without a kernel: notification messages built with libnl
 * exactly as the contract describes them (u64s padded, nests, hist attr
 * i+1 = bucket i), decoded by vs_event_decode(); snapshot copy/lookup and
 * the interval arithmetic of view.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "harness.h"
#include "testutil.h"
#include "view.h"
#include "vsnl.h"

static struct nl_msg *ntf(uint8_t cmd, uint64_t seq)
{
	struct nl_msg *m = nlmsg_alloc();

	T_ASSERT(m);
	T_ASSERT(genlmsg_put(m, 0, 0, 0x20, 0, 0, cmd, VCPUSTAT_GENL_VERSION));
	T_EQ(nla_put_u64(m, VCPUSTAT_A_SEQ, seq), 0);
	return m;
}

static void put_vcpu(struct nl_msg *m, bool with_arrays)
{
	struct nlattr *v, *n, *e;

	v = nla_nest_start(m, VCPUSTAT_A_VCPU);
	nla_put_u32(m, VCPUSTAT_VCPU_A_ID, 3);
	nla_put_u32(m, VCPUSTAT_VCPU_A_IDX, 2);
	nla_put_u32(m, VCPUSTAT_VCPU_A_TID, 4242);
	nla_put_u32(m, VCPUSTAT_VCPU_A_PCPU, 5);
	nla_put_u32(m, VCPUSTAT_VCPU_A_ISA, VCPUSTAT_ISA_VMX);
	nla_put_u64(m, VCPUSTAT_VCPU_A_EXITS, 1000);
	/* Sent by vcpustat 0.1 (guest entries): ignored, not an error. */
	nla_put_u64(m, VCPUSTAT_VCPU_A_UNUSED, 1001);
	nla_put_u64(m, VCPUSTAT_VCPU_A_MIGRATIONS, 10);
	nla_put_u64(m, VCPUSTAT_VCPU_A_MIGR_SMT, 1);
	nla_put_u64(m, VCPUSTAT_VCPU_A_MIGR_LLC, 2);
	nla_put_u64(m, VCPUSTAT_VCPU_A_MIGR_NODE, 3);
	nla_put_u64(m, VCPUSTAT_VCPU_A_MIGR_REMOTE, 4);
	nla_put_u64(m, VCPUSTAT_VCPU_A_EXIT_TIME_NS, 123456);
	nla_put_u64(m, VCPUSTAT_VCPU_A_TIMED_EXITS, 999);
	nla_put_u64(m, VCPUSTAT_VCPU_A_INTERVAL_NS, 1000000000);
	if (with_arrays) {
		n = nla_nest_start(m, VCPUSTAT_VCPU_A_REASONS);
		for (uint32_t code = 10; code <= 12; code += 2) {
			e = nla_nest_start(m, VCPUSTAT_REASON_ENTRY);
			nla_put_u32(m, VCPUSTAT_REASON_A_ISA, VCPUSTAT_ISA_VMX);
			nla_put_u32(m, VCPUSTAT_REASON_A_CODE, code);
			nla_put_u64(m, VCPUSTAT_REASON_A_COUNT, code * 10);
			nla_put_u64(m, VCPUSTAT_REASON_A_TIMED, code == 10 ? 100 : 0);
			nla_put_u64(m, VCPUSTAT_REASON_A_TIME_SUM_NS, code == 10 ? 5000 : 0);
			if (code == 10) {	/* absent when TIMED == 0 */
				nla_put_u64(m, VCPUSTAT_REASON_A_TIME_MIN_NS, 7);
				nla_put_u64(m, VCPUSTAT_REASON_A_TIME_MAX_NS, 900);
			}
			nla_nest_end(m, e);
		}
		nla_nest_end(m, n);
		n = nla_nest_start(m, VCPUSTAT_VCPU_A_HIST);
		nla_put_u64(m, 1, 11);				/* bucket 0 */
		nla_put_u64(m, VCPUSTAT_HIST_BUCKETS, 40);	/* last */
		nla_put_u64(m, VCPUSTAT_HIST_BUCKETS + 1, 99);	/* ignored */
		nla_nest_end(m, n);
		n = nla_nest_start(m, VCPUSTAT_VCPU_A_RESIDENCY);
		for (uint32_t c = 4; c <= 5; c++) {
			e = nla_nest_start(m, VCPUSTAT_RESIDENCY_ENTRY);
			nla_put_u32(m, VCPUSTAT_RESIDENCY_A_CPU, c);
			nla_put_u64(m, VCPUSTAT_RESIDENCY_A_EXITS, c * 100);
			nla_nest_end(m, e);
		}
		nla_nest_end(m, n);
	}
	/* an attribute from a newer module: must be ignored */
	nla_put_u64(m, VCPUSTAT_VCPU_A_MAX + 5, 1);
	nla_nest_end(m, v);
}

T_TEST(vsnl_decode_delta)
{
	struct nl_msg *m = ntf(VCPUSTAT_CMD_DELTA_NTF, 77);
	struct vs_event ev;

	nla_put_u64(m, VCPUSTAT_A_VM_ID, 9);
	nla_put_u32(m, VCPUSTAT_A_PID, 555);
	put_vcpu(m, true);
	T_EQ(vs_event_decode(nlmsg_hdr(m), &ev), 0);
	T_EQ(ev.type, VS_EV_DELTA);
	T_EQ(ev.seq, 77);
	T_EQ(ev.delta.vm_id, 9);
	T_EQ(ev.delta.pid, 555);
	T_EQ(ev.delta.vcpu_id, 3);
	T_EQ(ev.delta.idx, 2);
	T_EQ(ev.delta.tid, 4242);
	T_EQ(ev.delta.pcpu, 5);
	T_EQ(ev.delta.isa, VCPUSTAT_ISA_VMX);
	T_EQ(ev.delta.exits, 1000);
	T_EQ(ev.delta.migrations, 10);
	T_EQ(ev.delta.migr[VCPUSTAT_DIST_SMT], 1);
	T_EQ(ev.delta.migr[VCPUSTAT_DIST_REMOTE], 4);
	T_EQ(ev.delta.migr[VCPUSTAT_DIST_UNSPEC], 0);
	T_EQ(ev.delta.exit_time_ns, 123456);
	T_EQ(ev.delta.timed_exits, 999);
	T_EQ(ev.delta.interval_ns, 1000000000);
	T_EQ(ev.delta.nr_reasons, 2);
	T_EQ(ev.delta.reasons[0].code, 10);
	T_EQ(ev.delta.reasons[0].count, 100);
	T_EQ(ev.delta.reasons[0].time_min_ns, 7);
	T_EQ(ev.delta.reasons[0].time_max_ns, 900);
	T_EQ(ev.delta.reasons[1].code, 12);
	T_EQ(ev.delta.reasons[1].timed, 0);
	T_EQ(ev.delta.reasons[1].time_min_ns, 0);
	T_EQ(ev.delta.hist[0], 11);
	T_EQ(ev.delta.hist[VCPUSTAT_HIST_BUCKETS - 1], 40);
	T_EQ(ev.delta.hist[1], 0);
	T_EQ(ev.delta.nr_residency, 2);
	T_EQ(ev.delta.residency[1].cpu, 5);
	T_EQ(ev.delta.residency[1].exits, 500);
	vs_event_release(&ev);
	T_ASSERT(!ev.delta.reasons && !ev.delta.nr_reasons);
	nlmsg_free(m);

	/* no pCPU attribute: VS_NO_CPU, no arrays: NULL */
	m = ntf(VCPUSTAT_CMD_DELTA_NTF, 78);
	{
		struct nlattr *v = nla_nest_start(m, VCPUSTAT_A_VCPU);

		nla_put_u32(m, VCPUSTAT_VCPU_A_ID, 0);
		nla_nest_end(m, v);
	}
	T_EQ(vs_event_decode(nlmsg_hdr(m), &ev), 0);
	T_EQ(ev.delta.pcpu, VS_NO_CPU);
	T_ASSERT(!ev.delta.reasons && !ev.delta.residency);
	vs_event_release(&ev);
	nlmsg_free(m);
}

T_TEST(vsnl_decode_vm_and_migrate)
{
	struct nl_msg *m = ntf(VCPUSTAT_CMD_VM_GONE_NTF, 5);
	struct vs_event ev;
	struct nlattr *n;

	n = nla_nest_start(m, VCPUSTAT_A_VM);
	nla_put_u64(m, VCPUSTAT_VM_A_ID, 12);
	nla_put_u32(m, VCPUSTAT_VM_A_PID, 3000);
	nla_put_string(m, VCPUSTAT_VM_A_COMM, "qemu-system-x86");
	nla_put_string(m, VCPUSTAT_VM_A_STATS_ID, "kvm-3000");
	nla_put_u32(m, VCPUSTAT_VM_A_NR_VCPUS, 4);
	nla_put_u64(m, VCPUSTAT_VM_A_EXITS, 1ull << 40);
	nla_put_u64(m, VCPUSTAT_VM_A_AGE_NS, 42);
	nla_put_u64(m, VCPUSTAT_VM_A_UNTRACKED_EXITS, 3);
	nla_nest_end(m, n);
	T_EQ(vs_event_decode(nlmsg_hdr(m), &ev), 0);
	T_EQ(ev.type, VS_EV_VM_GONE);
	T_EQ(ev.vm.id, 12);
	T_EQ(ev.vm.pid, 3000);
	T_STREQ(ev.vm.comm, "qemu-system-x86");
	T_STREQ(ev.vm.stats_id, "kvm-3000");
	T_EQ(ev.vm.tracked_vcpus, 4);
	T_EQ(ev.vm.exits, 1ull << 40);
	T_EQ(ev.vm.untracked_exits, 3);
	T_ASSERT(!ev.vm.vcpus);
	vs_event_release(&ev);
	nlmsg_free(m);

	m = ntf(VCPUSTAT_CMD_MIGRATE_NTF, 6);
	nla_put_u64(m, VCPUSTAT_A_VM_ID, 12);
	nla_put_u32(m, VCPUSTAT_A_PID, 3000);
	n = nla_nest_start(m, VCPUSTAT_A_MIGRATION);
	nla_put_u32(m, VCPUSTAT_MIGRATION_A_VCPU_ID, 1);
	nla_put_u32(m, VCPUSTAT_MIGRATION_A_TID, 3011);
	nla_put_u32(m, VCPUSTAT_MIGRATION_A_FROM, 2);
	nla_put_u32(m, VCPUSTAT_MIGRATION_A_TO, 9);
	nla_put_u32(m, VCPUSTAT_MIGRATION_A_DISTANCE, VCPUSTAT_DIST_REMOTE);
	nla_put_u64(m, VCPUSTAT_MIGRATION_A_TOTAL, 17);
	nla_put_u64(m, VCPUSTAT_MIGRATION_A_SUPPRESSED, 4);
	nla_nest_end(m, n);
	T_EQ(vs_event_decode(nlmsg_hdr(m), &ev), 0);
	T_EQ(ev.type, VS_EV_MIGRATE);
	T_EQ(ev.migr.vm_id, 12);
	T_EQ(ev.migr.pid, 3000);
	T_EQ(ev.migr.vcpu_id, 1);
	T_EQ(ev.migr.tid, 3011);
	T_EQ(ev.migr.from, 2);
	T_EQ(ev.migr.to, 9);
	T_EQ(ev.migr.distance, VCPUSTAT_DIST_REMOTE);
	T_EQ(ev.migr.total, 17);
	T_EQ(ev.migr.suppressed, 4);
	vs_event_release(&ev);
	nlmsg_free(m);
}

T_TEST(vsnl_decode_rejects_malformed)
{
	struct nl_msg *m;
	struct vs_event ev;

	/* VM_NEW without its nest */
	m = ntf(VCPUSTAT_CMD_VM_NEW_NTF, 1);
	T_EQ(vs_event_decode(nlmsg_hdr(m), &ev), -EPROTO);
	vs_event_release(&ev);
	nlmsg_free(m);
	/* VM nest without the id */
	m = ntf(VCPUSTAT_CMD_VM_NEW_NTF, 1);
	{
		struct nlattr *n = nla_nest_start(m, VCPUSTAT_A_VM);

		nla_put_u32(m, VCPUSTAT_VM_A_PID, 1);
		nla_nest_end(m, n);
	}
	T_EQ(vs_event_decode(nlmsg_hdr(m), &ev), -EPROTO);
	vs_event_release(&ev);
	nlmsg_free(m);
	/* a u64 attribute too short */
	m = ntf(VCPUSTAT_CMD_DELTA_NTF, 1);
	{
		struct nlattr *n = nla_nest_start(m, VCPUSTAT_A_VCPU);

		nla_put_u32(m, VCPUSTAT_VCPU_A_ID, 1);
		nla_put_u32(m, VCPUSTAT_VCPU_A_EXITS, 1);
		nla_nest_end(m, n);
	}
	T_EQ(vs_event_decode(nlmsg_hdr(m), &ev), -EPROTO);
	vs_event_release(&ev);
	nlmsg_free(m);
	/* a command from the future */
	m = ntf(VCPUSTAT_CMD_MAX + 1, 1);
	T_EQ(vs_event_decode(nlmsg_hdr(m), &ev), -EOPNOTSUPP);
	vs_event_release(&ev);
	nlmsg_free(m);
}

T_TEST(vsnl_snapshot_copy_find)
{
	struct vs_snapshot a, b;

	t_snapshot(&a, 3, 2);
	T_EQ(vs_snapshot_copy(&b, &a), 0);
	vs_snapshot_free(&a);		/* b must not share memory with a */
	T_EQ(b.nr_vms, 3);
	T_ASSERT(vs_snapshot_find_vm(&b, 2) == &b.vms[1]);
	T_ASSERT(!vs_snapshot_find_vm(&b, 4));
	T_ASSERT(vs_snapshot_find_vcpu(&b, 3, 1) == &b.vms[2].vcpus[1]);
	T_ASSERT(!vs_snapshot_find_vcpu(&b, 3, 2));
	T_EQ(b.vms[2].vcpus[1].reasons[1].code, 0x7b);
	T_EQ(b.vms[2].vcpus[1].residency[1].cpu, 3);
	vs_snapshot_free(&b);
	T_ASSERT(!b.vms && !b.nr_vms);
	vs_snapshot_free(&b);		/* idempotent */
	t_snapshot(&a, 0, 0);
	T_EQ(vs_snapshot_copy(&b, &a), 0);
	T_ASSERT(!vs_snapshot_find_vm(&b, 1));
	vs_snapshot_free(&a);
	vs_snapshot_free(&b);
}

T_TEST(view_deltas_and_reset)
{
	struct vs_snapshot p, c;
	const struct vs_vcpu *cur, *prev;
	struct vdelta d;
	struct rtab rt = { 0 };
	uint64_t tc;

	t_snapshot(&p, 1, 2);
	t_snapshot(&c, 1, 2);
	c.ts_ns = p.ts_ns + 2000000000ull;
	/* vCPU 0: +30 io exits; vCPU 1: reset (counters went back) */
	c.vms[0].vcpus[0].reasons[1].count += 30;
	c.vms[0].vcpus[0].exits += 30;
	c.vms[0].vcpus[1].exits = 5;
	T_ASSERT(snap_interval_s(&c, &p) == 2.0);
	cur = &c.vms[0].vcpus[0];
	prev = vcpu_prev(cur, &p);
	T_ASSERT(prev == &p.vms[0].vcpus[0]);
	vcpu_delta(cur, prev, &d);
	T_EQ(d.exits, 30);
	T_EQ(d.migrations, 0);
	T_EQ(vcpu_top_reason(cur, prev, &tc)->code, 0x7b);
	T_EQ(tc, 30);
	/* without a previous snapshot: the biggest overall */
	T_EQ(vcpu_top_reason(cur, NULL, &tc)->code, 0x7ff);
	T_EQ(tc, 7000);
	/* reset vCPU: no previous, whole counters are the delta */
	T_ASSERT(!vcpu_prev(&c.vms[0].vcpus[1], &p));
	vcpu_delta(&c.vms[0].vcpus[1], NULL, &d);
	T_EQ(d.exits, 5);
	T_EQ(vs_delta(3, 10), 3);
	T_EQ(vs_delta(10, 3), 7);

	T_EQ(rtab_add_vcpu(&rt, cur, prev), 0);
	T_EQ(rtab_add_vcpu(&rt, &c.vms[0].vcpus[1], NULL), 0);
	T_EQ(rt.n, 7);
	rtab_sort(&rt, RS_RATE);
	T_EQ(rt.v[0].code, 0x7ff);	/* 7000 from the reset vCPU */
	T_EQ(rt.v[0].d_count, 7000);
	rtab_sort(&rt, RS_NAME);
	T_EQ(rt.v[0].code, 0x7ff);			/* "0x7ff" < "cpuid" */
	rtab_sort(&rt, RS_COUNT);
	T_EQ(rt.v[0].count, 2 * 7000);
	/* min over vCPUs ignores never-timed reasons; max is the max */
	for (size_t i = 0; i < rt.n; i++)
		if (rt.v[i].code == 0x72) {
			T_EQ(rt.v[i].time_min_ns, 100);
			T_EQ(rt.v[i].time_max_ns, 9000);
			T_ASSERT(rstat_avg_ns(&rt.v[i]) == 500.0);
		}
	rtab_free(&rt);
	vs_snapshot_free(&p);
	vs_snapshot_free(&c);
}
