/* SPDX-License-Identifier: GPL-2.0 */
/*
 * autopin_policy.h - the decision core of `vcpustat autopin`.
 *
 * Pure: it never reads a file, calls the kernel or looks at a clock. The
 * driver (autopin.c) feeds it the topology, per-vCPU samples taken from
 * vcpustat snapshots (cumulative counters, residency, the thread's current
 * affinity and run-queue wait), migration events and VM lifecycle events,
 * all stamped with a caller-supplied time; it answers with decisions that
 * the driver applies (or, with --dry-run, only logs) and reports back.
 * Unit tests drive it with synthetic topologies (user/tests/test_policy.c).
 *
 * Policy
 *  A floating vCPU (its affinity is the thread's original, wider mask) is
 *  pinned to one "home" pCPU when, in the current window:
 *    - it migrated more than max_migrations times (the window is
 *      window_ns; a sample arriving later than that is scaled), or
 *    - it migrated to another NUMA node at all (numa_trigger).
 *  The home is chosen among candidates = original affinity & online
 *  (& ~isolated unless allow_isolated), excluding
 *    - a CPU already home to another vCPU of the same VM (hard), and
 *    - with no_smt_share, a CPU whose SMT sibling is home to another vCPU
 *      of the same VM (hard),
 *  and ranked by, in order: not home to any managed vCPU of another VM;
 *  not in cool-down (recently left for run-queue delay); on the VM's
 *  dominant NUMA node (most exits handled there since it was first seen);
 *  most exits in this window (residency delta); topologically nearest
 *  to the vCPU's most resident CPU (same, SMT sibling, LLC, node); fewest
 *  sharers; lowest number. No candidate: a "skip" decision, logged once
 *  until something changes.
 *
 *  A pinned vCPU stays put unless, after the dwell on its home,
 *    - its run-queue wait share (wait ns / wall ns, from schedstat) was
 *      >= rq_threshold and >= rq_growth x its share before it was pinned
 *      for rq_windows measurements in a row, all taken on this home (a
 *      measurement restarts at every pin and move): it moves to the best
 *      other candidate that is no vCPU's home (of any VM), not busy (its
 *      load from other tasks in the last window, ap_cpu_times(), below
 *      rq_threshold) and not cooling down; with none, it stays and a skip
 *      says why. Its old home cools down for twice the next dwell; or
 *    - its home is shared with a vCPU of another VM and a CPU free of
 *      managed vCPUs, and not busy, is now available: it moves there.
 *  The dwell is dwell_ns after a pin; every rq-delay move in a row doubles
 *  it (up to 8 x), and a home that stayed calm for dwell_ns resets that:
 *  contention that follows a vCPU from home to home gets ever rarer moves,
 *  not one per dwell. Both moves need a strictly better candidate.
 *
 *  Hands off: a vCPU whose affinity was a single CPU when first seen is
 *  "fixed" (counted as occupying that CPU, never touched). If the
 *  affinity of a vCPU changes behind autopin's back it is released (never
 *  touched again, not restored on exit). A vCPU whose thread changed is
 *  released and re-learnt.
 */
#ifndef VCPUSTAT_AUTOPIN_POLICY_H
#define VCPUSTAT_AUTOPIN_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "affinity.h"
#include "vsnl.h"

struct ap_config {
	uint64_t window_ns;		/* --window, 5 s */
	uint32_t max_migrations;	/* --max-migrations, per window, 10 */
	bool numa_trigger;		/* pin on any cross-node migration */
	bool allow_isolated;		/* --allow-isolated */
	bool no_smt_share;		/* --no-smt-share */
	bool rehome;			/* run-queue based moves (--no-rehome) */
	uint64_t dwell_ns;		/* --dwell, 30 s */
	double rq_threshold;		/* --rq-threshold PCT/100, 0.10 */
	double rq_growth;		/* --rq-growth, 2.0 */
	uint32_t rq_windows;		/* --rq-windows, 2 */
	bool dry_run;			/* affinities are never really set */
};

