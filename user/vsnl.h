/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vsnl: the vcpustat tool's internal client API over the "vcpustat" generic
 * netlink family (include/uapi/linux/vcpustat.h is the wire contract; this
 * header is the C model of it that every subcommand is written against).
 *
 * Stability: names and meanings here are fixed; new fields and functions
 * may be appended, nothing is renamed or re-purposed.
 *
 * Conventions
 *  - Functions returning int return 0 on success or a negative errno.
 *    Special values: -ENOENT from vs_open() means the family is not
 *    registered (module not loaded); -EPERM/-EACCES mean the caller lacks
 *    CAP_NET_ADMIN. After a failed request vs_extack() returns the message
 *    the kernel attached with extended ACK, if any.
 *  - Counters are exactly what the kernel reported (cumulative since the
 *    VM was first seen or since the last RESET). Compute rates with
 *    vs_delta(), which treats a counter that went backwards as reset.
 *  - An attribute the kernel did not send leaves its field 0, except pcpu
 *    and isa, whose "absent" values are VS_NO_CPU and 0.
 *  - Not thread-safe: one context per thread.
 */
#ifndef VSNL_H
#define VSNL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/vcpustat.h>

#define VS_NO_CPU		UINT32_MAX	/* vs_vcpu.pcpu when unknown */
#define VS_COMM_LEN		32		/* >= TASK_COMM_LEN (16) */
#define VS_STATS_ID_LEN		64		/* >= KVM_STATS_NAME_SIZE (48) */
#define VS_VERSION_LEN		64
#define VS_DUMP_RETRIES		8		/* NLM_F_DUMP_INTR restarts */
#define VS_NAME_LEN		256		/* guest name (QEMU -name) */
#define VS_UUID_LEN		37		/* 36 chars + NUL */

/* One exit reason of one vCPU (VCPUSTAT_REASON_A_*). */
struct vs_reason {
	uint32_t isa;			/* VCPUSTAT_ISA_VMX / _SVM */
	uint32_t code;			/* hardware code, or VCPUSTAT_CODE_* */
	uint64_t count;
	uint64_t timed;			/* exits of this reason with a time */
	uint64_t time_sum_ns;
	uint64_t time_min_ns;		/* 0 when timed == 0 */
	uint64_t time_max_ns;		/* 0 when timed == 0 */
	uint64_t handle_ns;		/* budget: exit state of these exits */
	/* Details (VCPUSTAT_CONFIG_A_DETAIL on; see the uapi header). */
	uint32_t key_kind;		/* enum vcpustat_key_kind, 0: no keys */
	uint32_t nr_keys;		/* keys[] in the order first met */
	struct vs_key {
		uint64_t key;		/* encoded as key_kind says */
		uint64_t count;
		/* GPA keys of a dump (VCPUSTAT_KEY_A_REGION..) */
		uint32_t region;	/* enum vcpustat_region, 0: unknown */
		uint32_t slot;		/* RAM: as_id << 16 | id */
		uint32_t slot_flags;	/* RAM: KVM_MEM_* */
		bool has_base;		/* region_base/size sent */
		uint64_t region_base, region_size;
	} keys[VCPUSTAT_DETAIL_K_MAX];
	uint64_t keys_other;		/* keys + keys_other = count */
	bool has_hist;
	uint64_t hist[VCPUSTAT_RHIST_BUCKETS];	/* VCPUSTAT_RHIST_* */
};

/* Userspace exits of one KVM_EXIT_* reason (VCPUSTAT_USER_A_*). */
#define VS_USER_MAX		16
struct vs_user_exit {
	uint32_t exit_reason;		/* KVM_EXIT_*, or VCPUSTAT_USER_OTHER */
	uint64_t count;
	uint64_t ns;
};

/*
 * The time budget of a vCPU (VCPUSTAT_BUDGET_A_*): ns per enum
 * vcpustat_state, summing to its wall time up to at_ns.
 */
