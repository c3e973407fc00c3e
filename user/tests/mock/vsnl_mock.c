// SPDX-License-Identifier: GPL-2.0
/*
 * Test double of the kernel-facing half of vsnl.c, linked into
 * gen/vcpustat-mock instead of vsnl.o so the whole tool (top, list, stat,
 * dump, watch, host) can run end to end, under ASan, without the module.
 *
 * Counters grow linearly with the time since the process started, so
 * rates are stable and predictable. Environment:
 *   VS_MOCK_VMS=N     number of VMs (default 2; 0 allowed)
 *   VS_MOCK_ERR=eperm every request fails with -EPERM and an extack message
 *   VS_MOCK_PID0=1    the first VM has pid 0 (KVM's userspace_pid unset)
 *   VS_MOCK_ERR=einval  every request fails with -EINVAL + extack
 *   VS_MOCK_GONE=A-B  the module is unloaded from A until B seconds after
 *                     the first vs_open() (fractions allowed): dumps fail
 *                     with -EPROTONOSUPPORT, other requests and vs_open()
 *                     with -ENOENT, a following events socket reports the
 *                     family going (-ENOENT) and coming back (-ESTALE);
 *                     from B on the module is back as a new load, which a
 *                     context reaches only after vs_reconnect()
 *   VS_MOCK_DETAIL=1  details on (config detail=on, detail_k 8): each
 *                     reason's timed exits also in its histogram (one
 *                     bucket, the one of its average time), and in a
 *                     snapshot the io, msr, cpuid and npf reasons carry
 *                     second-level keys with exact counts, GPA keys with
 *                     their regions (mock_keys.c has the numbers)
 *   VS_MOCK_STEP=1    snapshot N (from 0) counts exactly 10 + N seconds of
 *                     exits, not the real time: exact counts and deltas
 *                     for tests (timestamps stay the real clock)
 * One VM's comm holds quotes, a newline, a control byte and invalid UTF-8
 * to exercise JSON escaping. Snapshots name VMs 1 and 2 (mock_identity).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "mock_keys.h"
#include "snapshot.h"
#include "vsnl.h"

struct vs_ctx {
	int evfd;
	int load;		/* the load it resolved: 0, or 1 after B */
	bool follow;
	bool told_gone, told_back;
	uint64_t seq, last_seq, lost;
	bool have_seq;
	unsigned int nev;
	char extack[128];
	bool has_extack;
};

static uint64_t t0;

static uint64_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t gone_t0;	/* mono() at the first vs_open() */

/* The module's load now: 0 (before A), -1 (unloaded), 1 (from B on). */
static int mock_load(void)
{
	const char *e = getenv("VS_MOCK_GONE");
	double a, b, now;

	if (!e || sscanf(e, "%lf-%lf", &a, &b) != 2 || !gone_t0)
		return 0;
	now = (double)(mono() - gone_t0) / 1e9;
	if (now < a)
		return 0;
	return now < b ? -1 : 1;
}

/* A request of @ctx against the current load: 0 or the kernel's errno. */
static int family_err(const struct vs_ctx *ctx, bool dump)
{
	int load = mock_load();

	if (load < 0)
		return dump ? -EPROTONOSUPPORT : -ENOENT;
	return load == ctx->load ? 0 : -ENOENT;
}

static int fail_mode(struct vs_ctx *ctx)
{
	const char *e = getenv("VS_MOCK_ERR");

	if (!e)
		return 0;
	if (!strcmp(e, "eperm")) {
		snprintf(ctx->extack, sizeof(ctx->extack),
			 "mock: operation needs CAP_NET_ADMIN");
		ctx->has_extack = true;
		return -EPERM;
	}
	if (!strcmp(e, "einval")) {
		snprintf(ctx->extack, sizeof(ctx->extack),
			 "mock: snapshot_ms out of range");
		ctx->has_extack = true;
		return -EINVAL;
	}
	return 0;
}

int vs_open(struct vs_ctx **ctxp)
{
	struct vs_ctx *ctx = calloc(1, sizeof(*ctx));

	*ctxp = NULL;
	if (!ctx)
		return -ENOMEM;
	ctx->evfd = -1;
	if (!t0)
		t0 = mono() - 10ull * 1000000000ull; /* 10 s of history */
	if (!gone_t0)
		gone_t0 = mono();
	ctx->load = mock_load();
	if (ctx->load < 0) {
		free(ctx);
		return -ENOENT;
	}
	*ctxp = ctx;
	return 0;
}

