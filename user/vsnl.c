// SPDX-License-Identifier: GPL-2.0
/*
 * vsnl: generic netlink client of the vcpustat family (see vsnl.h).
 *
 * Requests go through libnl with our own callbacks, so that we keep the
 * kernel's real errno and its extended-ACK message instead of libnl's
 * NLE_* translation (which folds e.g. EPERM and EACCES together and drops
 * the message). Notifications are read with plain recv() on a second
 * socket: that lets us see ENOBUFS (receive queue overrun) directly and
 * never block inside libnl.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/family.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "snapshot.h"
#include "vsnl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct vs_ctx {
	struct nl_sock *sk;		/* requests */
	int family;
	struct nl_sock *ev_sk;		/* notifications, NULL until opened */
	int ev_grp;			/* its events group id */
	bool follow;			/* also in nlctrl's notify group */
	bool have_seq;
	uint64_t last_seq;
	uint64_t lost_total;
	char extack[256];
	bool has_extack;
	void *rxbuf;
	size_t rxlen;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* libnl's error space to errno, for the few errors libnl makes itself. */
static int nle_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case 0:			return 0;
	case NLE_NOMEM:		return -ENOMEM;
	case NLE_PERM:		return -EPERM;
	case NLE_OBJ_NOTFOUND:	return -ENOENT;
	case NLE_INVAL:		return -EINVAL;
	case NLE_AGAIN:		return -EAGAIN;
	case NLE_BUSY:		return -EBUSY;
	case NLE_NOADDR:	return -EADDRNOTAVAIL;
	case NLE_OPNOTSUPP:	return -EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:	return -EAFNOSUPPORT;
	case NLE_MSGSIZE:	return -EMSGSIZE;
	case NLE_RANGE:		return -ERANGE;
	case NLE_DUMP_INTR:	return -EINTR;
	default:		return -EIO;
	}
}

/* ---------------------------------------------------------------- */
/* Attribute decoding                                                */

static struct nla_policy vm_pol[VCPUSTAT_VM_A_MAX + 1] = {
	[VCPUSTAT_VM_A_ID]		= { .type = NLA_U64 },
	[VCPUSTAT_VM_A_PID]		= { .type = NLA_U32 },
	[VCPUSTAT_VM_A_COMM]		= { .type = NLA_STRING },
	[VCPUSTAT_VM_A_STATS_ID]	= { .type = NLA_STRING },
	[VCPUSTAT_VM_A_NR_VCPUS]	= { .type = NLA_U32 },
	[VCPUSTAT_VM_A_EXITS]		= { .type = NLA_U64 },
	[VCPUSTAT_VM_A_MIGRATIONS]	= { .type = NLA_U64 },
	[VCPUSTAT_VM_A_EXIT_TIME_NS]	= { .type = NLA_U64 },
	[VCPUSTAT_VM_A_AGE_NS]		= { .type = NLA_U64 },
	[VCPUSTAT_VM_A_UNTRACKED_EXITS]	= { .type = NLA_U64 },
};

static struct nla_policy vcpu_pol[VCPUSTAT_VCPU_A_MAX + 1] = {
	[VCPUSTAT_VCPU_A_ID]		= { .type = NLA_U32 },
	[VCPUSTAT_VCPU_A_IDX]		= { .type = NLA_U32 },
	[VCPUSTAT_VCPU_A_TID]		= { .type = NLA_U32 },
	[VCPUSTAT_VCPU_A_PCPU]		= { .type = NLA_U32 },
	[VCPUSTAT_VCPU_A_EXITS]		= { .type = NLA_U64 },
	[VCPUSTAT_VCPU_A_MIGRATIONS]	= { .type = NLA_U64 },
	[VCPUSTAT_VCPU_A_MIGR_SMT]	= { .type = NLA_U64 },
	[VCPUSTAT_VCPU_A_MIGR_LLC]	= { .type = NLA_U64 },
	[VCPUSTAT_VCPU_A_MIGR_NODE]	= { .type = NLA_U64 },
	[VCPUSTAT_VCPU_A_MIGR_REMOTE]	= { .type = NLA_U64 },
	[VCPUSTAT_VCPU_A_EXIT_TIME_NS]	= { .type = NLA_U64 },
	[VCPUSTAT_VCPU_A_TIMED_EXITS]	= { .type = NLA_U64 },
	[VCPUSTAT_VCPU_A_REASONS]	= { .type = NLA_NESTED },
	[VCPUSTAT_VCPU_A_HIST]		= { .type = NLA_NESTED },
	[VCPUSTAT_VCPU_A_RESIDENCY]	= { .type = NLA_NESTED },
	[VCPUSTAT_VCPU_A_INTERVAL_NS]	= { .type = NLA_U64 },
	[VCPUSTAT_VCPU_A_ISA]		= { .type = NLA_U32 },
	[VCPUSTAT_VCPU_A_CONTINUED]	= { .type = NLA_FLAG },
	[VCPUSTAT_VCPU_A_BUDGET]	= { .type = NLA_NESTED },
};

static struct nla_policy budget_pol[VCPUSTAT_BUDGET_A_MAX + 1] = {
	[VCPUSTAT_BUDGET_A_GUEST_NS]	= { .type = NLA_U64 },
	[VCPUSTAT_BUDGET_A_EXIT_NS]	= { .type = NLA_U64 },
	[VCPUSTAT_BUDGET_A_USER_NS]	= { .type = NLA_U64 },
	[VCPUSTAT_BUDGET_A_POLL_NS]	= { .type = NLA_U64 },
	[VCPUSTAT_BUDGET_A_HALT_NS]	= { .type = NLA_U64 },
	[VCPUSTAT_BUDGET_A_WAIT_NS]	= { .type = NLA_U64 },
	[VCPUSTAT_BUDGET_A_OUT_NS]	= { .type = NLA_U64 },
	[VCPUSTAT_BUDGET_A_STATE]	= { .type = NLA_U32 },
	[VCPUSTAT_BUDGET_A_OPEN_NS]	= { .type = NLA_U64 },
	[VCPUSTAT_BUDGET_A_AT_NS]	= { .type = NLA_U64 },
	[VCPUSTAT_BUDGET_A_USER]	= { .type = NLA_NESTED },
};

static struct nla_policy user_pol[VCPUSTAT_USER_A_MAX + 1] = {
	[VCPUSTAT_USER_A_EXIT_REASON]	= { .type = NLA_U32 },
	[VCPUSTAT_USER_A_COUNT]		= { .type = NLA_U64 },
	[VCPUSTAT_USER_A_NS]		= { .type = NLA_U64 },
};

static struct nla_policy reason_pol[VCPUSTAT_REASON_A_MAX + 1] = {
	[VCPUSTAT_REASON_A_ISA]		= { .type = NLA_U32 },
	[VCPUSTAT_REASON_A_CODE]	= { .type = NLA_U32 },
	[VCPUSTAT_REASON_A_COUNT]	= { .type = NLA_U64 },
	[VCPUSTAT_REASON_A_TIMED]	= { .type = NLA_U64 },
	[VCPUSTAT_REASON_A_TIME_SUM_NS]	= { .type = NLA_U64 },
	[VCPUSTAT_REASON_A_TIME_MIN_NS]	= { .type = NLA_U64 },
	[VCPUSTAT_REASON_A_TIME_MAX_NS]	= { .type = NLA_U64 },
	[VCPUSTAT_REASON_A_HANDLE_NS]	= { .type = NLA_U64 },
	[VCPUSTAT_REASON_A_KEY_KIND]	= { .type = NLA_U32 },
	[VCPUSTAT_REASON_A_KEYS]	= { .type = NLA_NESTED },
	[VCPUSTAT_REASON_A_KEYS_OTHER]	= { .type = NLA_U64 },
	[VCPUSTAT_REASON_A_HIST]	= { .type = NLA_NESTED },
};

