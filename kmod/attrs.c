// SPDX-License-Identifier: GPL-2.0
/*
 * Attribute writers shared by the family's replies (netlink.c) and the
 * notifications of the tick (events.c), so that a VM or a vCPU reads the
 * same in a dump and in an event. They only read the tables (track.c).
 */
#include <net/netlink.h>
#include "vcpustat.h"

/* Which VM a notification is about (the header of every event). */
int vs_put_ids(struct sk_buff *skb, const struct vs_vm *vm)
{
	if (nla_put_u64_64bit(skb, VCPUSTAT_A_VM_ID, vm->id, VCPUSTAT_A_PAD) ||
	    nla_put_u32(skb, VCPUSTAT_A_PID, vm->pid))
		return -EMSGSIZE;
	return 0;
}

/* Identity of a vCPU: shared by dumps and notifications. */
int vs_fill_vcpu_ident(struct sk_buff *skb, const struct vs_vcpu *vc)
{
	int cpu = READ_ONCE(vc->last_cpu);

	if (nla_put_u32(skb, VCPUSTAT_VCPU_A_ID, vc->vcpu_id) ||
	    nla_put_u32(skb, VCPUSTAT_VCPU_A_IDX, vc->idx) ||
	    nla_put_u32(skb, VCPUSTAT_VCPU_A_TID, READ_ONCE(vc->tid)) ||
	    nla_put_u32(skb, VCPUSTAT_VCPU_A_ISA, READ_ONCE(vc->isa)) ||
	    nla_put_u32(skb, VCPUSTAT_VCPU_A_RESETS, READ_ONCE(vc->reset_req)))
		return -EMSGSIZE;
	if (cpu >= 0 && nla_put_u32(skb, VCPUSTAT_VCPU_A_PCPU, cpu))
		return -EMSGSIZE;
	return 0;
}

/* VM totals are sums over its vCPUs, computed when asked. */
int vs_fill_vm(struct sk_buff *skb, const struct vs_vm *vm)
{
	struct nlattr *nest = nla_nest_start(skb, VCPUSTAT_A_VM);
	u64 exits = 0, migrations = 0, time = 0;
	const struct vs_vcpu *vc;

	if (!nest)
		return -EMSGSIZE;
	rcu_read_lock();
	list_for_each_entry_rcu(vc, &vm->vcpus, vm_node) {
		if (vs_vcpu_reset_pending(vc))
			continue;
		exits += READ_ONCE(vc->exits);
		migrations += READ_ONCE(vc->migrations);
		time += READ_ONCE(vc->time_sum);
	}
	rcu_read_unlock();
	if (VS_PUT_U64(skb, VCPUSTAT_VM_A_ID, vm->id, VCPUSTAT_VM_A_PAD) ||
	    nla_put_u32(skb, VCPUSTAT_VM_A_PID, vm->pid) ||
	    nla_put_string(skb, VCPUSTAT_VM_A_COMM, vm->comm) ||
	    nla_put_string(skb, VCPUSTAT_VM_A_STATS_ID, vm->stats_id) ||
	    nla_put_u32(skb, VCPUSTAT_VM_A_NR_VCPUS, READ_ONCE(vm->nr_vcpus)) ||
	    VS_PUT_U64(skb, VCPUSTAT_VM_A_EXITS, exits, VCPUSTAT_VM_A_PAD) ||
	    VS_PUT_U64(skb, VCPUSTAT_VM_A_MIGRATIONS, migrations,
		       VCPUSTAT_VM_A_PAD) ||
	    VS_PUT_U64(skb, VCPUSTAT_VM_A_EXIT_TIME_NS, time,
		       VCPUSTAT_VM_A_PAD) ||
	    VS_PUT_U64(skb, VCPUSTAT_VM_A_AGE_NS,
		       ktime_get_ns() - vm->first_seen, VCPUSTAT_VM_A_PAD) ||
	    VS_PUT_U64(skb, VCPUSTAT_VM_A_UNTRACKED_EXITS,
		       vs_vm_untracked(vm), VCPUSTAT_VM_A_PAD)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int vs_fill_user(struct sk_buff *skb, const struct vs_budget_snap *b)
{
	struct nlattr *nest = nla_nest_start(skb, VCPUSTAT_BUDGET_A_USER);
	struct nlattr *entry;
	int i;

	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i <= VS_NR_USER; i++) {
		const struct vs_user *u = &b->user[i];

		if (!u->key)
			continue;
		entry = nla_nest_start(skb, VCPUSTAT_USER_ENTRY);
		if (!entry ||
		    nla_put_u32(skb, VCPUSTAT_USER_A_EXIT_REASON,
				i < VS_NR_USER ? u->key - 1 : VCPUSTAT_USER_OTHER) ||
		    VS_PUT_U64(skb, VCPUSTAT_USER_A_COUNT, u->count,
			       VCPUSTAT_USER_A_PAD) ||
		    VS_PUT_U64(skb, VCPUSTAT_USER_A_NS, u->ns,
			       VCPUSTAT_USER_A_PAD)) {
			nla_nest_cancel(skb, nest);
			return -EMSGSIZE;
		}
		nla_nest_end(skb, entry);
	}
	nla_nest_end(skb, nest);
	return 0;
}

/* The budget as VCPUSTAT_VCPU_A_BUDGET: read now, or @b if given. */
int vs_fill_budget(struct sk_buff *skb, const struct vs_vcpu *vc,
		   const struct vs_budget_snap *b)
{
	struct vs_budget_snap now;
	struct nlattr *nest;
	int i;

	if (!b) {
		vs_budget_read(vc, &now);
		b = &now;
	}
	nest = nla_nest_start(skb, VCPUSTAT_VCPU_A_BUDGET);
	if (!nest)
		return -EMSGSIZE;
	for (i = VCPUSTAT_STATE_GUEST; i <= VCPUSTAT_STATE_MAX; i++)
		if (VS_PUT_U64(skb, VCPUSTAT_BUDGET_A_GUEST_NS + i -
			       VCPUSTAT_STATE_GUEST, b->ns[i],
			       VCPUSTAT_BUDGET_A_PAD))
			goto cancel;
	if (nla_put_u32(skb, VCPUSTAT_BUDGET_A_STATE, b->state) ||
	    VS_PUT_U64(skb, VCPUSTAT_BUDGET_A_OPEN_NS, b->open,
		       VCPUSTAT_BUDGET_A_PAD) ||
	    VS_PUT_U64(skb, VCPUSTAT_BUDGET_A_AT_NS, b->at,
		       VCPUSTAT_BUDGET_A_PAD) ||
	    vs_fill_user(skb, b))
		goto cancel;
	nla_nest_end(skb, nest);
	return 0;
cancel:
	nla_nest_cancel(skb, nest);
	return -EMSGSIZE;
}
