// SPDX-License-Identifier: GPL-2.0
/*
 * Feature test: does kvm_x86_ops.vcpu_run take more than the vCPU?
 *
 * The kvm_entry tracepoint gained its "bool force_immediate_exit" argument
 * in the same change that gave vcpu_run a second parameter (6.9, backported
 * to 6.1.149 and 6.6.103). The tracepoint prototype lives in a private
 * header, vcpu_run in the shipped asm/kvm_host.h, so test the latter: the
 * kernel version number lies about stable backports. This file compiles
 * only when vcpu_run is still the old one-argument form.
 */
#include <linux/kvm_host.h>

static enum exit_fastpath_completion vs_old_run(struct kvm_vcpu *vcpu)
{
	return EXIT_FASTPATH_NONE;
}

static struct kvm_x86_ops vs_conftest_ops __used = {
	.vcpu_run = vs_old_run,
};