void ap_config_default(struct ap_config *cfg);

enum ap_action {
	AP_PIN = 1,	/* floating -> home (cpus = {to}) */
	AP_MOVE,	/* home -> another home (cpus = {to}) */
	AP_RESTORE,	/* back to the original affinity (cpus = original) */
	AP_SKIP,	/* would pin/move but there is no acceptable CPU */
	AP_RELEASE,	/* stop managing this vCPU; nothing to apply */
	AP_FORGET,	/* the VM is gone; its state dropped */
};

enum ap_reason {
	AP_R_RATE = 1,		/* too many migrations in the window */
	AP_R_NUMA,		/* migrated across NUMA nodes */
	AP_R_RQDELAY,		/* run-queue wait grew on the home CPU */
	AP_R_SHARED,		/* home shared with another VM; free CPU now */
	AP_R_EXTERNAL,		/* affinity changed by someone else */
	AP_R_TID,		/* the vCPU is now run by another thread */
	AP_R_VM_GONE,		/* VM_GONE event */
	AP_R_EXIT,		/* autopin is exiting */
	AP_R_APPLY_FAILED,	/* the driver could not apply a decision */
};

struct ap_decision {
	enum ap_action action;
	enum ap_reason reason;
	uint64_t vm_id;
	uint32_t pid;
	uint32_t vcpu_id;
	uint32_t tid;
	int from;		/* current home, else last pCPU; -1 unknown */
	int to;			/* new home; -1 if none */
	struct cpuset cpus;	/* affinity to apply (PIN/MOVE/RESTORE) */
	/* The numbers behind it (0 / -1 where they do not apply). */
	uint64_t window_ns;	/* how long the evidence covers */
	uint64_t migrations;	/* in that window */
	uint64_t remote;	/* cross-node migrations in that window */
	uint32_t max_migrations;
	int top_cpu;		/* most resident CPU in the window */
	uint64_t top_exits;
	uint64_t home_exits;	/* exits on `to` in the window */
	uint64_t total_exits;	/* all exits in the window */
	int node;		/* NUMA node of `to` */
	int vm_node;		/* the VM's dominant node, -1 none */
	int sharers;		/* managed vCPUs already on `to` */
	double rq_share;	/* run-queue wait share now */
	double rq_baseline;	/* ... before it was pinned */
	uint64_t dwell_ns;	/* time on the old home */
	uint32_t vcpus;		/* AP_FORGET: vCPUs dropped */
	uint32_t pinned;	/* AP_FORGET: of which pinned */
	char why[200];		/* free text: which constraint decided */
};

struct ap_policy;

/* Both cfg and topo are copied. NULL on allocation failure. */
struct ap_policy *ap_new(const struct ap_config *cfg,
			 const struct vs_topo *topo);
void ap_free(struct ap_policy *p);

/* Start managing a VM (VM_NEW, or first seen in a snapshot). Idempotent.
 * 0 or -ENOMEM. */
int ap_vm_add(struct ap_policy *p, uint64_t vm_id, uint32_t pid);
bool ap_vm_known(const struct ap_policy *p, uint64_t vm_id);
/* VM_GONE: drop its state, queue one AP_FORGET (if it was known). */
void ap_vm_gone(struct ap_policy *p, uint64_t vm_id);

/*
 * The module went away (it may come back as a new load, whose VM ids
 * start again at 1). Every VM is detached: its id names nothing any more,
 * it gets no decisions, but its vCPUs keep their state: pins stay in
 * effect (and occupy their CPUs for placement), and ap_restore_all()
 * still restores them. A vCPU sampled in a new load with the same vCPU
 * id, thread and VM pid as a detached one takes that state over (its
 * counters are then the new load's, from 0). VMs with no vCPU are dropped.
 */
void ap_module_gone(struct ap_policy *p);
/* vCPUs autopin changed that belong to a detached VM (not found again). */
size_t ap_detached_pins(const struct ap_policy *p);

