// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_RUN's start and return, for the time budget's USER and OUT states: a
 * kretprobe on kvm_arch_vcpu_ioctl_run(), the one function every arch
 * calls for KVM_RUN with the vcpu as its argument. KVM has no tracepoint
 * at KVM_RUN's start, and kvm_userspace_exit (at its return) does not say
 * which vCPU returned; without these the time out of KVM_RUN would be
 * indistinguishable from exit handling.
 *
 * Context: kprobe and rethook handlers run with preemption off; the
 * vCPU's probes cannot run at the same time (vcpu->mutex), so the budget
 * keeps its single writer. One kretprobe instance is held per vCPU inside
 * KVM_RUN (a halted vCPU holds one while it sleeps); a call that finds
 * none free is missed (counted, STATUS_A_RUN_MISSED) and its time stays in
 * the state it was in. Failing to register (no kprobes) only loses these
 * two states (STATUS_A_RUN_HOOK = 0). Registered while the budget is on.
 */
#include <linux/kprobes.h>
#include "budget.h"
#include "vcpustat.h"

/* A userspace exit's user[] slot: its KVM_EXIT_*, or the last, other. */
static u8 vs_user_slot(struct vs_vcpu *vc, u32 reason)
{
	u8 i;

	for (i = 0; i < VS_NR_USER; i++) {
		u32 key = vc->user[i].key;

		if (key == reason + 1)
			return i;
		if (!key) {
			vc->user[i].key = reason + 1;
			return i;
		}
	}
	vc->user[VS_NR_USER].key = VCPUSTAT_USER_OTHER;
	return VS_NR_USER;
}

static int vs_run_enter(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct kvm_vcpu *vcpu = (void *)regs_get_kernel_argument(regs, 0);
	struct vs_vcpu *vc;

	*(struct kvm_vcpu **)ri->data = vcpu;
	if (!READ_ONCE(vs_cfg.budget))
		return 0;
	vc = vs_vcpu_find(vcpu);
	/* KVM's own work until the entry is exit handling. */
	if (vc)
		vs_budget_switch(vc, vcpu, VCPUSTAT_STATE_EXIT,
				 vs_clock_ns());
	return 0;
}

static int vs_run_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct kvm_vcpu *vcpu = *(struct kvm_vcpu **)ri->data;
	/* An int: only the low 32 bits of the return register are set. */
	int ret = (int)regs_return_value(regs);
	struct vs_vcpu *vc;
	u32 reason;
	u8 slot;

	if (!READ_ONCE(vs_cfg.budget))
		return 0;
	vc = vs_vcpu_find(vcpu);
	if (!vc)
		return 0;
	reason = READ_ONCE(vcpu->run->exit_reason);
	if (ret < 0 || reason == KVM_EXIT_INTR) {
		vs_budget_switch(vc, vcpu, VCPUSTAT_STATE_OUT,
				 vs_clock_ns());
		return 0;
	}
	/* One section: readers never see USER with the previous slot. */
	raw_write_seqcount_begin(&vc->bseq);
	__vs_budget_switch(vc, vcpu, VCPUSTAT_STATE_USER, vs_clock_ns());
	slot = vs_user_slot(vc, reason);
	vc->buser = slot;
	vc->user[slot].count++;
	raw_write_seqcount_end(&vc->bseq);
	return 0;
}

static struct kretprobe vs_run_kretprobe = {
	.kp.symbol_name	= "kvm_arch_vcpu_ioctl_run",
	.entry_handler	= vs_run_enter,
	.handler	= vs_run_return,
	.data_size	= sizeof(struct kvm_vcpu *),
};

static bool vs_run_registered;
static u64 vs_run_missed_before;	/* by earlier registrations */

/* Instances at most: as many vCPUs as we track, within reason (~64 B each). */
#define VS_RUN_MAXACTIVE	4096

/*
 * Hooked only while the budget is on (probe.c), so that a module with the
 * budget off pays nothing per KVM_RUN. Called under vs_probe_mutex.
 */
int vs_run_hook_register(void)
{
	int err;

	if (vs_run_registered)
		return 0;
	/* A kprobe registered before keeps its address: clear it. */
	vs_run_kretprobe.kp.addr = NULL;
	vs_run_kretprobe.kp.flags = 0;
	/* One instance per vCPU inside KVM_RUN. */
	vs_run_kretprobe.maxactive = min_t(unsigned int, vs_max_vcpus,
					   VS_RUN_MAXACTIVE);
	err = register_kretprobe(&vs_run_kretprobe);
	if (err) {
		pr_warn_once("vcpustat: no kretprobe on kvm_arch_vcpu_ioctl_run (%d): the budget counts time out of KVM_RUN as exit handling\n",
			     err);
		return err;
	}
	vs_run_registered = true;
	return 0;
}

void vs_run_hook_unregister(void)
{
	if (!vs_run_registered)
		return;
	/* Waits until no handler runs; instances still out never call one. */
	unregister_kretprobe(&vs_run_kretprobe);
	vs_run_missed_before += vs_run_kretprobe.nmissed;
	vs_run_registered = false;
}

bool vs_run_hooked(void)
{
	return READ_ONCE(vs_run_registered);
}

u64 vs_run_missed(void)
{
	return READ_ONCE(vs_run_missed_before) +
	       (READ_ONCE(vs_run_registered) ?
		READ_ONCE(vs_run_kretprobe.nmissed) : 0);
}
