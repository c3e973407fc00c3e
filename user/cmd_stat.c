// SPDX-License-Identifier: GPL-2.0
/*
 * stat: pidstat-style interval report, one row per VM (or per vCPU with
 * -t) per interval, as text, JSON lines or CSV. Text mode ends with an
 * "Average:" block over the whole run, like sysstat.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "cmds.h"
#include "detail.h"
#include "fmt.h"
#include "json.h"
#include "render.h"
#include "select.h"
#include "stamp.h"
#include "view.h"

#define OPT_CSV 0x2001
#define OPT_DETAIL 0x2002
#define OPT_TOTAL 0x2003

enum out { OUT_TEXT, OUT_JSON, OUT_CSV };

struct row {
	struct vs_budget budget, budget_prev;	/* summed over the row's vCPUs */
	const struct vs_vm *vm;
	const struct vs_vcpu *vc;	/* NULL: VM row */
	struct vdelta d;
	uint32_t top_isa, top_code;
	uint64_t top_count;
	bool has_top;
};

static void stat_help(FILE *f)
{
	fprintf(f,
"Usage: vcpustat stat [-j|--csv] [-t] [-p PID] [-g NAME] [--vm ID] [--detail KIND]\n"
"                     [--total | interval [count]]\n"
"\n"
"Report per-interval activity like pidstat: every interval seconds\n"
"(default 1), count times (default: until interrupted), one row per VM\n"
"(per vCPU with -t):\n"
"  EXITS/s   VM exits per second\n"
"  MIGR/s    vCPU migrations to another pCPU per second\n"
"  %%EXIT     share of wall time spent handling exits (kvm_exit to the\n"
"            next kvm_entry, including userspace); a VM's is the sum of\n"
"            its vCPUs' and can exceed 100\n"
"  AVG-EXIT  mean exit handling time in the interval\n"
"  %%guest .. %%out  where the vCPU threads' time went: guest, exit\n"
"            handling, userspace, halt-polling, halted, waiting for a\n"
"            pCPU, out of KVM_RUN (the time budget, vcpustat(8))\n"
"  TOP       reason with most exits in the interval and its share\n"
"Text output ends with \"Average:\" rows over the whole run.\n"
"\n"
"  -t, --vcpus      one row per vCPU instead of per VM\n"
"  -j, --json       JSON lines, one object per row\n"
"      --csv        CSV with a header line\n"
"  -p, --pid PID    only the VM created by PID\n"
"  -g, --guest NAME only the VM named NAME (QEMU -name; -P PID: same as -p)\n"
"      --vm ID      only VM ID\n"
"      --detail KIND  one row per vCPU, reason and second-level key of\n"
"                   KIND (io, msr, cpuid, hypercall, exception, intr,\n"
"                   gpa; also port, mmio, npf, ept): COUNT and rate in\n"
"                   the interval, %% of the reason's exits, and an OTHER\n"
"                   row per reason (keys beyond detail_k); needs\n"
"                   `vcpustat config detail=on`\n"
"      --total      one report of the counts so far (since each vCPU's\n"
"                   first exit or reset), then exit\n");
}

static int build_rows(const struct vs_snapshot *cur,
		      const struct vs_snapshot *prev, bool per_vcpu,
		      struct row **rowsp, size_t *np)
{
	size_t cap = 0, n = 0;
	struct row *rows = NULL;

