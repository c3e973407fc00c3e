// SPDX-License-Identifier: GPL-2.0
/*
 * The tick worker: VM lifecycle sweep and the "events" multicast stream.
 *
 * Probes never build messages: a probe that allocated an skb per
 * migration would put an allocation in the hot path and make the stream
 * grow with the exit rate. Instead the worker wakes every VS_TICK_MS,
 * compares each vCPU's counters with what it last reported, and sends:
 *  - VM_NEW for VMs not yet announced, VM_GONE (from the sweep);
 *  - one MIGRATE per vCPU that moved since the last tick, describing the
 *    latest move, with the earlier ones folded into SUPPRESSED, and at
 *    most migr_rate of them per second (token bucket);
 *  - DELTA per vCPU whose counters changed, checked every snapshot_ms,
 *    and, with heartbeat_ms, an all-zero one for a vCPU quiet that long.
 * So the stream is bounded by busy vCPUs x (tick + snapshot rate), whatever
 * the exit rate: idle vCPUs cost nothing (BENCHMARKS.md: 1024 idle vCPUs
 * made 9,300 DELTA/s when every vCPU sent one every period).
 * Nothing is built when nobody listens (genl_has_listeners()).
 *
 * Baselines carry the reset generation they were read at: a RESET zeroes
 * the counters at the vCPU's next exit, which may come long before the
 * next tick, so a counter above its baseline may still have been reset.
 *
 * Only this worker sends, so the group sequence number and the event
 * counters are plain single-writer variables.
 */
#include <linux/workqueue.h>
#include <net/genetlink.h>
#include "vcpustat.h"

#define VS_TICK_MS	50
#define VS_NTF_SIZE	1024

static void vs_tick(struct work_struct *work);
static DECLARE_DELAYED_WORK(vs_tick_work, vs_tick);

/* The family we multicast on; given by main.c once it is registered. */
static struct genl_family *vs_family;
static u64 vs_seq;
static u64 vs_ev[VS_EV_SUPPRESSED + 1];
static u64 vs_tokens, vs_tokens_ts;

u64 vs_events_stat(int which)
{
	return READ_ONCE(vs_ev[which]);
}

static void vs_ev_add(int which, u64 n)
{
	WRITE_ONCE(vs_ev[which], vs_ev[which] + n);
}

static bool vs_listening(void)
{
	return genl_has_listeners(vs_family, &init_net, 0);
}

/*
 * Start a notification. The sequence number is consumed even when the
 * allocation fails, so that the loss shows up as a gap.
 */
static struct sk_buff *vs_ntf_start(u8 cmd, void **hdr, gfp_t gfp)
{
	u64 seq = ++vs_seq;
	struct sk_buff *skb;

	/*
	 * Every notification fits in 1 KiB (a VM nest is ~250 bytes, a
	 * DELTA ~300). Small skbs keep the truesize that listeners' receive
	 * buffers are charged low, so a burst fits.
	 */
	skb = genlmsg_new(VS_NTF_SIZE, gfp);
	if (!skb)
		goto lost;
	*hdr = genlmsg_put(skb, 0, 0, vs_family, 0, cmd);
	if (!*hdr ||
	    nla_put_u64_64bit(skb, VCPUSTAT_A_SEQ, seq, VCPUSTAT_A_PAD)) {
		nlmsg_free(skb);
		goto lost;
	}
	return skb;
lost:
	vs_ev_add(VS_EV_LOST, 1);
	return NULL;
}

static void vs_ntf_send(struct sk_buff *skb, void *hdr)
{
	int err;

	genlmsg_end(skb, hdr);
	err = genlmsg_multicast(vs_family, skb, 0, 0, GFP_ATOMIC);
	/* -ESRCH: the last listener left meanwhile; nobody lost anything. */
	vs_ev_add(err && err != -ESRCH ? VS_EV_LOST : VS_EV_SENT, 1);
}

static void vs_ntf_abort(struct sk_buff *skb)
{
	nlmsg_free(skb);
	vs_ev_add(VS_EV_LOST, 1);
}

static void vs_ntf_vm(const struct vs_vm *vm, u8 cmd, gfp_t gfp)
{
	struct sk_buff *skb;
	void *hdr;

	skb = vs_ntf_start(cmd, &hdr, gfp);
	if (!skb)
		return;
	if (vs_fill_vm(skb, vm)) {
		vs_ntf_abort(skb);
		return;
	}
	vs_ntf_send(skb, hdr);
}

