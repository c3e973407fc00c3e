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
 * First sight (once per vCPU) takes a record from a preallocated pool
 * under vs_lock, a raw spinlock: probes and the kprobe handler run with
 * preemption (VMX: IRQs) off, where PREEMPT_RT's spinlock_t and the slab
 * allocator sleep. So nothing reachable from them allocates or takes a
 * sleeping lock (scripts/atomic-check proves it on the RT build).
 */
#include <linux/hash.h>
#include <linux/hashtable.h>
#include <linux/kprobes.h>
#include <linux/log2.h>
#include <linux/percpu.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/workqueue.h>
#include "compat.h"
#include "detail.h"
#include "vcpustat.h"

DEFINE_PER_CPU(struct vs_pcpu_stats, vs_pcpu_stats);

/*
 * Serializes changes to vs_vms, the hashes, the pools and the counts
 * below. Raw: taken in probe and kprobe context (see the top). Held only
 * for list and hash updates, never across a walk of the VMs.
 */
static DEFINE_RAW_SPINLOCK(vs_lock);
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
 * The module's own unbound workqueue: pool refills, the tick (events.c)
 * and, when VMs are pinned, the kvm_put_kvm() that may destroy a VM (an
 * SRCU grace period and the MMU teardown, tens of ms each under load), so
 * dead VMs are destroyed in parallel, never in the tick's way (F3), and
 * none of it runs on system_wq.
 */
struct workqueue_struct *vs_wq;

/*
 * Record pools. First sight runs in probe context and cannot allocate, so
 * it takes ready records from here; vs_pool_fill() (process context) tops
 * them up to their target, which first sight kicks whenever it took one.
 * Demand is foreseen: KVM creates a VM's vCPUs before they run, so
 * at each first sight kvm->created_vcpus says how many records that VM
 * will still want, and the refill makes room for them at once. A pool
 * found empty anyway doubles its target (up to max_vcpus), and the exits
 * of a vCPU met then are counted as nomem exits (module-wide, and per VM
 * when the VM is known) until a record is ready at one of its next exits.
 */
struct vs_pool {
	struct list_head free;		/* vs_lock */
	u32 nr;				/* vs_lock; read racily for the kick */
	u32 target;			/* refill only */
	u32 demand;			/* a hint: records foreseen by takers */
	bool ran_dry;			/* a hint: set by takers, read by refill */
};

#define VS_POOL_VMS	8

unsigned int vs_pool_vcpus = 32;
module_param_named(pool_vcpus, vs_pool_vcpus, uint, 0444);
MODULE_PARM_DESC(pool_vcpus,
		 "vCPU records kept ready for first sight (default 32; no more than max_vcpus); doubles whenever it runs dry");

static struct vs_pool vs_vcpu_pool, vs_vm_pool;
static void vs_pool_refill_work(struct work_struct *work);
static DECLARE_WORK(vs_refill_work, vs_pool_refill_work);

static struct list_head *vs_pool_take_locked(struct vs_pool *pool)
{
	struct list_head *e;

	if (list_empty(&pool->free)) {
		WRITE_ONCE(pool->ran_dry, true);
		return NULL;
	}
	e = pool->free.next;
	list_del(e);
	pool->nr--;
	return e;
}

static void vs_vm_free(struct vs_vm *vm)
{
	free_percpu(vm->untracked);
	kfree(vm);
}

static struct vs_vm *vs_vm_new(void)
{
	struct vs_vm *vm = kzalloc(sizeof(*vm), GFP_KERNEL);

	if (!vm)
		return NULL;
	vm->untracked = alloc_percpu(u64);
	if (!vm->untracked) {
		kfree(vm);
		return NULL;
	}
	return vm;
}

