// SPDX-License-Identifier: GPL-2.0
/*
 * vcpustat autopin: pin vCPUs that keep migrating, in the foreground,
 * until SIGINT/SIGTERM/SIGHUP; put every affinity it changed back on exit.
 *
 * This file is the driver: netlink (snapshots every window, plus the
 * module's VM_NEW / VM_GONE / MIGRATE / DELTA events to react within the
 * window), /proc (tid checks, affinity; schedstat only when the module's
 * budget is off: its wait state is the run-queue signal) and logging. Every
 * decision is made by the pure policy in autopin_policy.c.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "affinity.h"
#include "autopin_policy.h"
#include "cmds.h"
#include "fmt.h"
#include "json.h"
#include "render.h"
#include "select.h"
#include "stamp.h"
#include "vmident.h"
#include "vsnl.h"

#define NS 1000000000ULL
#define MAX_PIDS 256
/* Early snapshots (on migration events) at most this often. */
#define EARLY_MIN_NS (NS / 5)
/* While the module is away: look for it again at least this often. */
#define RETRY_NS NS
/*
 * A snapshot failed as if the module were gone, but the same family is
 * still registered: an rmmod attempt that found the module busy, or an
 * unload in progress. Look again this often, this many times, before
 * calling it gone.
 */
#define SUSPECT_NS (NS / 10)
#define SUSPECT_MAX 50

struct autopin {
	struct ap_config cfg;
	bool keep;
	bool json;
	bool verbose;
	uint32_t pids[MAX_PIDS];
	size_t npids;
	bool has_vm;
	uint64_t vm_id;
	const struct vs_global *g;	/* -g NAME */

	struct vs_ctx *ctx;
	struct ap_policy *pol;
	struct vs_topo topo;
	bool tty;
	bool early;		/* an early snapshot was asked for */
	uint64_t last_snap;
	uint64_t *cpu_busy, *cpu_total;	/* [nr_cpus], /proc/stat ticks */
	unsigned long applied, failed, restored;
	bool gone;		/* the module went away; waiting for it */
	unsigned int suspect;	/* snapshots failed, family still there */
	bool finding;		/* back: pins from before not all found yet */
	int retry_err;		/* last vs_reconnect() error logged */
};

enum {
	O_WINDOW = 0x2000, O_MAXMIG, O_NONUMA, O_ISOL, O_NOSMT, O_NOREHOME,
	O_DWELL, O_RQTHR, O_RQGROWTH, O_RQWIN, O_DRY, O_KEEP, O_CONFIG,
	O_VERBOSE,
};

static const struct option autopin_lopts[] = {
	{ "window",          required_argument, NULL, O_WINDOW },
	{ "max-migrations",  required_argument, NULL, O_MAXMIG },
	{ "no-numa-trigger", no_argument,       NULL, O_NONUMA },
	{ "allow-isolated",  no_argument,       NULL, O_ISOL },
	{ "no-smt-share",    no_argument,       NULL, O_NOSMT },
	{ "no-rehome",       no_argument,       NULL, O_NOREHOME },
	{ "dwell",           required_argument, NULL, O_DWELL },
	{ "rq-threshold",    required_argument, NULL, O_RQTHR },
	{ "rq-growth",       required_argument, NULL, O_RQGROWTH },
	{ "rq-windows",      required_argument, NULL, O_RQWIN },
	{ "dry-run",         no_argument,       NULL, O_DRY },
	{ "keep",            no_argument,       NULL, O_KEEP },
	{ "config",          required_argument, NULL, O_CONFIG },
	{ "verbose",         no_argument,       NULL, O_VERBOSE },
	VS_GLOBAL_LONG,
	{ NULL, 0, NULL, 0 }
};

