// SPDX-License-Identifier: GPL-2.0
/*
 * stat --detail KIND end to end through the mock (mock_keys.c's keys):
 * one row per vCPU, reason and key, in text (columns that fit the keys),
 * JSON lines and CSV. `stat 0.1 1` reads snapshots at exactly 10 s and
 * 11 s of exits (VS_MOCK_STEP), so per vCPU of VM 1 io counts 10000 then
 * 11000 (npf 5000, 5500), of VM 2 twice that; a key's count is the
 * reason's over its divisor, "other" the rest.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mockout.h"
#include "testutil.h"

/* The JSON line of vCPU @vcpu holding @key. */
static char *row_of(const char *out, int vcpu, const char *key)
{
	char id[32], *l;

	snprintf(id, sizeof(id), "\"vcpu_id\":%d,", vcpu);
	l = t_line_with(out, id, key);
	if (!l)
		t_fail(__FILE__, __LINE__, "no row of vCPU %d with %s in:\n%.400s",
		       vcpu, key, out);
	return l;
}

T_TEST(detail_stat_json)
{
	static const char *const out_3f8 = "\"port\":1016,\"dir\":\"out\"";
	char *out, *l;
	int lines = 0;

	T_EQ(t_mock_detail("stat -j --detail io --vm 2 0.1 1", &out), 0);
	T_ASSERT(t_json_valid(out, true));
	for (const char *p = out; (p = strchr(p, '\n')); p++)
		lines++;
	T_EQ(lines, 3 * 5);	/* 3 vCPUs: 4 keys and "other" each */
	for (int v = 0; v < 3; v++) {
		uint64_t sum = 0, dsum = 0;

		l = row_of(out, v, out_3f8);
		T_EQ(T_MEMBER(l, "count"), 11000);
		T_EQ(T_MEMBER(l, "count_delta"), 1000);
		T_EQ(T_MEMBER(l, "reason_count_delta"), 2000);
		free(l);
		l = row_of(out, v, "\"other\":true");
		T_EQ(T_MEMBER(l, "count"), 22000 - 11000 - 5500 - 2750 - 1375);
		T_EQ(T_MEMBER(l, "count_delta"), 125);
		free(l);
		/* keys + other == the reason's count, and over the interval */
		for (const char *k = out; k && *k; k = strchr(k, '\n'), k = k ? k + 1 : k) {
			char id[32];
			const char *e = strchr(k, '\n');

			snprintf(id, sizeof(id), "\"vcpu_id\":%d,", v);
			if (!strstr(k, id) || (e && strstr(k, id) > e))
				continue;
			sum += T_MEMBER(k, "count");
			dsum += T_MEMBER(k, "count_delta");
		}
		T_EQ(sum, 22000);
		T_EQ(dsum, 2000);
	}
	free(out);

	/* --total: against nothing, the delta is the whole count */
	T_EQ(t_mock_detail("stat -j --total --detail io --vm 1", &out), 0);
	l = row_of(out, 1, out_3f8);
	T_EQ(T_MEMBER(l, "count"), 5000);
	T_EQ(T_MEMBER(l, "count_delta"), 5000);
	T_EQ(T_MEMBER(l, "reason_count_delta"), 10000);
	free(l);
	free(out);
}

/* Field @i (0-based) of CSV line @l that has no quoted commas. */
static uint64_t field(const char *l, int i)
{
	const char *p = l;

	while (i-- > 0 && p)
		p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
	T_ASSERT(p);
	return strtoull(p, NULL, 10);
}

