// SPDX-License-Identifier: GPL-2.0
/*
 * autopin_policy.c - the pure decision core of `vcpustat autopin`.
 * See autopin_policy.h for the policy in words.
 */
#include "autopin_policy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_SEC 1000000000ULL
/*
 * Each run-queue move in a row doubles the dwell before the next one, up
 * to 2^AP_BACKOFF_MAX times --dwell: contention that follows a vCPU to
 * every new home (a co-scheduled partner, another tool's placement) must
 * not turn autopin into a chaser that moves it every dwell period.
 */
#define AP_BACKOFF_MAX 3

struct ap_vcpu {
	uint32_t vcpu_id;
	uint32_t tid;
	enum ap_vstate state;
	struct cpuset orig;		/* affinity when first seen */
	int home;			/* PINNED: the home CPU */
	int cur_single;			/* current affinity is this one CPU */
	int last_pcpu;			/* -1 unknown */
	bool dirty;			/* our affinity is (would be) in effect */
	uint64_t placed_at;		/* last pin or move */

	/* previous cumulative counters */
	bool have_prev;
	uint64_t prev_migr, prev_remote;
	uint64_t *prev_resid;		/* [nr_cpus] */

	/* current window */
	uint64_t win_start;
	bool win_data;
	uint64_t win_migr, win_remote;
	uint64_t *win_resid;		/* [nr_cpus] */
	uint64_t win_total;
	uint64_t evt_migr, evt_remote;	/* from events, for early triggers */
	bool eval_requested;

	/* run-queue wait: a measurement runs from (rq_wait, rq_ts) */
	bool rq_have;
	uint64_t rq_wait, rq_ts;
	uint64_t rq_last_wait, rq_last_ts;	/* the latest sample */
	bool rq_valid, rq_fresh;
	double rq_share;
	double rq_baseline;
	uint32_t rq_over;		/* measurements over, in a row */
	uint32_t rq_moves;		/* rq-delay moves in a row */
	uint64_t rq_calm_since;		/* no measurement over since */

	uint64_t skip_key;		/* last SKIP logged, 0: none */
};

struct ap_vm {
	uint64_t id;
	uint32_t pid;
	bool detached;			/* from before a module reload */
	struct ap_vcpu *v;		/* ascending vcpu_id */
	size_t nv, capv;
	uint64_t *node_exits;		/* [nr_nodes], since first seen */
};

struct ap_policy {
	struct ap_config cfg;
	struct vs_topo topo;
	struct ap_vm *vms;		/* ascending id */
	size_t nvm, capvm;
	uint64_t *cool_until;		/* [nr_cpus] */
	/* CPU load from ap_cpu_times(), [nr_cpus] */
	bool cpu_have;
	uint64_t cpu_ts;
	uint64_t *cpu_busy, *cpu_total;	/* cumulative, at cpu_ts */
	double *cpu_load;		/* busy share lately, <0: unknown */
	struct ap_decision *q, *out;
	size_t nq, capq, capout;
	/* scratch for choose_home, [nr_cpus] */
	int *same_cnt, *other_cnt;
};

void ap_config_default(struct ap_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->window_ns = 5 * NS_PER_SEC;
	cfg->max_migrations = 10;
	cfg->numa_trigger = true;
	cfg->rehome = true;
	cfg->dwell_ns = 30 * NS_PER_SEC;
	cfg->rq_threshold = 0.10;
	cfg->rq_growth = 2.0;
	cfg->rq_windows = 2;
}

/* ---- names and formatting ------------------------------------------- */

const char *ap_action_name(enum ap_action a)
{
	switch (a) {
	case AP_PIN: return "pin";
	case AP_MOVE: return "move";
	case AP_RESTORE: return "restore";
	case AP_SKIP: return "skip";
	case AP_RELEASE: return "release";
	case AP_FORGET: return "forget";
	}
	return "?";
}

const char *ap_reason_name(enum ap_reason r)
{
	switch (r) {
	case AP_R_RATE: return "rate";
	case AP_R_NUMA: return "numa";
	case AP_R_RQDELAY: return "rq-delay";
	case AP_R_SHARED: return "shared";
	case AP_R_EXTERNAL: return "external";
	case AP_R_TID: return "tid-changed";
	case AP_R_VM_GONE: return "vm-gone";
	case AP_R_EXIT: return "exit";
	case AP_R_APPLY_FAILED: return "apply-failed";
	}
	return "?";
}

