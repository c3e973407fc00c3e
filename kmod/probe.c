// SPDX-License-Identifier: GPL-2.0
/*
 * The hot path: probes on KVM's kvm_exit and kvm_entry tracepoints.
 *
 * Context: tracepoint probes run with preemption disabled (VMX: both events
 * with IRQs off inside vmx_vcpu_run(); SVM: kvm_entry with IRQs off in
 * svm_vcpu_run(), kvm_exit in svm_handle_exit() with IRQs and preemption
 * re-enabled around it up to 6.4, inside svm_vcpu_run() from 6.5). Probes
 * of one vCPU never run concurrently: KVM holds vcpu->mutex across KVM_RUN.
 * So everything below writes only its own vCPU's data, takes no lock and
 * allocates nothing once the vCPU is known (first sight: track.c).
 *
 * Everything is counted in the kvm_exit probe: exits keyed by the same
 * (isa, code) the kvm_exit event records, the CPU each exit was handled on
 * (residency), and migrations (an exit on another CPU than the previous
 * exit). kvm_entry is hooked only while exit timing is on, because timing
 * is all it is needed for: every tracepoint probe costs a dispatch, and
 * counting at entry as well would double it (BENCHMARKS.md).
 *
 * kvm_entry is also hooked while the time budget (budget.h) is on, which
 * is the default: each event closes the interval the vCPU had open.
 *
 * Exit time runs from kvm_exit to the vCPU's next kvm_entry, so it
 * includes any userspace handling (QEMU emulating a port) and run-queue
 * wait before KVM_RUN resumes (the budget splits it). The clock is
 * vs_clock_ns() (clock.c): one base for all CPUs, because on SVM up to 6.4
 * the exit probe and the next entry may run on different CPUs; the TSC
 * where the kernel trusts it, else ktime_get_mono_fast_ns(), which keeps
 * its resolution where sched_clock() falls back to jiffies.
 */
#include <linux/ktime.h>
#include <linux/mutex.h>
#include <linux/tracepoint.h>
#include "budget.h"
#include "compat.h"
#include "detail.h"
#ifndef VS_KVM_ARM64
#include "reason_svm.h"
#endif
#include "vcpustat.h"

/* Fibonacci hashing spreads SVM's 0x60..0x9f and 0x400 codes. */
static __always_inline u32 vs_reason_hash(u32 code)
{
	return (code * 0x9e3779b1U) >> (32 - ilog2(VS_NR_REASONS));
}

/* The rest of the open-addressing walk: a collision, or a new reason. */
static noinline struct vs_reason *vs_reason_slot(struct vs_vcpu *vc,
						 u32 isa, u32 code)
{
	u32 i = vs_reason_hash(code);
	u32 n;

	for (n = 0; n < VS_NR_REASONS; n++) {
		struct vs_reason *r = &vc->reasons[i];

		if (r->code == code && r->isa == isa)
			return r;
		if (!r->isa) {
			r->code = code;
			/* Publish code before isa: readers skip isa == 0. */
			smp_store_release(&r->isa, isa);
			return r;
		}
		i = (i + 1) & (VS_NR_REASONS - 1);
	}
	if (!vc->other.isa) {
		vc->other.code = VCPUSTAT_CODE_OTHER;
		/* As above: code before isa. */
		smp_store_release(&vc->other.isa, isa);
	}
	return &vc->other;
}

/*
 * A reason's slot: almost always its home slot, checked inline. A vCPU has
 * one isa, so any used slot (isa != 0) of this code is the one.
 */
static __always_inline struct vs_reason *
vs_reason_get(struct vs_vcpu *vc, u32 code)
{
	struct vs_reason *r = &vc->reasons[vs_reason_hash(code)];

	if (likely(r->code == code && r->isa))
		return r;
	return vs_reason_slot(vc, vc->isa, code);
}

/* Zero the counters; runs in this vCPU's own probe (single writer). */
static noinline void vs_vcpu_apply_reset(struct vs_vcpu *vc, u32 req)
{
	/*
	 * The details first (the zeroing below leaves them alone): here,
	 * once, rather than a check at every exit's details. Readers skip
	 * them until reset_done is req.
	 */
	vs_detail_restart(vc, req);
	raw_write_seqcount_begin(&vc->bseq);
	memset_startat(vc, 0, exits);
	/* The budget starts again at this exit (0: no generation). */
	vc->bgen = 0;
	raw_write_seqcount_end(&vc->bseq);
	memset(vc->residency, 0, nr_cpu_ids * sizeof(vc->residency[0]));
	/* Zeroes first: vs_vcpu_reset_pending() readers then see them. */
	smp_store_release(&vc->reset_done, req);
}

