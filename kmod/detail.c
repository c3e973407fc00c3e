// SPDX-License-Identifier: GPL-2.0
/*
 * Second-level exit keys and per-reason exit time histograms (detail.h).
 *
 * Probe side: vs_detail_exit() runs in the kvm_exit probe after the exit
 * was counted under its reason (vc->pending), and
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
 * at once, the table at its next key other than the last one met.
 *
 * Switching details on bumps vs_detail_gen: each vCPU restarts its
 * details at its next exit, and a reset restarts them in the probe that
 * applies it; readers send none for a vCPU whose details are of another
 * generation or predate its last reset.
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

/*
 * Start this vCPU's details afresh: at the first exit of a new switch-on
 * (vs_detail_exit()), and at a reset, which vs_vcpu_apply_reset() applies
 * in the same probe before it publishes reset_done.
 */
noinline void vs_detail_restart(struct vs_vcpu *vc, u32 reset)
{
	struct vs_detail *d = &vc->detail;
	unsigned int i;

	WRITE_ONCE(d->gen, 0);
	/* Readers check gen first: make it stale before the zeroing. */
	smp_wmb();
	for (i = 0; i <= VS_NR_REASONS; i++) {
		struct vs_reason *r = i < VS_NR_REASONS ? &vc->reasons[i] :
							  &vc->other;

		WRITE_ONCE(r->dop, 0);
		WRITE_ONCE(r->dkey, 0);
		WRITE_ONCE(r->dhist, 0);
	}
	memset_startat(d, 0, ntabs);
	WRITE_ONCE(d->reset_seen, reset);
	/* Zeroes before gen: readers that see gen see them. */
	smp_store_release(&d->gen, READ_ONCE(vs_detail_gen));
}

/* How @r's keys are read (enum vs_dop), and their kind; -1: no keys. */
static int vs_detail_op(const struct vs_vcpu *vc, const struct kvm_vcpu *vcpu,
			const struct vs_reason *r, u32 code, u32 *kind)
{
	/* The overflow slot mixes reasons, so keys of mixed kinds. */
	if (r == &vc->other)
		return -1;
#ifndef VS_KVM_ARM64
	if (vc->src == VS_SRC_SVM)
		return vs_detail_op_svm(vcpu, code, kind);
	if (vc->src == VS_SRC_VMX)
		return vs_detail_op_vmx(code, kind);
#endif
	return -1;
}

/*
 * The first exit of a reason since the details started: give it its
 * histogram row, and a key table, started with this exit's key, if its
 * exits have keys and a table is left, else mark it as having none, so
 * that its next exits stop at r->dop. An exit that gives no key starts no table (the next one
 * will try again; until then the exits are the table's @other to be):
 * so a table always has a key at @at.
 */
noinline void vs_detail_first(struct vs_vcpu *vc, const struct kvm_vcpu *vcpu,
			      u32 code, struct vs_reason *r)
{
	struct vs_detail *d = &vc->detail;
	struct vs_dtable *t;
	struct vs_dkey *e;
	u32 kind = 0;
	int op;
	u64 key;

	/* dop: VS_DNONE is no op */
	BUILD_BUG_ON(VS_DNONE != 0x80 || VS_DOP_VMX_VECTOR > 0x7f);
	BUILD_BUG_ON(VS_DETAIL_HISTS > U8_MAX);
	/* dkey indexes all tables' keys */
	BUILD_BUG_ON(VS_DETAIL_TABLES * VCPUSTAT_DETAIL_K_MAX > U8_MAX + 1);
	/* struct vs_reason's isa is a u8. */
	BUILD_BUG_ON(VCPUSTAT_ISA_ARM64 > U8_MAX);
	/*
	 * The reason's histogram row, if one is left (the timed exits of
	 * those without go to row 0): here, so that kvm_entry has no test.
	 */
	if (!r->dhist && d->nhists < VS_DETAIL_HISTS)
		/* Pairs with vs_detail_fill(): the row's zeroes seen first. */
		smp_store_release(&r->dhist, ++d->nhists);
	op = vs_detail_op(vc, vcpu, r, code, &kind);
	if (op < 0 || d->ntabs >= VS_DETAIL_TABLES) {
		WRITE_ONCE(r->dop, VS_DNONE);
		return;
	}
	if (!vs_detail_key(vcpu, code, op, &key) || key == VS_NO_KEY)
		return;
	t = &d->tab[d->ntabs];
	t->kind = kind;
	e = vs_detail_keys_of(d, d->ntabs);
	e->key = key;
	e->count = 1;
	t->n = 1;
	/* This exit is counted in r->count already and goes to a key. */
	t->other = r->count - 1;
	WRITE_ONCE(r->dkey, e - d->keys);
	d->ntabs++;
	/* Table and dkey before the op: readers go through r->dop. */
	smp_store_release(&r->dop, op);
}

/*
 * A key other than the last one met (@r's dkey): another entry of its
 * table, a new entry while fewer than K are kept, else "other"; dkey
 * moves to the entry counted, or to the first. K lowered below the
 * entries kept: fold those beyond it into other first (readers already
 * show them folded, vs_detail_fill_keys()); dkey never stays on a folded
 * entry.
 */
