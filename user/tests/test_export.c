// SPDX-License-Identifier: GPL-2.0
/*
 * vcpustat export: the Prometheus rendering (prom.c) on synthetic
 * snapshots (golden text, label escaping, histogram, --by vm sums,
 * --reasons top:N folding, gone VMs), promtool's linter when installed,
 * the textfile writer and the command line, and the HTTP server of the
 * mock build on loopback (body identical to the textfile, 404/405, a
 * client that never reads stalls neither other scrapes nor refreshes).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "export.h"
#include "harness.h"
#include "prom.h"
#include "snapshot.h"
#include "testutil.h"

static const struct vs_status golden_status = {
	.version = "1.2.3", .vms = 1, .vcpus = 2, .max_vcpus = 64,
	.vms_seen = 2, .overflow = 3, .alloc_fail = 4, .events_sent = 5,
	.events_lost = 6, .migr_suppressed = 7, .generation = 8,
	.bad_layout = 9, .nomem_exits = 10, .stale_vms = 11,
};

static const struct prom_self golden_self = {
	.up = true, .refreshes = 3, .refresh_errors = 1, .scrape_errors = 2,
	.refresh_ns = 1500000, .timestamp_ns = 1700000000123000000ull,
};

static char *slurp(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	do {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap + 65536);

			if (!nb)
				break;
			buf = nb;
			cap += 65536;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n);
	fclose(f);
	if (buf)
		buf[len] = '\0';
	if (lenp)
		*lenp = len;
	return buf;
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	T_ASSERT(f);
	fputs(text, f);
	T_ASSERT(!fclose(f));
}

/* Compare with tests/golden/NAME; VS_GOLDEN_UPDATE=1 rewrites it. */
static void golden(const char *name, const char *text)
{
	char path[256], *want;

	snprintf(path, sizeof(path), "tests/golden/%s", name);
	if (getenv("VS_GOLDEN_UPDATE")) {
		spit(path, text);
		t_diag("rewrote %s", path);
	}
	want = slurp(path, NULL);
	if (!want)
		t_fail(__FILE__, __LINE__, "%s: %s", path, strerror(errno));
	if (strcmp(want, text)) {
		const char *a = want, *b = text;
		int line = 1;

		while (*a && *a == *b) {
			line += *a == '\n';
			a++;
			b++;
		}
		t_diag("%s differs at line %d:", path, line);
		t_diag("want: %.120s", a);
		t_diag("got:  %.120s", b);
		free(want);
		T_ASSERT(!"golden text differs");
	}
	free(want);
}

static char *render(const struct vs_snapshot *cur,
		    const struct vs_snapshot *prev, const struct prom_opts *o)
{
	char *t = prom_render(cur, prev, &golden_status, &golden_self, o,
			      NULL);

	T_ASSERT(t);
	return t;
}

/* Value of the sample whose line starts with exactly @series + ' '. */
static bool value_of(const char *text, const char *series, double *v)
{
	size_t n = strlen(series);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
		if (!strncmp(p, series, n) && p[n] == ' ') {
			*v = strtod(p + n + 1, NULL);
			return true;
		}
	return false;
}

static uint64_t u64_of(const char *text, const char *series)
{
	double v;

	if (!value_of(text, series, &v))
		t_fail(__FILE__, __LINE__, "no sample %s", series);
	return (uint64_t)v;
}

static size_t count_lines(const char *text, const char *prefix)
{
	size_t n = 0, len = strlen(prefix);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
		n += !strncmp(p, prefix, len);
	return n;
}

static char *label_value(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	T_ASSERT(f);
	prom_label_value(f, s);
	fclose(f);
	return buf;
}

/* ---- rendering --------------------------------------------------------- */

T_TEST(export_golden_per_vcpu)
{
	struct prom_opts o = { .by = PROM_BY_VCPU };
	struct vs_snapshot s;
	char *t;

	t_snapshot(&s, 1, 2);
	t = render(&s, NULL, &o);
	golden("export_vcpu.prom", t);
	free(t);
	vs_snapshot_free(&s);
}

T_TEST(export_golden_by_vm_top)
{
	struct prom_opts o = { .by = PROM_BY_VM, .top = true, .top_n = 2 };
	struct vs_snapshot s;
	char *t;

	t_snapshot(&s, 1, 2);
	t = render(&s, NULL, &o);
	golden("export_vm_top2.prom", t);
	free(t);
	vs_snapshot_free(&s);
}

T_TEST(export_label_escaping)
{
	static const struct { const char *in, *out; } c[] = {
		{ "", "\"\"" },
		{ "qemu-system-x86", "\"qemu-system-x86\"" },
		{ "a\"b", "\"a\\\"b\"" },
		{ "a\\b", "\"a\\\\b\"" },
		{ "a\nb", "\"a\\nb\"" },
		{ "\\n", "\"\\\\n\"" },		/* backslash, then n */
		{ "\x01\t", "\"\x01\t\"" },	/* valid UTF-8: kept */
		{ "caf\xc3\xa9", "\"caf\xc3\xa9\"" },
		{ "\xff", "\"\xef\xbf\xbd\"" },	/* invalid -> U+FFFD */
		{ "x\xc3", "\"x\xef\xbf\xbd\"" },	/* truncated */
		{ "\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\"" },	/* overlong */
		{ "\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" },
	};
	struct prom_opts o = { 0 };
	struct vs_snapshot s;
	char *t;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char *got = label_value(c[i].in);

		T_STREQ(got, c[i].out);
		free(got);
	}
	/* in context: quotes, backslash, newline in comm; every line of the
	 * output is still one sample or one comment */
	t_snapshot(&s, 2, 1);
	snprintf(s.vms[1].comm, sizeof(s.vms[1].comm), "a\"b\\c\nd\xfe");
	t = render(&s, NULL, &o);
	T_ASSERT(strstr(t, "vcpustat_vm_info{vm_id=\"2\",pid=\"1235\",comm=\"a\\\"b\\\\c\\nd\xef\xbf\xbd\",stats_id=\"kvm-1235\",name=\"\",domain=\"\",uuid=\"\"} 1\n"));
	T_ASSERT(strstr(t, "vcpustat_vcpu_info{vm_id=\"2\",pid=\"1235\",comm=\"a\\\"b\\\\c\\nd\xef\xbf\xbd\",vcpu=\"0\",tid=\"1241\"} 1\n"));
	for (const char *p = t; *p; p = strchr(p, '\n') + 1)
		T_ASSERT(!strncmp(p, "# ", 2) || !strncmp(p, "vcpustat_", 9));
	free(t);
	vs_snapshot_free(&s);
}

