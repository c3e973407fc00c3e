/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The head of KVM's struct vcpu_svm, mirrored (reason_svm.c says why and
 * how each vCPU's copy is validated before use), and the exit code read
 * that the kvm_exit probe inlines: two loads, no call.
 */
#ifndef VCPUSTAT_REASON_SVM_H
#define VCPUSTAT_REASON_SVM_H

#include <asm/svm.h>
#include "vcpustat.h"

struct vs_vmcb_info {
	struct vmcb *ptr;
	unsigned long pa;
	int cpu;
	u64 asid_generation;
};

struct vs_svm_head {
	struct kvm_vcpu vcpu;
	struct vmcb *vmcb;
	struct vs_vmcb_info vmcb01;
	struct vs_vmcb_info *current_vmcb;
};

static inline const struct vs_svm_head *vs_svm(const struct kvm_vcpu *vcpu)
{
	return container_of(vcpu, struct vs_svm_head, vcpu);
}

/* reason_svm.c: vs_svm_layout_ok() is this on the live vCPU. */
bool vs_svm_layout_check(const struct vs_svm_head *h, size_t size,
			 u64 me_mask);

/* Only for a vCPU whose layout vs_svm_layout_ok() accepted. */
static __always_inline u32 vs_svm_exit_code(const struct kvm_vcpu *vcpu)
{
	return READ_ONCE(vs_svm(vcpu)->vmcb)->control.exit_code;
}

#endif /* VCPUSTAT_REASON_SVM_H */
