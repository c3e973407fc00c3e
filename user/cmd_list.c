// SPDX-License-Identifier: GPL-2.0
/*
 * list: one row per vCPU. The exits/s column needs two snapshots; without
 * an interval we take them a short sample apart (--sample), with one the
 * rate is over the previous interval, like sysstat tools.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "budget.h"
#include "cmds.h"
#include "fmt.h"
#include "json.h"
#include "render.h"
#include "select.h"
#include "stamp.h"
#include "view.h"

#define OPT_SAMPLE 0x2001

static void list_help(FILE *f)
{
	fprintf(f,
"Usage: vcpustat list [-j|--pretty] [-p PID] [-g NAME] [--vm ID] [--sample MS] [interval [count]]\n"
"\n"
"One row per tracked vCPU: VM id, VM pid, comm, vCPU id, thread id, pCPU\n"
"of the last exit, exits, exits/s, migrations and the top exit\n"
"reason (by exits in the sample, else overall).\n"
"\n"
"Without interval, exits/s is measured over a short sample (default\n"
"250 ms; --sample 0 prints no rate). With interval, the list is printed\n"
"every interval seconds (count times, default forever) and exits/s is\n"
"over the previous interval.\n"
"\n"
"  -j, --json       JSON ({\"vcpus\":[...]} per report)\n"
"      --pretty     indented JSON\n"
"  -p, --pid PID    only the VM created by PID\n"
"  -g, --guest NAME only the VM named NAME (QEMU -name; -P PID: same as -p)\n"
"      --vm ID      only VM ID\n"
"      --sample MS  rate sample length in milliseconds (0: no rate)\n");
}

static void print_text(const struct vs_snapshot *cur,
		       const struct vs_snapshot *prev, bool rate)
{
	double secs = snap_interval_s(cur, prev);
	size_t rows = 0;

	printf("%-4s %-7s %-15s %-15s %4s %-7s %4s %7s %7s %6s", "VM",
	       "PID", "COMM", "NAME", "VCPU", "TID", "PCPU", "EXITS", "EXITS/s",
	       "MIGR");
	vs_budget_cols_header(stdout);
	printf(" %s\n", "TOP-REASON");
	for (size_t i = 0; i < cur->nr_vms; i++) {
		const struct vs_vm *vm = &cur->vms[i];

		for (size_t j = 0; j < vm->nr_vcpus; j++) {
			const struct vs_vcpu *vc = &vm->vcpus[j];
			const struct vs_vcpu *pv = vcpu_prev(vc, prev);
			const struct vs_reason *top;
			char e[FMT_BUF], r[FMT_BUF], m[FMT_BUF], pc[16];
			char nb[32], pb[FMT_BUF], comm[VS_COMM_LEN];
			char nm[15 * 4 + 1];
			struct vdelta d;
			uint64_t tc;

			vcpu_delta(vc, pv, &d);
			top = vcpu_top_reason(vc, rate ? pv : NULL, &tc);
			if (vc->pcpu == VS_NO_CPU)
				snprintf(pc, sizeof(pc), "-");
			else
				snprintf(pc, sizeof(pc), "%u", vc->pcpu);
			printf("%-4" PRIu64 " %-7u %-15.15s %s %4u %-7u %4s %7s %7s %6s",
			       vm->id, vm->pid,
			       vm->comm[0] ? fmt_safe(comm, sizeof(comm), vm->comm) : "?",
			       fmt_name(nm, sizeof(nm), vm->name, 15),
			       vc->vcpu_id, vc->tid, pc,
			       fmt_count(e, sizeof(e), vc->exits),
			       rate ? fmt_rate(r, sizeof(r),
					       (double)d.exits / secs) : "-",
			       fmt_count(m, sizeof(m), vc->migrations));
			/* Shares of its time: over the interval, as exits/s. */
			vs_budget_cols(stdout, &vc->budget,
				       rate && pv ? &pv->budget : NULL);
			if (top)
				printf(" %s (%s%%)\n",
				       vs_reason_name(top->isa, top->code, nb,
						      sizeof(nb)),
				       fmt_pct(pb, sizeof(pb), tc,
					       rate && pv && d.exits ? d.exits :
					       vc->exits));
			else
				printf(" -\n");
			rows++;
		}
	}
	if (!rows)
		printf("(no vCPUs tracked%s)\n",
		       cur->nr_vms ? "" : ": no VMs running, or none matched");
}