T_TEST(detail_stat_csv)
{
	/* VM 1's names have no commas: fields split plainly */
	enum { COUNT = 13, DELTA = 14, REASON_DELTA = 16 };
	static const char head[] = "time,mono_ns,vm_id,pid,comm,name,uuid,"
		"vcpu_id,tid,reason,code,key,interval_s,count,count_delta,"
		"count_per_sec,reason_count_delta\n";
	uint64_t sum = 0, dsum = 0;
	char *out, *l;

	T_EQ(t_mock_detail("stat --csv --detail gpa --vm 1 0.1 1", &out), 0);
	T_ASSERT(!strncmp(out, head, strlen(head)));
	l = t_line_with(out, ",1,1011,\"npf\",1024,"
			"\"gpa 0x41000 ram slot 1 0x40000+32K\",", NULL);
	T_ASSERT(l);
	T_EQ(field(l, COUNT), 1375);
	T_EQ(field(l, DELTA), 125);
	T_EQ(field(l, REASON_DELTA), 500);
	free(l);
	l = t_line_with(out, ",0,1010,\"npf\",1024,\"other\",", NULL);
	T_ASSERT(l);
	T_EQ(field(l, COUNT), 5500 - 1375 - 687 - 687 - 343 - 343 - 171);
	T_EQ(field(l, DELTA), 174);
	free(l);
	/* vCPU 0's rows: keys + other == its npf count */
	for (const char *p = strchr(out, '\n'); p && p[1]; p = strchr(p + 1, '\n'))
		if (strstr(p + 1, ",0,1010,\"npf\",") &&
		    strstr(p + 1, ",0,1010,\"npf\",") < strchr(p + 1, '\n')) {
			sum += field(p + 1, COUNT);
			dsum += field(p + 1, DELTA);
		}
	T_EQ(sum, 5500);
	T_EQ(dsum, 500);
	free(out);
}

/* The lines of the first frame: from its header to the blank line. */
static void frame_lines(const char *out, char *lines[], int max, int *n)
{
	const char *p = strstr(out, " VM ");

	*n = 0;
	while (p > out && p[-1] != '\n')
		p--;
	while (p && *p && *p != '\n' && *n < max) {
		const char *e = strchr(p, '\n');

		lines[(*n)++] = strndup(p, e ? (size_t)(e - p) : strlen(p));
		p = e ? e + 1 : NULL;
	}
}

T_TEST(detail_stat_text_columns)
{
	static const char *const wide = "gpa 0xfec00000 mmio kvm-bus 0xfec00000+0x100";
	char *out, *lines[32], want[256];
	int n;

	T_EQ(t_mock_detail("stat --detail gpa --vm 1 0.1 1", &out), 0);
	frame_lines(out, lines, 32, &n);
	T_EQ(n, 1 + 2 * 7);	/* header, 2 vCPUs: 6 keys and OTHER */
	/* KEY as wide as the widest key, the numbers after it */
	snprintf(want, sizeof(want), "%5s %8s %5s %-10s %-*s %10s %9s %6s",
		 "VM", "PID", "VCPU", "REASON", (int)strlen(wide), "KEY",
		 "COUNT", "RATE/s", "%");
	T_STREQ(lines[0] + 10, want);
	for (int i = 1; i < n; i++) {
		/* each row as long as the header: every column aligned */
		if (strlen(lines[i]) != strlen(lines[0]))
			t_fail(__FILE__, __LINE__, "row not aligned:\n%s\n%s",
			       lines[0], lines[i]);
	}
	snprintf(want, sizeof(want), " %s %10d ", wide, 62);
	T_ASSERT(strstr(out, want));
	for (int i = 0; i < n; i++)
		free(lines[i]);
	free(out);

	/* short keys: the classic 32-wide KEY column */
	T_EQ(t_mock_detail("stat --detail io --vm 1 0.1 1", &out), 0);
	frame_lines(out, lines, 32, &n);
	T_EQ(n, 1 + 2 * 5);
	T_STREQ(lines[0] + 10, "   VM      PID  VCPU REASON     KEY                                   COUNT    RATE/s      %");
	for (int i = 1; i < n; i++)
		T_EQ(strlen(lines[i]), strlen(lines[0]));
	for (int i = 0; i < n; i++)
		free(lines[i]);
	free(out);
}

T_TEST(detail_bad_kind)
{
	char *out;

	T_EQ(t_mock_detail("stat --detail bogus", &out), 2);
	T_ASSERT(strstr(out, "vcpustat stat: --detail: unknown key kind 'bogus'\n"));
	T_ASSERT(strstr(out, "Try 'vcpustat stat --help'"));
	free(out);
	T_EQ(t_mock_detail("top -b -n 1 --detail bogus", &out), 2);
	T_ASSERT(strstr(out, "vcpustat top: --detail: unknown key kind 'bogus'\n"));
	free(out);
	/* an alias is a kind: mmio is gpa */
	T_EQ(t_mock_detail("stat --total --detail mmio --vm 1", &out), 0);
	T_ASSERT(strstr(out, " gpa 0xfebf1000 mmio "));
	free(out);
}
