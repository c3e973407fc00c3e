// SPDX-License-Identifier: GPL-2.0
/*
 * Feature test: does kvm_x86_ops.vcpu_run take (vcpu, bool
 * force_immediate_exit)? Compiles only then. That bool is what the vendor
 * code passes on as kvm_entry's second argument (6.9 until run_flags, and
 * the 6.1.149 / 6.6.103 backports). See kvm_entry_run1.c for why the run
 * hook stands in for the tracepoint's private prototype.
 */
#include <linux/kvm_host.h>

typedef enum exit_fastpath_completion (*vs_run_t)(struct kvm_vcpu *vcpu,
						  bool force_immediate_exit);
#define VS_RUN_HOOK typeof_member(struct kvm_x86_ops, vcpu_run)

static_assert(__builtin_types_compatible_p(VS_RUN_HOOK, vs_run_t));
