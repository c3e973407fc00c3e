// SPDX-License-Identifier: GPL-2.0
/*
 * The "vcpustat" generic netlink family: requests (dumps, reset, config).
 * Notifications are built in events.c; what both send is in attrs.c.
 *
 * Rules, after WireGuard and the netdev family: one strict policy per op
 * (resv_start_op left 0, so the core rejects attributes an op does not
 * list, reserved header bits and odd flags); extack on every rejection;
 * GENL_ADMIN_PERM on every op; the family lives in init_net only
 * (netnsok = false). Dumps keep a cursor (VM id, vCPU idx, CPU) in cb->ctx
 * and flag NLM_F_DUMP_INTR when the set of VMs/vCPUs changed under them.
 * A vCPU too big for one message (residency on hundreds of CPUs) is split
 * across messages at a CPU, as ethtool and devlink split their big
 * objects; a vCPU is never split where a fresh buffer would hold it.
 */
#include <net/genetlink.h>
#include <net/netlink.h>
#include "compat.h"
#include "detail.h"
#include "detail_region.h"
#include "vcpustat.h"

/* Bounds the loop-carried state a dump keeps across recvmsg() calls. */
struct vs_dump_ctx {
	u64 vm_id;		/* resume at this VM id ... */
	u32 idx;		/* ... and this vcpu_idx ... */
	u32 cpu;		/* ... and its residency from this CPU (0: all) */
	u32 f_pid;		/* filters, 0 = any */
	u32 f_vcpu_id;
	u64 f_vm_id;
	bool has_vcpu_id;
};

/*
 * Test only: how many bytes of a GET_VCPU dump buffer residency may fill,
 * 0 = all (the default). A rig with a few CPUs cannot make a vCPU whose
 * residency overflows a real buffer; a small budget splits its vCPUs at
 * the same place in the code. Each part still carries one entry at least.
 */
static unsigned int vs_dump_budget;
module_param_named(dump_budget, vs_dump_budget, uint, 0644);
MODULE_PARM_DESC(dump_budget,
		 "test only: bytes of a GET_VCPU dump buffer residency may fill, 0 = all (default)");

static struct netlink_range_validation vs_heartbeat_range = {
	.max = 3600000,
};

static struct netlink_range_validation vs_snapshot_range = {
	.max = 3600000,
};

static struct netlink_range_validation vs_migr_rate_range = {
	.max = 1000000,
};

static struct netlink_range_validation vs_timing_every_range = {
	.min = 1,
	.max = VS_TIMING_EVERY_MAX,
};

static struct netlink_range_validation vs_detail_k_range = {
	.min = 1,
	.max = VCPUSTAT_DETAIL_K_MAX,
};

static const struct nla_policy vs_config_policy[VCPUSTAT_CONFIG_A_MAX + 1] = {
	[VCPUSTAT_CONFIG_A_SNAPSHOT_MS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &vs_snapshot_range),
	[VCPUSTAT_CONFIG_A_TIMING] = NLA_POLICY_MAX(NLA_U8, 1),
	[VCPUSTAT_CONFIG_A_MIGR_RATE] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &vs_migr_rate_range),
	[VCPUSTAT_CONFIG_A_TIMING_EVERY] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &vs_timing_every_range),
	[VCPUSTAT_CONFIG_A_HEARTBEAT_MS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &vs_heartbeat_range),
	[VCPUSTAT_CONFIG_A_BUDGET] = NLA_POLICY_MAX(NLA_U8, 1),
	[VCPUSTAT_CONFIG_A_DETAIL] = NLA_POLICY_MAX(NLA_U8, 1),
	[VCPUSTAT_CONFIG_A_DETAIL_K] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &vs_detail_k_range),
};

static const struct nla_policy vs_get_vm_policy[VCPUSTAT_A_PID + 1] = {
	[VCPUSTAT_A_VM_ID] = NLA_POLICY_MIN(NLA_U64, 1),
	[VCPUSTAT_A_PID] = NLA_POLICY_MIN(NLA_U32, 1),
};

