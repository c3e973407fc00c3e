// SPDX-License-Identifier: GPL-2.0
/*
 * Second-level keys of VMX exits, read as KVM's own kvm_exit event reads
 * them (vmx_get_exit_info(): the exit qualification, VM_EXIT_INTR_INFO;
 * kvm_page_fault/handle_ept_*: GUEST_PHYSICAL_ADDRESS), with VMREAD on the
 * vCPU's current VMCS, in the same context as reason_vmx.c's read of the
 * exit reason (its comment says why that VMCS is this vCPU's), or from
 * KVM's public per-vCPU state (struct kvm_vcpu_arch's regs[]).
 *
 * Registers: __vmx_vcpu_run() stores RAX and RCX into vcpu->arch.regs on
 * every VM-exit, before vmx_vcpu_run() emits kvm_exit (Debian's 6.1 and
 * 6.12 sources). A failed VMREAD (no current VMCS) gives no key.
 *
 *	IO_INSTRUCTION		qualification: bits 2:0 size - 1, bit 3 IN,
 *				bit 4 string, bits 31:16 port (SDM 28.2.1)
 *	MSR_READ/MSR_WRITE	index in RCX
 *	CPUID			leaf EAX, subleaf ECX
 *	VMCALL			RAX
 *	EPT_VIOLATION/MISCONFIG	GUEST_PHYSICAL_ADDRESS
 *	EXCEPTION_NMI		VM_EXIT_INTR_INFO bits 7:0
 *	EXTERNAL_INTERRUPT	VM_EXIT_INTR_INFO bits 7:0, when valid (KVM
 *				acknowledges interrupts on exit)
 */
#include <asm/vmx.h>
#include "detail.h"

/* The op and kind of a reason's keys; -1: it has none. */
int vs_detail_op_vmx(u32 code, u32 *kind)
{
	switch (code) {
	case EXIT_REASON_IO_INSTRUCTION:
		*kind = VCPUSTAT_KEY_KIND_IO;
		return VS_DOP_VMX_IO;
	case EXIT_REASON_MSR_READ:
		*kind = VCPUSTAT_KEY_KIND_MSR;
		return VS_DOP_VMX_RDMSR;
	case EXIT_REASON_MSR_WRITE:
		*kind = VCPUSTAT_KEY_KIND_MSR;
		return VS_DOP_VMX_WRMSR;
	case EXIT_REASON_CPUID:
		*kind = VCPUSTAT_KEY_KIND_CPUID;
		return VS_DOP_CPUID;
	case EXIT_REASON_VMCALL:
		*kind = VCPUSTAT_KEY_KIND_HYPERCALL;
		return VS_DOP_RAX;
	case EXIT_REASON_EPT_VIOLATION:
	case EXIT_REASON_EPT_MISCONFIG:
		*kind = VCPUSTAT_KEY_KIND_GPA;
		return VS_DOP_VMX_GPA;
	case EXIT_REASON_EXCEPTION_NMI:
		*kind = VCPUSTAT_KEY_KIND_EXCEPTION;
		return VS_DOP_VMX_VECTOR;
	case EXIT_REASON_EXTERNAL_INTERRUPT:
		*kind = VCPUSTAT_KEY_KIND_INTR;
		return VS_DOP_VMX_VECTOR;
	}
	return -1;
}

/* The uapi encoding of an I/O key (VS_VMX_IO_KEY_MASK bits, as stored). */
u64 vs_detail_io_uapi_vmx(u64 q)
{
	return ((q >> 16) & 0xffff) | (((q & 7) + 1) << 16) |
	       (((q >> 3) & 1) << 24) | (((q >> 4) & 1) << 25);
}
