// SPDX-License-Identifier: GPL-2.0
/*
 * The VM and vCPU tables, and when their entries live and die.
 *
 * Lifecycle design. KVM has no tracepoint or notifier for VM or vCPU
 * destruction. Two ways, chosen at load (parameter destroy_hook):
 *
 *  - Hooked (default): a kprobe on kvm_destroy_vm(), which KVM calls once
 *    the last reference (VM fd, vCPU fds, KVM's own users) is gone, before
 *    it frees the struct kvm and its vCPUs. Its handler unhashes our VM at
 *    once; the tick's sweep sends VM_GONE with our final counts and frees
 *    our records after an RCU grace period. We hold no reference, so a VM
 *    dies exactly when it would without vcpustat (RELIABILITY.md F2: a
 *    pinned VM kept its debugfs name "<pid>-<fd>" from the process's next
 *    VM). This is safe because nothing here dereferences a struct kvm or
 *    kvm_vcpu after first sight: identity is copied then, and the pointers
 *    are only hash keys, unhashed before KVM can free or reuse them.
 *    kvm_destroy_vm() is a static function of kvm.ko; if the kprobe cannot
 *    be placed (renamed, inlined, no CONFIG_KPROBES), we fall back to:
 *  - Pinned: on the first probe hit of any vCPU of a VM, we take a
 *    reference with kvm_get_kvm() (a vCPU is running, so the VM is alive:
 *    the increment is safe in the probe's atomic context). While we hold
 *    it, the struct kvm and its vCPUs stay allocated. The tick sweeps
 *    every VS_TICK: a VM whose users_count is 1 has no fd left, only our
 *    reference, so no probe can fire for it again. We unhash it, wait for
 *    RCU readers (probes run with preemption off, dumps under
 *    rcu_read_lock()), send VM_GONE, then queue kvm_put_kvm(), which
 *    destroys the VM, on an unbound workqueue (dead VMs in parallel, never
 *    in the tick's way; F3). The price: the VM outlives its last fd by a
 *    tick plus a grace period, and its debugfs name stays taken (F2).
 *  - Either way, a probe can only fire for a live VM (a running vCPU holds
 *    its fd), and kvm.ko cannot go away while we are loaded (we link its
 *    tracepoints); the vendor module is released by kvm_destroy_vm() last.
 *
 * Hot path: a lookup in a fixed-size RCU hash keyed by the vcpu pointer.
 * Only first sight takes vs_lock (once per vCPU) and allocates, with
 * GFP_NOWAIT; a failure is counted and retried on the next exit.
 */
#include <linux/hash.h>
#include <linux/hashtable.h>
#include <linux/kprobes.h>
#include <linux/log2.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include "vcpustat.h"

DEFINE_PER_CPU(struct vs_pcpu_stats, vs_pcpu_stats);

/* Serializes changes to vs_vms, the hashes and the counts below. */
static DEFINE_SPINLOCK(vs_lock);
LIST_HEAD(vs_vms);
u64 vs_generation;
u64 vs_vms_seen;
u32 vs_nr_vms;
atomic_t vs_nr_vcpus = ATOMIC_INIT(0);

/*
 * vCPU records come from their own cache: a kmalloc'd 2.2 KiB object would
 * be rounded up to 4 KiB. /proc/slabinfo shows the cache (count whole
 * slabs: active_objs over-counts, see BENCHMARKS.md).
 */
static struct kmem_cache *vs_vcpu_cache;
/* Read by the probes' inlined lookup, vs_vcpu_find() in vcpustat.h. */
struct hlist_head *vs_vcpu_hash;
unsigned int vs_vcpu_hash_bits;
static DEFINE_HASHTABLE(vs_vm_hash, 8);

/*
 * Dropping our reference may run kvm_destroy_vm(): an SRCU grace period and
 * the MMU teardown, tens of ms each under load. The sweep hands that to
 * this unbound queue so that dead VMs are destroyed in parallel and the
 * tick (deltas, migrations, announcements) never waits for them.
 */
static struct workqueue_struct *vs_put_wq;

static void vs_vm_free(struct vs_vm *vm);