int vs_reconnect(struct vs_ctx *ctx)
{
	int load = mock_load(), err;

	if (load < 0)
		return -ENOENT;
	err = load != ctx->load;
	ctx->load = load;
	ctx->told_gone = ctx->told_back = false;
	ctx->have_seq = false;
	return err;
}

void vs_close(struct vs_ctx *ctx)
{
	if (!ctx)
		return;
	if (ctx->evfd >= 0)
		close(ctx->evfd);
	free(ctx);
}

const char *vs_extack(const struct vs_ctx *ctx)
{
	return ctx && ctx->has_extack ? ctx->extack : NULL;
}

static const struct {
	uint32_t code;
	uint64_t rate;		/* per second per vCPU */
	uint64_t avg_ns;
} mock_reasons[] = {
	{ 0x7b, 1000, 4000 },	/* io */
	{ 0x400, 500, 1500 },	/* npf */
	{ 0x78, 200, 900000 },	/* hlt */
	{ 0x7c, 100, 800 },	/* msr */
	{ 0x72, 50, 600 },	/* cpuid */
	{ 0x7ff, 1, 300 },	/* a code no table knows */
	{ VCPUSTAT_CODE_OTHER, 2, 500 },
};
#define NR_MOCK (sizeof(mock_reasons) / sizeof(mock_reasons[0]))

static void fill_vcpu(struct vs_vcpu *vc, uint64_t vm_id, uint32_t pid,
		      uint32_t idx, double secs, double scale)
{
	memset(vc, 0, sizeof(*vc));
	vc->vm_id = vm_id;
	vc->pid = pid;
	vc->vcpu_id = idx;
	vc->idx = idx;
	vc->tid = pid + 10 + idx;
	vc->pcpu = idx % 2;
	vc->isa = VCPUSTAT_ISA_SVM;
	vc->reasons = calloc(NR_MOCK, sizeof(*vc->reasons));
	vc->residency = calloc(2, sizeof(*vc->residency));
	if (!vc->reasons || !vc->residency)
		abort();
	vc->nr_reasons = NR_MOCK;
	for (size_t i = 0; i < NR_MOCK; i++) {
		struct vs_reason *r = &vc->reasons[i];
		int b = 0;

		r->isa = VCPUSTAT_ISA_SVM;
		r->code = mock_reasons[i].code;
		r->count = (uint64_t)((double)mock_reasons[i].rate * secs * scale);
		r->timed = r->count;
		r->time_sum_ns = r->count * mock_reasons[i].avg_ns;
		if (r->timed) {
			r->time_min_ns = mock_reasons[i].avg_ns / 2;
			r->time_max_ns = mock_reasons[i].avg_ns * 10;
		}
		vc->exits += r->count;
		vc->timed_exits += r->timed;
		vc->exit_time_ns += r->time_sum_ns;
		while (b < VCPUSTAT_HIST_BUCKETS - 1 &&
		       (1ull << (b + 1)) <= mock_reasons[i].avg_ns)
			b++;
		vc->hist[b] += r->count;
		if (getenv("VS_MOCK_DETAIL") && r->timed) {
			/* the module's bucket of b: [2^b, 2^(b+1)) ns */
			int rb = b - VCPUSTAT_RHIST_SHIFT;

			rb = rb < 0 ? 0 : rb > VCPUSTAT_RHIST_BUCKETS - 1 ?
			     VCPUSTAT_RHIST_BUCKETS - 1 : rb;
			r->has_hist = true;
			r->hist[rb] = r->timed;
		}
	}
	vc->migrations = (uint64_t)(secs * 2);
	vc->migr[VCPUSTAT_DIST_SMT] = vc->migrations / 2;
	vc->migr[VCPUSTAT_DIST_LLC] = vc->migrations - vc->migrations / 2;
	vc->nr_residency = 2;
	vc->residency[0].cpu = 0;
	vc->residency[0].exits = vc->exits / 4;
	vc->residency[1].cpu = 1;
	vc->residency[1].exits = vc->exits - vc->exits / 4;
}

static const char *const comms[] = {
	"qemu-system-x86",
	"evil\"vm\\\n\x01\xff",	/* escaping torture */
	"cloud-hypervisor",
};

static void fill_vm(struct vs_vm *vm, unsigned int i, double secs)
{
	memset(vm, 0, sizeof(*vm));
	vm->id = i + 1;
	/* VS_MOCK_PID0: the first VM's creator is unknown to KVM */
	vm->pid = !i && getenv("VS_MOCK_PID0") ? 0 : 1000 * (i + 1);
	snprintf(vm->comm, sizeof(vm->comm), "%s", comms[i % 3]);
	snprintf(vm->stats_id, sizeof(vm->stats_id), "kvm-%u", vm->pid);
	vm->age_ns = (uint64_t)(secs * 1e9);
}