static struct nla_policy key_pol[VCPUSTAT_KEY_A_MAX + 1] = {
	[VCPUSTAT_KEY_A_KEY]		= { .type = NLA_U64 },
	[VCPUSTAT_KEY_A_COUNT]		= { .type = NLA_U64 },
	[VCPUSTAT_KEY_A_REGION]		= { .type = NLA_U32 },
	[VCPUSTAT_KEY_A_SLOT]		= { .type = NLA_U32 },
	[VCPUSTAT_KEY_A_SLOT_FLAGS]	= { .type = NLA_U32 },
	[VCPUSTAT_KEY_A_REGION_BASE]	= { .type = NLA_U64 },
	[VCPUSTAT_KEY_A_REGION_SIZE]	= { .type = NLA_U64 },
};

static struct nla_policy res_pol[VCPUSTAT_RESIDENCY_A_MAX + 1] = {
	[VCPUSTAT_RESIDENCY_A_CPU]	= { .type = NLA_U32 },
	[VCPUSTAT_RESIDENCY_A_EXITS]	= { .type = NLA_U64 },
};

static struct nla_policy migr_pol[VCPUSTAT_MIGRATION_A_MAX + 1] = {
	[VCPUSTAT_MIGRATION_A_VCPU_ID]	= { .type = NLA_U32 },
	[VCPUSTAT_MIGRATION_A_TID]	= { .type = NLA_U32 },
	[VCPUSTAT_MIGRATION_A_FROM]	= { .type = NLA_U32 },
	[VCPUSTAT_MIGRATION_A_TO]	= { .type = NLA_U32 },
	[VCPUSTAT_MIGRATION_A_DISTANCE]	= { .type = NLA_U32 },
	[VCPUSTAT_MIGRATION_A_TOTAL]	= { .type = NLA_U64 },
	[VCPUSTAT_MIGRATION_A_SUPPRESSED] = { .type = NLA_U64 },
};

static struct nla_policy cfg_pol[VCPUSTAT_CONFIG_A_MAX + 1] = {
	[VCPUSTAT_CONFIG_A_SNAPSHOT_MS]	= { .type = NLA_U32 },
	[VCPUSTAT_CONFIG_A_TIMING]	= { .type = NLA_U8 },
	[VCPUSTAT_CONFIG_A_MIGR_RATE]	= { .type = NLA_U32 },
	[VCPUSTAT_CONFIG_A_TIMING_EVERY] = { .type = NLA_U32 },
	[VCPUSTAT_CONFIG_A_HEARTBEAT_MS] = { .type = NLA_U32 },
	[VCPUSTAT_CONFIG_A_BUDGET]	= { .type = NLA_U8 },
	[VCPUSTAT_CONFIG_A_DETAIL]	= { .type = NLA_U8 },
	[VCPUSTAT_CONFIG_A_DETAIL_K]	= { .type = NLA_U32 },
};

static struct nla_policy status_pol[VCPUSTAT_STATUS_A_MAX + 1] = {
	[VCPUSTAT_STATUS_A_VERSION]	= { .type = NLA_STRING },
	[VCPUSTAT_STATUS_A_VMS]		= { .type = NLA_U32 },
	[VCPUSTAT_STATUS_A_VCPUS]	= { .type = NLA_U32 },
	[VCPUSTAT_STATUS_A_MAX_VCPUS]	= { .type = NLA_U32 },
	[VCPUSTAT_STATUS_A_VMS_SEEN]	= { .type = NLA_U64 },
	[VCPUSTAT_STATUS_A_OVERFLOW]	= { .type = NLA_U64 },
	[VCPUSTAT_STATUS_A_ALLOC_FAIL]	= { .type = NLA_U64 },
	[VCPUSTAT_STATUS_A_EVENTS_SENT]	= { .type = NLA_U64 },
	[VCPUSTAT_STATUS_A_EVENTS_LOST]	= { .type = NLA_U64 },
	[VCPUSTAT_STATUS_A_MIGR_SUPPRESSED] = { .type = NLA_U64 },
	[VCPUSTAT_STATUS_A_GENERATION]	= { .type = NLA_U64 },
	[VCPUSTAT_STATUS_A_BAD_LAYOUT]	= { .type = NLA_U64 },
	[VCPUSTAT_STATUS_A_NOMEM_EXITS]	= { .type = NLA_U64 },
	[VCPUSTAT_STATUS_A_STALE_VMS]	= { .type = NLA_U64 },
	[VCPUSTAT_STATUS_A_RUN_HOOK]	= { .type = NLA_U8 },
	[VCPUSTAT_STATUS_A_RUN_MISSED]	= { .type = NLA_U64 },
	[VCPUSTAT_STATUS_A_UAPI_REVISION] = { .type = NLA_U32 },
};

static struct nla_policy top_pol[VCPUSTAT_A_MAX + 1] = {
	[VCPUSTAT_A_SEQ]	= { .type = NLA_U64 },
	[VCPUSTAT_A_VM_ID]	= { .type = NLA_U64 },
	[VCPUSTAT_A_PID]	= { .type = NLA_U32 },
	[VCPUSTAT_A_VCPU_ID]	= { .type = NLA_U32 },
	[VCPUSTAT_A_VM]		= { .type = NLA_NESTED },
	[VCPUSTAT_A_VCPU]	= { .type = NLA_NESTED },
	[VCPUSTAT_A_MIGRATION]	= { .type = NLA_NESTED },
	[VCPUSTAT_A_CONFIG]	= { .type = NLA_NESTED },
	[VCPUSTAT_A_STATUS]	= { .type = NLA_NESTED },
};

static uint64_t u64_or(struct nlattr *a, uint64_t dflt)
{
	return a ? nla_get_u64(a) : dflt;
}

static uint32_t u32_or(struct nlattr *a, uint32_t dflt)
{
	return a ? nla_get_u32(a) : dflt;
}

static int parse_vm(struct nlattr *nest, struct vs_vm *vm)
{
	struct nlattr *tb[VCPUSTAT_VM_A_MAX + 1];
	int err;

	memset(vm, 0, sizeof(*vm));
	err = nla_parse_nested(tb, VCPUSTAT_VM_A_MAX, nest, vm_pol);
	if (err < 0)
		return -EPROTO;
	if (!tb[VCPUSTAT_VM_A_ID])
		return -EPROTO;
	vm->id = nla_get_u64(tb[VCPUSTAT_VM_A_ID]);
	vm->pid = u32_or(tb[VCPUSTAT_VM_A_PID], 0);
	if (tb[VCPUSTAT_VM_A_COMM])
		nla_strlcpy(vm->comm, tb[VCPUSTAT_VM_A_COMM], sizeof(vm->comm));
	if (tb[VCPUSTAT_VM_A_STATS_ID])
		nla_strlcpy(vm->stats_id, tb[VCPUSTAT_VM_A_STATS_ID],
			    sizeof(vm->stats_id));
	vm->tracked_vcpus = u32_or(tb[VCPUSTAT_VM_A_NR_VCPUS], 0);
	vm->exits = u64_or(tb[VCPUSTAT_VM_A_EXITS], 0);
	vm->migrations = u64_or(tb[VCPUSTAT_VM_A_MIGRATIONS], 0);
	vm->exit_time_ns = u64_or(tb[VCPUSTAT_VM_A_EXIT_TIME_NS], 0);
	vm->age_ns = u64_or(tb[VCPUSTAT_VM_A_AGE_NS], 0);
	vm->untracked_exits = u64_or(tb[VCPUSTAT_VM_A_UNTRACKED_EXITS], 0);
	return 0;
}

