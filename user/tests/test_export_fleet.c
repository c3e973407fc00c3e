// SPDX-License-Identifier: GPL-2.0
/*
 * The exporter at fleet scale (issue 17): series per VM by default with a
 * documented budget (<= 60 for a VM with 10 exit reasons), identity
 * labels (pid, comm, name, uuid) only on the _info series, and
 * --reasons top:N keeping its reason set and a never-shrinking "other"
 * from one refresh to the next.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "prom.h"
#include "snapshot.h"
#include "testutil.h"

/* One VM of 4 vCPUs with 10 exit reasons (codes 0x7e0 + k) each. */
static void ten_reasons(struct vs_snapshot *s)
{
	t_snapshot(s, 1, 4);
	for (size_t j = 0; j < 4; j++) {
		struct vs_vcpu *vc = &s->vms[0].vcpus[j];

		free(vc->reasons);
		vc->reasons = calloc(10, sizeof(*vc->reasons));
		T_ASSERT(vc->reasons);
		vc->nr_reasons = 10;
		vc->exits = 0;
		for (uint32_t k = 0; k < 10; k++) {
			vc->reasons[k].isa = VCPUSTAT_ISA_SVM;
			vc->reasons[k].code = 0x7e0 + k;
			vc->reasons[k].count = 100 * (k + 1);
			vc->exits += vc->reasons[k].count;
		}
	}
}

static size_t series_of_vm(const char *t, const char *vm_label)
{
	size_t n = 0;

	for (const char *l = t; *l; l = strchr(l, '\n') + 1) {
		const char *brace = strchr(l, '{'), *eol = strchr(l, '\n');

		if (*l != '#' && brace && brace < eol &&
		    !strncmp(brace + 1, vm_label, strlen(vm_label)))
			n++;
		if (!eol)
			break;
	}
	return n;
}

T_TEST(export_fleet_series_per_vm)
{
	struct prom_opts o = { .by = PROM_BY_VM };
	struct vs_snapshot s;
	char *t;
	size_t n;

	ten_reasons(&s);
	t = prom_render(&s, NULL, NULL, NULL, &o, NULL);
	T_ASSERT(t);
	n = series_of_vm(t, "vm_id=\"1\"");
	/* 3 VM series, 10 reasons, 12 buckets + +Inf + _sum + _count, 4
	 * migration distances, 7 time states: the documented budget, within
	 * 60 */
	T_EQ(n, PROM_SERIES_PER_VM(10));
	T_EQ(n, 39);
	T_ASSERT(n <= 60);
	/* no series names a vCPU, and identity is on vm_info only */
	T_ASSERT(!strstr(t, "vcpu=\""));
	for (const char *l = t; *l; l = strchr(l, '\n') + 1) {
		if (*l != '#' && (strstr(l, "pid=\"") || strstr(l, "comm=\"")) &&
		    strstr(l, "pid=\"") < strchr(l, '\n'))
			T_ASSERT(!strncmp(l, "vcpustat_vm_info{", 17));
		if (!strchr(l, '\n'))
			break;
	}
	free(t);
	vs_snapshot_free(&s);
}

