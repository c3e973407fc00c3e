// SPDX-License-Identifier: GPL-2.0
/*
 * budget_workload on x86: a few bytes of real-mode code at GPA 0.
 *   spin  jmp $
 *   hlt   cli; hlt (in-kernel irqchip: halted in the kernel, nothing to
 *         wake it but the workload's signal)
 *   io    out 0x10 (KVM_EXIT_IO), again and again
 * each after two OUTs to WARM_PORT, the warm-up exits.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/ioctl.h>
#include "budget_arch.h"

#define MEM_SIZE	0x10000
#define IO_PORT		0x10
#define WARM_PORT	0x11

static const unsigned char code_warm[] = {
	0xe6, WARM_PORT, 0xe6, WARM_PORT	/* out 0x11,al; out 0x11,al */
};
static const unsigned char code_spin[] = { 0xeb, 0xfe };		/* jmp $ */
static const unsigned char code_hlt[] = { 0xfa, 0xf4, 0xeb, 0xfd };	/* cli; hlt; jmp .-1 */
static const unsigned char code_io[] = { 0xe6, IO_PORT, 0xeb, 0xfc };	/* out 0x10,al; jmp .-4 */

void bw_arch_vm(int kvm_fd, int vm_fd, enum mode mode)
{
	const unsigned char *code = mode == SPIN ? code_spin :
				    mode == HLT ? code_hlt : code_io;
	size_t len = mode == SPIN ? sizeof(code_spin) :
		     mode == HLT ? sizeof(code_hlt) : sizeof(code_io);

	(void)kvm_fd;
	/* VMX real mode without unrestricted guest needs it; SVM ignores. */
	ioctl(vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000ul);
	if (mode == HLT && ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0))
		bw_die("KVM_CREATE_IRQCHIP (hlt needs the in-kernel irqchip)");
	bw_guest_ram(vm_fd, 0, MEM_SIZE, code_warm, sizeof(code_warm), code,
		     len);
}

void bw_arch_vcpu(int vm_fd, int vcpu_fd)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = 0, .rflags = 2 };

	(void)vm_fd;
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs))
		bw_die("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) ||
	    ioctl(vcpu_fd, KVM_SET_REGS, &regs))
		bw_die("KVM_SET_(S)REGS");
}

enum bw_exit bw_arch_exit(const struct kvm_run *run)
{
	if (run->exit_reason != KVM_EXIT_IO)
		return BW_EXIT_OTHER;
	if (run->io.port == WARM_PORT)
		return BW_EXIT_WARM;
	return run->io.port == IO_PORT ? BW_EXIT_IO : BW_EXIT_OTHER;
}
