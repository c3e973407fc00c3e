// SPDX-License-Identifier: GPL-2.0
/*
 * Feature test: is get_exit_info() the 5.16+ form with the exit reason
 * pointer first? Compiles only then. That change (0a62a0319abb) also made
 * the kvm_exit tracepoint (vcpu, isa), the prototype our probe has; the
 * tracepoint's own definition is private to KVM. kvm_exit_old.c names the
 * form before it; compat.h refuses a kernel that has neither.
 */
#include <linux/kvm_host.h>

typedef void (*vs_info_t)(struct kvm_vcpu *vcpu, u32 *reason, u64 *info1,
			  u64 *info2, u32 *intr_info, u32 *error_code);
#define VS_INFO_HOOK typeof_member(struct kvm_x86_ops, get_exit_info)

static_assert(__builtin_types_compatible_p(VS_INFO_HOOK, vs_info_t));
