// SPDX-License-Identifier: GPL-2.0
/*
 * Feature test: is kvm_x86_ops.vcpu_run the one-argument form, from the
 * time the kvm_entry tracepoint had no second argument (before 6.9 and
 * 6.1.149)? Compiles only then. The tracepoint's prototype lives in
 * arch/x86/kvm/trace.h, which no headers package ships, so the run hook
 * that hands the tracepoint its argument stands in for it; compat.h
 * refuses a kernel where none of kvm_entry_run*.c compiles.
 */
#include <linux/kvm_host.h>

typedef enum exit_fastpath_completion (*vs_run_t)(struct kvm_vcpu *vcpu);
#define VS_RUN_HOOK typeof_member(struct kvm_x86_ops, vcpu_run)

static_assert(__builtin_types_compatible_p(VS_RUN_HOOK, vs_run_t));
