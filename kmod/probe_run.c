// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_RUN's start and end, for the time budget's USER and OUT states:
 * without them the time out of KVM_RUN would be indistinguishable from
 * exit handling.
 *
 * x86: KVM loads the guest's FPU state right after vcpu_load() at KVM_RUN's
 * start and puts it back just before vcpu_put() at its end, and says so
 * with the kvm_fpu tracepoint (load 1, put 0). Both fire on the vCPU's
 * thread with the vCPU loaded, so the vCPU is the one whose preempt
 * notifier vcpu_load() put at the head of current->preempt_notifiers (the
 * pointer is only compared with the vCPUs we track). What the end was is
 * said a little later by kvm_userspace_exit (the KVM_EXIT_* and KVM_RUN's
 * return value), after vcpu_put(), when the vCPU can no longer be found
 * that way. So the end opens OUT and leaves a note (its thread and vCPU),
 * and kvm_userspace_exit on that thread takes it, closes that OUT and
 * opens USER of its KVM_EXIT_* when KVM_RUN returned for the VMM to handle
 * an exit, or OUT (a signal, an error, immediate_exit). A note another
 * thread took over in between leaves the interval OUT, never USER by
 * guess, and is counted as missed (STATUS_A_RUN_MISSED).
 *
 * kvm_fpu also fires where KVM loads the guest's FPU for userspace outside
 * KVM_RUN (KVM_GET_MP_STATE with MPX; CET MSRs on newer kernels): that
 * load is no run (wants_to_run is false) and that put, from a vCPU not in
 * EXIT, leaves only a note that the thread's next end replaces. An INIT
 * inside KVM_RUN with MPX puts and loads again: a moment of OUT.
 *
 * These are three tracepoint dispatches per KVM_RUN; the kretprobe on
 * kvm_arch_vcpu_ioctl_run() that x86 used before cost about 650
 * instructions a KVM_RUN (BENCHMARKS.md). arm64 has no such events and
 * keeps the kretprobe: its entry is the start, its return the end and
 * kvm_userspace_exit at once. A kretprobe call that finds no free
 * instance is missed too, and its time stays in the state it was in.
 *
 * Context: tracepoint, kprobe and rethook handlers run with preemption
 * off. kvm_vcpu_ioctl() holds vcpu->mutex across KVM_RUN and its
 * kvm_userspace_exit, and a return acts only on the vCPU of its own
 * thread's last end, so the budget keeps its single writer. The one gap:
 * a KVM_RUN that fails before vcpu_load() (6.12's kvm_mmu_post_init_vm()
 * can) takes the note of a put outside KVM_RUN (above) if that was the
 * thread's last, which may be another vCPU's. Registered while the budget
 * is on; failing to register only loses the two states
 * (STATUS_A_RUN_HOOK = 0).
 */
#include <linux/hash.h>
#include <linux/kprobes.h>
#include <linux/log2.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/tracepoint.h>
#include "budget.h"
#include "vcpustat.h"

static DEFINE_PER_CPU(u64, vs_run_nmissed);
static bool vs_run_registered;

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

/* KVM_RUN starts: KVM's own work until the entry is exit handling. */
static void vs_run_start(struct vs_vcpu *vc, const struct kvm_vcpu *vcpu)
{
	vc->bend = 0;
	vs_budget_switch(vc, vcpu, VCPUSTAT_STATE_EXIT, vs_clock_ns());
}

/* KVM_RUN ends: OUT, until vs_run_named() says what it was. */
static void vs_run_end(struct vs_vcpu *vc, const struct kvm_vcpu *vcpu)
{
	vs_budget_switch(vc, vcpu, VCPUSTAT_STATE_OUT, vs_clock_ns());
	vc->bend = 1;
}

/*
 * KVM_RUN returned @ret with run->exit_reason @reason: the OUT its end
 * opened closes here, and USER of @reason opens (the VMM handles an exit),
 * or OUT again (a signal, an error, immediate_exit: then whatever was open
 * closes, as readers of KVM_RUN's return expect). Closed, not relabelled:
 * a reader never sees a state's time go down. No vCPU state is read, and
 * only a vCPU out of KVM_RUN in the current generation is changed.
 */
static void vs_run_named(struct vs_vcpu *vc, u32 reason, int ret)
{
	bool user = ret >= 0 && reason != KVM_EXIT_INTR;
	u64 now;
	u8 slot;

	if (vc->bgen != READ_ONCE(vs_budget_gen) ||
	    vc->bstate == VCPUSTAT_STATE_EXIT || (user && !vc->bend))
		return;
	vc->bend = 0;
	now = vs_clock_ns();
	raw_write_seqcount_begin(&vc->bseq);
	if (!user) {
		__vs_budget_switch_out(vc, VCPUSTAT_STATE_OUT, now);
	} else {
		__vs_budget_switch_out(vc, VCPUSTAT_STATE_USER, now);
		slot = vs_user_slot(vc, reason);
		vc->buser = slot;
		vc->user[slot].count++;
	}
	raw_write_seqcount_end(&vc->bseq);
}

