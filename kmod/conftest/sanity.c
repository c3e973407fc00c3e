// SPDX-License-Identifier: GPL-2.0
/*
 * Must always compile: proves the feature-test harness itself works with
 * this kernel's flags (W=1 included), so that a failing test really means
 * "old API absent" and not "the harness is broken".
 */
#include <linux/kvm_host.h>
#include <net/genetlink.h>

static __used int vs_conftest_sanity(struct kvm_vcpu *vcpu)
{
	return vcpu->vcpu_id;
}
