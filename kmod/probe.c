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
 * Exits are counted in the kvm_exit probe, keyed by the same (isa, code)
 * the kvm_exit event records. Exit time runs from kvm_exit to the vCPU's
 * next kvm_entry, so it includes any userspace handling (QEMU emulating a
 * port) and run-queue wait before KVM_RUN resumes. The clock is
 * ktime_get_mono_fast_ns(): global and monotonic, because on SVM up to 6.4
 * the exit probe and the next entry may run on different CPUs, and it
 * keeps its resolution where sched_clock() falls back to jiffies (an
 * unstable TSC, as under TCG). Migrations are counted
 * at kvm_entry: an entry on another CPU than the previous entry.
 */
#include <linux/ktime.h>
#include <linux/tracepoint.h>
#include "compat.h"
#include "vcpustat.h"

static struct vs_reason *vs_reason_slot(struct vs_vcpu *vc, u32 isa, u32 code)
{
	/* Fibonacci hashing spreads SVM's 0x60..0x9f and 0x400 codes. */
	u32 i = (code * 0x9e3779b1U) >> (32 - ilog2(VS_NR_REASONS));
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

/* Zero the counters; runs in this vCPU's own probe (single writer). */
static void vs_vcpu_apply_reset(struct vs_vcpu *vc, u32 req)
{
	memset_startat(vc, 0, exits);
	memset(vc->residency, 0, nr_cpu_ids * sizeof(vc->residency[0]));
	/* Zeroes first: vs_vcpu_reset_pending() readers then see them. */
	smp_store_release(&vc->reset_done, req);
}

static __always_inline void __vs_vcpu_account_exit(struct vs_vcpu *vc,
						   u32 isa, u32 code, u64 now)
{
	u32 req = READ_ONCE(vc->reset_req);
	struct vs_reason *r;

	if (unlikely(req != vc->reset_done))
		vs_vcpu_apply_reset(vc, req);

	r = vs_reason_slot(vc, isa, code);
	WRITE_ONCE(r->count, r->count + 1);
	WRITE_ONCE(vc->exits, vc->exits + 1);
	vc->pending = r;
	vc->exit_ts = now;
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
}

static __always_inline void __vs_vcpu_account_entry(struct vs_vcpu *vc,
						    int cpu, u64 now)
{
	int prev = vc->last_cpu;

	if (vc->pending) {
		/* Timing may have been switched on or off in between. */
		if (now && vc->exit_ts)
			vs_account_time(vc, now);
		vc->pending = NULL;
	}
	if (unlikely(prev != cpu)) {
		if (prev >= 0) {
			u32 dist = vs_topo_distance(prev, cpu);

			WRITE_ONCE(vc->migr[dist], vc->migr[dist] + 1);
			WRITE_ONCE(vc->last_move, VS_MOVE(prev, cpu, dist));
			/* Last: the tick worker reads it before last_move. */
			smp_store_release(&vc->migrations, vc->migrations + 1);
		}
		vc->last_cpu = cpu;
	}
	WRITE_ONCE(vc->residency[cpu], vc->residency[cpu] + 1);
	WRITE_ONCE(vc->entries, vc->entries + 1);
	if (unlikely(vc->tid != current->pid))
		WRITE_ONCE(vc->tid, current->pid);
}

/*
 * Out-of-line copies for callers other than the probes: the accounting
 * micro-benchmark (bench/ubench) measures exactly the bodies inlined above.
 */
void vs_vcpu_account_exit(struct vs_vcpu *vc, u32 isa, u32 code, u64 now)
{
	__vs_vcpu_account_exit(vc, isa, code, now);
}

void vs_vcpu_account_entry(struct vs_vcpu *vc, int cpu, u64 now)
{
	__vs_vcpu_account_entry(vc, cpu, now);
}

/* First exit of a vCPU: decide once whether its exit codes can be read. */
static noinline void vs_vcpu_set_isa(struct vs_vcpu *vc,
				     const struct kvm_vcpu *vcpu, u32 isa)
{
	if (isa == VCPUSTAT_ISA_SVM)
		vc->layout_ok = vs_svm_layout_ok(vcpu);
	else
		vc->layout_ok = isa == VCPUSTAT_ISA_VMX;
	if (!vc->layout_ok)
		pr_err_once("vcpustat: cannot validate the exit reason source of this kernel (isa %u); exits are counted as unknown\n",
			    isa);
	WRITE_ONCE(vc->isa, isa);
}

static void vs_probe_exit(void *data, struct kvm_vcpu *vcpu, u32 isa)
{
	struct vs_vcpu *vc = vs_vcpu_get(vcpu, true);
	u32 code = VCPUSTAT_CODE_UNKNOWN;

	if (!vc)
		return;
	if (unlikely(vc->isa != isa))
		vs_vcpu_set_isa(vc, vcpu, isa);
	if (likely(vc->layout_ok)) {
		if (isa == VCPUSTAT_ISA_SVM)
			code = vs_svm_exit_code(vcpu);
		else
			code = vs_vmx_exit_code();
	}
	if (unlikely(code == VCPUSTAT_CODE_UNKNOWN))
		this_cpu_inc(vs_pcpu_stats.bad_layout);
	__vs_vcpu_account_exit(vc, isa, code,
			       READ_ONCE(vs_cfg.timing) ?
			       ktime_get_mono_fast_ns() : 0);
}

static void vs_probe_entry(void *data, struct kvm_vcpu *vcpu)
{
	struct vs_vcpu *vc = vs_vcpu_get(vcpu, false);

	if (!vc)
		return;
	__vs_vcpu_account_entry(vc, smp_processor_id(),
				vc->pending && READ_ONCE(vs_cfg.timing) ?
				ktime_get_mono_fast_ns() : 0);
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

int vs_probes_register(void)
{
	int ret;

	ret = tracepoint_probe_register(&__tracepoint_kvm_exit,
					vs_probe_exit, NULL);
	if (ret)
		return ret;
	ret = tracepoint_probe_register(&__tracepoint_kvm_entry,
					vs_entry_probe(), NULL);
	if (ret) {
		tracepoint_probe_unregister(&__tracepoint_kvm_exit,
					    vs_probe_exit, NULL);
		tracepoint_synchronize_unregister();
	}
	return ret;
}

void vs_probes_unregister(void)
{
	tracepoint_probe_unregister(&__tracepoint_kvm_entry,
				    vs_entry_probe(), NULL);
	tracepoint_probe_unregister(&__tracepoint_kvm_exit,
				    vs_probe_exit, NULL);
	/* No probe may still run when the caller frees what they touch. */
	tracepoint_synchronize_unregister();
}
