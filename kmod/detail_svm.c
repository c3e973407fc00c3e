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

/* The op and kind of a reason's keys; -1: it has none. */
int vs_detail_op_svm(const struct kvm_vcpu *vcpu, u32 code, u32 *kind)
{
	bool regs = !vcpu->arch.guest_state_protected;

	switch (code) {
	case SVM_EXIT_IOIO:
		*kind = VCPUSTAT_KEY_KIND_IO;
		return VS_DOP_SVM_IO;
	case SVM_EXIT_MSR:
		*kind = VCPUSTAT_KEY_KIND_MSR;
		return regs ? VS_DOP_SVM_MSR : -1;
	case SVM_EXIT_CPUID:
		*kind = VCPUSTAT_KEY_KIND_CPUID;
		return regs ? VS_DOP_CPUID : -1;
	case SVM_EXIT_VMMCALL:
		*kind = VCPUSTAT_KEY_KIND_HYPERCALL;
		return regs ? VS_DOP_RAX : -1;
	case SVM_EXIT_NPF:
		*kind = VCPUSTAT_KEY_KIND_GPA;
		return VS_DOP_SVM_NPF;
	}
	*kind = VCPUSTAT_KEY_KIND_EXCEPTION;
	if (code >= SVM_EXIT_EXCP_BASE && code <= SVM_EXIT_LAST_EXCP)
		return VS_DOP_SVM_EXCP;
	return -1;
}

/* The uapi encoding of an IOIO key (VS_SVM_IO_KEY_MASK bits, as stored). */
u64 vs_detail_io_uapi_svm(u64 info1)
{
	return ((info1 >> 16) & 0xffff) |
	       (((info1 & SVM_IOIO_SIZE_MASK) >> SVM_IOIO_SIZE_SHIFT) << 16) |
	       ((info1 & SVM_IOIO_TYPE_MASK) << 24) |
	       (((info1 & SVM_IOIO_STR_MASK) >> SVM_IOIO_STR_SHIFT) << 25);
}