/*
 * What the tool would read from the VMMs' command lines (vmident.c): the
 * kernel never sends it, so events stay without. VM 1 is a libvirt-style
 * guest, VM 2's name has a space, quotes, a comma, a backslash and UTF-8.
 */
static void mock_identity(struct vs_vm *vm, unsigned int i)
{
	if (i == 0) {
		snprintf(vm->name, sizeof(vm->name), "web01");
		snprintf(vm->uuid, sizeof(vm->uuid),
			 "5f0c7c1e-4a62-4b55-9d1e-0123456789ab");
	} else if (i == 1) {
		snprintf(vm->name, sizeof(vm->name), "db \"prod\", \xc3\xbc\\x");
	}
}

/* The seconds of exits a snapshot counts (VS_MOCK_STEP: whole ones). */
static double snapshot_secs(void)
{
	static unsigned int nsnap;

	if (getenv("VS_MOCK_STEP"))
		return 10.0 + nsnap++;
	return (double)(mono() - t0) / 1e9;
}

/* Keys as a dump of the module sends them; DELTA events carry none. */
static void dump_keys(struct vs_vcpu *vc)
{
	if (!getenv("VS_MOCK_DETAIL"))
		return;
	for (size_t i = 0; i < vc->nr_reasons; i++)
		mock_keys_fill(&vc->reasons[i], vc->idx);
}

int vs_snapshot_get(struct vs_ctx *ctx, const struct vs_filter *f,
		    struct vs_snapshot *snap)
{
	const char *e = getenv("VS_MOCK_VMS");
	unsigned int nvms = e ? (unsigned int)atoi(e) : 2;
	double secs = snapshot_secs();
	int err;

	memset(snap, 0, sizeof(*snap));
	err = fail_mode(ctx);
	if (!err)
		err = family_err(ctx, true);
	if (err)
		return err;
	snap->vms = calloc(nvms ? nvms : 1, sizeof(*snap->vms));
	if (!snap->vms)
		return -ENOMEM;
	for (unsigned int i = 0; i < nvms; i++) {
		struct vs_vm vm;
		uint32_t n = 2 + i;

		fill_vm(&vm, i, secs);
		mock_identity(&vm, i);
		if (f && f->has_vm_id && f->vm_id != vm.id)
			continue;
		if (!vs_filter_pid_ok(f, vm.pid))
			continue;
		vm.tracked_vcpus = n;
		vm.vcpus = calloc(n, sizeof(*vm.vcpus));
		if (!vm.vcpus)
			abort();
		for (uint32_t j = 0; j < n; j++) {
			struct vs_vcpu *vc = &vm.vcpus[vm.nr_vcpus];

			if (f && f->has_vcpu_id && f->vcpu_id != j)
				continue;
			fill_vcpu(vc, vm.id, vm.pid, j, secs, 1.0 + i);
			dump_keys(vc);
			vm.exits += vc->exits;
			vm.migrations += vc->migrations;
			vm.exit_time_ns += vc->exit_time_ns;
			vm.nr_vcpus++;
		}
		snap->vms[snap->nr_vms++] = vm;
	}
	snap->ts_ns = mono();
	snap->consistent = true;
	return 0;
}

/*
 * VS_MOCK_GENL_VERSION / VS_MOCK_MAXATTR / VS_MOCK_UAPI_REV: a module of
 * another build. By default maxattr is 0, as vcpustat's real family (per-op
 * policies), and the revision is this tool's.
 */
int vs_family_info(struct vs_ctx *ctx, uint32_t *version, uint32_t *maxattr)
{
	const char *v = getenv("VS_MOCK_GENL_VERSION");
	const char *m = getenv("VS_MOCK_MAXATTR");

	(void)ctx;
	*version = v ? (uint32_t)atoi(v) : VCPUSTAT_GENL_VERSION;
	*maxattr = m ? (uint32_t)atoi(m) : 0;
	return 0;
}

int vs_get_config(struct vs_ctx *ctx, struct vs_config *cfg,
		  struct vs_status *st)
{
	int err = fail_mode(ctx);