static void print_json(const struct vs_snapshot *cur,
		       const struct vs_snapshot *prev, bool rate, bool pretty)
{
	double secs = snap_interval_s(cur, prev);
	struct jw w;

	jw_init(&w, stdout, pretty);
	jw_obj_open(&w);
	jw_time_keys(&w, cur->ts_ns);
	if (rate)
		jw_kdouble(&w, "sample_s", secs);
	jw_key(&w, "vcpus");
	jw_arr_open(&w);
	for (size_t i = 0; i < cur->nr_vms; i++) {
		const struct vs_vm *vm = &cur->vms[i];

		for (size_t j = 0; j < vm->nr_vcpus; j++) {
			const struct vs_vcpu *vc = &vm->vcpus[j];
			const struct vs_vcpu *pv = vcpu_prev(vc, prev);
			const struct vs_reason *top;
			struct vdelta d;
			char nb[32];
			uint64_t tc;

			vcpu_delta(vc, pv, &d);
			top = vcpu_top_reason(vc, rate ? pv : NULL, &tc);
			jw_obj_open(&w);
			jw_ku64(&w, "vm_id", vm->id);
			jw_ku64(&w, "pid", vm->pid);
			jw_kstr(&w, "comm", vm->comm);
			jw_kstr_or_null(&w, "name", vm->name);
			jw_kstr_or_null(&w, "uuid", vm->uuid);
			jw_ku64(&w, "vcpu_id", vc->vcpu_id);
			jw_ku64(&w, "tid", vc->tid);
			jw_key(&w, "pcpu");
			if (vc->pcpu == VS_NO_CPU)
				jw_null(&w);
			else
				jw_u64(&w, vc->pcpu);
			jw_ku64(&w, "exits", vc->exits);
			jw_key(&w, "exits_per_sec");
			if (rate)
				jw_double(&w, (double)d.exits / secs);
			else
				jw_null(&w);
			jw_ku64(&w, "migrations", vc->migrations);
			jw_budget_pct(&w, "time_pct", &vc->budget,
				      rate && pv ? &pv->budget : NULL);
			jw_key(&w, "top_reason");
			if (top) {
				jw_obj_open(&w);
				jw_kstr(&w, "isa", vs_isa_name(top->isa));
				jw_reason_code(&w, top->code);
				jw_kstr(&w, "name", vs_reason_name(top->isa,
					top->code, nb, sizeof(nb)));
				jw_ku64(&w, "count", tc);
				jw_obj_close(&w);
			} else {
				jw_null(&w);
			}
			jw_obj_close(&w);
		}
	}
	jw_arr_close(&w);
	jw_obj_close(&w);
	jw_end(&w);
}

static int list_run(struct vs_global *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "sample", required_argument, NULL, OPT_SAMPLE },
		VS_GLOBAL_LONG,
		{ NULL, 0, NULL, 0 }
	};
	struct vs_snapshot prev = { 0 }, cur = { 0 };
	bool have_prev = false, repeat;
	double interval = 0;
	uint32_t sample_ms = 250;
	uint64_t count = 0, n = 0, next;
	struct vs_filter f;
	struct vs_ctx *ctx;
	int c, r, err;

	while ((c = getopt_long(argc, argv, VS_GLOBAL_SHORT, lo, NULL)) != -1) {
		switch (c) {
		case OPT_SAMPLE:
			if (vs_parse_u32(optarg, &sample_ms) ||
			    sample_ms > 60000)
				return vs_usage_error(&vs_cmd_list,
					"bad sample '%s' (0..60000 ms)", optarg);
			break;
		default:
			r = vs_common_opt(&vs_cmd_list, g, c, optarg);
			if (r >= 0)
				return r;
		}
	}
	if (vs_parse_interval(argc, argv, optind, &interval, &count))
		return vs_usage_error(&vs_cmd_list, "bad interval or count");
	repeat = interval > 0;
	r = vs_connect(&ctx);
	if (r)
		return r;
	vs_install_stop_handlers();
	vs_global_filter(g, &f);

	if (!repeat && sample_ms) {
		err = vs_select_get(ctx, g, &f, &prev);
		if (err)
			goto fail;
		r = vs_select_check("list", g, &prev);
		if (r)
			goto out;
		have_prev = true;
		vs_sleep_until(vs_now_ns() + (uint64_t)sample_ms * 1000000ull);
	}
	next = vs_now_ns();
	for (;;) {
		err = vs_select_get(ctx, g, &f, &cur);
		if (err)
			goto fail;
		if (!n && !have_prev) {
			r = vs_select_check("list", g, &cur);
			if (r)
				goto out;
		}
		if (repeat && n && !g->json)
			putchar('\n');
		if (g->json)
			print_json(&cur, have_prev ? &prev : NULL,
				   have_prev, g->pretty);
		else
			print_text(&cur, have_prev ? &prev : NULL, have_prev);
		fflush(stdout);
		vs_snapshot_free(&prev);
		prev = cur;
		memset(&cur, 0, sizeof(cur));
		have_prev = true;
		n++;
		if (!repeat || (count && n >= count) || vs_stop ||
		    vs_out_failed())
			break;
		next += (uint64_t)(interval * 1e9);
		if (vs_sleep_until(next))
			break;
	}
	r = VS_EXIT_OK;
out:
	vs_snapshot_free(&prev);
	vs_snapshot_free(&cur);
	vs_close(ctx);
	return r;
fail:
	r = vs_report(ctx, err, "reading statistics");
	vs_snapshot_free(&prev);
	vs_snapshot_free(&cur);
	vs_close(ctx);
	return r;
}

const struct vs_cmd vs_cmd_list = {
	.name = "list",
	.synopsis = "[-j|--pretty] [-p PID] [-g NAME] [--vm ID] [--sample MS] [interval [count]]",
	.summary = "one row per vCPU: tid, pCPU, exits, exits/s, top reason",
	.run = list_run,
	.help = list_help,
};
