/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Second-level exit keys (port, MSR, CPUID leaf, hypercall, vector, guest
 * page) and per-reason exit time histograms, per vCPU (detail.c).
 *
 * Each vCPU record carries its struct vs_detail (detail_types.h), so
 * nothing is allocated for details, in the probes or anywhere else. The
 * probes reach it only while the static key vs_detail_on is set: with
 * details off the cost is a no-op jump.
 */
#ifndef VCPUSTAT_DETAIL_H
#define VCPUSTAT_DETAIL_H

#include <linux/jump_label.h>
#include <linux/log2.h>
#include <linux/vcpustat.h>
#include "vcpustat.h"

#define VS_DETAIL_K_DEFAULT	8

DECLARE_STATIC_KEY_FALSE(vs_detail_on);
extern u32 vs_detail_gen;

/* dop of a reason that has no key table, for good: no bit of an op */
#define VS_DNONE		0x80
/* A key read gave nothing (no current VMCS, protected registers). */
#define VS_NO_KEY		(~0ULL)

/*
 * How a table's keys are read, decided once per reason (at its first
 * keyed exit) so that an exit does not test the vendor and its code
 * again. Keys are stored as read; vs_detail_key_uapi() gives readers the
 * uapi encoding (only port I/O differs: the probe only masks). The
 * workloads' common ops are one bit each, tested one by one
 * (vs_detail_key()); the others are multiples of 8 and never have those
 * bits. All are non-zero and below VS_DNONE.
 */
enum vs_dop {
	VS_DOP_CPUID = 0x01,	/* EAX | ECX << 32, both vendors */
	VS_DOP_SVM_IO = 0x02,	/* EXITINFO1, masked */
	VS_DOP_SVM_MSR = 0x04,	/* ECX | (EXITINFO1 & 1) << 32 */
	VS_DOP_SVM_NPF = 0x08,	/* EXITINFO2 & PAGE_MASK */
	VS_DOP_SVM_EXCP = 0x10,	/* the vector is the exit code's */
	VS_DOP_RAX = 0x18,	/* hypercall: RAX, both vendors */
	VS_DOP_VMX_IO = 0x20,	/* exit qualification, masked */
	VS_DOP_VMX_RDMSR = 0x28, /* ECX */
	VS_DOP_VMX_WRMSR = 0x30, /* ECX | 1 << 32 */
	VS_DOP_VMX_GPA = 0x38,	/* GUEST_PHYSICAL_ADDRESS & PAGE_MASK */
	VS_DOP_VMX_VECTOR = 0x40, /* VM_EXIT_INTR_INFO's vector, if valid */
};

/*
 * A counter only this vCPU's probes write, one more: on x86-64 a single
 * non-atomic increment of memory (as local_inc()), one instruction where
 * WRITE_ONCE(x, x + 1) makes three, and a reader's READ_ONCE still sees
 * the old or the new value whole; elsewhere WRITE_ONCE.
 */
static __always_inline void vs_count(u64 *p)
{
#ifdef CONFIG_X86_64
	asm volatile("incq %0" : "+m" (*p));
#else
	WRITE_ONCE(*p, *p + 1);
#endif
}

/* The entries of key table @i. */
static __always_inline struct vs_dkey *vs_detail_keys_of(const struct vs_detail *d,
							 unsigned long i)
{
	return (struct vs_dkey *)&d->keys[i * VCPUSTAT_DETAIL_K_MAX];
}

/* detail.c: the slow paths */
void vs_detail_restart(struct vs_vcpu *vc, u32 reset);
void vs_detail_first(struct vs_vcpu *vc, const struct kvm_vcpu *vcpu,
		     u32 code, struct vs_reason *r);
void vs_detail_find(struct vs_detail *d, struct vs_reason *r, u64 key);
u64 vs_detail_key_uapi(u32 op, u64 key);

#ifdef VS_KVM_ARM64
/*
 * arm64 has no second-level keys yet (no reason gets a key table: see
 * vs_detail_first()); its per-reason histograms work.
 */
static __always_inline bool vs_detail_key(const struct kvm_vcpu *vcpu,
					  u32 code, u32 op, u64 *key)
{
	*key = VS_NO_KEY;
	return op && op != VS_DNONE;
}
#else
#include "detail_svm.h"
#include "detail_vmx.h"

/* detail_svm.c, detail_vmx.c: how a reason's keys are read, if at all */
int vs_detail_op_svm(const struct kvm_vcpu *vcpu, u32 code, u32 *kind);
int vs_detail_op_vmx(u32 code, u32 *kind);
u64 vs_detail_io_uapi_svm(u64 info1);
u64 vs_detail_io_uapi_vmx(u64 q);

/*
 * The low half of a register as one 32-bit load (x86 is little-endian):
 * no zero extension after a 64-bit one.
 */
static __always_inline u64 vs_reg32(const unsigned long *regs, int i)
{
	return READ_ONCE(*(const u32 *)&regs[i]);
}

