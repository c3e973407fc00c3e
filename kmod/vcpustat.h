/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vcpustat internals shared by the module's files.
 *
 * Object lifetime in one paragraph (the argument is in track.c): a VM is
 * tracked from the first kvm_exit of any of its vCPUs and untracked when
 * KVM destroys it (a kprobe on kvm_destroy_vm(), or, without one, when our
 * own kvm_get_kvm() reference is the last). A struct kvm or kvm_vcpu
 * pointer kept here is a hash key, dereferenced only by the probes of that
 * running vCPU; it is unhashed before KVM can free or reuse the memory.
 */
#ifndef VCPUSTAT_H
#define VCPUSTAT_H

#include <linux/hash.h>
#include <linux/kvm_host.h>
#include <linux/list.h>
#include <linux/rculist.h>
#include <linux/seqlock.h>
#include <linux/types.h>
#include <linux/vcpustat.h>
#include "detail_types.h"

/* Reasons kept per vCPU; exits of further reasons go to the "other" slot. */
#define VS_NR_REASONS		32

struct vs_reason {
	u8 isa;				/* 0: slot unused */
	/*
	 * second-level details (detail.h), kept here because the probes
	 * hold @r already; dop 0: none yet, VS_DNONE: none for good
	 */
	u8 dop;				/* enum vs_dop of its key table */
	u8 dkey;			/* vc->detail.keys[] of the last key met */
	u8 dhist;			/* vc->detail.hist[] row, 0: none */
	u32 code;
	u64 count;
	u64 timed;
	u64 time_sum;
	u64 time_min;
	u64 time_max;
	u64 handle_ns;			/* budget: EXIT state of these exits */
};

/* KVM_EXIT_* reasons of userspace exits kept apart per vCPU; + other. */
#define VS_NR_USER		6

struct vs_user {
	u32 key;			/* KVM_EXIT_* + 1; 0: slot unused */
	u64 count;
	u64 ns;
};

/*
 * Per-vCPU statistics. All fields in the "probe" block are written only by
 * the probes of this vCPU, which KVM serializes (vcpu->mutex is held across
 * KVM_RUN): single writer, no atomics. Readers use READ_ONCE and accept a
 * snapshot that is a few exits skewed across fields.
 */
struct vs_vcpu {
	struct hlist_node hnode;	/* vs_vcpu_hash, keyed by @key */
	struct list_head vm_node;	/* vm->vcpus, ascending @idx */
	const struct kvm_vcpu *key;	/* compared, dereferenced by probes only */
	struct vs_vm *vm;
	u32 vcpu_id;
	u32 idx;

	/* probe block, identity: not zeroed by a reset */
	u32 isa;
	u32 tid;
	int last_cpu;			/* CPU of the previous exit, -1: none */
	u32 reset_done;			/* last reset_req applied */
	u32 time_skip;			/* exits left to skip before a timed one */
	u32 rng;			/* xorshift32 state for time_skip */
	u8 src;				/* enum vs_src: how to read exit codes */
	u64 kvm_exits;			/* vcpu->stat.exits at the last exit */

	/*
	 * probe block, the time budget's open interval (budget.h); written
	 * by this vCPU's probes and KVM_RUN hooks inside @bseq.
	 */
	seqcount_t bseq;
	u8 bstate;			/* enum vcpustat_state */
	u8 buser;			/* user[] slot of an open USER */
	u8 bend;			/* OUT opened at KVM_RUN's end, unnamed yet */
	u32 bgen;			/* vs_budget_gen it counts in */
	u64 bsince;			/* clock at its start */
	u64 brd;			/* run_delay at its start */
	u64 bdebt;			/* wait beyond its intervals, carried */
	u64 bpoll;			/* KVM's halt_poll_*_ns at its start */
	u64 bhalt;			/* KVM's halt_wait_ns at its start */

	/* written by netlink (reset), read by the probes */
	u32 reset_req;

	/* tick worker block: what the last notifications reported */
	u64 ntf_moves;			/* migrations covered by MIGRATE_NTF */
	u64 ntf_migrations;
	u64 ntf_exits;
	u64 ntf_time_sum;
	u64 ntf_timed;
	u64 ntf_migr[VCPUSTAT_DIST_MAX + 1];
	u64 ntf_budget[VCPUSTAT_STATE_MAX + 1];
	u64 ntf_ts;			/* last DELTA check */
	u64 ntf_sent;			/* last DELTA sent (heartbeat) */
	u32 ntf_gen;			/* reset generation of the ntf_ values */
	u32 ntf_moves_gen;		/* ... of ntf_moves */

	/*
	 * probe block, second-level keys and reason histograms (detail.h):
	 * started afresh by the probes (a switch-on, a reset), not by the
	 * reset's zeroing below.
	 */
	struct vs_detail detail;