static void vs_vm_put_work(struct work_struct *work)
{
	struct vs_vm *vm = container_of(work, struct vs_vm, put_work);

	kvm_put_kvm(vm->kvm);
	vs_vm_free(vm);
}

static struct vs_vm *vs_vm_lookup(const struct kvm *kvm)
{
	struct vs_vm *vm;

	hash_for_each_possible_rcu(vs_vm_hash, vm, hnode, (unsigned long)kvm,
				   true)
		if (vm->kvm == kvm)
			return vm;
	return NULL;
}

/*
 * VM destruction hook (preferred lifecycle, see the top): a kprobe on
 * kvm_destroy_vm(), which runs once a VM's last reference is gone. Its
 * handler unhashes our VM before KVM frees anything and leaves it on
 * vs_destroyed for the sweep, which reports and frees it after an RCU
 * grace period. Nothing of ours dereferences a struct kvm or kvm_vcpu
 * after first sight (identity is copied, pointers are hash keys only), so
 * KVM may free them at once.
 */
static bool vs_hooked = true;
module_param_named(destroy_hook, vs_hooked, bool, 0444);
MODULE_PARM_DESC(destroy_hook,
		 "hook VM destruction with a kprobe (default Y); N, or no kprobe, pins each VM with a reference until a sweep finds it unused. Reads back the mode in use");
static LIST_HEAD(vs_destroyed);		/* unhashed by the hook; vs_lock */

static void vs_vm_unlink_locked(struct vs_vm *vm);

static int vs_destroy_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct kvm *kvm = (struct kvm *)regs_get_kernel_argument(regs, 0);
	unsigned long flags;
	struct vs_vm *vm;

	spin_lock_irqsave(&vs_lock, flags);
	vm = vs_vm_lookup(kvm);
	if (vm) {
		vs_vm_unlink_locked(vm);
		list_add_tail(&vm->dead_node, &vs_destroyed);
	}
	spin_unlock_irqrestore(&vs_lock, flags);
	return 0;
}

static struct kprobe vs_destroy_kp = {
	.symbol_name = "kvm_destroy_vm",
	.pre_handler = vs_destroy_pre,
};

static struct vs_vm *vs_vm_alloc(struct kvm *kvm)
{
	struct vs_vm *vm = kzalloc(sizeof(*vm), GFP_NOWAIT | __GFP_NOWARN);

	if (!vm)
		return NULL;
	vm->kvm = kvm;
	vm->pid = kvm->userspace_pid;
	get_task_comm(vm->comm, current->group_leader);
	memcpy(vm->stats_id, kvm->stats_id, sizeof(vm->stats_id));
	vm->stats_id[sizeof(vm->stats_id) - 1] = '\0';
	vm->first_seen = ktime_get_ns();
	INIT_LIST_HEAD(&vm->vcpus);
	atomic64_set(&vm->untracked, 0);
	return vm;
}

/* Find or register the VM; called with vs_lock held. */
static struct vs_vm *vs_vm_get_locked(struct kvm *kvm, struct vs_vm **spare)
{
	struct vs_vm *vm = vs_vm_lookup(kvm);

	if (vm || !*spare)
		return vm;
	vm = *spare;
	*spare = NULL;
	if (!vs_hooked)
		kvm_get_kvm(kvm);
	vm->id = ++vs_vms_seen;		/* never reused while loaded */
	list_add_tail_rcu(&vm->node, &vs_vms);
	hash_add_rcu(vs_vm_hash, &vm->hnode, (unsigned long)kvm);
	vs_nr_vms++;
	vs_generation++;
	return vm;
}

static void vs_vcpu_insert_locked(struct vs_vm *vm, struct vs_vcpu *vc)
{
	struct list_head *pos = &vm->vcpus;
	struct vs_vcpu *it;

	/* Keep vm->vcpus sorted by idx: dumps resume by idx. */
	list_for_each_entry(it, &vm->vcpus, vm_node) {
		if (it->idx > vc->idx)
			break;
		pos = &it->vm_node;
	}
	list_add_rcu(&vc->vm_node, pos);
	hlist_add_head_rcu(&vc->hnode,
			   &vs_vcpu_hash[hash_ptr(vc->key, vs_vcpu_hash_bits)]);
	vm->nr_vcpus++;
	vs_generation++;
}

