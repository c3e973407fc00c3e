// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshot rendering: the "dump -j" JSON contract and the text dump.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "detail.h"
#include "fmt.h"
#include "render.h"
#include "stamp.h"

#ifndef VCPUSTAT_VERSION
#define VCPUSTAT_VERSION "0.0.0"
#endif

void jw_reason_code(struct jw *w, uint32_t code)
{
	jw_key(w, "code");
	/* "other"/"unknown" are not hardware codes: their name says it */
	if (code == VCPUSTAT_CODE_OTHER || code == VCPUSTAT_CODE_UNKNOWN)
		jw_null(w);
	else
		jw_u64(w, code);
}

/*
 * Counters are cumulative under their plain name ("exits") and, when they
 * are deltas over an interval, under the same name with "_delta"
 * ("exits_delta"), in every command (vcpustat(8), JSON keys).
 */
#define D(k) (d ? k "_delta" : k)

static void reason_x(struct jw *w, const struct vs_reason *r, bool d)
{
	char buf[32];

	jw_obj_open(w);
	jw_kstr(w, "isa", vs_isa_name(r->isa));
	jw_reason_code(w, r->code);
	jw_kstr(w, "name", vs_reason_name(r->isa, r->code, buf, sizeof(buf)));
	jw_ku64(w, D("count"), r->count);
	jw_ku64(w, D("timed"), r->timed);
	jw_ku64(w, D("time_sum_ns"), r->time_sum_ns);
	jw_ku64(w, D("handle_ns"), r->handle_ns);
	/* no timed exit: min/max/avg do not exist, rather than 0 */
	if (r->timed) {
		jw_ku64(w, "time_min_ns", r->time_min_ns);
		jw_ku64(w, "time_max_ns", r->time_max_ns);
		jw_ku64(w, "time_avg_ns", r->time_sum_ns / r->timed);
	} else {
		jw_key(w, "time_min_ns");
		jw_null(w);
		jw_key(w, "time_max_ns");
		jw_null(w);
		jw_key(w, "time_avg_ns");
		jw_null(w);
	}
	jw_reason_detail(w, r);
	jw_obj_close(w);
}

static void vcpu_x(struct jw *w, const struct vs_vcpu *vc, bool d)
{
	jw_obj_open(w);
	jw_ku64(w, "vcpu_id", vc->vcpu_id);
	jw_ku64(w, "idx", vc->idx);
	jw_ku64(w, "tid", vc->tid);
	jw_key(w, "pcpu");
	if (vc->pcpu == VS_NO_CPU)
		jw_null(w);
	else
		jw_u64(w, vc->pcpu);
	jw_kstr(w, "isa", vs_isa_name(vc->isa));
	jw_ku64(w, D("exits"), vc->exits);
	jw_ku64(w, D("migrations"), vc->migrations);
	jw_ku64(w, D("timed_exits"), vc->timed_exits);
	jw_ku64(w, D("exit_time_ns"), vc->exit_time_ns);
	if (vc->interval_ns)
		jw_ku64(w, "interval_ns", vc->interval_ns);
	jw_key(w, "reasons");
	jw_arr_open(w);
	for (size_t i = 0; i < vc->nr_reasons; i++)
		reason_x(w, &vc->reasons[i], d);
	jw_arr_close(w);
	jw_key(w, D("hist"));
	jw_arr_open(w);
	for (int i = 0; i < VCPUSTAT_HIST_BUCKETS; i++)
		jw_u64(w, vc->hist[i]);
	jw_arr_close(w);
	jw_key(w, D("migrations_by_distance"));
	jw_obj_open(w);
	for (int d = VCPUSTAT_DIST_SMT; d <= VCPUSTAT_DIST_MAX; d++)
		jw_ku64(w, vs_distance_name((uint32_t)d), vc->migr[d]);
	jw_obj_close(w);
	jw_key(w, "residency");
	jw_arr_open(w);
	for (size_t i = 0; i < vc->nr_residency; i++) {
		jw_obj_open(w);
		jw_ku64(w, "cpu", vc->residency[i].cpu);
		jw_ku64(w, D("exits"), vc->residency[i].exits);
		jw_obj_close(w);
	}
	jw_arr_close(w);
	jw_key(w, D("budget"));
	if (vc->budget.valid)
		jw_budget(w, &vc->budget, d);
	else
		jw_null(w);
	jw_obj_close(w);
}

void jw_reason(struct jw *w, const struct vs_reason *r)
{
	reason_x(w, r, false);
}

