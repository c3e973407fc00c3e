/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The key of one VMX exit, inlined into the exit probe (detail_vmx.c says
 * where each key is read from and why the VMCS read is this vCPU's).
 */
#ifndef VCPUSTAT_DETAIL_VMX_H
#define VCPUSTAT_DETAIL_VMX_H

#include <asm/vmx.h>
#include <linux/kvm_host.h>

/* By value, as vs_vmx_exit_code(): no stack object in the probe. */
static __always_inline u64 vs_vmread(unsigned long field)
{
	unsigned long value = 0;
	bool fail;

	asm volatile("vmread %[field], %[value]"
		     : [value] "=rm" (value), "=@ccbe" (fail)
		     : [field] "r" (field)
		     : "cc");
	return fail ? VS_NO_KEY : value;
}

static __always_inline u64 vs_detail_key_vmx(const struct kvm_vcpu *vcpu,
					     u32 code)
{
	const unsigned long *regs = vcpu->arch.regs;
	u64 v;

	switch (code) {
	case EXIT_REASON_IO_INSTRUCTION:
		v = vs_vmread(EXIT_QUALIFICATION);
		if (v == VS_NO_KEY)
			return v;
		return ((v >> 16) & 0xffff) | (((v & 7) + 1) << 16) |
		       (((v >> 3) & 1) << 24) | (((v >> 4) & 1) << 25);
	case EXIT_REASON_MSR_READ:
		return (u32)READ_ONCE(regs[VCPU_REGS_RCX]);
	case EXIT_REASON_MSR_WRITE:
		return (u32)READ_ONCE(regs[VCPU_REGS_RCX]) | BIT_ULL(32);
	case EXIT_REASON_CPUID:
		return (u32)READ_ONCE(regs[VCPU_REGS_RAX]) |
		       ((u64)(u32)READ_ONCE(regs[VCPU_REGS_RCX]) << 32);
	case EXIT_REASON_VMCALL:
		return READ_ONCE(regs[VCPU_REGS_RAX]);
	case EXIT_REASON_EPT_VIOLATION:
	case EXIT_REASON_EPT_MISCONFIG:
		v = vs_vmread(GUEST_PHYSICAL_ADDRESS);
		return v == VS_NO_KEY ? v : v & PAGE_MASK;
	}
	/* EXCEPTION_NMI, EXTERNAL_INTERRUPT */
	v = vs_vmread(VM_EXIT_INTR_INFO);
	if (v == VS_NO_KEY || !(v & INTR_INFO_VALID_MASK))
		return VS_NO_KEY;
	return v & INTR_INFO_VECTOR_MASK;
}

#endif /* VCPUSTAT_DETAIL_VMX_H */
