// SPDX-License-Identifier: GPL-2.0
/*
 * vcpustat export --reason-hist (issue 16): the per-reason exit time
 * histogram from the module's per-reason buckets. Opt-in (the default
 * output and series budget unchanged), le on the x4 grid of the
 * all-reasons histogram where the module's buckets are exact (512 ns ..
 * 134 ms), _count = timed and _sum = time of the reasons that have a
 * histogram, per VM or per vCPU, the reasons those of the exits family
 * under --reasons top:N (folded ones in "other", which never goes down),
 * nothing for reasons without a histogram (details off).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "prom.h"
#include "snapshot.h"
#include "testutil.h"

#define RH "vcpustat_vm_exit_reason_duration_seconds"

/*
 * Per-reason histograms summing to each timed count, uneven: half in
 * bucket 3k mod 19, a quarter in 3k+5 mod 19 (odd buckets fall between
 * two le), the rest in the open last one. @salt makes vCPUs differ.
 */
static void give_hists(struct vs_vcpu *vc, unsigned int salt)
{
	for (size_t k = 0; k < vc->nr_reasons; k++) {
		struct vs_reason *r = &vc->reasons[k];
		uint64_t half, quarter;

		memset(r->hist, 0, sizeof(r->hist));
		r->has_hist = r->timed != 0;
		if (!r->timed)
			continue;
		r->timed += salt;
		r->time_sum_ns = r->timed * 700 + salt;
		half = r->timed / 2;
		quarter = r->timed / 4;
		r->hist[(3 * k + salt) % 19] += half;
		r->hist[(3 * k + 5 + salt) % 19] += quarter;
		r->hist[VCPUSTAT_RHIST_BUCKETS - 1] += r->timed - half - quarter;
	}
}

static void snap(struct vs_snapshot *s, unsigned int nvms,
		 unsigned int nvcpus)
{
	t_snapshot(s, nvms, nvcpus);
	for (size_t i = 0; i < s->nr_vms; i++)
		for (size_t j = 0; j < s->vms[i].nr_vcpus; j++)
			give_hists(&s->vms[i].vcpus[j], (unsigned int)(i + 3 * j));
}

static char *render(const struct vs_snapshot *s, const struct prom_opts *o)
{
	char *t = prom_render(s, NULL, NULL, NULL, o, NULL);

	T_ASSERT(t);
	return t;
}

/* The value of the sample @series (name and labels, exactly). */
static uint64_t val(const char *t, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = t; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
		if (!strncmp(p, series, n) && p[n] == ' ')
			return strtoull(p + n + 1, NULL, 10);
	t_fail(__FILE__, __LINE__, "no sample %s", series);
	return 0;
}

static bool has_line(const char *t, const char *line)
{
	char *want = NULL;
	bool ok;

	T_ASSERT(asprintf(&want, "\n%s\n", line) > 0);
	ok = strstr(t, want) != NULL;
	free(want);
	return ok;
}