/* A reason's keys (at most VCPUSTAT_DETAIL_K_MAX) and histogram. */
static int parse_reason_detail(struct nlattr **tb, struct vs_reason *r)
{
	struct nlattr *pos;
	int rem;

	r->key_kind = u32_or(tb[VCPUSTAT_REASON_A_KEY_KIND], 0);
	r->keys_other = u64_or(tb[VCPUSTAT_REASON_A_KEYS_OTHER], 0);
	if (tb[VCPUSTAT_REASON_A_KEYS]) {
		nla_for_each_nested(pos, tb[VCPUSTAT_REASON_A_KEYS], rem) {
			struct nlattr *kb[VCPUSTAT_KEY_A_MAX + 1];
			struct vs_key *k;

			if (nla_type(pos) != VCPUSTAT_KEY_ENTRY)
				continue;
			if (r->nr_keys >= VCPUSTAT_DETAIL_K_MAX ||
			    nla_parse_nested(kb, VCPUSTAT_KEY_A_MAX, pos,
					     key_pol) < 0 ||
			    !kb[VCPUSTAT_KEY_A_KEY])
				return -EPROTO;
			k = &r->keys[r->nr_keys++];
			k->key = nla_get_u64(kb[VCPUSTAT_KEY_A_KEY]);
			k->count = u64_or(kb[VCPUSTAT_KEY_A_COUNT], 0);
			k->region = u32_or(kb[VCPUSTAT_KEY_A_REGION], 0);
			k->slot = u32_or(kb[VCPUSTAT_KEY_A_SLOT], 0);
			k->slot_flags = u32_or(kb[VCPUSTAT_KEY_A_SLOT_FLAGS], 0);
			k->has_base = kb[VCPUSTAT_KEY_A_REGION_BASE] &&
				      kb[VCPUSTAT_KEY_A_REGION_SIZE];
			k->region_base = u64_or(kb[VCPUSTAT_KEY_A_REGION_BASE], 0);
			k->region_size = u64_or(kb[VCPUSTAT_KEY_A_REGION_SIZE], 0);
		}
	}
	if (tb[VCPUSTAT_REASON_A_HIST]) {
		r->has_hist = true;
		nla_for_each_nested(pos, tb[VCPUSTAT_REASON_A_HIST], rem) {
			int t = nla_type(pos);

			/* attribute i + 1 is bucket i; 0 is padding */
			if (t < 1 || t > VCPUSTAT_RHIST_BUCKETS)
				continue;
			if (nla_len(pos) != 8)
				return -EPROTO;
			r->hist[t - 1] = nla_get_u64(pos);
		}
	}
	return 0;
}

static int parse_reasons(struct nlattr *nest, struct vs_vcpu *vc)
{
	struct nlattr *pos;
	size_t n = 0;
	int rem;

	nla_for_each_nested(pos, nest, rem)
		if (nla_type(pos) == VCPUSTAT_REASON_ENTRY)
			n++;
	if (!n)
		return 0;
	vc->reasons = calloc(n, sizeof(*vc->reasons));
	if (!vc->reasons)
		return -ENOMEM;
	nla_for_each_nested(pos, nest, rem) {
		struct nlattr *tb[VCPUSTAT_REASON_A_MAX + 1];
		struct vs_reason *r;

		if (nla_type(pos) != VCPUSTAT_REASON_ENTRY)
			continue;
		if (nla_parse_nested(tb, VCPUSTAT_REASON_A_MAX, pos,
				     reason_pol) < 0)
			return -EPROTO;
		r = &vc->reasons[vc->nr_reasons++];
		r->isa = u32_or(tb[VCPUSTAT_REASON_A_ISA], 0);
		r->code = u32_or(tb[VCPUSTAT_REASON_A_CODE],
				 VCPUSTAT_CODE_UNKNOWN);
		r->count = u64_or(tb[VCPUSTAT_REASON_A_COUNT], 0);
		r->timed = u64_or(tb[VCPUSTAT_REASON_A_TIMED], 0);
		r->time_sum_ns = u64_or(tb[VCPUSTAT_REASON_A_TIME_SUM_NS], 0);
		r->time_min_ns = u64_or(tb[VCPUSTAT_REASON_A_TIME_MIN_NS], 0);
		r->time_max_ns = u64_or(tb[VCPUSTAT_REASON_A_TIME_MAX_NS], 0);
		r->handle_ns = u64_or(tb[VCPUSTAT_REASON_A_HANDLE_NS], 0);
		if (parse_reason_detail(tb, r))
			return -EPROTO;
	}
	return 0;
}

static int parse_residency(struct nlattr *nest, struct vs_vcpu *vc)
{
	struct nlattr *pos;
	size_t n = 0;
	int rem;

	nla_for_each_nested(pos, nest, rem)
		if (nla_type(pos) == VCPUSTAT_RESIDENCY_ENTRY)
			n++;
	if (!n)
		return 0;
	vc->residency = calloc(n, sizeof(*vc->residency));
	if (!vc->residency)
		return -ENOMEM;
	nla_for_each_nested(pos, nest, rem) {
		struct nlattr *tb[VCPUSTAT_RESIDENCY_A_MAX + 1];
		struct vs_residency *r;

		if (nla_type(pos) != VCPUSTAT_RESIDENCY_ENTRY)
			continue;
		if (nla_parse_nested(tb, VCPUSTAT_RESIDENCY_A_MAX, pos,
				     res_pol) < 0)
			return -EPROTO;
		if (!tb[VCPUSTAT_RESIDENCY_A_CPU])
			continue;
		r = &vc->residency[vc->nr_residency++];
		r->cpu = nla_get_u32(tb[VCPUSTAT_RESIDENCY_A_CPU]);
		r->exits = u64_or(tb[VCPUSTAT_RESIDENCY_A_EXITS], 0);
	}
	return 0;
}

static int parse_budget(struct nlattr *nest, struct vs_budget *b)
{
	struct nlattr *tb[VCPUSTAT_BUDGET_A_MAX + 1];
	struct nlattr *pos;
	int rem, i;

	if (nla_parse_nested(tb, VCPUSTAT_BUDGET_A_MAX, nest, budget_pol) < 0)
		return -EPROTO;
	b->valid = true;
	for (i = VCPUSTAT_STATE_GUEST; i <= VCPUSTAT_STATE_MAX; i++)
		b->ns[i] = u64_or(tb[VCPUSTAT_BUDGET_A_GUEST_NS + i -
				     VCPUSTAT_STATE_GUEST], 0);
	b->state = u32_or(tb[VCPUSTAT_BUDGET_A_STATE], VCPUSTAT_STATE_NONE);
	b->open_ns = u64_or(tb[VCPUSTAT_BUDGET_A_OPEN_NS], 0);
	b->at_ns = u64_or(tb[VCPUSTAT_BUDGET_A_AT_NS], 0);
	if (!tb[VCPUSTAT_BUDGET_A_USER])
		return 0;
	nla_for_each_nested(pos, tb[VCPUSTAT_BUDGET_A_USER], rem) {
		struct nlattr *ub[VCPUSTAT_USER_A_MAX + 1];
		struct vs_user_exit *u;

		if (nla_type(pos) != VCPUSTAT_USER_ENTRY ||
		    b->nr_user == VS_USER_MAX)
			continue;
		if (nla_parse_nested(ub, VCPUSTAT_USER_A_MAX, pos,
				     user_pol) < 0)
			return -EPROTO;
		u = &b->user[b->nr_user++];
		u->exit_reason = u32_or(ub[VCPUSTAT_USER_A_EXIT_REASON],
					VCPUSTAT_USER_OTHER);
		u->count = u64_or(ub[VCPUSTAT_USER_A_COUNT], 0);
		u->ns = u64_or(ub[VCPUSTAT_USER_A_NS], 0);
	}
	return 0;
}