static void autopin_help(FILE *f)
{
	fprintf(f,
"usage: vcpustat autopin [-p PID] [-g NAME]... [--vm ID] [options]\n"
"\n"
"Run in the foreground until SIGINT, SIGTERM or SIGHUP, pinning vCPUs that\n"
"keep migrating to one \"home\" pCPU each, and put every affinity it changed\n"
"back on exit (unless --keep). Without -P, every VM the module tracks is\n"
"managed, including VMs started later. Every decision is logged as one line\n"
"on stdout (JSON lines with -j): what, why, and the numbers behind it.\n"
"\n"
"A floating vCPU is pinned when, within one window, it migrated more than\n"
"--max-migrations times, or migrated to another NUMA node at all. Its home:\n"
"a CPU of the thread's original affinity, online, not isolated, not home to\n"
"another vCPU of the same VM (nor an SMT sibling of one, with\n"
"--no-smt-share); preferring a CPU free of other VMs' vCPUs, then the VM's\n"
"dominant NUMA node, then where it ran most in the window, then the nearest\n"
"CPU to that. A pinned vCPU moves again only after --dwell, when its\n"
"run-queue wait stayed high (--rq-*) or a free CPU appeared for a vCPU that\n"
"had to share; never onto another vCPU's home or a CPU other work keeps\n"
"busy, and each run-queue move in a row doubles the dwell (up to 8x).\n"
"A vCPU whose affinity someone else changes is left alone.\n"
"If the module goes away (rmmod, a reload), autopin keeps every pin and its\n"
"restore list, waits for the module and then finds the pinned vCPUs again\n"
"(same process, vCPU id and thread) under their new VM ids.\n"
"\n"
"  -p, --pid PID          manage the VMs of PID (repeatable; default: all)\n"
"  -g, --guest NAME      only the VM named NAME (QEMU -name; -P PID: same as -p)\n"
"      --vm ID            manage only VM ID\n"
"      --window S         window length in seconds (default 5)\n"
"      --max-migrations N pin above N migrations per window (default 10)\n"
"      --no-numa-trigger  do not pin on a single cross-node migration\n"
"      --allow-isolated   may use CPUs of /sys/devices/system/cpu/isolated\n"
"      --no-smt-share     keep vCPUs of one VM off each other's SMT siblings\n"
"      --dwell S          minimum time on a home before a move (default 30)\n"
"      --rq-threshold PCT move when run-queue wait >= PCT%% of the time\n"
"                         (default 10)...\n"
"      --rq-growth X      ...and >= X times its wait before pinning (2.0)...\n"
"      --rq-windows N     ...for N windows in a row (default 2)\n"
"      --no-rehome        never move a pinned vCPU\n"
"      --dry-run          decide and log, change nothing\n"
"      --keep             leave the pins in place on exit\n"
"      --config FILE      read options from FILE first: one \"name = value\"\n"
"                         (or \"name\" for a flag) per line, names as the long\n"
"                         options above, # comments; the command line wins\n"
"  -v, --verbose          also log VMs appearing and going\n"
"  -j, --json             JSON lines\n"
"\n"
"Needs CAP_NET_ADMIN (the module) and CAP_SYS_NICE or the VM's user (to set\n"
"affinities). Exit: 0 stopped by a signal, 1 runtime error, 2 bad arguments,\n"
"3 module not loaded at start, 4 permission denied.\n");
}

/* ---- options ------------------------------------------------------------ */

static int bad_value(const char *name, const char *arg, const char *src)
{
	return vs_usage_error(&vs_cmd_autopin, "%s%sbad value '%s' for --%s",
			      src ? src : "", src ? ": " : "", arg, name);
}