	/*
	 * probe block, counters: from @exits to the end of the struct (the
	 * flexible @residency aside), zeroed at once by a reset, so keep
	 * them last.
	 */
	u64 exits;
	u64 migrations;
	u64 migr[VCPUSTAT_DIST_MAX + 1];
	u64 last_move;			/* VS_MOVE(): packed, one store */
	u64 exit_ts;			/* clock at the pending exit */
	struct vs_reason *pending;	/* reason of the pending exit */
	u64 time_sum;
	u64 timed;
	u64 hist[VCPUSTAT_HIST_BUCKETS];
	struct vs_reason reasons[VS_NR_REASONS];
	struct vs_reason other;
	u64 budget[VCPUSTAT_STATE_MAX + 1];	/* ns per state, in bseq */
	struct vs_user user[VS_NR_USER + 1];	/* + other; in bseq */
	u64 residency[];		/* exits per CPU, nr_cpu_ids */
};

/*
 * How the kvm_exit probe reads a vCPU's exit code, decided at its first
 * exit (probe.c): the vendor layout validated, or no way (UNKNOWN); on
 * arm64 the event's own arguments.
 */
enum vs_src { VS_SRC_UNSET, VS_SRC_SVM, VS_SRC_VMX, VS_SRC_NONE, VS_SRC_ARM64 };

#define VS_MOVE(from, to, dist) \
	(((u64)(u32)(from) << 32) | ((u64)((to) & 0xffffff) << 8) | (dist))
#define VS_MOVE_FROM(m)		((u32)((m) >> 32))
#define VS_MOVE_TO(m)		((u32)(((m) >> 8) & 0xffffff))
#define VS_MOVE_DIST(m)		((u32)((m) & 0xff))

struct vs_vm {
	struct list_head node;		/* vs_vms, ascending @id */
	struct hlist_node hnode;	/* vs_vm_hash, keyed by @kvm */
	struct list_head dead_node;	/* private to the sweep */
	unsigned long gp_cookie;	/* dying: polled RCU grace period */
	struct work_struct put_work;	/* pinned: kvm_put_kvm() off the tick */
	struct kvm *kvm;		/* key; read only while pinned */
	u64 id;
	u32 pid;
	char comm[TASK_COMM_LEN];
	char stats_id[KVM_STATS_NAME_SIZE];
	u64 first_seen;			/* ktime_get_ns() */
	struct list_head vcpus;		/* RCU list of struct vs_vcpu */
	u32 nr_vcpus;
	bool announced;			/* VM_NEW_NTF sent (or nobody listened) */
	u64 __percpu *untracked;	/* exits of vCPUs without a record */
	u64 untracked_base;		/* the sum at the last reset */
	u64 reap_exits;			/* tick only: exits at the last reap */
};

/* Configuration, changed by VCPUSTAT_CMD_SET_CONFIG. */
struct vs_config {
	u32 snapshot_ms;
	u32 migr_rate;
	u32 timing_every;		/* time one exit in N (random), 1: all */
	u32 heartbeat_ms;		/* DELTA of an unchanged vCPU, 0: none */
	bool timing;
	bool budget;			/* keep the time budget (budget.h) */
};

#define VS_TIMING_EVERY_MAX	65536

extern struct vs_config vs_cfg;
extern unsigned int vs_max_vcpus;
extern unsigned int vs_pool_vcpus;

/* Module-wide counters that stay correct without shared cache lines. */
struct vs_pcpu_stats {
	u64 overflow;			/* exits of vCPUs over the cap */
	u64 nomem;			/* exits of vCPUs met with no record */
	u64 alloc_fail;
	u64 stale_vms;			/* VMs found dead without the hook */
	u64 bad_layout;
};

DECLARE_PER_CPU(struct vs_pcpu_stats, vs_pcpu_stats);

/* track.c: the VM and vCPU tables and their lifecycle */
extern struct list_head vs_vms;
extern u64 vs_generation;
extern u64 vs_vms_seen;
extern atomic_t vs_nr_vcpus;
extern u32 vs_nr_vms;
int vs_track_init(void);
void vs_track_exit(void);
extern struct hlist_head *vs_vcpu_hash;
extern unsigned int vs_vcpu_hash_bits;
extern struct workqueue_struct *vs_wq;
struct vs_vcpu *vs_vcpu_first_sight(struct kvm_vcpu *vcpu);
struct vs_vcpu *vs_vcpu_stale(struct kvm_vcpu *vcpu, struct vs_vcpu *vc);
void vs_sweep(struct list_head *gone);
void vs_vms_release(struct list_head *gone);
void vs_reset(u64 vm_id);
u64 vs_vm_untracked(const struct vs_vm *vm);
bool vs_vcpu_reset_pending(const struct vs_vcpu *vc);
u64 vs_pcpu_sum(size_t offset);