/* Exits of a vCPU we cannot track: counted, never lost silently. */
static void vs_untracked_exit(struct kvm *kvm)
{
	struct vs_vm *vm = vs_vm_lookup(kvm);

	this_cpu_inc(vs_pcpu_stats.overflow);
	if (vm)
		atomic64_inc(&vm->untracked);
}

static void vs_vcpu_init(struct vs_vcpu *vc, struct vs_vm *vm,
			 const struct kvm_vcpu *vcpu)
{
	vc->key = vcpu;
	vc->vm = vm;
	vc->vcpu_id = vcpu->vcpu_id;
	vc->idx = vcpu->vcpu_idx;
	vc->last_cpu = -1;
	vc->tid = current->pid;
	/* Any non-zero seed will do: it only decorrelates sampled timing. */
	vc->rng = (u32)hash_ptr(vc, 32) ^ (u32)ktime_get_mono_fast_ns();
	vc->rng |= 1;
}

noinline struct vs_vcpu *vs_vcpu_first_sight(struct kvm_vcpu *vcpu)
{
	struct kvm *kvm = vcpu->kvm;
	struct vs_vm *vm = vs_vm_lookup(kvm), *spare = NULL;
	struct vs_vcpu *vc = NULL;
	unsigned long flags;
	bool tracked = false;

	/* Over the cap with a known VM: count without taking the lock. */
	if (vm && atomic_read(&vs_nr_vcpus) >= vs_max_vcpus)
		goto untracked;
	if (!vm) {
		spare = vs_vm_alloc(kvm);
		if (!spare)
			this_cpu_inc(vs_pcpu_stats.alloc_fail);
	}
	if (atomic_read(&vs_nr_vcpus) < vs_max_vcpus) {
		vc = kmem_cache_zalloc(vs_vcpu_cache,
				       GFP_NOWAIT | __GFP_NOWARN);
		if (!vc)
			this_cpu_inc(vs_pcpu_stats.alloc_fail);
	}

	spin_lock_irqsave(&vs_lock, flags);
	vm = vs_vm_get_locked(kvm, &spare);
	/* Every increment of vs_nr_vcpus happens here: the cap is exact. */
	if (vm && vc && atomic_read(&vs_nr_vcpus) < vs_max_vcpus) {
		vs_vcpu_init(vc, vm, vcpu);
		atomic_inc(&vs_nr_vcpus);
		vs_vcpu_insert_locked(vm, vc);
		tracked = true;
	}
	spin_unlock_irqrestore(&vs_lock, flags);

	kfree(spare);
	if (tracked)
		return vc;
	if (vc)
		kmem_cache_free(vs_vcpu_cache, vc);
untracked:
	vs_untracked_exit(kvm);
	return NULL;
}

static void vs_vm_free(struct vs_vm *vm)
{
	struct vs_vcpu *vc, *tmp;

	list_for_each_entry_safe(vc, tmp, &vm->vcpus, vm_node)
		kmem_cache_free(vs_vcpu_cache, vc);
	kfree(vm);
}

/* Unhash @vm so that no new reader finds it; vs_lock held. */
static void vs_vm_unlink_locked(struct vs_vm *vm)
{
	struct vs_vcpu *vc;

	list_del_rcu(&vm->node);
	hash_del_rcu(&vm->hnode);
	list_for_each_entry(vc, &vm->vcpus, vm_node)
		hlist_del_rcu(&vc->hnode);
	atomic_sub(vm->nr_vcpus, &vs_nr_vcpus);
	vs_nr_vms--;
	vs_generation++;
}

/*
 * Unlink the VMs that are dead, or all of them, wait until no reader can
 * still see them, then report and release them. Dead: destroyed (the hook
 * already unlinked them) or, without the hook, only our reference left.
 * Process context only: kvm_put_kvm() may destroy the VM, which sleeps.
 */
