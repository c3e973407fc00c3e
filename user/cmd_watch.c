// SPDX-License-Identifier: GPL-2.0
/*
 * watch: print the module's multicast notifications as they arrive. Loss
 * is detected from VCPUSTAT_A_SEQ gaps (one counter for the whole group),
 * which covers both our socket overrunning and the module failing to send.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "affinity.h"
#include "budget.h"
#include "cmds.h"
#include "fmt.h"
#include "json.h"
#include "render.h"
#include "select.h"
#include "stamp.h"
#include "view.h"
#include "vmident.h"

#define EVM_VM		(1u << 0)
#define EVM_MIGRATE	(1u << 1)
#define EVM_DELTA	(1u << 2)
#define EVM_ALL		(EVM_VM | EVM_MIGRATE | EVM_DELTA)

struct watch {
	struct vs_global *g;
	unsigned int types;
	uint64_t limit;		/* -c, 0: none */
	uint64_t seen;		/* events printed */
	uint64_t lost;
};

static void watch_help(FILE *f)
{
	fprintf(f,
"Usage: vcpustat watch [-j] [-p PID] [-g NAME] [--vm ID] [-e TYPES] [-c COUNT] [-t SECONDS]\n"
"\n"
"Print the module's notifications, one line each (JSON lines with -j):\n"
"  vm-new    a VM was first seen\n"
"  vm-gone   a VM was destroyed, with its final totals\n"
"  migrate   a vCPU entered the guest on another pCPU (rate limited by\n"
"            the module's migr_rate; \"+N suppressed\" counts folded ones)\n"
"  delta     per-vCPU counter deltas, every snapshot_ms (0 = off), of\n"
"            the vCPUs that changed (and, with heartbeat_ms, all-zero\n"
"            ones of idle vCPUs)\n"
"Gaps in the event sequence number are reported as \"lost N events\".\n"
"See \"vcpustat config\" to enable delta or migration events.\n"
"\n"
"  -e, --events T   comma-separated subset of: vm, migrate, delta\n"
"  -c, --count N    exit after N events\n"
"  -t, --timeout S  exit after S seconds (fractions allowed)\n"
"  -j, --json       JSON lines\n"
"  -p, --pid PID    only events of the VM created by PID\n"
"  -g, --guest NAME only the VM named NAME (QEMU -name; -P PID: same as -p)\n"
"      --vm ID      only events of VM ID\n");
}

static int parse_types(const char *s, unsigned int *types)
{
	char buf[128], *save = NULL, *tok;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	*types = 0;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "vm"))
			*types |= EVM_VM;
		else if (!strcmp(tok, "migrate") || !strcmp(tok, "migration"))
			*types |= EVM_MIGRATE;
		else if (!strcmp(tok, "delta"))
			*types |= EVM_DELTA;
		else if (!strcmp(tok, "all"))
			*types |= EVM_ALL;
		else
			return -1;
	}
	return *types ? 0 : -1;
}

static const char *type_name(enum vs_event_type t)
{
	switch (t) {
	case VS_EV_VM_NEW:	return "vm-new";
	case VS_EV_VM_GONE:	return "vm-gone";
	case VS_EV_MIGRATE:	return "migrate";
	case VS_EV_DELTA:	return "delta";
	}
	return "?";
}