static const struct nla_policy vs_get_vcpu_policy[VCPUSTAT_A_VCPU_ID + 1] = {
	[VCPUSTAT_A_VM_ID] = NLA_POLICY_MIN(NLA_U64, 1),
	[VCPUSTAT_A_PID] = NLA_POLICY_MIN(NLA_U32, 1),
	[VCPUSTAT_A_VCPU_ID] = { .type = NLA_U32 },
};

static const struct nla_policy vs_reset_policy[VCPUSTAT_A_VM_ID + 1] = {
	[VCPUSTAT_A_VM_ID] = NLA_POLICY_MIN(NLA_U64, 1),
};

static const struct nla_policy vs_set_config_policy[VCPUSTAT_A_CONFIG + 1] = {
	[VCPUSTAT_A_CONFIG] = NLA_POLICY_NESTED(vs_config_policy),
};

static int vs_check_version(const struct genlmsghdr *hdr,
			    struct netlink_ext_ack *extack)
{
	if (hdr->version == VCPUSTAT_GENL_VERSION)
		return 0;
	NL_SET_ERR_MSG(extack, "unsupported vcpustat genl version (want 1)");
	return -EOPNOTSUPP;
}

static int vs_fill_reason(struct sk_buff *skb, const struct vs_vcpu *vc,
			  const struct vs_reason *r, u32 isa,
			  struct vs_region_ctx *rc)
{
	/* Pairs with vs_account_time(): timed != 0 means min/max valid. */
	u64 timed = smp_load_acquire(&r->timed);
	struct nlattr *nest;

	nest = nla_nest_start(skb, VCPUSTAT_REASON_ENTRY);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u32(skb, VCPUSTAT_REASON_A_ISA, isa) ||
	    nla_put_u32(skb, VCPUSTAT_REASON_A_CODE, READ_ONCE(r->code)) ||
	    VS_PUT_U64(skb, VCPUSTAT_REASON_A_COUNT, READ_ONCE(r->count),
		       VCPUSTAT_REASON_A_PAD) ||
	    VS_PUT_U64(skb, VCPUSTAT_REASON_A_TIMED, timed,
		       VCPUSTAT_REASON_A_PAD) ||
	    VS_PUT_U64(skb, VCPUSTAT_REASON_A_TIME_SUM_NS,
		       READ_ONCE(r->time_sum), VCPUSTAT_REASON_A_PAD) ||
	    VS_PUT_U64(skb, VCPUSTAT_REASON_A_HANDLE_NS,
		       READ_ONCE(r->handle_ns), VCPUSTAT_REASON_A_PAD))
		goto cancel;
	if (timed &&
	    (VS_PUT_U64(skb, VCPUSTAT_REASON_A_TIME_MIN_NS,
			READ_ONCE(r->time_min), VCPUSTAT_REASON_A_PAD) ||
	     VS_PUT_U64(skb, VCPUSTAT_REASON_A_TIME_MAX_NS,
			READ_ONCE(r->time_max), VCPUSTAT_REASON_A_PAD)))
		goto cancel;
	if (vs_detail_fill(skb, vc, r, rc))
		goto cancel;
	nla_nest_end(skb, nest);
	return 0;
cancel:
	nla_nest_cancel(skb, nest);
	return -EMSGSIZE;
}