/* An exit on another CPU than the previous one (or the first exit). */
static noinline void vs_vcpu_moved(struct vs_vcpu *vc, int cpu)
{
	int prev = vc->last_cpu;

	if (prev >= 0) {
		u32 dist = vs_topo_distance(prev, cpu);

		WRITE_ONCE(vc->migr[dist], vc->migr[dist] + 1);
		WRITE_ONCE(vc->last_move, VS_MOVE(prev, cpu, dist));
		/* Last: the tick worker reads it before last_move. */
		smp_store_release(&vc->migrations, vc->migrations + 1);
	}
	WRITE_ONCE(vc->last_cpu, cpu);
}

/*
 * A timed exit's start. With timing_every = N > 1, the number of exits to
 * skip before the next timed one is drawn uniformly from 0..2N-2 (mean
 * N-1): one exit in N is timed on average, and at random, so no periodic
 * exit pattern can alias with the sampling. Skipped exits cost a test and
 * a decrement, and no clock read; the kvm_entry probe ignores them.
 */
static noinline u64 vs_exit_stamp(struct vs_vcpu *vc, u64 now)
{
	u32 every = READ_ONCE(vs_cfg.timing_every);

	if (every > 1) {
		u32 x = vc->rng;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		vc->rng = x;
		vc->time_skip = x % (2 * every - 1);
	}
	return now ?: vs_clock_ns();
}

/* @vc->isa is set (at its first exit, vs_exit_code_slow()). */
static __always_inline void __vs_vcpu_account_exit(struct vs_vcpu *vc,
						   const struct kvm_vcpu *vcpu,
						   u32 code, int cpu)
{
	u32 req = READ_ONCE(vc->reset_req);
	struct vs_reason *r;
	u64 now = 0;

	if (unlikely(req != vc->reset_done))
		vs_vcpu_apply_reset(vc, req);
	/* Before pending changes: an open EXIT is the previous reason's. */
	if (READ_ONCE(vs_cfg.budget)) {
		now = vs_clock_ns();
		vs_budget_switch(vc, vcpu, VCPUSTAT_STATE_EXIT, now);
	}

	r = vs_reason_get(vc, code);
	WRITE_ONCE(r->count, r->count + 1);
	WRITE_ONCE(vc->exits, vc->exits + 1);
	WRITE_ONCE(vc->residency[cpu], vc->residency[cpu] + 1);
	if (unlikely(vc->last_cpu != cpu))
		vs_vcpu_moved(vc, cpu);
	if (unlikely(vc->tid != current->pid))
		WRITE_ONCE(vc->tid, current->pid);
	/* For the kvm_entry probe: exit_ts stays 0 for an untimed exit. */
	vc->pending = r;
	vc->exit_ts = 0;
	if (READ_ONCE(vs_cfg.timing)) {
		if (likely(!vc->time_skip))
			vc->exit_ts = vs_exit_stamp(vc, now);
		else
			vc->time_skip--;
	}
}

static void vs_account_time(struct vs_vcpu *vc, u64 now)
{
	struct vs_reason *r = vc->pending;
	u64 t = now > vc->exit_ts ? now - vc->exit_ts : 0;
	u32 b = t ? min_t(u32, ilog2(t), VCPUSTAT_HIST_BUCKETS - 1) : 0;

	WRITE_ONCE(vc->hist[b], vc->hist[b] + 1);
	WRITE_ONCE(vc->time_sum, vc->time_sum + t);
	WRITE_ONCE(vc->timed, vc->timed + 1);
	if (!r->timed || t < r->time_min)
		WRITE_ONCE(r->time_min, t);
	if (t > r->time_max)
		WRITE_ONCE(r->time_max, t);
	WRITE_ONCE(r->time_sum, r->time_sum + t);
	/* timed last: a reader seeing it non-zero sees a valid min. */
	smp_store_release(&r->timed, r->timed + 1);
	if (static_branch_unlikely(&vs_detail_on))
		vs_detail_time(vc, r, t);
}

/*
 * The vCPU enters the guest: the budget's interval closes, and so does a
 * timed exit (exit_ts != 0: set together with pending, by its exit).
 */
static __always_inline void __vs_vcpu_account_entry(struct vs_vcpu *vc,
						    const struct kvm_vcpu *vcpu,
						    u64 now)
{
	if (READ_ONCE(vs_cfg.budget))
		vs_budget_switch(vc, vcpu, VCPUSTAT_STATE_GUEST, now);
	if (vc->exit_ts) {
		vs_account_time(vc, now);
		vc->exit_ts = 0;
	}
}