/* The CLI's default is per VM; --per-vcpu (or --by vcpu) opts in. */
T_TEST(export_fleet_default_per_vm)
{
	char cmd[512], *out;

	snprintf(cmd, sizeof(cmd), "VS_MOCK_VMS=2 %s export --once", t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	T_ASSERT(!strstr(out, "vcpu=\"") && !strstr(out, "vcpustat_vcpu_info"));
	T_ASSERT(strstr(out, "vcpustat_vm_exits_total{vm_id=\"1\",isa=\"svm\",reason=\"io\"} "));
	free(out);
	snprintf(cmd, sizeof(cmd), "VS_MOCK_VMS=2 %s export --once --per-vcpu", t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	T_ASSERT(strstr(out, "vcpustat_vm_exits_total{vm_id=\"1\",vcpu=\"0\",isa=\"svm\",reason=\"io\"} "));
	T_ASSERT(strstr(out, "vcpustat_vcpu_info{vm_id=\"1\",pid=\"1000\""));
	free(out);
}

static uint64_t sample(const char *t, const char *series)
{
	const char *p = strstr(t, series);

	T_ASSERT(p);
	return strtoull(p + strlen(series), NULL, 10);
}

static void set_count(struct vs_snapshot *s, uint32_t code, uint64_t count)
{
	struct vs_vcpu *vc = &s->vms[0].vcpus[0];

	for (size_t k = 0; k < vc->nr_reasons; k++)
		if (vc->reasons[k].code == code)
			vc->reasons[k].count = count;
}

/*
 * top:2 over three refreshes. Refresh 1 names the two largest (0x7e9,
 * 0x7e8). Then 0x7e0 grows past both: it stays folded (its exits were in
 * "other"; naming it would make "other" drop). "other" never decreases.
 */
T_TEST(export_fleet_top_n_stable)
{
	struct prom_keep *keep = prom_keep_new();
	struct prom_opts o = { .by = PROM_BY_VCPU, .top = true, .top_n = 2,
			       .keep = keep };
	struct prom_opts stateless = o;
	static const char other[] = "vcpustat_vm_exits_total{vm_id=\"1\",vcpu=\"0\",isa=\"svm\",reason=\"other\"} ";
	struct vs_snapshot s;
	uint64_t o1, o2, o3;
	char *t;

	T_ASSERT(keep);
	stateless.keep = NULL;
	ten_reasons(&s);
	t = prom_render(&s, NULL, NULL, NULL, &o, NULL);
	T_ASSERT(strstr(t, "reason=\"0x7e9\"} 1000\n") && strstr(t, "reason=\"0x7e8\"} 900\n"));
	o1 = sample(t, other);
	T_EQ(o1, 100 + 200 + 300 + 400 + 500 + 600 + 700 + 800);
	free(t);

	set_count(&s, 0x7e0, 5000);	/* now the largest */
	t = prom_render(&s, NULL, NULL, NULL, &o, NULL);
	T_ASSERT(strstr(t, "reason=\"0x7e9\"} 1000\n") && strstr(t, "reason=\"0x7e8\"} 900\n"));
	T_ASSERT(!strstr(t, "reason=\"0x7e0\""));
	o2 = sample(t, other);
	T_EQ(o2, o1 - 100 + 5000);
	free(t);
	/* what today's code did: the new top two, and "other" shrinks */
	t = prom_render(&s, NULL, NULL, NULL, &stateless, NULL);
	T_ASSERT(strstr(t, "reason=\"0x7e0\"} 5000\n"));
	T_ASSERT(sample(t, other) < o2);
	free(t);

	/* a reason new in this refresh is named only while fewer than N:
	 * here it is folded, and "other" still only grows */
	{
		struct vs_vcpu *vc = &s.vms[0].vcpus[0];
		struct vs_reason *r = realloc(vc->reasons, 11 * sizeof(*r));

		T_ASSERT(r);
		vc->reasons = r;
		r[10] = (struct vs_reason){ .isa = VCPUSTAT_ISA_SVM,
					    .code = 0x7fe, .count = 9999 };
		vc->nr_reasons = 11;
	}
	t = prom_render(&s, NULL, NULL, NULL, &o, NULL);
	T_ASSERT(!strstr(t, "reason=\"0x7fe\""));
	o3 = sample(t, other);
	T_EQ(o3, o2 + 9999);
	T_ASSERT(o1 <= o2 && o2 <= o3);
	free(t);
	vs_snapshot_free(&s);
	prom_keep_free(keep);
}

/* Named while there is room: a group that had 1 reason gets a 2nd. */
T_TEST(export_fleet_top_n_fills_free_slots)
{
	struct prom_keep *keep = prom_keep_new();
	struct prom_opts o = { .by = PROM_BY_VM, .top = true, .top_n = 2,
			       .keep = keep };
	struct vs_snapshot s;
	struct vs_vcpu *vc;
	char *t;

	T_ASSERT(keep);
	ten_reasons(&s);
	s.vms[0].nr_vcpus = 1;
	vc = &s.vms[0].vcpus[0];
	vc->nr_reasons = 1;			/* 0x7e0 only */
	t = prom_render(&s, NULL, NULL, NULL, &o, NULL);
	T_ASSERT(strstr(t, "reason=\"0x7e0\"} 100\n"));
	free(t);
	vc->nr_reasons = 3;			/* 0x7e1 and 0x7e2 appear */
	t = prom_render(&s, NULL, NULL, NULL, &o, NULL);
	T_ASSERT(strstr(t, "reason=\"0x7e0\"} 100\n"));
	T_ASSERT(strstr(t, "reason=\"0x7e2\"} 300\n"));	/* the larger new one */
	T_ASSERT(strstr(t, "reason=\"other\"} 200\n"));
	free(t);
	s.vms[0].nr_vcpus = 4;
	vs_snapshot_free(&s);
	prom_keep_free(keep);
}
