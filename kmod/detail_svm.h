/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The key of one SVM exit, inlined into the exit probe (detail_svm.c says
 * where each key is read from and why that is current at kvm_exit). Only
 * for a vCPU on VS_SRC_SVM, whose VMCB layout reason_svm.c validated, and
 * for register keys only of a vCPU whose registers KVM can see
 * (vs_detail_kind_svm() gives an SEV-ES guest's MSR, CPUID and VMMCALL
 * exits no key table).
 */
#ifndef VCPUSTAT_DETAIL_SVM_H
#define VCPUSTAT_DETAIL_SVM_H

#include <asm/svm.h>
#include "reason_svm.h"

static __always_inline u64 vs_detail_key_svm(const struct kvm_vcpu *vcpu,
					     u32 code)
{
	const struct vmcb_control_area *c = &READ_ONCE(vs_svm(vcpu)->vmcb)->control;
	const unsigned long *regs = vcpu->arch.regs;
	u64 info1 = READ_ONCE(c->exit_info_1);

	switch (code) {
	case SVM_EXIT_IOIO:
		return ((info1 >> 16) & 0xffff) |
		       (((info1 & SVM_IOIO_SIZE_MASK) >> SVM_IOIO_SIZE_SHIFT) << 16) |
		       ((info1 & SVM_IOIO_TYPE_MASK) << 24) |
		       (((info1 & SVM_IOIO_STR_MASK) >> SVM_IOIO_STR_SHIFT) << 25);
	case SVM_EXIT_MSR:
		return (u32)READ_ONCE(regs[VCPU_REGS_RCX]) | ((info1 & 1) << 32);
	case SVM_EXIT_CPUID:
		return (u32)READ_ONCE(regs[VCPU_REGS_RAX]) |
		       ((u64)(u32)READ_ONCE(regs[VCPU_REGS_RCX]) << 32);
	case SVM_EXIT_VMMCALL:
		return READ_ONCE(regs[VCPU_REGS_RAX]);
	case SVM_EXIT_NPF:
		return READ_ONCE(c->exit_info_2) & PAGE_MASK;
	}
	return code - SVM_EXIT_EXCP_BASE;
}

#endif /* VCPUSTAT_DETAIL_SVM_H */
