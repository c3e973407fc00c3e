// SPDX-License-Identifier: GPL-2.0
/*
 * Unit test of the SVM layout check, linked with the module's own
 * kmod/reason_svm.o (Kbuild, VCPUSTAT_TEST=1). Debian kernels have no
 * KUnit, so this is a plain module: its init runs every case on synthetic
 * vcpu_svm images, prints KTAP to the kernel log (each line prefixed
 * "vcpustat_test: ", which selftests/reason_unit.sh strips) and frees
 * everything. Like the kernel's kselftest modules it loads when every case
 * passed and fails with -EINVAL otherwise; the runner unloads it.
 *
 * Each image is a vs_svm_head plus a tail; the check is told the object is
 * VS_T_OBJ bytes, while the buffer spans the old check's 4-page window,
 * so a regressed check reads only our memory and reports a wrong answer
 * instead of faulting. Every rejected image differs from an accepted one
 * in exactly the property named, so each reject tests that property.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include "reason_svm.h"

/* The C-bit of an EPYC host (CPUID 0x8000001f EBX[5:0] = 47). */
#define VS_T_CBIT	BIT_ULL(47)
/* The object the check is told about, and a vmcb02 info inside it. */
#define VS_T_OBJ	(sizeof(struct vs_svm_head) + 512)
#define VS_T_NEST	(sizeof(struct vs_svm_head) + 64)
/* The old check accepted current_vmcb up to 4 pages past the head. */
#define VS_T_BUF	(sizeof(struct vs_svm_head) + 5 * PAGE_SIZE)
#define VS_T_INFO	sizeof(struct vs_vmcb_info)

struct vs_t {
	struct vs_svm_head *h;		/* VS_T_BUF bytes */
	struct vmcb *v01, *v02;		/* two real pages */
};

/* A vCPU running its own guest on vmcb01; @cbit in its physical address. */
static void vs_t_l1(struct vs_t *t, u64 cbit)
{
	memset(t->h, 0, VS_T_BUF);
	t->h->vmcb01.ptr = t->v01;
	t->h->vmcb01.pa = __pa(t->v01) | cbit;
	t->h->vmcb = t->v01;
	t->h->current_vmcb = &t->h->vmcb01;
}

/* The same vCPU running a nested guest on vmcb02, its info at @off. */
static void vs_t_l2(struct vs_t *t, size_t off, u64 cbit)
{
	struct vs_vmcb_info info = {
		.ptr = t->v02,
		.pa = __pa(t->v02) | cbit,
	};

	vs_t_l1(t, cbit);
	/* memcpy: @off may be misaligned on purpose. */
	memcpy((char *)t->h + off, &info, sizeof(info));
	t->h->vmcb = t->v02;
	t->h->current_vmcb = (void *)((char *)t->h + off);
}

static void vs_t_plain(struct vs_t *t) { vs_t_l1(t, 0); }
static void vs_t_cbit(struct vs_t *t) { vs_t_l1(t, VS_T_CBIT); }
static void vs_t_nested(struct vs_t *t) { vs_t_l2(t, VS_T_NEST, 0); }
static void vs_t_nested_cbit(struct vs_t *t)
{
	vs_t_l2(t, VS_T_NEST, VS_T_CBIT);
}

static void vs_t_last_slot(struct vs_t *t)
{
	vs_t_l2(t, VS_T_OBJ - VS_T_INFO, 0);
}

static void vs_t_straddle(struct vs_t *t)
{
	vs_t_l2(t, VS_T_OBJ - VS_T_INFO + 8, 0);
}

static void vs_t_past_end(struct vs_t *t)
{
	vs_t_l2(t, VS_T_OBJ + PAGE_SIZE, 0);
}

static void vs_t_misaligned(struct vs_t *t) { vs_t_l2(t, VS_T_NEST + 4, 0); }
static void vs_t_in_head(struct vs_t *t) { vs_t_l2(t, 8, 0); }

static void vs_t_wrong_pa(struct vs_t *t)
{
	vs_t_l1(t, 0);
	t->h->vmcb01.pa += PAGE_SIZE;
}

static void vs_t_not_current(struct vs_t *t)
{
	vs_t_l1(t, 0);
	t->h->vmcb = t->v02;
}

static void vs_t_nested_wrong_pa(struct vs_t *t)
{
	vs_t_nested(t);
	t->h->current_vmcb->pa += PAGE_SIZE;
}

static void vs_t_unaligned_vmcb(struct vs_t *t)
{
	vs_t_l1(t, 0);
	t->h->vmcb01.ptr = (void *)((char *)t->v01 + 64);
	t->h->vmcb01.pa += 64;
	t->h->vmcb = t->h->vmcb01.ptr;
}