static void vs_ntf_migrate(const struct vs_vm *vm, const struct vs_vcpu *vc,
			   u64 total, u64 folded)
{
	u64 move = READ_ONCE(vc->last_move);
	struct sk_buff *skb;
	struct nlattr *nest;
	void *hdr;

	skb = vs_ntf_start(VCPUSTAT_CMD_MIGRATE_NTF, &hdr, GFP_ATOMIC);
	if (!skb)
		return;
	nest = NULL;
	if (!vs_put_ids(skb, vm))
		nest = nla_nest_start(skb, VCPUSTAT_A_MIGRATION);
	if (!nest ||
	    nla_put_u32(skb, VCPUSTAT_MIGRATION_A_VCPU_ID, vc->vcpu_id) ||
	    nla_put_u32(skb, VCPUSTAT_MIGRATION_A_TID, READ_ONCE(vc->tid)) ||
	    nla_put_u32(skb, VCPUSTAT_MIGRATION_A_FROM, VS_MOVE_FROM(move)) ||
	    nla_put_u32(skb, VCPUSTAT_MIGRATION_A_TO, VS_MOVE_TO(move)) ||
	    nla_put_u32(skb, VCPUSTAT_MIGRATION_A_DISTANCE,
			VS_MOVE_DIST(move)) ||
	    nla_put_u64_64bit(skb, VCPUSTAT_MIGRATION_A_TOTAL, total,
			      VCPUSTAT_MIGRATION_A_PAD) ||
	    nla_put_u64_64bit(skb, VCPUSTAT_MIGRATION_A_SUPPRESSED, folded,
			      VCPUSTAT_MIGRATION_A_PAD)) {
		vs_ntf_abort(skb);
		return;
	}
	nla_nest_end(skb, nest);
	vs_ntf_send(skb, hdr);
}

/*
 * Start reading @vc's counters: the reset generation they count from.
 * *@zero: a reset is requested but not applied yet (that happens at the
 * vCPU's next exit), so they count from 0 already.
 */
static u32 vs_read_begin(const struct vs_vcpu *vc, bool *zero)
{
	u32 req = READ_ONCE(vc->reset_req);

	/* Pairs with vs_vcpu_apply_reset(): done means zeroes visible. */
	*zero = req != smp_load_acquire(&vc->reset_done);
	return req;
}

/*
 * After the reads: a reset requested meanwhile may have zeroed part of
 * what was read. Then the counters count from 0 in the new generation.
 */
static bool vs_read_torn(const struct vs_vcpu *vc, u32 *gen)
{
	u32 req;

	/* The counter reads above happen before this re-read. */
	smp_rmb();
	req = READ_ONCE(vc->reset_req);
	if (req == *gen)
		return false;
	*gen = req;
	return true;
}

/* The change since @base; after a reset (@reset) the counter began at 0. */
static u64 vs_delta(u64 now, u64 *base, bool reset)
{
	u64 d = reset || now < *base ? now : now - *base;

	*base = now;
	return d;
}

/*
 * Turn @bs into the change since the last DELTA (per state; the open
 * interval is in it, so the states sum to the time since), and move the
 * base. A state read with its interval open held the run-queue wait in
 * it, which moved to WAIT when the interval closed: that state went down,
 * which is no reset (that is @reset). It adds nothing and keeps its base
 * until it catches up, so the deltas still add up to the totals (one
 * DELTA's states may then sum to a little more than its time, the next
 * to as much less). The per-KVM_EXIT user split is left to dumps.
 */
static void vs_budget_delta(struct vs_vcpu *vc, struct vs_budget_snap *bs,
			    bool reset)
{
	int i;

	for (i = 0; i <= VCPUSTAT_STATE_MAX; i++) {
		if (!reset && bs->ns[i] < vc->ntf_budget[i])
			bs->ns[i] = 0;
		else
			bs->ns[i] = vs_delta(bs->ns[i], &vc->ntf_budget[i],
					     reset);
	}
	memset(bs->user, 0, sizeof(bs->user));
}

