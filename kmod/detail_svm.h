/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the exit probe reads of an SVM exit's key (vs_detail_key(),
 * inlined there; detail_svm.c says where each key is read from and why
 * that is current at kvm_exit). Only for a vCPU on VS_SRC_SVM, whose VMCB
 * layout reason_svm.c validated, and for register keys only of a vCPU
 * whose registers KVM can see (vs_detail_op_svm() gives an SEV-ES
 * guest's MSR, CPUID and VMMCALL exits no key table).
 */
#ifndef VCPUSTAT_DETAIL_SVM_H
#define VCPUSTAT_DETAIL_SVM_H

#include <asm/svm.h>
#include "reason_svm.h"

/* EXITINFO1 of IOIO: port, size, string, direction (vs_detail_key_uapi()) */
#define VS_SVM_IO_KEY_MASK	(0xffff0000U | SVM_IOIO_SIZE_MASK | \
				 SVM_IOIO_STR_MASK | SVM_IOIO_TYPE_MASK)

/* The VMCB's control area, read at each use (never stale). */
static __always_inline const struct vmcb_control_area *
vs_svm_control(const struct kvm_vcpu *vcpu)
{
	return &READ_ONCE(vs_svm(vcpu)->vmcb)->control;
}

#endif /* VCPUSTAT_DETAIL_SVM_H */