/* One pool to its target; returns false on an allocation failure. */
static bool vs_pool_fill(struct vs_pool *pool, bool vcpus)
{
	unsigned long flags;
	struct list_head *e;
	u32 want;

	if (READ_ONCE(pool->ran_dry)) {
		WRITE_ONCE(pool->ran_dry, false);
		pool->target = min(pool->target * 2, vs_max_vcpus);
	}
	/* Foreseen records are made once, then taken: the hint is spent. */
	want = max(pool->target, min(xchg(&pool->demand, 0), vs_max_vcpus));
	while (READ_ONCE(pool->nr) < want) {
		if (vcpus) {
			struct vs_vcpu *vc;

			vc = kmem_cache_zalloc(vs_vcpu_cache, GFP_KERNEL);
			e = vc ? &vc->vm_node : NULL;
		} else {
			struct vs_vm *vm = vs_vm_new();

			e = vm ? &vm->node : NULL;
		}
		if (!e) {
			this_cpu_inc(vs_pcpu_stats.alloc_fail);
			return false;
		}
		raw_spin_lock_irqsave(&vs_lock, flags);
		list_add(e, &pool->free);
		pool->nr++;
		raw_spin_unlock_irqrestore(&vs_lock, flags);
	}
	return true;
}

static void vs_pool_refill_work(struct work_struct *work)
{
	vs_pool_fill(&vs_vm_pool, false);
	vs_pool_fill(&vs_vcpu_pool, true);
}

/*
 * From first sight: a refill on the unbound queue (raw locks only), when
 * a pool is below its target (so that it is full again before the next
 * burst) or short of the records @vm's vCPUs still want.
 */
static void vs_pool_kick(const struct kvm *kvm, const struct vs_vm *vm)
{
	u32 want = 0;

	if (vm) {
		int more = READ_ONCE(kvm->created_vcpus) -
			   (int)READ_ONCE(vm->nr_vcpus);

		want = max(more, 0);
		if (want > READ_ONCE(vs_vcpu_pool.nr))
			WRITE_ONCE(vs_vcpu_pool.demand, want);
	}
	if (READ_ONCE(vs_vcpu_pool.nr) < want ||
	    READ_ONCE(vs_vcpu_pool.nr) < vs_vcpu_pool.target ||
	    READ_ONCE(vs_vm_pool.nr) < vs_vm_pool.target)
		queue_work(vs_wq, &vs_refill_work);
}

static void vs_pool_drain(void)
{
	struct vs_vcpu *vc, *vtmp;
	struct vs_vm *vm, *tmp;

	list_for_each_entry_safe(vc, vtmp, &vs_vcpu_pool.free, vm_node)
		kmem_cache_free(vs_vcpu_cache, vc);
	list_for_each_entry_safe(vm, tmp, &vs_vm_pool.free, node)
		vs_vm_free(vm);
	INIT_LIST_HEAD(&vs_vcpu_pool.free);
	INIT_LIST_HEAD(&vs_vm_pool.free);
	vs_vcpu_pool.nr = 0;
	vs_vm_pool.nr = 0;
}

static void vs_vm_release(struct vs_vm *vm);

static void vs_vm_put_work(struct work_struct *work)
{
	struct vs_vm *vm = container_of(work, struct vs_vm, put_work);

	kvm_put_kvm(vm->kvm);
	vs_vm_release(vm);
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

	raw_spin_lock_irqsave(&vs_lock, flags);
	vm = vs_vm_lookup(kvm);
	if (vm) {
		vs_vm_unlink_locked(vm);
		list_add_tail(&vm->dead_node, &vs_destroyed);
	}
	raw_spin_unlock_irqrestore(&vs_lock, flags);
	return 0;
}

static struct kprobe vs_destroy_kp = {
	.symbol_name = VS_DESTROY_VM_SYM,
	.pre_handler = vs_destroy_pre,
};

/*
 * A pool record becomes this VM's; vs_lock held. The comm is copied
 * without get_task_comm(), whose task_lock() sleeps on PREEMPT_RT (and
 * is what 6.13+'s get_task_comm() does too): a racing rename can only
 * give a mix of the old and new names, always NUL-terminated.
 */
static void vs_vm_init(struct vs_vm *vm, struct kvm *kvm)
{
	vm->kvm = kvm;
	vm->pid = kvm->userspace_pid;
	memcpy(vm->comm, current->group_leader->comm, sizeof(vm->comm));
	vm->comm[sizeof(vm->comm) - 1] = '\0';
	memcpy(vm->stats_id, kvm->stats_id, sizeof(vm->stats_id));
	vm->stats_id[sizeof(vm->stats_id) - 1] = '\0';
	vm->first_seen = ktime_get_ns();
	INIT_LIST_HEAD(&vm->vcpus);
}

