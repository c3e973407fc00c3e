// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of detail.c: key decoding (the uapi encodings), names,
 * quantiles of the per-reason histograms, and key rows with deltas.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detail.h"
#include "harness.h"
#include "testutil.h"

T_TEST(detail_key_text)
{
	char b[96];

	/* port 0x3f8, 1 byte, out */
	vs_key_fmt(VCPUSTAT_KEY_KIND_IO, 0x3f8 | (1 << 16), b, sizeof(b));
	T_STREQ(b, "out 0x3f8/1 COM1");
	/* port 0xcfc, 4 bytes, in, string */
	vs_key_fmt(VCPUSTAT_KEY_KIND_IO, 0xcfc | (4 << 16) | (1 << 24) | (1 << 25),
		   b, sizeof(b));
	T_STREQ(b, "ins 0xcfc/4 PCI-CONF-DATA");
	vs_key_fmt(VCPUSTAT_KEY_KIND_IO, 0x522 | (2 << 16), b, sizeof(b));
	T_STREQ(b, "out 0x522/2");
	vs_key_fmt(VCPUSTAT_KEY_KIND_MSR, 0x8b, b, sizeof(b));
	T_STREQ(b, "read 0x8b IA32_UCODE_REV");
	vs_key_fmt(VCPUSTAT_KEY_KIND_MSR, 0x10 | (1ULL << 32), b, sizeof(b));
	T_STREQ(b, "write 0x10 IA32_TSC");
	vs_key_fmt(VCPUSTAT_KEY_KIND_CPUID, 7 | (1ULL << 32), b, sizeof(b));
	T_STREQ(b, "leaf 0x7.1");
	vs_key_fmt(VCPUSTAT_KEY_KIND_HYPERCALL, 100, b, sizeof(b));
	T_STREQ(b, "nr 100");
	vs_key_fmt(VCPUSTAT_KEY_KIND_EXCEPTION, 14, b, sizeof(b));
	T_STREQ(b, "vector 14 #PF");
	vs_key_fmt(VCPUSTAT_KEY_KIND_GPA, 0xfee00000, b, sizeof(b));
	T_STREQ(b, "gpa 0xfee00000");
}

T_TEST(detail_names)
{
	T_STREQ(vs_port_name(0x3f8), "COM1");
	T_STREQ(vs_port_name(0x3ff), "COM1");
	T_STREQ(vs_port_name(0x20), "PIC1");
	T_STREQ(vs_port_name(0xa1), "PIC2");
	T_STREQ(vs_port_name(0x43), "PIT");
	T_STREQ(vs_port_name(0x70), "RTC");
	T_STREQ(vs_port_name(0xcf8), "PCI-CONF-ADDR");
	T_STREQ(vs_port_name(0xb008), "ACPI-PM");
	T_STREQ(vs_port_name(0x92), "SYSCTRL-A");
	T_STREQ(vs_port_name(0x402), "DEBUGCON");
	T_ASSERT(!vs_port_name(0x520));
	/* generated from msr-index.h: architectural names win */
	T_STREQ(vs_msr_name(0x1b), "IA32_APICBASE");
	T_STREQ(vs_msr_name(0xc0000080), "EFER");
	T_ASSERT(!vs_msr_name(0x12345678));
	T_EQ(vs_key_kind_from_name("io"), VCPUSTAT_KEY_KIND_IO);
	T_EQ(vs_key_kind_from_name("port"), VCPUSTAT_KEY_KIND_IO);
	T_EQ(vs_key_kind_from_name("MMIO"), VCPUSTAT_KEY_KIND_GPA);
	T_EQ(vs_key_kind_from_name("msr"), VCPUSTAT_KEY_KIND_MSR);
	T_EQ(vs_key_kind_from_name("nope"), 0);
	T_STREQ(vs_key_kind_name(VCPUSTAT_KEY_KIND_HYPERCALL), "hypercall");
	T_STREQ(vs_key_kind_name(99), "?");
}

