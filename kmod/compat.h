/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels vcpustat builds for lives here.
 *
 * Where a stable backport changed an interface, the difference is detected
 * by a Kbuild feature test (kmod/conftest/, results as -D flags): version
 * numbers lie about stable backports, so none are compared here.
 */
#ifndef VCPUSTAT_COMPAT_H
#define VCPUSTAT_COMPAT_H

#include <linux/kvm_host.h>
#include <linux/netlink.h>
#include <net/genetlink.h>
#include <linux/vcpustat.h>

/* A harness that cannot compile anything would select every new API. */
#ifndef VS_CONFTEST_WORKS
#error "vcpustat: Kbuild feature tests failed to compile; see kmod/conftest/sanity.c"
#endif

/*
 * The architecture: arm64 KVM (feature test kvm_arm64.c) or x86 KVM, whose
 * tracepoints differ in prototype and in how they are found.
 *
 * arm64: kvm_exit(int ret, unsigned int esr_ec, unsigned long vcpu_pc) and
 * kvm_entry(unsigned long vcpu_pc), with no vcpu argument: the probes ask
 * kvm_get_running_vcpu() (exported; set by vcpu_load() for the whole of
 * KVM_RUN, and both events fire with preemption off inside it). The
 * events are not exported (EXPORT_TRACEPOINT_SYMBOL is x86's only), so
 * tp_lookup.c finds them by name.
 */
#ifdef VS_KVM_ARM64
#include <asm/kvm_asm.h>

/*
 * The event's own masking (trace_arm.h): it records
 * ARM_EXCEPTION_CODE(ret), and esr_ec only for a trap (else 0). A trap is
 * counted under its exception class, anything else (IRQ, EL1_SERROR,
 * illegal, HYP_GONE) under VCPUSTAT_ARM64_NOTRAP | its exception code, so
 * every (ret, esr_ec) pair tracefs can show has its own code.
 */
static __always_inline u32 vs_arm64_exit_code(int ret, unsigned int esr_ec)
{
	if (ARM_EXCEPTION_IS_TRAP(ret))
		return esr_ec;
	return VCPUSTAT_ARM64_NOTRAP | ARM_EXCEPTION_CODE(ret);
}

/* No CPU check: tp_lookup.c refuses a kernel whose KVM has no kvm_exit. */
static inline bool vs_arch_has_virt(void)
{
	return true;
}
#else
#include <asm/cpufeature.h>

static inline bool vs_arch_has_virt(void)
{
	return boot_cpu_has(X86_FEATURE_SVM) || boot_cpu_has(X86_FEATURE_VMX);
}

/*
 * Exported by kvm.ko (EXPORT_TRACEPOINT_SYMBOL_GPL in arch/x86/kvm/x86.c);
 * the definitions (trace.h) are private, so declare the objects here.
 */
extern struct tracepoint __tracepoint_kvm_exit;
extern struct tracepoint __tracepoint_kvm_entry;

/*
 * kvm_entry: (vcpu) before 6.9, (vcpu, bool force_immediate_exit) after,
 * backported to 6.1.149 and 6.6.103. Its prototype is private to KVM
 * (arch/x86/kvm/trace.h, in no headers package), so each form is
 * recognised by the vendor run hook that supplies the bool: vcpu_run(vcpu)
 * without it, vcpu_run(vcpu, bool force_immediate_exit) from 6.9 and
 * vcpu_run(vcpu, u64 run_flags) with KVM_RUN_FORCE_IMMEDIATE_EXIT later
 * (7.2, and stable 6.1.y / 6.12.y). Any other run hook means KVM changed:
 * refuse to guess the probe's prototype. Feature tests: kvm_entry_run*.c.
 */
#if defined(VS_KVM_RUN_ONE_ARG)
#define VS_KVM_ENTRY_HAS_BOOL	0
#elif defined(VS_KVM_RUN_BOOL) || defined(VS_KVM_RUN_FLAGS)
#define VS_KVM_ENTRY_HAS_BOOL	1
#else
#error "vcpustat: unknown vcpu_run: check kvm_entry's prototype (conftest/kvm_entry_run*.c)"
#endif

/*
 * kvm_exit lost its leading exit_reason argument in 5.16 (0a62a0319abb),
 * in the change that gave get_exit_info() its reason pointer. Registering
 * our probe on the old prototype would read garbage: refuse to build, and
 * refuse a get_exit_info() of neither form too. Feature tests:
 * kvm_exit_old.c, kvm_exit_isa.c.
 */
#ifdef VS_KVM_EXIT_OLD
#error "vcpustat needs kvm_exit(vcpu, isa): Linux 5.16 or later"
#elif !defined(VS_KVM_EXIT_ISA)
#error "vcpustat: unknown get_exit_info: check kvm_exit's prototype (conftest/kvm_exit_isa.c)"
#endif

#endif /* VS_KVM_ARM64 */

/*
 * The kprobe of the destroy hook (track.c): kvm.ko's own kvm_destroy_vm()
 * ("kvm:", never a same-named function of another module), or the kernel
 * image's where KVM is built in (Debian's arm64: CONFIG_KVM=y).
 */
