/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The key of one SVM exit, inlined into the exit probe (detail_svm.c says
 * where each key is read from and why that is current at kvm_exit). Only
 * for a vCPU on VS_SRC_SVM, whose VMCB layout reason_svm.c validated.
 */
#ifndef VCPUSTAT_DETAIL_SVM_H
#define VCPUSTAT_DETAIL_SVM_H

#include <asm/svm.h>
#include "reason_svm.h"

static __always_inline u64 vs_svm_reg(const struct kvm_vcpu *vcpu, int reg)
{
	if (vcpu->arch.guest_state_protected)
		return VS_NO_KEY;
	return READ_ONCE(vcpu->arch.regs[reg]);
}

static __always_inline u64 vs_detail_key_svm(const struct kvm_vcpu *vcpu,
					     u32 code)
{
	const struct vmcb_control_area *c = &READ_ONCE(vs_svm(vcpu)->vmcb)->control;
	u64 info1 = READ_ONCE(c->exit_info_1), rcx;

	switch (code) {
	case SVM_EXIT_IOIO:
		return ((info1 >> 16) & 0xffff) |
		       (((info1 & SVM_IOIO_SIZE_MASK) >> SVM_IOIO_SIZE_SHIFT) << 16) |
		       ((info1 & SVM_IOIO_TYPE_MASK) << 24) |
		       (((info1 & SVM_IOIO_STR_MASK) >> SVM_IOIO_STR_SHIFT) << 25);
	case SVM_EXIT_MSR:
		rcx = vs_svm_reg(vcpu, VCPU_REGS_RCX);
		if (rcx == VS_NO_KEY)
			return VS_NO_KEY;
		return (u32)rcx | ((info1 & 1) << 32);
	case SVM_EXIT_CPUID:
		rcx = vs_svm_reg(vcpu, VCPU_REGS_RCX);
		if (rcx == VS_NO_KEY)
			return VS_NO_KEY;
		return (u32)vs_svm_reg(vcpu, VCPU_REGS_RAX) | ((u64)(u32)rcx << 32);
	case SVM_EXIT_VMMCALL:
		return vs_svm_reg(vcpu, VCPU_REGS_RAX);
	case SVM_EXIT_NPF:
		return READ_ONCE(c->exit_info_2) & PAGE_MASK;
	}
	return code - SVM_EXIT_EXCP_BASE;
}

#endif /* VCPUSTAT_DETAIL_SVM_H */
