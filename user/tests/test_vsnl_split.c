// SPDX-License-Identifier: GPL-2.0
/*
 * GET_VCPU dump messages of a vCPU split across messages (residency on
 * more CPUs than one message holds), decoded and joined by
 * vs_vcpu_msg_decode() exactly as vs_snapshot_get() feeds it: messages in
 * dump order, each continued part appended to the vCPU before it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "harness.h"
#include "snapshot.h"
#include "vsnl.h"

#define NR_CPUS_DEBIAN	8192	/* CONFIG_NR_CPUS of Debian's kernels */

/* One GET_VCPU message: residency of CPUs [from, to) stepping @step. */
static struct nl_msg *part(uint64_t vm_id, uint32_t idx, bool continued,
			   uint32_t from, uint32_t to, uint32_t step)
{
	struct nl_msg *m = nlmsg_alloc_size(256 * 1024);
	struct nlattr *v, *r, *e;

	T_ASSERT(m);
	T_ASSERT(genlmsg_put(m, 0, 0, 0x20, 0, NLM_F_MULTI,
			     VCPUSTAT_CMD_GET_VCPU, VCPUSTAT_GENL_VERSION));
	T_EQ(nla_put_u64(m, VCPUSTAT_A_VM_ID, vm_id), 0);
	T_EQ(nla_put_u32(m, VCPUSTAT_A_PID, 4000), 0);
	v = nla_nest_start(m, VCPUSTAT_A_VCPU);
	nla_put_u32(m, VCPUSTAT_VCPU_A_ID, idx + 100);
	nla_put_u32(m, VCPUSTAT_VCPU_A_IDX, idx);
	nla_put_u32(m, VCPUSTAT_VCPU_A_TID, 4001);
	if (continued) {
		T_EQ(nla_put_flag(m, VCPUSTAT_VCPU_A_CONTINUED), 0);
	} else {
		nla_put_u64(m, VCPUSTAT_VCPU_A_EXITS, 123456);
		nla_put_u64(m, VCPUSTAT_VCPU_A_MIGRATIONS, 77);
	}
	r = nla_nest_start(m, VCPUSTAT_VCPU_A_RESIDENCY);
	for (uint32_t c = from; c < to; c += step) {
		e = nla_nest_start(m, VCPUSTAT_RESIDENCY_ENTRY);
		T_EQ(nla_put_u32(m, VCPUSTAT_RESIDENCY_A_CPU, c), 0);
		T_EQ(nla_put_u64(m, VCPUSTAT_RESIDENCY_A_EXITS, c + 1), 0);
		nla_nest_end(m, e);
	}
	nla_nest_end(m, r);
	nla_nest_end(m, v);
	return m;
}

/* Decode @m as the next message of a dump whose vCPUs so far are @v[0..*n). */
static int feed(struct vs_vcpu *v, size_t *n, struct nl_msg *m)
{
	int r;

	memset(&v[*n], 0, sizeof(v[*n]));
	r = vs_vcpu_msg_decode(nlmsg_hdr(m), *n ? &v[*n - 1] : NULL, &v[*n]);
	nlmsg_free(m);
	if (r == 0)
		(*n)++;
	return r;
}

T_TEST(vsnl_split_vcpu_joins)
{
	struct vs_vcpu v[3];
	size_t n = 0;

	T_EQ(feed(v, &n, part(7, 1, false, 0, 4, 3)), 0);	/* CPUs 0, 3 */
	T_EQ(feed(v, &n, part(7, 1, true, 700, 702, 1)), 1);
	T_EQ(feed(v, &n, part(7, 1, true, 8191, 8192, 1)), 1);
	T_EQ(feed(v, &n, part(7, 2, false, 5, 6, 1)), 0);
	T_EQ(n, 2);
	/* The first part's counters stay; the parts add residency only. */
	T_EQ(v[0].exits, 123456);
	T_EQ(v[0].migrations, 77);
	T_EQ(v[0].idx, 1);
	T_EQ(v[0].nr_residency, 5);
	T_EQ(v[0].residency[0].cpu, 0);
	T_EQ(v[0].residency[1].cpu, 3);
	T_EQ(v[0].residency[2].cpu, 700);
	T_EQ(v[0].residency[3].cpu, 701);
	T_EQ(v[0].residency[3].exits, 702);
	T_EQ(v[0].residency[4].cpu, 8191);
	T_EQ(v[0].residency[4].exits, 8192);
	T_EQ(v[1].idx, 2);
	T_EQ(v[1].nr_residency, 1);
	for (size_t i = 0; i < n; i++)
		vs_vcpu_free_arrays(&v[i]);
}

/* A vCPU that ran on every one of 8192 CPUs, in parts of 500 entries. */
T_TEST(vsnl_split_vcpu_8192_cpus)
{
	struct vs_vcpu v[2];
	uint64_t sum = 0;
	size_t n = 0;
	uint32_t c;

	T_EQ(feed(v, &n, part(3, 0, false, 0, 500, 1)), 0);
	for (c = 500; c < NR_CPUS_DEBIAN; c += 500)
		T_EQ(feed(v, &n, part(3, 0, true, c,
				      c + 500 < NR_CPUS_DEBIAN ? c + 500 :
				      NR_CPUS_DEBIAN, 1)), 1);
	T_EQ(n, 1);
	T_EQ(v[0].nr_residency, NR_CPUS_DEBIAN);
	for (size_t i = 0; i < v[0].nr_residency; i++) {
		T_EQ(v[0].residency[i].cpu, i);
		sum += v[0].residency[i].exits;
	}
	T_EQ(sum, (uint64_t)NR_CPUS_DEBIAN * (NR_CPUS_DEBIAN + 1) / 2);
	for (size_t i = 0; i < n; i++)
		vs_vcpu_free_arrays(&v[i]);
}

/* A continued part must follow its own vCPU, CPUs going up. */
T_TEST(vsnl_split_vcpu_rejects_strays)
{
	struct vs_vcpu v[2];
	size_t n = 0;

	T_EQ(feed(v, &n, part(7, 1, true, 9, 10, 1)), -EPROTO);
	T_EQ(n, 0);
	T_EQ(feed(v, &n, part(7, 1, false, 0, 10, 1)), 0);
	T_EQ(feed(v, &n, part(7, 2, true, 20, 21, 1)), -EPROTO);
	T_EQ(feed(v, &n, part(8, 1, true, 20, 21, 1)), -EPROTO);
	T_EQ(feed(v, &n, part(7, 1, true, 9, 12, 1)), -EPROTO);
	T_EQ(n, 1);
	/* Nothing of the rejected parts was appended. */
	T_EQ(v[0].nr_residency, 10);
	for (size_t i = 0; i < n; i++)
		vs_vcpu_free_arrays(&v[i]);
}
