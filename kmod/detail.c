// SPDX-License-Identifier: GPL-2.0
/*
 * Second-level exit keys and per-reason exit time histograms (detail.h).
 *
 * Probe side: vs_detail_exit() runs in the kvm_exit probe after the exit
 * was counted under its reason (vc->pending is that reason's slot), and
 * vs_detail_time() in the kvm_entry probe with the exit's time; both are
 * inlined there (detail.h) and call the slow paths here. They write only
 * their own vCPU's struct vs_detail, as the rest of the record: no lock,
 * no atomic, no allocation.
 *
 * Exactness: a reason's key table is started at its first keyed exit with
 * @other = the exits the reason had counted before (reason count - 1),
 * and from then on every exit of the reason adds one to exactly one entry
 * or to @other, in the same probe that counted it. So the entries plus
 * @other equal the reason's count at every exit. A key is kept from its
 * first exit on and never evicted, so its count is exact; a K lowered at
 * run time folds the entries beyond it into @other (still exact): readers
 * at once, the table at its next new key.
 *
 * Switching details on bumps vs_detail_gen: each vCPU restarts its
 * details at its next exit, and readers send none for a vCPU whose
 * details are of another generation or predate its last reset.
 */
#include <linux/jump_label.h>
#include <linux/log2.h>
#include <net/netlink.h>
#include "detail.h"
#include "detail_region.h"

DEFINE_STATIC_KEY_FALSE(vs_detail_on);

u32 vs_detail_gen = 1;			/* bumped at every switch-on */
static u32 vs_detail_keys = VS_DETAIL_K_DEFAULT;
static DEFINE_MUTEX(vs_detail_mutex);	/* serializes vs_detail_set() */

/* Start this vCPU's details afresh (switch-on or reset). */
noinline void vs_detail_restart(struct vs_detail *d, u32 gen, u32 reset)
{
	WRITE_ONCE(d->gen, 0);
	/* Readers check gen first: make it stale before the zeroing. */
	smp_wmb();
	memset_startat(d, 0, ntabs);
	WRITE_ONCE(d->reset_seen, reset);
	/* Zeroes before gen: readers that see gen see them. */
	smp_store_release(&d->gen, gen);
}

/*
 * The first exit of a reason since the details started: give the reason
 * a key table if its exits have keys and a table is left, else mark it
 * as having none, so that its next exits stop at tab_of[].
 */
noinline struct vs_dtable *vs_detail_table_new(struct vs_vcpu *vc,
					       struct vs_detail *d,
					       const struct kvm_vcpu *vcpu,
					       u32 code)
{
	const struct vs_reason *r = vc->pending;
	unsigned int slot = vs_detail_slot(vc, r);
	struct vs_dtable *t;
	u32 kind;

	BUILD_BUG_ON(VS_DETAIL_TABLES >= VS_DTAB_NONE);
	/* The overflow slot mixes reasons, so keys of mixed kinds. */
	if (slot == VS_NR_REASONS)
		kind = VCPUSTAT_KEY_KIND_UNSPEC;
#ifndef VS_KVM_ARM64
	else if (vc->src == VS_SRC_SVM)
		kind = vs_detail_kind_svm(vcpu, code);
	else if (vc->src == VS_SRC_VMX)
		kind = vs_detail_kind_vmx(code);
#endif
	else
		kind = VCPUSTAT_KEY_KIND_UNSPEC;
	if (!kind || d->ntabs >= VS_DETAIL_TABLES) {
		WRITE_ONCE(d->tab_of[slot], VS_DTAB_NONE);
		return NULL;
	}
	t = &d->tab[d->ntabs];
	t->kind = kind;
	t->n = 0;
	/* This exit is counted in r->count already and goes to a key. */
	t->other = r->count - 1;
	d->ntabs++;
	/* Table contents before the index: readers go through tab_of[]. */
	smp_store_release(&d->tab_of[slot], d->ntabs);
	return t;
}

/*
 * A key not in the table: a new entry while fewer than K are kept, else
 * "other". K lowered below the entries kept: fold those beyond it into
 * other first (readers already show them folded, vs_detail_fill_keys()).
 */
noinline void vs_detail_miss(struct vs_dtable *t, u64 key)
{
	u32 k = READ_ONCE(vs_detail_keys), n = t->n, i;
	u64 sum = 0;

	if (unlikely(n > k)) {
		for (i = k; i < n; i++)
			sum += t->e[i].count;
		WRITE_ONCE(t->n, k);
		WRITE_ONCE(t->other, t->other + sum);
		n = k;
	}
	if (n < k && key != VS_NO_KEY) {
		WRITE_ONCE(t->e[n].key, key);
		WRITE_ONCE(t->e[n].count, 1);
		/* Entry before n: readers read [0, n). */
		smp_store_release(&t->n, n + 1);
		return;
	}
	WRITE_ONCE(t->other, t->other + 1);
}

/* A reason's first timed exit: give it a histogram, if one is left. */
noinline void vs_detail_hist_new(struct vs_detail *d, unsigned int slot,
				 u64 t)
{
	u32 h, b;

	if (d->nhists >= VS_DETAIL_HISTS)
		return;
	h = ++d->nhists;
	b = t < (2ULL << VCPUSTAT_RHIST_SHIFT) ? 0 :
	    min_t(u32, ilog2(t) - VCPUSTAT_RHIST_SHIFT,
		  VCPUSTAT_RHIST_BUCKETS - 1);
	d->hist[h - 1][b] = 1;
	/* The histogram before its index: readers go through hist_of[]. */
	smp_store_release(&d->hist_of[slot], h);
}

