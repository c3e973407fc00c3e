/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where a GPA key's page is in its VM (detail_region.c): the memslot
 * that holds it, or none (MMIO) and the KVM MMIO bus range in it.
 * Dump path only; never reachable from the probes.
 */
#ifndef VCPUSTAT_DETAIL_REGION_H
#define VCPUSTAT_DETAIL_REGION_H

#include <linux/types.h>

struct file;
struct kvm;
struct sk_buff;
struct vs_vcpu;
struct vs_vm;

/*
 * One dump callback's hold on the VM whose vCPUs it is filling: the VM's
 * own fd, pinned, keeps its struct kvm alive (its memslots and buses
 * are read in its SRCU, per key). Taken at the VM's first GPA key,
 * dropped at the next VM or the end of the callback (no sleep either way:
 * callers hold rcu_read_lock()).
 */
struct vs_region_ctx {
	const struct vs_vm *vm;		/* the VM it is for */
	const struct vs_vcpu *vc;	/* the vCPU being filled */
	struct file *file;		/* its VM fd, pinned; NULL: none */
	struct kvm *kvm;		/* file->private_data */
	bool tried;			/* the fd was looked for */
};

/* Start filling @vc of @vm (drops the previous VM's hold if another). */
void vs_region_bind(struct vs_region_ctx *rc, const struct vs_vm *vm,
		    const struct vs_vcpu *vc);
void vs_region_release(struct vs_region_ctx *rc);
/* Inside a key entry nest: the region attributes of GPA key @gpa. */
int vs_region_fill(struct sk_buff *skb, struct vs_region_ctx *rc, u64 gpa);

#endif /* VCPUSTAT_DETAIL_REGION_H */
