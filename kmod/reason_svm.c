// SPDX-License-Identifier: GPL-2.0
/*
 * SVM exit codes, read from the VMCB the way KVM's own kvm_exit event does
 * (svm_get_exit_info(): to_svm(vcpu)->vmcb->control.exit_code).
 *
 * struct vcpu_svm lives in arch/x86/kvm/svm/svm.h, which header packages do
 * not ship. Its head has been the same from 5.16 through 6.12 (checked in
 * Debian's linux-source-6.1 and -6.12):
 *
 *	struct kvm_vcpu vcpu;
 *	struct vmcb *vmcb;		// always current_vmcb->ptr
 *	struct kvm_vmcb_info vmcb01;	// { ptr, pa, cpu, asid_generation }
 *	struct kvm_vmcb_info *current_vmcb;
 *
 * We mirror only that head and validate it per vCPU before trusting it:
 * vmcb01 must be a page-aligned direct-map page whose physical address is
 * vmcb01.pa, and vmcb must equal current_vmcb->ptr with current_vmcb either
 * &vmcb01 or (nested guest) another kvm_vmcb_info inside the vcpu_svm. If
 * a future kernel reorders the struct, these invariants fail and the exits
 * are reported as VCPUSTAT_CODE_UNKNOWN instead of as wrong reasons.
 */
#include <linux/mm.h>
#include "reason_svm.h"

static bool vs_vmcb_page_ok(const struct vmcb *p)
{
	return p && PAGE_ALIGNED(p) && virt_addr_valid(p);
}

bool vs_svm_layout_ok(const struct kvm_vcpu *vcpu)
{
	const struct vs_svm_head *h = vs_svm(vcpu);
	const struct vs_vmcb_info *cur = READ_ONCE(h->current_vmcb);
	const struct vmcb *vmcb = READ_ONCE(h->vmcb);

	if (!vs_vmcb_page_ok(h->vmcb01.ptr) ||
	    __pa(h->vmcb01.ptr) != h->vmcb01.pa)
		return false;
	if (cur == &h->vmcb01)
		return vmcb == h->vmcb01.ptr;
	/*
	 * A nested guest runs on vmcb02, whose kvm_vmcb_info sits further
	 * inside struct vcpu_svm (svm->nested.vmcb02). Accept it only when
	 * it is in the same object and self-consistent.
	 */
	if ((const void *)cur <= (const void *)h ||
	    (const char *)cur > (const char *)h + 4 * PAGE_SIZE)
		return false;
	return vs_vmcb_page_ok(vmcb) && cur->ptr == vmcb &&
	       __pa(vmcb) == cur->pa;
}