T_TEST(export_seconds_and_options)
{
	char b[PROM_SECONDS_BUF];
	struct prom_opts o = { 0 };

	T_STREQ(prom_seconds(b, sizeof(b), 0), "0");
	T_STREQ(prom_seconds(b, sizeof(b), 2), "0.000000002");
	T_STREQ(prom_seconds(b, sizeof(b), 1024), "0.000001024");
	T_STREQ(prom_seconds(b, sizeof(b), 1500000000), "1.5");
	T_STREQ(prom_seconds(b, sizeof(b), 1ull << 39), "549.755813888");
	T_STREQ(prom_seconds(b, sizeof(b), UINT64_MAX),
		"18446744073.709551615");
	T_EQ(prom_parse_reasons("all", &o), 0);
	T_ASSERT(!o.top);
	T_EQ(prom_parse_reasons("top:5", &o), 0);
	T_ASSERT(o.top && o.top_n == 5);
	T_EQ(prom_parse_reasons("top:0", &o), 0);
	T_ASSERT(o.top && o.top_n == 0);
	T_EQ(prom_parse_reasons("top:", &o), -1);
	T_EQ(prom_parse_reasons("top:-1", &o), -1);
	T_EQ(prom_parse_reasons("top:5x", &o), -1);
	T_EQ(prom_parse_reasons("top", &o), -1);
	T_EQ(prom_parse_reasons("5", &o), -1);
	T_EQ(prom_parse_by("vm", &o), 0);
	T_EQ(o.by, PROM_BY_VM);
	T_EQ(prom_parse_by("vcpu", &o), 0);
	T_EQ(o.by, PROM_BY_VCPU);
	T_EQ(prom_parse_by("host", &o), -1);
}

T_TEST(export_listen_parsing)
{
	static const struct { const char *in, *out; } ok[] = {
		{ "127.0.0.1:9100", "127.0.0.1:9100" },
		{ ":9100", "127.0.0.1:9100" },
		{ "9100", "127.0.0.1:9100" },
		{ "0", "127.0.0.1:0" },
		{ "0.0.0.0", "0.0.0.0:9477" },
		{ "localhost", "127.0.0.1:9477" },
		{ "localhost:80", "127.0.0.1:80" },
		{ "[::1]:9100", "[::1]:9100" },
		{ "[::]", "[::]:9477" },
		{ "[localhost]:1", "[::1]:1" },
	};
	static const char *const bad[] = { "", ":", "1.2.3.4:", "host:1",
		"1.2.3.4:65536", "1.2.3.4:0x10", "1.2.3.4:-1", "::1", "[::1",
		"[::1]x", "[::1]:", "[]:1", "1.2.3.4:1:2", "999.1.1.1", "[1.2.3.4]:1",
		"1.2.3.4:01" };
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[80];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (export_parse_listen(ok[i].in, &ss, &len))
			t_diag("'%s' rejected", ok[i].in);
		T_EQ(export_parse_listen(ok[i].in, &ss, &len), 0);
		T_STREQ(export_addr_str(buf, sizeof(buf),
					(struct sockaddr *)&ss), ok[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!export_parse_listen(bad[i], &ss, &len))
			t_diag("'%s' accepted", bad[i]);
		T_EQ(export_parse_listen(bad[i], &ss, &len), -1);
	}
}

