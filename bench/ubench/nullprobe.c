// SPDX-License-Identifier: GPL-2.0
/*
 * vs_nullprobe: empty probes on kvm_exit and (entry=1, the default)
 * kvm_entry, nothing else.
 *
 * The floor of every tracepoint-based tool: what the kernel pays per exit
 * just to call one probe on each tracepoint (static key on, tracepoint
 * iterator, the call, the return). bench/guest.py runs it as "nullprobe"
 * (both: vcpustat with timing on hooks both) and "nullprobe_exit" (entry=0:
 * vcpustat with timing off hooks kvm_exit only), so that vcpustat's cost
 * splits into dispatch (this) and its probes' bodies. The kvm_entry
 * prototype is picked by the same feature test as vcpustat's (compat.h).
 */
#include <linux/module.h>
#include <linux/tracepoint.h>
#include "compat.h"
#include "vcpustat.h"

static bool entry = true;
module_param(entry, bool, 0444);
MODULE_PARM_DESC(entry, "also hook kvm_entry (default 1)");

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
	if (ret || !entry)
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
	if (entry)
		tracepoint_probe_unregister(&__tracepoint_kvm_entry,
					    vs_null_entry_probe(), NULL);
	tracepoint_probe_unregister(&__tracepoint_kvm_exit, vs_null_exit, NULL);
	tracepoint_synchronize_unregister();
}

module_init(vs_null_init);
module_exit(vs_null_exit_module);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("empty kvm_exit/kvm_entry probes (bench/ only)");