const char *ap_vstate_name(enum ap_vstate s)
{
	switch (s) {
	case AP_ST_NONE: return "none";
	case AP_ST_FLOATING: return "floating";
	case AP_ST_PINNED: return "pinned";
	case AP_ST_FIXED: return "fixed";
	case AP_ST_RELEASED: return "released";
	}
	return "?";
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

int ap_decision_format(const struct ap_decision *d, char *buf, size_t len)
{
	char cpus[256];
	size_t n = 0;
	int r;

#define OUT(...)                                                        \
	do {                                                            \
		r = snprintf(buf + (n < len ? n : len),                 \
			     n < len ? len - n : 0, __VA_ARGS__);       \
		if (r > 0)                                              \
			n += (size_t)r;                                 \
	} while (0)

	if (len)
		buf[0] = '\0';
	if (d->action == AP_FORGET) {
		OUT("forget vm %llu pid %u: %s: %u vCPUs dropped, %u of them pinned",
		    (unsigned long long)d->vm_id, d->pid,
		    ap_reason_name(d->reason), d->vcpus, d->pinned);
		return (int)n;
	}
	OUT("%s vm %llu pid %u vcpu %u tid %u", ap_action_name(d->action),
	    (unsigned long long)d->vm_id, d->pid, d->vcpu_id, d->tid);
	switch (d->action) {
	case AP_PIN:
		OUT(" -> cpu %d", d->to);
		if (d->from >= 0)
			OUT(" (last ran on %d)", d->from);
		break;
	case AP_MOVE:
		OUT(" cpu %d -> %d", d->from, d->to);
		break;
	case AP_RESTORE:
		cpuset_format(&d->cpus, cpus, sizeof(cpus));
		if (d->from >= 0)
			OUT(" cpu %d -> %s", d->from, cpus);
		else
			OUT(" -> %s", cpus);
		break;
	default:
		if (d->from >= 0)
			OUT(" (cpu %d)", d->from);
		break;
	}
	OUT(": %s", ap_reason_name(d->reason));
	switch (d->reason) {
	case AP_R_RATE:
	case AP_R_NUMA:
		OUT(": %llu migrations (%llu cross-node) in %.2fs, max %u",
		    (unsigned long long)d->migrations,
		    (unsigned long long)d->remote,
		    (double)d->window_ns / 1e9, d->max_migrations);
		break;
	case AP_R_RQDELAY:
		OUT(": run-queue wait %.1f%% (%.1f%% before pinning) after %.1fs on cpu %d",
		    d->rq_share * 100.0, d->rq_baseline * 100.0,
		    (double)d->dwell_ns / 1e9, d->from);
		break;
	case AP_R_SHARED:
		OUT(": after %.1fs on cpu %d", (double)d->dwell_ns / 1e9,
		    d->from);
		break;
	default:
		break;
	}
	if ((d->action == AP_PIN || d->action == AP_MOVE) && d->to >= 0) {
		OUT("; cpu %d: %.0f%% of %llu exits, node %d", d->to,
		    pct(d->home_exits, d->total_exits),
		    (unsigned long long)d->total_exits, d->node);
		if (d->vm_node >= 0)
			OUT(" (VM node %d)", d->vm_node);
		if (d->sharers)
			OUT(", shared with %d vCPU(s)", d->sharers);
	}
	if (d->why[0])
		OUT("; %s", d->why);
#undef OUT
	return (int)n;
}

/* ---- bookkeeping ---------------------------------------------------- */

static int ncpu(const struct ap_policy *p)
{
	return p->topo.nr_cpus;
}

static void vcpu_free(struct ap_vcpu *v)
{
	free(v->prev_resid);
	free(v->win_resid);
}

static void vm_free(struct ap_vm *vm)
{
	for (size_t i = 0; i < vm->nv; i++)
		vcpu_free(&vm->v[i]);
	free(vm->v);
	free(vm->node_exits);
}

struct ap_policy *ap_new(const struct ap_config *cfg,
			 const struct vs_topo *topo)
{
	struct ap_policy *p = calloc(1, sizeof(*p));
	size_t n;

	if (!p)
		return NULL;
	p->cfg = *cfg;
	if (!p->cfg.window_ns)
		p->cfg.window_ns = NS_PER_SEC;
	if (!p->cfg.rq_windows)
		p->cfg.rq_windows = 1;
	p->topo = *topo;
	p->topo.cpu = NULL;
	if (p->topo.nr_cpus < 1)
		p->topo.nr_cpus = 1;
	if (p->topo.nr_cpus > CPUSET_MAX)
		p->topo.nr_cpus = CPUSET_MAX;
	if (p->topo.nr_nodes < 1)
		p->topo.nr_nodes = 1;
	n = (size_t)p->topo.nr_cpus;
	p->topo.cpu = calloc(n, sizeof(*p->topo.cpu));
	p->cool_until = calloc(n, sizeof(*p->cool_until));
	p->same_cnt = calloc(n, sizeof(int));
	p->other_cnt = calloc(n, sizeof(int));
	p->cpu_busy = calloc(n, sizeof(*p->cpu_busy));
	p->cpu_total = calloc(n, sizeof(*p->cpu_total));
	p->cpu_load = calloc(n, sizeof(*p->cpu_load));
	if (!p->topo.cpu || !p->cool_until || !p->same_cnt || !p->other_cnt ||
	    !p->cpu_busy || !p->cpu_total || !p->cpu_load) {
		ap_free(p);
		return NULL;
	}
	for (size_t c = 0; c < n; c++)
		p->cpu_load[c] = -1.0;
	for (int c = 0; c < p->topo.nr_cpus; c++) {
		struct vs_topo_cpu *tc = &p->topo.cpu[c];

		if (topo->cpu && c < topo->nr_cpus) {
			*tc = topo->cpu[c];
		} else {
			tc->core = tc->llc = c;
		}
		if (tc->node < 0 || tc->node >= p->topo.nr_nodes)
			tc->node = 0;
	}
	return p;
}

void ap_free(struct ap_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nvm; i++)
		vm_free(&p->vms[i]);
	free(p->vms);
	free(p->topo.cpu);
	free(p->cool_until);
	free(p->same_cnt);
	free(p->other_cnt);
	free(p->cpu_busy);
	free(p->cpu_total);
	free(p->cpu_load);
	free(p->q);
	free(p->out);
	free(p);
}

/* Module VM ids name attached VMs only: a detached VM's id is stale. */
static struct ap_vm *vm_find(const struct ap_policy *p, uint64_t id)
{
	for (size_t i = 0; i < p->nvm; i++)
		if (p->vms[i].id == id && !p->vms[i].detached)
			return &p->vms[i];
	return NULL;
}

bool ap_vm_known(const struct ap_policy *p, uint64_t vm_id)
{
	return vm_find(p, vm_id) != NULL;
}