#ifndef VS_KVM_ARM64
/*
 * The end's note for kvm_userspace_exit, which has no vCPU: the thread and
 * its vCPU, in a slot the thread hashes to. Not per CPU: the thread may be
 * preempted or moved between the two events (vcpu_put() enables
 * preemption), most of all on an over-committed host, where the budget
 * matters most. Written by its thread only, the task last (a seqlock of
 * sorts): a thread that reads its own task before and after the vCPU read
 * the vCPU it wrote, even while another thread takes the slot over. Taken
 * (cleared) by the return, so that no return takes an older end's note.
 * Sized for twice the vCPUs we track, allocated once, freed at unload.
 */
struct vs_run_note {
	struct task_struct *task;
	const struct kvm_vcpu *vcpu;
};

static struct vs_run_note *vs_run_notes;
static unsigned int vs_run_note_bits;

static __always_inline struct vs_run_note *vs_run_note(void)
{
	return &vs_run_notes[hash_ptr(current, vs_run_note_bits)];
}

static __always_inline void vs_run_note_put(const struct kvm_vcpu *vcpu)
{
	struct vs_run_note *n = vs_run_note();

	WRITE_ONCE(n->task, NULL);
	smp_wmb();	/* no reader sees its task with our vCPU */
	WRITE_ONCE(n->vcpu, vcpu);
	smp_wmb();	/* pairs with vs_run_note_take()'s first read */
	WRITE_ONCE(n->task, current);
}

/* This thread's note, taken; NULL: another thread's took its place. */
static __always_inline const struct kvm_vcpu *vs_run_note_take(void)
{
	struct vs_run_note *n = vs_run_note();
	const struct kvm_vcpu *vcpu;

	if (READ_ONCE(n->task) != current)
		return NULL;
	smp_rmb();	/* the vCPU of the task just read, or newer */
	vcpu = READ_ONCE(n->vcpu);
	smp_rmb();	/* still ours after it: it was ours (put's order) */
	return cmpxchg(&n->task, current, NULL) == current ? vcpu : NULL;
}

/* The vCPU vcpu_load() registered last on this thread: compare only. */
static __always_inline struct kvm_vcpu *vs_loaded_vcpu(void)
{
	struct hlist_node *n = READ_ONCE(current->preempt_notifiers.first);

	return n ? container_of(n, struct kvm_vcpu, preempt_notifier.link) :
		   NULL;
}

static void vs_probe_fpu(void *data, int load)
{
	struct kvm_vcpu *vcpu = vs_loaded_vcpu();
	struct vs_vcpu *vc;

	if (!vcpu)
		return;
	/* Every end leaves its note, tracked vCPU or not. */
	if (!load)
		vs_run_note_put(vcpu);
	if (!READ_ONCE(vs_cfg.budget))
		return;
	vc = vs_vcpu_find(vcpu);
	if (!vc)
		return;
	if (load) {
		if (vs_vcpu_wants_to_run(vcpu))
			vs_run_start(vc, vcpu);
		return;
	}
	/* Not from EXIT: KVM_GET_MP_STATE, or KVM_RUN that did not run. */
	if (vc->bstate == VCPUSTAT_STATE_EXIT ||
	    vc->bgen != READ_ONCE(vs_budget_gen))
		vs_run_end(vc, vcpu);
}

static void vs_probe_userspace_exit(void *data, u32 reason, int errno)
{
	const struct kvm_vcpu *vcpu = vs_run_note_take();
	struct vs_vcpu *vc;

	if (!vcpu) {
		this_cpu_inc(vs_run_nmissed);
		return;
	}
	if (!READ_ONCE(vs_cfg.budget))
		return;
	vc = vs_vcpu_find(vcpu);
	if (vc)
		vs_run_named(vc, reason, errno);
}

#define VS_RUN_HOOK_NAME "the kvm_fpu and kvm_userspace_exit tracepoints"

static int vs_run_attach(void)
{
	int err;

	if (!vs_tp_kvm_fpu || !vs_tp_kvm_userspace_exit)
		return -ENOENT;
	if (!vs_run_notes) {
		/* 16 B a slot: 128 KiB for the default 4096 vCPUs, 1 MiB most. */
		unsigned long n = clamp_val(2UL * vs_max_vcpus, 64, 1UL << 16);

		vs_run_note_bits = ilog2(roundup_pow_of_two(n));
		vs_run_notes = kvcalloc(1UL << vs_run_note_bits,
					sizeof(*vs_run_notes), GFP_KERNEL);
		if (!vs_run_notes)
			return -ENOMEM;
	}
	err = tracepoint_probe_register(vs_tp_kvm_userspace_exit,
					vs_probe_userspace_exit, NULL);
	if (err)
		return err;
	err = tracepoint_probe_register(vs_tp_kvm_fpu, vs_probe_fpu, NULL);
	if (err)
		tracepoint_probe_unregister(vs_tp_kvm_userspace_exit,
					    vs_probe_userspace_exit, NULL);
	return err;
}