T_TEST(export_histogram_cumulative)
{
	static const char h[] = "vcpustat_vm_exit_duration_seconds";
	struct prom_opts o = { 0 };
	struct vs_snapshot s;
	struct vs_vcpu *vc;
	uint64_t total = 0, cum = 0;
	char *t, series[256], le[PROM_SECONDS_BUF];

	t_snapshot(&s, 1, 2);
	vc = &s.vms[0].vcpus[1];
	/* uneven, with empty buckets and the open-ended last one */
	for (int i = 0; i < VCPUSTAT_HIST_BUCKETS; i++)
		vc->hist[i] = i % 3 ? (uint64_t)(i * i * 1000 + 7) : 0;
	vc->hist[VCPUSTAT_HIST_BUCKETS - 1] = 5;
	for (int i = 0; i < VCPUSTAT_HIST_BUCKETS; i++)
		total += vc->hist[i];
	vc->exit_time_ns = 123456789012ull;
	t = render(&s, NULL, &o);
	/* 12 finite buckets and +Inf, not the kernel's 40 */
	T_EQ(count_lines(t, "vcpustat_vm_exit_duration_seconds_bucket{vm_id=\"1\",vcpu=\"1\","),
	     PROM_HIST_FINITE + 1);
	T_EQ(PROM_HIST_FINITE, 12);
	for (int k = 0, i = 0; k < PROM_HIST_FINITE; k++) {
		int e = PROM_HIST_LE_FIRST + k * PROM_HIST_LE_STEP;
		double v;

		/* le = 2^e ns counts the kernel's buckets below 2^e */
		for (; i < e; i++)
			cum += vc->hist[i];
		prom_seconds(le, sizeof(le), 1ull << e);
		T_ASSERT(fabs(strtod(le, NULL) * 1e9 - ldexp(1, e)) <
			 1e-6 * ldexp(1, e));
		snprintf(series, sizeof(series),
			 "%s_bucket{vm_id=\"1\",vcpu=\"1\",le=\"%s\"}",
			 h, le);
		T_ASSERT(value_of(t, series, &v));
		T_EQ((uint64_t)v, cum);
	}
	/* 512 ns first, x4 steps, 2.147483648 s last */
	T_ASSERT(strstr(t, "le=\"0.000000512\"") && strstr(t, "le=\"0.000002048\"") &&
		 strstr(t, "le=\"2.147483648\"") && !strstr(t, "le=\"0.000000256\"") &&
		 !strstr(t, "le=\"4.294967296\""));
	for (int i = PROM_HIST_LE_FIRST + (PROM_HIST_FINITE - 1) * PROM_HIST_LE_STEP;
	     i < VCPUSTAT_HIST_BUCKETS - 1; i++)
		cum += vc->hist[i];
	cum += vc->hist[VCPUSTAT_HIST_BUCKETS - 1];
	T_EQ(cum, total);
	snprintf(series, sizeof(series),
		 "%s_bucket{vm_id=\"1\",vcpu=\"1\",le=\"+Inf\"}", h);
	T_EQ(u64_of(t, series), total);
	snprintf(series, sizeof(series),
		 "%s_count{vm_id=\"1\",vcpu=\"1\"}", h);
	T_EQ(u64_of(t, series), total);
	snprintf(series, sizeof(series),
		 "%s_sum{vm_id=\"1\",vcpu=\"1\"} 123.456789012\n", h);
	T_ASSERT(strstr(t, series));
	/* the other vCPU is unaffected: hist[h] = h */
	T_EQ(u64_of(t, "vcpustat_vm_exit_duration_seconds_bucket{vm_id=\"1\",vcpu=\"0\",le=\"0.000000512\"}"),
	     0 + 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8);
	free(t);
	vs_snapshot_free(&s);
}

/* Sum of vcpustat_vm_exits_total over the series starting with @prefix. */
static uint64_t exits_sum(const char *t, const char *prefix, size_t *nseries)
{
	size_t len = strlen(prefix);
	uint64_t sum = 0;

	*nseries = 0;
	for (const char *p = t; *p; p = strchr(p, '\n') + 1)
		if (!strncmp(p, prefix, len) && strstr(p, ",isa=\"")) {
			sum += strtoull(strchr(p, '}') + 2, NULL, 10);
			(*nseries)++;
		}
	return sum;
}

T_TEST(export_by_vm_sums)
{
	struct prom_opts ov = { .by = PROM_BY_VCPU }, om = { .by = PROM_BY_VM };
	struct vs_snapshot s;
	char *tv, *tm, series[512], b[PROM_SECONDS_BUF];

	t_snapshot(&s, 2, 3);
	/* make vCPUs differ */
	for (size_t i = 0; i < s.nr_vms; i++)
		for (size_t j = 0; j < s.vms[i].nr_vcpus; j++) {
			struct vs_vcpu *vc = &s.vms[i].vcpus[j];

			vc->reasons[2].count += 17 * j + i;
			vc->migr[VCPUSTAT_DIST_REMOTE] += j;
			vc->hist[10] += 100 * j;
			vc->exit_time_ns += j * 1000;
		}
	tv = render(&s, NULL, &ov);
	tm = render(&s, NULL, &om);
	T_ASSERT(!strstr(tm, "vcpu=\""));
	T_ASSERT(!strstr(tm, "vcpustat_vcpu_info"));
	T_ASSERT(!strstr(tm, "vcpustat_vcpu_pcpu"));
	for (size_t i = 0; i < s.nr_vms; i++) {
		const struct vs_vm *vm = &s.vms[i];
		char *comm = label_value(vm->comm);
		const char *names[] = { "cpuid", "io", "npf", "hlt", "other",
					"unknown", "0x7ff" };
		uint64_t sum_ns = 0, cnt = 0;

		for (size_t k = 0; k < 7; k++) {
			uint64_t want = 0, sum_v = 0;

			for (size_t j = 0; j < vm->nr_vcpus; j++) {
				want += vm->vcpus[j].reasons[k].count;
				snprintf(series, sizeof(series),
					 "vcpustat_vm_exits_total{vm_id=\"%" PRIu64 "\",vcpu=\"%zu\",isa=\"svm\",reason=\"%s\"}",
					 vm->id, j, names[k]);
				sum_v += u64_of(tv, series);
			}
			snprintf(series, sizeof(series),
				 "vcpustat_vm_exits_total{vm_id=\"%" PRIu64 "\",isa=\"svm\",reason=\"%s\"}",
				 vm->id, names[k]);
			T_EQ(u64_of(tm, series), want);
			T_EQ(sum_v, want);
		}
		for (uint32_t d = VCPUSTAT_DIST_SMT; d <= VCPUSTAT_DIST_MAX; d++) {
			uint64_t want = 0;

			for (size_t j = 0; j < vm->nr_vcpus; j++)
				want += vm->vcpus[j].migr[d];
			snprintf(series, sizeof(series),
				 "vcpustat_vcpu_migrations_total{vm_id=\"%" PRIu64 "\",distance=\"%s\"}",
				 vm->id, vs_distance_name(d));
			T_EQ(u64_of(tm, series), want);
		}
		for (int h = 0; h < PROM_HIST_FINITE; h++) {
			int e = PROM_HIST_LE_FIRST + h * PROM_HIST_LE_STEP;
			uint64_t want = 0;

			for (size_t j = 0; j < vm->nr_vcpus; j++)
				for (int k = 0; k < e; k++)
					want += vm->vcpus[j].hist[k];
			snprintf(series, sizeof(series),
				 "vcpustat_vm_exit_duration_seconds_bucket{vm_id=\"%" PRIu64 "\",le=\"%s\"}",
				 vm->id, prom_seconds(b, sizeof(b), 1ull << e));
			T_EQ(u64_of(tm, series), want);
		}
		for (size_t j = 0; j < vm->nr_vcpus; j++) {
			sum_ns += vm->vcpus[j].exit_time_ns;
			for (int k = 0; k < VCPUSTAT_HIST_BUCKETS; k++)
				cnt += vm->vcpus[j].hist[k];
		}
		snprintf(series, sizeof(series),
			 "vcpustat_vm_exit_duration_seconds_count{vm_id=\"%" PRIu64 "\"}",
			 vm->id);
		T_EQ(u64_of(tm, series), cnt);
		snprintf(series, sizeof(series),
			 "vcpustat_vm_exit_duration_seconds_sum{vm_id=\"%" PRIu64 "\"} %s\n",
			 vm->id, prom_seconds(b, sizeof(b), sum_ns));
		T_ASSERT(strstr(tm, series));
		free(comm);
	}
	free(tv);
	free(tm);
	vs_snapshot_free(&s);
}