/* On error the vCPU's arrays are freed. */
static int parse_vcpu(struct nlattr *nest, struct vs_vcpu *vc)
{
	struct nlattr *tb[VCPUSTAT_VCPU_A_MAX + 1];
	struct nlattr *pos;
	int rem, err;

	err = nla_parse_nested(tb, VCPUSTAT_VCPU_A_MAX, nest, vcpu_pol);
	if (err < 0 || !tb[VCPUSTAT_VCPU_A_ID])
		return -EPROTO;
	vc->vcpu_id = nla_get_u32(tb[VCPUSTAT_VCPU_A_ID]);
	vc->idx = u32_or(tb[VCPUSTAT_VCPU_A_IDX], vc->vcpu_id);
	vc->tid = u32_or(tb[VCPUSTAT_VCPU_A_TID], 0);
	vc->pcpu = u32_or(tb[VCPUSTAT_VCPU_A_PCPU], VS_NO_CPU);
	vc->isa = u32_or(tb[VCPUSTAT_VCPU_A_ISA], 0);
	vc->exits = u64_or(tb[VCPUSTAT_VCPU_A_EXITS], 0);
	vc->migrations = u64_or(tb[VCPUSTAT_VCPU_A_MIGRATIONS], 0);
	vc->migr[VCPUSTAT_DIST_SMT] = u64_or(tb[VCPUSTAT_VCPU_A_MIGR_SMT], 0);
	vc->migr[VCPUSTAT_DIST_LLC] = u64_or(tb[VCPUSTAT_VCPU_A_MIGR_LLC], 0);
	vc->migr[VCPUSTAT_DIST_NODE] = u64_or(tb[VCPUSTAT_VCPU_A_MIGR_NODE], 0);
	vc->migr[VCPUSTAT_DIST_REMOTE] =
		u64_or(tb[VCPUSTAT_VCPU_A_MIGR_REMOTE], 0);
	vc->exit_time_ns = u64_or(tb[VCPUSTAT_VCPU_A_EXIT_TIME_NS], 0);
	vc->timed_exits = u64_or(tb[VCPUSTAT_VCPU_A_TIMED_EXITS], 0);
	vc->interval_ns = u64_or(tb[VCPUSTAT_VCPU_A_INTERVAL_NS], 0);
	if (tb[VCPUSTAT_VCPU_A_HIST]) {
		/* attr i+1 carries bucket i; ignore buckets we don't know */
		nla_for_each_nested(pos, tb[VCPUSTAT_VCPU_A_HIST], rem) {
			int t = nla_type(pos);

			if (t >= 1 && t <= VCPUSTAT_HIST_BUCKETS &&
			    nla_len(pos) >= (int)sizeof(uint64_t))
				vc->hist[t - 1] = nla_get_u64(pos);
		}
	}
	if (tb[VCPUSTAT_VCPU_A_REASONS]) {
		err = parse_reasons(tb[VCPUSTAT_VCPU_A_REASONS], vc);
		if (err)
			goto fail;
	}
	if (tb[VCPUSTAT_VCPU_A_RESIDENCY]) {
		err = parse_residency(tb[VCPUSTAT_VCPU_A_RESIDENCY], vc);
		if (err)
			goto fail;
	}
	if (tb[VCPUSTAT_VCPU_A_BUDGET]) {
		err = parse_budget(tb[VCPUSTAT_VCPU_A_BUDGET], &vc->budget);
		if (err)
			goto fail;
	}
	return 0;
fail:
	vs_vcpu_free_arrays(vc);
	return err;
}

static void parse_config(struct nlattr *nest, struct vs_config *cfg)
{
	struct nlattr *tb[VCPUSTAT_CONFIG_A_MAX + 1];

	memset(cfg, 0, sizeof(*cfg));
	if (nla_parse_nested(tb, VCPUSTAT_CONFIG_A_MAX, nest, cfg_pol) < 0)
		return;
	if (tb[VCPUSTAT_CONFIG_A_SNAPSHOT_MS]) {
		cfg->mask |= VS_CFG_SNAPSHOT_MS;
		cfg->snapshot_ms = nla_get_u32(tb[VCPUSTAT_CONFIG_A_SNAPSHOT_MS]);
	}
	if (tb[VCPUSTAT_CONFIG_A_TIMING]) {
		cfg->mask |= VS_CFG_TIMING;
		cfg->timing = nla_get_u8(tb[VCPUSTAT_CONFIG_A_TIMING]) != 0;
	}
	if (tb[VCPUSTAT_CONFIG_A_MIGR_RATE]) {
		cfg->mask |= VS_CFG_MIGR_RATE;
		cfg->migr_rate = nla_get_u32(tb[VCPUSTAT_CONFIG_A_MIGR_RATE]);
	}
	if (tb[VCPUSTAT_CONFIG_A_TIMING_EVERY]) {
		cfg->mask |= VS_CFG_TIMING_EVERY;
		cfg->timing_every =
			nla_get_u32(tb[VCPUSTAT_CONFIG_A_TIMING_EVERY]);
	}
	if (tb[VCPUSTAT_CONFIG_A_HEARTBEAT_MS]) {
		cfg->mask |= VS_CFG_HEARTBEAT_MS;
		cfg->heartbeat_ms =
			nla_get_u32(tb[VCPUSTAT_CONFIG_A_HEARTBEAT_MS]);
	}
	if (tb[VCPUSTAT_CONFIG_A_BUDGET]) {
		cfg->mask |= VS_CFG_BUDGET;
		cfg->budget = nla_get_u8(tb[VCPUSTAT_CONFIG_A_BUDGET]) != 0;
	}
	if (tb[VCPUSTAT_CONFIG_A_DETAIL]) {
		cfg->mask |= VS_CFG_DETAIL;
		cfg->detail = nla_get_u8(tb[VCPUSTAT_CONFIG_A_DETAIL]) != 0;
	}
	if (tb[VCPUSTAT_CONFIG_A_DETAIL_K]) {
		cfg->mask |= VS_CFG_DETAIL_K;
		cfg->detail_k = nla_get_u32(tb[VCPUSTAT_CONFIG_A_DETAIL_K]);
	}
}

static void parse_status(struct nlattr *nest, struct vs_status *st)
{
	struct nlattr *tb[VCPUSTAT_STATUS_A_MAX + 1];

	memset(st, 0, sizeof(*st));
	if (nla_parse_nested(tb, VCPUSTAT_STATUS_A_MAX, nest, status_pol) < 0)
		return;
	if (tb[VCPUSTAT_STATUS_A_VERSION])
		nla_strlcpy(st->version, tb[VCPUSTAT_STATUS_A_VERSION],
			    sizeof(st->version));
	st->vms = u32_or(tb[VCPUSTAT_STATUS_A_VMS], 0);
	st->vcpus = u32_or(tb[VCPUSTAT_STATUS_A_VCPUS], 0);
	st->max_vcpus = u32_or(tb[VCPUSTAT_STATUS_A_MAX_VCPUS], 0);
	st->vms_seen = u64_or(tb[VCPUSTAT_STATUS_A_VMS_SEEN], 0);
	st->overflow = u64_or(tb[VCPUSTAT_STATUS_A_OVERFLOW], 0);
	st->alloc_fail = u64_or(tb[VCPUSTAT_STATUS_A_ALLOC_FAIL], 0);
	st->events_sent = u64_or(tb[VCPUSTAT_STATUS_A_EVENTS_SENT], 0);
	st->events_lost = u64_or(tb[VCPUSTAT_STATUS_A_EVENTS_LOST], 0);
	st->migr_suppressed = u64_or(tb[VCPUSTAT_STATUS_A_MIGR_SUPPRESSED], 0);
	st->generation = u64_or(tb[VCPUSTAT_STATUS_A_GENERATION], 0);
	st->bad_layout = u64_or(tb[VCPUSTAT_STATUS_A_BAD_LAYOUT], 0);
	st->nomem_exits = u64_or(tb[VCPUSTAT_STATUS_A_NOMEM_EXITS], 0);
	st->stale_vms = u64_or(tb[VCPUSTAT_STATUS_A_STALE_VMS], 0);
	st->run_hook = tb[VCPUSTAT_STATUS_A_RUN_HOOK] &&
		       nla_get_u8(tb[VCPUSTAT_STATUS_A_RUN_HOOK]);
	st->run_missed = u64_or(tb[VCPUSTAT_STATUS_A_RUN_MISSED], 0);
	if (tb[VCPUSTAT_STATUS_A_UAPI_REVISION])
		st->uapi_revision =
			nla_get_u32(tb[VCPUSTAT_STATUS_A_UAPI_REVISION]);
}

