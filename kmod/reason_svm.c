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
#include <linux/mem_encrypt.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include "reason_svm.h"

/*
 * KVM stores a VMCB's physical address as the hardware wants it: with the
 * memory encryption bit set on an SME host (svm_vcpu_create() and
 * svm_allocate_nested(): __sme_set(page_to_pfn(page) << PAGE_SHIFT), 6.1
 * through 6.12). Compare with that bit cleared, as __sme_clr() does.
 */
static bool vs_vmcb_ok(const struct vmcb *p, unsigned long pa, u64 me_mask)
{
	return p && PAGE_ALIGNED(p) && virt_addr_valid(p) &&
	       __pa(p) == (pa & ~me_mask);
}

/*
 * The layout check proper, on an image of @size bytes at @h and a host
 * whose memory encryption mask is @me_mask: it reads nothing outside
 * [h, h + size) except the VMCB pointers it has validated, and depends on
 * nothing else, so kmod/test/ can run it on synthetic images.
 */
bool vs_svm_layout_check(const struct vs_svm_head *h, size_t size,
			 u64 me_mask)
{
	const struct vs_vmcb_info *cur;
	const struct vmcb *vmcb;
	unsigned long base = (unsigned long)h, at;

	if (size < sizeof(*h) ||
	    !vs_vmcb_ok(h->vmcb01.ptr, h->vmcb01.pa, me_mask))
		return false;
	cur = READ_ONCE(h->current_vmcb);
	vmcb = READ_ONCE(h->vmcb);
	at = (unsigned long)cur;
	if (cur == &h->vmcb01)
		return vmcb == h->vmcb01.ptr;
	/*
	 * A nested guest runs on vmcb02, whose kvm_vmcb_info sits further
	 * inside struct vcpu_svm (svm->nested.vmcb02). Accept it only when
	 * it lies wholly in the object past the head, naturally aligned, and
	 * is self-consistent. size >= sizeof(*h) > sizeof(*cur): no wrap.
	 */
	if (!IS_ALIGNED(at, __alignof__(*cur)) || at < base + sizeof(*h) ||
	    at > base + size - sizeof(*cur))
		return false;
	return cur->ptr == vmcb && vs_vmcb_ok(vmcb, cur->pa, me_mask);
}

/*
 * kvm_main.c allocates each vCPU from its kvm_vcpu kmem_cache and frees
 * it by the struct kvm_vcpu pointer, so the vcpu_svm starts the slab
 * object: ksize() bounds it. ksize() is exported in 6.1 and 6.12 and
 * works on any slab object (__ksize(): the slab's cache, slab_ksize()).
 * In 6.x it only reports: its kernel-doc names kmalloc() pointers and
 * forbids using the slack beyond the requested size, which KASAN and
 * UBSAN_BOUNDS may flag. We only read, and within the slot: slab_ksize()
 * is object_size (the requested vcpu_size) under KASAN or slab debugging,
 * at most the cache's stride otherwise. It takes no lock and does not
 * sleep: fine in the exit probe, which calls this once per vCPU. The
 * exact size would need kmem_cache_size(kvm_vcpu_cache), not exported.
 */
bool vs_svm_layout_ok(const struct kvm_vcpu *vcpu)
{
	const struct vs_svm_head *h = vs_svm(vcpu);

	return vs_svm_layout_check(h, ksize(h), sme_me_mask);
}