struct vs_budget {
	bool valid;			/* the kernel sent one */
	uint64_t ns[VCPUSTAT_STATE_MAX + 1];	/* [VCPUSTAT_STATE_NONE] = 0 */
	uint32_t state;			/* where it is at at_ns */
	uint64_t open_ns;		/* of it, in ns[state] */
	uint64_t at_ns;			/* module clock at the read (ns) */
	struct vs_user_exit user[VS_USER_MAX];
	size_t nr_user;
};

/* Exits of one vCPU handled on one host CPU (VCPUSTAT_RESIDENCY_A_*). */
struct vs_residency {
	uint32_t cpu;
	uint64_t exits;
};

/* One vCPU (VCPUSTAT_VCPU_A_*), plus the VM it belongs to. */
struct vs_vcpu {
	uint64_t vm_id;
	uint32_t pid;			/* VM creator pid */
	uint32_t vcpu_id;		/* KVM vcpu_id (APIC id-ish) */
	uint32_t idx;			/* KVM vcpu_idx, dense from 0 */
	uint32_t tid;			/* thread that last ran it, 0: unknown */
	uint32_t pcpu;			/* CPU of the last exit, VS_NO_CPU */
	uint32_t isa;			/* VCPUSTAT_ISA_*, 0: unknown */
	uint64_t exits;
	uint64_t migrations;		/* all distances */
	uint64_t migr[VCPUSTAT_DIST_MAX + 1];	/* by enum vcpustat_distance;
						 * [VCPUSTAT_DIST_UNSPEC] = 0 */
	uint64_t exit_time_ns;		/* sum over timed exits */
	uint64_t timed_exits;
	uint64_t interval_ns;		/* DELTA events only, else 0 */
	struct vs_reason *reasons;	/* in kernel order */
	size_t nr_reasons;
	uint64_t hist[VCPUSTAT_HIST_BUCKETS];	/* see VCPUSTAT_HIST_BUCKETS */
	struct vs_residency *residency;	/* ascending cpu */
	size_t nr_residency;
	struct vs_budget budget;	/* DELTA events: ns are deltas */
};

/* One VM (VCPUSTAT_VM_A_*) and, in a snapshot, its vCPUs. */
struct vs_vm {
	uint64_t id;			/* module-assigned, never reused */
	uint32_t pid;
	char comm[VS_COMM_LEN];
	char stats_id[VS_STATS_ID_LEN];
	uint32_t tracked_vcpus;		/* VCPUSTAT_VM_A_NR_VCPUS */
	uint64_t exits;
	uint64_t migrations;
	uint64_t exit_time_ns;
	uint64_t age_ns;
	uint64_t untracked_exits;
	struct vs_vcpu *vcpus;		/* ascending idx; NULL in events */
	size_t nr_vcpus;		/* entries in vcpus[] */
	bool stub;			/* vCPUs seen but the VM was not in the
					 * GET_VM dump (it raced); only id and
					 * pid are valid */
	/* Not from the kernel: the VMM's command line (vmident.h), "" if
	 * it gave none. Filled by the tool, not by vs_snapshot_get(). */
	char name[VS_NAME_LEN];
	char uuid[VS_UUID_LEN];
};

/* What the kernel returned for one vs_snapshot_get(). */
struct vs_snapshot {
	struct vs_vm *vms;		/* ascending id */
	size_t nr_vms;
	uint64_t ts_ns;			/* CLOCK_MONOTONIC, dump completion */
	unsigned int restarts;		/* dumps restarted (NLM_F_DUMP_INTR) */
	bool consistent;		/* false: still interrupted after
					 * VS_DUMP_RETRIES restarts; data is
					 * usable but may mix generations */
};

/* Request filter; zero-initialize for "everything". */
struct vs_filter {
	bool has_vm_id;
	uint64_t vm_id;
	uint32_t pid;			/* 0: any, unless has_pid */
	bool has_vcpu_id;
	uint32_t vcpu_id;
	bool has_pid;			/* pid is a filter even when 0: KVM
					 * leaves userspace_pid 0 for a VM
					 * whose creator it never recorded */
};

