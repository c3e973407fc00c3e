// SPDX-License-Identifier: GPL-2.0
/*
 * top --detail KIND end to end through the mock (mock_keys.c's keys).
 * top -n 1 reads two snapshots, at exactly 10 s and 11 s of exits
 * (VS_MOCK_STEP): per vCPU, VM 1's two count 1x and VM 2's three 2x the
 * mock's rates (io 1000/s, npf 500/s, msr 100/s, cpuid 50/s), each key
 * the reason's count over its divisor. So every count below is exact:
 * e.g. out 0x3f8 (count / 2) = 2 * 11000 / 2 + 3 * 22000 / 2 = 44000.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "harness.h"
#include "mockout.h"
#include "testutil.h"

/* The KEY (or REGION) row @key: COUNT and % as shown (RATE/s is real time). */
static void want_row(const char *out, const char *key, const char *count,
		     const char *pct)
{
	char cols[3][32];

	if (!t_row(out, key, cols, 3))
		t_fail(__FILE__, __LINE__, "no row '%s' of 3 columns in:\n%s",
		       key, out);
	T_STREQ(cols[0], count);
	T_STREQ(cols[2], pct);
}

T_TEST(detail_top_io_text)
{
	char *out;
	const char *a, *b, *c, *d, *e;

	T_EQ(t_mock_detail("top -b -n 1 -d 0.1 --detail io", &out), 0);
	/* % of the interval's io exits (8000): 4000, 2000, 1000, 499, 501 */
	want_row(out, "out 0x3f8/1 COM1", "44.0k", "50.0");
	want_row(out, "in 0x3fd/1 COM1", "22.0k", "25.0");
	want_row(out, "out 0xcf8/4 PCI-CONF-ADDR", "11.0k", "12.5");
	want_row(out, "ins 0x1f0/2 IDE0", "5.50k", "6.2");
	want_row(out, "OTHER", "5.50k", "6.3");
	/* busiest first, OTHER last */
	a = strstr(out, "out 0x3f8");
	b = strstr(out, "in 0x3fd");
	c = strstr(out, "out 0xcf8");
	d = strstr(out, "ins 0x1f0");
	e = strstr(out, "\nOTHER ");
	T_ASSERT(a && a < b && b < c && c < d && d < e);
	/* keys this short keep the classic 40-wide first column */
	T_ASSERT(strstr(out, "\nKEY                                         COUNT   RATE/s      %\n"));
	/* the mock's histograms: every io exit in 2048..4095 ns */
	T_ASSERT(strstr(out, "io exits: p50 "));
	T_ASSERT(!strstr(out, "REGION"));
	free(out);
}

/* Sum of "count" over the JSON key objects that hold @what. */
static uint64_t sum_keys(const char *out, const char *what)
{
	uint64_t sum = 0;

	for (const char *p = strstr(out, what); p; p = strstr(p + 1, what))
		sum += T_MEMBER(p, "count");
	return sum;
}

T_TEST(detail_top_gpa_regions)
{
	char *out, *js, cnt[FMT_BUF];
	uint64_t slot1, slot3;

	T_EQ(t_mock_detail("top -j -n 1 -d 0.1 --detail gpa", &js), 0);
	slot1 = sum_keys(js, "\"region\":\"ram\",\"slot\":1,");
	slot3 = sum_keys(js, "\"region\":\"ram\",\"slot\":3,");
	/* slot 1: count/4 at 0x40000 + idx pages, count/8 at 0x47000 */
	T_EQ(slot1, 2 * (1375 + 687) + 3 * (2750 + 1375));
	T_EQ(slot3, 2 * 171 + 3 * 343);
	free(js);

	T_EQ(t_mock_detail("top -b -n 1 -d 0.1 --detail gpa", &out), 0);
	/* keys whole, their region and its size included */
	want_row(out, "gpa 0xfec00000 mmio kvm-bus 0xfec00000+0x100", "5.50k",
		 "12.5");
	want_row(out, "gpa 0xffff0000 ram slot 3 0xfffc0000+256K", "1.37k",
		 "3.1");
	want_row(out, "gpa 0x42000 ram slot 1 0x40000+32K", "2.75k", "6.2");
	want_row(out, "gpa 0x47000 ram slot 1 0x40000+32K", "5.50k", "12.5");
	/* REGION: each slot's row is the sum of its keys */
	T_ASSERT(strstr(out, "\nREGION "));
	want_row(out, "ram slot 1 0x40000+32K",
		 fmt_count(cnt, sizeof(cnt), slot1), "37.5");
	want_row(out, "ram slot 3 0xfffc0000+256K",
		 fmt_count(cnt, sizeof(cnt), slot3), "3.1");
	want_row(out, "mmio kvm-bus 0xfec00000+0x100", "5.50k", "12.5");
	want_row(out, "mmio kvm-bus 0xfe003000+0x0", "2.75k", "6.2");
	want_row(out, "mmio", "2.75k", "6.2");
	/* KEY and REGION share the first column: the widest key's */
	T_ASSERT(strstr(out, "\nKEY                                             COUNT"));
	T_ASSERT(strstr(out, "\nREGION                                          COUNT"));
	free(out);
}