T_TEST(export_top_n_folding)
{
	struct vs_snapshot s;
	char prefix[256];

	t_snapshot(&s, 2, 3);
	for (size_t j = 0; j < s.vms[0].nr_vcpus; j++) {	/* vCPUs differ */
		s.vms[0].vcpus[j].reasons[j].count += 50000;
		s.vms[0].vcpus[j].exits += 50000;
	}
	for (unsigned int n = 0; n <= 8; n++)
		for (int by = PROM_BY_VCPU; by <= PROM_BY_VM; by++) {
			struct prom_opts o = { .by = by, .top = true,
					       .top_n = n };
			char *t = render(&s, NULL, &o);

			for (size_t i = 0; i < s.nr_vms; i++) {
				const struct vs_vm *vm = &s.vms[i];
				char *comm = label_value(vm->comm);
				uint64_t want = 0;
				size_t ns;

				for (size_t j = 0; j < vm->nr_vcpus; j++) {
					const struct vs_vcpu *vc = &vm->vcpus[j];

					if (by == PROM_BY_VM) {
						want += vc->exits;
						continue;
					}
					snprintf(prefix, sizeof(prefix),
						 "vcpustat_vm_exits_total{vm_id=\"%" PRIu64 "\",vcpu=\"%u\",",
						 vm->id, vc->vcpu_id);
					/* folding keeps the total */
					T_EQ(exits_sum(t, prefix, &ns), vc->exits);
					/* N named + other (7 reasons, one of
					 * them the kernel's other) */
					T_EQ(ns, n >= 6 ? 7 : n + 1);
				}
				if (by == PROM_BY_VM) {
					snprintf(prefix, sizeof(prefix),
						 "vcpustat_vm_exits_total{vm_id=\"%" PRIu64 "\",isa=",
						 vm->id);
					T_EQ(exits_sum(t, prefix, &ns), want);
					T_EQ(ns, n >= 6 ? 7 : n + 1);
				}
				free(comm);
			}
			/* which ones: VM 2 vCPU 0 has counts 1000*(k+1) for
			 * cpuid io npf hlt other unknown 0x7ff */
			if (n == 2 && by == PROM_BY_VCPU) {
				static const char p[] = "vcpustat_vm_exits_total{vm_id=\"2\",vcpu=\"0\",isa=\"svm\",reason=";

				snprintf(prefix, sizeof(prefix), "%s\"0x7ff\"}", p);
				T_EQ(u64_of(t, prefix), 7000);
				snprintf(prefix, sizeof(prefix), "%s\"unknown\"}", p);
				T_EQ(u64_of(t, prefix), 6000);
				snprintf(prefix, sizeof(prefix), "%s\"other\"}", p);
				T_EQ(u64_of(t, prefix), 1000 + 2000 + 3000 + 4000 + 5000);
				snprintf(prefix, sizeof(prefix), "%s\"hlt\"}", p);
				T_ASSERT(!strstr(t, prefix));
			}
			free(t);
		}
	vs_snapshot_free(&s);
}