/* Whether @f (NULL: no filter) lets a VM of @pid through. */
static inline bool vs_filter_pid_ok(const struct vs_filter *f, uint32_t pid)
{
	return !f || (!f->pid && !f->has_pid) || pid == f->pid;
}

/* VCPUSTAT_CONFIG_A_*; @mask says which fields are present/to be set. */
#define VS_CFG_SNAPSHOT_MS	(1u << 0)
#define VS_CFG_TIMING		(1u << 1)
#define VS_CFG_MIGR_RATE	(1u << 2)
#define VS_CFG_TIMING_EVERY	(1u << 3)
#define VS_CFG_HEARTBEAT_MS	(1u << 4)
#define VS_CFG_BUDGET		(1u << 5)
#define VS_CFG_DETAIL		(1u << 6)
#define VS_CFG_DETAIL_K		(1u << 7)
/* One bit each: a setting must never send another one along. */
#define VS_CFG_ALL_OR	(VS_CFG_SNAPSHOT_MS | VS_CFG_TIMING | VS_CFG_MIGR_RATE | \
			 VS_CFG_TIMING_EVERY | VS_CFG_HEARTBEAT_MS | \
			 VS_CFG_BUDGET | VS_CFG_DETAIL | VS_CFG_DETAIL_K)
#define VS_CFG_ALL_SUM	(VS_CFG_SNAPSHOT_MS + VS_CFG_TIMING + VS_CFG_MIGR_RATE + \
			 VS_CFG_TIMING_EVERY + VS_CFG_HEARTBEAT_MS + \
			 VS_CFG_BUDGET + VS_CFG_DETAIL + VS_CFG_DETAIL_K)
_Static_assert(VS_CFG_ALL_OR == VS_CFG_ALL_SUM, "VS_CFG_* bits overlap");
struct vs_config {
	unsigned int mask;
	uint32_t snapshot_ms;		/* 0 = DELTA events off */
	bool timing;
	uint32_t migr_rate;		/* MIGRATE events per second, 0 = off */
	uint32_t timing_every;		/* time 1 exit in N (random), 1 = all */
	uint32_t heartbeat_ms;		/* all-zero DELTA of a quiet vCPU this
					 * often, 0 = never */
	bool budget;			/* keep the time budget */
	bool detail;			/* second-level keys, reason histograms */
	uint32_t detail_k;		/* keys kept per vCPU and reason */
};

/* VCPUSTAT_STATUS_A_*. */
struct vs_status {
	char version[VS_VERSION_LEN];
	uint32_t vms;
	uint32_t vcpus;
	uint32_t max_vcpus;
	uint64_t vms_seen;
	uint64_t overflow;
	uint64_t alloc_fail;
	uint64_t events_sent;
	uint64_t events_lost;
	uint64_t migr_suppressed;
	uint64_t generation;
	uint64_t bad_layout;
	uint64_t nomem_exits;
	uint64_t stale_vms;
	bool run_hook;			/* user/out states kept */
	uint64_t run_missed;
	uint32_t uapi_revision;		/* 0: a module before revisions */
};

struct vs_ctx;

/* Connect and resolve the family. -ENOENT: module not loaded. */
int vs_open(struct vs_ctx **ctxp);
void vs_close(struct vs_ctx *ctx);

/*
 * The module went away, or is going: a request failed because the family
 * is not registered (-ENOENT, from the genetlink core) or because a dump
 * could not pin the unloading module (-EPROTONOSUPPORT). The module's own
 * -ENOENT ("no such VM") only answers requests that name a VM id, never a
 * dump. Long-running commands wait and vs_reconnect().
 */
static inline bool vs_gone(int err)
{
	return err == -ENOENT || err == -EPROTONOSUPPORT;
}