	for (size_t i = 0; i < cur->nr_vms; i++)
		cap += per_vcpu ? cur->vms[i].nr_vcpus : 1;
	if (cap) {
		rows = calloc(cap, sizeof(*rows));
		if (!rows)
			return -1;
	}
	for (size_t i = 0; i < cur->nr_vms; i++) {
		const struct vs_vm *vm = &cur->vms[i];
		struct rtab rt = { 0 };
		struct row *vr = NULL;

		if (!per_vcpu) {
			vr = &rows[n++];
			vr->vm = vm;
		}
		for (size_t j = 0; j < vm->nr_vcpus; j++) {
			const struct vs_vcpu *vc = &vm->vcpus[j];
			const struct vs_vcpu *pv = vcpu_prev(vc, prev);
			struct vdelta d;

			vcpu_delta(vc, pv, &d);
			if (per_vcpu) {
				struct row *r = &rows[n++];
				struct rtab one = { 0 };

				vs_budget_add(&r->budget, &vc->budget);
				vs_budget_add(&r->budget_prev,
					      pv ? &pv->budget : NULL);
				r->vm = vm;
				r->vc = vc;
				r->d = d;
				if (!rtab_add_vcpu(&one, vc, pv) && one.n) {
					rtab_sort(&one, RS_RATE);
					r->has_top = one.v[0].d_count > 0;
					r->top_isa = one.v[0].isa;
					r->top_code = one.v[0].code;
					r->top_count = one.v[0].d_count;
				}
				rtab_free(&one);
				continue;
			}
			vs_budget_add(&vr->budget, &vc->budget);
			vs_budget_add(&vr->budget_prev, pv ? &pv->budget : NULL);
			vr->d.exits += d.exits;
			vr->d.migrations += d.migrations;
			vr->d.exit_time_ns += d.exit_time_ns;
			vr->d.timed_exits += d.timed_exits;
			for (int k = 0; k <= VCPUSTAT_DIST_MAX; k++)
				vr->d.migr[k] += d.migr[k];
			rtab_add_vcpu(&rt, vc, pv);
		}
		if (vr && rt.n) {
			rtab_sort(&rt, RS_RATE);
			vr->has_top = rt.v[0].d_count > 0;
			vr->top_isa = rt.v[0].isa;
			vr->top_code = rt.v[0].code;
			vr->top_count = rt.v[0].d_count;
		}
		rtab_free(&rt);
	}
	*rowsp = rows;
	*np = n;
	return 0;
}

/* The text report's label: local time of day, as sar and pidstat. */
static void wall_time(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(buf, len, "%H:%M:%S", &tm);
}

static void text_header(const char *label)
{
	printf("%-9s %5s %8s %-12s %5s %9s %8s %7s %9s", label, "VM",
	       "PID", "NAME", "VCPU", "EXITS/s", "MIGR/s", "%EXIT", "AVG-EXIT");
	vs_budget_cols_header(stdout);
	printf("  %s\n", "TOP");
}

static void text_row(const char *label, const struct row *r, double secs)
{
	char a[FMT_BUF], b[FMT_BUF], c[FMT_BUF], vc[16], nb[32], pb[FMT_BUF];
	char nm[12 * 4 + 1];

	if (r->vc)
		snprintf(vc, sizeof(vc), "%u", r->vc->vcpu_id);
	else
		snprintf(vc, sizeof(vc), "-");
	printf("%-9s %5" PRIu64 " %8u %s %5s %9s %8s %7.2f %9s", label,
	       r->vm->id, r->vm->pid, fmt_name(nm, sizeof(nm), r->vm->name, 12),
	       vc,
	       fmt_rate(a, sizeof(a), (double)r->d.exits / secs),
	       fmt_rate(b, sizeof(b), (double)r->d.migrations / secs),
	       100.0 * (double)r->d.exit_time_ns / (secs * 1e9),
	       r->d.timed_exits ? fmt_ns_d(c, sizeof(c),
			(double)r->d.exit_time_ns / (double)r->d.timed_exits) :
			"-");
	vs_budget_cols(stdout, &r->budget, &r->budget_prev);
	printf("  ");
	if (r->has_top)
		printf("%s %s%%\n", vs_reason_name(r->top_isa, r->top_code, nb,
						   sizeof(nb)),
		       fmt_pct(pb, sizeof(pb), r->top_count, r->d.exits));
	else
		printf("-\n");
}

static void csv_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

/*
 * A string field: empty when there is none (a VM without -name); control
 * bytes, which CSV readers choke on even quoted, as '?'; UTF-8 kept.
 */
static void csv_safe(const char *s)
{
	char b[4 * VS_NAME_LEN];

	if (*s)
		csv_str(fmt_name(b, sizeof(b), s, 0));
}