static void vs_ntf_delta(const struct vs_vm *vm, struct vs_vcpu *vc, u64 now,
			 bool send, u64 heartbeat)
{
	u64 c[4 + VCPUSTAT_DIST_MAX + 1] = {};
	struct vs_budget_snap bs = {};
	u64 exits, migr, time, timed, interval, base;
	u64 *dist = &c[4];
	struct sk_buff *skb;
	struct nlattr *nest;
	bool zero, reset;
	void *hdr;
	u32 gen;
	int i;

	gen = vs_read_begin(vc, &zero);
	if (!zero) {
		c[0] = READ_ONCE(vc->exits);
		c[1] = READ_ONCE(vc->migrations);
		c[2] = READ_ONCE(vc->time_sum);
		c[3] = READ_ONCE(vc->timed);
		for (i = 0; i <= VCPUSTAT_DIST_MAX; i++)
			dist[i] = READ_ONCE(vc->migr[i]);
		vs_budget_read(vc, &bs);
		if (vs_read_torn(vc, &gen)) {
			memset(c, 0, sizeof(c));
			memset(&bs, 0, sizeof(bs));
		}
	}
	reset = gen != vc->ntf_gen;
	vc->ntf_gen = gen;
	exits = vs_delta(c[0], &vc->ntf_exits, reset);
	migr = vs_delta(c[1], &vc->ntf_migrations, reset);
	time = vs_delta(c[2], &vc->ntf_time_sum, reset);
	timed = vs_delta(c[3], &vc->ntf_timed, reset);
	for (i = 0; i <= VCPUSTAT_DIST_MAX; i++)
		dist[i] = vs_delta(dist[i], &vc->ntf_migr[i], reset);
	/*
	 * first_seen is stamped by a probe, possibly after the tick read
	 * @now: never report a negative (wrapped) interval.
	 */
	base = vc->ntf_ts ?: vm->first_seen;
	interval = now > base ? now - base : 0;
	vc->ntf_ts = now;
	/*
	 * The budget moves with the clock alone: it does not make a vCPU
	 * changed, and its base stays where the last DELTA left it, so the
	 * next one carries all the time since (its states sum to that).
	 */
	if (send && !exits && !migr && !time && !timed &&
	    (!heartbeat || now - vc->ntf_sent < heartbeat))
		return;
	vs_budget_delta(vc, &bs, reset);
	if (!send)
		return;
	vc->ntf_sent = now;

	skb = vs_ntf_start(VCPUSTAT_CMD_DELTA_NTF, &hdr, GFP_ATOMIC);
	if (!skb)
		return;
	nest = NULL;
	if (!vs_put_ids(skb, vm))
		nest = nla_nest_start(skb, VCPUSTAT_A_VCPU);
	if (!nest || vs_fill_vcpu_ident(skb, vc) ||
	    nla_put_u64_64bit(skb, VCPUSTAT_VCPU_A_EXITS, exits,
			      VCPUSTAT_VCPU_A_PAD) ||
	    nla_put_u64_64bit(skb, VCPUSTAT_VCPU_A_MIGRATIONS, migr,
			      VCPUSTAT_VCPU_A_PAD) ||
	    nla_put_u64_64bit(skb, VCPUSTAT_VCPU_A_EXIT_TIME_NS, time,
			      VCPUSTAT_VCPU_A_PAD) ||
	    nla_put_u64_64bit(skb, VCPUSTAT_VCPU_A_TIMED_EXITS, timed,
			      VCPUSTAT_VCPU_A_PAD) ||
	    nla_put_u64_64bit(skb, VCPUSTAT_VCPU_A_INTERVAL_NS, interval,
			      VCPUSTAT_VCPU_A_PAD))
		goto abort;
	for (i = VCPUSTAT_DIST_SMT; i <= VCPUSTAT_DIST_REMOTE; i++)
		if (nla_put_u64_64bit(skb, VCPUSTAT_VCPU_A_MIGR_SMT + i -
				      VCPUSTAT_DIST_SMT, dist[i],
				      VCPUSTAT_VCPU_A_PAD))
			goto abort;
	if (bs.at && vs_fill_budget(skb, vc, &bs))
		goto abort;
	nla_nest_end(skb, nest);
	vs_ntf_send(skb, hdr);
	return;
abort:
	vs_ntf_abort(skb);
}

/* Token bucket: up to migr_rate MIGRATE_NTF per second, 1 s of burst. */
static bool vs_take_token(u64 now)
{
	u32 rate = READ_ONCE(vs_cfg.migr_rate);
	u64 add;

	if (now - vs_tokens_ts > NSEC_PER_SEC)
		vs_tokens_ts = now - NSEC_PER_SEC;
	add = div_u64((now - vs_tokens_ts) * rate, NSEC_PER_SEC);
	if (add) {
		vs_tokens = min_t(u64, vs_tokens + add, rate);
		/* Keep the remainder: slow rates must still refill. */
		vs_tokens_ts += div_u64(add * NSEC_PER_SEC, rate);
	}
	if (!vs_tokens)
		return false;
	vs_tokens--;
	return true;
}

static void vs_tick_vcpu(const struct vs_vm *vm, struct vs_vcpu *vc,
			 bool listening, u64 now)
{
	u64 total = 0, moved;
	bool zero;
	u32 gen;

	gen = vs_read_begin(vc, &zero);
	if (!zero) {
		/* Pairs with the release in vs_vcpu_moved(): last_move. */
		total = smp_load_acquire(&vc->migrations);
		if (vs_read_torn(vc, &gen))
			total = 0;
	}
	moved = vs_delta(total, &vc->ntf_moves, gen != vc->ntf_moves_gen);
	vc->ntf_moves_gen = gen;
	if (!moved || !listening || !READ_ONCE(vs_cfg.migr_rate))
		return;
	if (vs_take_token(now)) {
		vs_ntf_migrate(vm, vc, total, moved - 1);
		vs_ev_add(VS_EV_SUPPRESSED, moved - 1);
	} else {
		vs_ev_add(VS_EV_SUPPRESSED, moved);
	}
}