/*
 * Out-of-line copies for callers other than the probes: the accounting
 * micro-benchmark (bench/ubench) measures exactly the bodies inlined below.
 */
void vs_vcpu_account_exit(struct vs_vcpu *vc, const struct kvm_vcpu *vcpu,
			  u32 code, int cpu)
{
	__vs_vcpu_account_exit(vc, vcpu, code, cpu);
}

void vs_vcpu_account_entry(struct vs_vcpu *vc, const struct kvm_vcpu *vcpu,
			   u64 now)
{
	__vs_vcpu_account_entry(vc, vcpu, now);
}

#ifndef VS_KVM_ARM64
/*
 * Exit code of a vCPU not (yet) on the SVM fast path: decide at its first
 * exit whether its codes can be read, then read them or give up.
 */
static noinline u32 vs_exit_code_slow(struct vs_vcpu *vc,
				      const struct kvm_vcpu *vcpu, u32 isa)
{
	if (vc->src == VS_SRC_UNSET) {
		if (isa == VCPUSTAT_ISA_SVM && vs_svm_layout_ok(vcpu))
			vc->src = VS_SRC_SVM;
		else if (isa == VCPUSTAT_ISA_VMX && !vs_vcpu_is_tdx(vcpu))
			vc->src = VS_SRC_VMX;
		else
			vc->src = VS_SRC_NONE;
		if (vc->src == VS_SRC_NONE && isa == VCPUSTAT_ISA_VMX)
			pr_info_once("vcpustat: a TDX guest has no VMCS to read; its exits are counted as unknown\n");
		else if (vc->src == VS_SRC_NONE)
			pr_err_once("vcpustat: cannot validate the exit reason source of this kernel (isa %u); exits are counted as unknown\n",
				    isa);
		WRITE_ONCE(vc->isa, isa);
	}
	if (vc->src == VS_SRC_SVM)
		return vs_svm_exit_code(vcpu);
	if (vc->src == VS_SRC_VMX)
		return vs_vmx_exit_code();
	return VCPUSTAT_CODE_UNKNOWN;
}

static void vs_probe_exit(void *data, struct kvm_vcpu *vcpu, u32 isa)
{
	struct vs_vcpu *vc = vs_vcpu_get(vcpu);
	u32 code;

	if (!vc)
		return;
	if (likely(vc->src == VS_SRC_SVM))
		code = vs_svm_exit_code(vcpu);
	else
		code = vs_exit_code_slow(vc, vcpu, isa);
	if (unlikely(code == VCPUSTAT_CODE_UNKNOWN))
		this_cpu_inc(vs_pcpu_stats.bad_layout);
	__vs_vcpu_account_exit(vc, vcpu, code, smp_processor_id());
	if (static_branch_unlikely(&vs_detail_on))
		vs_detail_exit(vc, vcpu, code, vc->pending);
}

static void vs_probe_entry(void *data, struct kvm_vcpu *vcpu)
{
	/* First sight belongs to kvm_exit: an untracked vCPU has no exit. */
	struct vs_vcpu *vc = vs_vcpu_find(vcpu);

	if (vc && (vc->exit_ts || READ_ONCE(vs_cfg.budget)))
		__vs_vcpu_account_entry(vc, vcpu, vs_clock_ns());
}

/* kvm_entry since 6.9 and in 6.1.149+ (see compat.h). */
static void vs_probe_entry_bool(void *data, struct kvm_vcpu *vcpu,
				bool force_immediate_exit)
{
	vs_probe_entry(data, vcpu);
}

/* The kvm_entry probe matching this kernel's prototype. */
static void *vs_entry_probe(void)
{
	return VS_KVM_ENTRY_HAS_BOOL ? (void *)vs_probe_entry_bool :
				       (void *)vs_probe_entry;
}

#else /* VS_KVM_ARM64 */
/*
 * arm64: kvm_exit(ret, esr_ec, vcpu_pc) fires after local_irq_enable(),
 * before preempt_enable(), inside KVM_RUN: the vCPU is the running one
 * (compat.h). The code is masked as the event masks it.
 */
static void vs_probe_exit(void *data, int ret, unsigned int esr_ec,
			  unsigned long vcpu_pc)
{
	struct kvm_vcpu *vcpu = kvm_get_running_vcpu();
	struct vs_vcpu *vc;

	if (unlikely(!vcpu))
		return;
	vc = vs_vcpu_get(vcpu);
	if (!vc)
		return;
	if (unlikely(vc->src == VS_SRC_UNSET)) {
		vc->src = VS_SRC_ARM64;
		WRITE_ONCE(vc->isa, VCPUSTAT_ISA_ARM64);
	}
	__vs_vcpu_account_exit(vc, vcpu, vs_arm64_exit_code(ret, esr_ec),
			       smp_processor_id());
}

