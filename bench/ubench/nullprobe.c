// SPDX-License-Identifier: GPL-2.0
/*
 * vs_nullprobe: empty probes on kvm_exit and kvm_entry, nothing else.
 *
 * The floor of every tracepoint-based tool: what the kernel pays per exit
 * just to call one probe on each of the two tracepoints (static key on,
 * tracepoint iterator, the call, the return). bench/guest.py runs it as the
 * "nullprobe" configuration next to vcpustat, so that vcpustat's cost splits
 * into dispatch (this) and its probes' bodies. The kvm_entry prototype is
 * picked by the same feature test as vcpustat's (kmod/compat.h).
 */
#include <linux/module.h>
#include <linux/tracepoint.h>
#include "compat.h"
#include "vcpustat.h"

static void vs_null_exit(void *data, struct kvm_vcpu *vcpu, u32 isa)
{
}

static void vs_null_entry(void *data, struct kvm_vcpu *vcpu)
{
}

static void vs_null_entry_bool(void *data, struct kvm_vcpu *vcpu, bool imm)
{
}

static void *vs_null_entry_probe(void)
{
	return VS_KVM_ENTRY_HAS_BOOL ? (void *)vs_null_entry_bool :
				       (void *)vs_null_entry;
}

static int __init vs_null_init(void)
{
	int ret;

	ret = tracepoint_probe_register(&__tracepoint_kvm_exit, vs_null_exit,
					NULL);
	if (ret)
		return ret;
	ret = tracepoint_probe_register(&__tracepoint_kvm_entry,
					vs_null_entry_probe(), NULL);
	if (ret) {
		tracepoint_probe_unregister(&__tracepoint_kvm_exit,
					    vs_null_exit, NULL);
		tracepoint_synchronize_unregister();
	}
	return ret;
}

static void __exit vs_null_exit_module(void)
{
	tracepoint_probe_unregister(&__tracepoint_kvm_entry,
				    vs_null_entry_probe(), NULL);
	tracepoint_probe_unregister(&__tracepoint_kvm_exit, vs_null_exit, NULL);
	tracepoint_synchronize_unregister();
}

module_init(vs_null_init);
module_exit(vs_null_exit_module);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("empty kvm_exit/kvm_entry probes (bench/ only)");