/* Each vCPU keeps its own DELTA schedule, so a new interval applies now. */
static bool vs_delta_due(const struct vs_vcpu *vc, u64 now, u64 period)
{
	return period && now - vc->ntf_ts >= period;
}

/*
 * For a VM the sweep gave: unlinked, and no reader can see it any more.
 * Moves made since the last tick are reported first, or they would never
 * be: the vCPUs are gone before the next tick looks at them.
 */
static void vs_events_vm_gone(struct vs_vm *vm)
{
	bool listening = vs_listening();
	u64 now = ktime_get_ns();
	struct vs_vcpu *vc;

	list_for_each_entry(vc, &vm->vcpus, vm_node) {
		vs_tick_vcpu(vm, vc, listening, now);
		cond_resched();
	}
	if (!listening)
		return;
	/* It died before a tick announced it: no VM_GONE without VM_NEW. */
	if (!vm->announced)
		vs_ntf_vm(vm, VCPUSTAT_CMD_VM_NEW_NTF, GFP_KERNEL);
	vs_ntf_vm(vm, VCPUSTAT_CMD_VM_GONE_NTF, GFP_KERNEL);
}

/*
 * vCPUs looked at in one RCU read section. Each may cost two skbs: with
 * thousands of vCPUs, one section for all would hold off grace periods
 * and the CPU for as long as that takes (issue 14, item 7).
 */
#define VS_TICK_BATCH	64

/*
 * One batch, from the first VM with id >= @cur->vm_id and its first vCPU
 * with idx >= @cur->idx (both lists are kept sorted); returns true and
 * moves @cur to the next vCPU when the batch is full.
 */
struct vs_tick_cursor {
	u64 vm_id;
	u32 idx;
};

static bool vs_tick_batch(struct vs_tick_cursor *cur, bool listening,
			  u64 now, u64 period, u64 heartbeat)
{
	unsigned int n = 0;
	struct vs_vcpu *vc;
	struct vs_vm *vm;
	bool more = false;

	rcu_read_lock();
	list_for_each_entry_rcu(vm, &vs_vms, node) {
		if (vm->id < cur->vm_id)
			continue;
		if (vm->id > cur->vm_id)
			cur->idx = 0;
		/* Unheard announcements are dropped: a new listener dumps. */
		if (!vm->announced) {
			if (listening)
				vs_ntf_vm(vm, VCPUSTAT_CMD_VM_NEW_NTF,
					  GFP_ATOMIC);
			vm->announced = true;
		}
		list_for_each_entry_rcu(vc, &vm->vcpus, vm_node) {
			if (vc->idx < cur->idx)
				continue;
			if (n++ == VS_TICK_BATCH) {
				cur->vm_id = vm->id;
				cur->idx = vc->idx;
				more = true;
				goto out;
			}
			vs_tick_vcpu(vm, vc, listening, now);
			if (vs_delta_due(vc, now, period))
				vs_ntf_delta(vm, vc, now, listening,
					     heartbeat);
		}
	}
out:
	rcu_read_unlock();
	return more;
}

static void vs_tick(struct work_struct *work)
{
	u64 period = (u64)READ_ONCE(vs_cfg.snapshot_ms) * NSEC_PER_MSEC;
	u64 heartbeat = (u64)READ_ONCE(vs_cfg.heartbeat_ms) * NSEC_PER_MSEC;
	struct vs_tick_cursor cur = {};
	struct vs_vm *vm;
	LIST_HEAD(gone);
	bool listening;
	u64 now;

	vs_sweep(&gone);
	list_for_each_entry(vm, &gone, dead_node) {
		vs_events_vm_gone(vm);
		cond_resched();
	}
	vs_vms_release(&gone);
	now = ktime_get_ns();

	listening = vs_listening();
	while (vs_tick_batch(&cur, listening, now, period, heartbeat))
		cond_resched();

	queue_delayed_work(vs_wq, &vs_tick_work, msecs_to_jiffies(VS_TICK_MS));
}

void vs_events_start(struct genl_family *family)
{
	vs_family = family;
	vs_tokens = READ_ONCE(vs_cfg.migr_rate);
	vs_tokens_ts = ktime_get_ns();
	queue_delayed_work(vs_wq, &vs_tick_work, msecs_to_jiffies(VS_TICK_MS));
}

void vs_events_stop(void)
{
	/* Also waits for a running tick, which may be destroying VMs. */
	cancel_delayed_work_sync(&vs_tick_work);
}