T_TEST(export_duplicate_names_merge)
{
	struct prom_opts o = { 0 };
	struct vs_snapshot s;
	struct vs_vcpu *vc;
	char *t;

	t_snapshot(&s, 1, 1);
	vc = &s.vms[0].vcpus[0];
	/* the same name twice (e.g. two codes printing alike) and a VMX
	 * reason next to SVM ones */
	vc->reasons[1].code = vc->reasons[0].code;	/* cpuid twice */
	vc->reasons[2].isa = VCPUSTAT_ISA_VMX;
	vc->reasons[2].code = 10;			/* VMX CPUID */
	t = render(&s, NULL, &o);
	T_EQ(count_lines(t, "vcpustat_vm_exits_total{vm_id=\"1\",vcpu=\"0\",isa=\"svm\",reason=\"cpuid\"}"), 1);
	T_EQ(u64_of(t, "vcpustat_vm_exits_total{vm_id=\"1\",vcpu=\"0\",isa=\"svm\",reason=\"cpuid\"}"),
	     1000 + 2000);
	T_EQ(u64_of(t, "vcpustat_vm_exits_total{vm_id=\"1\",vcpu=\"0\",isa=\"vmx\",reason=\"CPUID\"}"),
	     3000);
	free(t);
	vs_snapshot_free(&s);
}

T_TEST(export_gone_vm_one_more_window)
{
	struct prom_opts o = { 0 };
	struct vs_snapshot prev, cur;
	char *t;

	/* prev: VMs 1 2 3; cur: 1 3 (2 is gone), counts of 1 moved on */
	t_snapshot(&prev, 3, 1);
	t_snapshot(&cur, 3, 1);
	vs_vcpus_free(cur.vms[1].vcpus, cur.vms[1].nr_vcpus);
	memmove(&cur.vms[1], &cur.vms[2], sizeof(cur.vms[0]));
	cur.nr_vms = 2;
	cur.vms[0].vcpus[0].migr[VCPUSTAT_DIST_SMT] = 99;
	prev.vms[1].vcpus[0].migr[VCPUSTAT_DIST_SMT] = 42;
	t = render(&cur, &prev, &o);
	T_EQ(count_lines(t, "vcpustat_vm_info{"), 3);
	/* the gone VM with its last counts, the live one with new ones */
	T_EQ(u64_of(t, "vcpustat_vcpu_migrations_total{vm_id=\"2\",vcpu=\"0\",distance=\"smt\"}"), 42);
	T_EQ(u64_of(t, "vcpustat_vcpu_migrations_total{vm_id=\"1\",vcpu=\"0\",distance=\"smt\"}"), 99);
	/* ids stay in order: 1, 2 (gone), 3 */
	T_ASSERT(strstr(t, "vm_id=\"1\",pid=\"1234\",comm=\"qemu-system-x86\",stats_id=\"kvm-1234\",name=\"\",domain=\"\",uuid=\"\"} 1\nvcpustat_vm_info{vm_id=\"2\""));
	T_ASSERT(strstr(t, "vcpustat_vm_info{vm_id=\"3\""));
	free(t);
	/* the refresh after that: cur is the previous one, VM 2 is dropped */
	t = render(&cur, &cur, &o);
	T_EQ(count_lines(t, "vcpustat_vm_info{"), 2);
	T_ASSERT(!strstr(t, "vm_id=\"2\""));
	free(t);
	/* failed refresh: no VM families, vcpustat_up from self */
	t = prom_render(NULL, NULL, NULL, &golden_self, &o, NULL);
	T_ASSERT(t && !strstr(t, "vm_id=") && !strstr(t, "vcpustat_module_"));
	T_ASSERT(strstr(t, "vcpustat_up 1\n"));
	free(t);
	vs_snapshot_free(&prev);
	vs_snapshot_free(&cur);
}

/* ---- promtool ---------------------------------------------------------- */

static bool have(const char *prog)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
	return t_sh(cmd, NULL, false) == 0;
}

static void promtool_ok(const char *text, const char *what)
{
	char path[] = "/tmp/vstest-prom-XXXXXX", cmd[256], *out;
	int fd = mkstemp(path), st;

	T_ASSERT(fd >= 0);
	T_ASSERT(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
	st = t_sh(cmd, &out, true);
	if (st)
		t_diag("promtool on %s: exit %d: %s", what, st, out);
	unlink(path);
	free(out);
	T_EQ(st, 0);
}

T_TEST(export_promtool_check_metrics)
{
	struct prom_self failed = golden_self;
	struct vs_snapshot s, empty;
	char *t, *out;

	if (!have("promtool"))
		T_SKIP("promtool not installed (Debian package prometheus)");
	t_snapshot(&s, 3, 3);
	t_snapshot(&empty, 0, 0);
	for (int by = PROM_BY_VCPU; by <= PROM_BY_VM; by++)
		for (int top = 0; top <= 1; top++) {
			struct prom_opts o = { .by = by, .top = top,
					       .top_n = 2 };
			char what[64];

			snprintf(what, sizeof(what), "by=%d top=%d", by, top);
			t = render(&s, NULL, &o);
			promtool_ok(t, what);
			free(t);
		}
	t = render(&empty, NULL, NULL);
	promtool_ok(t, "no VMs");
	free(t);
	failed.up = false;
	t = prom_render(NULL, NULL, NULL, &failed, NULL, NULL);
	T_ASSERT(t);
	promtool_ok(t, "failed refresh");
	free(t);
	/* the real command's output (mock backend, escaping torture comm) */
	T_EQ(t_sh("VS_MOCK_VMS=3 $VS_MOCK_TOOL export --once > /tmp/vstest-prom-mock.prom && promtool check metrics < /tmp/vstest-prom-mock.prom; st=$?; rm -f /tmp/vstest-prom-mock.prom; exit $st",
		  &out, true), 0);
	free(out);
	vs_snapshot_free(&s);
	vs_snapshot_free(&empty);
}

/* ---- textfile and command line ----------------------------------------- */

static size_t dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	T_ASSERT(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

T_TEST(export_textfile_atomic)
{
	char *dir = t_tmpdir(), path[512], *got;
	struct stat st;

	snprintf(path, sizeof(path), "%s/" EXPORT_FILE, dir);
	T_EQ(export_write_textfile(dir, "a 1\n", 4), 0);
	got = slurp(path, NULL);
	T_STREQ(got, "a 1\n");
	free(got);
	T_EQ(stat(path, &st), 0);
	T_EQ(st.st_mode & 07777, 0644);
	/* replaced, not appended; no temp file left */
	T_EQ(export_write_textfile(dir, "b 2\n", 4), 0);
	got = slurp(path, NULL);
	T_STREQ(got, "b 2\n");
	free(got);
	T_EQ(dir_entries(dir), 1);
	snprintf(path, sizeof(path), "%s/nonexistent", dir);
	T_EQ(export_write_textfile(path, "x", 1), -ENOENT);
	T_EQ(dir_entries(dir), 1);
	t_rmtree(dir);
	free(dir);
}

static int run(const char *tool, const char *args, char **out)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "%s %s", tool, args);
	return t_sh(cmd, out, true);
}