void jw_vcpu(struct jw *w, const struct vs_vcpu *vc)
{
	vcpu_x(w, vc, false);
}

void jw_vcpu_delta(struct jw *w, const struct vs_vcpu *vc)
{
	vcpu_x(w, vc, true);
}

void jw_kstr_or_null(struct jw *w, const char *k, const char *v)
{
	jw_key(w, k);
	if (v && *v)
		jw_str(w, v);
	else
		jw_null(w);
}

void jw_vm(struct jw *w, const struct vs_vm *vm, bool with_vcpus)
{
	jw_obj_open(w);
	jw_ku64(w, "vm_id", vm->id);
	jw_ku64(w, "pid", vm->pid);
	jw_kstr(w, "comm", vm->comm);
	jw_kstr(w, "stats_id", vm->stats_id);
	jw_kstr_or_null(w, "name", vm->name);
	jw_kstr_or_null(w, "uuid", vm->uuid);
	jw_ku64(w, "nr_vcpus", vm->tracked_vcpus);
	jw_ku64(w, "exits", vm->exits);
	jw_ku64(w, "migrations", vm->migrations);
	jw_ku64(w, "exit_time_ns", vm->exit_time_ns);
	jw_ku64(w, "age_ns", vm->age_ns);
	jw_ku64(w, "untracked_exits", vm->untracked_exits);
	if (vm->stub)
		jw_kbool(w, "incomplete", true);
	if (with_vcpus) {
		jw_key(w, "vcpus");
		jw_arr_open(w);
		for (size_t i = 0; i < vm->nr_vcpus; i++)
			jw_vcpu(w, &vm->vcpus[i]);
		jw_arr_close(w);
	}
	jw_obj_close(w);
}

void jw_config(struct jw *w, const struct vs_config *cfg)
{
	jw_obj_open(w);
	if (cfg->mask & VS_CFG_SNAPSHOT_MS)
		jw_ku64(w, "snapshot_ms", cfg->snapshot_ms);
	if (cfg->mask & VS_CFG_TIMING)
		jw_kbool(w, "timing", cfg->timing);
	if (cfg->mask & VS_CFG_MIGR_RATE)
		jw_ku64(w, "migr_rate", cfg->migr_rate);
	if (cfg->mask & VS_CFG_TIMING_EVERY)
		jw_ku64(w, "timing_every", cfg->timing_every);
	if (cfg->mask & VS_CFG_HEARTBEAT_MS)
		jw_ku64(w, "heartbeat_ms", cfg->heartbeat_ms);
	if (cfg->mask & VS_CFG_BUDGET)
		jw_kbool(w, "budget", cfg->budget);
	if (cfg->mask & VS_CFG_DETAIL)
		jw_kbool(w, "detail", cfg->detail);
	if (cfg->mask & VS_CFG_DETAIL_K)
		jw_ku64(w, "detail_k", cfg->detail_k);
	jw_obj_close(w);
}

void jw_status(struct jw *w, const struct vs_status *st)
{
	jw_obj_open(w);
	jw_kstr(w, "version", st->version);
	jw_ku64(w, "vms", st->vms);
	jw_ku64(w, "vcpus", st->vcpus);
	jw_ku64(w, "max_vcpus", st->max_vcpus);
	jw_ku64(w, "vms_seen", st->vms_seen);
	jw_ku64(w, "overflow", st->overflow);
	jw_ku64(w, "alloc_fail", st->alloc_fail);
	jw_ku64(w, "events_sent", st->events_sent);
	jw_ku64(w, "events_lost", st->events_lost);
	jw_ku64(w, "migr_suppressed", st->migr_suppressed);
	jw_ku64(w, "generation", st->generation);
	jw_ku64(w, "bad_layout", st->bad_layout);
	jw_ku64(w, "nomem_exits", st->nomem_exits);
	jw_ku64(w, "stale_vms", st->stale_vms);
	jw_kbool(w, "run_hook", st->run_hook);
	jw_ku64(w, "run_missed", st->run_missed);
	jw_obj_close(w);
}

int dump_json(FILE *f, bool pretty, const struct vs_snapshot *snap,
	      const struct vs_config *cfg, const struct vs_status *st)
{
	struct jw w;

	jw_init(&w, f, pretty);
	jw_obj_open(&w);
	jw_kstr(&w, "tool_version", VCPUSTAT_VERSION);
	jw_time_keys(&w, snap->ts_ns);
	jw_kbool(&w, "consistent", snap->consistent);
	if (st) {
		jw_key(&w, "status");
		jw_status(&w, st);
	}
	if (cfg) {
		jw_key(&w, "config");
		jw_config(&w, cfg);
	}
	jw_key(&w, "vms");
	jw_arr_open(&w);
	for (size_t i = 0; i < snap->nr_vms; i++)
		jw_vm(&w, &snap->vms[i], true);
	jw_arr_close(&w);
	jw_obj_close(&w);
	return jw_end(&w);
}