/* ---------------------------------------------------------------- */
/* Request/response machinery                                        */

struct req_state {
	struct vs_ctx *ctx;
	int (*on_msg)(struct nlmsghdr *nlh, struct nlattr **tb, void *arg);
	void *arg;
	bool done;
	bool intr;		/* NLM_F_DUMP_INTR seen */
	int err;		/* kernel errno (negative) or parse error */
};

/* Extended ACK TLVs follow the (possibly capped) echoed request. */
static void grab_extack(struct vs_ctx *ctx, const struct nlmsghdr *nlh,
			size_t tlv_off)
{
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t plen;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	plen = nlh->nlmsg_len - NLMSG_HDRLEN;
	tlv_off = NLMSG_ALIGN(tlv_off);
	if (tlv_off >= plen)
		return;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX,
		      (struct nlattr *)((char *)NLMSG_DATA(nlh) + tlv_off),
		      (int)(plen - tlv_off), NULL) < 0)
		return;
	if (tb[NLMSGERR_ATTR_MSG] && nla_len(tb[NLMSGERR_ATTR_MSG]) > 0) {
		nla_strlcpy(ctx->extack, tb[NLMSGERR_ATTR_MSG],
			    sizeof(ctx->extack));
		ctx->has_extack = ctx->extack[0] != '\0';
	}
}

static int err_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct req_state *rs = arg;
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	size_t off = sizeof(*e);

	(void)nla;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off = sizeof(e->error) + e->msg.nlmsg_len;
	grab_extack(rs->ctx, nlh, off);
	rs->err = e->error < 0 ? e->error : -EIO;
	rs->done = true;
	return NL_STOP;
}

static int finish_cb(struct nl_msg *msg, void *arg)
{
	struct req_state *rs = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);

	/* A dump that failed half-way carries its errno in NLMSG_DONE. */
	if (nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(int)) {
		int e;

		memcpy(&e, NLMSG_DATA(nlh), sizeof(e));
		if (e < 0) {
			grab_extack(rs->ctx, nlh, sizeof(int));
			if (!rs->err)
				rs->err = e;
		}
	}
	rs->done = true;
	return NL_STOP;
}

static int ack_cb(struct nl_msg *msg, void *arg)
{
	struct req_state *rs = arg;

	(void)msg;
	rs->done = true;
	return NL_STOP;
}

static int intr_cb(struct nl_msg *msg, void *arg)
{
	struct req_state *rs = arg;

	(void)msg;
	rs->intr = true;
	return NL_OK;	/* keep reading to the end of the dump */
}

static int valid_cb(struct nl_msg *msg, void *arg)
{
	struct req_state *rs = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *tb[VCPUSTAT_A_MAX + 1];
	int err;

	if (rs->err)		/* keep draining after a parse error */
		return NL_OK;
	if (genlmsg_parse(nlh, 0, tb, VCPUSTAT_A_MAX, top_pol) < 0) {
		rs->err = -EPROTO;
		return NL_OK;
	}
	if (rs->on_msg) {
		err = rs->on_msg(nlh, tb, rs->arg);
		if (err)
			rs->err = err;
	}
	return NL_OK;
}

/*
 * Send @msg (consumed) and process replies until the ACK, NLMSG_DONE or
 * an error. Returns 0 or a negative errno; *intr reports NLM_F_DUMP_INTR.
 */
static int transact(struct vs_ctx *ctx, struct nl_msg *msg,
		    int (*on_msg)(struct nlmsghdr *, struct nlattr **, void *),
		    void *arg, bool *intr)
{
	struct req_state rs = { .ctx = ctx, .on_msg = on_msg, .arg = arg };
	struct nl_cb *cb;
	int err;

	ctx->has_extack = false;
	ctx->extack[0] = '\0';
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, valid_cb, &rs);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, finish_cb, &rs);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, ack_cb, &rs);
	nl_cb_set(cb, NL_CB_DUMP_INTR, NL_CB_CUSTOM, intr_cb, &rs);
	nl_cb_err(cb, NL_CB_CUSTOM, err_cb, &rs);

	err = nl_send_auto(ctx->sk, msg);
	nlmsg_free(msg);
	if (err < 0) {
		nl_cb_put(cb);
		return nle_errno(err);
	}
	while (!rs.done) {
		err = nl_recvmsgs(ctx->sk, cb);
		if (err < 0 && !rs.done) {
			rs.err = rs.err ? rs.err : nle_errno(err);
			break;
		}
	}
	nl_cb_put(cb);
	if (intr)
		*intr = rs.intr;
	return rs.err;
}

static struct nl_msg *new_req(struct vs_ctx *ctx, uint8_t cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, ctx->family, 0,
			 flags | NLM_F_ACK, cmd, VCPUSTAT_GENL_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static int set_sockopt_int(struct nl_sock *sk, int opt, int val)
{
	return setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, opt, &val,
			  sizeof(val));
}

static int connect_sock(struct nl_sock **skp)
{
	struct nl_sock *sk = nl_socket_alloc();
	int err;

	if (!sk)
		return -ENOMEM;
	err = genl_connect(sk);
	if (err < 0) {
		nl_socket_free(sk);
		return nle_errno(err);
	}
	/* Best effort: older kernels lack these and still work. */
	set_sockopt_int(sk, NETLINK_EXT_ACK, 1);
	set_sockopt_int(sk, NETLINK_CAP_ACK, 1);
	*skp = sk;
	return 0;
}

int vs_open(struct vs_ctx **ctxp)
{
	struct vs_ctx *ctx;
	int err;

	*ctxp = NULL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	err = connect_sock(&ctx->sk);
	if (err)
		goto fail;
	/* Replies of one vCPU can exceed a page (residency on many CPUs). */
	nl_socket_enable_msg_peek(ctx->sk);
	err = genl_ctrl_resolve(ctx->sk, VCPUSTAT_GENL_NAME);
	if (err < 0) {
		err = nle_errno(err);
		goto fail;
	}
	ctx->family = err;
	*ctxp = ctx;
	return 0;
fail:
	vs_close(ctx);
	return err;
}

int vs_family_info(struct vs_ctx *ctx, uint32_t *version, uint32_t *maxattr)
{
	/* the controller's family dump, on a socket of its own: ours has
	 * message peeking and extack set up for the family's replies */
	struct genl_family *fam;
	struct nl_cache *cache;
	struct nl_sock *sk;
	int err;

	err = connect_sock(&sk);
	if (err)
		return err;
	err = genl_ctrl_alloc_cache(sk, &cache);
	if (err < 0) {
		nl_socket_free(sk);
		return nle_errno(err);
	}
	fam = genl_ctrl_search_by_name(cache, VCPUSTAT_GENL_NAME);
	if (fam) {
		*version = (uint32_t)genl_family_get_version(fam);
		*maxattr = (uint32_t)genl_family_get_maxattr(fam);
		genl_family_put(fam);
	}
	nl_cache_free(cache);
	nl_socket_free(sk);
	(void)ctx;
	return fam ? 0 : -ENOENT;
}

void vs_close(struct vs_ctx *ctx)
{
	if (!ctx)
		return;
	if (ctx->sk)
		nl_socket_free(ctx->sk);
	if (ctx->ev_sk)
		nl_socket_free(ctx->ev_sk);
	free(ctx->rxbuf);
	free(ctx);
}

