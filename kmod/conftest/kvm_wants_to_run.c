// SPDX-License-Identifier: GPL-2.0
/*
 * Feature test: does struct kvm_vcpu have wants_to_run (set across a
 * KVM_RUN that is to enter the guest, false elsewhere)? Debian's 6.1,
 * 6.12 and sid have it; a field, so it is tested, not dated.
 */
#include <linux/kvm_host.h>

bool vs_test(struct kvm_vcpu *vcpu);
bool vs_test(struct kvm_vcpu *vcpu)
{
	return vcpu->wants_to_run;
}