/*
 * Resolve the family again (a reloaded module has a new family id and
 * new multicast group ids) and, if the events socket is open, move its
 * membership to the new events group and restart sequence checking.
 * 1: the family id changed (the module was reloaded); 0: the same id (the
 * error was transient: an rmmod attempt that found the module busy makes
 * dumps fail with -EPROTONOSUPPORT for a moment; or the module is still
 * unloading, or was reloaded under the same id); -ENOENT while the
 * family is not registered (the context stays usable: call again later);
 * another negative errno.
 */
int vs_reconnect(struct vs_ctx *ctx);
/*
 * What the generic netlink controller says of the loaded family: its
 * version (VCPUSTAT_GENL_VERSION of the module's build) and its top-level
 * maxattr (VCPUSTAT_A_MAX of the module's uapi header; attributes are
 * only ever appended, so it orders uapi revisions). 0 or negative errno.
 */
int vs_family_info(struct vs_ctx *ctx, uint32_t *version, uint32_t *maxattr);
/* Kernel extack message of the last failed request, or NULL. */
const char *vs_extack(const struct vs_ctx *ctx);

/*
 * GET_VM dump then GET_VCPU dump (both with @f, which may be NULL), joined
 * into VMs with their vCPUs. Restarts the pair when either dump is flagged
 * NLM_F_DUMP_INTR or a vCPU names a VM missing from the VM dump, at most
 * VS_DUMP_RETRIES times (then snap->consistent = false). On error *snap is
 * left empty (safe to vs_snapshot_free).
 */
int vs_snapshot_get(struct vs_ctx *ctx, const struct vs_filter *f,
		    struct vs_snapshot *snap);
void vs_snapshot_free(struct vs_snapshot *snap);
const struct vs_vm *vs_snapshot_find_vm(const struct vs_snapshot *snap,
					uint64_t vm_id);
const struct vs_vcpu *vs_snapshot_find_vcpu(const struct vs_snapshot *snap,
					    uint64_t vm_id, uint32_t vcpu_id);
/* Deep copy (for keeping the previous interval around); -ENOMEM. */
int vs_snapshot_copy(struct vs_snapshot *dst, const struct vs_snapshot *src);

/* Either output pointer may be NULL. */
int vs_get_config(struct vs_ctx *ctx, struct vs_config *cfg,
		  struct vs_status *st);
/* Sends only the fields in cfg->mask. */
int vs_set_config(struct vs_ctx *ctx, const struct vs_config *cfg);
/* Zero counters of every VM (all = true) or of VM @vm_id. */
int vs_reset(struct vs_ctx *ctx, bool all, uint64_t vm_id);

/* Notifications (multicast group "events"). */
enum vs_event_type {
	VS_EV_VM_NEW = 1,
	VS_EV_VM_GONE,
	VS_EV_MIGRATE,
	VS_EV_DELTA,
};

struct vs_migration {
	uint64_t vm_id;
	uint32_t pid;
	uint32_t vcpu_id;
	uint32_t tid;
	uint32_t from;			/* pCPU */
	uint32_t to;			/* pCPU */
	uint32_t distance;		/* enum vcpustat_distance */
	uint64_t total;			/* the vCPU's migrations so far */
	uint64_t suppressed;		/* folded into this one (rate limit) */
};

struct vs_event {
	enum vs_event_type type;
	uint64_t seq;			/* VCPUSTAT_A_SEQ */
	uint64_t lost;			/* notifications missing right before
					 * this one (seq gap), 0 normally */
	uint64_t ts_ns;			/* CLOCK_MONOTONIC at receipt */
	union {
		struct vs_vm vm;	/* VM_NEW, VM_GONE (final totals);
					 * vcpus == NULL */
		struct vs_migration migr;	/* MIGRATE */
		struct vs_vcpu delta;	/* DELTA: counters are deltas over
					 * delta.interval_ns */
	};
};

