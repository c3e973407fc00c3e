// SPDX-License-Identifier: GPL-2.0
/*
 * vs_ubench: cost of vcpustat's per-exit accounting, in the kernel.
 *
 * Linked with kmod/probe.o built from the unmodified kmod/probe.c with the
 * module's own flags (see Kbuild here), this calls vs_vcpu_account_exit()
 * -- the body the kvm_exit probe inlines -- and, with timing on, also
 * vs_vcpu_account_entry() with the entry probe's clock read (the kvm_entry
 * probe is registered only then), on a fake vCPU record, N times per
 * batch; the reference is the same loop calling an empty function of the
 * exit accounting's signature (empty.c). So the net cost with timing on
 * includes both clock reads and the entry accounting; with timing_every=16
 * ("on16") those happen for one exit in 16 on average. Nothing is registered on any
 * tracepoint: this isolates the accounting from the tracepoint dispatch,
 * the vCPU lookup and the exit-code read, which the rig's end-to-end rows
 * include.
 *
 * Each batch runs with interrupts off, timed with ktime_get_mono_fast_ns();
 * under QEMU -icount shift=0 one nanosecond of guest time is one emulated
 * instruction, so the figures are instruction counts there. Results go to
 * the kernel log, one line per variant, parsed by bench/guest.py:
 *   vs_ubench: variant=V codes=C batches=B calls=N med_ns=.. min_ns=.. max_ns=..
 * (per batch of N calls). The module does its work at load time and stays
 * loaded doing nothing until rmmod.
 */
#include <linux/irqflags.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/sched/clock.h>
#include <linux/sort.h>
#include <asm/msr.h>
#include "vcpustat.h"
#include "ubench.h"

/* The symbols probe.o links against, normally from main.c and track.c. */
struct vs_config vs_cfg = { .timing = true, .timing_every = 1 };
DEFINE_PER_CPU(struct vs_pcpu_stats, vs_pcpu_stats);

/* Reached only from the probes, which this module never registers. */
struct hlist_head *vs_vcpu_hash;
unsigned int vs_vcpu_hash_bits;
/* probe_run.c sizes its kretprobe from it; never registered here. */
unsigned int vs_max_vcpus = 1;

struct vs_vcpu *vs_vcpu_first_sight(struct kvm_vcpu *vcpu)
{
	return NULL;
}

struct vs_vcpu *vs_vcpu_stale(struct kvm_vcpu *vcpu, struct vs_vcpu *vc)
{
	return NULL;
}

static unsigned int calls = 20000;
module_param(calls, uint, 0444);
MODULE_PARM_DESC(calls, "exit+entry pairs per batch");
static unsigned int batches = 15;
module_param(batches, uint, 0444);
MODULE_PARM_DESC(batches, "batches per variant (median reported)");

#define MAX_BATCHES	101

/* SVM exit codes of the workloads: CPUID, IOIO, HLT, MSR, NPF. */
static const u32 mix[] = { 0x72, 0x7b, 0x78, 0x7c, 0x400 };

enum fn { FN_EMPTY, FN_ACCOUNT };

/* The budget reads KVM's halt counters from it: all zero here. */
static struct kvm_vcpu *vs_ubench_vcpu;

/*
 * One batch: what the probes do per exit once they have their vCPU
 * (kmod/probe.c). The exit accounting reads the clock itself when timing
 * is on; the entry probe runs only then, with its own clock read.
 */
static noinline u64 vs_ubench_batch(struct vs_vcpu *vc, enum fn fn,
				    bool mixed, u32 n)
{
	unsigned long flags;
	u64 t0, t1;
	u32 i, k = 0;
	int cpu;

	local_irq_save(flags);
	cpu = smp_processor_id();
	t0 = ktime_get_mono_fast_ns();
	if (fn == FN_ACCOUNT) {
		for (i = 0; i < n; i++) {
			u32 code = mixed ? mix[k] : mix[0];

			vs_vcpu_account_exit(vc, vs_ubench_vcpu, code, cpu);
			if ((READ_ONCE(vs_cfg.timing) && vc->exit_ts) ||
			    READ_ONCE(vs_cfg.budget))
				vs_vcpu_account_entry(vc, vs_ubench_vcpu,
						      ktime_get_mono_fast_ns());
			if (++k == ARRAY_SIZE(mix))
				k = 0;
		}
	} else {
		for (i = 0; i < n; i++) {
			u32 code = mixed ? mix[k] : mix[0];

			/* The exit probe's call, with nothing done. */
			vs_ubench_empty_exit(vc, code, cpu);
			if (++k == ARRAY_SIZE(mix))
				k = 0;
		}
	}
	t1 = ktime_get_mono_fast_ns();
	local_irq_restore(flags);
	return t1 - t0;
}

/*
 * Candidate clocks for exit timing, for the record: N pairs of reads each
 * (the probes read the clock twice per exit). Not vcpustat code.
 */
enum clk { CLK_MONO_FAST, CLK_RAW_FAST, CLK_LOCAL, CLK_TSC_ORDERED, CLK_TSC,
	   CLK_NR };
static const char *const clk_name[] = {
	"ktime_get_mono_fast_ns", "ktime_get_raw_fast_ns", "local_clock",
	"rdtsc_ordered", "rdtsc" };

