// SPDX-License-Identifier: GPL-2.0
/*
 * Feature test: does kvm_x86_ops.vcpu_run take (vcpu, u64 run_flags) with
 * a KVM_RUN_FORCE_IMMEDIATE_EXIT flag? Compiles only then. The vendor code
 * passes kvm_entry "run_flags & KVM_RUN_FORCE_IMMEDIATE_EXIT" as its bool
 * (7.2; stable 6.1.y and 6.12.y have this form too). See kvm_entry_run1.c
 * for why the run hook stands in for the tracepoint's private prototype.
 */
#include <linux/kvm_host.h>

typedef enum exit_fastpath_completion (*vs_run_t)(struct kvm_vcpu *vcpu,
						  u64 run_flags);
#define VS_RUN_HOOK typeof_member(struct kvm_x86_ops, vcpu_run)

static_assert(__builtin_types_compatible_p(VS_RUN_HOOK, vs_run_t));
static_assert(KVM_RUN_FORCE_IMMEDIATE_EXIT != 0);
