// SPDX-License-Identifier: GPL-2.0
/*
 * Feature test: is this arm64 KVM, whose kvm_exit event is (int ret,
 * unsigned int esr_ec, unsigned long vcpu_pc) and masks ret with
 * ARM_EXCEPTION_CODE() / ARM_EXCEPTION_IS_TRAP() (asm/kvm_asm.h)? Compiles
 * only there. Same in 6.1 and 6.12 (arch/arm64/kvm/trace_arm.h).
 */
#include <linux/kvm_host.h>
#include <asm/kvm_asm.h>

static_assert(ARM_EXCEPTION_IS_TRAP(ARM_EXCEPTION_TRAP));
static_assert(!ARM_EXCEPTION_IS_TRAP(ARM_EXCEPTION_IRQ));

static __used struct kvm_vcpu *vs_conftest_running(void)
{
	return kvm_get_running_vcpu();
}
