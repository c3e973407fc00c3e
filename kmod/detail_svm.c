// SPDX-License-Identifier: GPL-2.0
/*
 * Second-level keys of SVM exits, read as KVM's own kvm_exit event reads
 * them (svm_get_exit_info(): the VMCB's exit_info_1/exit_info_2) or from
 * KVM's public per-vCPU state (struct kvm_vcpu_arch's regs[]).
 *
 * The VMCB is reached through the vcpu_svm head that reason_svm.c
 * validated for this vCPU; callers run only for vCPUs on VS_SRC_SVM.
 *
 * Registers: regs[RCX] is stored by __svm_vcpu_run() on every #VMEXIT and
 * regs[RAX] is copied from the VMCB save area right after it, in
 * svm_vcpu_run(); kvm_exit fires later (6.1: in svm_handle_exit(); 6.12:
 * at the end of svm_vcpu_run()). Checked in Debian's 6.1 and 6.12
 * sources. An SEV-ES/SNP guest's registers are in its encrypted save
 * area (guest_state_protected): its reasons keyed by a register get no
 * key table, decided once per reason here rather than at every exit.
 *
 *	IOIO	exit_info_1: bit 0 IN, bit 2 string, bits 6:4 size (1, 2, 4
 *		bytes as bits), bits 31:16 port (APM vol. 2, 15.10.2)
 *	MSR	exit_info_1: 0 RDMSR, 1 WRMSR; index in RCX
 *	CPUID	leaf EAX, subleaf ECX
 *	VMMCALL	RAX
 *	NPF	exit_info_2: the faulting guest-physical address
 *	EXCP	0x40 + vector: the vector is the exit code's
 */
/* asm/svm.h is not self-contained in 7.x: PAGE_SIZE and bitops first. */
#include <linux/bitops.h>
#include <linux/mm.h>
#include <asm/svm.h>
#include "detail.h"

u32 vs_detail_kind_svm(const struct kvm_vcpu *vcpu, u32 code)
{
	bool regs = !vcpu->arch.guest_state_protected;

	switch (code) {
	case SVM_EXIT_IOIO:
		return VCPUSTAT_KEY_KIND_IO;
	case SVM_EXIT_MSR:
		return regs ? VCPUSTAT_KEY_KIND_MSR : VCPUSTAT_KEY_KIND_UNSPEC;
	case SVM_EXIT_CPUID:
		return regs ? VCPUSTAT_KEY_KIND_CPUID : VCPUSTAT_KEY_KIND_UNSPEC;
	case SVM_EXIT_VMMCALL:
		return regs ? VCPUSTAT_KEY_KIND_HYPERCALL :
			      VCPUSTAT_KEY_KIND_UNSPEC;
	case SVM_EXIT_NPF:
		return VCPUSTAT_KEY_KIND_GPA;
	}
	if (code >= SVM_EXIT_EXCP_BASE && code <= SVM_EXIT_LAST_EXCP)
		return VCPUSTAT_KEY_KIND_EXCEPTION;
	return VCPUSTAT_KEY_KIND_UNSPEC;
}