static int vs_fill_reasons(struct sk_buff *skb, const struct vs_vcpu *vc,
			   struct vs_region_ctx *rc)
{
	struct nlattr *nest = nla_nest_start(skb, VCPUSTAT_VCPU_A_REASONS);
	int i;

	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i <= VS_NR_REASONS; i++) {
		const struct vs_reason *r = i < VS_NR_REASONS ?
					    &vc->reasons[i] : &vc->other;
		/* Pairs with vs_reason_slot(): isa set means code is. */
		u32 isa = smp_load_acquire(&r->isa);

		if (isa && READ_ONCE(r->count) &&
		    vs_fill_reason(skb, vc, r, isa, rc)) {
			nla_nest_cancel(skb, nest);
			return -EMSGSIZE;
		}
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int vs_fill_array(struct sk_buff *skb, int type, const u64 *v,
			 unsigned int n)
{
	struct nlattr *nest = nla_nest_start(skb, type);
	unsigned int i;

	if (!nest)
		return -EMSGSIZE;
	/* Attribute i + 1 holds v[i]; zero entries are left out. */
	for (i = 0; i < n; i++) {
		u64 x = READ_ONCE(v[i]);

		if (x && VS_PUT_U64(skb, i + 1, x, 0)) {
			nla_nest_cancel(skb, nest);
			return -EMSGSIZE;
		}
	}
	nla_nest_end(skb, nest);
	return 0;
}

/* Room left for residency: the buffer's, or less under the test budget. */
static bool vs_residency_room(const struct sk_buff *skb)
{
	unsigned int budget = READ_ONCE(vs_dump_budget);
	int need = nla_total_size(0) + nla_total_size(sizeof(u32)) +
		   nla_total_size_64bit(sizeof(u64));

	if (budget && (int)budget - (int)skb->len < need)
		return false;
	return skb_tailroom(skb) >= need;
}

/*
 * The residency of the CPUs the vCPU ran on, from CPU *@cpu up, while it
 * fits; the first entry goes in whenever the buffer takes it, so every
 * part makes progress. *@cpu is left at the first CPU not sent, or at
 * nr_cpu_ids when all were.
 */
static int vs_fill_residency(struct sk_buff *skb, const struct vs_vcpu *vc,
			     unsigned int *cpu)
{
	struct nlattr *nest = nla_nest_start(skb, VCPUSTAT_VCPU_A_RESIDENCY);
	struct nlattr *entry;
	bool first = true;
	unsigned int c;

	if (!nest)
		return -EMSGSIZE;
	for (c = *cpu; c < nr_cpu_ids; c++) {
		u64 n = READ_ONCE(vc->residency[c]);

		if (!n)
			continue;
		if (!first && !vs_residency_room(skb))
			break;
		entry = nla_nest_start(skb, VCPUSTAT_RESIDENCY_ENTRY);
		if (!entry ||
		    nla_put_u32(skb, VCPUSTAT_RESIDENCY_A_CPU, c) ||
		    VS_PUT_U64(skb, VCPUSTAT_RESIDENCY_A_EXITS, n,
			       VCPUSTAT_RESIDENCY_A_PAD)) {
			nla_nest_cancel(skb, nest);
			return -EMSGSIZE;
		}
		nla_nest_end(skb, entry);
		first = false;
	}
	*cpu = c;
	nla_nest_end(skb, nest);
	return 0;
}

/*
 * The statistics of one vCPU, as VCPUSTAT_A_VCPU: everything and the
 * residency from CPU 0 (*@cpu == 0), or a continued part, the residency
 * from *@cpu on. *@cpu is advanced as vs_fill_residency() says.
 */
static int vs_fill_vcpu(struct sk_buff *skb, const struct vs_vcpu *vc,
			unsigned int *cpu, struct vs_region_ctx *rc)
{
	struct nlattr *nest = nla_nest_start(skb, VCPUSTAT_A_VCPU);
	bool zero = vs_vcpu_reset_pending(vc);
	const u64 *migr = vc->migr;
	int i;
#define V(x) (zero ? 0 : READ_ONCE(x))

	if (!nest || vs_fill_vcpu_ident(skb, vc))
		goto cancel;
	if (*cpu) {
		if (nla_put_flag(skb, VCPUSTAT_VCPU_A_CONTINUED))
			goto cancel;
		goto residency;
	}
	if (VS_PUT_U64(skb, VCPUSTAT_VCPU_A_EXITS, V(vc->exits),
		       VCPUSTAT_VCPU_A_PAD) ||
	    VS_PUT_U64(skb, VCPUSTAT_VCPU_A_MIGRATIONS, V(vc->migrations),
		       VCPUSTAT_VCPU_A_PAD) ||
	    VS_PUT_U64(skb, VCPUSTAT_VCPU_A_EXIT_TIME_NS, V(vc->time_sum),
		       VCPUSTAT_VCPU_A_PAD) ||
	    VS_PUT_U64(skb, VCPUSTAT_VCPU_A_TIMED_EXITS, V(vc->timed),
		       VCPUSTAT_VCPU_A_PAD))
		goto cancel;
	for (i = VCPUSTAT_DIST_SMT; i <= VCPUSTAT_DIST_REMOTE; i++)
		if (VS_PUT_U64(skb, VCPUSTAT_VCPU_A_MIGR_SMT + i -
			       VCPUSTAT_DIST_SMT, V(migr[i]),
			       VCPUSTAT_VCPU_A_PAD))
			goto cancel;
	if (!zero &&
	    (vs_fill_reasons(skb, vc, rc) || vs_fill_budget(skb, vc, NULL) ||
	     vs_fill_array(skb, VCPUSTAT_VCPU_A_HIST, vc->hist,
			   VCPUSTAT_HIST_BUCKETS)))
		goto cancel;
#undef V
residency:
	/* Reset pending: no residency left to send, in any part. */
	if (zero)
		*cpu = nr_cpu_ids;
	else if (vs_fill_residency(skb, vc, cpu))
		goto cancel;
	nla_nest_end(skb, nest);
	return 0;
cancel:
	nla_nest_cancel(skb, nest);
	return -EMSGSIZE;
}

static int vs_dump_start(struct netlink_callback *cb)
{
	const struct genlmsghdr *hdr = nlmsg_data(cb->nlh);
	struct vs_dump_ctx *ctx = (struct vs_dump_ctx *)cb->ctx;
	struct nlattr **attrs = vs_dump_attrs(cb);

	NL_ASSERT_DUMP_CTX_FITS(struct vs_dump_ctx);
	memset(ctx, 0, sizeof(*ctx));
	if (vs_check_version(hdr, cb->extack))
		return -EOPNOTSUPP;
	if (!attrs)
		return 0;
	if (attrs[VCPUSTAT_A_VM_ID])
		ctx->f_vm_id = nla_get_u64(attrs[VCPUSTAT_A_VM_ID]);
	if (attrs[VCPUSTAT_A_PID])
		ctx->f_pid = nla_get_u32(attrs[VCPUSTAT_A_PID]);
	/* GET_VM's policy stops at PID, so its attrs[] has no VCPU_ID. */
	if (hdr->cmd == VCPUSTAT_CMD_GET_VCPU &&
	    attrs[VCPUSTAT_A_VCPU_ID]) {
		ctx->f_vcpu_id = nla_get_u32(attrs[VCPUSTAT_A_VCPU_ID]);
		ctx->has_vcpu_id = true;
	}
	/*
	 * A vCPU with many reasons and CPUs needs more than a page; one with
	 * residency on more CPUs than 16 KiB holds is split (vs_dump()).
	 */
	cb->min_dump_alloc = max_t(u32, cb->min_dump_alloc, 16384);
	return 0;
}

static bool vs_vm_match(const struct vs_dump_ctx *ctx, const struct vs_vm *vm)
{
	return (!ctx->f_vm_id || vm->id == ctx->f_vm_id) &&
	       (!ctx->f_pid || vm->pid == ctx->f_pid);
}

static void *vs_dump_hdr(struct sk_buff *skb, struct netlink_callback *cb,
			 u8 cmd)
{
	void *hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				cb->nlh->nlmsg_seq, &vs_genl_family,
				NLM_F_MULTI, cmd);

	if (hdr)
		genl_dump_check_consistent(cb, hdr);
	return hdr;
}