/* One vCPU from a snapshot, counters cumulative as the module reports. */
struct ap_sample {
	uint64_t vm_id;
	uint32_t vcpu_id;
	uint32_t tid;			/* 0: unknown (never ran): ignored */
	uint32_t pcpu;			/* VS_NO_CPU if unknown */
	uint64_t migrations;		/* VCPUSTAT_VCPU_A_MIGRATIONS */
	uint64_t migr_remote;		/* VCPUSTAT_VCPU_A_MIGR_REMOTE */
	const struct vs_residency *residency;	/* cumulative exits per CPU */
	size_t nr_residency;
	bool have_affinity;		/* sched_getaffinity(tid) worked */
	struct cpuset affinity;
	bool have_rq;			/* schedstat read worked */
	uint64_t rq_wait_ns;		/* schedstat field 2, cumulative */
};

/* Feed one sample (unknown VMs are ignored). 0 or -ENOMEM. */
int ap_sample(struct ap_policy *p, const struct ap_sample *s, uint64_t now);

/*
 * Cumulative time each CPU 0..n-1 was busy and in total, in one unit (the
 * driver uses the ticks of /proc/stat); total[c] == 0: unknown. Over
 * intervals of at least half a window it gives every CPU's load, which
 * keeps moves of pinned vCPUs off CPUs that other work keeps busy. Never
 * fed: no CPU counts as busy.
 */
void ap_cpu_times(struct ap_policy *p, const uint64_t *busy,
		  const uint64_t *total, int n, uint64_t now);

/*
 * A MIGRATE_NTF (n = 1 + suppressed) or the migrations of a DELTA_NTF.
 * Returns true when the vCPU's window already warrants a decision: the
 * driver should take a snapshot of that VM now, feed it and call
 * ap_decide() instead of waiting for the window to end. Returns true at
 * most once per vCPU per window.
 */
bool ap_migration(struct ap_policy *p, uint64_t vm_id, uint32_t vcpu_id,
		  uint32_t distance, uint64_t n, uint64_t now);

/* Evaluate every managed vCPU; queues decisions. */
void ap_decide(struct ap_policy *p, uint64_t now);

/* Queue AP_RESTORE for every vCPU whose affinity autopin changed. */
void ap_restore_all(struct ap_policy *p);

/*
 * The decisions queued since the last call, in the order they were made
 * (VMs by id, vCPUs by id). The array stays valid until the next
 * ap_take() (ap_apply_failed() may be called while walking it).
 */
const struct ap_decision *ap_take(struct ap_policy *p, size_t *n);

/*
 * The driver could not apply d (err = -errno). -ESRCH: the thread is gone,
 * its state is dropped (re-learnt if it shows up again). Otherwise the vCPU
 * goes back to floating-but-unmanaged: it is never acted on again, and an
 * AP_RELEASE with reason AP_R_APPLY_FAILED is queued.
 */
void ap_apply_failed(struct ap_policy *p, const struct ap_decision *d,
		     int err);

/* Introspection for tests and status output. */
enum ap_vstate {
	AP_ST_NONE = 0,		/* not known */
	AP_ST_FLOATING,
	AP_ST_PINNED,
	AP_ST_FIXED,		/* single-CPU affinity when first seen */
	AP_ST_RELEASED,		/* hands off */
};
enum ap_vstate ap_vcpu_state(const struct ap_policy *p, uint64_t vm_id,
			     uint32_t vcpu_id, int *home);
const char *ap_action_name(enum ap_action a);
const char *ap_reason_name(enum ap_reason r);
const char *ap_vstate_name(enum ap_vstate s);
/* One log line (no newline), e.g. "pin vm 1 pid 42 vcpu 0 tid 43 3 -> 5:
 * 37 migrations in 5.0s > 10; ...". Returns like snprintf. */
int ap_decision_format(const struct ap_decision *d, char *buf, size_t len);

#endif /* VCPUSTAT_AUTOPIN_POLICY_H */
