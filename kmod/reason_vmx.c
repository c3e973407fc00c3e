// SPDX-License-Identifier: GPL-2.0
/*
 * VMX exit reasons, read architecturally with VMREAD.
 *
 * Both kvm_entry and kvm_exit fire inside vmx_vcpu_run() with IRQs off and
 * this vCPU's VMCS current on this CPU (5.16 through 6.18), so
 * VMREAD(VM_EXIT_REASON) returns the value KVM stored in
 * vmx->exit_reason.full and its kvm_exit event reports. KVM overrides it in
 * two rare cases this cannot see: a failed VM-entry (reported as 0xdead)
 * and "emulation required" (EXIT_REASON_INVALID_STATE).
 *
 * COMPILED ONLY: the test machines offer no VMX under TCG (see README).
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