/*
 * The columns every CSV row of stat starts with, named as the JSON keys:
 * time, mono_ns, vm_id, pid, comm, name, uuid, vcpu_id, tid (the last two
 * empty in a per-VM row).
 */
static void csv_lead(uint64_t mono_ns, const struct vs_vm *vm,
		     const struct vs_vcpu *vc)
{
	char t[48];

	printf("%s,%" PRIu64 ",%" PRIu64 ",%u,", vs_rfc3339(t, sizeof(t), mono_ns),
	       mono_ns, vm->id, vm->pid);
	csv_safe(vm->comm);
	putchar(',');
	csv_safe(vm->name);
	putchar(',');
	csv_safe(vm->uuid);
	putchar(',');
	if (vc)
		printf("%u,%u", vc->vcpu_id, vc->tid);
	else
		putchar(',');
}

#define CSV_LEAD "time,mono_ns,vm_id,pid,comm,name,uuid,vcpu_id,tid,"

static void csv_row(uint64_t mono_ns, const struct row *r, double secs)
{
	double pct[VCPUSTAT_STATE_MAX + 1];
	char nb[32];

	csv_lead(mono_ns, r->vm, r->vc);
	printf(",%.3f,%" PRIu64 ",%.2f,%" PRIu64 ",%.2f,%" PRIu64 ",%.4f,",
	       secs, r->d.exits, (double)r->d.exits / secs, r->d.migrations,
	       (double)r->d.migrations / secs, r->d.exit_time_ns,
	       100.0 * (double)r->d.exit_time_ns / (secs * 1e9));
	if (r->d.timed_exits)
		printf("%.1f", (double)r->d.exit_time_ns /
		       (double)r->d.timed_exits);
	putchar(',');
	if (r->has_top) {
		csv_str(vs_reason_name(r->top_isa, r->top_code, nb,
				       sizeof(nb)));
		printf(",%" PRIu64, r->top_count);
	} else {
		putchar(',');
	}
	if (vs_budget_pct(&r->budget, &r->budget_prev, pct))
		for (int s = VCPUSTAT_STATE_GUEST; s <= VCPUSTAT_STATE_MAX; s++)
			printf(",%.2f", pct[s]);
	else
		printf(",,,,,,,");
	putchar('\n');
}

/*
 * Open @w's line with the keys every JSON row starts with, as csv_lead():
 * time, interval, the VM and (@vc not NULL) the vCPU.
 */
static void json_lead(struct jw *w, uint64_t mono_ns, double secs,
		      const struct vs_vm *vm, const struct vs_vcpu *vc)
{
	jw_init(w, stdout, false);
	jw_obj_open(w);
	jw_time_keys(w, mono_ns);
	jw_kdouble(w, "interval_s", secs);
	jw_ku64(w, "vm_id", vm->id);
	jw_ku64(w, "pid", vm->pid);
	jw_kstr(w, "comm", vm->comm);
	jw_kstr_or_null(w, "name", vm->name);
	jw_kstr_or_null(w, "uuid", vm->uuid);
	if (vc) {
		jw_ku64(w, "vcpu_id", vc->vcpu_id);
		jw_ku64(w, "tid", vc->tid);
	}
}

static void json_row(uint64_t mono_ns, const struct row *r, double secs)
{
	struct jw w;
	char nb[32];

	json_lead(&w, mono_ns, secs, r->vm, r->vc);
	jw_ku64(&w, "exits_delta", r->d.exits);
	jw_kdouble(&w, "exits_per_sec", (double)r->d.exits / secs);
	jw_ku64(&w, "migrations_delta", r->d.migrations);
	jw_kdouble(&w, "migrations_per_sec", (double)r->d.migrations / secs);
	jw_ku64(&w, "exit_time_ns_delta", r->d.exit_time_ns);
	jw_kdouble(&w, "exit_time_pct",
		   100.0 * (double)r->d.exit_time_ns / (secs * 1e9));
	jw_key(&w, "avg_exit_ns");
	if (r->d.timed_exits)
		jw_double(&w, (double)r->d.exit_time_ns /
			  (double)r->d.timed_exits);
	else
		jw_null(&w);
	jw_budget_pct(&w, "time_pct", &r->budget, &r->budget_prev);
	jw_key(&w, "top_reason");
	if (r->has_top) {
		jw_obj_open(&w);
		jw_kstr(&w, "isa", vs_isa_name(r->top_isa));
		jw_reason_code(&w, r->top_code);
		jw_kstr(&w, "name", vs_reason_name(r->top_isa, r->top_code,
						   nb, sizeof(nb)));
		jw_ku64(&w, "count_delta", r->top_count);
		jw_obj_close(&w);
	} else {
		jw_null(&w);
	}
	jw_obj_close(&w);
	jw_end(&w);
}