#if IS_MODULE(CONFIG_KVM)
#define VS_DESTROY_VM_SYM	"kvm:kvm_destroy_vm"
#else
#define VS_DESTROY_VM_SYM	"kvm_destroy_vm"
#endif

/*
 * Attributes of a dump request: genl_dumpit_info embeds a genl_info from
 * 6.2 (genl_split_ops rework); 6.1 has a bare attrs array.
 * Feature test: dumpit_info_attrs.c.
 */
#ifdef VS_DUMPIT_INFO_ATTRS
#define vs_dump_attrs(cb)	(genl_dumpit_info(cb)->attrs)
#else
#define vs_dump_attrs(cb)	(genl_dumpit_info(cb)->info.attrs)
#endif

/*
 * Do two CPUs share their last-level cache, in the kernel's own view? x86:
 * get_llc_id() was exported up to 6.7; from 6.8 it lives in the exported
 * cpu_info (per_cpu_llc_id()). arm64: the generic arch_topology's
 * llc_sibling mask (only the CPU itself where firmware describes no
 * caches). Feature tests: get_llc_id.c, llc_sibling.c.
 */
#if defined(VS_HAVE_LLC_SIBLING)
#include <linux/arch_topology.h>
#define vs_llc_shared(a, b)	cpumask_test_cpu(b, &cpu_topology[a].llc_sibling)
#elif defined(VS_HAVE_GET_LLC_ID)
#define vs_llc_shared(a, b)	(get_llc_id(a) == get_llc_id(b))
#else
#define vs_llc_shared(a, b)	(per_cpu_llc_id(a) == per_cpu_llc_id(b))
#endif

/* NL_ASSERT_DUMP_CTX_FITS arrived in 6.2; 6.1's cb->ctx is the same size. */
#ifndef NL_ASSERT_DUMP_CTX_FITS
#define NL_ASSERT_DUMP_CTX_FITS(type_name)				\
	BUILD_BUG_ON(sizeof(type_name) >				\
		     sizeof_field(struct netlink_callback, ctx))
#endif

/*
 * Joining a multicast group needs a capability only where the kernel has
 * GENL_MCAST_CAP_NET_ADMIN (6.7, backported to 6.1.y). Without it any user
 * can join "events"; README says so.
 */
#ifdef GENL_MCAST_CAP_NET_ADMIN
#define VS_MCGRP_FLAGS		GENL_MCAST_CAP_NET_ADMIN
#else
#define VS_MCGRP_FLAGS		0
#endif

/*
 * A TDX guest's vCPU (KVM_X86_TDX_VM, where KVM has TDX support):
 * tdx_vcpu_run() emits kvm_exit with isa VMX, but the TDX module ran the
 * guest and this vCPU has no VMCS. KVM decodes the exit reason from
 * TDH.VP.ENTER's result; VMREAD would find no current VMCS or, worse,
 * another vCPU's. The probe counts such exits as unknown instead.
 * struct kvm_arch's vm_type (6.8) predates the constant, so where the
 * uapi header defines it, the field exists; without it there are no TDX
 * guests to tell apart.
 */
static inline bool vs_vcpu_is_tdx(const struct kvm_vcpu *vcpu)
{
#ifdef KVM_X86_TDX_VM
	return vcpu->kvm->arch.vm_type == KVM_X86_TDX_VM;
#else
	return false;
#endif
}

/*
 * The current task's run-queue delay (ns): kept by CONFIG_SCHED_INFO, which
 * every kernel of the matrix has (Debian's configs). Without it the budget
 * has no wait state: the time stays in the state it fell in.
 */
static __always_inline u64 vs_run_delay(void)
{
#ifdef CONFIG_SCHED_INFO
	return READ_ONCE(current->sched_info.run_delay);
#else
	return 0;
#endif
}

/*
 * Is this KVM_RUN to enter the guest (false: KVM_RUN with immediate_exit
 * set, and outside KVM_RUN)? Without the field every FPU load counts as a
 * run's start (outside KVM_RUN only with MPX or CET: see probe_run.c).
 */
static __always_inline bool vs_vcpu_wants_to_run(const struct kvm_vcpu *vcpu)
{
#ifdef VS_HAVE_WANTS_TO_RUN
	return READ_ONCE(vcpu->wants_to_run);
#else
	return true;
#endif
}

/*
 * The clock of the probes and of the budget's readers (clock.c): ns, one
 * base for every CPU. Not CLOCK_MONOTONIC's base when it is the TSC: only
 * differences of its values mean anything.
 */
#ifdef CONFIG_X86
#include <linux/jump_label.h>
#include <linux/math64.h>
#include <asm/msr.h>

DECLARE_STATIC_KEY_FALSE(vs_tsc_clock);
extern u32 vs_tsc_mult, vs_tsc_shift;

static __always_inline u64 vs_clock_ns(void)
{
	if (static_branch_likely(&vs_tsc_clock))
		return mul_u64_u32_shr(rdtsc(), vs_tsc_mult, vs_tsc_shift);
	return ktime_get_mono_fast_ns();
}
#else
static __always_inline u64 vs_clock_ns(void)
{
	return ktime_get_mono_fast_ns();
}
#endif

#endif /* VCPUSTAT_COMPAT_H */