/* ------------------------------------------------------------------ */

static int cmp_reason_count(const void *a, const void *b)
{
	const struct vs_reason *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return x->code < y->code ? -1 : x->code > y->code;
}

static void text_hist(FILE *f, const uint64_t *hist)
{
	uint64_t max = 0;
	int lo = -1, hi = -1;

	for (int i = 0; i < VCPUSTAT_HIST_BUCKETS; i++) {
		if (!hist[i])
			continue;
		if (lo < 0)
			lo = i;
		hi = i;
		if (hist[i] > max)
			max = hist[i];
	}
	if (lo < 0)
		return;
	fprintf(f, "    exit time histogram:\n");
	for (int i = lo; i <= hi; i++) {
		char a[FMT_BUF], b[FMT_BUF], c[FMT_BUF];
		int bar = (int)((hist[i] * 40 + max - 1) / max);

		/* bucket i: [2^i, 2^(i+1)) ns; bucket 0 also holds 0 */
		fmt_ns(a, sizeof(a), i ? 1ull << i : 0);
		if (i == VCPUSTAT_HIST_BUCKETS - 1)
			snprintf(b, sizeof(b), "inf");
		else
			fmt_ns(b, sizeof(b), 1ull << (i + 1));
		fprintf(f, "      %7s .. %-7s %8s |%.*s\n", a, b,
			fmt_count(c, sizeof(c), hist[i]), hist[i] ? bar : 0,
			"########################################");
	}
}

static void text_vcpu(FILE *f, const struct vs_vcpu *vc)
{
	char a[FMT_BUF], b[FMT_BUF], c[FMT_BUF], d[FMT_BUF];
	struct vs_reason *sorted = NULL;

	fprintf(f, "  vCPU %u (idx %u)  tid %u  pCPU ", vc->vcpu_id, vc->idx,
		vc->tid);
	if (vc->pcpu == VS_NO_CPU)
		fprintf(f, "-");
	else
		fprintf(f, "%u", vc->pcpu);
	fprintf(f, "  %s  exits %" PRIu64 "\n", vs_isa_name(vc->isa),
		vc->exits);
	fprintf(f, "    migrations %" PRIu64 " (smt %" PRIu64 ", llc %" PRIu64
		", node %" PRIu64 ", remote %" PRIu64 ")\n", vc->migrations,
		vc->migr[VCPUSTAT_DIST_SMT], vc->migr[VCPUSTAT_DIST_LLC],
		vc->migr[VCPUSTAT_DIST_NODE], vc->migr[VCPUSTAT_DIST_REMOTE]);
	fprintf(f, "    exit time %s over %" PRIu64 " timed exits",
		fmt_ns(a, sizeof(a), vc->exit_time_ns), vc->timed_exits);
	if (vc->timed_exits)
		fprintf(f, " (avg %s)", fmt_ns_d(b, sizeof(b),
			(double)vc->exit_time_ns / (double)vc->timed_exits));
	fputc('\n', f);

	if (vc->nr_reasons) {
		sorted = malloc(vc->nr_reasons * sizeof(*sorted));
		if (sorted) {
			memcpy(sorted, vc->reasons,
			       vc->nr_reasons * sizeof(*sorted));
			qsort(sorted, vc->nr_reasons, sizeof(*sorted),
			      cmp_reason_count);
		}
	}
	if (sorted) {
		fprintf(f, "    %-28s %12s %6s %8s %8s %8s\n", "REASON",
			"COUNT", "%", "AVG", "MIN", "MAX");
		for (size_t i = 0; i < vc->nr_reasons; i++) {
			const struct vs_reason *r = &sorted[i];
			char nb[32], pb[FMT_BUF];

			fprintf(f, "    %-28s %12" PRIu64 " %6s",
				vs_reason_name(r->isa, r->code, nb, sizeof(nb)),
				r->count, fmt_pct(pb, sizeof(pb), r->count,
						  vc->exits));
			if (r->timed)
				fprintf(f, " %8s %8s %8s\n",
					fmt_ns_d(b, sizeof(b),
						 (double)r->time_sum_ns /
						 (double)r->timed),
					fmt_ns(c, sizeof(c), r->time_min_ns),
					fmt_ns(d, sizeof(d), r->time_max_ns));
			else
				fprintf(f, " %8s %8s %8s\n", "-", "-", "-");
		}
		free(sorted);
	}
	text_hist(f, vc->hist);
	if (vc->nr_residency) {
		uint64_t tot = 0;

		for (size_t i = 0; i < vc->nr_residency; i++)
			tot += vc->residency[i].exits;
		fprintf(f, "    residency (exits per CPU):");
		for (size_t i = 0; i < vc->nr_residency; i++)
			fprintf(f, "%s cpu%u %s (%s%%)", i ? "," : "",
				vc->residency[i].cpu,
				fmt_count(a, sizeof(a),
					  vc->residency[i].exits),
				fmt_pct(b, sizeof(b),
					vc->residency[i].exits, tot));
		fputc('\n', f);
	}
}