static void stamp(char *buf, size_t len, double *epoch)
{
	struct timeval tv;
	struct tm tm;
	char hms[16];

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%06ld", hms, (long)tv.tv_usec);
	*epoch = (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void print_lost(struct watch *w, uint64_t n)
{
	if (w->g->json) {
		struct jw j;

		jw_init(&j, stdout, false);
		jw_obj_open(&j);
		jw_kstr(&j, "type", "lost");
		jw_time_keys(&j, 0);
		jw_ku64(&j, "count", n);
		jw_obj_close(&j);
		jw_end(&j);
	} else {
		printf("lost %" PRIu64 " events\n", n);
	}
}

/*
 * The name and UUID of the event's VM: read from the VMM's command line
 * when it appears (vm-new), remembered for the events that follow, the
 * vm-gone of a process that has exited included. NULL when unknown.
 */
static const struct vs_vm *ident(const struct vs_event *ev)
{
	const struct vs_vm *known;
	struct vs_vm vm;
	uint64_t id = ev->type == VS_EV_MIGRATE ? ev->migr.vm_id :
		      ev->type == VS_EV_DELTA ? ev->delta.vm_id : ev->vm.id;
	uint32_t pid = ev->type == VS_EV_MIGRATE ? ev->migr.pid :
		       ev->type == VS_EV_DELTA ? ev->delta.pid : ev->vm.pid;

	known = vmid_recall(id);
	if (known || ev->type == VS_EV_VM_GONE)
		return known;
	memset(&vm, 0, sizeof(vm));
	vm.id = id;
	vm.pid = pid;
	vmid_fill_vm(&vm);
	vmid_remember(&vm);
	return vmid_recall(id);
}

static bool wanted(const struct watch *w, const struct vs_event *ev)
{
	uint64_t vm_id;
	uint32_t pid;

	switch (ev->type) {
	case VS_EV_VM_NEW:
	case VS_EV_VM_GONE:
		if (!(w->types & EVM_VM))
			return false;
		vm_id = ev->vm.id;
		pid = ev->vm.pid;
		break;
	case VS_EV_MIGRATE:
		if (!(w->types & EVM_MIGRATE))
			return false;
		vm_id = ev->migr.vm_id;
		pid = ev->migr.pid;
		break;
	case VS_EV_DELTA:
		if (!(w->types & EVM_DELTA))
			return false;
		vm_id = ev->delta.vm_id;
		pid = ev->delta.pid;
		break;
	default:
		return false;
	}
	if (w->g->has_vm && vm_id != w->g->vm_id)
		return false;
	if (w->g->has_pid && pid != w->g->pid)
		return false;
	if (w->g->guest) {
		const struct vs_vm *id = ident(ev);

		if (!id || strcmp(id->name, w->g->guest))
			return false;
	}
	return true;
}

static void text_event(const struct vs_event *ev, const char *ts,
		       const struct vs_vm *id)
{
	char nm[VS_NAME_LEN * 4];

	char a[FMT_BUF], b[FMT_BUF], c[FMT_BUF], nb[32];
	char comm[VS_COMM_LEN], sid[VS_STATS_ID_LEN];

	printf("%s %8" PRIu64 " %-8s ", ts, ev->seq, type_name(ev->type));
	switch (ev->type) {
	case VS_EV_VM_NEW:
		printf("vm %" PRIu64 " pid %u (%s) %s", ev->vm.id, ev->vm.pid,
		       fmt_safe(comm, sizeof(comm), ev->vm.comm),
		       fmt_safe(sid, sizeof(sid), ev->vm.stats_id));
		if (id && id->name[0])
			printf(" name %s", fmt_name(nm, sizeof(nm), id->name, 0));
		if (id && id->uuid[0])
			printf(" uuid %s", id->uuid);
		putchar('\n');
		break;
	case VS_EV_VM_GONE:
		if (id && id->name[0])
			printf("name %s ", fmt_name(nm, sizeof(nm), id->name, 0));
		printf("vm %" PRIu64 " pid %u (%s) vcpus %u exits %" PRIu64
		       " migrations %" PRIu64 " exit time %s age %s\n",
		       ev->vm.id, ev->vm.pid,
		       fmt_safe(comm, sizeof(comm), ev->vm.comm),
		       ev->vm.tracked_vcpus, ev->vm.exits, ev->vm.migrations,
		       fmt_ns(a, sizeof(a), ev->vm.exit_time_ns),
		       fmt_age(b, sizeof(b), ev->vm.age_ns));
		break;
	case VS_EV_MIGRATE:
		printf("vm %" PRIu64 " pid %u vcpu %u tid %u cpu %u -> %u (%s)"
		       " total %" PRIu64, ev->migr.vm_id, ev->migr.pid,
		       ev->migr.vcpu_id, ev->migr.tid, ev->migr.from,
		       ev->migr.to, vs_distance_name(ev->migr.distance),
		       ev->migr.total);
		if (ev->migr.suppressed)
			printf(" (+%" PRIu64 " suppressed)",
			       ev->migr.suppressed);
		putchar('\n');
		break;
	case VS_EV_DELTA: {
		const struct vs_vcpu *d = &ev->delta;
		double secs = d->interval_ns ? (double)d->interval_ns / 1e9 : 0;
		const struct vs_reason *top;
		uint64_t tc;

		printf("vm %" PRIu64 " pid %u vcpu %u exits %" PRIu64,
		       d->vm_id, d->pid, d->vcpu_id, d->exits);
		if (secs > 0)
			printf(" (%s/s)", fmt_rate(a, sizeof(a),
						   (double)d->exits / secs));
		printf(" migr %" PRIu64, d->migrations);
		if (d->timed_exits)
			printf(" avg %s", fmt_ns_d(b, sizeof(b),
				(double)d->exit_time_ns /
				(double)d->timed_exits));
		top = vcpu_top_reason(d, NULL, &tc);
		if (top && tc)
			printf(" top %s %s%%",
			       vs_reason_name(top->isa, top->code, nb,
					      sizeof(nb)),
			       fmt_pct(c, sizeof(c), tc, d->exits));
		/* The budget's deltas: where the interval's time went. */
		if (d->budget.valid) {
			char bl[128];

			vs_budget_line(bl, sizeof(bl), &d->budget, NULL);
			printf(" | %s", bl);
		}
		if (d->pcpu != VS_NO_CPU)
			printf(" pcpu %u", d->pcpu);
		if (secs > 0)
			printf(" over %s", fmt_ns(a, sizeof(a),
						  d->interval_ns));
		putchar('\n');
		break;
	}
	}
}

static void json_event(const struct vs_event *ev, const struct vs_vm *id)
{
	struct vs_vm vm;
	struct jw w;

	jw_init(&w, stdout, false);
	jw_obj_open(&w);
	jw_kstr(&w, "type", type_name(ev->type));
	jw_ku64(&w, "seq", ev->seq);
	jw_time_keys(&w, ev->ts_ns);
	switch (ev->type) {
	case VS_EV_VM_NEW:
	case VS_EV_VM_GONE:
		vm = ev->vm;
		if (id) {
			memcpy(vm.name, id->name, sizeof(vm.name));
			memcpy(vm.uuid, id->uuid, sizeof(vm.uuid));
		}
		jw_key(&w, "vm");
		jw_vm(&w, &vm, false);
		break;
	case VS_EV_MIGRATE:
		jw_ku64(&w, "vm_id", ev->migr.vm_id);
		jw_ku64(&w, "pid", ev->migr.pid);
		jw_kstr_or_null(&w, "name", id ? id->name : NULL);
		jw_kstr_or_null(&w, "uuid", id ? id->uuid : NULL);
		jw_ku64(&w, "vcpu_id", ev->migr.vcpu_id);
		jw_ku64(&w, "tid", ev->migr.tid);
		jw_ku64(&w, "from", ev->migr.from);
		jw_ku64(&w, "to", ev->migr.to);
		jw_kstr(&w, "distance", vs_distance_name(ev->migr.distance));
		jw_ku64(&w, "total", ev->migr.total);
		jw_ku64(&w, "suppressed", ev->migr.suppressed);
		break;
	case VS_EV_DELTA:
		jw_ku64(&w, "vm_id", ev->delta.vm_id);
		jw_ku64(&w, "pid", ev->delta.pid);
		jw_kstr_or_null(&w, "name", id ? id->name : NULL);
		jw_kstr_or_null(&w, "uuid", id ? id->uuid : NULL);
		jw_key(&w, "vcpu");
		jw_vcpu_delta(&w, &ev->delta);
		break;
	}
	jw_obj_close(&w);
	jw_end(&w);
}

static int on_event(const struct vs_event *ev, void *arg)
{
	struct watch *w = arg;
	char ts[32];
	double epoch;

	/* loss is reported whatever the filter: filtered events may be gone */
	if (ev->lost) {
		w->lost += ev->lost;
		print_lost(w, ev->lost);
	}
	if (!wanted(w, ev))
		return 0;
	stamp(ts, sizeof(ts), &epoch);
	if (w->g->json)
		json_event(ev, ident(ev));
	else
		text_event(ev, ts, ident(ev));
	w->seen++;
	if (w->limit && w->seen >= w->limit)
		return -ECANCELED;	/* done: stop reading */
	return 0;
}

/*
 * A selection must match a VM now, as in every command; -p may also name
 * a live process that has no VM yet: watch is how one sees it appear.
 */
static int watch_check_selection(struct vs_ctx *ctx, const struct vs_global *g)
{
	struct vs_snapshot s;
	struct vs_filter f;
	int r, err;

	/* also remembers the names of the VMs running now, for their
	 * events (their vm-gone may come after the process is gone) */
	vs_global_filter(g, &f);
	err = vs_select_get(ctx, g, &f, &s);
	if (err)
		return vs_report(ctx, err, "reading statistics");
	if (!vs_selecting(g))
		r = VS_EXIT_OK;
	else if (!s.nr_vms && g->has_pid && !g->has_vm && !g->guest && g->pid &&
	    aff_pid_alive((pid_t)g->pid) == 1)
		r = VS_EXIT_OK;
	else
		r = vs_select_check("watch", g, &s);
	vs_snapshot_free(&s);
	return r;
}

static int watch_run(struct vs_global *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "events", required_argument, NULL, 'e' },
		{ "count", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		VS_GLOBAL_LONG,
		{ NULL, 0, NULL, 0 }
	};
	struct watch w = { .g = g, .types = EVM_ALL };
	double timeout = 0;
	uint64_t deadline = 0;
	struct vs_config cfg;
	struct vs_ctx *ctx;
	int c, r, err;

	while ((c = getopt_long(argc, argv, "e:c:t:" VS_GLOBAL_SHORT, lo,
				NULL)) != -1) {
		switch (c) {
		case 'e':
			if (parse_types(optarg, &w.types))
				return vs_usage_error(&vs_cmd_watch,
					"bad event types '%s'", optarg);
			break;
		case 'c':
			if (vs_parse_u64(optarg, &w.limit) || !w.limit)
				return vs_usage_error(&vs_cmd_watch,
					"bad count '%s'", optarg);
			break;
		case 't':
			if (vs_parse_seconds(optarg, &timeout))
				return vs_usage_error(&vs_cmd_watch,
					"bad timeout '%s'", optarg);
			break;
		default:
			r = vs_common_opt(&vs_cmd_watch, g, c, optarg);
			if (r >= 0)
				return r;
		}
	}
	if (optind < argc)
		return vs_usage_error(&vs_cmd_watch, "unexpected argument '%s'",
				      argv[optind]);
	r = vs_connect(&ctx);
	if (r)
		return r;
	r = watch_check_selection(ctx, g);
	if (r) {
		vs_close(ctx);
		return r;
	}
	vs_install_stop_handlers();
	err = vs_events_open(ctx);
	if (err) {
		r = vs_report(ctx, err, "joining the events group");
		vs_close(ctx);
		return r;
	}
	/* Say why nothing may appear; stderr keeps -j output clean. */
	if (!vs_get_config(ctx, &cfg, NULL)) {
		if ((w.types & EVM_DELTA) && (cfg.mask & VS_CFG_SNAPSHOT_MS) &&
		    !cfg.snapshot_ms)
			fprintf(stderr, "vcpustat: note: delta events are off (vcpustat config snapshot_ms=1000 turns them on)\n");
		if ((w.types & EVM_MIGRATE) && (cfg.mask & VS_CFG_MIGR_RATE) &&
		    !cfg.migr_rate)
			fprintf(stderr, "vcpustat: note: migration events are off (vcpustat config migr_rate=100 turns them on)\n");
	}
	if (timeout > 0)
		deadline = vs_now_ns() + (uint64_t)(timeout * 1e9);
	r = VS_EXIT_OK;
	while (!vs_stop) {
		struct pollfd pfd = { .fd = vs_event_fd(ctx), .events = POLLIN };
		int ms = -1;

		if (deadline) {
			uint64_t now = vs_now_ns();

			if (now >= deadline)
				break;
			ms = (int)((deadline - now + 999999) / 1000000);
		}
		if (poll(&pfd, 1, ms) < 0) {
			if (errno == EINTR)
				continue;
			r = vs_report(ctx, -errno, "poll");
			break;
		}
		if (!(pfd.revents & POLLIN))
			continue;
		err = vs_event_read(ctx, on_event, &w);
		if (vs_out_failed())
			break;
		if (err == -ECANCELED)
			break;
		if (err < 0) {
			r = vs_report(ctx, err, "reading events");
			break;
		}
	}
	fflush(stdout);
	vs_close(ctx);
	return r;
}

const struct vs_cmd vs_cmd_watch = {
	.name = "watch",
	.synopsis = "[-j] [-p PID] [-g NAME] [--vm ID] [-e TYPES] [-c COUNT] [-t SECONDS]",
	.summary = "stream VM, migration and delta events; reports lost events",
	.run = watch_run,
	.help = watch_help,
};
