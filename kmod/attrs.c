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