const char *vs_extack(const struct vs_ctx *ctx)
{
	return ctx && ctx->has_extack ? ctx->extack : NULL;
}

/* ---------------------------------------------------------------- */
/* Snapshots                                                         */

struct vec {
	void *p;
	size_t n, cap, size;
};

static void *vec_push(struct vec *v)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		void *p = realloc(v->p, cap * v->size);

		if (!p)
			return NULL;
		v->p = p;
		v->cap = cap;
	}
	return memset((char *)v->p + v->n++ * v->size, 0, v->size);
}

static int on_vm(struct nlmsghdr *nlh, struct nlattr **tb, void *arg)
{
	struct vec *vms = arg;
	struct vs_vm *vm;

	(void)nlh;
	if (!tb[VCPUSTAT_A_VM])
		return -EPROTO;
	vm = vec_push(vms);
	if (!vm)
		return -ENOMEM;
	if (parse_vm(tb[VCPUSTAT_A_VM], vm)) {
		vms->n--;
		return -EPROTO;
	}
	return 0;
}

/* Append @part's residency to @vc: CPUs ascending, arrays moved. */
static int append_residency(struct vs_vcpu *vc, struct vs_vcpu *part)
{
	struct vs_residency *r;

	if (!part->nr_residency)
		return 0;
	if (vc->nr_residency &&
	    part->residency[0].cpu <= vc->residency[vc->nr_residency - 1].cpu)
		return -EPROTO;
	for (size_t i = 1; i < part->nr_residency; i++)
		if (part->residency[i].cpu <= part->residency[i - 1].cpu)
			return -EPROTO;
	r = realloc(vc->residency, (vc->nr_residency + part->nr_residency) *
			sizeof(*r));
	if (!r)
		return -ENOMEM;
	memcpy(r + vc->nr_residency, part->residency,
	       part->nr_residency * sizeof(*r));
	vc->residency = r;
	vc->nr_residency += part->nr_residency;
	return 0;
}

int vs_vcpu_msg_decode(struct nlmsghdr *nlh, struct vs_vcpu *prev,
		       struct vs_vcpu *vc)
{
	struct nlattr *tb[VCPUSTAT_A_MAX + 1], *v[VCPUSTAT_VCPU_A_MAX + 1];
	struct vs_vcpu part = { 0 };
	int err;

	if (!genlmsg_valid_hdr(nlh, 0) ||
	    genlmsg_parse(nlh, 0, tb, VCPUSTAT_A_MAX, top_pol) < 0 ||
	    !tb[VCPUSTAT_A_VCPU] || !tb[VCPUSTAT_A_VM_ID] ||
	    nla_parse_nested(v, VCPUSTAT_VCPU_A_MAX, tb[VCPUSTAT_A_VCPU],
			     vcpu_pol) < 0)
		return -EPROTO;
	if (!v[VCPUSTAT_VCPU_A_CONTINUED]) {
		vc->vm_id = nla_get_u64(tb[VCPUSTAT_A_VM_ID]);
		vc->pid = u32_or(tb[VCPUSTAT_A_PID], 0);
		return parse_vcpu(tb[VCPUSTAT_A_VCPU], vc);
	}
	/* A continued part: only identity and residency count. */
	part.vm_id = nla_get_u64(tb[VCPUSTAT_A_VM_ID]);
	err = parse_vcpu(tb[VCPUSTAT_A_VCPU], &part);
	if (err)
		return err;
	if (!prev || prev->vm_id != part.vm_id || prev->idx != part.idx)
		err = -EPROTO;
	else
		err = append_residency(prev, &part);
	vs_vcpu_free_arrays(&part);
	return err ? err : 1;
}

static int on_vcpu(struct nlmsghdr *nlh, struct nlattr **tb, void *arg)
{
	struct vec *vcpus = arg;
	struct vs_vcpu *vc, *prev;
	int err;

	(void)tb;
	vc = vec_push(vcpus);
	if (!vc)
		return -ENOMEM;
	/* The parts of a split vCPU are consecutive in the dump. */
	prev = vcpus->n > 1 ? vc - 1 : NULL;
	err = vs_vcpu_msg_decode(nlh, prev, vc);
	if (err)
		vcpus->n--;
	return err < 0 ? err : 0;
}

static int put_filter(struct nl_msg *msg, const struct vs_filter *f,
		      bool vcpu)
{
	if (!f)
		return 0;
	if (f->has_vm_id && nla_put_u64(msg, VCPUSTAT_A_VM_ID, f->vm_id) < 0)
		return -EMSGSIZE;
	if (f->pid && nla_put_u32(msg, VCPUSTAT_A_PID, f->pid) < 0)
		return -EMSGSIZE;
	if (vcpu && f->has_vcpu_id &&
	    nla_put_u32(msg, VCPUSTAT_A_VCPU_ID, f->vcpu_id) < 0)
		return -EMSGSIZE;
	return 0;
}

static int dump(struct vs_ctx *ctx, uint8_t cmd, const struct vs_filter *f,
		int (*on_msg)(struct nlmsghdr *, struct nlattr **, void *),
		void *arg, bool *intr)
{
	struct nl_msg *msg = new_req(ctx, cmd, NLM_F_DUMP);
	int err;

	if (!msg)
		return -ENOMEM;
	err = put_filter(msg, f, cmd == VCPUSTAT_CMD_GET_VCPU);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return transact(ctx, msg, on_msg, arg, intr);
}

static int cmp_vm(const void *a, const void *b)
{
	return vs_cmp_vm(a, b);
}

