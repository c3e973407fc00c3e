/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The time budget's writer: every event of a vCPU (kvm_exit, kvm_entry,
 * KVM_RUN's start and end) closes the interval it had open into that
 * interval's state and opens the next (the states: uapi vcpustat.h).
 *
 * Wait is read, not hooked: current->sched_info.run_delay grows only while
 * the task is runnable and not running, and it is current whenever the
 * task runs, so its change between two events of the vCPU thread is the
 * run-queue wait inside that interval. Nothing is added to the scheduler's
 * path: other tasks pay nothing. Halting is read the same way, from KVM's
 * own halt_poll_*_ns and halt_wait_ns, which move only inside an EXIT
 * interval (kvm_vcpu_halt() runs between a kvm_exit and the next entry or
 * KVM_RUN return).
 *
 * Context: the probes and KVM_RUN's hooks (probe_run.c) of one vCPU,
 * preemption off, serialized by vcpu->mutex (kvm_vcpu_ioctl() holds it
 * across kvm_userspace_exit too, which acts only on the vCPU of its own
 * thread's last end). Readers (budget.c) retry on @bseq.
 */
#ifndef VCPUSTAT_BUDGET_H
#define VCPUSTAT_BUDGET_H

#include "compat.h"
#include "vcpustat.h"

static __always_inline u64 vs_halt_poll_ns(const struct kvm_vcpu *vcpu)
{
	return READ_ONCE(vcpu->stat.generic.halt_poll_success_ns) +
	       READ_ONCE(vcpu->stat.generic.halt_poll_fail_ns);
}

static __always_inline u64 vs_halt_wait_ns(const struct kvm_vcpu *vcpu)
{
	return READ_ONCE(vcpu->stat.generic.halt_wait_ns);
}

/*
 * An EXIT interval in which KVM halted the vCPU: @d ns of it were not
 * wait. Wait inside the halt is in KVM's halt counters too (the woken
 * task queues inside kvm_vcpu_block()): it counts once, as wait, taken
 * from halted time first, then from polling. Returns the ns left for EXIT.
 */
static noinline u64 vs_budget_halted(struct vs_vcpu *vc, u64 d, u64 w,
				     u64 poll, u64 halt)
{
	u64 hp = poll - vc->bpoll, hw = halt - vc->bhalt, x;

	vc->bpoll = poll;
	vc->bhalt = halt;
	x = min(w, hw);
	hw -= x;
	w -= x;
	hp -= min(w, hp);
	hw = min(hw, d);
	d -= hw;
	hp = min(hp, d);
	d -= hp;
	vc->budget[VCPUSTAT_STATE_HALT] += hw;
	vc->budget[VCPUSTAT_STATE_POLL] += hp;
	return d;
}

/* An EXIT interval of @d ns with @w of wait: what is left for EXIT. */
static __always_inline u64 vs_budget_exit_halts(struct vs_vcpu *vc,
						const struct kvm_vcpu *vcpu,
						u64 d, u64 w)
{
	u64 poll = vs_halt_poll_ns(vcpu), halt = vs_halt_wait_ns(vcpu);

	if (unlikely(poll != vc->bpoll || halt != vc->bhalt))
		d = vs_budget_halted(vc, d, w, poll, halt);
	return d;
}

/* Close the open interval at @now, run_delay @rd. */
static __always_inline void vs_budget_close(struct vs_vcpu *vc,
					    const struct kvm_vcpu *vcpu,
					    u64 now, u64 rd)
{
	u64 d = now > vc->bsince ? now - vc->bsince : 0;
	u64 w = rd - vc->brd + vc->bdebt;

	/*
	 * run_delay runs on the scheduler's clock, the interval on ours:
	 * wait beyond the interval is carried to the next one, so the
	 * states still sum to wall time.
	 */
	vc->bdebt = 0;
	if (unlikely(w > d)) {
		vc->bdebt = w - d;
		w = d;
	}
	vc->budget[VCPUSTAT_STATE_WAIT] += w;
	d -= w;
	switch (vc->bstate) {
	case VCPUSTAT_STATE_EXIT:
		/* No vCPU (__vs_budget_switch_out()): only its own data. */
		if (vcpu)
			d = vs_budget_exit_halts(vc, vcpu, d, w);
		if (vc->pending)
			vc->pending->handle_ns += d;
		break;
	case VCPUSTAT_STATE_USER:
		vc->user[vc->buser].ns += d;
		break;
	}
	vc->budget[vc->bstate] += d;
}

/*
 * The budget was off, reset, or never started for this vCPU: start it
 * here, counting nothing before.
 */
static noinline void vs_budget_restart(struct vs_vcpu *vc,
				       const struct kvm_vcpu *vcpu, u32 gen)
{
	vc->bgen = gen;
	vc->bdebt = 0;
	vc->bpoll = vs_halt_poll_ns(vcpu);
	vc->bhalt = vs_halt_wait_ns(vcpu);
}

/*
 * The vCPU's event at @now: close the open interval, open @next. The
 * caller holds @bseq for writing (so that it can set more of the new
 * interval in the same section).
 */
static __always_inline void __vs_budget_switch(struct vs_vcpu *vc,
					       const struct kvm_vcpu *vcpu,
					       u32 next, u64 now)
{
	u64 rd = vs_run_delay();
	u32 gen = READ_ONCE(vs_budget_gen);

	if (likely(vc->bgen == gen))
		vs_budget_close(vc, vcpu, now, rd);
	else
		vs_budget_restart(vc, vcpu, gen);
	vc->bstate = next;
	vc->bsince = now;
	vc->brd = rd;
}

static __always_inline void vs_budget_switch(struct vs_vcpu *vc,
					     const struct kvm_vcpu *vcpu,
					     u32 next, u64 now)
{
	raw_write_seqcount_begin(&vc->bseq);
	__vs_budget_switch(vc, vcpu, next, now);
	raw_write_seqcount_end(&vc->bseq);
}

/*
 * The same, out of KVM_RUN (kvm_userspace_exit, probe_run.c), where the
 * vCPU is not in hand: no vCPU state is read, and a generation the caller
 * did not check is left alone. Inside @bseq.
 */
static __always_inline void __vs_budget_switch_out(struct vs_vcpu *vc,
						   u32 next, u64 now)
{
	u64 rd = vs_run_delay();

	if (vc->bgen != READ_ONCE(vs_budget_gen))
		return;
	vs_budget_close(vc, NULL, now, rd);
	vc->bstate = next;
	vc->bsince = now;
	vc->brd = rd;
}

#endif /* VCPUSTAT_BUDGET_H */