static const char *opt_name(int c)
{
	for (const struct option *o = autopin_lopts; o->name; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

/*
 * Apply one option (from the command line or, with src set, a config
 * file). Returns -1 to go on, else an exit code.
 */
static int set_opt(struct autopin *a, struct vs_global *g, int c,
		   const char *arg, const char *src)
{
	double x;
	uint32_t u;

	switch (c) {
	case O_WINDOW:
		if (vs_parse_seconds(arg, &x) || x < 0.5)
			return bad_value(opt_name(c), arg, src);
		a->cfg.window_ns = (uint64_t)(x * 1e9);
		return -1;
	case O_DWELL:
		if (vs_parse_seconds(arg, &x))
			return bad_value(opt_name(c), arg, src);
		a->cfg.dwell_ns = (uint64_t)(x * 1e9);
		return -1;
	case O_MAXMIG:
		if (vs_parse_u32(arg, &u))
			return bad_value(opt_name(c), arg, src);
		a->cfg.max_migrations = u;
		return -1;
	case O_RQWIN:
		if (vs_parse_u32(arg, &u) || !u)
			return bad_value(opt_name(c), arg, src);
		a->cfg.rq_windows = u;
		return -1;
	case O_RQTHR:
	case O_RQGROWTH: {
		/* decimal like every number the tool reads */
		if (vs_parse_decimal(arg, &x) ||
		    (c == O_RQTHR && x > 100) || (c == O_RQGROWTH && x > 1000))
			return bad_value(opt_name(c), arg, src);
		if (c == O_RQTHR)
			a->cfg.rq_threshold = x / 100.0;
		else
			a->cfg.rq_growth = x;
		return -1;
	}
	case O_NONUMA:
		a->cfg.numa_trigger = false;
		return -1;
	case O_ISOL:
		a->cfg.allow_isolated = true;
		return -1;
	case O_NOSMT:
		a->cfg.no_smt_share = true;
		return -1;
	case O_NOREHOME:
		a->cfg.rehome = false;
		return -1;
	case O_DRY:
		a->cfg.dry_run = true;
		return -1;
	case O_KEEP:
		a->keep = true;
		return -1;
	case O_VERBOSE:
	case 'v':
		a->verbose = true;
		return -1;
	case O_CONFIG:
		return -1;	/* read before the command line */
	case 'p':
	case 'P':
		if (vs_parse_u32(arg, &u))
			return bad_value("pid", arg, src);
		if (a->npids == MAX_PIDS)
			return vs_usage_error(&vs_cmd_autopin, "too many -P");
		for (size_t i = 0; i < a->npids; i++)
			if (a->pids[i] == u)
				return -1;
		a->pids[a->npids++] = u;
		return -1;
	case VS_OPT_PRETTY:
		return vs_usage_error(&vs_cmd_autopin,
				      "--pretty does not apply: autopin writes JSON lines");
	default:
		return vs_common_opt(&vs_cmd_autopin, g, c, arg);
	}
}

static bool truthy(const char *v)
{
	return !strcmp(v, "1") || !strcasecmp(v, "yes") ||
	       !strcasecmp(v, "true") || !strcasecmp(v, "on");
}

static bool falsy(const char *v)
{
	return !strcmp(v, "0") || !strcasecmp(v, "no") ||
	       !strcasecmp(v, "false") || !strcasecmp(v, "off");
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
			 e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int read_config(struct autopin *a, struct vs_global *g,
		       const char *path)
{
	char line[1024], src[1100];
	int lineno = 0, rc = -1;
	FILE *f = fopen(path, "re");

	if (!f) {
		fprintf(stderr, "vcpustat autopin: cannot read config %s: %s\n",
			path, strerror(errno));
		return VS_EXIT_USAGE;
	}
	while (rc < 0 && fgets(line, sizeof(line), f)) {
		const struct option *o;
		char *key, *val = NULL, *eq, *hash;

		lineno++;
		snprintf(src, sizeof(src), "%s:%d", path, lineno);
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		key = trim(line);
		if (!*key)
			continue;
		eq = strchr(key, '=');
		if (eq) {
			*eq = '\0';
			val = trim(eq + 1);
			key = trim(key);
		}
		if (!strcmp(key, "config") || !strcmp(key, "help")) {
			rc = vs_usage_error(&vs_cmd_autopin, "%s: '%s' not allowed in a config file",
					    src, key);
			break;
		}
		for (o = autopin_lopts; o->name; o++)
			if (!strcmp(o->name, key))
				break;
		if (!o->name) {
			rc = vs_usage_error(&vs_cmd_autopin, "%s: unknown option '%s'",
					    src, key);
			break;
		}
		if (o->has_arg == no_argument) {
			if (val && falsy(val))
				continue;
			if (val && !truthy(val)) {
				rc = bad_value(key, val, src);
				break;
			}
			rc = set_opt(a, g, o->val, NULL, src);
		} else {
			if (!val || !*val) {
				rc = vs_usage_error(&vs_cmd_autopin, "%s: '%s' needs a value",
						    src, key);
				break;
			}
			rc = set_opt(a, g, o->val, val, src);
		}
	}
	fclose(f);
	return rc;
}

/* ---- logging ------------------------------------------------------------- */

static void stamp(const struct autopin *a)
{
	if (a->tty) {
		time_t t = time(NULL);
		struct tm tm;
		char b[32];

		localtime_r(&t, &tm);
		strftime(b, sizeof(b), "%H:%M:%S ", &tm);
		fputs(b, stdout);
	}
}

static void jw_kint(struct jw *w, const char *k, int v)
{
	jw_key(w, k);
	if (v < 0)
		jw_null(w);
	else
		jw_u64(w, (uint64_t)v);
}

/* The guest name of VM @vm_id as the snapshots saw it, or NULL. */
static const char *vm_name(uint64_t vm_id)
{
	const struct vs_vm *id = vmid_recall(vm_id);

	return id && id->name[0] ? id->name : NULL;
}

static const char *vm_uuid(uint64_t vm_id)
{
	const struct vs_vm *id = vmid_recall(vm_id);

	return id && id->uuid[0] ? id->uuid : NULL;
}

/*
 * A log line, with " name NAME" after its "vm ID" when the guest has a
 * name: "pin vm 1 name web01 pid 4242 vcpu 0 ...".
 */
static void print_named(const char *line, uint64_t vm_id, uint32_t pid)
{
	const char *name = vm_name(vm_id);
	char key[64], nm[VS_NAME_LEN * 4];
	const char *at;

	snprintf(key, sizeof(key), "vm %llu pid %u", (unsigned long long)vm_id,
		 pid);
	at = name ? strstr(line, key) : NULL;
	if (!at) {
		puts(line);
		return;
	}
	printf("%.*svm %llu name %s pid %u%s\n", (int)(at - line), line,
	       (unsigned long long)vm_id, fmt_name(nm, sizeof(nm), name, 0),
	       pid, at + strlen(key));
}

static void log_decision(struct autopin *a, const struct ap_decision *d)
{
	char line[1024], cpus[1024];

	if (!a->json) {
		ap_decision_format(d, line, sizeof(line));
		stamp(a);
		print_named(line, d->vm_id, d->pid);
		fflush(stdout);
		return;
	}
	struct jw w;

	jw_init(&w, stdout, false);
	jw_obj_open(&w);
	jw_time_keys(&w, 0);
	jw_kstr(&w, "action", ap_action_name(d->action));
	jw_kstr(&w, "reason", ap_reason_name(d->reason));
	jw_kbool(&w, "dry_run", a->cfg.dry_run);
	jw_ku64(&w, "vm_id", d->vm_id);
	jw_ku64(&w, "pid", d->pid);
	jw_kstr_or_null(&w, "name", vm_name(d->vm_id));
	jw_kstr_or_null(&w, "uuid", vm_uuid(d->vm_id));
	if (d->action == AP_FORGET) {
		jw_ku64(&w, "vcpus", d->vcpus);
		jw_ku64(&w, "pinned", d->pinned);
	} else {
		jw_ku64(&w, "vcpu", d->vcpu_id);
		jw_ku64(&w, "tid", d->tid);
		jw_kint(&w, "from", d->from);
		jw_kint(&w, "to", d->to);
	}
	if (d->action == AP_PIN || d->action == AP_MOVE ||
	    d->action == AP_RESTORE) {
		cpuset_format(&d->cpus, cpus, sizeof(cpus));
		jw_kstr(&w, "cpus", cpus);
	}
	if (d->reason == AP_R_RATE || d->reason == AP_R_NUMA) {
		jw_kdouble(&w, "window_s", (double)d->window_ns / 1e9);
		jw_ku64(&w, "migrations", d->migrations);
		jw_ku64(&w, "remote", d->remote);
		jw_ku64(&w, "max_migrations", d->max_migrations);
	}
	if (d->reason == AP_R_RQDELAY) {
		jw_kdouble(&w, "rq_wait_pct", d->rq_share * 100.0);
		jw_kdouble(&w, "rq_baseline_pct", d->rq_baseline * 100.0);
	}
	if (d->reason == AP_R_RQDELAY || d->reason == AP_R_SHARED)
		jw_kdouble(&w, "dwell_s", (double)d->dwell_ns / 1e9);
	if (d->action == AP_PIN || d->action == AP_MOVE ||
	    d->action == AP_SKIP) {
		jw_kint(&w, "top_cpu", d->top_cpu);
		jw_ku64(&w, "top_exits", d->top_exits);
		jw_ku64(&w, "home_exits", d->home_exits);
		jw_ku64(&w, "total_exits", d->total_exits);
		jw_kint(&w, "node", d->node);
		jw_kint(&w, "vm_node", d->vm_node);
		jw_kint(&w, "sharers", d->sharers);
	}
	jw_kstr(&w, "why", d->why);
	jw_obj_close(&w);
	jw_end(&w);
	fflush(stdout);
}

/* A line that is not a policy decision: start, stop, watch, error. */
static void log_note(struct autopin *a, const char *action, uint64_t vm_id,
		     uint32_t pid, const char *msg)
{
	if (!a->json) {
		stamp(a);
		if (vm_id) {
			char l[1024];

			snprintf(l, sizeof(l), "%s vm %llu pid %u: %s", action,
				 (unsigned long long)vm_id, pid, msg);
			print_named(l, vm_id, pid);
		} else
			printf("%s: %s\n", action, msg);
		fflush(stdout);
		return;
	}
	struct jw w;

	jw_init(&w, stdout, false);
	jw_obj_open(&w);
	jw_time_keys(&w, 0);
	jw_kstr(&w, "action", action);
	jw_kbool(&w, "dry_run", a->cfg.dry_run);
	if (vm_id) {
		jw_ku64(&w, "vm_id", vm_id);
		jw_ku64(&w, "pid", pid);
		jw_kstr_or_null(&w, "name", vm_name(vm_id));
		jw_kstr_or_null(&w, "uuid", vm_uuid(vm_id));
	}
	jw_kstr(&w, "msg", msg);
	jw_obj_close(&w);
	jw_end(&w);
	fflush(stdout);
}

/* ---- the loop ------------------------------------------------------------ */

static bool managed(const struct autopin *a, uint64_t vm_id, uint32_t pid)
{
	if (a->has_vm && vm_id != a->vm_id)
		return false;
	if (!a->npids)
		return true;
	for (size_t i = 0; i < a->npids; i++)
		if (a->pids[i] == pid)
			return true;
	return false;
}

static void watch_vm(struct autopin *a, uint64_t id, uint32_t pid,
		     const char *comm)
{
	char msg[128];

	if (ap_vm_known(a->pol, id) || !managed(a, id, pid))
		return;
	if (ap_vm_add(a->pol, id, pid))
		return;
	if (a->verbose) {
		snprintf(msg, sizeof(msg), "watching (%s)", comm);
		log_note(a, "watch", id, pid, msg);
	}
}

/* Apply and log what the policy decided. */
static void apply_decisions(struct autopin *a)
{
	const struct ap_decision *d;
	size_t n;

	for (;;) {
		d = ap_take(a->pol, &n);
		if (!n)
			return;
		for (size_t i = 0; i < n; i++) {
			char err[1024];
			int r;

			log_decision(a, &d[i]);
			if (a->cfg.dry_run)
				continue;
			if (d[i].action != AP_PIN && d[i].action != AP_MOVE &&
			    d[i].action != AP_RESTORE)
				continue;
			r = aff_set_checked((pid_t)d[i].pid, (pid_t)d[i].tid,
					    &d[i].cpus, err, sizeof(err));
			if (!r) {
				if (d[i].action == AP_RESTORE)
					a->restored++;
				else
					a->applied++;
				continue;
			}
			if (d[i].action == AP_RESTORE && r == -ESRCH)
				continue;	/* the thread is gone: fine */
			a->failed++;
			log_note(a, "error", d[i].vm_id, d[i].pid, err);
			ap_apply_failed(a->pol, &d[i], r);
		}
		/* ap_apply_failed may have queued releases: loop. */
	}
}

static void feed_snapshot(struct autopin *a, const struct vs_snapshot *snap,
			  uint64_t now)
{
	for (size_t i = 0; i < snap->nr_vms; i++) {
		const struct vs_vm *vm = &snap->vms[i];

		if (vm->stub)
			continue;
		watch_vm(a, vm->id, vm->pid, vm->comm);
		if (!ap_vm_known(a->pol, vm->id))
			continue;
		for (size_t j = 0; j < vm->nr_vcpus; j++) {
			const struct vs_vcpu *v = &vm->vcpus[j];
			struct ap_sample s;
			uint64_t run;

			if (!v->tid)
				continue;
			/* A tid the module last saw may be gone or reused. */
			if (aff_tid_in_pid((pid_t)vm->pid, (pid_t)v->tid) != 1)
				continue;
			memset(&s, 0, sizeof(s));
			s.vm_id = vm->id;
			s.vcpu_id = v->vcpu_id;
			s.tid = v->tid;
			s.pcpu = v->pcpu;
			s.migrations = v->migrations;
			s.migr_remote = v->migr[VCPUSTAT_DIST_REMOTE];
			s.residency = v->residency;
			s.nr_residency = v->nr_residency;
			s.have_affinity = aff_get((pid_t)v->tid, &s.affinity) == 0;
			/*
			 * Run-queue wait: the module's own (the budget's wait
			 * state, kept at every exit), else the thread's
			 * schedstat (the budget switched off).
			 */
			if (v->budget.valid &&
			    v->budget.state != VCPUSTAT_STATE_NONE) {
				s.have_rq = true;
				s.rq_wait_ns = v->budget.ns[VCPUSTAT_STATE_WAIT];
			} else {
				s.have_rq = aff_schedstat((pid_t)vm->pid,
							  (pid_t)v->tid, &run,
							  &s.rq_wait_ns) == 0;
			}
			ap_sample(a->pol, &s, now);
		}
	}
}

/*
 * Busy and total ticks of every CPU from <procfs>/stat, for the policy's
 * view of CPU load ("cpuN user nice system idle iowait irq softirq
 * steal ..."; guest time is inside user and nice). Idle and iowait are
 * the CPU being free; steal is the CPU being taken, so it counts as busy.
 * A CPU missing from the file (offline) stays unknown.
 */
static void feed_cpu_times(struct autopin *a, uint64_t now)
{
	int n = a->topo.nr_cpus;
	char path[512], line[512];
	FILE *f;

	if (!a->cpu_busy)
		return;
	snprintf(path, sizeof(path), "%s/stat", aff_procfs);
	f = fopen(path, "re");
	if (!f)
		return;
	memset(a->cpu_busy, 0, (size_t)n * sizeof(*a->cpu_busy));
	memset(a->cpu_total, 0, (size_t)n * sizeof(*a->cpu_total));
	while (fgets(line, sizeof(line), f)) {
		unsigned long long t[8] = { 0 };
		int cpu;

		if (strncmp(line, "cpu", 3) || line[3] < '0' || line[3] > '9')
			continue;
		if (sscanf(line + 3,
			   "%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu,
			   &t[0], &t[1], &t[2], &t[3], &t[4], &t[5], &t[6],
			   &t[7]) < 5 || cpu < 0 || cpu >= n)
			continue;
		a->cpu_busy[cpu] = t[0] + t[1] + t[2] + t[5] + t[6] + t[7];
		a->cpu_total[cpu] = a->cpu_busy[cpu] + t[3] + t[4];
	}
	fclose(f);
	ap_cpu_times(a->pol, a->cpu_busy, a->cpu_total, n, now);
}

static int take_snapshot(struct autopin *a, struct vs_snapshot *snap)
{
	struct vs_filter f = { 0 };
	int r;

	if (a->npids == 1) {
		f.pid = a->pids[0];
		f.has_pid = true;
	}
	if (a->has_vm) {
		f.has_vm_id = true;
		f.vm_id = a->vm_id;
	}
	r = vs_snapshot_get(a->ctx, &f, snap);
	if (r)
		vs_snapshot_free(snap);
	else
		vs_select_apply(a->g, snap);
	return r;
}

/* Feed a snapshot to the policy, decide, apply; frees @snap. */
static void decide_on(struct autopin *a, struct vs_snapshot *snap)
{
	uint64_t now = vs_now_ns();

	a->last_snap = now;
	a->early = false;
	feed_cpu_times(a, now);
	feed_snapshot(a, snap, now);
	vs_snapshot_free(snap);
	apply_decisions(a);	/* releases found while sampling */
	ap_decide(a->pol, now);
	apply_decisions(a);
}

static int snapshot_and_decide(struct autopin *a)
{
	struct vs_snapshot snap = { 0 };
	int r = take_snapshot(a, &snap);

	if (!r)
		decide_on(a, &snap);
	return r;
}

static int on_event(const struct vs_event *ev, void *arg)
{
	struct autopin *a = arg;

	if (ev->lost)
		a->early = true;	/* counters in the snapshot are exact */
	switch (ev->type) {
	case VS_EV_VM_NEW:
		watch_vm(a, ev->vm.id, ev->vm.pid, ev->vm.comm);
		if (ap_vm_known(a->pol, ev->vm.id))
			a->early = true;	/* learn its vCPUs soon */
		break;
	case VS_EV_VM_GONE:
		if (ap_vm_known(a->pol, ev->vm.id)) {
			ap_vm_gone(a->pol, ev->vm.id);
			apply_decisions(a);
		}
		break;
	case VS_EV_MIGRATE:
		if (ap_migration(a->pol, ev->migr.vm_id, ev->migr.vcpu_id,
				 ev->migr.distance, 1 + ev->migr.suppressed,
				 ev->ts_ns))
			a->early = true;
		break;
	case VS_EV_DELTA: {
		uint64_t remote = ev->delta.migr[VCPUSTAT_DIST_REMOTE];
		uint64_t near = ev->delta.migrations > remote ?
				ev->delta.migrations - remote : 0;
		bool want = false;

		if (near)
			want |= ap_migration(a->pol, ev->delta.vm_id,
					     ev->delta.vcpu_id,
					     VCPUSTAT_DIST_NODE, near,
					     ev->ts_ns);
		if (remote)
			want |= ap_migration(a->pol, ev->delta.vm_id,
					     ev->delta.vcpu_id,
					     VCPUSTAT_DIST_REMOTE, remote,
					     ev->ts_ns);
		if (want)
			a->early = true;
		break;
	}
	}
	return 0;
}

static void log_start(struct autopin *a, const struct vs_config *mc)
{
	char msg[768], pids[256] = "all";
	size_t n = 0;

	for (size_t i = 0; i < a->npids && n < sizeof(pids) - 12; i++)
		n += (size_t)snprintf(pids + n, sizeof(pids) - n, "%s%u",
				      i ? "," : "", a->pids[i]);
	snprintf(msg, sizeof(msg),
		 "%spids %s%s, window %.1fs, max %u migrations/window%s%s%s, dwell %.1fs, rq %.0f%%/%.1fx/%u windows%s%s%s",
		 a->cfg.dry_run ? "DRY RUN, nothing will be changed; " : "",
		 pids, a->has_vm ? " (one VM)" : "",
		 (double)a->cfg.window_ns / 1e9, a->cfg.max_migrations,
		 a->cfg.numa_trigger ? ", any cross-node" : "",
		 a->cfg.allow_isolated ? ", isolated CPUs allowed" : "",
		 a->cfg.no_smt_share ? ", no SMT sharing" : "",
		 (double)a->cfg.dwell_ns / 1e9, a->cfg.rq_threshold * 100.0,
		 a->cfg.rq_growth, a->cfg.rq_windows,
		 a->cfg.rehome ? "" : " (no rehome)",
		 a->keep ? ", keep pins on exit" : "",
		 mc && (mc->mask & VS_CFG_MIGR_RATE) && !mc->migr_rate ?
		 "; module migration events are off (migr_rate 0): reacting once per window" : "");
	log_note(a, "start", 0, 0, msg);
}

static int setup_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/*
 * The module went away (unloaded, or reloading): its VM ids and family id
 * die with it. Keep every pin and the restore list (ap_module_gone) and
 * wait for a new load: the events socket follows nlctrl, so its
 * NEWFAMILY wakes us; a retry every RETRY_NS covers the rest.
 */
static void module_gone(struct autopin *a, int err)
{
	char msg[256];

	if (a->gone)
		return;
	a->gone = true;
	a->finding = false;
	a->retry_err = 0;
	ap_module_gone(a->pol);
	snprintf(msg, sizeof(msg),
		 "the vcpustat module went away (%s); keeping %zu pin(s), waiting for it",
		 strerror(-err), ap_detached_pins(a->pol));
	log_note(a, "module-gone", 0, 0, msg);
}

/*
 * A snapshot failed with @err (vs_gone()). Returns when to try again:
 * soon if the same family is still registered (transient, or the module
 * is still unloading), at once if a new one is (reloaded meanwhile: the
 * VM ids changed), else after RETRY_NS.
 */
static uint64_t snapshot_gone(struct autopin *a, int err)
{
	int r = vs_reconnect(a->ctx);
	uint64_t now = vs_now_ns();

	a->early = false;	/* the retry comes soon anyway */
	if (!r && ++a->suspect < SUSPECT_MAX)
		return now + SUSPECT_NS;
	module_gone(a, err);
	return r == 1 ? now : now + RETRY_NS;
}

/* Gone: resolve the family again; back once a snapshot works. */
static int try_back(struct autopin *a)
{
	struct vs_snapshot snap = { 0 };
	char msg[256];
	int r;

	r = vs_reconnect(a->ctx);
	if (r >= 0)
		r = take_snapshot(a, &snap);
	if (r) {
		if (!vs_gone(r) && r != a->retry_err) {
			/* say it once; keep waiting (it may be transient) */
			snprintf(msg, sizeof(msg), "module back, but: %s",
				 strerror(-r));
			log_note(a, "error", 0, 0, msg);
		}
		a->retry_err = r;
		return r;
	}
	a->gone = false;
	a->suspect = 0;
	a->finding = ap_detached_pins(a->pol) > 0;
	snprintf(msg, sizeof(msg),
		 "the vcpustat module is back; %zu pin(s) from before it went to find again",
		 ap_detached_pins(a->pol));
	log_note(a, "module-back", 0, 0, msg);
	decide_on(a, &snap);
	return 0;
}

/* After a snapshot: say when every pin from before the gap is found. */
static void check_found(struct autopin *a)
{
	if (a->finding && !ap_detached_pins(a->pol)) {
		a->finding = false;
		log_note(a, "resumed", 0, 0,
			 "every pinned vCPU from before the module went away is managed again");
	}
}

static int autopin_loop(struct autopin *a)
{
	struct vs_config mc = { 0 };
	int sfd, r, rc = VS_EXIT_OK;
	uint64_t next;
	char msg[256];

	r = vs_events_open(a->ctx);
	if (r)
		return vs_report(a->ctx, r, "joining the events group");
	/* Without it a reload is seen at the next snapshot instead. */
	vs_events_follow(a->ctx);
	if (vs_get_config(a->ctx, &mc, NULL))
		memset(&mc, 0, sizeof(mc));
	sfd = setup_signals();
	if (sfd < 0) {
		fprintf(stderr, "vcpustat autopin: signalfd: %s\n", strerror(-sfd));
		return VS_EXIT_ERR;
	}
	log_start(a, &mc);

	r = snapshot_and_decide(a);
	if (r && vs_gone(r)) {
		next = snapshot_gone(a, r);
	} else if (r) {
		rc = vs_report(a->ctx, r, "snapshot");
		goto out;
	} else {
		next = a->last_snap + a->cfg.window_ns;
	}

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = vs_event_fd(a->ctx), .events = POLLIN },
		};
		uint64_t now = vs_now_ns();
		int timeout;

		if (a->gone) {
			if (now >= next) {
				next = now + RETRY_NS;
				if (!try_back(a)) {
					next = a->last_snap + a->cfg.window_ns;
					check_found(a);
				}
				continue;
			}
		} else if (a->early && now >= a->last_snap + EARLY_MIN_NS) {
			next = now;
		} else if (a->early && a->last_snap + EARLY_MIN_NS < next) {
			next = a->last_snap + EARLY_MIN_NS;
		}
		if (!a->gone && now >= next) {
			r = snapshot_and_decide(a);
			if (r && vs_gone(r)) {
				next = snapshot_gone(a, r);
				continue;
			}
			if (r) {
				rc = vs_report(a->ctx, r, "snapshot");
				break;
			}
			a->suspect = 0;
			check_found(a);
			next = a->last_snap + a->cfg.window_ns;
			continue;
		}
		timeout = (int)((next - now + 999999) / 1000000);
		r = poll(pfd, 2, timeout);
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "vcpustat autopin: poll: %s\n", strerror(errno));
			rc = VS_EXIT_ERR;
			break;
		}
		if (r > 0 && (pfd[0].revents & POLLIN)) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				snprintf(msg, sizeof(msg), "signal %s",
					 strsignal((int)si.ssi_signo));
				log_note(a, "stop", 0, 0, msg);
			}
			break;
		}
		if (r > 0 && (pfd[1].revents & (POLLIN | POLLERR))) {
			r = vs_event_read(a->ctx, on_event, a);
			if (r == -ENOENT) {
				/* nlctrl: the family went away */
				module_gone(a, r);
				next = vs_now_ns() + RETRY_NS;
			} else if (r == -ESTALE) {
				/* nlctrl: registered (again), maybe unseen */
				module_gone(a, -ENOENT);
				next = vs_now_ns();
			} else if (r < 0 && r != -EAGAIN && r != -EINTR) {
				rc = vs_report(a->ctx, r, "reading events");
				break;
			}
		}
	}