static int cmp_vcpu(const void *a, const void *b)
{
	const struct vs_vcpu *x = a, *y = b;

	if (x->vm_id != y->vm_id)
		return x->vm_id < y->vm_id ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * Attach the flat, sorted vCPU list to the sorted VMs. vCPUs whose VM is
 * missing get a stub VM when @stubs, else the join fails with -EAGAIN.
 * Consumes @vcpus (its arrays move into the VMs) on success.
 */
static int join(struct vec *vms, struct vec *vcpus, bool stubs)
{
	struct vs_vcpu *vc = vcpus->p;
	struct vs_vm *vm;
	size_t i, j;

	if (vms->n)
		qsort(vms->p, vms->n, sizeof(struct vs_vm), cmp_vm);
	if (vcpus->n)
		qsort(vcpus->p, vcpus->n, sizeof(struct vs_vcpu), cmp_vcpu);

	/* Pass 1: find missing VMs. */
	for (i = 0; i < vcpus->n; i++) {
		struct vs_vm key = { .id = vc[i].vm_id };

		if (i && vc[i].vm_id == vc[i - 1].vm_id)
			continue;
		if (vms->n && bsearch(&key, vms->p, vms->n,
				      sizeof(struct vs_vm), cmp_vm))
			continue;
		if (!stubs)
			return -EAGAIN;
		vm = vec_push(vms);
		if (!vm)
			return -ENOMEM;
		vm->id = vc[i].vm_id;
		vm->pid = vc[i].pid;
		vm->stub = true;
	}
	if (vms->n)
		qsort(vms->p, vms->n, sizeof(struct vs_vm), cmp_vm);

	/* Pass 2: move each VM's run of vCPUs into its own array. */
	for (i = 0; i < vcpus->n; i = j) {
		struct vs_vm key = { .id = vc[i].vm_id };

		for (j = i; j < vcpus->n && vc[j].vm_id == vc[i].vm_id; j++)
			;
		vm = bsearch(&key, vms->p, vms->n, sizeof(struct vs_vm),
			     cmp_vm);
		vm->vcpus = malloc((j - i) * sizeof(*vm->vcpus));
		if (!vm->vcpus)
			return -ENOMEM;	/* caller frees what was moved */
		memcpy(vm->vcpus, &vc[i], (j - i) * sizeof(*vm->vcpus));
		vm->nr_vcpus = j - i;
		/* ownership of reasons/residency moved */
		memset(&vc[i], 0, (j - i) * sizeof(*vc));
	}
	return 0;
}

int vs_snapshot_get(struct vs_ctx *ctx, const struct vs_filter *f,
		    struct vs_snapshot *snap)
{
	unsigned int attempt;
	int err = 0;

	memset(snap, 0, sizeof(*snap));
	for (attempt = 0; attempt <= VS_DUMP_RETRIES; attempt++) {
		struct vec vms = { .size = sizeof(struct vs_vm) };
		struct vec vcpus = { .size = sizeof(struct vs_vcpu) };
		bool last = attempt == VS_DUMP_RETRIES;
		bool intr1 = false, intr2 = false, intr;

		err = dump(ctx, VCPUSTAT_CMD_GET_VM, f, on_vm, &vms, &intr1);
		if (!err)
			err = dump(ctx, VCPUSTAT_CMD_GET_VCPU, f, on_vcpu,
				   &vcpus, &intr2);
		intr = intr1 || intr2;
		if (!err)
			err = intr && !last ? -EAGAIN : join(&vms, &vcpus, last);
		snap->vms = vms.p;
		snap->nr_vms = vms.n;
		vs_vcpus_free(vcpus.p, vcpus.n);
		if (!err) {
			vs_snapshot_filter_pid(snap, f);
			snap->ts_ns = mono_ns();
			snap->restarts = attempt;
			snap->consistent = !intr;
			for (size_t i = 0; i < snap->nr_vms; i++)
				if (snap->vms[i].stub)
					snap->consistent = false;
			return 0;
		}
		vs_snapshot_free(snap);
		if (err != -EAGAIN)
			return err;
	}
	return err;
}

/* ---------------------------------------------------------------- */
/* Config, status, reset                                             */

struct cfg_out {
	struct vs_config *cfg;
	struct vs_status *st;
	bool got;
};

static int on_config(struct nlmsghdr *nlh, struct nlattr **tb, void *arg)
{
	struct cfg_out *o = arg;

	(void)nlh;
	if (o->cfg && tb[VCPUSTAT_A_CONFIG])
		parse_config(tb[VCPUSTAT_A_CONFIG], o->cfg);
	if (o->st && tb[VCPUSTAT_A_STATUS])
		parse_status(tb[VCPUSTAT_A_STATUS], o->st);
	o->got = true;
	return 0;
}

int vs_get_config(struct vs_ctx *ctx, struct vs_config *cfg,
		  struct vs_status *st)
{
	struct cfg_out o = { .cfg = cfg, .st = st };
	struct nl_msg *msg = new_req(ctx, VCPUSTAT_CMD_GET_CONFIG, 0);
	int err;

	if (cfg)
		memset(cfg, 0, sizeof(*cfg));
	if (st)
		memset(st, 0, sizeof(*st));
	if (!msg)
		return -ENOMEM;
	err = transact(ctx, msg, on_config, &o, NULL);
	if (!err && !o.got)
		err = -EPROTO;
	return err;
}

int vs_set_config(struct vs_ctx *ctx, const struct vs_config *cfg)
{
	struct nl_msg *msg = new_req(ctx, VCPUSTAT_CMD_SET_CONFIG, 0);
	struct nlattr *nest;

	if (!msg)
		return -ENOMEM;
	nest = nla_nest_start(msg, VCPUSTAT_A_CONFIG);
	if (!nest)
		goto full;
	if ((cfg->mask & VS_CFG_SNAPSHOT_MS) &&
	    nla_put_u32(msg, VCPUSTAT_CONFIG_A_SNAPSHOT_MS, cfg->snapshot_ms))
		goto full;
	if ((cfg->mask & VS_CFG_TIMING) &&
	    nla_put_u8(msg, VCPUSTAT_CONFIG_A_TIMING, cfg->timing ? 1 : 0))
		goto full;
	if ((cfg->mask & VS_CFG_MIGR_RATE) &&
	    nla_put_u32(msg, VCPUSTAT_CONFIG_A_MIGR_RATE, cfg->migr_rate))
		goto full;
	if ((cfg->mask & VS_CFG_TIMING_EVERY) &&
	    nla_put_u32(msg, VCPUSTAT_CONFIG_A_TIMING_EVERY,
			cfg->timing_every))
		goto full;
	if ((cfg->mask & VS_CFG_HEARTBEAT_MS) &&
	    nla_put_u32(msg, VCPUSTAT_CONFIG_A_HEARTBEAT_MS,
			cfg->heartbeat_ms))
		goto full;
	if ((cfg->mask & VS_CFG_BUDGET) &&
	    nla_put_u8(msg, VCPUSTAT_CONFIG_A_BUDGET, cfg->budget ? 1 : 0))
		goto full;
	if ((cfg->mask & VS_CFG_DETAIL) &&
	    nla_put_u8(msg, VCPUSTAT_CONFIG_A_DETAIL, cfg->detail ? 1 : 0))
		goto full;
	if ((cfg->mask & VS_CFG_DETAIL_K) &&
	    nla_put_u32(msg, VCPUSTAT_CONFIG_A_DETAIL_K, cfg->detail_k))
		goto full;
	nla_nest_end(msg, nest);
	return transact(ctx, msg, NULL, NULL, NULL);
full:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

int vs_reset(struct vs_ctx *ctx, bool all, uint64_t vm_id)
{
	struct nl_msg *msg = new_req(ctx, VCPUSTAT_CMD_RESET, 0);

	if (!msg)
		return -ENOMEM;
	if (!all && nla_put_u64(msg, VCPUSTAT_A_VM_ID, vm_id) < 0) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return transact(ctx, msg, NULL, NULL, NULL);
}

/* ---------------------------------------------------------------- */
/* Notifications                                                     */

#define EV_RXBUF (256 * 1024)	/* one recv; a DELTA burst fits many */

int vs_events_open(struct vs_ctx *ctx)
{
	struct nl_sock *sk;
	int grp, err, fd, fl;
	int rcvbuf = 4 << 20;

	if (ctx->ev_sk)
		return 0;
	grp = genl_ctrl_resolve_grp(ctx->sk, VCPUSTAT_GENL_NAME,
				    VCPUSTAT_MCGRP_EVENTS);
	if (grp < 0)
		return nle_errno(grp);
	err = connect_sock(&sk);
	if (err)
		return err;
	nl_socket_disable_seq_check(sk);
	err = nl_socket_add_membership(sk, grp);
	if (err < 0) {
		err = nle_errno(err);
		nl_socket_free(sk);
		return err;
	}
	fd = nl_socket_get_fd(sk);
	/* Bursts of DELTA events at each period; a larger queue loses less.
	 * SO_RCVBUFFORCE works for root, else fall back to the capped one. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		       sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		err = -errno;
		nl_socket_free(sk);
		return err;
	}
	ctx->rxbuf = malloc(EV_RXBUF);
	if (!ctx->rxbuf) {
		nl_socket_free(sk);
		return -ENOMEM;
	}
	ctx->rxlen = EV_RXBUF;
	ctx->ev_sk = sk;
	ctx->ev_grp = grp;
	return 0;
}

int vs_events_follow(struct vs_ctx *ctx)
{
	int grp, err;

	if (!ctx->ev_sk)
		return -EBADF;
	grp = genl_ctrl_resolve_grp(ctx->sk, "nlctrl", "notify");
	if (grp < 0)
		return nle_errno(grp);
	err = nl_socket_add_membership(ctx->ev_sk, grp);
	if (err < 0)
		return nle_errno(err);
	ctx->follow = true;
	return 0;
}

int vs_reconnect(struct vs_ctx *ctx)
{
	int fam, grp, err;

	fam = genl_ctrl_resolve(ctx->sk, VCPUSTAT_GENL_NAME);
	if (fam < 0)
		return nle_errno(fam);
	if (ctx->ev_sk) {
		grp = genl_ctrl_resolve_grp(ctx->sk, VCPUSTAT_GENL_NAME,
					    VCPUSTAT_MCGRP_EVENTS);
		if (grp < 0)
			return nle_errno(grp);
		/* The kernel dropped every member of the old group when the
		 * family went away, even if the new group has the same id:
		 * join again in any case. */
		nl_socket_drop_membership(ctx->ev_sk, ctx->ev_grp);
		err = nl_socket_add_membership(ctx->ev_sk, grp);
		if (err < 0)
			return nle_errno(err);
		ctx->ev_grp = grp;
		/* A new load numbers its notifications from 1 again. */
		ctx->have_seq = false;
	}
	err = fam != ctx->family;
	ctx->family = fam;
	return err;
}

int vs_event_fd(const struct vs_ctx *ctx)
{
	return ctx && ctx->ev_sk ? nl_socket_get_fd(ctx->ev_sk) : -1;
}

uint64_t vs_events_lost(const struct vs_ctx *ctx)
{
	return ctx ? ctx->lost_total : 0;
}

int vs_event_decode(struct nlmsghdr *nlh, struct vs_event *ev)
{
	struct nlattr *tb[VCPUSTAT_A_MAX + 1];
	struct genlmsghdr *gh;
	int err;

	memset(ev, 0, sizeof(*ev));
	if (!genlmsg_valid_hdr(nlh, 0))
		return -EPROTO;
	if (genlmsg_parse(nlh, 0, tb, VCPUSTAT_A_MAX, top_pol) < 0)
		return -EPROTO;
	gh = nlmsg_data(nlh);
	ev->seq = u64_or(tb[VCPUSTAT_A_SEQ], 0);
	switch (gh->cmd) {
	case VCPUSTAT_CMD_VM_NEW_NTF:
	case VCPUSTAT_CMD_VM_GONE_NTF:
		ev->type = gh->cmd == VCPUSTAT_CMD_VM_NEW_NTF ?
			   VS_EV_VM_NEW : VS_EV_VM_GONE;
		if (!tb[VCPUSTAT_A_VM])
			return -EPROTO;
		return parse_vm(tb[VCPUSTAT_A_VM], &ev->vm);
	case VCPUSTAT_CMD_MIGRATE_NTF: {
		struct nlattr *m[VCPUSTAT_MIGRATION_A_MAX + 1];

		ev->type = VS_EV_MIGRATE;
		if (!tb[VCPUSTAT_A_MIGRATION] ||
		    nla_parse_nested(m, VCPUSTAT_MIGRATION_A_MAX,
				     tb[VCPUSTAT_A_MIGRATION], migr_pol) < 0)
			return -EPROTO;
		ev->migr.vm_id = u64_or(tb[VCPUSTAT_A_VM_ID], 0);
		ev->migr.pid = u32_or(tb[VCPUSTAT_A_PID], 0);
		ev->migr.vcpu_id = u32_or(m[VCPUSTAT_MIGRATION_A_VCPU_ID], 0);
		ev->migr.tid = u32_or(m[VCPUSTAT_MIGRATION_A_TID], 0);
		ev->migr.from = u32_or(m[VCPUSTAT_MIGRATION_A_FROM], VS_NO_CPU);
		ev->migr.to = u32_or(m[VCPUSTAT_MIGRATION_A_TO], VS_NO_CPU);
		ev->migr.distance = u32_or(m[VCPUSTAT_MIGRATION_A_DISTANCE], 0);
		ev->migr.total = u64_or(m[VCPUSTAT_MIGRATION_A_TOTAL], 0);
		ev->migr.suppressed =
			u64_or(m[VCPUSTAT_MIGRATION_A_SUPPRESSED], 0);
		return 0;
	}
	case VCPUSTAT_CMD_DELTA_NTF:
		ev->type = VS_EV_DELTA;
		if (!tb[VCPUSTAT_A_VCPU])
			return -EPROTO;
		ev->delta.vm_id = u64_or(tb[VCPUSTAT_A_VM_ID], 0);
		ev->delta.pid = u32_or(tb[VCPUSTAT_A_PID], 0);
		err = parse_vcpu(tb[VCPUSTAT_A_VCPU], &ev->delta);
		return err;
	default:
		return -EOPNOTSUPP;	/* a newer module's event: skip */
	}
}

static struct nla_policy ctrl_pol[CTRL_ATTR_MAX + 1] = {
	[CTRL_ATTR_FAMILY_ID]	= { .type = NLA_U16 },
	[CTRL_ATTR_FAMILY_NAME]	= { .type = NLA_STRING },
};

/*
 * An nlctrl notification (vs_events_follow()): -ENOENT when the family
 * this context uses went away, -ESTALE when a family of our name was
 * registered under another id, else 0. The ids matter: a notification
 * about an earlier load (read after vs_reconnect() already moved on) is
 * no news.
 */
static int ctrl_event(const struct vs_ctx *ctx, struct nlmsghdr *nlh)
{
	struct nlattr *tb[CTRL_ATTR_MAX + 1];
	struct genlmsghdr *gh;
	char name[GENL_NAMSIZ];
	int id;

	if (!genlmsg_valid_hdr(nlh, 0) ||
	    genlmsg_parse(nlh, 0, tb, CTRL_ATTR_MAX, ctrl_pol) < 0 ||
	    !tb[CTRL_ATTR_FAMILY_NAME] || !tb[CTRL_ATTR_FAMILY_ID])
		return 0;
	nla_strlcpy(name, tb[CTRL_ATTR_FAMILY_NAME], sizeof(name));
	if (strcmp(name, VCPUSTAT_GENL_NAME))
		return 0;
	id = nla_get_u16(tb[CTRL_ATTR_FAMILY_ID]);
	gh = nlmsg_data(nlh);
	if (gh->cmd == CTRL_CMD_DELFAMILY && id == ctx->family)
		return -ENOENT;
	if (gh->cmd == CTRL_CMD_NEWFAMILY && id != ctx->family)
		return -ESTALE;
	return 0;
}

int vs_event_read(struct vs_ctx *ctx, vs_event_cb cb, void *arg)
{
	int delivered = 0;

	if (!ctx->ev_sk)
		return -EBADF;
	for (;;) {
		int fd = nl_socket_get_fd(ctx->ev_sk);
		ssize_t len = recv(fd, ctx->rxbuf, ctx->rxlen, MSG_DONTWAIT);
		struct nlmsghdr *nlh;
		int rem;

		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return delivered;
			if (errno == ENOBUFS)	/* overrun: seq gap shows it */
				continue;
			return -errno;
		}
		if (len == 0)
			return delivered;
		rem = (int)len;
		for (nlh = ctx->rxbuf; nlmsg_ok(nlh, rem);
		     nlh = nlmsg_next(nlh, &rem)) {
			struct vs_event ev;
			int err;

			if (nlh->nlmsg_type < NLMSG_MIN_TYPE)
				continue;
			if (ctx->follow && nlh->nlmsg_type == GENL_ID_CTRL) {
				err = ctrl_event(ctx, nlh);
				if (err)
					return err;
				continue;
			}
			if (nlh->nlmsg_type != ctx->family)
				continue;	/* a previous load's */
			err = vs_event_decode(nlh, &ev);
			if (err) {
				vs_event_release(&ev);
				continue;	/* malformed or unknown */
			}
			ev.ts_ns = mono_ns();
			if (ctx->have_seq && ev.seq > ctx->last_seq + 1) {
				ev.lost = ev.seq - ctx->last_seq - 1;
				ctx->lost_total += ev.lost;
			}
			/* A smaller seq means the module was reloaded. */
			ctx->have_seq = true;
			ctx->last_seq = ev.seq;
			err = cb(&ev, arg);
			vs_event_release(&ev);
			delivered++;
			if (err < 0)
				return err;
		}
	}
}