/*
 * One message of @vc, from residency CPU *@cpu on. Returns 0 when the vCPU
 * is complete (*@cpu back to 0), 1 when a part was sent and the rest
 * starts at *@cpu, -EMSGSIZE when nothing was added. A part is sent only
 * from an empty buffer: otherwise the vCPU is retried whole in the next.
 */
static int vs_dump_one_vcpu(struct sk_buff *skb, struct netlink_callback *cb,
			    const struct vs_vm *vm, const struct vs_vcpu *vc,
			    u32 *cpu, struct vs_region_ctx *rc)
{
	bool alone = !skb->len;
	unsigned int next = *cpu;
	void *hdr;

	hdr = vs_dump_hdr(skb, cb, VCPUSTAT_CMD_GET_VCPU);
	if (!hdr)
		return -EMSGSIZE;
	if (VS_PUT_U64(skb, VCPUSTAT_A_VM_ID, vm->id, VCPUSTAT_A_PAD) ||
	    nla_put_u32(skb, VCPUSTAT_A_PID, vm->pid) ||
	    vs_fill_vcpu(skb, vc, &next, rc) ||
	    (next < nr_cpu_ids && !alone)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	if (next >= nr_cpu_ids) {
		*cpu = 0;
		return 0;
	}
	*cpu = next;
	return 1;
}

static int vs_dump_one_vm(struct sk_buff *skb, struct netlink_callback *cb,
			  const struct vs_vm *vm)
{
	void *hdr = vs_dump_hdr(skb, cb, VCPUSTAT_CMD_GET_VM);

	if (!hdr)
		return -EMSGSIZE;
	if (vs_fill_vm(skb, vm)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/*
 * One walk serves both dumps. VMs are listed in ascending id order and each
 * VM's vCPUs in ascending idx order, so the cursor stays valid whatever was
 * added or removed meanwhile; cb->seq flags such changes to the reader.
 */
static int vs_dump(struct sk_buff *skb, struct netlink_callback *cb,
		   bool vcpus)
{
	struct vs_dump_ctx *ctx = (struct vs_dump_ctx *)cb->ctx;
	struct vs_region_ctx rc = { };
	const struct vs_vcpu *vc;
	const struct vs_vm *vm;
	int err = 0;

	cb->seq = (u32)READ_ONCE(vs_generation) ?: 1;
	rcu_read_lock();
	list_for_each_entry_rcu(vm, &vs_vms, node) {
		if (vm->id < ctx->vm_id || !vs_vm_match(ctx, vm))
			continue;
		if (vm->id > ctx->vm_id) {
			ctx->vm_id = vm->id;
			ctx->idx = 0;
			ctx->cpu = 0;
		}
		if (!vcpus) {
			err = vs_dump_one_vm(skb, cb, vm);
			if (err)
				break;
		} else {
			list_for_each_entry_rcu(vc, &vm->vcpus, vm_node) {
				if (vc->idx < ctx->idx ||
				    (ctx->has_vcpu_id &&
				     vc->vcpu_id != ctx->f_vcpu_id))
					continue;
				/* The split vCPU is gone: start this one. */
				if (vc->idx > ctx->idx)
					ctx->cpu = 0;
				/* Its next part goes first in the next buffer. */
				ctx->idx = vc->idx;
				vs_region_bind(&rc, vm, vc);
				err = vs_dump_one_vcpu(skb, cb, vm, vc,
						       &ctx->cpu, &rc);
				if (err)
					break;
				ctx->idx = vc->idx + 1;
			}
			if (err)
				break;
		}
		ctx->vm_id = vm->id + 1;
		ctx->idx = 0;
	}
	/* No sleep in it: fput() defers a last release to task work. */
	vs_region_release(&rc);
	rcu_read_unlock();
	/* An empty skb that could not take one message: report it. */
	if (err < 0 && !skb->len)
		return err;
	return skb->len;
}

static int vs_get_vm_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	return vs_dump(skb, cb, false);
}

static int vs_get_vcpu_dumpit(struct sk_buff *skb,
			      struct netlink_callback *cb)
{
	return vs_dump(skb, cb, true);
}

static struct vs_vm *vs_find_vm_rcu(u64 id)
{
	struct vs_vm *vm;

	list_for_each_entry_rcu(vm, &vs_vms, node)
		if (vm->id == id)
			return vm;
	return NULL;
}

static int vs_get_vm_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	struct vs_vm *vm;
	void *hdr;
	int err;

	err = vs_check_version(info->genlhdr, info->extack);
	if (err)
		return err;
	if (GENL_REQ_ATTR_CHECK(info, VCPUSTAT_A_VM_ID)) {
		NL_SET_ERR_MSG(info->extack, "VCPUSTAT_A_VM_ID is required");
		return -EINVAL;
	}
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &vs_genl_family, 0,
				VCPUSTAT_CMD_GET_VM);
	err = -EMSGSIZE;
	if (!hdr)
		goto err_free;
	rcu_read_lock();
	vm = vs_find_vm_rcu(nla_get_u64(info->attrs[VCPUSTAT_A_VM_ID]));
	if (!vm) {
		rcu_read_unlock();
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[VCPUSTAT_A_VM_ID],
				    "no such VM");
		err = -ENOENT;
		goto err_free;
	}
	err = vs_fill_vm(msg, vm);
	rcu_read_unlock();
	if (err)
		goto err_free;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
