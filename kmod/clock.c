// SPDX-License-Identifier: GPL-2.0
/*
 * The probes' clock (vs_clock_ns(), compat.h): the TSC scaled to ns where
 * the kernel trusts it as one clock for all CPUs, else the NMI-safe
 * ktime_get_mono_fast_ns(). Two clock reads per exit were half the cost of
 * exit timing (BENCHMARKS.md): the fast ktime read goes through the
 * clocksource's indirect read and a seqcount, the TSC is one instruction
 * and a multiply.
 *
 * Decided once, at load: the TSC runs at a constant rate in every power
 * state (constant_tsc and nonstop_tsc, or tsc=reliable), and the kernel
 * has not found it unstable. A TSC the kernel marks unstable later (its
 * clocksource watchdog) is reported by the next load; a host that does is
 * rare and already in trouble (its clocksource changes too).
 */
#include <linux/clocksource.h>
#include "compat.h"
#include "vcpustat.h"

#ifdef CONFIG_X86
#include <linux/moduleparam.h>
#include <asm/tsc.h>

DEFINE_STATIC_KEY_FALSE(vs_tsc_clock);
u32 vs_tsc_mult, vs_tsc_shift;

/*
 * -1 (default): the TSC where it is constant and stable; 0: never; 1:
 * wherever the kernel has not found it unstable, for test rigs whose
 * emulated TSC is one clock for all CPUs without saying so in CPUID.
 */
static int vs_clock_tsc = -1;
module_param_named(clock_tsc, vs_clock_tsc, int, 0444);
MODULE_PARM_DESC(clock_tsc,
		 "probes' clock: -1 = TSC if constant and stable (default), 0 = never the TSC, 1 = TSC unless unstable (test rigs)");

static bool vs_clock_tsc_ok(void)
{
	bool constant = boot_cpu_has(X86_FEATURE_CONSTANT_TSC) &&
			boot_cpu_has(X86_FEATURE_NONSTOP_TSC);

	if (!vs_clock_tsc || !tsc_khz || check_tsc_unstable())
		return false;
	return vs_clock_tsc > 0 || constant ||
	       boot_cpu_has(X86_FEATURE_TSC_RELIABLE);
}

void vs_clock_init(void)
{
	if (!vs_clock_tsc_ok()) {
		pr_info("vcpustat: clock: ktime_get_mono_fast_ns (the TSC is not constant and stable here, or clock_tsc=0)\n");
		return;
	}
	/* kHz = cycles per ms: scale to ns, exact over any span (128-bit). */
	clocks_calc_mult_shift(&vs_tsc_mult, &vs_tsc_shift, tsc_khz,
			       NSEC_PER_MSEC, 3600 * MSEC_PER_SEC);
	static_branch_enable(&vs_tsc_clock);
	pr_info("vcpustat: clock: TSC (%u kHz)\n", tsc_khz);
}
#else
void vs_clock_init(void)
{
}
#endif
