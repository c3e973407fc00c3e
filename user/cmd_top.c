// SPDX-License-Identifier: GPL-2.0
/*
 * top: live per-exit-reason view, like kvm_stat or "perf kvm stat live",
 * over all VMs or drilled down to one VM (--vm/-P) or vCPU (--vcpu).
 *
 * Interactive mode draws with plain ANSI escapes on the alternate screen:
 * one full frame per refresh, each line clipped to the terminal width and
 * the table to its height, redrawn at once on SIGWINCH. Batch mode (-b,
 * or when stdout is not a terminal) prints the same frame as plain text;
 * -j prints one JSON object per interval.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
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
#include "top.h"
#include "view.h"


static void top_help(FILE *f)
{
	fprintf(f,
"Usage: vcpustat top [-b] [-n N] [-d SECS] [-s KEY] [-j] [-p PID] [-g NAME] [--vm ID]\n"
"                    [--vcpu N] [-f REGEX] [--detail KIND] [interval]\n"
"\n"
"Live exit-reason view, refreshed every interval (default 1 s), like\n"
"kvm_stat. The header shows VMs, vCPUs, exits and their rate, the share\n"
"of wall time the selected vCPUs spent in exit handling and migrations.\n"
"One row per exit reason:\n"
"  COUNT    exits since the module started counting (or the last reset)\n"
"  RATE/s   exits per second over the last interval\n"
"  %%        share of the interval's exits\n"
"  AVG      mean exit handling time over the interval (else overall)\n"
"  MIN/MAX  shortest/longest exit handling time since counting began\n"
"\n"
"  -b, --batch      plain text frames (default when stdout is no terminal)\n"
"  -n, --iterations N  stop after N frames\n"
"  -d, --delay SECS refresh interval (same as the interval argument)\n"
"  -s, --sort KEY   count, rate (default), time (total in interval), avg,\n"
"                   max, name\n"
"  -j, --json       one JSON object per interval (implies -b)\n"
"  -p, --pid PID    only the VM created by PID\n"
"  -g, --guest NAME only the VM named NAME (QEMU -name; -P PID: same as -p)\n"
"      --vm ID      only VM ID\n"
"      --vcpu N     only vCPU N (of the selected VMs; needs -p, -g or --vm)\n"
"  -f, --filter RE  only exit reasons whose name matches the regex RE\n"
"      --detail KIND  drill into the second-level keys of KIND (io, msr,\n"
"                   cpuid, hypercall, exception, intr, gpa; port, mmio,\n"
"                   npf, ept): one row per key with COUNT, RATE/s and %%\n"
"                   of the kind's exits, OTHER for keys beyond detail_k,\n"
"                   and the p50/p90/p99 exit time of those reasons (from\n"
"                   their histograms; timing on); needs detail=on\n"
"\n"
"Batch mode is the default without a terminal or with TERM=dumb.\n"
"Keys (as kvm_stat): f reason regex, g guest, p pid, r reset the view\n"
"(not the module's counters), s next sort key, d next detail kind, space\n"
"refresh now, h help, q quit.\n");
}

/* ---------------------------------------------------------------- */
/* Data                                                              */

int top_refresh(struct top *t, struct vs_ctx *ctx)
{
	int err;

	if (t->have_cur) {
		vs_snapshot_free(&t->prev);
		t->prev = t->cur;
		t->have_prev = true;
		memset(&t->cur, 0, sizeof(t->cur));
		t->have_cur = false;
	}
	err = vs_select_get(ctx, t->g, &t->f, &t->cur);
	if (err)
		return err;
	t->have_cur = true;

	rtab_free(&t->rt);
	memset(&t->tot, 0, sizeof(t->tot));
	t->secs = snap_interval_s(&t->cur, t->have_prev ? &t->prev : NULL);
	for (size_t i = 0; i < t->cur.nr_vms; i++) {
		const struct vs_vm *vm = &t->cur.vms[i];

		if (vm->nr_vcpus)
			t->tot.vms++;
		for (size_t j = 0; j < vm->nr_vcpus; j++) {
			const struct vs_vcpu *vc = &vm->vcpus[j];
			const struct vs_vcpu *pv =
				vcpu_prev(vc, t->have_prev ? &t->prev : NULL);
			struct vdelta d;

			vcpu_delta(vc, pv, &d);
			t->tot.vcpus++;
			t->tot.exits += vc->exits;
			t->tot.migrations += vc->migrations;
			t->tot.d_exits += d.exits;
			t->tot.d_migrations += d.migrations;
			t->tot.d_exit_time_ns += d.exit_time_ns;
			vs_budget_add(&t->tot.budget, &vc->budget);
			vs_budget_add(&t->tot.budget_prev, pv ? &pv->budget : NULL);
			if (rtab_add_vcpu(&t->rt, vc, pv))
				return -ENOMEM;
		}
	}
	if (t->want_reset) {
		/* r: COUNT and the totals count from here; the kernel's
		 * counters are untouched (that is vcpustat reset) */
		if (top_view_reset(&t->view, &t->rt))
			return -ENOMEM;
		t->base_exits = t->tot.exits;
		t->base_migr = t->tot.migrations;
		t->want_reset = false;
	}
	t->tot.exits = vs_delta(t->tot.exits, t->base_exits);
	t->tot.migrations = vs_delta(t->tot.migrations, t->base_migr);
	top_view_apply(&t->view, &t->rt);
	return 0;
}