static void vs_release_vms(bool all, bool report)
{
	struct vs_vm *vm, *tmp;
	unsigned long flags;
	LIST_HEAD(dead);

	spin_lock_irqsave(&vs_lock, flags);
	list_splice_init(&vs_destroyed, &dead);
	list_for_each_entry_safe(vm, tmp, &vs_vms, node) {
		/* With the hook, a struct kvm may be freed: never read it. */
		if (!all && (vs_hooked ||
			     refcount_read(&vm->kvm->users_count) > 1))
			continue;
		vs_vm_unlink_locked(vm);
		list_add_tail(&vm->dead_node, &dead);
	}
	spin_unlock_irqrestore(&vs_lock, flags);
	if (list_empty(&dead))
		return;

	synchronize_rcu();
	list_for_each_entry_safe(vm, tmp, &dead, dead_node) {
		if (report)
			vs_events_vm_gone(vm);
		if (vs_hooked) {
			vs_vm_free(vm);
		} else if (report) {
			INIT_WORK(&vm->put_work, vs_vm_put_work);
			queue_work(vs_put_wq, &vm->put_work);
		} else {
			kvm_put_kvm(vm->kvm);
			vs_vm_free(vm);
		}
	}
}

/* The tick worker's lifecycle sweep: see the comment at the top. */
void vs_sweep(void)
{
	vs_release_vms(false, true);
}

void vs_reset(u64 vm_id)
{
	struct vs_vcpu *vc;
	struct vs_vm *vm;

	rcu_read_lock();
	list_for_each_entry_rcu(vm, &vs_vms, node) {
		if (vm_id && vm->id != vm_id)
			continue;
		list_for_each_entry_rcu(vc, &vm->vcpus, vm_node)
			WRITE_ONCE(vc->reset_req, READ_ONCE(vc->reset_req) + 1);
	}
	rcu_read_unlock();
}

bool vs_vcpu_reset_pending(const struct vs_vcpu *vc)
{
	/* Pairs with vs_vcpu_apply_reset(): done means zeroes visible. */
	return READ_ONCE(vc->reset_req) != smp_load_acquire(&vc->reset_done);
}

u64 vs_pcpu_sum(size_t offset)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(*(u64 *)((char *)per_cpu_ptr(&vs_pcpu_stats, cpu) +
					   offset));
	return sum;
}

int vs_track_init(void)
{
	unsigned int i;

	vs_put_wq = alloc_workqueue("vcpustat_put", WQ_UNBOUND, 0);
	if (!vs_put_wq)
		return -ENOMEM;
	vs_vcpu_cache = kmem_cache_create("vcpustat_vcpu",
					  struct_size_t(struct vs_vcpu, residency,
							nr_cpu_ids),
					  0, SLAB_HWCACHE_ALIGN, NULL);
	if (!vs_vcpu_cache) {
		destroy_workqueue(vs_put_wq);
		return -ENOMEM;
	}
	vs_vcpu_hash_bits = clamp_t(unsigned int,
				    order_base_2(vs_max_vcpus), 6, 16);
	vs_vcpu_hash = kvmalloc_array(1U << vs_vcpu_hash_bits,
				      sizeof(*vs_vcpu_hash), GFP_KERNEL);
	if (!vs_vcpu_hash) {
		kmem_cache_destroy(vs_vcpu_cache);
		destroy_workqueue(vs_put_wq);
		return -ENOMEM;
	}
	for (i = 0; i < (1U << vs_vcpu_hash_bits); i++)
		INIT_HLIST_HEAD(&vs_vcpu_hash[i]);
	/* Before the probes: no VM may be tracked in the wrong mode. */
	if (vs_hooked) {
		int err = register_kprobe(&vs_destroy_kp);

		if (err)
			pr_warn("vcpustat: no kprobe on kvm_destroy_vm (%d): VMs are pinned until a sweep finds them unused\n",
				err);
		vs_hooked = !err;
	}
	return 0;
}

/* Module exit: probes, netlink and the worker are already gone. */
void vs_track_exit(void)
{
	/* Waits for running handlers; later destructions are not ours. */
	if (vs_hooked)
		unregister_kprobe(&vs_destroy_kp);
	/* The tick is stopped: finish the puts it queued, then ours. */
	destroy_workqueue(vs_put_wq);
	vs_release_vms(true, false);
	kvfree(vs_vcpu_hash);
	kmem_cache_destroy(vs_vcpu_cache);
}