err_free:
	nlmsg_free(msg);
	return err;
}

static int vs_reset_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *id_attr = info->attrs[VCPUSTAT_A_VM_ID];
	u64 id = id_attr ? nla_get_u64(id_attr) : 0;
	int err;

	err = vs_check_version(info->genlhdr, info->extack);
	if (err)
		return err;
	if (id) {
		bool found;

		rcu_read_lock();
		found = vs_find_vm_rcu(id);
		rcu_read_unlock();
		if (!found) {
			NL_SET_ERR_MSG_ATTR(info->extack, id_attr, "no such VM");
			return -ENOENT;
		}
	}
	vs_reset(id);
	return 0;
}

static int vs_fill_config(struct sk_buff *skb)
{
	struct nlattr *nest = nla_nest_start(skb, VCPUSTAT_A_CONFIG);

	if (!nest ||
	    nla_put_u32(skb, VCPUSTAT_CONFIG_A_SNAPSHOT_MS,
			READ_ONCE(vs_cfg.snapshot_ms)) ||
	    nla_put_u8(skb, VCPUSTAT_CONFIG_A_TIMING, READ_ONCE(vs_cfg.timing)) ||
	    nla_put_u32(skb, VCPUSTAT_CONFIG_A_MIGR_RATE,
			READ_ONCE(vs_cfg.migr_rate)) ||
	    nla_put_u32(skb, VCPUSTAT_CONFIG_A_TIMING_EVERY,
			READ_ONCE(vs_cfg.timing_every)) ||
	    nla_put_u32(skb, VCPUSTAT_CONFIG_A_HEARTBEAT_MS,
			READ_ONCE(vs_cfg.heartbeat_ms)) ||
	    nla_put_u8(skb, VCPUSTAT_CONFIG_A_BUDGET, READ_ONCE(vs_cfg.budget)) ||
	    nla_put_u8(skb, VCPUSTAT_CONFIG_A_DETAIL, vs_detail_enabled()) ||
	    nla_put_u32(skb, VCPUSTAT_CONFIG_A_DETAIL_K, vs_detail_k()))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

#define VS_PCPU(field) vs_pcpu_sum(offsetof(struct vs_pcpu_stats, field))

static int vs_fill_status(struct sk_buff *skb)
{
	struct nlattr *nest = nla_nest_start(skb, VCPUSTAT_A_STATUS);
	const int pad = VCPUSTAT_STATUS_A_PAD;

	if (!nest ||
	    nla_put_string(skb, VCPUSTAT_STATUS_A_VERSION, VCPUSTAT_VERSION) ||
	    nla_put_u32(skb, VCPUSTAT_STATUS_A_VMS, READ_ONCE(vs_nr_vms)) ||
	    nla_put_u32(skb, VCPUSTAT_STATUS_A_VCPUS,
			atomic_read(&vs_nr_vcpus)) ||
	    nla_put_u32(skb, VCPUSTAT_STATUS_A_MAX_VCPUS, vs_max_vcpus) ||
	    VS_PUT_U64(skb, VCPUSTAT_STATUS_A_VMS_SEEN, READ_ONCE(vs_vms_seen),
		       pad) ||
	    VS_PUT_U64(skb, VCPUSTAT_STATUS_A_OVERFLOW, VS_PCPU(overflow),
		       pad) ||
	    VS_PUT_U64(skb, VCPUSTAT_STATUS_A_ALLOC_FAIL, VS_PCPU(alloc_fail),
		       pad) ||
	    VS_PUT_U64(skb, VCPUSTAT_STATUS_A_BAD_LAYOUT, VS_PCPU(bad_layout),
		       pad) ||
	    VS_PUT_U64(skb, VCPUSTAT_STATUS_A_NOMEM_EXITS, VS_PCPU(nomem),
		       pad) ||
	    VS_PUT_U64(skb, VCPUSTAT_STATUS_A_STALE_VMS, VS_PCPU(stale_vms),
		       pad) ||
	    VS_PUT_U64(skb, VCPUSTAT_STATUS_A_EVENTS_SENT,
		       vs_events_stat(VS_EV_SENT), pad) ||
	    VS_PUT_U64(skb, VCPUSTAT_STATUS_A_EVENTS_LOST,
		       vs_events_stat(VS_EV_LOST), pad) ||
	    VS_PUT_U64(skb, VCPUSTAT_STATUS_A_MIGR_SUPPRESSED,
		       vs_events_stat(VS_EV_SUPPRESSED), pad) ||
	    VS_PUT_U64(skb, VCPUSTAT_STATUS_A_GENERATION,
		       READ_ONCE(vs_generation), pad) ||
	    nla_put_u8(skb, VCPUSTAT_STATUS_A_RUN_HOOK, vs_run_hooked()) ||
	    VS_PUT_U64(skb, VCPUSTAT_STATUS_A_RUN_MISSED, vs_run_missed(), pad) ||
	    nla_put_u32(skb, VCPUSTAT_STATUS_A_UAPI_REVISION,
			VCPUSTAT_UAPI_REVISION))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int vs_get_config_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	void *hdr;
	int err;

	err = vs_check_version(info->genlhdr, info->extack);
	if (err)
		return err;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &vs_genl_family, 0,
				VCPUSTAT_CMD_GET_CONFIG);
	if (!hdr || vs_fill_config(msg) || vs_fill_status(msg)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

/* Apply the TIMING and BUDGET settings of @tb that switch on (@on) or off. */
static int vs_set_entry_users(struct nlattr **tb, struct netlink_ext_ack *extack,
			      bool on)
{
	struct nlattr *a = tb[VCPUSTAT_CONFIG_A_TIMING];
	int err;

	if (a && !!nla_get_u8(a) == on) {
		err = vs_probes_set_timing(on);
		if (err) {
			NL_SET_ERR_MSG_ATTR(extack, a,
					    "cannot attach to kvm_entry for exit timing");
			return err;
		}
	}
	a = tb[VCPUSTAT_CONFIG_A_BUDGET];
	if (a && !!nla_get_u8(a) == on) {
		err = vs_probes_set_budget(on);
		if (err) {
			NL_SET_ERR_MSG_ATTR(extack, a,
					    "cannot attach to kvm_entry for the time budget");
			return err;
		}
	}
	return 0;
}

static int vs_set_config_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[VCPUSTAT_CONFIG_A_MAX + 1];
	struct nlattr *a;
	int err;

	err = vs_check_version(info->genlhdr, info->extack);
	if (err)
		return err;
	if (GENL_REQ_ATTR_CHECK(info, VCPUSTAT_A_CONFIG)) {
		NL_SET_ERR_MSG(info->extack, "VCPUSTAT_A_CONFIG is required");
		return -EINVAL;
	}
	err = nla_parse_nested(tb, VCPUSTAT_CONFIG_A_MAX,
			       info->attrs[VCPUSTAT_A_CONFIG], vs_config_policy,
			       info->extack);
	if (err)
		return err;

	/* Validate everything before changing anything. */
	a = tb[VCPUSTAT_CONFIG_A_HEARTBEAT_MS];
	if (a && nla_get_u32(a) && nla_get_u32(a) < 100) {
		NL_SET_ERR_MSG_ATTR(info->extack, a,
				    "heartbeat must be 0 (off) or >= 100 ms");
		return -EINVAL;
	}
	a = tb[VCPUSTAT_CONFIG_A_SNAPSHOT_MS];
	if (a && nla_get_u32(a) && nla_get_u32(a) < 100) {
		NL_SET_ERR_MSG_ATTR(info->extack, a,
				    "snapshot interval must be 0 (off) or >= 100 ms");
		return -EINVAL;
	}

	/*
	 * Timing and the budget (un)hook kvm_entry: the only changes that can
	 * fail, so they come first, and switching one on before the other
	 * off, so only the first can fail, before anything changed.
	 */
	err = vs_set_entry_users(tb, info->extack, true);
	if (!err)
		err = vs_set_entry_users(tb, info->extack, false);
	if (err)
		return err;
	if (a)
		WRITE_ONCE(vs_cfg.snapshot_ms, nla_get_u32(a));
	a = tb[VCPUSTAT_CONFIG_A_MIGR_RATE];
	if (a)
		WRITE_ONCE(vs_cfg.migr_rate, nla_get_u32(a));
	a = tb[VCPUSTAT_CONFIG_A_TIMING_EVERY];
	if (a)
		WRITE_ONCE(vs_cfg.timing_every, nla_get_u32(a));
	a = tb[VCPUSTAT_CONFIG_A_HEARTBEAT_MS];
	if (a)
		WRITE_ONCE(vs_cfg.heartbeat_ms, nla_get_u32(a));
	/* K before the switch: details switched on start with the new K. */
	a = tb[VCPUSTAT_CONFIG_A_DETAIL_K];
	if (a)
		vs_detail_set_k(nla_get_u32(a));
	a = tb[VCPUSTAT_CONFIG_A_DETAIL];
	if (a)
		vs_detail_set(nla_get_u8(a));
	return 0;
}

static const struct genl_ops vs_genl_ops[] = {
	{
		.cmd = VCPUSTAT_CMD_GET_VM,
		.start = vs_dump_start,
		.dumpit = vs_get_vm_dumpit,
		.doit = vs_get_vm_doit,
		.policy = vs_get_vm_policy,
		.maxattr = ARRAY_SIZE(vs_get_vm_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = VCPUSTAT_CMD_GET_VCPU,
		.start = vs_dump_start,
		.dumpit = vs_get_vcpu_dumpit,
		.policy = vs_get_vcpu_policy,
		.maxattr = ARRAY_SIZE(vs_get_vcpu_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = VCPUSTAT_CMD_RESET,
		.doit = vs_reset_doit,
		.policy = vs_reset_policy,
		.maxattr = ARRAY_SIZE(vs_reset_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		/* No policy: the core rejects any attribute. */
		.cmd = VCPUSTAT_CMD_GET_CONFIG,
		.doit = vs_get_config_doit,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = VCPUSTAT_CMD_SET_CONFIG,
		.doit = vs_set_config_doit,
		.policy = vs_set_config_policy,
		.maxattr = ARRAY_SIZE(vs_set_config_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
};

static const struct genl_multicast_group vs_mcgrps[] = {
	{ .name = VCPUSTAT_MCGRP_EVENTS, .flags = VS_MCGRP_FLAGS },
};

struct genl_family vs_genl_family __ro_after_init = {
	.name = VCPUSTAT_GENL_NAME,
	.version = VCPUSTAT_GENL_VERSION,
	.module = THIS_MODULE,
	.netnsok = false,	/* init_net only: exits are host-wide data */
	.ops = vs_genl_ops,
	.n_ops = ARRAY_SIZE(vs_genl_ops),
	.mcgrps = vs_mcgrps,
	.n_mcgrps = ARRAY_SIZE(vs_mcgrps),
};

int vs_netlink_init(void)
{
	/* an appended attribute without the revision bumped (uapi header) */
	BUILD_BUG_ON(VCPUSTAT_UAPI_REVISION != __VCPUSTAT_UAPI_SUM);
	return genl_register_family(&vs_genl_family);
}

void vs_netlink_exit(void)
{
	genl_unregister_family(&vs_genl_family);
}