static noinline u64 vs_ubench_clock_batch(enum clk c, u32 n)
{
	unsigned long flags;
	u64 t0, t1, sink = 0;
	u32 i;

	local_irq_save(flags);
	t0 = ktime_get_mono_fast_ns();
	for (i = 0; i < n; i++) {
		switch (c) {
		case CLK_MONO_FAST:
			sink += ktime_get_mono_fast_ns() - ktime_get_mono_fast_ns();
			break;
		case CLK_RAW_FAST:
			sink += ktime_get_raw_fast_ns() - ktime_get_raw_fast_ns();
			break;
		case CLK_LOCAL:
			sink += local_clock() - local_clock();
			break;
		case CLK_TSC_ORDERED:
			sink += rdtsc_ordered() - rdtsc_ordered();
			break;
		default:
			sink += rdtsc() - rdtsc();
			break;
		}
	}
	t1 = ktime_get_mono_fast_ns();
	local_irq_restore(flags);
	OPTIMIZER_HIDE_VAR(sink);
	return t1 - t0;
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static const char *const fn_name[] = { "empty", "account" };

/* timing: 0 off, 1 on (every exit), 2 on with timing_every = 16 */
static int vs_ubench_variant(struct vs_vcpu *vc, enum fn fn, int timing,
			     bool mixed)
{
	static const char *const timing_name[] = { "off", "on", "on16" };
	u64 *t = kcalloc(batches, sizeof(*t), GFP_KERNEL);
	u64 exits0 = vc->exits;
	unsigned int b;

	if (!t)
		return -ENOMEM;
	WRITE_ONCE(vs_cfg.timing, timing > 0);
	WRITE_ONCE(vs_cfg.timing_every, timing == 2 ? 16 : 1);
	vs_ubench_batch(vc, fn, mixed, calls);		/* warm-up */
	for (b = 0; b < batches; b++) {
		t[b] = vs_ubench_batch(vc, fn, mixed, calls);
		cond_resched();
	}
	sort(t, batches, sizeof(*t), cmp_u64, NULL);
	pr_info("vs_ubench: variant=%s_%s codes=%s batches=%u calls=%u med_ns=%llu min_ns=%llu max_ns=%llu counted=%llu\n",
		fn_name[fn], timing_name[timing], mixed ? "mix" : "one",
		batches, calls, t[batches / 2], t[0], t[batches - 1],
		vc->exits - exits0);
	kfree(t);
	return 0;
}

static int __init vs_ubench_init(void)
{
	struct vs_vcpu *vc;
	int mixed, timing, fn, err = 0;

	if (!calls || !batches || batches > MAX_BATCHES)
		return -EINVAL;
	vs_ubench_vcpu = kzalloc(sizeof(*vs_ubench_vcpu), GFP_KERNEL);
	if (!vs_ubench_vcpu)
		return -ENOMEM;
	vc = kzalloc(struct_size(vc, residency, nr_cpu_ids), GFP_KERNEL);
	if (!vc) {
		kfree(vs_ubench_vcpu);
		return -ENOMEM;
	}
	/* A vCPU as its probes leave it after its first exit and entry. */
	vc->isa = VCPUSTAT_ISA_SVM;
	vc->src = VS_SRC_SVM;
	vc->tid = current->pid;
	vc->last_cpu = raw_smp_processor_id();
	vc->rng = 0x9e3779b9;

	pr_info("vs_ubench: start nr_cpu_ids=%u sizeof_vcpu=%zu sizeof_vm=%zu\n",
		nr_cpu_ids, struct_size(vc, residency, nr_cpu_ids),
		sizeof(struct vs_vm));
	for (mixed = 0; mixed <= 1 && !err; mixed++)
		for (timing = 0; timing <= 2 && !err; timing++)
			for (fn = FN_EMPTY; fn <= FN_ACCOUNT && !err; fn++)
				err = vs_ubench_variant(vc, fn, timing, mixed);
	for (fn = 0; fn < CLK_NR && !err; fn++) {
		u64 *t = kcalloc(batches, sizeof(*t), GFP_KERNEL);
		unsigned int b;

		if (!t) {
			err = -ENOMEM;
			break;
		}
		vs_ubench_clock_batch(fn, calls);
		for (b = 0; b < batches; b++) {
			t[b] = vs_ubench_clock_batch(fn, calls);
			cond_resched();
		}
		sort(t, batches, sizeof(*t), cmp_u64, NULL);
		pr_info("vs_ubench: clock=%s pairs=%u med_ns=%llu min_ns=%llu max_ns=%llu\n",
			clk_name[fn], calls, t[batches / 2], t[0],
			t[batches - 1]);
		kfree(t);
	}
	/* The counters the accounting wrote, as a check that it ran. */
	pr_info("vs_ubench: done exits=%llu timed=%llu migrations=%llu\n",
		vc->exits, vc->timed, vc->migrations);
	kfree(vc);
	kfree(vs_ubench_vcpu);
	return err;
}

static void __exit vs_ubench_exit(void)
{
}

module_init(vs_ubench_init);
module_exit(vs_ubench_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vcpustat accounting micro-benchmark (bench/ only)");