/* ---------------------------------------------------------------- */
/* Frame                                                             */

static void line(struct top *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void line(struct top *t, const char *fmt, ...)
{
	va_list ap;

	if (t->nlines >= MAX_LINES)
		return;
	va_start(ap, fmt);
	vsnprintf(t->lines[t->nlines++], LINE_LEN, fmt, ap);
	va_end(ap);
}

static void scope(const struct top *t, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	if ((t->g->has_vm || t->g->has_pid || t->g->guest) &&
	    t->cur.nr_vms == 1) {
		/* one VM selected: name it */
		const struct vs_vm *vm = &t->cur.vms[0];
		char comm[VS_COMM_LEN], nm[40 * 4 + 1];

		/* a guest name says more than comm (qemu-system-x86 for all
		 * of libvirt's VMs) and the header must fit 80 columns */
		if (vm->name[0])
			off += (size_t)snprintf(buf, len, " VM %" PRIu64 " %s (pid %u)",
				vm->id, fmt_name(nm, sizeof(nm), vm->name, -24),
				vm->pid);
		else
			off += (size_t)snprintf(buf, len, " VM %" PRIu64 " (pid %u %s)",
				vm->id, vm->pid,
				fmt_safe(comm, sizeof(comm), vm->comm));
	} else {
		if (t->g->has_vm)
			off += (size_t)snprintf(buf + off, len - off,
						" VM %" PRIu64, t->g->vm_id);
		if (t->g->has_pid && off < len)
			off += (size_t)snprintf(buf + off, len - off,
						" pid %u", t->g->pid);
	}
	if (t->has_vcpu && off < len)
		off += (size_t)snprintf(buf + off, len - off, " vCPU %u",
					t->vcpu);
	if (!buf[0])
		snprintf(buf, len, " all VMs");
}

static void build_detail(struct top *t, int max_rows);

void top_build_frame(struct top *t, int max_rows)
{
	char a[FMT_BUF], b[FMT_BUF], c[FMT_BUF], d[FMT_BUF], e[FMT_BUF];
	char m[FMT_BUF], hms[16], sc[320], bl[128];
	bool rate = t->have_prev;
	struct tm tm;
	time_t now = time(NULL);
	int shown = 0;

	t->nlines = 0;
	localtime_r(&now, &tm);
	strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
	scope(t, sc, sizeof(sc));
	line(t, "vcpustat top %s  every %.3gs  sort %s |%s", hms,
	     t->interval, rsort_name(t->sort), sc);
	if (rate)
		line(t, "VMs %u vCPUs %u | exits %s %s/s | exit time %.1f%% cpu | migr %s %s/s",
		     t->tot.vms, t->tot.vcpus,
		     fmt_count(a, sizeof(a), t->tot.exits),
		     fmt_rate(b, sizeof(b), (double)t->tot.d_exits / t->secs),
		     100.0 * (double)t->tot.d_exit_time_ns / (t->secs * 1e9),
		     fmt_count(c, sizeof(c), t->tot.migrations),
		     fmt_rate(d, sizeof(d),
			      (double)t->tot.d_migrations / t->secs));
	else
		line(t, "VMs %u vCPUs %u | exits %s | migr %s | rates after one interval",
		     t->tot.vms, t->tot.vcpus,
		     fmt_count(a, sizeof(a), t->tot.exits),
		     fmt_count(c, sizeof(c), t->tot.migrations));
	/* Where the vCPUs' time went, over the interval once there is one. */
	vs_budget_line(bl, sizeof(bl), &t->tot.budget,
		       rate ? &t->tot.budget_prev : NULL);
	line(t, "%s", bl);
	/* the blank line under the header names the filter (-f, key f) */
	if (t->view.has_re)
		line(t, "reasons matching /%s/", t->view.re_src);
	else
		line(t, "%s", "");
	if (t->detail) {
		build_detail(t, max_rows);
		return;
	}
	t->header_line = t->nlines;
	line(t, "%-26s %8s %8s %6s %8s %8s %8s", "REASON", "COUNT", "RATE/s",
	     "%", "AVG", "MIN", "MAX");
	rtab_sort(&t->rt, t->sort);
	for (size_t i = 0; i < t->rt.n; i++) {
		const struct rstat *r = &t->rt.v[i];
		char nb[40], tag[48];

		if (max_rows > 0 && t->nlines >= max_rows) {
			line(t, "... %zu more", t->rt.n - i);
			break;
		}
		/* mixed-ISA hosts do not exist, but VMX/SVM names differ */
		snprintf(tag, sizeof(tag), "%s",
			 vs_reason_name(r->isa, r->code, nb, sizeof(nb)));
		line(t, "%-26.26s %8s %8s %6s %8s %8s %8s", tag,
		     fmt_count(a, sizeof(a), r->count),
		     rate ? fmt_rate(b, sizeof(b), (double)r->d_count / t->secs)
			  : "-",
		     rate ? fmt_pct(c, sizeof(c), r->d_count, t->tot.d_exits)
			  : fmt_pct(c, sizeof(c), r->count, t->tot.exits),
		     (r->d_timed || r->timed) ?
			fmt_ns_d(d, sizeof(d), rstat_avg_ns(r)) : "-",
		     r->timed ? fmt_ns(e, sizeof(e), r->time_min_ns) : "-",
		     r->timed ? fmt_ns(m, sizeof(m), r->time_max_ns) : "-");
		shown++;
	}
	if (!t->rt.n)
		line(t, "%s", t->tot.vcpus ? "(no exits recorded)" :
		     "(no vCPUs tracked: no VMs running, or none matched)");
}

/* p50/p90/p99 over every reason of the drilled kind, merged. */
static bool detail_pcts(const struct top *t, uint64_t p[3])
{
	struct vs_reason m = { 0 };
	static const double q[3] = { 0.5, 0.9, 0.99 };

	for (size_t i = 0; i < t->cur.nr_vms; i++)
		for (size_t j = 0; j < t->cur.vms[i].nr_vcpus; j++) {
			const struct vs_vcpu *vc = &t->cur.vms[i].vcpus[j];

			for (size_t k = 0; k < vc->nr_reasons; k++) {
				const struct vs_reason *r = &vc->reasons[k];

				if (r->key_kind != t->detail || !r->has_hist)
					continue;
				if (!m.timed || r->time_min_ns < m.time_min_ns)
					m.time_min_ns = r->time_min_ns;
				if (r->time_max_ns > m.time_max_ns)
					m.time_max_ns = r->time_max_ns;
				m.timed += r->timed;
				m.has_hist = true;
				for (int b = 0; b < VCPUSTAT_RHIST_BUCKETS; b++)
					m.hist[b] += r->hist[b];
			}
		}
	for (int i = 0; i < 3; i++)
		if (!vs_rhist_quantile(&m, q[i], &p[i]))
			return false;
	return true;
}

/* A row's text in the KEY or (@by_region) REGION table. */
static void key_text(const struct top *t, const struct vs_krow *k,
		     bool by_region, char *buf, size_t len)
{
	if (by_region)
		vs_key_region_fmt(&k->kinfo, buf, len);
	else
		vs_krow_fmt(k, t->detail, "OTHER", buf, len);
}

/*
 * The first column's width: @w or the widest text of @rows, so a GPA key
 * with its region is shown whole (cut, "...+0x100" read "...+0").
 */
static int key_width(const struct top *t, const struct vs_krow *rows,
		     size_t n, bool by_region, int w)
{
	char key[96];

	for (size_t i = 0; i < n; i++) {
		key_text(t, &rows[i], by_region, key, sizeof(key));
		if ((int)strlen(key) > w)
			w = (int)strlen(key);
	}
	return w;
}

/*
 * One table of key rows, KEY or (@by_region) REGION: both show COUNT,
 * RATE/s and % of the same totals, in the same columns (@w wide first),
 * and stop at @max_rows alike.
 */
static void key_table(struct top *t, const char *title,
		      const struct vs_krow *rows, size_t n, uint64_t total,
		      bool by_region, int max_rows, int w)
{
	char a[FMT_BUF], b[FMT_BUF], c[FMT_BUF], key[96];
	bool rate = t->have_prev;

	line(t, "%-*s %8s %8s %6s", w, title, "COUNT", "RATE/s", "%");
	for (size_t i = 0; i < n; i++) {
		const struct vs_krow *k = &rows[i];

		if (max_rows > 0 && t->nlines >= max_rows) {
			line(t, "... %zu more", n - i);
			break;
		}
		key_text(t, k, by_region, key, sizeof(key));
		line(t, "%-*s %8s %8s %6s", w, key,
		     fmt_count(a, sizeof(a), k->count),
		     rate ? fmt_rate(b, sizeof(b), (double)k->d_count / t->secs)
			  : "-",
		     rate ? fmt_pct(c, sizeof(c), k->d_count, k->d_reason)
			  : fmt_pct(c, sizeof(c), k->count, total));
	}
}

static void build_detail(struct top *t, int max_rows)
{
	char p0[FMT_BUF], p1[FMT_BUF], p2[FMT_BUF];
	struct vs_krow *rows, *regions = NULL;
	uint64_t p[3], total = 0;
	size_t n, nregions = 0;
	int w;

	if (vs_krows_merged(&t->cur, t->have_prev ? &t->prev : NULL, t->detail,
			    &rows, &n)) {
		line(t, "(out of memory)");
		return;
	}
	for (size_t i = 0; i < n; i++)
		total += rows[i].count;
	/* GPA keys: the same counts by region (memslot, KVM bus range, MMIO) */
	if (t->detail == VCPUSTAT_KEY_KIND_GPA && n &&
	    vs_krows_regions(rows, n, &regions, &nregions))
		nregions = 0;
	w = key_width(t, rows, n, false, 40);
	w = key_width(t, regions, nregions, true, w);
	if (detail_pcts(t, p))
		line(t, "%s exits: p50 %s  p90 %s  p99 %s", vs_key_kind_name(t->detail),
		     fmt_ns(p0, sizeof(p0), p[0]), fmt_ns(p1, sizeof(p1), p[1]),
		     fmt_ns(p2, sizeof(p2), p[2]));
	else
		line(t, "%s exits: no exit time histogram (timing or details off)",
		     vs_key_kind_name(t->detail));
	t->header_line = t->nlines;
	key_table(t, "KEY", rows, n, total, false, max_rows, w);
	if (!n)
		line(t, "(no %s keys: no such exits, or details off: vcpustat config detail=on)",
		     vs_key_kind_name(t->detail));
	else if (nregions)
		key_table(t, "REGION", regions, nregions, total, true, max_rows,
			  w);
	free(regions);
	free(rows);
}

static void json_detail(struct top *t, struct jw *w)
{
	struct vs_krow *rows;
	uint64_t p[3];
	size_t n;

	if (vs_krows_merged(&t->cur, t->have_prev ? &t->prev : NULL,
			    t->detail, &rows, &n))
		return;
	jw_key(w, "detail");
	jw_obj_open(w);
	jw_kstr(w, "key_kind", vs_key_kind_name(t->detail));
	if (detail_pcts(t, p)) {
		jw_ku64(w, "p50_ns", p[0]);
		jw_ku64(w, "p90_ns", p[1]);
		jw_ku64(w, "p99_ns", p[2]);
	}
	jw_key(w, "keys");
	jw_arr_open(w);
	for (size_t i = 0; i < n; i++) {
		const struct vs_krow *k = &rows[i];

		jw_obj_open(w);
		if (k->other) {
			jw_kbool(w, "other", true);
		} else {
			jw_key_fields(w, t->detail, k->key);
			jw_key_region(w, &k->kinfo);
		}
		jw_ku64(w, "count", k->count);
		jw_ku64(w, "count_delta", k->d_count);
		jw_kdouble(w, "count_per_sec", (double)k->d_count / t->secs);
		jw_obj_close(w);
	}
	jw_arr_close(w);
	jw_obj_close(w);
	free(rows);
}

static void print_json(struct top *t)
{
	struct jw w;

	rtab_sort(&t->rt, t->sort);
	jw_init(&w, stdout, t->g->pretty);
	jw_obj_open(&w);
	jw_time_keys(&w, t->cur.ts_ns);
	jw_kdouble(&w, "interval_s", t->secs);
	jw_key(&w, "vms");
	jw_arr_open(&w);
	for (size_t i = 0; i < t->cur.nr_vms; i++) {
		const struct vs_vm *vm = &t->cur.vms[i];

		jw_obj_open(&w);
		jw_ku64(&w, "vm_id", vm->id);
		jw_ku64(&w, "pid", vm->pid);
		jw_kstr(&w, "comm", vm->comm);
		jw_kstr_or_null(&w, "name", vm->name);
		jw_kstr_or_null(&w, "uuid", vm->uuid);
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	jw_key(&w, "totals");
	jw_obj_open(&w);
	jw_ku64(&w, "vms", t->tot.vms);
	jw_ku64(&w, "vcpus", t->tot.vcpus);
	jw_ku64(&w, "exits", t->tot.exits);
	jw_ku64(&w, "exits_delta", t->tot.d_exits);
	jw_kdouble(&w, "exits_per_sec", (double)t->tot.d_exits / t->secs);
	jw_ku64(&w, "migrations", t->tot.migrations);
	jw_ku64(&w, "migrations_delta", t->tot.d_migrations);
	jw_kdouble(&w, "migrations_per_sec",
		   (double)t->tot.d_migrations / t->secs);
	jw_kdouble(&w, "exit_time_pct",
		   100.0 * (double)t->tot.d_exit_time_ns / (t->secs * 1e9));
	jw_obj_close(&w);
	jw_budget_pct(&w, "time_pct", &t->tot.budget,
		      t->have_prev ? &t->tot.budget_prev : NULL);
	jw_key(&w, "reasons");
	jw_arr_open(&w);
	for (size_t i = 0; i < t->rt.n; i++) {
		const struct rstat *r = &t->rt.v[i];
		char nb[40];

		jw_obj_open(&w);
		jw_kstr(&w, "isa", vs_isa_name(r->isa));
		jw_reason_code(&w, r->code);
		jw_kstr(&w, "name", vs_reason_name(r->isa, r->code, nb,
						   sizeof(nb)));
		jw_ku64(&w, "count", r->count);
		jw_ku64(&w, "count_delta", r->d_count);
		jw_kdouble(&w, "count_per_sec", (double)r->d_count / t->secs);
		jw_key(&w, "pct");
		if (t->tot.d_exits)
			jw_double(&w, 100.0 * (double)r->d_count /
				  (double)t->tot.d_exits);
		else
			jw_null(&w);
		jw_key(&w, "avg_ns");
		if (r->d_timed || r->timed)
			jw_double(&w, rstat_avg_ns(r));
		else
			jw_null(&w);
		jw_key(&w, "min_ns");
		if (r->timed)
			jw_u64(&w, r->time_min_ns);
		else
			jw_null(&w);
		jw_key(&w, "max_ns");
		if (r->timed)
			jw_u64(&w, r->time_max_ns);
		else
			jw_null(&w);
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	if (t->detail)
		json_detail(t, &w);
	jw_obj_close(&w);
	jw_end(&w);
}

static void print_batch(struct top *t)
{
	top_build_frame(t, 0);
	for (int i = 0; i < t->nlines; i++)
		puts(t->lines[i]);
	putchar('\n');
	fflush(stdout);
}

static int batch(struct top *t, struct vs_ctx *ctx)
{
	uint64_t next, frames = 0;
	int err;

	err = top_refresh(t, ctx);
	if (err)
		return err;
	next = vs_now_ns();
	while (!vs_stop && (!t->iterations || frames < t->iterations)) {
		next += (uint64_t)(t->interval * 1e9);
		if (vs_sleep_until(next))
			break;
		err = top_refresh(t, ctx);
		if (err)
			return err;
		if (t->g->json)
			print_json(t);
		else
			print_batch(t);
		frames++;
		if (vs_out_failed())
			break;
	}
	return 0;
}

static int top_main(struct top *tp, struct vs_global *g, int argc,
		    char **argv)
{
	static const struct option lo[] = {
		{ "batch", no_argument, NULL, 'b' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "delay", required_argument, NULL, 'd' },
		{ "sort", required_argument, NULL, 's' },
		{ "vcpu", required_argument, NULL, OPT_VCPU },
		{ "filter", required_argument, NULL, 'f' },
		{ "detail", required_argument, NULL, OPT_DETAIL },
		VS_GLOBAL_LONG,
		{ NULL, 0, NULL, 0 }
	};
	const char *term;
	uint64_t dummy = 0;
	struct vs_ctx *ctx;
	int c, r, err;

	while ((c = getopt_long(argc, argv, "bn:d:s:f:" VS_GLOBAL_SHORT, lo,
				NULL)) != -1) {
		char emsg[200];

		switch (c) {
		case 'f':
			if (top_view_filter(&tp->view, optarg, emsg, sizeof(emsg))) {
				top_view_free(&tp->view);
				return vs_usage_error(&vs_cmd_top, "%s", emsg);
			}
			break;
		case 'b':
			tp->batch = true;
			break;
		case 'n':
			if (vs_parse_u64(optarg, &tp->iterations) || !tp->iterations)
				return vs_usage_error(&vs_cmd_top,
					"bad iteration count '%s'", optarg);
			break;
		case 'd':
			if (vs_parse_seconds(optarg, &tp->interval) ||
			    tp->interval < 0.1)
				return vs_usage_error(&vs_cmd_top,
					"bad delay '%s' (>= 0.1 s)", optarg);
			break;
		case 's':
			tp->sort = rsort_parse(optarg);
			if (tp->sort < 0)
				return vs_usage_error(&vs_cmd_top,
					"bad sort key '%s'", optarg);
			break;
		case OPT_VCPU:
			if (vs_parse_u32(optarg, &tp->vcpu))
				return vs_usage_error(&vs_cmd_top,
					"bad vCPU id '%s'", optarg);
			tp->has_vcpu = true;
			break;
		case OPT_DETAIL:
			tp->detail = vs_key_kind_from_name(optarg);
			if (!tp->detail) {
				top_view_free(&tp->view);
				return vs_usage_error(&vs_cmd_top,
					"--detail: unknown key kind '%s'", optarg);
			}
			break;
		default:
			r = vs_common_opt(&vs_cmd_top, g, c, optarg);
			if (r >= 0)
				return r;
		}
	}
	/* top takes an interval but no count: that is -n */
	if (optind < argc && (optind + 1 != argc ||
	    vs_parse_interval(argc, argv, optind, &tp->interval, &dummy) ||
	    tp->interval < 0.1))
		return vs_usage_error(&vs_cmd_top, "bad arguments");
	/* vCPU ids repeat in every VM: "vCPU 0 of all VMs" means nothing */
	if (tp->has_vcpu && !g->has_pid && !g->has_vm && !g->guest)
		return vs_usage_error(&vs_cmd_top,
				      "--vcpu needs a VM: give -p PID, --vm ID or -g NAME");
	/* kvm_stat's fallback: no terminal, or one that cannot draw (the
	 * screen is plain ANSI, so an unset TERM still gets it) */
	term = getenv("TERM");
	if (g->json || !isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO) ||
	    (term && !strcmp(term, "dumb")))
		tp->batch = true;

	r = vs_connect(&ctx);
	if (r)
		return r;
	vs_install_stop_handlers();
	vs_global_filter(g, &tp->f);
	tp->f.has_vcpu_id = tp->has_vcpu;
	tp->f.vcpu_id = tp->vcpu;
	if (vs_selecting(g)) {
		struct vs_snapshot s;

		err = vs_select_get(ctx, g, &tp->f, &s);
		if (err) {
			r = vs_report(ctx, err, "reading statistics");
			vs_close(ctx);
			return r;
		}
		r = vs_select_check("top", g, &s);
		vs_snapshot_free(&s);
		if (r) {
			vs_close(ctx);
			return r;
		}
	}
	tp->lines = calloc(MAX_LINES, sizeof(*tp->lines));
	if (!tp->lines) {
		vs_close(ctx);
		return VS_EXIT_ERR;
	}
	err = tp->batch ? batch(tp, ctx) : top_interactive(tp, ctx);
	r = err ? vs_report(ctx, err, "reading statistics") : VS_EXIT_OK;
	rtab_free(&tp->rt);
	vs_snapshot_free(&tp->prev);
	vs_snapshot_free(&tp->cur);
	free(tp->lines);
	vs_close(ctx);
	return r;
}

static int top_run(struct vs_global *g, int argc, char **argv)
{
	struct top t = { .g = g, .interval = 1, .sort = RS_RATE };
	int r = top_main(&t, g, argc, argv);

	top_view_free(&t.view);
	return r;
}

const struct vs_cmd vs_cmd_top = {
	.name = "top",
	.synopsis = "[-b] [-n N] [-d SECS] [-s KEY] [-f RE] [-j] [-p PID] [-g NAME] [--vm ID] [--vcpu N] [--detail KIND] [interval]",
	.summary = "live per-exit-reason view (count, rate, %, avg/min/max time)",
	.run = top_run,
	.help = top_help,
};