out:
	if (a->keep) {
		snprintf(msg, sizeof(msg), "--keep: leaving %lu pin(s) in place",
			 a->applied);
		log_note(a, "exit", 0, 0, msg);
	} else {
		ap_restore_all(a->pol);
		apply_decisions(a);
	}
	snprintf(msg, sizeof(msg), "%lu affinity change(s), %lu restored, %lu failed",
		 a->applied, a->restored, a->failed);
	log_note(a, "exit", 0, 0, msg);
	close(sfd);
	return rc;
}

static int autopin_run(struct vs_global *g, int argc, char **argv)
{
	struct autopin a;
	const char *config = NULL;
	int c, rc;

	memset(&a, 0, sizeof(a));
	ap_config_default(&a.cfg);

	/* --config first, so that the command line overrides it. */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			config = argv[i + 1];
		else if (!strncmp(argv[i], "--config=", 9))
			config = argv[i] + 9;
	}
	if (config) {
		rc = read_config(&a, g, config);
		if (rc >= 0)
			return rc;
	}
	if (g->has_pid) {
		/* -P given before the command name */
		a.pids[a.npids++] = g->pid;
	}
	{
		size_t config_pids = a.npids;
		bool cli_pids = false;

		while ((c = getopt_long(argc, argv, "v" VS_GLOBAL_SHORT,
					autopin_lopts, NULL)) != -1) {
			if ((c == 'p' || c == 'P') && !cli_pids) {
				/* -P on the command line replaces the file's */
				cli_pids = true;
				memmove(a.pids, a.pids + config_pids,
					(a.npids - config_pids) * sizeof(a.pids[0]));
				a.npids -= config_pids;
			}
			rc = set_opt(&a, g, c, optarg, NULL);
			if (rc >= 0)
				return rc;
		}
	}
	if (optind < argc)
		return vs_usage_error(&vs_cmd_autopin, "unexpected argument '%s'",
				      argv[optind]);
	a.json = g->json;
	a.g = g;
	a.has_vm = g->has_vm;
	a.vm_id = g->vm_id;
	a.tty = isatty(STDOUT_FILENO);
	for (size_t i = 0; i < a.npids; i++) {
		/* pid 0: VMs whose creator KVM never recorded */
		if (a.pids[i] && aff_pid_alive((pid_t)a.pids[i]) != 1) {
			/* a selection of nothing: exit 1 as everywhere */
			fprintf(stderr, "vcpustat autopin: no VM matches -p %u (no such process)\n",
				a.pids[i]);
			return VS_EXIT_ERR;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	rc = vs_connect(&a.ctx);
	if (rc)
		return rc;
	if (a.has_vm || g->guest) {
		/* --vm and -g name VMs that exist now (a pid may start one) */
		struct vs_snapshot s;

		c = take_snapshot(&a, &s);
		rc = c ? vs_report(a.ctx, c, "reading statistics") :
			 vs_select_check("autopin", g, &s);
		if (!c)
			vs_snapshot_free(&s);
		if (rc) {
			vs_close(a.ctx);
			return rc;
		}
	}
	c = vs_topo_load(&a.topo);
	if (c) {
		fprintf(stderr, "vcpustat autopin: reading the CPU topology: %s\n",
			strerror(-c));
		vs_close(a.ctx);
		return VS_EXIT_ERR;
	}
	a.pol = ap_new(&a.cfg, &a.topo);
	/* Without them the policy only lacks CPU load: no CPU is busy. */
	a.cpu_busy = calloc((size_t)a.topo.nr_cpus, sizeof(*a.cpu_busy));
	a.cpu_total = calloc((size_t)a.topo.nr_cpus, sizeof(*a.cpu_total));
	if (!a.cpu_busy || !a.cpu_total) {
		free(a.cpu_busy);
		free(a.cpu_total);
		a.cpu_busy = NULL;
		a.cpu_total = NULL;
	}
	if (!a.pol) {
		fprintf(stderr, "vcpustat autopin: out of memory\n");
		rc = VS_EXIT_ERR;
	} else {
		rc = autopin_loop(&a);
	}
	ap_free(a.pol);
	free(a.cpu_busy);
	free(a.cpu_total);
	vs_topo_free(&a.topo);
	vs_close(a.ctx);
	return rc;
}

const struct vs_cmd vs_cmd_autopin = {
	.name = "autopin",
	.synopsis = "[-p PID] [-g NAME]... [--vm ID] [--window S] [--max-migrations N] [--dry-run] [--keep] [options]",
	.summary = "pin vCPUs that keep migrating; restore on exit",
	.run = autopin_run,
	.help = autopin_help,
};