static const struct vs_t_case {
	const char *name;
	void (*setup)(struct vs_t *t);
	u64 me_mask;			/* the host's memory encryption mask */
	size_t size;			/* 0: VS_T_OBJ */
	bool accept;
} vs_t_cases[] = {
	{ "vmcb01 current, plain address", vs_t_plain, 0, 0, true },
	{ "sme: vmcb01 address with the C-bit", vs_t_cbit, VS_T_CBIT, 0,
	  true },
	{ "sme: nested vmcb02 address with the C-bit", vs_t_nested_cbit,
	  VS_T_CBIT, 0, true },
	{ "C-bit in the address, host without SME", vs_t_cbit, 0, 0, false },
	{ "vmcb01 address of another page", vs_t_wrong_pa, 0, 0, false },
	{ "vmcb01 not page aligned", vs_t_unaligned_vmcb, 0, 0, false },
	{ "vmcb is not current_vmcb's", vs_t_not_current, 0, 0, false },
	{ "nested vmcb02 inside the object", vs_t_nested, 0, 0, true },
	{ "nested vmcb02 address of another page", vs_t_nested_wrong_pa, 0,
	  0, false },
	{ "nested info in the object's last slot", vs_t_last_slot, 0, 0,
	  true },
	{ "nested info straddling the object's end", vs_t_straddle, 0, 0,
	  false },
	{ "nested info a page past the object", vs_t_past_end, 0, 0, false },
	{ "nested info misaligned", vs_t_misaligned, 0, 0, false },
	{ "nested info inside the head", vs_t_in_head, 0, 0, false },
	{ "object smaller than the head", vs_t_plain, 0,
	  sizeof(struct vs_svm_head) - 8, false },
};

static int vs_t_n, vs_t_failed;

static void vs_t_result(bool ok, const char *name)
{
	vs_t_n++;
	vs_t_failed += !ok;
	pr_info("%sok %d %s\n", ok ? "" : "not ", vs_t_n, name);
}

/*
 * The live wrapper, as the exit probe calls it: an image in a kmem_cache
 * object like KVM's kvm_vcpu cache, bounded by ksize(), this host's mask.
 */
static void vs_t_live(struct vs_t *t)
{
	struct kmem_cache *c;
	struct vs_svm_head *o;
	size_t ks = 0;
	bool got = false;

	c = kmem_cache_create("vcpustat_test_vcpu", VS_T_OBJ,
			      __alignof__(struct vs_svm_head), 0, NULL);
	o = c ? kmem_cache_zalloc(c, GFP_KERNEL) : NULL;
	if (o) {
		ks = ksize(o);
		vs_t_l2(t, VS_T_NEST, sme_me_mask);
		memcpy(o, t->h, VS_T_OBJ);
		o->current_vmcb = (void *)((char *)o + VS_T_NEST);
		got = vs_svm_layout_ok(&o->vcpu);
		kmem_cache_free(c, o);
	}
	kmem_cache_destroy(c);
	if (!o)
		pr_info("# no kmem_cache object\n");
	else
		pr_info("# ksize %zu, object %zu, got %d\n", ks, VS_T_OBJ, got);
	vs_t_result(ks >= VS_T_OBJ && ks < VS_T_OBJ + PAGE_SIZE,
		    "ksize() of a kmem_cache object bounds its slot");
	vs_t_result(got, "live check: nested vCPU in a kmem_cache object");
}

static int __init vs_t_init(void)
{
	struct vs_t t = {};
	struct page *p01, *p02;
	unsigned int i;

	t.h = kvzalloc(VS_T_BUF, GFP_KERNEL);
	p01 = alloc_page(GFP_KERNEL | __GFP_ZERO);
	p02 = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!t.h || !p01 || !p02) {
		pr_info("KTAP version 1\n");
		pr_info("1..0 # SKIP out of memory\n");
		goto out;
	}
	t.v01 = page_address(p01);
	t.v02 = page_address(p02);

	pr_info("KTAP version 1\n");
	pr_info("1..%zu\n", ARRAY_SIZE(vs_t_cases) + 2);
	for (i = 0; i < ARRAY_SIZE(vs_t_cases); i++) {
		const struct vs_t_case *tc = &vs_t_cases[i];
		bool got;

		tc->setup(&t);
		got = vs_svm_layout_check(t.h, tc->size ?: VS_T_OBJ,
					  tc->me_mask);
		if (got != tc->accept)
			pr_info("# %s: %s, expected %s\n", tc->name,
				got ? "accepted" : "rejected",
				tc->accept ? "accepted" : "rejected");
		vs_t_result(got == tc->accept, tc->name);
	}
	vs_t_live(&t);
	pr_info("# %d of %d failed\n", vs_t_failed, vs_t_n);
out:
	if (p02)
		__free_page(p02);
	if (p01)
		__free_page(p01);
	kvfree(t.h);
	return vs_t_n && !vs_t_failed ? 0 : -EINVAL;
}
module_init(vs_t_init);

static void __exit vs_t_exit(void)
{
}
module_exit(vs_t_exit);

MODULE_DESCRIPTION("vcpustat unit test: SVM layout check");
MODULE_LICENSE("GPL");