void dump_text(FILE *f, const struct vs_snapshot *snap,
	       const struct vs_config *cfg, const struct vs_status *st)
{
	char a[FMT_BUF], b[FMT_BUF];

	if (st) {
		fprintf(f, "module %s: %u VMs, %u vCPUs tracked (max_vcpus %u), "
			"%" PRIu64 " VMs seen\n", st->version[0] ? st->version :
			"?", st->vms, st->vcpus, st->max_vcpus, st->vms_seen);
		fprintf(f, "  untracked exits %" PRIu64 " (cap) %" PRIu64
			" (no record ready), alloc failures %"
			PRIu64 ", unknown-reason exits %" PRIu64
			", events sent %" PRIu64 " lost %" PRIu64
			", migrations not reported (rate limit) %" PRIu64 "\n",
			st->overflow, st->nomem_exits, st->alloc_fail,
			st->bad_layout,
			st->events_sent, st->events_lost, st->migr_suppressed);
	}
	if (cfg) {
		fprintf(f, "config: timing %s",
			(cfg->mask & VS_CFG_TIMING) ?
			(cfg->timing ? "on" : "off") : "?");
		if ((cfg->mask & VS_CFG_TIMING_EVERY) && cfg->timing_every > 1)
			fprintf(f, " (1 exit in %u)", cfg->timing_every);
		fprintf(f, ", delta events ");
		if (!(cfg->mask & VS_CFG_SNAPSHOT_MS))
			fprintf(f, "?");
		else if (cfg->snapshot_ms)
			fprintf(f, "every %u ms", cfg->snapshot_ms);
		else
			fprintf(f, "off");
		fprintf(f, ", migration events ");
		if (!(cfg->mask & VS_CFG_MIGR_RATE))
			fprintf(f, "?\n");
		else if (cfg->migr_rate)
			fprintf(f, "max %u/s\n", cfg->migr_rate);
		else
			fprintf(f, "off\n");
	}
	if (!snap->consistent)
		fprintf(f, "note: VMs came or went during the dump; totals may mix two moments\n");
	if (!snap->nr_vms)
		fprintf(f, "no VMs\n");
	for (size_t i = 0; i < snap->nr_vms; i++) {
		const struct vs_vm *vm = &snap->vms[i];
		char comm[VS_COMM_LEN], sid[VS_STATS_ID_LEN];

		fprintf(f, "\nVM %" PRIu64 "  pid %u  %s  %s  age %s  vCPUs %u"
			"  exits %" PRIu64 "  migrations %" PRIu64
			"  exit time %s", vm->id, vm->pid,
			vm->comm[0] ? fmt_safe(comm, sizeof(comm), vm->comm) : "?",
			vm->stats_id[0] ?
			fmt_safe(sid, sizeof(sid), vm->stats_id) : "-",
			fmt_age(a, sizeof(a), vm->age_ns), vm->tracked_vcpus,
			vm->exits, vm->migrations,
			fmt_ns(b, sizeof(b), vm->exit_time_ns));
		if (vm->name[0]) {
			char nm[VS_NAME_LEN * 4];

			fprintf(f, "  name %s", fmt_name(nm, sizeof(nm),
							 vm->name, 0));
		}
		if (vm->uuid[0])
			fprintf(f, "  uuid %s", vm->uuid);
		if (vm->untracked_exits)
			fprintf(f, "  untracked exits %" PRIu64,
				vm->untracked_exits);
		if (vm->stub)
			fprintf(f, "  (VM details unavailable)");
		fputc('\n', f);
		for (size_t j = 0; j < vm->nr_vcpus; j++)
			text_vcpu(f, &vm->vcpus[j]);
	}
}
