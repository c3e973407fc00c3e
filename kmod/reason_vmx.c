// SPDX-License-Identifier: GPL-2.0
/*
 * VMX exit reasons, read architecturally with VMREAD.
 *
 * kvm_exit (isa VMX) fires in vmx_vcpu_run() just after KVM stored
 * exit_reason.full = vmcs_read32(VM_EXIT_REASON) (6.12 and later: in
 * vmx_vcpu_enter_exit()), with IRQs off: vcpu_enter_guest() disables them
 * before the vcpu_run call and enables them after handle_exit_irqoff().
 * Nothing in between loads another VMCS (vcpu_put/load need preemption;
 * the NMI handling there does no VMPTRLD), so VMREAD(VM_EXIT_REASON) in
 * the probe reads this vCPU's current VMCS (vmcs02 for a nested guest, as
 * KVM does) and returns the code the event reports. KVM's synthesized
 * reasons never reach kvm_exit: emulation_required returns before
 * kvm_entry, a failed VMLAUNCH/VMRESUME (vmx->fail) before kvm_exit.
 * Checked in Debian's 6.1.192 and 6.12 sources and in the KVM x86 tree
 * (kvm-x86/linux 09c6f74e, newer than 6.18).
 *
 * Without a current VMCS, VMREAD fails (VMfailInvalid) without faulting
 * and the exit counts as unknown: e.g. KVM on Hyper-V with an enlightened
 * VMCS, which KVM never VMPTRLDs (untested). It cannot #UD: kvm_exit with
 * isa VMX comes only from vmx_vcpu_run() and tdx_vcpu_run(), both in VMX
 * root operation. A TDX guest has no VMCS; a current one would be another
 * vCPU's, so the probe never reads one for it (vs_vcpu_is_tdx(),
 * compat.h): its exits count as unknown.
 *
 * make check runs it in Bochs, which emulates VMX with EPT, on Debian's
 * 6.1, 6.12 and 6.1 PREEMPT_RT kernels (scripts/check-vmx): every exit
 * counted per reason equals tracefs, with EPT and with ept=0.
 */
#include <asm/vmx.h>
#include "vcpustat.h"

/*
 * Returns the code, or VCPUSTAT_CODE_UNKNOWN without a current VMCS. By
 * value, not through a pointer: the exit probe then keeps no stack object,
 * so the compiler adds no stack protector to the hot path.
 */
u32 vs_vmx_exit_code(void)
{
	unsigned long value = 0;
	bool fail;

	/* VMfailInvalid sets CF, VMfailValid sets ZF: either means no VMCS. */
	asm volatile("vmread %[field], %[value]"
		     : [value] "=rm" (value), "=@ccbe" (fail)
		     : [field] "r" ((unsigned long)VM_EXIT_REASON)
		     : "cc");
	return fail ? VCPUSTAT_CODE_UNKNOWN : (u32)value;
}