static size_t lines_with(const char *t, const char *prefix)
{
	size_t n = 0, len = strlen(prefix);

	for (const char *p = t; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
		n += !strncmp(p, prefix, len);
	return n;
}

/* Check one series group's histogram of (isa svm, @reason) against the
 * summed module buckets @hist, @timed and @sum_ns. @lbl: its labels. */
static void check_hist(const char *t, const char *lbl, const char *reason,
		       const uint64_t *hist, uint64_t timed, uint64_t sum_ns)
{
	char series[512], le[PROM_SECONDS_BUF], sum[PROM_SECONDS_BUF];
	uint64_t cum = 0;
	int h = 0;

	for (int e = PROM_HIST_LE_FIRST; e <= PROM_RHIST_LE_LAST;
	     e += PROM_HIST_LE_STEP) {
		/* module bucket h ends at 2^(8 + h + 1) ns */
		for (; VCPUSTAT_RHIST_SHIFT + h + 1 <= e; h++)
			cum += hist[h];
		snprintf(series, sizeof(series),
			 RH "_bucket{%s,isa=\"svm\",reason=\"%s\",le=\"%s\"}",
			 lbl, reason, prom_seconds(le, sizeof(le), 1ull << e));
		T_EQ(val(t, series), cum);
	}
	snprintf(series, sizeof(series),
		 RH "_bucket{%s,isa=\"svm\",reason=\"%s\",le=\"+Inf\"}", lbl,
		 reason);
	T_EQ(val(t, series), timed);
	snprintf(series, sizeof(series),
		 RH "_count{%s,isa=\"svm\",reason=\"%s\"}", lbl, reason);
	T_EQ(val(t, series), timed);
	snprintf(series, sizeof(series),
		 RH "_sum{%s,isa=\"svm\",reason=\"%s\"} %s", lbl, reason,
		 prom_seconds(sum, sizeof(sum), sum_ns));
	T_ASSERT(has_line(t, series));
	snprintf(series, sizeof(series), RH "_bucket{%s,isa=\"svm\",reason=\"%s\",",
		 lbl, reason);
	T_EQ(lines_with(t, series), PROM_RHIST_FINITE + 1);
}

/* What a VM's series of a reason sum up: its vCPUs with a histogram. */
static void add_reason(const struct vs_reason *r,
		       uint64_t hist[VCPUSTAT_RHIST_BUCKETS], uint64_t *timed,
		       uint64_t *sum)
{
	if (!r->has_hist)
		return;
	for (int b = 0; b < VCPUSTAT_RHIST_BUCKETS; b++)
		hist[b] += r->hist[b];
	*timed += r->timed;
	*sum += r->time_sum_ns;
}

T_TEST(export_rhist_opt_in)
{
	struct prom_opts o = { .by = PROM_BY_VM };
	struct vs_snapshot s;
	char *t, *with;

	snap(&s, 1, 2);
	t = render(&s, &o);
	T_ASSERT(!strstr(t, RH));
	o.reason_hist = true;
	with = render(&s, &o);
	T_ASSERT(strstr(with, "# TYPE " RH " histogram\n"));
	/* the rest is the default output, byte for byte, before it */
	T_ASSERT(!strncmp(t, with, strstr(t, "# HELP vcpustat_vcpu_migrations_total") - t));
	free(t);
	free(with);
	vs_snapshot_free(&s);
}

/* le = 2^9 .. 2^27 ns in x4 steps: 10 finite buckets, exact, the module's
 * 20 buckets summed below each le; its open last bucket only in +Inf. */
T_TEST(export_rhist_buckets_per_vcpu)
{
	struct prom_opts o = { .by = PROM_BY_VCPU, .reason_hist = true };
	static const char *const names[] = { "cpuid", "io", "npf", "hlt",
					     "other", "unknown", "0x7ff" };
	struct vs_snapshot s;
	char *t, lbl[64];

	T_EQ(PROM_RHIST_FINITE, 10);
	T_EQ(PROM_RHIST_SERIES, 13);
	T_EQ(PROM_RHIST_LE_LAST, 27);
	snap(&s, 1, 2);
	t = render(&s, &o);
	T_ASSERT(strstr(t, RH "_bucket{vm_id=\"1\",vcpu=\"0\",isa=\"svm\",reason=\"cpuid\",le=\"0.000000512\"} "));
	T_ASSERT(strstr(t, "reason=\"cpuid\",le=\"0.134217728\"} "));
	T_ASSERT(!strstr(t, RH "_bucket{vm_id=\"1\",vcpu=\"0\",isa=\"svm\",reason=\"cpuid\",le=\"0.000000256\"}"));
	T_ASSERT(!strstr(t, RH "_bucket{vm_id=\"1\",vcpu=\"0\",isa=\"svm\",reason=\"cpuid\",le=\"0.536870912\"}"));
	for (size_t j = 0; j < 2; j++) {
		const struct vs_vcpu *vc = &s.vms[0].vcpus[j];

		snprintf(lbl, sizeof(lbl), "vm_id=\"1\",vcpu=\"%zu\"", j);
		for (size_t k = 0; k < vc->nr_reasons; k++) {
			const struct vs_reason *r = &vc->reasons[k];
			char prefix[256];

			snprintf(prefix, sizeof(prefix), RH "_count{%s,isa=\"svm\",reason=\"%s\"}",
				 lbl, names[k]);
			if (!r->has_hist) {	/* hlt: never timed */
				T_EQ(lines_with(t, prefix), 0);
				continue;
			}
			check_hist(t, lbl, names[k], r->hist, r->timed,
				   r->time_sum_ns);
		}
	}
	/* 6 reasons with a histogram, 2 vCPUs */
	T_EQ(lines_with(t, RH "_"), 2 * 6 * PROM_RHIST_SERIES);
	free(t);
	vs_snapshot_free(&s);
}

/* Per VM: the vCPUs summed, a vCPU whose reason has no histogram (its
 * histograms all taken) left out of that reason's, timed count too. */
T_TEST(export_rhist_by_vm_sums)
{
	struct prom_opts o = { .by = PROM_BY_VM, .reason_hist = true };
	struct vs_snapshot s;
	uint64_t hist[VCPUSTAT_RHIST_BUCKETS] = { 0 }, timed = 0, sum = 0;
	char *t;

	snap(&s, 2, 3);
	s.vms[1].vcpus[2].reasons[1].has_hist = false;	/* io of vCPU 2 */
	t = render(&s, &o);
	for (size_t j = 0; j < 3; j++)
		add_reason(&s.vms[1].vcpus[j].reasons[1], hist, &timed, &sum);
	check_hist(t, "vm_id=\"2\"", "io", hist, timed, sum);
	T_ASSERT(timed < s.vms[1].vcpus[0].reasons[1].timed +
			 s.vms[1].vcpus[1].reasons[1].timed +
			 s.vms[1].vcpus[2].reasons[1].timed);
	T_ASSERT(!strstr(t, "vcpu=\""));
	free(t);
	vs_snapshot_free(&s);
}

/* Details off: no reason has a histogram, the family has no samples. */
T_TEST(export_rhist_details_off)
{
	struct prom_opts o = { .by = PROM_BY_VCPU, .reason_hist = true };
	struct vs_snapshot s;
	char *t;

	t_snapshot(&s, 1, 2);
	t = render(&s, &o);
	T_ASSERT(strstr(t, "# TYPE " RH " histogram\n"));
	T_EQ(lines_with(t, RH "_"), 0);
	free(t);
	vs_snapshot_free(&s);
}

/* A vCPU running while the module read it: buckets a step ahead of the
 * timed count are capped at _count, so le stays monotonic up to +Inf. */
T_TEST(export_rhist_capped_at_count)
{
	struct prom_opts o = { .by = PROM_BY_VCPU, .reason_hist = true };
	struct vs_snapshot s;
	struct vs_reason *r;
	char *t;

	t_snapshot(&s, 1, 1);
	r = &s.vms[0].vcpus[0].reasons[0];	/* cpuid, timed 1000 */
	r->has_hist = true;
	r->hist[0] = 990;
	r->hist[2] = 12;			/* 1002 > 1000 */
	t = render(&s, &o);
	T_EQ(val(t, RH "_bucket{vm_id=\"1\",vcpu=\"0\",isa=\"svm\",reason=\"cpuid\",le=\"0.000000512\"}"), 990);
	T_EQ(val(t, RH "_bucket{vm_id=\"1\",vcpu=\"0\",isa=\"svm\",reason=\"cpuid\",le=\"0.000002048\"}"), 1000);
	T_EQ(val(t, RH "_bucket{vm_id=\"1\",vcpu=\"0\",isa=\"svm\",reason=\"cpuid\",le=\"0.134217728\"}"), 1000);
	T_EQ(val(t, RH "_bucket{vm_id=\"1\",vcpu=\"0\",isa=\"svm\",reason=\"cpuid\",le=\"+Inf\"}"), 1000);
	free(t);
	vs_snapshot_free(&s);
}

/* top:N: the exits family's reasons, the folded ones summed into "other"
 * (with the module's own "other"), kept from refresh to refresh: a folded
 * reason that grows stays in "other", whose count only goes up. */
T_TEST(export_rhist_top_n)
{
	struct prom_keep *keep = prom_keep_new();
	struct prom_opts o = { .by = PROM_BY_VM, .reason_hist = true,
			       .top = true, .top_n = 2, .keep = keep };
	uint64_t hist[VCPUSTAT_RHIST_BUCKETS] = { 0 }, timed = 0, sum = 0;
	uint64_t c1, c2;
	struct vs_snapshot s;
	char *t;

	T_ASSERT(keep);
	snap(&s, 1, 2);
	t = render(&s, &o);
	/* exits: 0x7ff (7000) and unknown (6000) named, the rest other */
	T_EQ(lines_with(t, "vcpustat_vm_exits_total{"), 3);
	T_EQ(lines_with(t, RH "_count{"), 3);
	T_ASSERT(strstr(t, RH "_count{vm_id=\"1\",isa=\"svm\",reason=\"0x7ff\"}"));
	T_ASSERT(strstr(t, RH "_count{vm_id=\"1\",isa=\"svm\",reason=\"unknown\"}"));
	for (size_t j = 0; j < 2; j++)
		for (size_t k = 0; k < 5; k++) {	/* cpuid .. other */
			add_reason(&s.vms[0].vcpus[j].reasons[k], hist,
				   &timed, &sum);
		}
	check_hist(t, "vm_id=\"1\"", "other", hist, timed, sum);
	c1 = val(t, RH "_count{vm_id=\"1\",isa=\"svm\",reason=\"other\"}");
	free(t);
	/* cpuid grows past both named ones: it stays folded */
	for (size_t j = 0; j < 2; j++) {
		struct vs_reason *r = &s.vms[0].vcpus[j].reasons[0];

		r->count += 100000;
		r->timed += 100000;
		r->hist[4] += 100000;
	}
	t = render(&s, &o);
	T_ASSERT(!strstr(t, "reason=\"cpuid\""));
	c2 = val(t, RH "_count{vm_id=\"1\",isa=\"svm\",reason=\"other\"}");
	T_EQ(c2, c1 + 200000);
	free(t);
	vs_snapshot_free(&s);
	prom_keep_free(keep);
}

/* The series budget: the default unchanged (39 for a VM with 10 reasons,
 * asserted in test_export_fleet.c too), the opt-in 13 per reason. */
T_TEST(export_rhist_series_per_vm)
{
	struct prom_opts o = { .by = PROM_BY_VM };
	struct vs_snapshot s;
	size_t base;
	char *t;

	t_snapshot(&s, 1, 4);
	for (size_t j = 0; j < 4; j++) {
		struct vs_vcpu *vc = &s.vms[0].vcpus[j];

		free(vc->reasons);
		vc->reasons = calloc(10, sizeof(*vc->reasons));
		T_ASSERT(vc->reasons);
		vc->nr_reasons = 10;
		for (uint32_t k = 0; k < 10; k++) {
			vc->reasons[k].isa = VCPUSTAT_ISA_SVM;
			vc->reasons[k].code = 0x7e0 + k;
			vc->reasons[k].count = 100 * (k + 1);
			vc->reasons[k].timed = 100 * (k + 1);
		}
		give_hists(vc, (unsigned int)j);
	}
	t = render(&s, &o);
	base = lines_with(t, "vcpustat_vm_") + lines_with(t, "vcpustat_vcpu_");
	T_EQ(base, PROM_SERIES_PER_VM(10));
	T_EQ(base, 39);
	free(t);
	o.reason_hist = true;
	t = render(&s, &o);
	T_EQ(lines_with(t, "vcpustat_vm_") + lines_with(t, "vcpustat_vcpu_"),
	     39 + 10 * PROM_RHIST_SERIES);
	free(t);
	o.top = true;
	o.top_n = 3;
	t = render(&s, &o);
	/* 3 named and other: 4 exit series, 4 histograms */
	T_EQ(lines_with(t, "vcpustat_vm_") + lines_with(t, "vcpustat_vcpu_"),
	     39 - 10 + 4 + 4 * PROM_RHIST_SERIES);
	free(t);
	vs_snapshot_free(&s);
}

T_TEST(export_rhist_golden_by_vm_top2)
{
	struct prom_opts o = { .by = PROM_BY_VM, .top = true, .top_n = 2,
			       .reason_hist = true };
	struct vs_snapshot s;
	char *t, *want, path[] = "tests/golden/export_vm_top2_rhist.prom";
	FILE *f;
	size_t n = 0;

	snap(&s, 1, 2);
	t = render(&s, &o);
	if (getenv("VS_GOLDEN_UPDATE")) {
		f = fopen(path, "w");
		T_ASSERT(f && fputs(t, f) >= 0 && !fclose(f));
	}
	f = fopen(path, "r");
	T_ASSERT(f);
	want = calloc(1, 1 << 16);
	T_ASSERT(want);
	n = fread(want, 1, (1 << 16) - 1, f);
	fclose(f);
	want[n] = '\0';
	T_STREQ(t, want);
	free(want);
	free(t);
	vs_snapshot_free(&s);
}

/* The command: --reason-hist on the mock module, with and without its
 * details; promtool's linter on the output when installed. */
T_TEST(export_rhist_cli)
{
	char cmd[512], *out;

	snprintf(cmd, sizeof(cmd), "VS_MOCK_VMS=2 VS_MOCK_DETAIL=1 %s export --once",
		 t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	T_ASSERT(!strstr(out, RH));
	free(out);
	snprintf(cmd, sizeof(cmd), "VS_MOCK_VMS=2 %s export --once --reason-hist",
		 t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	T_ASSERT(strstr(out, "# TYPE " RH " histogram\n"));
	T_EQ(lines_with(out, RH "_"), 0);
	free(out);
	snprintf(cmd, sizeof(cmd), "VS_MOCK_VMS=2 VS_MOCK_DETAIL=1 %s export --once --reason-hist --per-vcpu --reasons top:3",
		 t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	/* 3 named reasons and other per vCPU */
	T_ASSERT(strstr(out, RH "_count{vm_id=\"1\",vcpu=\"1\",isa=\"svm\",reason=\"other\"} "));
	T_EQ(lines_with(out, RH "_count{vm_id=\"1\",vcpu=\"0\","), 4);
	free(out);
	if (t_sh("command -v promtool >/dev/null", NULL, false))
		return;
	snprintf(cmd, sizeof(cmd), "VS_MOCK_VMS=3 VS_MOCK_DETAIL=1 %s export --once --reason-hist | promtool check metrics",
		 t_mock_tool());
	T_EQ(t_sh(cmd, &out, true), 0);
	free(out);
}