/* The key of one exit (VS_NO_KEY: none) of the ops but the common three. */
static __always_inline u64 vs_detail_key_rare(const struct kvm_vcpu *vcpu,
					      u32 code, u32 op)
{
	const unsigned long *regs = vcpu->arch.regs;

	switch (op) {
	case VS_DOP_SVM_NPF:
		return READ_ONCE(vs_svm_control(vcpu)->exit_info_2) & PAGE_MASK;
	case VS_DOP_SVM_EXCP:
		return code - SVM_EXIT_EXCP_BASE;
	case VS_DOP_RAX:
		return READ_ONCE(regs[VCPU_REGS_RAX]);
	case VS_DOP_VMX_RDMSR:
		return (u32)READ_ONCE(regs[VCPU_REGS_RCX]);
	case VS_DOP_VMX_WRMSR:
		return (u32)READ_ONCE(regs[VCPU_REGS_RCX]) | BIT_ULL(32);
	}
	return vs_detail_key_vmx(op);
}

/*
 * The key of one exit (VS_NO_KEY: none), as its table's op says: the
 * common ops one bit test each (a chain of compares of one variable
 * would become a switch's search tree); 0 and VS_DNONE have none of
 * their bits.
 */
static __always_inline bool vs_detail_key(const struct kvm_vcpu *vcpu,
					  u32 code, u32 op, u64 *key)
{
	const unsigned long *regs = vcpu->arch.regs;

	if (likely(op & VS_DOP_CPUID))
		*key = vs_reg32(regs, VCPU_REGS_RAX) |
		       ((u64)vs_reg32(regs, VCPU_REGS_RCX) << 32);
	else if (likely(op & VS_DOP_SVM_IO))
		*key = READ_ONCE(vs_svm_control(vcpu)->exit_info_1) &
		       VS_SVM_IO_KEY_MASK;
	else if (likely(op & VS_DOP_SVM_MSR))
		/* EXITINFO1 bit 0 to bit 32: two shifts, no mask to load */
		*key = vs_reg32(regs, VCPU_REGS_RCX) |
		       ((READ_ONCE(vs_svm_control(vcpu)->exit_info_1) << 63) >> 31);
	else if (op && op != VS_DNONE)
		*key = vs_detail_key_rare(vcpu, code, op);
	else
		return false;
	return true;
}
#endif

/*
 * kvm_exit, after the exit was counted under @r (vc->pending): count its
 * key. Inlined into the probe (under the static key) because the calls
 * cost as much as the work: the common case is a known reason whose key
 * is its table's last one met, a few loads and one increment. @d is at a
 * fixed offset in @vc and @r holds how to read the key and where the
 * last one is, so nothing is computed to find them; resets start the
 * details afresh themselves (vs_vcpu_apply_reset()), so only a new
 * switch-on is checked here.
 */
static __always_inline void vs_detail_exit(struct vs_vcpu *vc,
					   const struct kvm_vcpu *vcpu,
					   u32 code, struct vs_reason *r)
{
	struct vs_detail *d = &vc->detail;
	struct vs_dkey *e;
	u64 key;
	u8 op;

	if (unlikely(d->gen != READ_ONCE(vs_detail_gen)))
		vs_detail_restart(vc, vc->reset_done);
	op = r->dop;
	if (unlikely(!vs_detail_key(vcpu, code, op, &key))) {
		/* the reason's first exit since the start, or VS_DNONE */
		if (!op)
			vs_detail_first(vc, vcpu, code, r);
		return;
	}
	e = &d->keys[r->dkey];
	/* One address for the compare and the count (else gcc makes two). */
	OPTIMIZER_HIDE_VAR(e);
	if (likely(e->key == key)) {
		vs_count(&e->count);
		return;
	}
	vs_detail_find(d, r, key);
}

/*
 * kvm_entry, with the pending exit's reason @r and time @t: its reason's
 * histogram. Bucket 0 below 2^(SHIFT + 1) ns, then one per power of two,
 * the last open-ended (uapi VCPUSTAT_RHIST_*). No generation check: an
 * exit of another generation writes only details that its vCPU's next
 * exit starts afresh and that readers never send meanwhile.
 */
static __always_inline unsigned long vs_detail_bucket(u64 t)
{
	/*
	 * __fls(): never 0 here, so no test for it (ilog2() has one); all
	 * unsigned long, so the - SHIFT folds into the address.
	 */
	return min_t(unsigned long,
		     __fls(t | ((2ULL << VCPUSTAT_RHIST_SHIFT) - 1)),
		     VCPUSTAT_RHIST_SHIFT + VCPUSTAT_RHIST_BUCKETS - 1) -
	       VCPUSTAT_RHIST_SHIFT;
}

static __always_inline void vs_detail_time(struct vs_vcpu *vc,
					   struct vs_reason *r, u64 t)
{
	/*
	 * No test: the reason's row was given at its first exit
	 * (vs_detail_first()), and row 0 takes the exits of reasons that
	 * got none.
	 */
	vs_count(&vc->detail.hist[r->dhist][vs_detail_bucket(t)]);
}

/* readers and configuration (netlink.c) */
struct vs_region_ctx;
int vs_detail_fill(struct sk_buff *skb, const struct vs_vcpu *vc,
		   const struct vs_reason *r, struct vs_region_ctx *rc);
int vs_detail_set(bool on);
void vs_detail_set_k(u32 k);
bool vs_detail_enabled(void);
u32 vs_detail_k(void);

#endif /* VCPUSTAT_DETAIL_H */