T_TEST(detail_quantiles)
{
	struct vs_reason r = { 0 };
	uint64_t ns;

	T_ASSERT(!vs_rhist_quantile(&r, 0.5, &ns));
	r.has_hist = true;
	T_ASSERT(!vs_rhist_quantile(&r, 0.5, &ns));
	/* 100 exits in bucket 4: [2^12, 2^13) ns = [4096, 8192) */
	r.hist[4] = 100;
	r.timed = 100;
	r.time_min_ns = 4100;
	r.time_max_ns = 8000;
	T_ASSERT(vs_rhist_quantile(&r, 0.5, &ns));
	T_EQ(ns, 6144);			/* halfway through the bucket */
	T_ASSERT(vs_rhist_quantile(&r, 0.99, &ns));
	T_EQ(ns, 8000);			/* 8151 clamped to the max */
	/* 90 fast (bucket 0: < 512 ns) and 10 slow (last: >= 2^27 ns) */
	memset(r.hist, 0, sizeof(r.hist));
	r.hist[0] = 90;
	r.hist[VCPUSTAT_RHIST_BUCKETS - 1] = 10;
	r.time_min_ns = 100;
	r.time_max_ns = 300000000;
	T_ASSERT(vs_rhist_quantile(&r, 0.5, &ns));
	T_ASSERT(ns >= 100 && ns < 512);
	T_ASSERT(vs_rhist_quantile(&r, 0.9, &ns));
	T_ASSERT(ns <= 512);		/* the 90th: bucket 0's upper edge */
	T_ASSERT(vs_rhist_quantile(&r, 0.99, &ns));
	T_ASSERT(ns >= (1ULL << 27) && ns <= 300000000);
}

/* Two snapshots of one vCPU: key rows count the interval, other last. */
T_TEST(detail_key_rows)
{
	struct vs_reason r0 = { .isa = VCPUSTAT_ISA_SVM, .code = 0x7b,
				.count = 10, .key_kind = VCPUSTAT_KEY_KIND_IO,
				.nr_keys = 2, .keys_other = 1 };
	struct vs_reason r1 = r0;
	struct vs_vcpu v0 = { .vm_id = 1, .vcpu_id = 0, .tid = 5, .exits = 10,
			      .reasons = &r0, .nr_reasons = 1 };
	struct vs_vcpu v1 = v0;
	struct vs_vm m0 = { .id = 1, .pid = 4, .vcpus = &v0, .nr_vcpus = 1 };
	struct vs_vm m1 = m0;
	struct vs_snapshot s0 = { .vms = &m0, .nr_vms = 1, .ts_ns = 1 };
	struct vs_snapshot s1 = { .vms = &m1, .nr_vms = 1, .ts_ns = 2 };
	struct vs_krow *rows;
	size_t n;

	r0.keys[0] = (struct vs_key){ .key = 0x3f8 | (1 << 16), .count = 6 };
	r0.keys[1] = (struct vs_key){ .key = 0x70 | (1 << 16), .count = 3 };
	r1 = r0;
	r1.count = 20;
	r1.keys[0].count = 7;
	r1.keys[1].count = 11;
	r1.keys_other = 2;
	v1.reasons = &r1;
	v1.exits = 20;
	m1.vcpus = &v1;
	T_EQ(vs_krows(&s1, &s0, VCPUSTAT_KEY_KIND_IO, &rows, &n), 0);
	T_EQ(n, 3);
	/* 0x70 moved most in the interval: first; other last */
	T_EQ(rows[0].key, 0x70 | (1 << 16));
	T_EQ(rows[0].d_count, 8);
	T_EQ(rows[1].d_count, 1);
	T_ASSERT(rows[2].other);
	T_EQ(rows[2].d_count, 1);
	T_EQ(rows[0].d_reason, 10);
	free(rows);
	/* no previous snapshot: the whole counts */
	T_EQ(vs_krows(&s1, NULL, VCPUSTAT_KEY_KIND_IO, &rows, &n), 0);
	T_EQ(n, 3);
	T_EQ(rows[0].d_count, 11);
	T_EQ(rows[2].d_count, 2);
	free(rows);
	T_EQ(vs_krows(&s1, &s0, VCPUSTAT_KEY_KIND_MSR, &rows, &n), 0);
	T_EQ(n, 0);
	free(rows);
}