/*
 * Widths of the text columns that hold names: at least the classic ones
 * (REASON 10, KEY 32), wider when a name of the frame needs it, e.g. a
 * GPA key with its region ("gpa 0xfec00000 mmio kvm-bus 0xfec00000+0x100")
 * or a VMX reason ("EPT_VIOLATION"), so that the numbers stay aligned.
 */
struct detail_cols {
	int reason, key;
};

static struct detail_cols detail_cols(const struct vs_krow *rows, size_t n)
{
	struct detail_cols c = { 10, 32 };
	char key[96], nb[32];
	int w;

	for (size_t i = 0; i < n; i++) {
		const struct vs_krow *k = &rows[i];

		vs_krow_fmt(k, k->r->key_kind, "OTHER", key, sizeof(key));
		w = (int)strlen(key);
		if (w > c.key)
			c.key = w;
		w = (int)strlen(vs_reason_name(k->r->isa, k->r->code, nb,
					       sizeof(nb)));
		if (w > c.reason)
			c.reason = w;
	}
	return c;
}

static void detail_text_row(const char *label, const struct vs_krow *k,
			    double secs, struct detail_cols c)
{
	char key[96], a[FMT_BUF], nb[32], pb[FMT_BUF];

	vs_krow_fmt(k, k->r->key_kind, "OTHER", key, sizeof(key));
	printf("%-9s %5" PRIu64 " %8u %5u %-*s %-*s %10" PRIu64 " %9s %6s\n",
	       label, k->vm->id, k->vm->pid, k->vc->vcpu_id, c.reason,
	       vs_reason_name(k->r->isa, k->r->code, nb, sizeof(nb)), c.key,
	       key, k->d_count,
	       fmt_rate(a, sizeof(a), (double)k->d_count / secs),
	       fmt_pct(pb, sizeof(pb), k->d_count, k->d_reason));
}

/* One flat JSON object per key: the key's fields at the top level. */
static void detail_json_row(uint64_t mono_ns, const struct vs_krow *k,
			    double secs)
{
	struct jw w;
	char nb[32];

	json_lead(&w, mono_ns, secs, k->vm, k->vc);
	jw_kstr(&w, "reason", vs_reason_name(k->r->isa, k->r->code, nb,
					     sizeof(nb)));
	jw_ku64(&w, "code", k->r->code);
	jw_kstr(&w, "key_kind", vs_key_kind_name(k->r->key_kind));
	if (k->other) {
		jw_kbool(&w, "other", true);
	} else {
		jw_key_fields(&w, k->r->key_kind, k->key);
		jw_key_region(&w, &k->kinfo);
	}
	jw_ku64(&w, "count", k->count);
	jw_ku64(&w, "count_delta", k->d_count);
	jw_kdouble(&w, "count_per_sec", (double)k->d_count / secs);
	jw_ku64(&w, "reason_count_delta", k->d_reason);
	jw_obj_close(&w);
	jw_end(&w);
}

