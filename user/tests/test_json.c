// SPDX-License-Identifier: GPL-2.0
/*
 * JSON output checked with a real parser (python3's json module): the
 * "dump -j" contract from a synthetic snapshot (keys, types, nulls), and
 * the -j output of every command of the mock-backed binary.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "render.h"
#include "testutil.h"

static char *dump_to_string(const struct vs_snapshot *s, bool pretty,
			    bool with_status)
{
	struct vs_config cfg = { .mask = VS_CFG_SNAPSHOT_MS | VS_CFG_TIMING |
				 VS_CFG_MIGR_RATE, .snapshot_ms = 1000,
				 .timing = true, .migr_rate = 50 };
	struct vs_status st = { .version = "1.2.3", .vms = 2, .vcpus = 4 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	T_ASSERT(f);
	T_EQ(dump_json(f, pretty, s, with_status ? &cfg : NULL,
		       with_status ? &st : NULL), 0);
	fclose(f);
	return buf;
}

/* The documented contract, checked key by key. */
static const char *contract_py =
"import json,sys\n"
"d=json.loads(sys.stdin.read())\n"
"assert d[\"status\"][\"version\"]==\"1.2.3\"\n"
"assert d[\"config\"]=={\"snapshot_ms\":1000,\"timing\":True,\"migr_rate\":50}\n"
"assert len(d[\"vms\"])==2\n"
"vm=d[\"vms\"][0]\n"
"for k in (\"vm_id\",\"pid\",\"comm\",\"stats_id\",\"vcpus\",\"exits\",\"migrations\",\"exit_time_ns\",\"age_ns\",\"untracked_exits\",\"nr_vcpus\"): assert k in vm,k\n"
"assert vm[\"vm_id\"]==1 and vm[\"pid\"]==1234 and vm[\"comm\"]==\"qemu-system-x86\" and vm[\"stats_id\"]==\"kvm-1234\"\n"
"assert d[\"vms\"][1][\"comm\"]==\"bad\\\"\\\\\\n\\u0001\\ufffd\"\n"
"v=vm[\"vcpus\"][0]\n"
"for k in (\"vcpu_id\",\"tid\",\"pcpu\",\"exits\",\"migrations\",\"reasons\",\"exit_time_ns\",\"hist\",\"migrations_by_distance\",\"residency\"): assert k in v,k\n"
"assert v[\"pcpu\"]==0 and vm[\"vcpus\"][1][\"pcpu\"] is None\n"
"assert len(v[\"hist\"])==40 and v[\"hist\"][39]==39\n"
"assert v[\"migrations_by_distance\"]=={\"smt\":1,\"llc\":2,\"node\":3,\"remote\":1}\n"
"assert v[\"residency\"][1]==dict(cpu=3,exits=v[\"exits\"]-v[\"exits\"]//2)\n"
"r={x[\"name\"]:x for x in v[\"reasons\"]}\n"
"assert set(r)=={\"cpuid\",\"io\",\"npf\",\"hlt\",\"other\",\"unknown\",\"0x7ff\"},set(r)\n"
"c=r[\"cpuid\"]\n"
"assert c[\"isa\"]==\"svm\" and c[\"code\"]==114 and c[\"count\"]==1000\n"
"assert c[\"time_sum_ns\"]==500000 and c[\"time_min_ns\"]==100 and c[\"time_max_ns\"]==9000 and c[\"time_avg_ns\"]==500\n"
"h=r[\"hlt\"]\n"
"assert h[\"timed\"]==0 and h[\"time_min_ns\"] is None and h[\"time_max_ns\"] is None and h[\"time_avg_ns\"] is None\n"
"assert r[\"unknown\"][\"code\"] is None and r[\"other\"][\"code\"] is None\n"
"assert sum(x[\"count\"] for x in v[\"reasons\"])==v[\"exits\"]\n";

T_TEST(json_dump_contract)
{
	struct vs_snapshot s;
	char *j;

	t_snapshot(&s, 2, 3);
	j = dump_to_string(&s, false, true);
	T_ASSERT(t_json_valid(j, false));
	T_EQ(t_python(contract_py, j), 0);
	/* compact output is one line */
	T_ASSERT(strchr(j, '\n') == j + strlen(j) - 1);
	free(j);
	j = dump_to_string(&s, true, true);
	T_ASSERT(t_json_valid(j, false));
	T_EQ(t_python(contract_py, j), 0);
	free(j);
	/* without status/config, and with nothing at all */
	j = dump_to_string(&s, false, false);
	T_ASSERT(t_json_valid(j, false));
	T_ASSERT(!strstr(j, "\"status\""));
	free(j);
	vs_snapshot_free(&s);
	t_snapshot(&s, 0, 0);
	j = dump_to_string(&s, false, true);
	T_ASSERT(t_json_valid(j, false));
	T_ASSERT(strstr(j, "\"vms\":[]"));
	free(j);
	vs_snapshot_free(&s);
}