/* Find or register the VM; called with vs_lock held. */
static struct vs_vm *vs_vm_get_locked(struct kvm *kvm)
{
	struct vs_vm *vm = vs_vm_lookup(kvm);
	struct list_head *e;

	if (vm)
		return vm;
	e = vs_pool_take_locked(&vs_vm_pool);
	if (!e)
		return NULL;
	vm = list_entry(e, struct vs_vm, node);
	vs_vm_init(vm, kvm);
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

/*
 * Exits of a vCPU we cannot track: counted, never lost silently. Per CPU,
 * so that the vCPUs of a VM over the cap share no cache line.
 */
static void vs_untracked_exit(struct kvm *kvm, bool cap)
{
	struct vs_vm *vm = vs_vm_lookup(kvm);

	if (cap)
		this_cpu_inc(vs_pcpu_stats.overflow);
	else
		this_cpu_inc(vs_pcpu_stats.nomem);
	if (vm)
		this_cpu_inc(*vm->untracked);
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

/*
 * A VM whose destruction we missed (kprobes disarmed, see vs_vcpu_get()):
 * unlinked as if the hook had fired, and reported and freed by the sweep.
 * vs_lock held.
 */
static void vs_vm_stale_locked(struct vs_vm *vm)
{
	vs_vm_unlink_locked(vm);
	list_add_tail(&vm->dead_node, &vs_destroyed);
	this_cpu_inc(vs_pcpu_stats.stale_vms);
}

/* A live VM has one vCPU per idx: a second one means @vm is stale. */
static bool vs_vm_has_idx(const struct vs_vm *vm, u32 idx)
{
	const struct vs_vcpu *vc;

	list_for_each_entry(vc, &vm->vcpus, vm_node)
		if (vc->idx == idx)
			return true;
	return false;
}

noinline struct vs_vcpu *vs_vcpu_stale(struct kvm_vcpu *vcpu,
				       struct vs_vcpu *vc)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&vs_lock, flags);
	/* Still hashed: no other vCPU has unlinked that VM meanwhile. */
	if (vs_vcpu_find(vcpu) == vc)
		vs_vm_stale_locked(vc->vm);
	raw_spin_unlock_irqrestore(&vs_lock, flags);
	return vs_vcpu_first_sight(vcpu);
}

noinline struct vs_vcpu *vs_vcpu_first_sight(struct kvm_vcpu *vcpu)
{
	struct kvm *kvm = vcpu->kvm;
	struct vs_vcpu *vc = NULL;
	struct list_head *e;
	unsigned long flags;
	struct vs_vm *vm;

	/* Over the cap: count without taking the lock. */
	if (atomic_read(&vs_nr_vcpus) >= vs_max_vcpus)
		goto untracked;
	/* An empty pool: no lock either, until the refill. */
	if (!READ_ONCE(vs_vcpu_pool.nr))
		goto nomem;

	raw_spin_lock_irqsave(&vs_lock, flags);
	/* A struct kvm at a dead VM's address: see vs_vcpu_get(). */
	vm = vs_vm_lookup(kvm);
	if (vm && vs_vm_has_idx(vm, vcpu->vcpu_idx))
		vs_vm_stale_locked(vm);
	vm = vs_vm_get_locked(kvm);
	/* Every increment of vs_nr_vcpus happens here: the cap is exact. */
	if (vm && atomic_read(&vs_nr_vcpus) < vs_max_vcpus) {
		e = vs_pool_take_locked(&vs_vcpu_pool);
		if (e) {
			vc = list_entry(e, struct vs_vcpu, vm_node);
			vs_vcpu_init(vc, vm, vcpu);
			atomic_inc(&vs_nr_vcpus);
			vs_vcpu_insert_locked(vm, vc);
		}
	}
	raw_spin_unlock_irqrestore(&vs_lock, flags);

	vs_pool_kick(kvm, vm);
	if (!vc)
		vs_untracked_exit(kvm, vm && atomic_read(&vs_nr_vcpus) >=
					       vs_max_vcpus);
	return vc;
nomem:
	WRITE_ONCE(vs_vcpu_pool.ran_dry, true);
	vs_pool_kick(kvm, vs_vm_lookup(kvm));
	vs_untracked_exit(kvm, false);
	return NULL;
untracked:
	vs_untracked_exit(kvm, true);
	return NULL;
}