static int emit_detail(enum out out, uint32_t kind, const char *label,
		       const struct vs_snapshot *cur,
		       const struct vs_snapshot *prev)
{
	double secs = snap_interval_s(cur, prev);
	struct vs_krow *rows;
	char hms[16];
	size_t n;

	if (vs_krows(cur, prev, kind, &rows, &n))
		return -1;
	wall_time(hms, sizeof(hms));
	if (out == OUT_TEXT) {
		struct detail_cols c = detail_cols(rows, n);

		printf("%-9s %5s %8s %5s %-*s %-*s %10s %9s %6s\n",
		       label ? label : hms, "VM", "PID", "VCPU", c.reason,
		       "REASON", c.key, "KEY", "COUNT", "RATE/s", "%");
		for (size_t i = 0; i < n; i++)
			detail_text_row(label ? label : hms, &rows[i], secs, c);
		if (!n)
			printf("%-9s (no %s keys: no such exits, or details off: vcpustat config detail=on)\n",
			       label ? label : hms, vs_key_kind_name(kind));
		putchar('\n');
	} else if (out == OUT_CSV) {
		for (size_t i = 0; i < n; i++) {
			const struct vs_krow *k = &rows[i];
			char key[96], nb[32];

			vs_krow_fmt(k, kind, "other", key, sizeof(key));
			csv_lead(cur->ts_ns, k->vm, k->vc);
			putchar(',');
			csv_str(vs_reason_name(k->r->isa, k->r->code, nb,
					       sizeof(nb)));
			printf(",%u,", k->r->code);
			csv_str(key);
			printf(",%.3f,%" PRIu64 ",%" PRIu64 ",%.2f,%" PRIu64 "\n",
			       secs, k->count, k->d_count,
			       (double)k->d_count / secs, k->d_reason);
		}
	} else {
		for (size_t i = 0; i < n; i++)
			detail_json_row(cur->ts_ns, &rows[i], secs);
	}
	free(rows);
	fflush(stdout);
	return 0;
}

static int emit(enum out out, bool per_vcpu, const char *label,
		const struct vs_snapshot *cur, const struct vs_snapshot *prev)
{
	double secs = snap_interval_s(cur, prev);
	struct row *rows;
	char hms[16];
	size_t n;

	if (build_rows(cur, prev, per_vcpu, &rows, &n))
		return -1;
	wall_time(hms, sizeof(hms));
	if (out == OUT_TEXT) {
		text_header(label ? label : hms);
		for (size_t i = 0; i < n; i++)
			text_row(label ? label : hms, &rows[i], secs);
		if (!n)
			printf("%-9s (no VMs)\n", label ? label : hms);
		putchar('\n');
	}
	for (size_t i = 0; i < n && out != OUT_TEXT; i++) {
		if (out == OUT_CSV)
			csv_row(cur->ts_ns, &rows[i], secs);
		else
			json_row(cur->ts_ns, &rows[i], secs);
	}
	free(rows);
	fflush(stdout);
	return 0;
}

