// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture for scripts/atomic-check's self-test: entry points that reach a
 * sleeping lock, an allocation, an unreviewed external function and an
 * indirect call. The checker must flag each one. Built with the host's
 * gcc -fcallgraph-info only, never linked.
 */
void rt_spin_lock(void *lock);
void *kmem_cache_alloc(void *cache, unsigned int flags);
void unreviewed_helper(void);
void _raw_spin_lock_irqsave(void *lock);

static void *lock, *cache;
void (*hook)(void);

static __attribute__((noinline)) void deep(void)
{
	rt_spin_lock(lock);
}

void vs_probe_exit(void *data, void *vcpu, unsigned int isa)
{
	_raw_spin_lock_irqsave(lock);
	deep();
	cache = kmem_cache_alloc(cache, 0);
}

void vs_probe_entry_bool(void *data, void *vcpu, _Bool f)
{
	hook();
}

int vs_destroy_pre(void *p, void *regs)
{
	unreviewed_helper();
	return 0;
}