/* The probes' data outlives them: vs_probes_unregister() synchronizes. */
static void vs_run_detach(void)
{
	tracepoint_probe_unregister(vs_tp_kvm_fpu, vs_probe_fpu, NULL);
	tracepoint_probe_unregister(vs_tp_kvm_userspace_exit,
				    vs_probe_userspace_exit, NULL);
}

static u64 vs_run_kretprobe_missed(void)
{
	return 0;
}

/* At unload, once no probe can run (vs_probes_unregister()). */
void vs_run_hook_free(void)
{
	kvfree(vs_run_notes);
	vs_run_notes = NULL;
}

#else /* VS_KVM_ARM64 */
static int vs_run_enter(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct kvm_vcpu *vcpu = (void *)regs_get_kernel_argument(regs, 0);
	struct vs_vcpu *vc;

	*(struct kvm_vcpu **)ri->data = vcpu;
	if (!READ_ONCE(vs_cfg.budget))
		return 0;
	vc = vs_vcpu_find(vcpu);
	if (vc)
		vs_run_start(vc, vcpu);
	return 0;
}

static int vs_run_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct kvm_vcpu *vcpu = *(struct kvm_vcpu **)ri->data;
	/* An int: only the low 32 bits of the return register are set. */
	int ret = (int)regs_return_value(regs);
	struct vs_vcpu *vc;

	if (!READ_ONCE(vs_cfg.budget))
		return 0;
	vc = vs_vcpu_find(vcpu);
	if (!vc)
		return 0;
	vs_run_end(vc, vcpu);
	vs_run_named(vc, READ_ONCE(vcpu->run->exit_reason), ret);
	return 0;
}

static struct kretprobe vs_run_kretprobe = {
	.kp.symbol_name	= "kvm_arch_vcpu_ioctl_run",
	.entry_handler	= vs_run_enter,
	.handler	= vs_run_return,
	.data_size	= sizeof(struct kvm_vcpu *),
};

static u64 vs_run_missed_before;	/* by earlier registrations */

/* Instances at most: as many vCPUs as we track, within reason (~64 B each). */
#define VS_RUN_MAXACTIVE	4096
#define VS_RUN_HOOK_NAME "a kretprobe on kvm_arch_vcpu_ioctl_run"

static int vs_run_attach(void)
{
	/* A kprobe registered before keeps its address: clear it. */
	vs_run_kretprobe.kp.addr = NULL;
	vs_run_kretprobe.kp.flags = 0;
	/* One instance per vCPU inside KVM_RUN. */
	vs_run_kretprobe.maxactive = min_t(unsigned int, vs_max_vcpus,
					   VS_RUN_MAXACTIVE);
	return register_kretprobe(&vs_run_kretprobe);
}

static void vs_run_detach(void)
{
	/* Waits until no handler runs; instances still out never call one. */
	unregister_kretprobe(&vs_run_kretprobe);
	vs_run_missed_before += vs_run_kretprobe.nmissed;
}

void vs_run_hook_free(void)
{
}

static u64 vs_run_kretprobe_missed(void)
{
	return READ_ONCE(vs_run_missed_before) +
	       (READ_ONCE(vs_run_registered) ?
		READ_ONCE(vs_run_kretprobe.nmissed) : 0);
}
#endif /* VS_KVM_ARM64 */

/*
 * Hooked only while the budget is on (probe.c), so that a module with the
 * budget off pays nothing per KVM_RUN. Called under vs_probe_mutex.
 */
int vs_run_hook_register(void)
{
	int err;

	if (vs_run_registered)
		return 0;
	err = vs_run_attach();
	if (err) {
		pr_warn_once("vcpustat: no KVM_RUN hook, %s (%d): the budget counts time out of KVM_RUN as exit handling\n",
			     VS_RUN_HOOK_NAME, err);
		return err;
	}
	WRITE_ONCE(vs_run_registered, true);
	return 0;
}

void vs_run_hook_unregister(void)
{
	if (!vs_run_registered)
		return;
	vs_run_detach();
	WRITE_ONCE(vs_run_registered, false);
}

bool vs_run_hooked(void)
{
	return READ_ONCE(vs_run_registered);
}

u64 vs_run_missed(void)
{
	u64 n = vs_run_kretprobe_missed();
	int cpu;

	for_each_possible_cpu(cpu)
		n += READ_ONCE(per_cpu(vs_run_nmissed, cpu));
	return n;
}
