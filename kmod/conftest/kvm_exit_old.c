// SPDX-License-Identifier: GPL-2.0
/*
 * Feature test: is get_exit_info() still the pre-5.16 form without the
 * exit reason pointer? That change (0a62a0319abb) also dropped the
 * exit_reason argument of the kvm_exit tracepoint, whose private
 * definition we cannot see. Compiles only on the old form.
 */
#include <linux/kvm_host.h>

static void vs_old_info(struct kvm_vcpu *vcpu, u64 *info1, u64 *info2,
			u32 *intr_info, u32 *error_code)
{
}

static struct kvm_x86_ops vs_conftest_ops __used = {
	.get_exit_info = vs_old_info,
};