/* kvm_entry(vcpu_pc), with IRQs off just before the guest runs. */
static void vs_probe_entry(void *data, unsigned long vcpu_pc)
{
	struct kvm_vcpu *vcpu = kvm_get_running_vcpu();
	struct vs_vcpu *vc = vcpu ? vs_vcpu_find(vcpu) : NULL;

	if (vc && (vc->exit_ts || READ_ONCE(vs_cfg.budget)))
		__vs_vcpu_account_entry(vc, vcpu, vs_clock_ns());
}

static void *vs_entry_probe(void)
{
	return vs_probe_entry;
}
#endif /* VS_KVM_ARM64 */

/* What is registered; changed only under vs_probe_mutex. */
static DEFINE_MUTEX(vs_probe_mutex);
static bool vs_attached;		/* the kvm_exit probe: the module is live */
static bool vs_entry_hooked;		/* the kvm_entry probe */

static int vs_entry_hook(bool on)
{
	int ret = 0;

	lockdep_assert_held(&vs_probe_mutex);
	if (on && !vs_entry_hooked) {
		ret = tracepoint_probe_register(vs_tp_kvm_entry,
						vs_entry_probe(), NULL);
		vs_entry_hooked = !ret;
	} else if (!on && vs_entry_hooked) {
		tracepoint_probe_unregister(vs_tp_kvm_entry,
					    vs_entry_probe(), NULL);
		vs_entry_hooked = false;
	}
	return ret;
}

/*
 * Switch exit timing or the budget (SET_CONFIG): the kvm_entry probe is
 * registered only while either is on, and entries are hooked before exits
 * carry a time. Timing off: exits stop carrying one; an exit still open
 * when the entry probe goes stays open until its vCPU's next exit replaces
 * it (or a new entry probe closes it, with its true length). Budget on
 * again: a new generation, so each vCPU's budget restarts at its next
 * event instead of counting the time it was off. Before the module is
 * attached or once it is detaching, only the setting changes.
 */
static int vs_probes_set(bool *setting, bool *other, bool on)
{
	int ret = 0;

	mutex_lock(&vs_probe_mutex);
	if (!on)
		WRITE_ONCE(*setting, false);
	if (vs_attached)
		ret = vs_entry_hook(on || READ_ONCE(*other));
	/* KVM_RUN's hooks serve the budget only; optional (no kprobes). */
	if (!ret && vs_attached && setting == &vs_cfg.budget) {
		if (on)
			vs_run_hook_register();
		else
			vs_run_hook_unregister();
	}
	if (!ret && on && !READ_ONCE(*setting)) {
		if (setting == &vs_cfg.budget)
			WRITE_ONCE(vs_budget_gen, vs_budget_gen + 1 ?: 1);
		WRITE_ONCE(*setting, true);
	}
	mutex_unlock(&vs_probe_mutex);
	return ret;
}

int vs_probes_set_timing(bool on)
{
	return vs_probes_set(&vs_cfg.timing, &vs_cfg.budget, on);
}

int vs_probes_set_budget(bool on)
{
	return vs_probes_set(&vs_cfg.budget, &vs_cfg.timing, on);
}

int vs_probes_register(void)
{
	int ret;

	vs_clock_init();
	ret = vs_tp_lookup();
	if (ret)
		return ret;
	mutex_lock(&vs_probe_mutex);
	ret = vs_entry_hook(READ_ONCE(vs_cfg.timing) ||
			    READ_ONCE(vs_cfg.budget));
	if (!ret) {
		ret = tracepoint_probe_register(vs_tp_kvm_exit,
						vs_probe_exit, NULL);
		if (ret)
			vs_entry_hook(false);
	}
	vs_attached = !ret;
	if (!ret && READ_ONCE(vs_cfg.budget))
		vs_run_hook_register();
	mutex_unlock(&vs_probe_mutex);
	if (ret) {
		tracepoint_synchronize_unregister();
		vs_tp_release();
	}
	return ret;
}

void vs_probes_unregister(void)
{
	mutex_lock(&vs_probe_mutex);
	vs_attached = false;
	vs_run_hook_unregister();
	tracepoint_probe_unregister(vs_tp_kvm_exit, vs_probe_exit, NULL);
	vs_entry_hook(false);
	mutex_unlock(&vs_probe_mutex);
	/* No probe may still run when the caller frees what they touch. */
	tracepoint_synchronize_unregister();
	vs_run_hook_free();
	vs_tp_release();
}