/* The JSON object in @out starting with @head. */
static const char *obj(const char *out, const char *head)
{
	const char *o = strstr(out, head);

	if (!o)
		t_fail(__FILE__, __LINE__, "no %s in %.300s", head, out);
	return o;
}

T_TEST(detail_top_json)
{
	const char *keys, *o;
	uint64_t sum = 0, dsum = 0;
	char *out;

	T_EQ(t_mock_detail("top -j -n 1 -d 0.1 --detail io", &out), 0);
	T_ASSERT(t_json_valid(out, false));
	o = obj(out, "{\"port\":1016,\"dir\":\"out\",\"size\":1,\"device\":\"COM1\",");
	T_EQ(T_MEMBER(o, "count"), 44000);
	T_EQ(T_MEMBER(o, "count_delta"), 4000);
	o = obj(out, "{\"port\":496,\"dir\":\"in\",\"size\":2,\"string\":true,\"device\":\"IDE0\",");
	T_EQ(T_MEMBER(o, "count"), 2 * 687 + 3 * 1375);
	T_EQ(T_MEMBER(o, "count_delta"), 499);
	o = obj(out, "{\"other\":true,");
	T_EQ(T_MEMBER(o, "count"), 5501);
	T_EQ(T_MEMBER(o, "count_delta"), 501);
	/* keys + other == the reason's count, now and over the interval */
	keys = obj(out, "\"keys\":[");
	for (o = strchr(keys, '{'); o; o = strchr(o + 1, '{')) {
		sum += T_MEMBER(o, "count");
		dsum += T_MEMBER(o, "count_delta");
	}
	o = obj(out, "{\"isa\":\"svm\",\"code\":123,\"name\":\"io\",");
	T_EQ(sum, T_MEMBER(o, "count"));
	T_EQ(dsum, T_MEMBER(o, "count_delta"));
	T_EQ(sum, 88000);
	free(out);

	T_EQ(t_mock_detail("top -j -n 1 -d 0.1 --detail gpa", &out), 0);
	o = obj(out, "{\"gpa\":4273995776,\"region\":\"mmio\",");
	T_EQ(T_MEMBER(o, "region_base"), 0xfec00000);
	T_EQ(T_MEMBER(o, "region_size"), 0x100);
	T_EQ(T_MEMBER(o, "count"), 2 * 687 + 3 * 1375);
	/* an ioeventfd of any width: size 0, still sent */
	o = obj(out, "{\"gpa\":4261425152,\"region\":\"mmio\",");
	T_EQ(T_MEMBER(o, "region_size"), 0);
	/* no KVM bus range: the VMM's alone, no base or size */
	o = obj(out, "{\"gpa\":4273934336,\"region\":\"mmio\",");
	T_ASSERT(!t_has_member(o, "region_base"));
	T_ASSERT(!t_has_member(o, "region_size"));
	o = obj(out, "{\"gpa\":4294901760,\"region\":\"ram\",\"slot\":3,");
	T_EQ(T_MEMBER(o, "slot_flags"), 2);	/* KVM_MEM_READONLY */
	T_EQ(T_MEMBER(o, "region_base"), 0xfffc0000);
	T_EQ(T_MEMBER(o, "region_size"), 0x40000);
	free(out);
}

T_TEST(detail_top_msr_cpuid)
{
	const char *o;
	char *out;

	T_EQ(t_mock_detail("top -j -n 1 -d 0.1 --detail msr", &out), 0);
	o = obj(out, "{\"msr\":1760,\"dir\":\"write\",\"name\":\"IA32_TSC_DEADLINE\",");
	T_EQ(T_MEMBER(o, "count"), 2 * 550 + 3 * 1100);
	o = obj(out, "{\"msr\":16,\"dir\":\"read\",\"name\":\"IA32_TSC\",");
	T_EQ(T_MEMBER(o, "count"), 2 * 275 + 3 * 550);
	T_EQ(T_MEMBER(obj(out, "{\"other\":true,"), "count"), 2200);
	free(out);

	T_EQ(t_mock_detail("top -j -n 1 -d 0.1 --detail cpuid", &out), 0);
	T_EQ(T_MEMBER(obj(out, "{\"leaf\":1,\"subleaf\":0,"), "count"), 2200);
	T_EQ(T_MEMBER(obj(out, "{\"leaf\":11,\"subleaf\":1,"), "count"),
	     2 * 137 + 3 * 275);
	T_EQ(T_MEMBER(obj(out, "{\"other\":true,"), "count"), 1101);
	free(out);

	/* a kind no mock reason has: said, not an empty table */
	T_EQ(t_mock_detail("top -b -n 1 -d 0.1 --detail hypercall", &out), 0);
	T_ASSERT(strstr(out, "(no hypercall keys: no such exits, or details off"));
	free(out);
}