T_TEST(json_dump_text_readable)
{
	struct vs_snapshot s;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	t_snapshot(&s, 2, 2);
	s.consistent = false;
	f = open_memstream(&buf, &len);
	dump_text(f, &s, NULL, NULL);
	fclose(f);
	T_ASSERT(strstr(buf, "VM 1  pid 1234  qemu-system-x86  kvm-1234"));
	T_ASSERT(strstr(buf, "vCPU 1 (idx 1)  tid 1241  pCPU -"));
	T_ASSERT(strstr(buf, "note: VMs came or went"));
	T_ASSERT(strstr(buf, "exit time histogram"));
	T_ASSERT(strstr(buf, "migrations 7 (smt 1, llc 2, node 3, remote 1)"));
	/* control bytes of comm never reach the terminal */
	T_ASSERT(strstr(buf, "bad\"\\??"));
	T_ASSERT(!strchr(buf, '\x01'));
	free(buf);
	vs_snapshot_free(&s);
}

static void mock_json(const char *args, bool lines)
{
	char cmd[512], *out;
	int st;

	snprintf(cmd, sizeof(cmd), "%s %s", t_mock_tool(), args);
	st = t_sh(cmd, &out, false);
	if (st)
		t_diag("'%s' -> %d", cmd, st);
	T_EQ(st, 0);
	if (!t_json_valid(out, lines)) {
		free(out);
		t_fail(__FILE__, __LINE__, "invalid JSON from '%s'", args);
	}
	free(out);
}

T_TEST(json_every_command_mock)
{
	mock_json("dump -j", false);
	mock_json("--pretty dump", false);
	mock_json("dump -j --vm 2 --vcpu 1", false);
	mock_json("list -j --sample 50", false);
	mock_json("list -j --sample 0", false);
	mock_json("-j list 0.1 3", true);
	mock_json("top -j -n 2 -d 0.1", true);
	mock_json("top -j -n 1 -d 0.1 -P 2000 --vcpu 1", true);
	mock_json("stat -j 0.1 2", true);
	mock_json("stat -t -j 0.1 1", true);
	mock_json("watch -j -c 9", true);
	mock_json("config -j", false);
	mock_json("host -j", false);
	mock_json("host --pretty", false);
}

T_TEST(json_watch_reports_lost)
{
	char cmd[512], *out;

	snprintf(cmd, sizeof(cmd), "%s watch -j -c 5", t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	/* the mock skips two sequence numbers before its 4th event */
	T_ASSERT(strstr(out, "{\"type\":\"lost\",\"time\":\""));
	T_ASSERT(strstr(out, ",\"count\":2}"));
	free(out);
	snprintf(cmd, sizeof(cmd), "%s watch -c 5", t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	T_ASSERT(strstr(out, "\nlost 2 events\n"));
	T_ASSERT(strstr(out, " vm-new "));
	T_ASSERT(strstr(out, " migrate "));
	T_ASSERT(strstr(out, "cpu 0 -> 1 (smt)"));
	free(out);
	/* filters: only delta events, only VM 2 (none of those) */
	snprintf(cmd, sizeof(cmd), "%s watch -e delta -c 2", t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	T_ASSERT(!strstr(out, "vm-new") && strstr(out, " delta "));
	free(out);
	snprintf(cmd, sizeof(cmd), "%s watch --vm 2 -e migrate -t 0.3", t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	T_ASSERT(!strstr(out, "migrate"));
	free(out);
}

T_TEST(json_stat_csv_shape)
{
	char cmd[512], *out;

	snprintf(cmd, sizeof(cmd), "%s stat -t --csv 0.1 2", t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	/* 1 header + 2 intervals x 5 vCPUs, each with as many fields; the
	 * columns are named as stat -j's keys (deltas "_delta", the time
	 * keys of every command), the VM's name and UUID as they are, a
	 * name with quotes, a comma and UTF-8 included */
	T_EQ(t_python("import csv,sys,datetime\n"
		      "r=list(csv.reader(sys.stdin))\n"
		      "assert len(r)==11,len(r)\n"
		      "assert all(len(x)==len(r[0])==26 for x in r),r[0]\n"
		      "h=r[0]\n"
		      "assert h[:10]==[\"time\",\"mono_ns\",\"vm_id\",\"pid\",\"comm\",\"name\",\"uuid\",\"vcpu_id\",\"tid\",\"interval_s\"],h\n"
		      "assert h[10:15]==[\"exits_delta\",\"exits_per_sec\",\"migrations_delta\",\"migrations_per_sec\",\"exit_time_ns_delta\"],h\n"
		      "assert h[-7:]==[s+\"_pct\" for s in (\"guest\",\"exit\",\"user\",\"poll\",\"halt\",\"wait\",\"out\")],h\n"
		      "d=[dict(zip(h,x)) for x in r[1:]]\n"
		      "datetime.datetime.strptime(d[0][\"time\"],\"%Y-%m-%dT%H:%M:%S.%fZ\")\n"
		      "assert int(d[0][\"mono_ns\"])>0\n"
		      "v1=[x for x in d if x[\"vm_id\"]==\"1\"]\n"
		      "assert v1 and all(x[\"name\"]==\"web01\" and x[\"uuid\"]==\"5f0c7c1e-4a62-4b55-9d1e-0123456789ab\" for x in v1),v1\n"
		      "v2=[x for x in d if x[\"vm_id\"]==\"2\"]\n"
		      "assert v2 and all(x[\"name\"].startswith(\"db \\\"prod\\\", \\u00fc\") and x[\"uuid\"]==\"\" for x in v2),v2\n"
		      "assert v2[0][\"comm\"]==\"evil\\\"vm\\\\???\",v2[0][\"comm\"]\n"
		      "assert all(x[\"tid\"] for x in d),d\n", out), 0);
	free(out);
}
