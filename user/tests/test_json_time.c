// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 17: every JSON record of every command carries the same time keys
 * ("time", RFC 3339 UTC; "mono_ns", CLOCK_MONOTONIC), none of the old ones
 * (timestamp_ns, timestamp, ts), and counters are cumulative under their
 * plain name and per-interval deltas under "<name>_delta".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "stamp.h"
#include "testutil.h"

/* Every line (or the one document) parses and has the keys. */
static const char *time_py =
"import json,re,sys,time\n"
"txt=sys.stdin.read()\n"
"recs=[json.loads(l) for l in txt.splitlines() if l.strip()] if sys.argv[1]==\"lines\" else [json.loads(txt)]\n"
"assert recs\n"
"now=time.time()\n"
"for r in recs:\n"
"    for old in (\"timestamp_ns\",\"timestamp\",\"ts\"): assert old not in r,(old,r)\n"
"    t=r[\"time\"]\n"
"    assert re.fullmatch(r\"\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}Z\",t),t\n"
"    import datetime\n"
"    w=datetime.datetime.strptime(t,\"%Y-%m-%dT%H:%M:%S.%fZ\").replace(tzinfo=datetime.timezone.utc).timestamp()\n"
"    assert abs(w-now)<60,(t,now)\n"
"    assert type(r[\"mono_ns\"]) is int and r[\"mono_ns\"]>0\n";

static void check_cmd(const char *args, bool lines)
{
	char cmd[1024], *out;
	int st;

	snprintf(cmd, sizeof(cmd), "VS_MOCK_VMS=2 %s %s", t_mock_tool(), args);
	T_EQ(t_sh(cmd, &out, false), 0);
	{
		char *py;
		char path[] = "/tmp/vstime-XXXXXX";
		int fd = mkstemp(path);

		T_ASSERT(fd >= 0);
		T_ASSERT(write(fd, out, strlen(out)) == (ssize_t)strlen(out));
		close(fd);
		T_ASSERT(asprintf(&py, "%s -c '%s' %s < %s",
				  t_env("VS_PYTHON", "python3"), time_py,
				  lines ? "lines" : "doc", path) > 0);
		st = t_sh(py, NULL, false);
		free(py);
		unlink(path);
	}
	if (st)
		t_fail(__FILE__, __LINE__, "'%s': time keys wrong in: %.400s",
		       args, out);
	free(out);
}

T_TEST(json_time_keys_every_command)
{
	check_cmd("dump -j", false);
	check_cmd("list -j --sample 0", false);
	check_cmd("list -j 0.1 2", true);
	check_cmd("top -j -n 2 -d 0.1", true);
	check_cmd("stat -j 0.1 2", true);
	check_cmd("stat -t -j 0.1 1", true);
	check_cmd("watch -j -c 5", true);
	check_cmd("config -j", false);
	check_cmd("host -j", false);
}

T_TEST(json_time_rfc3339_of_mono)
{
	char a[48], b[48], both[100];

	/* two instants 1.5 s apart on the monotonic clock are 1.5 s apart
	 * on the wall clock they are rendered in */
	vs_rfc3339(a, sizeof(a), 10000000000ull);
	vs_rfc3339(b, sizeof(b), 11500000000ull);
	T_EQ(strlen(a), 27);
	T_ASSERT(a[26] == 'Z' && a[10] == 'T' && a[19] == '.');
	snprintf(both, sizeof(both), "%s %s", a, b);
	T_EQ(t_python("import datetime,sys\n"
		      "a,b=sys.stdin.read().split()\n"
		      "f=lambda s: datetime.datetime.strptime(s,\"%Y-%m-%dT%H:%M:%S.%fZ\")\n"
		      "d=(f(b)-f(a)).total_seconds()\n"
		      "assert abs(d-1.5)<2e-6,d\n", both), 0);
}

/* Cumulative under the plain name, deltas under "_delta", everywhere. */
T_TEST(json_counter_names)
{
	char cmd[512], *out;

	snprintf(cmd, sizeof(cmd), "VS_MOCK_VMS=2 %s stat -j 0.1 1", t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	T_ASSERT(strstr(out, "\"exits_delta\":") && !strstr(out, "\"exits\":"));
	T_ASSERT(strstr(out, "\"migrations_delta\":") && !strstr(out, "\"migrations\":"));
	T_ASSERT(strstr(out, "\"exit_time_ns_delta\":"));
	free(out);
	snprintf(cmd, sizeof(cmd), "VS_MOCK_VMS=2 %s watch -j -e delta -c 1", t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	T_ASSERT(strstr(out, "\"exits_delta\":") && !strstr(out, "\"exits\":"));
	T_ASSERT(strstr(out, "\"count_delta\":") && !strstr(out, "\"count\":"));
	T_ASSERT(strstr(out, "\"hist_delta\":"));
	free(out);
	snprintf(cmd, sizeof(cmd), "VS_MOCK_VMS=2 %s top -j -n 1 -d 0.1", t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	T_ASSERT(strstr(out, "\"count\":") && strstr(out, "\"count_delta\":"));
	T_ASSERT(strstr(out, "\"exits\":") && strstr(out, "\"exits_delta\":"));
	T_ASSERT(!strstr(out, "\"delta\":"));
	free(out);
	snprintf(cmd, sizeof(cmd), "VS_MOCK_VMS=2 %s dump -j", t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	T_ASSERT(strstr(out, "\"exits\":") && !strstr(out, "_delta\":"));
	free(out);
}