/* Key rows of two vCPUs merged: one row per key, counts summed. */
T_TEST(detail_key_rows_merged)
{
	struct vs_reason r[2] = {
		{ .isa = VCPUSTAT_ISA_SVM, .code = 0x7b, .count = 10,
		  .key_kind = VCPUSTAT_KEY_KIND_IO, .nr_keys = 2,
		  .keys_other = 1 },
		{ .isa = VCPUSTAT_ISA_SVM, .code = 0x7b, .count = 8,
		  .key_kind = VCPUSTAT_KEY_KIND_IO, .nr_keys = 2,
		  .keys_other = 2 },
	};
	struct vs_vcpu v[2] = {
		{ .vm_id = 1, .vcpu_id = 0, .reasons = &r[0], .nr_reasons = 1 },
		{ .vm_id = 1, .vcpu_id = 1, .reasons = &r[1], .nr_reasons = 1 },
	};
	struct vs_vm m = { .id = 1, .pid = 4, .vcpus = v, .nr_vcpus = 2 };
	struct vs_snapshot s = { .vms = &m, .nr_vms = 1, .ts_ns = 1 };
	struct vs_krow *rows;
	size_t n;

	r[0].keys[0] = (struct vs_key){ .key = 0x3f8, .count = 6 };
	r[0].keys[1] = (struct vs_key){ .key = 0x70, .count = 3 };
	r[1].keys[0] = (struct vs_key){ .key = 0x70, .count = 4 };
	r[1].keys[1] = (struct vs_key){ .key = 0xcf8, .count = 2 };
	T_EQ(vs_krows_merged(&s, NULL, VCPUSTAT_KEY_KIND_IO, &rows, &n), 0);
	T_EQ(n, 4);
	T_EQ(rows[0].key, 0x70);
	T_EQ(rows[0].count, 7);
	T_ASSERT(!rows[0].vc && !rows[0].vm && !rows[0].r);
	T_EQ(rows[1].key, 0x3f8);
	T_EQ(rows[2].key, 0xcf8);
	/* both vCPUs' "other" buckets are one row, still last */
	T_ASSERT(rows[3].other);
	T_EQ(rows[3].count, 3);
	/* every row's share is of both vCPUs' exits of the reason */
	for (size_t i = 0; i < n; i++)
		T_EQ(rows[i].d_reason, 18);
	free(rows);
	/* no keys of the kind: no rows (and no qsort() of NULL) */
	T_EQ(vs_krows_merged(&s, NULL, VCPUSTAT_KEY_KIND_MSR, &rows, &n), 0);
	T_EQ(n, 0);
	free(rows);
}