T_TEST(export_cli)
{
	static const char *const bad[] = { "export", "export --interval 0 --once",
		"export --by host --once", "export --reasons top --once",
		"export --listen nohost:1", "export --once --listen :0",
		"export -j --once", "export --once extra", "export --textfile",
		"export --textfile '' --once" };
	char *dir = t_tmpdir(), args[600], path[512], *out, *file;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int st = run(t_mock_tool(), bad[i], &out);

		if (st != 2)
			t_diag("'%s' -> %d: %s", bad[i], st, out);
		T_EQ(st, 2);
		T_ASSERT(strstr(out, "Try 'vcpustat export --help'"));
		free(out);
	}
	/* --once --textfile: the file, nothing else in the directory */
	snprintf(args, sizeof(args), "export --once --by vm --textfile %s", dir);
	T_EQ(run(t_mock_tool(), args, &out), 0);
	T_STREQ(out, "");
	free(out);
	snprintf(path, sizeof(path), "%s/" EXPORT_FILE, dir);
	file = slurp(path, NULL);
	T_ASSERT(file && strstr(file, "vcpustat_up 1\n"));
	T_ASSERT(strstr(file, "vcpustat_vm_exits_total{vm_id=\"1\",isa=\"svm\",reason=\"io\"}"));
	free(file);
	T_EQ(dir_entries(dir), 1);
	/* --once: stdout; filters apply */
	T_EQ(run(t_mock_tool(), "export --once --vm 2 --reasons top:1", &out), 0);
	T_ASSERT(strstr(out, "vcpustat_vm_info{vm_id=\"2\""));
	T_ASSERT(!strstr(out, "vm_id=\"1\""));
	T_ASSERT(strstr(out, "reason=\"io\"}") && strstr(out, "reason=\"other\"}"));
	T_ASSERT(!strstr(out, "reason=\"npf\"}"));
	free(out);
	/* a directory that is not there: runtime error */
	snprintf(args, sizeof(args), "export --once --textfile %s/none", dir);
	T_EQ(run(t_mock_tool(), args, &out), 1);
	T_ASSERT(strstr(out, "No such file or directory"));
	free(out);
	/* kernel errors: exit 4 with the extack message */
	setenv("VS_MOCK_ERR", "eperm", 1);
	T_EQ(run(t_mock_tool(), "export --once", &out), 4);
	T_ASSERT(strstr(out, "permission denied"));
	free(out);
	unsetenv("VS_MOCK_ERR");
	/* without the module: exit 3, like every command */
	if (access("/sys/module/vcpustat", F_OK)) {
		T_EQ(run(t_tool(), "export --once", &out), 3);
		T_ASSERT(strstr(out, "kernel module not loaded"));
		free(out);
	}
	t_rmtree(dir);
	free(dir);
}

/* ---- HTTP (mock build, loopback) --------------------------------------- */

struct server {
	pid_t pid;
	char dir[64];
	char err[128];
	int port;
};

static bool http_built(void)
{
	char *out;
	int st = run(t_mock_tool(), "export --listen 127.0.0.1:1 --textfile /nonexistent-dir", &out);
	bool no = strstr(out, "without libmicrohttpd") != NULL;

	(void)st;
	free(out);
	return !no;
}

/* Start `export --listen 127.0.0.1:0 --textfile DIR ARGS...`; wait for
 * its "listening on" line and read the port from it. */
static void server_start(struct server *sv, const char *mock_vms,
			 const char *interval)
{
	char *dir = t_tmpdir();
	uint64_t deadline;

	memset(sv, 0, sizeof(*sv));
	snprintf(sv->dir, sizeof(sv->dir), "%s", dir);
	free(dir);
	snprintf(sv->err, sizeof(sv->err), "%s/stderr", sv->dir);
	fflush(stdout);
	sv->pid = fork();
	T_ASSERT(sv->pid >= 0);
	if (!sv->pid) {
		int fd = open(sv->err, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0 || dup2(fd, 2) < 0)
			_exit(127);
		if (mock_vms)
			setenv("VS_MOCK_VMS", mock_vms, 1);
		execl(t_mock_tool(), t_mock_tool(), "export", "--listen",
		      "127.0.0.1:0", "--textfile", sv->dir, "--interval",
		      interval, (char *)NULL);
		_exit(127);
	}
	deadline = (uint64_t)time(NULL) + 60;
	while ((uint64_t)time(NULL) < deadline) {
		char *e = slurp(sv->err, NULL);
		const char *p = e ? strstr(e, "listening on http://127.0.0.1:") : NULL;

		if (p)
			sv->port = atoi(p + strlen("listening on http://127.0.0.1:"));
		free(e);
		if (sv->port || waitpid(sv->pid, NULL, WNOHANG) == sv->pid)
			break;
		usleep(50000);
	}
	if (!sv->port) {
		char *e = slurp(sv->err, NULL);

		t_diag("exporter did not start: %s", e ? e : "?");
		free(e);
		kill(sv->pid, SIGKILL);
		waitpid(sv->pid, NULL, 0);
		T_ASSERT(!"exporter started");
	}
}