static int stat_run(struct vs_global *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "csv", no_argument, NULL, OPT_CSV },
		{ "vcpus", no_argument, NULL, 't' },
		{ "detail", required_argument, NULL, OPT_DETAIL },
		{ "total", no_argument, NULL, OPT_TOTAL },
		VS_GLOBAL_LONG,
		{ NULL, 0, NULL, 0 }
	};
	struct vs_snapshot first = { 0 }, prev = { 0 }, cur = { 0 };
	enum out out = OUT_TEXT;
	bool per_vcpu = false, csv = false, total = false;
	uint32_t kind = 0;
	double interval = 1;
	uint64_t count = 0, n = 0, next;
	struct vs_filter f;
	struct vs_ctx *ctx;
	int c, r, err;

	while ((c = getopt_long(argc, argv, "t" VS_GLOBAL_SHORT, lo,
				NULL)) != -1) {
		switch (c) {
		case OPT_CSV:
			csv = true;
			break;
		case 't':
			per_vcpu = true;
			break;
		case OPT_DETAIL:
			kind = vs_key_kind_from_name(optarg);
			if (!kind)
				return vs_usage_error(&vs_cmd_stat,
						      "--detail: unknown key kind '%s'",
						      optarg);
			break;
		case OPT_TOTAL:
			total = true;
			break;
		default:
			r = vs_common_opt(&vs_cmd_stat, g, c, optarg);
			if (r >= 0)
				return r;
		}
	}
	if (vs_parse_interval(argc, argv, optind, &interval, &count))
		return vs_usage_error(&vs_cmd_stat, "bad interval or count");
	if (csv && g->json)
		return vs_usage_error(&vs_cmd_stat, "--csv and -j exclude each other");
	if (total && optind < argc)
		return vs_usage_error(&vs_cmd_stat, "--total takes no interval");
	out = csv ? OUT_CSV : g->json ? OUT_JSON : OUT_TEXT;

	r = vs_connect(&ctx);
	if (r)
		return r;
	vs_install_stop_handlers();
	vs_global_filter(g, &f);
	err = vs_select_get(ctx, g, &f, &prev);
	if (err)
		goto fail;
	r = vs_select_check("stat", g, &prev);
	if (r)
		goto out;
	if (total) {
		/* against nothing: the whole counts */
		struct vs_snapshot none = { 0 };

		none.ts_ns = 0;
		if (out == OUT_CSV && kind)
			printf("timestamp,vm_id,pid,vcpu_id,reason,key,interval_s,count,per_sec,reason_count\n");
		r = kind ? emit_detail(out, kind, NULL, &prev, &none) :
			   emit(out, per_vcpu, NULL, &prev, &none);
		vs_snapshot_free(&prev);
		vs_close(ctx);
		return r ? VS_EXIT_ERR : VS_EXIT_OK;
	}
	err = vs_snapshot_copy(&first, &prev);
	if (err)
		goto fail;
	if (out == OUT_TEXT) {
		char host[64] = "?";
		time_t now = time(NULL);
		struct tm tm;
		char date[32];

		gethostname(host, sizeof(host) - 1);
		localtime_r(&now, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d", &tm);
		printf("vcpustat %s (%s)  %s  %ld CPUs\n\n", VCPUSTAT_VERSION,
		       host, date, sysconf(_SC_NPROCESSORS_ONLN));
	} else if (out == OUT_CSV && kind) {
		printf(CSV_LEAD "reason,code,key,interval_s,count,count_delta,"
		       "count_per_sec,reason_count_delta\n");
	} else if (out == OUT_CSV) {
		printf(CSV_LEAD "interval_s,exits_delta,exits_per_sec,"
		       "migrations_delta,migrations_per_sec,exit_time_ns_delta,"
		       "exit_time_pct,avg_exit_ns,top_reason,"
		       "top_reason_count_delta,guest_pct,exit_pct,user_pct,"
		       "poll_pct,halt_pct,wait_pct,out_pct\n");
	}
	fflush(stdout);
	next = vs_now_ns();
	while (!vs_stop && (!count || n < count)) {
		next += (uint64_t)(interval * 1e9);
		if (vs_sleep_until(next))
			break;
		err = vs_select_get(ctx, g, &f, &cur);
		if (err)
			goto fail;
		if (kind ? emit_detail(out, kind, NULL, &cur, &prev) :
			   emit(out, per_vcpu, NULL, &cur, &prev)) {
			err = -ENOMEM;
			goto fail;
		}
		vs_snapshot_free(&prev);
		prev = cur;
		memset(&cur, 0, sizeof(cur));
		n++;
		if (vs_out_failed())
			break;
	}
	/* sysstat's closing average, over the whole run */
	if (out == OUT_TEXT && n > 1) {
		if (kind)
			emit_detail(out, kind, "Average:", &prev, &first);
		else
			emit(out, per_vcpu, "Average:", &prev, &first);
	}
	r = VS_EXIT_OK;
out:
	vs_snapshot_free(&first);
	vs_snapshot_free(&prev);
	vs_close(ctx);
	return r;
fail:
	r = vs_report(ctx, err, "reading statistics");
	vs_snapshot_free(&first);
	vs_snapshot_free(&prev);
	vs_snapshot_free(&cur);
	vs_close(ctx);
	return r;
}

const struct vs_cmd vs_cmd_stat = {
	.name = "stat",
	.synopsis = "[-j|--csv] [-t] [-p PID] [-g NAME] [--vm ID] [--detail KIND] [--total | interval [count]]",
	.summary = "per-interval rates per VM or vCPU, like pidstat (text, JSON lines, CSV)",
	.run = stat_run,
	.help = stat_help,
};