int ap_vm_add(struct ap_policy *p, uint64_t vm_id, uint32_t pid)
{
	struct ap_vm *vm = vm_find(p, vm_id);
	size_t at;

	if (vm) {
		vm->pid = pid;
		return 0;
	}
	if (p->nvm == p->capvm) {
		size_t cap = p->capvm ? p->capvm * 2 : 8;
		struct ap_vm *nv = realloc(p->vms, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		p->vms = nv;
		p->capvm = cap;
	}
	for (at = 0; at < p->nvm && p->vms[at].id < vm_id; at++)
		;
	memmove(&p->vms[at + 1], &p->vms[at],
		(p->nvm - at) * sizeof(*p->vms));
	vm = &p->vms[at];
	memset(vm, 0, sizeof(*vm));
	vm->id = vm_id;
	vm->pid = pid;
	vm->node_exits = calloc((size_t)p->topo.nr_nodes,
				sizeof(*vm->node_exits));
	if (!vm->node_exits) {
		memmove(&p->vms[at], &p->vms[at + 1],
			(p->nvm - at) * sizeof(*p->vms));
		return -ENOMEM;
	}
	p->nvm++;
	return 0;
}

static struct ap_vcpu *vcpu_find(const struct ap_vm *vm, uint32_t id)
{
	for (size_t i = 0; i < vm->nv; i++)
		if (vm->v[i].vcpu_id == id)
			return &vm->v[i];
	return NULL;
}

static void vcpu_reset(struct ap_policy *p, struct ap_vcpu *v, uint32_t tid)
{
	uint64_t *pr = v->prev_resid, *wr = v->win_resid;
	uint32_t id = v->vcpu_id;

	memset(v, 0, sizeof(*v));
	v->vcpu_id = id;
	v->tid = tid;
	v->state = AP_ST_NONE;
	v->home = -1;
	v->cur_single = -1;
	v->last_pcpu = -1;
	v->prev_resid = pr;
	v->win_resid = wr;
	memset(pr, 0, (size_t)ncpu(p) * sizeof(*pr));
	memset(wr, 0, (size_t)ncpu(p) * sizeof(*wr));
}

static void vcpu_remove(struct ap_vm *vm, struct ap_vcpu *v)
{
	size_t at = (size_t)(v - vm->v);

	vcpu_free(v);
	memmove(&vm->v[at], &vm->v[at + 1],
		(vm->nv - at - 1) * sizeof(*vm->v));
	vm->nv--;
}

/* Room for vCPU @id in its place (ascending ids); counted in vm->nv. */
static struct ap_vcpu *vcpu_slot(struct ap_vm *vm, uint32_t id)
{
	struct ap_vcpu *v;
	size_t at;

	if (vm->nv == vm->capv) {
		size_t cap = vm->capv ? vm->capv * 2 : 4;
		struct ap_vcpu *nv = realloc(vm->v, cap * sizeof(*nv));

		if (!nv)
			return NULL;
		vm->v = nv;
		vm->capv = cap;
	}
	for (at = 0; at < vm->nv && vm->v[at].vcpu_id < id; at++)
		;
	memmove(&vm->v[at + 1], &vm->v[at], (vm->nv - at) * sizeof(*vm->v));
	vm->nv++;
	v = &vm->v[at];
	memset(v, 0, sizeof(*v));
	v->vcpu_id = id;
	return v;
}

static struct ap_vcpu *vcpu_add(struct ap_policy *p, struct ap_vm *vm,
				uint32_t id, uint32_t tid)
{
	struct ap_vcpu *v = vcpu_slot(vm, id);

	if (!v)
		return NULL;
	v->prev_resid = calloc((size_t)ncpu(p), sizeof(uint64_t));
	v->win_resid = calloc((size_t)ncpu(p), sizeof(uint64_t));
	if (!v->prev_resid || !v->win_resid) {
		vcpu_remove(vm, v);
		return NULL;
	}
	vcpu_reset(p, v, tid);
	return v;
}

static struct ap_decision *queue(struct ap_policy *p, enum ap_action a,
				 enum ap_reason r, const struct ap_vm *vm,
				 const struct ap_vcpu *v)
{
	struct ap_decision *d;

	if (p->nq == p->capq) {
		size_t cap = p->capq ? p->capq * 2 : 16;
		struct ap_decision *nq = realloc(p->q, cap * sizeof(*nq));

		if (!nq)
			return NULL;
		p->q = nq;
		p->capq = cap;
	}
	d = &p->q[p->nq++];
	memset(d, 0, sizeof(*d));
	d->action = a;
	d->reason = r;
	d->vm_id = vm->id;
	d->pid = vm->pid;
	d->from = -1;
	d->to = -1;
	d->top_cpu = -1;
	d->node = -1;
	d->vm_node = -1;
	d->max_migrations = p->cfg.max_migrations;
	if (v) {
		d->vcpu_id = v->vcpu_id;
		d->tid = v->tid;
		d->from = v->state == AP_ST_PINNED ? v->home : v->last_pcpu;
	}
	return d;
}

static void why(struct ap_decision *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void why(struct ap_decision *d, const char *fmt, ...)
{
	size_t n = strlen(d->why);
	va_list ap;

	if (n >= sizeof(d->why) - 1)
		return;
	if (n)
		d->why[n++] = ' ', d->why[n] = '\0';
	va_start(ap, fmt);
	vsnprintf(d->why + n, sizeof(d->why) - n, fmt, ap);
	va_end(ap);
}

/* Drop a trailing ';' of d->why: the last clause needs none. */
static void why_trim(struct ap_decision *d)
{
	size_t n = strlen(d->why);

	if (n && d->why[n - 1] == ';')
		d->why[n - 1] = '\0';
}

/* End the current clause of d->why, so that the next why() starts one. */
static void why_sep(struct ap_decision *d)
{
	size_t n = strlen(d->why);

	if (n && d->why[n - 1] != ';' && n < sizeof(d->why) - 1) {
		d->why[n] = ';';
		d->why[n + 1] = '\0';
	}
}

const struct ap_decision *ap_take(struct ap_policy *p, size_t *n)
{
	struct ap_decision *t = p->out;
	size_t cap = p->capout;

	p->out = p->q;
	p->capout = p->capq;
	*n = p->nq;
	p->q = t;
	p->capq = cap;
	p->nq = 0;
	return p->out;
}

enum ap_vstate ap_vcpu_state(const struct ap_policy *p, uint64_t vm_id,
			     uint32_t vcpu_id, int *home)
{
	const struct ap_vm *vm = vm_find(p, vm_id);
	const struct ap_vcpu *v = vm ? vcpu_find(vm, vcpu_id) : NULL;

	if (home)
		*home = v && v->state == AP_ST_PINNED ? v->home : -1;
	return v ? v->state : AP_ST_NONE;
}

/* ---- events and samples --------------------------------------------- */

/* Drop @vm from p->vms (pointers into p->vms move). */
static void vm_drop(struct ap_policy *p, struct ap_vm *vm)
{
	size_t at = (size_t)(vm - p->vms);

	vm_free(vm);
	memmove(&p->vms[at], &p->vms[at + 1],
		(p->nvm - at - 1) * sizeof(*p->vms));
	p->nvm--;
}

void ap_module_gone(struct ap_policy *p)
{
	size_t i = 0;

	while (i < p->nvm) {
		struct ap_vm *vm = &p->vms[i];

		if (!vm->nv) {
			vm_drop(p, vm);
			continue;
		}
		vm->detached = true;
		for (size_t j = 0; j < vm->nv; j++) {
			struct ap_vcpu *v = &vm->v[j];

			/* The next load counts from 0: its counters are the
			 * deltas since the reload. */
			v->prev_migr = v->prev_remote = 0;
			memset(v->prev_resid, 0,
			       (size_t)ncpu(p) * sizeof(*v->prev_resid));
			v->evt_migr = v->evt_remote = 0;
			v->eval_requested = false;
		}
		i++;
	}
}

size_t ap_detached_pins(const struct ap_policy *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->nvm; i++)
		for (size_t j = 0; p->vms[i].detached && j < p->vms[i].nv; j++)
			n += p->vms[i].v[j].dirty;
	return n;
}

/*
 * A vCPU that a new load of the module numbers anew: the same thread
 * running the same vCPU id in a VM of the same process is the vCPU that
 * was known before the reload. Move its state (home, original affinity,
 * windows) over. The detached VM left empty is dropped by ap_decide(),
 * which holds no pointer into p->vms.
 */
static struct ap_vcpu *adopt(struct ap_policy *p, struct ap_vm *vm,
			     const struct ap_sample *s)
{
	for (size_t i = 0; i < p->nvm; i++) {
		struct ap_vm *old = &p->vms[i];
		struct ap_vcpu *ov, *v;
		size_t at;

		if (!old->detached || old->pid != vm->pid)
			continue;
		ov = vcpu_find(old, s->vcpu_id);
		if (!ov || ov->tid != s->tid)
			continue;
		v = vcpu_slot(vm, s->vcpu_id);
		if (!v)
			return NULL;
		*v = *ov;
		at = (size_t)(ov - old->v);
		memmove(&old->v[at], &old->v[at + 1],
			(old->nv - at - 1) * sizeof(*old->v));
		old->nv--;
		for (int n = 0; n < p->topo.nr_nodes; n++) {
			vm->node_exits[n] += old->node_exits[n];
			old->node_exits[n] = 0;
		}
		return v;
	}
	return NULL;
}

void ap_vm_gone(struct ap_policy *p, uint64_t vm_id)
{
	struct ap_vm *vm = vm_find(p, vm_id);
	struct ap_decision *d;

	if (!vm)
		return;
	d = queue(p, AP_FORGET, AP_R_VM_GONE, vm, NULL);
	if (d) {
		d->vcpus = (uint32_t)vm->nv;
		for (size_t i = 0; i < vm->nv; i++)
			if (vm->v[i].state == AP_ST_PINNED)
				d->pinned++;
	}
	vm_drop(p, vm);
}

static void window_reset(struct ap_policy *p, struct ap_vcpu *v,
			 uint64_t now)
{
	v->win_start = now;
	v->win_data = false;
	v->win_migr = v->win_remote = 0;
	v->win_total = 0;
	memset(v->win_resid, 0, (size_t)ncpu(p) * sizeof(*v->win_resid));
	v->evt_migr = v->evt_remote = 0;
	v->eval_requested = false;
}

static int single_cpu(const struct cpuset *s)
{
	return cpuset_count(s) == 1 ? cpuset_next(s, 0) : -1;
}

/*
 * Run-queue wait: a share is measured over at least half a window, from
 * (rq_wait, rq_ts) to this sample. The latest sample is kept so that a
 * pin or move can start a measurement of the new home (rq_restart()).
 */
static void rq_sample(struct ap_policy *p, struct ap_vcpu *v, uint64_t wait,
		      uint64_t now)
{
	v->rq_last_wait = wait;
	v->rq_last_ts = now;
	if (!v->rq_have || now <= v->rq_ts || wait < v->rq_wait) {
		/* first sample, clock or counter went back: start over */
		v->rq_have = true;
		v->rq_wait = wait;
		v->rq_ts = now;
		return;
	}
	if (now - v->rq_ts < p->cfg.window_ns / 2)
		return;
	v->rq_share = (double)(wait - v->rq_wait) / (double)(now - v->rq_ts);
	v->rq_valid = true;
	v->rq_fresh = true;
	v->rq_wait = wait;
	v->rq_ts = now;
}

/*
 * The vCPU was just placed on a new home: what it waited before (on the
 * old home, or floating) says nothing about the new one, so the next
 * measurement starts at the latest sample and the streak starts at zero.
 */
static void rq_restart(struct ap_vcpu *v, uint64_t now)
{
	if (v->rq_have) {
		v->rq_wait = v->rq_last_wait;
		v->rq_ts = v->rq_last_ts;
	}
	v->rq_fresh = false;
	v->rq_over = 0;
	v->rq_calm_since = now;
}

int ap_sample(struct ap_policy *p, const struct ap_sample *s, uint64_t now)
{
	struct ap_vm *vm = vm_find(p, s->vm_id);
	struct ap_vcpu *v;
	uint64_t dm, dr;

	if (!vm || !s->tid)
		return 0;
	v = vcpu_find(vm, s->vcpu_id);
	if (!v)
		v = adopt(p, vm, s);
	if (!v) {
		v = vcpu_add(p, vm, s->vcpu_id, s->tid);
		if (!v)
			return -ENOMEM;
	} else if (v->tid != s->tid) {
		/* Another thread runs this vCPU now: put the old one back if
		 * it still exists (the driver checks), learn the new one. */
		if (v->dirty) {
			struct ap_decision *d = queue(p, AP_RESTORE, AP_R_TID,
						      vm, v);
			if (d)
				d->cpus = v->orig;
		} else if (v->state == AP_ST_PINNED) {
			queue(p, AP_RELEASE, AP_R_TID, vm, v);
		}
		vcpu_reset(p, v, s->tid);
	}
	if (s->pcpu != VS_NO_CPU && (int)s->pcpu < ncpu(p))
		v->last_pcpu = (int)s->pcpu;

	if (v->state == AP_ST_NONE) {
		int one;

		if (!s->have_affinity)
			return 0;	/* learn it on the next sample */
		v->orig = s->affinity;
		one = single_cpu(&s->affinity);
		v->cur_single = one;
		v->state = one >= 0 ? AP_ST_FIXED : AP_ST_FLOATING;
		v->have_prev = true;
		v->prev_migr = s->migrations;
		v->prev_remote = s->migr_remote;
		for (size_t i = 0; i < s->nr_residency; i++)
			if ((int)s->residency[i].cpu < ncpu(p))
				v->prev_resid[s->residency[i].cpu] =
					s->residency[i].exits;
		window_reset(p, v, now);
		if (s->have_rq)
			rq_sample(p, v, s->rq_wait_ns, now);
		return 0;
	}

	if (s->have_affinity && v->state != AP_ST_RELEASED) {
		struct cpuset expect;

		v->cur_single = single_cpu(&s->affinity);
		if (v->state == AP_ST_PINNED && !p->cfg.dry_run) {
			cpuset_zero(&expect);
			cpuset_set(&expect, v->home);
		} else {
			expect = v->orig;
		}
		if (!cs_equal(&expect, &s->affinity)) {
			if (v->state == AP_ST_PINNED) {
				struct ap_decision *d;
				char now_cpus[256];

				d = queue(p, AP_RELEASE, AP_R_EXTERNAL, vm, v);
				if (d) {
					cpuset_format(&s->affinity, now_cpus,
						       sizeof(now_cpus));
					why(d, "affinity is now %s, set by someone else; hands off",
					    now_cpus);
				}
				v->state = AP_ST_RELEASED;
				v->dirty = false;
				v->home = -1;
			} else {
				/* Floating or fixed: the admin changed the
				 * allowed set; adopt it as the original. */
				v->orig = s->affinity;
				v->state = v->cur_single >= 0 ? AP_ST_FIXED :
							       AP_ST_FLOATING;
			}
		}
	} else if (s->have_affinity) {
		v->cur_single = single_cpu(&s->affinity);
	}

	/* Counters: a counter that went back means RESET. */
	if (s->migrations < v->prev_migr)
		memset(v->prev_resid, 0, (size_t)ncpu(p) * sizeof(uint64_t));
	dm = vs_delta(s->migrations, v->prev_migr);
	dr = vs_delta(s->migr_remote, v->prev_remote);
	v->prev_migr = s->migrations;
	v->prev_remote = s->migr_remote;
	v->win_migr += dm;
	v->win_remote += dr;
	for (size_t i = 0; i < s->nr_residency; i++) {
		uint32_t c = s->residency[i].cpu;
		uint64_t d;

		if ((int)c >= ncpu(p))
			continue;
		d = vs_delta(s->residency[i].exits, v->prev_resid[c]);
		v->prev_resid[c] = s->residency[i].exits;
		v->win_resid[c] += d;
		v->win_total += d;
		vm->node_exits[p->topo.cpu[c].node] += d;
	}
	v->win_data = true;

	if (s->have_rq)
		rq_sample(p, v, s->rq_wait_ns, now);
	return 0;
}

bool ap_migration(struct ap_policy *p, uint64_t vm_id, uint32_t vcpu_id,
		  uint32_t distance, uint64_t n, uint64_t now)
{
	struct ap_vm *vm = vm_find(p, vm_id);
	struct ap_vcpu *v = vm ? vcpu_find(vm, vcpu_id) : NULL;

	(void)now;
	if (!v || v->state != AP_ST_FLOATING)
		return false;
	v->evt_migr += n;
	if (distance == VCPUSTAT_DIST_REMOTE)
		v->evt_remote += n;
	if (v->eval_requested)
		return false;
	if (v->evt_migr > p->cfg.max_migrations ||
	    (p->cfg.numa_trigger && v->evt_remote)) {
		v->eval_requested = true;
		return true;
	}
	return false;
}

/* Keep the counters of every CPU as they are at `now`. */
static void cpu_times_store(struct ap_policy *p, const uint64_t *busy,
			    const uint64_t *total, int n, uint64_t now)
{
	for (int c = 0; c < ncpu(p); c++) {
		p->cpu_busy[c] = c < n ? busy[c] : 0;
		p->cpu_total[c] = c < n ? total[c] : 0;
	}
	p->cpu_ts = now;
	p->cpu_have = true;
}

void ap_cpu_times(struct ap_policy *p, const uint64_t *busy,
		  const uint64_t *total, int n, uint64_t now)
{
	if (!p->cpu_have || now <= p->cpu_ts) {
		cpu_times_store(p, busy, total, n, now);
		return;
	}
	/* Like the run-queue share: over at least half a window. */
	if (now - p->cpu_ts < p->cfg.window_ns / 2)
		return;
	for (int c = 0; c < ncpu(p); c++) {
		uint64_t db, dt;

		p->cpu_load[c] = -1.0;
		if (c >= n || total[c] <= p->cpu_total[c] ||
		    busy[c] < p->cpu_busy[c])
			continue;	/* unknown, offline or reset */
		db = busy[c] - p->cpu_busy[c];
		dt = total[c] - p->cpu_total[c];
		p->cpu_load[c] = db >= dt ? 1.0 : (double)db / (double)dt;
	}
	cpu_times_store(p, busy, total, n, now);
}

/*
 * Is CPU c busy for a vCPU that would move there? A CPU-bound vCPU on a
 * CPU that something else keeps busy L of the time waits about L of the
 * time: at or above --rq-threshold the move would trade one over-committed
 * CPU for another.
 */
static bool cpu_busy(const struct ap_policy *p, int c)
{
	double l = p->cpu_load[c];

	return l > 0 && l >= p->cfg.rq_threshold;
}

/* ---- choosing a home ------------------------------------------------ */

/* The CPU a vCPU occupies for placement purposes, or -1. */
static int occupied_cpu(const struct ap_vcpu *v)
{
	if (v->state == AP_ST_PINNED)
		return v->home;
	if (v->state == AP_ST_FIXED || v->state == AP_ST_RELEASED)
		return v->cur_single;
	return -1;
}

static int vm_dominant_node(const struct ap_policy *p, const struct ap_vm *vm)
{
	uint64_t best = 0;
	int node = -1;

	for (int n = 0; n < p->topo.nr_nodes; n++)
		if (vm->node_exits[n] > best) {
			best = vm->node_exits[n];
			node = n;
		}
	return node;
}

static int topo_distance(const struct ap_policy *p, int a, int b)
{
	const struct vs_topo_cpu *x, *y;

	if (a < 0 || b < 0 || a == b)
		return 0;
	x = &p->topo.cpu[a];
	y = &p->topo.cpu[b];
	if (x->core == y->core)
		return 1;
	if (x->llc == y->llc)
		return 2;
	if (x->node == y->node)
		return 3;
	return 4;
}

struct cand_key {
	int shared_other;	/* home to another VM's vCPU */
	int busy;		/* moves only: loaded by others, cpu_busy() */
	int cooling;
	int off_node;
	uint64_t exits;		/* more is better */
	int dist;
	int sharers;
	int cpu;
};

/* Is a better than b? */
static bool key_better(const struct cand_key *a, const struct cand_key *b)
{
	if (a->shared_other != b->shared_other)
		return a->shared_other < b->shared_other;
	if (a->busy != b->busy)
		return a->busy < b->busy;
	if (a->cooling != b->cooling)
		return a->cooling < b->cooling;
	if (a->off_node != b->off_node)
		return a->off_node < b->off_node;
	if (a->exits != b->exits)
		return a->exits > b->exits;
	if (a->dist != b->dist)
		return a->dist < b->dist;
	if (a->sharers != b->sharers)
		return a->sharers < b->sharers;
	return a->cpu < b->cpu;
}

struct choice {
	int cpu;		/* -1: none */
	bool moving;		/* a pinned vCPU moves: avoid busy CPUs */
	struct cand_key key;
	int top;		/* most resident CPU, -1 */
	int vm_node;
	int ncand;		/* allowed & online (& not isolated) */
	int nfree_same;		/* of those, not blocked by the same VM */
};

/* Why was CPU c not the choice? Appends to d->why. */
static void explain(const struct ap_policy *p, const struct ap_vm *vm,
		    const struct ap_vcpu *self, int c, const struct cpuset *cands,
		    const struct choice *ch, struct ap_decision *d,
		    const char *what)
{
	const struct cand_key *best = &ch->key;
	const struct vs_topo_cpu *tc;

	if (c < 0 || c >= ncpu(p))
		return;
	tc = &p->topo.cpu[c];
	if (!cpuset_isset(&self->orig, c)) {
		why(d, "%s cpu %d is outside its allowed CPUs;", what, c);
		return;
	}
	if (!tc->online) {
		why(d, "%s cpu %d is offline;", what, c);
		return;
	}
	if (tc->isolated && !p->cfg.allow_isolated) {
		why(d, "%s cpu %d is isolated (--allow-isolated);", what, c);
		return;
	}
	if (!cpuset_isset(cands, c)) {
		why(d, "%s cpu %d excluded;", what, c);
		return;
	}
	for (size_t i = 0; i < vm->nv; i++) {
		const struct ap_vcpu *o = &vm->v[i];
		int oc = occupied_cpu(o);

		if (o == self || oc < 0)
			continue;
		if (oc == c) {
			why(d, "%s cpu %d is home to vcpu %u of this VM;", what,
			    c, o->vcpu_id);
			return;
		}
		if (p->cfg.no_smt_share &&
		    p->topo.cpu[oc].core == tc->core) {
			why(d, "%s cpu %d is an SMT sibling of cpu %d, home to vcpu %u of this VM (--no-smt-share);",
			    what, c, oc, o->vcpu_id);
			return;
		}
	}
	if (p->other_cnt[c] && !best->shared_other) {
		why(d, "%s cpu %d is home to %d vCPU(s) of other VMs;", what, c,
		    p->other_cnt[c]);
		return;
	}
	if (ch->moving && cpu_busy(p, c) && !best->busy) {
		why(d, "%s cpu %d is busy (%.0f%% load);", what, c,
		    p->cpu_load[c] * 100.0);
		return;
	}
	if (p->cool_until[c] && !best->cooling) {
		why(d, "%s cpu %d is cooling down after run-queue delay;", what,
		    c);
		return;
	}
	if (tc->node != d->vm_node && !best->off_node && d->vm_node >= 0) {
		why(d, "%s cpu %d is off the VM's node %d;", what, c,
		    d->vm_node);
		return;
	}
}

/*
 * Pick the best home for v among its candidates, ignoring `exclude`.
 * `moving`: v is pinned and moves, so the load of the other CPUs is that
 * of other tasks and busy ones rank last (a floating vCPU's own load is
 * all over the CPUs it ran on, so pins do not look at load).
 * Fills the numbers of d (window, residency, node) and explains in d->why.
 */
static struct choice choose_home(struct ap_policy *p, struct ap_vm *vm,
				 struct ap_vcpu *v, int exclude, bool moving,
				 uint64_t now, struct ap_decision *d)
{
	struct choice ch = { .cpu = -1, .moving = moving, .top = -1,
			     .vm_node = -1 };
	struct cpuset cands;
	uint64_t top_exits = 0;
	int c;

	/* Occupancy by every vCPU autopin knows, except v itself. */
	memset(p->same_cnt, 0, (size_t)ncpu(p) * sizeof(int));
	memset(p->other_cnt, 0, (size_t)ncpu(p) * sizeof(int));
	for (size_t i = 0; i < p->nvm; i++) {
		struct ap_vm *ovm = &p->vms[i];

		for (size_t j = 0; j < ovm->nv; j++) {
			struct ap_vcpu *o = &ovm->v[j];
			int oc = occupied_cpu(o);

			if (o == v || oc < 0 || oc >= ncpu(p))
				continue;
			if (ovm == vm)
				p->same_cnt[oc]++;
			else
				p->other_cnt[oc]++;
		}
	}

	for (c = 0; c < ncpu(p); c++)
		if (v->win_resid[c] > top_exits) {
			top_exits = v->win_resid[c];
			ch.top = c;
		}
	if (ch.top < 0)
		ch.top = v->state == AP_ST_PINNED ? v->home : v->last_pcpu;
	ch.vm_node = vm_dominant_node(p, vm);
	d->top_cpu = ch.top;
	d->top_exits = top_exits;
	d->total_exits = v->win_total;
	d->vm_node = ch.vm_node;

	cpuset_zero(&cands);
	cs_for_each(c, &v->orig) {
		const struct vs_topo_cpu *tc;

		if (c >= ncpu(p))
			break;
		tc = &p->topo.cpu[c];
		if (!tc->online || (tc->isolated && !p->cfg.allow_isolated))
			continue;
		cpuset_set(&cands, c);
	}
	ch.ncand = cpuset_count(&cands);
	if (exclude >= 0)
		cs_clear(&cands, exclude);

	cs_for_each(c, &cands) {
		const struct vs_topo_cpu *tc = &p->topo.cpu[c];
		struct cand_key k;
		bool blocked = p->same_cnt[c] > 0;

		if (!blocked && p->cfg.no_smt_share) {
			for (size_t j = 0; j < vm->nv && !blocked; j++) {
				int oc = occupied_cpu(&vm->v[j]);

				if (&vm->v[j] != v && oc >= 0 && oc != c &&
				    p->topo.cpu[oc].core == tc->core)
					blocked = true;
			}
		}
		if (blocked)
			continue;
		ch.nfree_same++;
		k.shared_other = p->other_cnt[c] > 0;
		k.busy = moving && cpu_busy(p, c);
		k.cooling = p->cool_until[c] > now;
		k.off_node = ch.vm_node >= 0 && tc->node != ch.vm_node;
		k.exits = v->win_resid[c];
		k.dist = topo_distance(p, c, ch.top);
		k.sharers = p->other_cnt[c];
		k.cpu = c;
		if (ch.cpu < 0 || key_better(&k, &ch.key)) {
			ch.cpu = c;
			ch.key = k;
		}
	}

	if (ch.cpu >= 0) {
		d->to = ch.cpu;
		d->node = p->topo.cpu[ch.cpu].node;
		d->home_exits = v->win_resid[ch.cpu];
		d->sharers = p->other_cnt[ch.cpu];
		if (ch.top >= 0 && ch.top != ch.cpu && ch.top != exclude) {
			explain(p, vm, v, ch.top, &cands, &ch, d,
				"most resident");
		} else if (ch.top == ch.cpu) {
			why(d, "cpu %d is where it ran most;", ch.cpu);
		} else if (ch.top >= 0) {
			/* Leaving top: say why a nearer CPU was passed over. */
			int best = -1, bd = topo_distance(p, ch.cpu, ch.top);

			for (c = 0; c < ncpu(p); c++) {
				int dd = topo_distance(p, c, ch.top);

				if (c != ch.cpu && c != ch.top && dd < bd) {
					bd = dd;
					best = c;
				}
			}
			if (best >= 0)
				explain(p, vm, v, best, &cands, &ch, d,
					"nearer");
		}
		if (ch.key.shared_other)
			why(d, "no CPU free of other VMs' vCPUs;");
		else if (ch.key.busy)
			why(d, "every other candidate CPU is busy;");
	} else if (!ch.ncand) {
		char orig[256];

		cpuset_format(&v->orig, orig, sizeof(orig));
		why(d, "no online%s CPU in its allowed set %s;",
		    p->cfg.allow_isolated ? "" : ", non-isolated", orig);
	} else if (exclude >= 0 && ch.ncand == 1) {
		why(d, "cpu %d is its only allowed CPU;", exclude);
	} else {
		why(d, "each of its %d allowed CPUs is home%s to another vCPU of this VM;",
		    ch.ncand, p->cfg.no_smt_share ? " (or SMT sibling of the home)" : "");
	}
	why_trim(d);
	return ch;
}

/* Log a SKIP only when its circumstances differ from the last one. */
static void skip(struct ap_policy *p, struct ap_vcpu *v, struct ap_decision *d,
		 const struct choice *ch)
{
	uint64_t key = ((uint64_t)d->reason << 56) ^
		       ((uint64_t)(unsigned)ch->ncand << 32) ^
		       ((uint64_t)(unsigned)ch->nfree_same << 8) ^
		       (uint64_t)d->action;

	if (v->skip_key == key) {
		p->nq--;	/* d is the last queued: drop it */
		return;
	}
	v->skip_key = key;
	d->action = AP_SKIP;
	d->to = -1;
}

static void place(struct ap_vcpu *v, int cpu, uint64_t now,
		  struct ap_decision *d)
{
	v->state = AP_ST_PINNED;
	v->home = cpu;
	v->placed_at = now;
	v->dirty = true;
	v->skip_key = 0;
	rq_restart(v, now);
	cpuset_zero(&d->cpus);
	cpuset_set(&d->cpus, cpu);
}

static void decide_floating(struct ap_policy *p, struct ap_vm *vm,
			    struct ap_vcpu *v, uint64_t now)
{
	uint64_t w = p->cfg.window_ns, elapsed, limit;
	bool rate, numa;

	if (!v->win_data) {
		if (now - v->win_start >= w)
			window_reset(p, v, now);
		return;
	}
	elapsed = now > v->win_start ? now - v->win_start : 1;
	/* A window that ran long (late sample) is judged per window. */
	limit = p->cfg.max_migrations;
	if (elapsed > w)
		limit = (uint64_t)((double)limit * (double)elapsed / (double)w);
	rate = v->win_migr > limit;
	numa = p->cfg.numa_trigger && v->win_remote > 0;
	if (rate || numa) {
		struct ap_decision *d = queue(p, AP_PIN,
					      numa ? AP_R_NUMA : AP_R_RATE,
					      vm, v);
		struct choice ch;

		if (!d)
			return;
		d->window_ns = elapsed;
		d->migrations = v->win_migr;
		d->remote = v->win_remote;
		d->rq_share = v->rq_valid ? v->rq_share : 0;
		ch = choose_home(p, vm, v, -1, false, now, d);
		if (ch.cpu >= 0) {
			d->rq_baseline = v->rq_valid ? v->rq_share : 0;
			v->rq_baseline = d->rq_baseline;
			place(v, ch.cpu, now, d);
		} else {
			skip(p, v, d, &ch);
		}
		window_reset(p, v, now);
	} else if (elapsed >= w - w / 10) {
		window_reset(p, v, now);
	}
}

/* vCPUs of VMs other than vm that occupy cpu. */
static int others_on(const struct ap_policy *p, const struct ap_vm *vm,
		     int cpu)
{
	int n = 0;

	for (size_t i = 0; i < p->nvm; i++) {
		if (&p->vms[i] == vm)
			continue;
		for (size_t j = 0; j < p->vms[i].nv; j++)
			if (occupied_cpu(&p->vms[i].v[j]) == cpu)
				n++;
	}
	return n;
}

/*
 * The dwell before v may move again: --dwell, doubled by each rq-delay
 * move in a row (saturating, so a huge --dwell cannot wrap).
 */
static uint64_t dwell_needed(const struct ap_policy *p,
			     const struct ap_vcpu *v)
{
	uint32_t k = v->rq_moves < AP_BACKOFF_MAX ? v->rq_moves :
						    AP_BACKOFF_MAX;

	if (p->cfg.dwell_ns > (UINT64_MAX >> k))
		return UINT64_MAX;
	return p->cfg.dwell_ns << k;
}

/*
 * Count a fresh run-queue measurement of the home into the streak. A home
 * that stayed calm for a whole --dwell ends the back-off: the next
 * contention there is a new story, not the one that followed the vCPU.
 */
static void rq_account(struct ap_policy *p, struct ap_vcpu *v, uint64_t now)
{
	bool over;

	if (!v->rq_fresh)
		return;
	v->rq_fresh = false;
	over = v->rq_share >= p->cfg.rq_threshold &&
	       v->rq_share >= p->cfg.rq_growth * v->rq_baseline;
	if (over) {
		v->rq_over++;
		v->rq_calm_since = now;
		return;
	}
	v->rq_over = 0;
	if (now - v->rq_calm_since >= p->cfg.dwell_ns)
		v->rq_moves = 0;
}

/*
 * The home was over-committed for --rq-windows measurements in a row:
 * move, but only to a CPU that is no vCPU's home, not busy with other
 * work and not cooling down. Anything else would trade one contended CPU
 * for another and come back here after the next dwell (flapping); then
 * staying is better, and a skip says why.
 */
static void move_rqdelay(struct ap_policy *p, struct ap_vm *vm,
			 struct ap_vcpu *v, uint64_t dwell, uint64_t now)
{
	struct ap_decision *d;
	struct choice ch;
	int old = v->home;

	v->rq_over = 0;
	d = queue(p, AP_MOVE, AP_R_RQDELAY, vm, v);
	if (!d)
		return;
	d->rq_share = v->rq_share;
	d->rq_baseline = v->rq_baseline;
	d->dwell_ns = dwell;
	ch = choose_home(p, vm, v, old, true, now, d);
	if (ch.cpu >= 0 && !ch.key.shared_other && !ch.key.busy &&
	    !ch.key.cooling) {
		uint64_t next;

		why_sep(d);
		if (p->cpu_load[ch.cpu] >= 0)
			why(d, "cpu %d: %.0f%% load from other work;", ch.cpu,
			    p->cpu_load[ch.cpu] * 100.0);
		if (v->rq_moves)
			why(d, "rq-delay move %u in a row;", v->rq_moves + 1);
		why_trim(d);
		place(v, ch.cpu, now, d);
		v->rq_moves++;
		next = dwell_needed(p, v);
		/*
		 * The old home stays out of reach for twice the next dwell:
		 * no ping-pong back to it while its cause may persist.
		 */
		p->cool_until[old] = next > (UINT64_MAX - now) / 2 ?
				     UINT64_MAX : now + 2 * next;
		return;
	}
	why_sep(d);
	if (ch.cpu >= 0)
		why(d, "best other cpu %d is %s; staying", ch.cpu,
		    ch.key.shared_other ? "home to another VM's vCPU" :
		    ch.key.busy ? "busy" : "cooling down");
	skip(p, v, d, &ch);
}

/* Home shared with another VM's vCPU while a free, idle CPU exists? */
static void move_shared(struct ap_policy *p, struct ap_vm *vm,
			struct ap_vcpu *v, uint64_t dwell, uint64_t now)
{
	struct ap_decision *d;
	struct choice ch;
	int old = v->home;

	d = queue(p, AP_MOVE, AP_R_SHARED, vm, v);
	if (!d)
		return;
	d->dwell_ns = dwell;
	ch = choose_home(p, vm, v, -1, true, now, d);
	if (ch.cpu >= 0 && ch.cpu != old && !ch.key.shared_other &&
	    !ch.key.busy && !ch.key.cooling) {
		why_sep(d);
		why(d, "cpu %d was also home to %d vCPU(s) of other VMs",
		    old, p->other_cnt[old]);
		place(v, ch.cpu, now, d);
	} else {
		p->nq--;	/* nothing better: no decision */
	}
}

static void decide_pinned(struct ap_policy *p, struct ap_vm *vm,
			  struct ap_vcpu *v, uint64_t now)
{
	uint64_t dwell = now - v->placed_at;

	rq_account(p, v, now);
	if (!p->cfg.rehome || dwell < dwell_needed(p, v))
		goto out;
	if (v->rq_over >= p->cfg.rq_windows)
		move_rqdelay(p, vm, v, dwell, now);
	else if (others_on(p, vm, v->home))
		move_shared(p, vm, v, dwell, now);
out:
	if (now - v->win_start >= p->cfg.window_ns)
		window_reset(p, v, now);
}

void ap_decide(struct ap_policy *p, uint64_t now)
{
	/* Expired cool-downs read as 0 so explain() stays quiet. */
	for (int c = 0; c < ncpu(p); c++)
		if (p->cool_until[c] && p->cool_until[c] <= now)
			p->cool_until[c] = 0;
	for (size_t i = 0; i < p->nvm;) {
		if (p->vms[i].detached && !p->vms[i].nv)
			vm_drop(p, &p->vms[i]);
		else
			i++;
	}
	for (size_t i = 0; i < p->nvm; i++) {
		struct ap_vm *vm = &p->vms[i];

		/* No samples reach a detached VM: nothing to decide. Its
		 * homes still count as taken (choose_home, others_on). */
		if (vm->detached)
			continue;
		for (size_t j = 0; j < vm->nv; j++) {
			struct ap_vcpu *v = &vm->v[j];

			switch (v->state) {
			case AP_ST_FLOATING:
				decide_floating(p, vm, v, now);
				break;
			case AP_ST_PINNED:
				decide_pinned(p, vm, v, now);
				break;
			default:
				if (now - v->win_start >= p->cfg.window_ns)
					window_reset(p, v, now);
				break;
			}
		}
	}
}

void ap_restore_all(struct ap_policy *p)
{
	for (size_t i = 0; i < p->nvm; i++) {
		struct ap_vm *vm = &p->vms[i];

		for (size_t j = 0; j < vm->nv; j++) {
			struct ap_vcpu *v = &vm->v[j];
			struct ap_decision *d;

			if (!v->dirty)
				continue;
			d = queue(p, AP_RESTORE, AP_R_EXIT, vm, v);
			if (d)
				d->cpus = v->orig;
			v->dirty = false;
			v->state = AP_ST_FLOATING;
			v->home = -1;
		}
	}
}

void ap_apply_failed(struct ap_policy *p, const struct ap_decision *d,
		     int err)
{
	struct ap_vm *vm = vm_find(p, d->vm_id);
	struct ap_vcpu *v = vm ? vcpu_find(vm, d->vcpu_id) : NULL;
	struct ap_decision *r;

	if (!v || v->tid != d->tid)
		return;
	if (d->action != AP_PIN && d->action != AP_MOVE)
		return;
	if (err == -ESRCH) {
		vcpu_remove(vm, v);
		return;
	}
	/* A failed PIN changed nothing; after a failed MOVE the previous
	 * home is still in effect and is restored on exit. */
	if (d->action == AP_PIN)
		v->dirty = false;
	v->state = AP_ST_RELEASED;
	v->home = -1;
	r = queue(p, AP_RELEASE, AP_R_APPLY_FAILED, vm, v);
	if (r) {
		r->from = d->to;
		why(r, "%s to cpu %d failed: %s; not managed any more",
		    ap_action_name(d->action), d->to, strerror(-err));
	}
}