/* Readers: the details of @vc are current (not stale, not pre-reset). */
static bool vs_detail_current(const struct vs_vcpu *vc,
			      const struct vs_detail *d)
{
	return static_branch_unlikely(&vs_detail_on) &&
	       /* Pairs with vs_detail_restart(): gen seen, zeroes seen. */
	       smp_load_acquire(&d->gen) == READ_ONCE(vs_detail_gen) &&
	       READ_ONCE(d->reset_seen) == READ_ONCE(vc->reset_done);
}

/*
 * The keys of one table: the first K entries, and other with the entries
 * beyond K folded in (K lowered; the probe folds them at its next miss),
 * so a reply always shows at most K keys and sums exactly.
 */
static int vs_detail_fill_keys(struct sk_buff *skb, const struct vs_dtable *t,
			       struct vs_region_ctx *rc)
{
	/* Pairs with vs_detail_miss(): entries [0, n) are written. */
	u32 n = min_t(u32, smp_load_acquire(&t->n), VCPUSTAT_DETAIL_K_MAX);
	u32 k = min(n, READ_ONCE(vs_detail_keys)), i;
	u32 kind = READ_ONCE(t->kind);
	u64 other = READ_ONCE(t->other);
	struct nlattr *nest, *e;

	if (nla_put_u32(skb, VCPUSTAT_REASON_A_KEY_KIND, kind))
		return -EMSGSIZE;
	nest = nla_nest_start(skb, VCPUSTAT_REASON_A_KEYS);
	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < n; i++) {
		u64 count = READ_ONCE(t->e[i].count);

		if (i >= k) {
			other += count;
			continue;
		}
		e = nla_nest_start(skb, VCPUSTAT_KEY_ENTRY);
		if (!e ||
		    nla_put_u64_64bit(skb, VCPUSTAT_KEY_A_KEY,
				      READ_ONCE(t->e[i].key), VCPUSTAT_KEY_A_PAD) ||
		    nla_put_u64_64bit(skb, VCPUSTAT_KEY_A_COUNT, count,
				      VCPUSTAT_KEY_A_PAD) ||
		    (kind == VCPUSTAT_KEY_KIND_GPA &&
		     vs_region_fill(skb, rc, READ_ONCE(t->e[i].key))))
			goto cancel;
		nla_nest_end(skb, e);
	}
	nla_nest_end(skb, nest);
	return nla_put_u64_64bit(skb, VCPUSTAT_REASON_A_KEYS_OTHER, other,
				 VCPUSTAT_REASON_A_PAD);
cancel:
	nla_nest_cancel(skb, nest);
	return -EMSGSIZE;
}

static int vs_detail_fill_hist(struct sk_buff *skb, const u64 *hist)
{
	struct nlattr *nest = nla_nest_start(skb, VCPUSTAT_REASON_A_HIST);
	unsigned int i;

	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < VCPUSTAT_RHIST_BUCKETS; i++) {
		u64 x = READ_ONCE(hist[i]);

		if (x && nla_put_u64_64bit(skb, i + 1, x, 0)) {
			nla_nest_cancel(skb, nest);
			return -EMSGSIZE;
		}
	}
	nla_nest_end(skb, nest);
	return 0;
}

/*
 * Inside a reason's nest (netlink.c): the keys and histogram of reason
 * slot @slot (0..VS_NR_REASONS) of @vc, if it has any, GPA keys with
 * their regions through @rc (NULL: without). Caller holds RCU.
 */
int vs_detail_fill(struct sk_buff *skb, const struct vs_vcpu *vc,
		   unsigned int slot, struct vs_region_ctx *rc)
{
	const struct vs_detail *d = vs_detail_of(vc);
	u8 tab, h;

	if (!vs_detail_current(vc, d))
		return 0;
	/* Pairs with the release in vs_detail_table_new(). */
	tab = smp_load_acquire(&d->tab_of[slot]);
	/* Pairs with the release in vs_detail_hist_new(). */
	h = smp_load_acquire(&d->hist_of[slot]);
	if (tab && tab <= VS_DETAIL_TABLES &&
	    vs_detail_fill_keys(skb, &d->tab[tab - 1], rc))
		return -EMSGSIZE;
	if (h && h <= VS_DETAIL_HISTS && vs_detail_fill_hist(skb, d->hist[h - 1]))
		return -EMSGSIZE;
	return 0;
}

/*
 * SET_CONFIG: switch details on (a new generation: every vCPU starts its
 * details afresh at its next exit) or off (the probes stop at once).
 * Static key flips may sleep: process context only.
 */
int vs_detail_set(bool on)
{
	mutex_lock(&vs_detail_mutex);
	if (on && !static_key_enabled(&vs_detail_on)) {
		/* 0 is never a generation: a zeroed record is stale. */
		WRITE_ONCE(vs_detail_gen, vs_detail_gen + 1 ?: 1);
		static_branch_enable(&vs_detail_on);
	} else if (!on && static_key_enabled(&vs_detail_on)) {
		static_branch_disable(&vs_detail_on);
	}
	mutex_unlock(&vs_detail_mutex);
	return 0;
}

void vs_detail_set_k(u32 k)
{
	WRITE_ONCE(vs_detail_keys, k);
}

bool vs_detail_enabled(void)
{
	return static_key_enabled(&vs_detail_on);
}

u32 vs_detail_k(void)
{
	return READ_ONCE(vs_detail_keys);
}
