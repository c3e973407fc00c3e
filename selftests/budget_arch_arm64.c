// SPDX-License-Identifier: GPL-2.0
/*
 * budget_workload on arm64: a few instructions at IPA GUEST_BASE, run at
 * EL1 with the MMU off (KVM_ARM_VCPU_INIT's reset state), x0 and x1 set
 * to two IPAs no memslot covers, so that a store there is a data abort
 * KVM hands to userspace as KVM_EXIT_MMIO (selftests/kvm_workload_arm64.c
 * sets up its guests the same way).
 *   spin  b .
 *   hlt   wfi; b .-4   (KVM traps WFI, HCR_EL2.TWI; with nothing pending
 *                     the vCPU blocks in kvm_vcpu_halt() until the
 *                     workload's signal; no vGIC needed)
 *   io    str wzr, [x1]; b .-4
 * each after two stores to x0, the warm-up exits.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include "budget_arch.h"

#define GUEST_BASE	0x10000UL
#define GUEST_SIZE	0x10000UL
#define WARM_ADDR	0x40000000UL
#define IO_ADDR		0x40001000UL

#define A64_STR_WZR_X0	0xb900001fu	/* str wzr, [x0] */
#define A64_STR_WZR_X1	0xb900003fu	/* str wzr, [x1] */
#define A64_B_SELF	0x14000000u	/* b . */
#define A64_B_BACK1	0x17ffffffu	/* b .-4 */
#define A64_WFI		0xd503207fu

static const uint32_t code_warm[] = { A64_STR_WZR_X0, A64_STR_WZR_X0 };
static const uint32_t code_spin[] = { A64_B_SELF };
static const uint32_t code_hlt[] = { A64_WFI, A64_B_BACK1 };
static const uint32_t code_io[] = { A64_STR_WZR_X1, A64_B_BACK1 };

static struct kvm_vcpu_init init;

void bw_arch_vm(int kvm_fd, int vm_fd, enum mode mode)
{
	const uint32_t *code = mode == SPIN ? code_spin :
			       mode == HLT ? code_hlt : code_io;
	size_t len = mode == SPIN ? sizeof(code_spin) :
		     mode == HLT ? sizeof(code_hlt) : sizeof(code_io);

	(void)kvm_fd;
	bw_guest_ram(vm_fd, GUEST_BASE, GUEST_SIZE, code_warm,
		     sizeof(code_warm), code, len);
	if (ioctl(vm_fd, KVM_ARM_PREFERRED_TARGET, &init))
		bw_die("KVM_ARM_PREFERRED_TARGET");
}

#define CORE_REG(field) (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | \
	KVM_REG_ARM_CORE | (offsetof(struct kvm_regs, field) / sizeof(uint32_t)))

static void set_reg(int fd, uint64_t id, uint64_t val)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)&val };

	if (ioctl(fd, KVM_SET_ONE_REG, &reg))
		bw_die("KVM_SET_ONE_REG");
}

void bw_arch_vcpu(int vm_fd, int vcpu_fd)
{
	(void)vm_fd;
	if (ioctl(vcpu_fd, KVM_ARM_VCPU_INIT, &init))
		bw_die("KVM_ARM_VCPU_INIT");
	set_reg(vcpu_fd, CORE_REG(regs.pc), GUEST_BASE);
	set_reg(vcpu_fd, CORE_REG(regs.regs[0]), WARM_ADDR);
	set_reg(vcpu_fd, CORE_REG(regs.regs[1]), IO_ADDR);
}

enum bw_exit bw_arch_exit(const struct kvm_run *run)
{
	if (run->exit_reason != KVM_EXIT_MMIO || !run->mmio.is_write)
		return BW_EXIT_OTHER;
	if (run->mmio.phys_addr == WARM_ADDR)
		return BW_EXIT_WARM;
	return run->mmio.phys_addr == IO_ADDR ? BW_EXIT_IO : BW_EXIT_OTHER;
}