/* A GPA key's region (VCPUSTAT_KEY_A_REGION..) as text. */
T_TEST(detail_region_text)
{
	struct vs_key ram = { .key = 0x43000, .count = 1,
			      .region = VCPUSTAT_REGION_RAM, .slot = 1,
			      .has_base = true, .region_base = 0x40000,
			      .region_size = 0x8000 };
	struct vs_key smm = ram;
	struct vs_key bus = { .key = 0x50000, .region = VCPUSTAT_REGION_MMIO,
			      .has_base = true, .region_base = 0x50000,
			      .region_size = 0x100 };
	struct vs_key vmm = { .key = 0xfebf1000,
			      .region = VCPUSTAT_REGION_MMIO };
	struct vs_key none = { .key = 0x1000 };
	char b[96];

	vs_key_fmt_full(VCPUSTAT_KEY_KIND_GPA, &ram, b, sizeof(b));
	T_STREQ(b, "gpa 0x43000 ram slot 1 0x40000+32K");
	smm.slot = 1 << 16 | 2;
	smm.region_size = 2ULL << 30;
	vs_key_fmt_full(VCPUSTAT_KEY_KIND_GPA, &smm, b, sizeof(b));
	T_STREQ(b, "gpa 0x43000 ram slot 1/2 0x40000+2G");
	vs_key_fmt_full(VCPUSTAT_KEY_KIND_GPA, &bus, b, sizeof(b));
	T_STREQ(b, "gpa 0x50000 mmio kvm-bus 0x50000+0x100");
	vs_key_fmt_full(VCPUSTAT_KEY_KIND_GPA, &vmm, b, sizeof(b));
	T_STREQ(b, "gpa 0xfebf1000 mmio");
	/* no region sent (VM not reached): the key alone */
	vs_key_fmt_full(VCPUSTAT_KEY_KIND_GPA, &none, b, sizeof(b));
	T_STREQ(b, "gpa 0x1000");
	/* a short buffer is cut, never overrun */
	vs_key_fmt_full(VCPUSTAT_KEY_KIND_GPA, &ram, b, 16);
	T_STREQ(b, "gpa 0x43000 ram");
}

static char *region_json(const struct vs_key *k)
{
	struct t_jw_mem m;
	struct jw *w = t_jw_open(&m, false);
	char *s;

	jw_obj_open(w);
	jw_key_fields(w, VCPUSTAT_KEY_KIND_GPA, k->key);
	jw_key_region(w, k);
	jw_obj_close(w);
	s = t_jw_close(&m);
	T_EQ(m.end, 0);
	return s;
}

T_TEST(detail_region_json)
{
	struct vs_key ram = { .key = 0x43000, .region = VCPUSTAT_REGION_RAM,
			      .slot = 1, .slot_flags = 2, .has_base = true,
			      .region_base = 0x40000, .region_size = 0x8000 };
	struct vs_key vmm = { .key = 0x20000, .region = VCPUSTAT_REGION_MMIO };
	struct vs_key none = { .key = 0x1000 };
	char *s;

	s = region_json(&ram);
	T_STREQ(s, "{\"gpa\":274432,\"region\":\"ram\",\"slot\":1,\"slot_flags\":2,"
		   "\"region_base\":262144,\"region_size\":32768}\n");
	free(s);
	s = region_json(&vmm);
	T_STREQ(s, "{\"gpa\":131072,\"region\":\"mmio\"}\n");
	free(s);
	s = region_json(&none);
	T_STREQ(s, "{\"gpa\":4096}\n");
	free(s);
}

/* Key rows grouped by region: a slot's pages are one row. */
T_TEST(detail_region_groups)
{
	struct vs_krow rows[5] = {
		{ .key = 0x43000, .count = 2, .d_count = 1, .kinfo = {
		  .region = VCPUSTAT_REGION_RAM, .slot = 1, .has_base = true,
		  .region_base = 0x40000, .region_size = 0x8000 } },
		{ .key = 0x40000, .count = 3, .d_count = 3, .kinfo = {
		  .region = VCPUSTAT_REGION_RAM, .slot = 1, .has_base = true,
		  .region_base = 0x40000, .region_size = 0x8000 } },
		{ .key = 0x20000, .count = 13, .d_count = 13, .kinfo = {
		  .region = VCPUSTAT_REGION_MMIO } },
		{ .key = 0x1000, .count = 9 },	/* no region: left out */
		{ .other = true, .count = 7 },	/* "other": left out */
	};
	struct vs_krow *g;
	size_t n;

	T_EQ(vs_krows_regions(rows, 5, &g, &n), 0);
	T_EQ(n, 2);
	T_EQ(g[0].kinfo.region, VCPUSTAT_REGION_MMIO);
	T_EQ(g[0].count, 13);
	T_EQ(g[1].kinfo.slot, 1);
	T_EQ(g[1].count, 5);
	T_EQ(g[1].d_count, 4);
	T_EQ(g[1].key, 0x40000);
	free(g);
}