/* tp_lookup.c: KVM's tracepoints (exit, entry exported on x86; else by name) */
extern struct tracepoint *vs_tp_kvm_exit;
extern struct tracepoint *vs_tp_kvm_entry;
extern struct tracepoint *vs_tp_kvm_fpu;		/* x86 */
extern struct tracepoint *vs_tp_kvm_userspace_exit;
int vs_tp_lookup(void);
void vs_tp_release(void);

/* probe.c */
int vs_probes_register(void);
void vs_probes_unregister(void);
int vs_probes_set_timing(bool on);
int vs_probes_set_budget(bool on);
void vs_vcpu_account_exit(struct vs_vcpu *vc, const struct kvm_vcpu *vcpu,
			  u32 code, int cpu);
void vs_vcpu_account_entry(struct vs_vcpu *vc, const struct kvm_vcpu *vcpu,
			   u64 now);

/* probe_run.c: KVM_RUN's start and end, for the budget */
int vs_run_hook_register(void);
void vs_run_hook_unregister(void);
void vs_run_hook_free(void);
bool vs_run_hooked(void);
u64 vs_run_missed(void);

/* budget.c: what readers see of a vCPU's budget */
extern u32 vs_budget_gen;
struct vs_budget_snap {
	u64 ns[VCPUSTAT_STATE_MAX + 1];
	struct vs_user user[VS_NR_USER + 1];
	u64 open;			/* the open interval, in ns[state] */
	u64 at;				/* clock of the read */
	u32 state;
};

void vs_budget_read(const struct vs_vcpu *vc, struct vs_budget_snap *b);

/*
 * The probes' lookup of their vCPU, inlined (BENCHMARKS.md: the
 * out-of-line calls cost as much as the accounting): a hash of the vcpu
 * pointer and a walk of one, almost always one-entry, RCU bucket. Safe
 * because probes run with preemption off and records are freed only after
 * synchronize_rcu().
 */
static __always_inline struct vs_vcpu *vs_vcpu_find(const struct kvm_vcpu *vcpu)
{
	struct hlist_head *head = &vs_vcpu_hash[hash_ptr(vcpu,
							  vs_vcpu_hash_bits)];
	struct vs_vcpu *vc;

	hlist_for_each_entry_rcu(vc, head, hnode, true)
		if (vc->key == vcpu)
			return vc;
	return NULL;
}

/*
 * For kvm_exit: a vCPU not found is seen for the first time (out of line).
 * A record found is checked to still be this vCPU's: KVM's own exit count
 * (vcpu->stat.exits) never decreases while a vCPU lives, so a smaller one
 * means that the record's vCPU was freed without kvm_destroy_vm() being
 * seen (kprobes disarmed) and this is a new vCPU at the same address.
 */
static __always_inline struct vs_vcpu *vs_vcpu_get(struct kvm_vcpu *vcpu)
{
	struct vs_vcpu *vc = vs_vcpu_find(vcpu);
	u64 kvm_exits = READ_ONCE(vcpu->stat.exits);

	if (unlikely(!vc))
		vc = vs_vcpu_first_sight(vcpu);
	else if (unlikely(kvm_exits < vc->kvm_exits))
		vc = vs_vcpu_stale(vcpu, vc);
	if (likely(vc))
		vc->kvm_exits = kvm_exits;
	return vc;
}

/* reason_svm.c / reason_vmx.c: read the hardware exit code */
bool vs_svm_layout_ok(const struct kvm_vcpu *vcpu);
u32 vs_vmx_exit_code(void);

/* clock.c: what vs_clock_ns() (compat.h) reads */
void vs_clock_init(void);

/* topo.c */
u32 vs_topo_distance(int from, int to);

/* attrs.c: what replies and notifications both send */
#define VS_PUT_U64(skb, type, val, pad) \
	nla_put_u64_64bit(skb, type, val, pad)
int vs_put_ids(struct sk_buff *skb, const struct vs_vm *vm);
int vs_fill_vm(struct sk_buff *skb, const struct vs_vm *vm);
int vs_fill_vcpu_ident(struct sk_buff *skb, const struct vs_vcpu *vc);
int vs_fill_budget(struct sk_buff *skb, const struct vs_vcpu *vc,
		   const struct vs_budget_snap *b);

/* netlink.c */
extern struct genl_family vs_genl_family;
int vs_netlink_init(void);
void vs_netlink_exit(void);

/* events.c */
void vs_events_start(struct genl_family *family);
void vs_events_stop(void);
u64 vs_events_stat(int which);
enum { VS_EV_SENT, VS_EV_LOST, VS_EV_SUPPRESSED };

#endif /* VCPUSTAT_H */