noinline void vs_detail_find(struct vs_detail *d, struct vs_reason *r, u64 key)
{
	unsigned long i = r->dkey / VCPUSTAT_DETAIL_K_MAX;
	struct vs_dtable *t = &d->tab[i];
	struct vs_dkey *e = vs_detail_keys_of(d, i);
	u32 k = READ_ONCE(vs_detail_keys), n = t->n, j;
	u64 sum = 0;

	if (unlikely(n > k)) {
		for (j = k; j < n; j++)
			sum += e[j].count;
		WRITE_ONCE(t->n, k);
		WRITE_ONCE(t->other, t->other + sum);
		n = k;
	}
	for (j = 0; j < n; j++) {
		if (e[j].key == key) {
			WRITE_ONCE(r->dkey, &e[j] - d->keys);
			vs_count(&e[j].count);
			return;
		}
	}
	if (n < k && key != VS_NO_KEY) {
		WRITE_ONCE(e[n].key, key);
		WRITE_ONCE(e[n].count, 1);
		WRITE_ONCE(r->dkey, &e[n] - d->keys);
		/* Entry before n: readers read [0, n). */
		smp_store_release(&t->n, n + 1);
		return;
	}
	WRITE_ONCE(r->dkey, e - d->keys);
	WRITE_ONCE(t->other, t->other + 1);
}

/* Readers: the uapi encoding of a key stored as read (enum vs_dop). */
u64 vs_detail_key_uapi(u32 op, u64 key)
{
#ifndef VS_KVM_ARM64
	if (op == VS_DOP_SVM_IO)
		return vs_detail_io_uapi_svm(key);
	if (op == VS_DOP_VMX_IO)
		return vs_detail_io_uapi_vmx(key);
#endif
	return key;
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
 * beyond K folded in (K lowered; the probe folds them at its next key
 * other than the last one met),
 * so a reply always shows at most K keys and sums exactly.
 */
static int vs_detail_fill_keys(struct sk_buff *skb, const struct vs_dtable *t,
			       const struct vs_dkey *keys, u32 op,
			       struct vs_region_ctx *rc)
{
	/* Pairs with vs_detail_find(): entries [0, n) are written. */
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
		u64 count = READ_ONCE(keys[i].count), key;

		if (i >= k) {
			other += count;
			continue;
		}
		key = vs_detail_key_uapi(op, READ_ONCE(keys[i].key));
		e = nla_nest_start(skb, VCPUSTAT_KEY_ENTRY);
		if (!e ||
		    nla_put_u64_64bit(skb, VCPUSTAT_KEY_A_KEY, key,
				      VCPUSTAT_KEY_A_PAD) ||
		    nla_put_u64_64bit(skb, VCPUSTAT_KEY_A_COUNT, count,
				      VCPUSTAT_KEY_A_PAD) ||
		    (kind == VCPUSTAT_KEY_KIND_GPA &&
		     vs_region_fill(skb, rc, key)))
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

/*
 * A reason's histogram, once it has a timed exit (rows are given at the
 * reason's first exit, timed or not: an empty one is not sent).
 */
static int vs_detail_fill_hist(struct sk_buff *skb, const u64 *hist)
{
	struct nlattr *nest = NULL;
	unsigned int i;

	for (i = 0; i < VCPUSTAT_RHIST_BUCKETS; i++) {
		u64 x = READ_ONCE(hist[i]);

		if (!x)
			continue;
		if (!nest)
			nest = nla_nest_start(skb, VCPUSTAT_REASON_A_HIST);
		if (!nest || nla_put_u64_64bit(skb, i + 1, x, 0))
			goto cancel;
	}
	if (nest)
		nla_nest_end(skb, nest);
	return 0;
cancel:
	if (nest)
		nla_nest_cancel(skb, nest);
	return -EMSGSIZE;
}

/*
 * Inside a reason's nest (netlink.c): the keys and histogram of reason
 * @r of @vc, if it has any, GPA keys with their regions through @rc
 * (NULL: without). Caller holds RCU.
 */
int vs_detail_fill(struct sk_buff *skb, const struct vs_vcpu *vc,
		   const struct vs_reason *r, struct vs_region_ctx *rc)
{
	const struct vs_detail *d = &vc->detail;
	unsigned long i;
	u8 op, h;

	if (!vs_detail_current(vc, d))
		return 0;
	/* Pairs with the release in vs_detail_first(): dkey names the table. */
	op = smp_load_acquire(&r->dop);
	/* Pairs with the release in vs_detail_first(). */
	h = smp_load_acquire(&r->dhist);
	i = READ_ONCE(r->dkey) / VCPUSTAT_DETAIL_K_MAX;
	if (op && op != VS_DNONE && i < VS_DETAIL_TABLES &&
	    vs_detail_fill_keys(skb, &d->tab[i], vs_detail_keys_of(d, i), op,
				rc))
		return -EMSGSIZE;
	if (h && h <= VS_DETAIL_HISTS && vs_detail_fill_hist(skb, d->hist[h]))
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