/* A VM and its vCPU records, once no reader can see them. */
static void vs_vm_release(struct vs_vm *vm)
{
	struct vs_vcpu *vc, *tmp;

	list_for_each_entry_safe(vc, tmp, &vm->vcpus, vm_node)
		kmem_cache_free(vs_vcpu_cache, vc);
	vs_vm_free(vm);
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
 * Unlink the VMs that are dead, or all of them, onto @dead. Dead:
 * destroyed (the hook already unlinked them) or, when pinned, only our
 * reference left. In hooked mode that is a splice, not a walk.
 */
static void vs_unlink_dead(struct list_head *dead, bool all)
{
	struct vs_vm *vm, *tmp;
	unsigned long flags;

	raw_spin_lock_irqsave(&vs_lock, flags);
	list_splice_tail_init(&vs_destroyed, dead);
	/* With the hook, a struct kvm may be freed: never read it. */
	if (all || !vs_hooked) {
		list_for_each_entry_safe(vm, tmp, &vs_vms, node) {
			if (!all &&
			    refcount_read(&vm->kvm->users_count) > 1)
				continue;
			vs_vm_unlink_locked(vm);
			list_add_tail(&vm->dead_node, dead);
		}
	}
	raw_spin_unlock_irqrestore(&vs_lock, flags);
}

static u64 vs_vm_untracked_sum(const struct vs_vm *vm)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(*per_cpu_ptr(vm->untracked, cpu));
	return sum;
}

/* Exits of this VM's untracked vCPUs since the last reset. */
u64 vs_vm_untracked(const struct vs_vm *vm)
{
	return vs_vm_untracked_sum(vm) - READ_ONCE(vm->untracked_base);
}

/*
 * The tick's lifecycle sweep (see the top). VMs unlinked since the last
 * sweep wait for an RCU grace period (probes run with preemption off,
 * dumps under rcu_read_lock()) without blocking the tick: each carries a
 * polled grace-period cookie, and the sweep that finds it elapsed moves
 * the VM onto @gone, where the counts are final. The caller reports them,
 * then hands them to vs_vms_release().
 */
static LIST_HEAD(vs_dying);		/* tick only */

static u64 vs_vm_exits(const struct vs_vm *vm)
{
	const struct vs_vcpu *vc;
	u64 sum = vs_vm_untracked_sum(vm);

	list_for_each_entry_rcu(vc, &vm->vcpus, vm_node)
		sum += READ_ONCE(vc->exits);
	return sum;
}

/*
 * Hooked mode, when kvm_destroy_vm() was not seen (kprobes disarmed): a
 * dead VM whose addresses KVM never reuses would stay tracked for good.
 * Once a second, a VM that made no exit for that second and whose
 * creating process is gone is taken for dead and reclaimed as stale.
 * Safe, since nothing here dereferences its struct kvm; if it was in fact
 * alive (its fd passed to another process, then idle), its next exit
 * registers it anew. Pinned VMs never need this: our reference keeps
 * them, and the sweep sees their users_count.
 */
static void vs_reap_orphans(void)
{
	static u64 last;
	u64 now = ktime_get_ns();
	unsigned long flags;
	struct vs_vm *vm;

	if (!vs_hooked || now - last < NSEC_PER_SEC)
		return;
	last = now;
	rcu_read_lock();
	list_for_each_entry_rcu(vm, &vs_vms, node) {
		u64 exits = vs_vm_exits(vm);
		bool idle = exits == vm->reap_exits;

		vm->reap_exits = exits;
		if (!idle || !vm->pid || find_pid_ns(vm->pid, &init_pid_ns))
			continue;
		raw_spin_lock_irqsave(&vs_lock, flags);
		if (vs_vm_lookup(vm->kvm) == vm)
			vs_vm_stale_locked(vm);
		raw_spin_unlock_irqrestore(&vs_lock, flags);
	}
	rcu_read_unlock();
}