/* SIGTERM; the exit status (0 expected: clean, leak-free under ASan). */
static int server_stop(struct server *sv)
{
	int st = 0;

	kill(sv->pid, SIGTERM);
	if (waitpid(sv->pid, &st, 0) != sv->pid)
		return -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		char *e = slurp(sv->err, NULL);

		t_diag("exporter stderr: %s", e ? e : "?");
		free(e);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int curl(const struct server *sv, const char *opts, const char *path,
		char **out)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
		 "curl -sS --max-time 20 %s 'http://127.0.0.1:%d%s'", opts,
		 sv->port, path);
	return t_sh(cmd, out, false);
}

T_TEST(export_http_basics)
{
	struct server sv;
	char path[256], *body, *file, *out;
	size_t flen;

	if (!have("curl"))
		T_SKIP("curl not installed");
	if (!http_built())
		T_SKIP("built without libmicrohttpd");
	/* one refresh for the whole test: file and body are the same data */
	server_start(&sv, NULL, "3600");
	snprintf(path, sizeof(path), "%s/" EXPORT_FILE, sv.dir);
	file = slurp(path, &flen);
	T_ASSERT(file && flen > 1000);
	T_EQ(curl(&sv, "-o -", "/metrics", &body), 0);
	T_ASSERT(body && !strcmp(body, file));
	free(body);
	/* gzip when asked (as Prometheus asks), the same bytes once
	 * gunzipped; plain text when refused or not asked */
	T_EQ(curl(&sv, "-H 'Accept-Encoding: gzip' -D - -o /dev/null", "/metrics", &out), 0);
	T_ASSERT(strstr(out, "Content-Encoding: gzip\r\n"));
	T_ASSERT(strstr(out, "Vary: Accept-Encoding\r\n"));
	free(out);
	snprintf(path, sizeof(path),
		 "curl -sS --max-time 20 -H 'Accept-Encoding: gzip' http://127.0.0.1:%d/metrics | gzip -dc",
		 sv.port);
	T_EQ(t_sh(path, &body, false), 0);
	T_ASSERT(body && !strcmp(body, file));
	free(body);
	T_EQ(curl(&sv, "-H 'Accept-Encoding: gzip;q=0, identity' -D - -o /dev/null", "/metrics", &out), 0);
	T_ASSERT(!strstr(out, "Content-Encoding"));
	free(out);
	free(file);
	/* headers, HEAD */
	T_EQ(curl(&sv, "-D - -o /dev/null", "/metrics", &out), 0);
	T_ASSERT(strstr(out, "HTTP/1.1 200"));
	T_ASSERT(strstr(out, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
	free(out);
	T_EQ(curl(&sv, "-I", "/metrics", &out), 0);
	T_ASSERT(strstr(out, "HTTP/1.1 200") && strstr(out, "Content-Length: "));
	free(out);
	/* status codes */
	T_EQ(curl(&sv, "-o /dev/null -w '%{http_code}'", "/", &out), 0);
	T_STREQ(out, "404");
	free(out);
	T_EQ(curl(&sv, "-o /dev/null -w '%{http_code}'", "/metricsx", &out), 0);
	T_STREQ(out, "404");
	free(out);
	T_EQ(curl(&sv, "-o /dev/null -w '%{http_code}'", "/metrics?name=x", &out), 0);
	T_STREQ(out, "200");
	free(out);
	T_EQ(curl(&sv, "-X POST -d x=1 -D - -o /dev/null", "/metrics", &out), 0);
	T_ASSERT(strstr(out, "HTTP/1.1 405"));
	T_ASSERT(strstr(out, "Allow: GET, HEAD\r\n"));
	free(out);
	T_EQ(curl(&sv, "-X DELETE -o /dev/null -w '%{http_code}'", "/metrics", &out), 0);
	T_STREQ(out, "405");
	free(out);
	/* two scrapes on one connection (keep-alive) */
	snprintf(path, sizeof(path),
		 "curl -sS --max-time 20 -o /dev/null -o /dev/null -w '%%{http_code}:%%{num_connects} ' http://127.0.0.1:%d/metrics http://127.0.0.1:%d/metrics",
		 sv.port, sv.port);
	T_EQ(t_sh(path, &out, false), 0);
	T_STREQ(out, "200:1 200:0 ");
	free(out);
	snprintf(path, sizeof(path), "%s/" EXPORT_FILE, sv.dir);
	T_EQ(server_stop(&sv), 0);
	/* the textfile goes with the exporter */
	T_ASSERT(access(path, F_OK) && errno == ENOENT);
	t_rmtree(sv.dir);
}

/* Connect, send @req, never read. */
static int stuck_client(int port, const char *req)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), small = 4096;

	T_ASSERT(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	T_EQ(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	T_EQ(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	return fd;
}

static uint64_t refreshes_in(const char *body)
{
	double v;

	T_ASSERT(value_of(body, "vcpustat_exporter_refreshes_total", &v));
	return (uint64_t)v;
}

T_TEST(export_http_stuck_client)
{
	struct server sv;
	int fds[4];
	char *b1, *b2, path[128], *f;
	uint64_t r1, r2, rf, t0;

	if (!have("curl"))
		T_SKIP("curl not installed");
	if (!http_built())
		T_SKIP("built without libmicrohttpd");
	/* 40 VMs: a few MB per response, more than the socket buffers of a
	 * client that does not read hold */
	server_start(&sv, "40", "0.3");
	for (int i = 0; i < 3; i++)
		fds[i] = stuck_client(sv.port,
				      "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	fds[3] = stuck_client(sv.port, "GET /metr");	/* never finished */
	usleep(300000);
	t0 = (uint64_t)time(NULL);
	T_EQ(curl(&sv, "-o -", "/metrics", &b1), 0);
	T_ASSERT(strstr(b1, "vcpustat_vcpu_migrations_total{vm_id=\"40\""));
	r1 = refreshes_in(b1);
	sleep(2);
	T_EQ(curl(&sv, "-o -", "/metrics", &b2), 0);
	r2 = refreshes_in(b2);
	/* other scrapes are answered, and refreshes went on meanwhile */
	if (r2 <= r1)
		t_diag("refreshes: %" PRIu64 " then %" PRIu64, r1, r2);
	T_ASSERT(r2 > r1);
	T_ASSERT((uint64_t)time(NULL) - t0 < 15);
	/* ... and the textfile with them */
	snprintf(path, sizeof(path), "%s/" EXPORT_FILE, sv.dir);
	f = slurp(path, NULL);
	T_ASSERT(f);
	rf = refreshes_in(f);
	T_ASSERT(rf >= r2);
	free(f);
	free(b1);
	free(b2);
	/* stopping does not wait for the stuck clients */
	T_EQ(server_stop(&sv), 0);
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	t_rmtree(sv.dir);
}

/*
 * vcpustat_up of every refresh the exporter made until @secs passed: the
 * textfile is replaced once per refresh, polled every 20 ms. Returns the
 * sequence of up values with repeats folded ("101": up, down, up).
 */
static void up_sequence(const char *path, double secs, char *seq, size_t len)
{
	uint64_t last = 0, end = (uint64_t)(secs * 50);
	size_t n = 0;

	seq[0] = '\0';
	for (uint64_t i = 0; i < end; i++, usleep(20000)) {
		char *t = slurp(path, NULL);
		double up, r;

		if (!t || !value_of(t, "vcpustat_up", &up) ||
		    !value_of(t, "vcpustat_exporter_refreshes_total", &r) ||
		    (uint64_t)r == last) {
			free(t);
			continue;
		}
		last = (uint64_t)r;
		free(t);
		if ((!n || seq[n - 1] != (up ? '1' : '0')) && n < len - 1) {
			seq[n++] = up ? '1' : '0';
			seq[n] = '\0';
		}
	}
}

/*
 * The module away at start, and going and coming back (VS_MOCK_GONE):
 * the exporter does not exit (it used to exit 3 at start-up, a down
 * target for Prometheus), exports vcpustat_up 0 with HTTP 200 while the
 * module is away, and 1 with the VMs again once it is back; --once still
 * exits 3.
 */
T_TEST(export_waits_for_the_module)
{
	struct server sv;
	char path[128], seq[16], *body, *out, *e;

	setenv("VS_MOCK_GONE", "0-60", 1);
	T_EQ(run(t_mock_tool(), "export --once", &out), 3);
	T_ASSERT(strstr(out, "kernel module not loaded"));
	free(out);
	if (!have("curl"))
		T_SKIP("curl not installed");
	if (!http_built())
		T_SKIP("built without libmicrohttpd");

	/* away at start, back after 1.5 s */
	setenv("VS_MOCK_GONE", "0-1.5", 1);
	server_start(&sv, "1", "0.1");
	unsetenv("VS_MOCK_GONE");
	T_EQ(curl(&sv, "-o - -w '%{http_code}'", "/metrics", &body), 0);
	T_ASSERT(strstr(body, "\nvcpustat_up 0\n"));
	T_ASSERT(!strstr(body, "vcpustat_vm_info"));
	T_ASSERT(strstr(body, "\n200"));
	free(body);
	snprintf(path, sizeof(path), "%s/" EXPORT_FILE, sv.dir);
	up_sequence(path, 3, seq, sizeof(seq));
	T_STREQ(seq, "01");
	T_EQ(curl(&sv, "-o -", "/metrics", &body), 0);
	T_ASSERT(strstr(body, "\nvcpustat_up 1\n"));
	T_ASSERT(strstr(body, "vcpustat_vm_info{vm_id=\"1\""));
	free(body);
	T_EQ(server_stop(&sv), 0);
	e = slurp(sv.err, NULL);
	T_ASSERT(e && strstr(e, "the vcpustat module is not loaded; exporting vcpustat_up 0 until it is\n"));
	T_ASSERT(strstr(e, "reading the module again\n"));
	free(e);
	t_rmtree(sv.dir);

	/* up, away from 1 s to 2 s, up again: 1 -> 0 -> 1 */
	setenv("VS_MOCK_GONE", "1-2", 1);
	server_start(&sv, "1", "0.1");
	unsetenv("VS_MOCK_GONE");
	snprintf(path, sizeof(path), "%s/" EXPORT_FILE, sv.dir);
	up_sequence(path, 3.5, seq, sizeof(seq));
	T_STREQ(seq, "101");
	T_EQ(server_stop(&sv), 0);
	t_rmtree(sv.dir);
}
