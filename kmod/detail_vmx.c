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

u32 vs_detail_kind_vmx(u32 code)
{
	switch (code) {
	case EXIT_REASON_IO_INSTRUCTION:
		return VCPUSTAT_KEY_KIND_IO;
	case EXIT_REASON_MSR_READ:
	case EXIT_REASON_MSR_WRITE:
		return VCPUSTAT_KEY_KIND_MSR;
	case EXIT_REASON_CPUID:
		return VCPUSTAT_KEY_KIND_CPUID;
	case EXIT_REASON_VMCALL:
		return VCPUSTAT_KEY_KIND_HYPERCALL;
	case EXIT_REASON_EPT_VIOLATION:
	case EXIT_REASON_EPT_MISCONFIG:
		return VCPUSTAT_KEY_KIND_GPA;
	case EXIT_REASON_EXCEPTION_NMI:
		return VCPUSTAT_KEY_KIND_EXCEPTION;
	case EXIT_REASON_EXTERNAL_INTERRUPT:
		return VCPUSTAT_KEY_KIND_INTR;
	}
	return VCPUSTAT_KEY_KIND_UNSPEC;
}