void vs_sweep(struct list_head *gone)
{
	struct vs_vm *vm, *tmp;
	LIST_HEAD(dead);

	vs_reap_orphans();
	vs_unlink_dead(&dead, false);
	list_for_each_entry(vm, &dead, dead_node)
		vm->gp_cookie = start_poll_synchronize_rcu();
	list_splice_tail(&dead, &vs_dying);
	list_for_each_entry_safe(vm, tmp, &vs_dying, dead_node)
		if (poll_state_synchronize_rcu(vm->gp_cookie))
			list_move_tail(&vm->dead_node, gone);
}

/* Free (or, pinned, put then free, off the tick) what vs_sweep() gave. */
void vs_vms_release(struct list_head *gone)
{
	struct vs_vm *vm, *tmp;

	list_for_each_entry_safe(vm, tmp, gone, dead_node) {
		if (vs_hooked) {
			vs_vm_release(vm);
		} else {
			INIT_WORK(&vm->put_work, vs_vm_put_work);
			queue_work(vs_wq, &vm->put_work);
		}
	}
	INIT_LIST_HEAD(gone);
}

void vs_reset(u64 vm_id)
{
	struct vs_vcpu *vc;
	struct vs_vm *vm;

	rcu_read_lock();
	list_for_each_entry_rcu(vm, &vs_vms, node) {
		if (vm_id && vm->id != vm_id)
			continue;
		WRITE_ONCE(vm->untracked_base, vs_vm_untracked_sum(vm));
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

	vs_wq = alloc_workqueue("vcpustat", WQ_UNBOUND, 0);
	if (!vs_wq)
		return -ENOMEM;
	vs_vcpu_cache = kmem_cache_create("vcpustat_vcpu",
					  struct_size_t(struct vs_vcpu, residency,
							nr_cpu_ids),
					  0, SLAB_HWCACHE_ALIGN, NULL);
	if (!vs_vcpu_cache)
		goto err_wq;
	vs_vcpu_hash_bits = clamp_t(unsigned int,
				    order_base_2(vs_max_vcpus), 6, 16);
	vs_vcpu_hash = kvmalloc_array(1U << vs_vcpu_hash_bits,
				      sizeof(*vs_vcpu_hash), GFP_KERNEL);
	if (!vs_vcpu_hash)
		goto err_cache;
	for (i = 0; i < (1U << vs_vcpu_hash_bits); i++)
		INIT_HLIST_HEAD(&vs_vcpu_hash[i]);
	INIT_LIST_HEAD(&vs_vcpu_pool.free);
	INIT_LIST_HEAD(&vs_vm_pool.free);
	vs_vcpu_pool.target = min(vs_pool_vcpus, vs_max_vcpus);
	vs_vm_pool.target = VS_POOL_VMS;
	if (!vs_pool_fill(&vs_vm_pool, false) ||
	    !vs_pool_fill(&vs_vcpu_pool, true))
		goto err_pool;
	/* Before the probes: no VM may be tracked in the wrong mode. */
	if (vs_hooked) {
		int err = register_kprobe(&vs_destroy_kp);

		if (err)
			pr_warn("vcpustat: no kprobe on kvm_destroy_vm (%d): VMs are pinned until a sweep finds them unused\n",
				err);
		vs_hooked = !err;
	}
	return 0;

err_pool:
	vs_pool_drain();
	kvfree(vs_vcpu_hash);
err_cache:
	kmem_cache_destroy(vs_vcpu_cache);
err_wq:
	destroy_workqueue(vs_wq);
	return -ENOMEM;
}

/*
 * Module exit, and init's unwinding: probes, netlink and the tick are
 * already gone, so nothing can take a record or queue work any more.
 */
void vs_track_exit(void)
{
	struct vs_vm *vm, *tmp;
	LIST_HEAD(dead);

	/* Waits for running handlers; later destructions are not ours. */
	if (vs_hooked)
		unregister_kprobe(&vs_destroy_kp);
	/* Finish queued refills and puts; the tick queues no more. */
	destroy_workqueue(vs_wq);
	list_splice_tail_init(&vs_dying, &dead);
	vs_unlink_dead(&dead, true);
	synchronize_rcu();
	list_for_each_entry_safe(vm, tmp, &dead, dead_node) {
		if (!vs_hooked)
			kvm_put_kvm(vm->kvm);
		vs_vm_release(vm);
	}
	vs_pool_drain();
	kvfree(vs_vcpu_hash);
	kmem_cache_destroy(vs_vcpu_cache);
}
