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

_Static_assert(__builtin_types_compatible_p(
		       typeof(((struct kvm_x86_ops *)NULL)->vcpu_run), vs_run_t),
	       "not the one-argument vcpu_run");