/*
 * Callback for each decoded event; pointers inside @ev are valid only
 * during the call. Return 0 to continue, a negative errno to stop
 * vs_event_read() with that value.
 */
typedef int (*vs_event_cb)(const struct vs_event *ev, void *arg);

/*
 * Open a second, non-blocking socket joined to the events group (sequence
 * checking off). Needs CAP_NET_ADMIN on kernels that restrict the group.
 */
int vs_events_open(struct vs_ctx *ctx);
/*
 * Also join nlctrl's "notify" group on the events socket, so that the
 * family going away is seen at once: vs_event_read() then returns -ENOENT
 * after the last event of the old load (nlctrl's DELFAMILY for the family
 * id in use), and the socket becomes readable again when a family of that
 * name is registered under another id (NEWFAMILY: vs_event_read() returns
 * -ESTALE): the moment to vs_reconnect(). Call after vs_events_open().
 */
int vs_events_follow(struct vs_ctx *ctx);
/* The events socket's fd for poll(); -1 before vs_events_open(). */
int vs_event_fd(const struct vs_ctx *ctx);
/*
 * Read and decode everything queued now, calling @cb per event. Returns
 * the number of events delivered (0: nothing queued) or a negative errno.
 * A receive-buffer overrun (ENOBUFS) is not an error: the loss shows up
 * as ev->lost on the next event, from the sequence gap; vs_events_lost()
 * is the running total of lost notifications.
 */
int vs_event_read(struct vs_ctx *ctx, vs_event_cb cb, void *arg);
uint64_t vs_events_lost(const struct vs_ctx *ctx);

/*
 * Lower level, used by vs_event_read() and by tests: decode one
 * notification message. -EOPNOTSUPP for a command this tool does not
 * know, -EPROTO if malformed. ev->lost/ts_ns are not set. Always call
 * vs_event_release() afterwards (it frees a DELTA's arrays).
 */
struct nlmsghdr;
int vs_event_decode(struct nlmsghdr *nlh, struct vs_event *ev);
void vs_event_release(struct vs_event *ev);

/*
 * Lower level, used by vs_snapshot_get() and by tests: decode one GET_VCPU
 * dump message. A vCPU too big for one message comes in parts (see the
 * uapi header): a continued part's residency is appended to @prev, which
 * must be that vCPU (same VM and idx) and its CPUs must come after
 * @prev's. Returns 0 when @vc (zeroed by the caller) holds a new vCPU, 1
 * when the message was appended to @prev (@vc untouched), -EPROTO when it
 * is malformed or continues nothing, -ENOMEM.
 */
int vs_vcpu_msg_decode(struct nlmsghdr *nlh, struct vs_vcpu *prev,
		       struct vs_vcpu *vc);

/* Exit reason names, from tables generated from the uapi asm headers. */
const char *vs_isa_name(uint32_t isa);	/* "vmx", "svm", "unknown" */
/* ISA from "vmx"/"svm" (case-insensitive); 0 if neither. */
uint32_t vs_isa_from_name(const char *name);
/*
 * Name as the kernel's kvm_exit trace prints it ("CPUID", "npf"), or, for
 * codes the table does not know, the number (decimal for VMX, 0x-hex for
 * SVM) written into @buf. VCPUSTAT_CODE_UNKNOWN/OTHER give "unknown" and
 * "other". Returns a pointer to a static name or to @buf (>= 16 bytes).
 */
const char *vs_reason_name(uint32_t isa, uint32_t code, char *buf,
			   size_t len);
/* Inverse of vs_reason_name (names case-sensitive, numbers accepted). */
int vs_reason_code(uint32_t isa, const char *name, uint32_t *code);
/* Distance names: "smt", "llc", "node", "remote", "unspec". */
const char *vs_distance_name(uint32_t dist);

/* Difference of a cumulative counter; a counter that went back was reset. */
static inline uint64_t vs_delta(uint64_t now, uint64_t before)
{
	return now >= before ? now - before : now;
}

#endif /* VSNL_H */
