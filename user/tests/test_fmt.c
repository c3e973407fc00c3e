// SPDX-License-Identifier: GPL-2.0
/* Unit tests of fmt.c (column formatting) and json.c (the JSON writer). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "harness.h"
#include "json.h"
#include "testutil.h"

T_TEST(fmt_count_units)
{
	char b[FMT_BUF];

	T_STREQ(fmt_count(b, sizeof(b), 0), "0");
	T_STREQ(fmt_count(b, sizeof(b), 999), "999");
	T_STREQ(fmt_count(b, sizeof(b), 1000), "1.00k");
	T_STREQ(fmt_count(b, sizeof(b), 1234), "1.23k");
	T_STREQ(fmt_count(b, sizeof(b), 12345), "12.3k");
	T_STREQ(fmt_count(b, sizeof(b), 123456), "123k");
	/* 999.6k must not print as "1000k" */
	T_STREQ(fmt_count(b, sizeof(b), 999600), "1.00M");
	T_STREQ(fmt_count(b, sizeof(b), 1234567890ull), "1.23G");
	T_STREQ(fmt_count(b, sizeof(b), UINT64_MAX), "18.4E");
}

T_TEST(fmt_rate_and_pct)
{
	char b[FMT_BUF];

	T_STREQ(fmt_rate(b, sizeof(b), 0), "0");
	T_STREQ(fmt_rate(b, sizeof(b), -1), "0");
	T_STREQ(fmt_rate(b, sizeof(b), 0.001), "<0.01");
	T_STREQ(fmt_rate(b, sizeof(b), 0.5), "0.50");
	T_STREQ(fmt_rate(b, sizeof(b), 42), "42");
	T_STREQ(fmt_rate(b, sizeof(b), 42.5), "42.5");
	T_STREQ(fmt_rate(b, sizeof(b), 1850.2), "1.85k");
	T_STREQ(fmt_pct(b, sizeof(b), 1, 3), "33.3");
	T_STREQ(fmt_pct(b, sizeof(b), 5, 0), "-");
	T_STREQ(fmt_pct(b, sizeof(b), 7, 7), "100.0");
}

T_TEST(fmt_durations)
{
	char b[FMT_BUF];

	T_STREQ(fmt_ns(b, sizeof(b), 0), "0");
	T_STREQ(fmt_ns(b, sizeof(b), 850), "850ns");
	T_STREQ(fmt_ns(b, sizeof(b), 999), "999ns");
	T_STREQ(fmt_ns(b, sizeof(b), 1000), "1.00us");
	T_STREQ(fmt_ns(b, sizeof(b), 1234), "1.23us");
	T_STREQ(fmt_ns(b, sizeof(b), 45600000), "45.6ms");
	T_STREQ(fmt_ns(b, sizeof(b), 2000000000ull), "2.00s");
	T_STREQ(fmt_ns(b, sizeof(b), 3600ull * 1000000000ull), "3600s");
	T_STREQ(fmt_ns_d(b, sizeof(b), 999.7), "1.00us");
	T_STREQ(fmt_ns_d(b, sizeof(b), 5.5), "5.50ns");
	T_STREQ(fmt_age(b, sizeof(b), 45ull * 1000000000ull), "45s");
	T_STREQ(fmt_age(b, sizeof(b), 723ull * 1000000000ull), "12m03s");
	T_STREQ(fmt_age(b, sizeof(b), 11040ull * 1000000000ull), "3h04m");
	T_STREQ(fmt_age(b, sizeof(b), 439200ull * 1000000000ull), "5d02h");
}

T_TEST(fmt_bytes_group_safe)
{
	char b[FMT_BUF];

	T_STREQ(fmt_bytes(b, sizeof(b), 512), "512");
	T_STREQ(fmt_bytes(b, sizeof(b), 2048ull * 1024), "2M");
	T_STREQ(fmt_bytes(b, sizeof(b), 1536), "1.5K");
	T_STREQ(fmt_bytes(b, sizeof(b), 1ull << 30), "1G");
	T_STREQ(fmt_group(b, sizeof(b), 0), "0");
	T_STREQ(fmt_group(b, sizeof(b), 999), "999");
	T_STREQ(fmt_group(b, sizeof(b), 12345678), "12,345,678");
	T_STREQ(fmt_safe(b, sizeof(b), "qemu\033[2J\n\xff"), "qemu?[2J??");
	/* truncation always terminates */
	T_STREQ(fmt_safe(b, 5, "abcdefgh"), "abcd");
	T_STREQ(fmt_count(b, 3, 123456), "12");
}

static char *render(void (*fn)(struct jw *w), bool pretty)
{
	struct t_jw_mem m;
	char *s;

	fn(t_jw_open(&m, pretty));
	s = t_jw_close(&m);
	T_EQ(m.end, 0);
	return s;
}

static void doc_escapes(struct jw *w)
{
	jw_obj_open(w);
	jw_kstr(w, "q", "a\"b\\c/d");
	jw_kstr(w, "ctl", "\n\t\r\b\f\x01\x1f");
	jw_kstr(w, "utf8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	jw_kstr(w, "bad", "x\xff\xc3(\xed\xa0\x80y");	/* invalid, surrogate */
	jw_kstr(w, "trunc", "\xe2\x82");			/* cut sequence */
	jw_key(w, "arr");
	jw_arr_open(w);
	jw_u64(w, UINT64_MAX);
	jw_i64(w, INT64_MIN);
	jw_double(w, 0.5);
	jw_double(w, INFINITY);
	jw_bool(w, true);
	jw_null(w);
	jw_arr_open(w);
	jw_arr_close(w);
	jw_obj_open(w);
	jw_obj_close(w);
	jw_arr_close(w);
	jw_obj_close(w);
}

T_TEST(json_writer_escaping)
{
	char *s = render(doc_escapes, false);

	T_ASSERT(strstr(s, "\"q\":\"a\\\"b\\\\c/d\""));
	T_ASSERT(strstr(s, "\"ctl\":\"\\n\\t\\r\\b\\f\\u0001\\u001f\""));
	T_ASSERT(strstr(s, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
	T_ASSERT(strstr(s, "\"bad\":\"x\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffdy\""));
	T_ASSERT(strstr(s, "\"trunc\":\"\\ufffd\\ufffd\""));
	T_ASSERT(strstr(s, "[18446744073709551615,-9223372036854775808,0.5,null,true,null,[],{}]"));
	T_ASSERT(t_json_valid(s, false));
	free(s);
	s = render(doc_escapes, true);
	T_ASSERT(strstr(s, "\n  \"q\": "));
	T_ASSERT(t_json_valid(s, false));
	free(s);
}

static void doc_unbalanced(struct jw *w)
{
	jw_obj_open(w);
	jw_key(w, "a");
}

T_TEST(json_writer_detects_misuse)
{
	struct t_jw_mem m;

	doc_unbalanced(t_jw_open(&m, false));
	free(t_jw_close(&m));
	T_EQ(m.end, -1);
}