	if (!err)
		err = family_err(ctx, false);
	if (err)
		return err;
	if (cfg) {
		memset(cfg, 0, sizeof(*cfg));
		cfg->mask = VS_CFG_SNAPSHOT_MS | VS_CFG_TIMING |
			    VS_CFG_MIGR_RATE | VS_CFG_HEARTBEAT_MS;
		cfg->snapshot_ms = 1000;
		cfg->timing = true;
		cfg->migr_rate = 100;
		if (getenv("VS_MOCK_DETAIL")) {
			/* the module's default K (kmod/detail.c) */
			cfg->mask |= VS_CFG_DETAIL | VS_CFG_DETAIL_K;
			cfg->detail = true;
			cfg->detail_k = 8;
		}
	}
	if (st) {
		memset(st, 0, sizeof(*st));
		snprintf(st->version, sizeof(st->version), "0.0.0-mock");
		st->uapi_revision = getenv("VS_MOCK_UAPI_REV") ?
			(uint32_t)atoi(getenv("VS_MOCK_UAPI_REV")) :
			VCPUSTAT_UAPI_REVISION;
		st->vms = 2;
		st->vcpus = 5;
		st->max_vcpus = 1024;
		st->vms_seen = 3;
		st->generation = 7;
	}
	return 0;
}

int vs_set_config(struct vs_ctx *ctx, const struct vs_config *cfg)
{
	(void)cfg;
	return fail_mode(ctx) ? fail_mode(ctx) : family_err(ctx, false);
}

int vs_reset(struct vs_ctx *ctx, bool all, uint64_t vm_id)
{
	(void)all;
	(void)vm_id;
	return fail_mode(ctx) ? fail_mode(ctx) : family_err(ctx, false);
}

int vs_events_open(struct vs_ctx *ctx)
{
	struct itimerspec its = {
		.it_interval = { 0, 20 * 1000000 },
		.it_value = { 0, 20 * 1000000 },
	};
	int err = fail_mode(ctx);

	if (err)
		return err;
	ctx->evfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (ctx->evfd < 0)
		return -errno;
	timerfd_settime(ctx->evfd, 0, &its, NULL);
	return 0;
}

int vs_events_follow(struct vs_ctx *ctx)
{
	if (ctx->evfd < 0)
		return -EBADF;
	ctx->follow = true;
	return 0;
}

int vs_event_fd(const struct vs_ctx *ctx)
{
	return ctx ? ctx->evfd : -1;
}

uint64_t vs_events_lost(const struct vs_ctx *ctx)
{
	return ctx ? ctx->lost : 0;
}

/* One event per timer tick: VM_NEW, MIGRATE, DELTA, ..., with a gap of
 * two sequence numbers before the 4th so "lost" reporting is exercised. */
int vs_event_read(struct vs_ctx *ctx, vs_event_cb cb, void *arg)
{
	uint64_t ticks;
	struct vs_event ev;
	int err;

	if (ctx->evfd < 0)
		return -EBADF;
	if (read(ctx->evfd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return 0;
	if (mock_load() != ctx->load) {
		/* nlctrl's DELFAMILY, then NEWFAMILY, once each */
		if (!ctx->follow)
			return 0;
		if (!ctx->told_gone) {
			ctx->told_gone = true;
			return -ENOENT;
		}
		if (mock_load() > 0 && !ctx->told_back) {
			ctx->told_back = true;
			return -ESTALE;
		}
		return 0;
	}
	memset(&ev, 0, sizeof(ev));
	ctx->seq += ctx->nev == 3 ? 3 : 1;
	ev.seq = ctx->seq;
	ev.ts_ns = mono();
	switch (ctx->nev++ % 4) {
	case 0:
		ev.type = ctx->nev > 4 ? VS_EV_VM_GONE : VS_EV_VM_NEW;
		fill_vm(&ev.vm, ctx->nev > 4 ? 1 : 0, 1.0);
		ev.vm.tracked_vcpus = 2;
		break;
	case 1:
		ev.type = VS_EV_MIGRATE;
		ev.migr.vm_id = 1;
		ev.migr.pid = 1000;
		ev.migr.vcpu_id = 1;
		ev.migr.tid = 1011;
		ev.migr.from = 0;
		ev.migr.to = 1;
		ev.migr.distance = VCPUSTAT_DIST_SMT;
		ev.migr.total = ctx->nev;
		ev.migr.suppressed = ctx->nev > 5 ? 2 : 0;
		break;
	default:
		ev.type = VS_EV_DELTA;
		fill_vcpu(&ev.delta, 1, 1000, 0, 1.0, 1.0);
		ev.delta.interval_ns = 1000000000ull;
		break;
	}
	if (ctx->have_seq && ev.seq > ctx->last_seq + 1) {
		ev.lost = ev.seq - ctx->last_seq - 1;
		ctx->lost += ev.lost;
	}
	ctx->have_seq = true;
	ctx->last_seq = ev.seq;
	err = cb(&ev, arg);
	if (ev.type == VS_EV_DELTA)
		vs_vcpu_free_arrays(&ev.delta);
	return err < 0 ? err : 1;
}
