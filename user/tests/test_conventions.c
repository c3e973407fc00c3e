// SPDX-License-Identifier: GPL-2.0
/*
 * The conventions every command shares (issue 17), end to end through the
 * mock-backed binary: -p PID selects a process (--pretty indents JSON, -P
 * is an alias), a selection that matches nothing is an error with exit 1
 * in every command, numbers are decimal, write errors exit 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"
#include "harness.h"
#include "testutil.h"

static int run(const char *args, char **out)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "VS_MOCK_VMS=2 %s %s", t_mock_tool(), args);
	return t_sh(cmd, out, true);
}

T_TEST(conv_global_options)
{
	struct vs_global g = { 0 };

	T_EQ(vs_global_opt(&g, 'p', "1234"), 1);
	T_ASSERT(g.has_pid && g.pid == 1234 && !g.json && !g.pretty);
	T_EQ(vs_global_opt(&g, 'P', "010"), 1);
	T_EQ(g.pid, 10);
	T_EQ(vs_global_opt(&g, VS_OPT_PRETTY, NULL), 1);
	T_ASSERT(g.json && g.pretty);
	T_EQ(vs_global_opt(&g, VS_OPT_VM, "010"), 1);
	T_EQ(g.vm_id, 10);
	T_EQ(vs_global_opt(&g, 'g', "web 01"), 1);
	T_STREQ(g.guest, "web 01");
	T_EQ(vs_global_opt(&g, 'g', ""), -1);
}

/* "stat -p 1234" selects pid 1234; it used to be the interval. */
T_TEST(conv_p_is_pid_everywhere)
{
	char *out;

	T_EQ(run("stat -j -p 2000 0.1 1", &out), 0);
	T_ASSERT(strstr(out, "\"pid\":2000"));
	T_ASSERT(!strstr(out, "\"pid\":1000"));
	free(out);
	T_EQ(run("list -j --sample 0 -p 1000", &out), 0);
	T_ASSERT(strstr(out, "\"pid\":1000") && !strstr(out, "\"pid\":2000"));
	free(out);
	/* -P is the same option */
	T_EQ(run("dump -j -P 1000", &out), 0);
	T_ASSERT(strstr(out, "\"pid\":1000") && !strstr(out, "\"pid\":2000"));
	free(out);
	/* --pretty indents; -p no longer means it */
	T_EQ(run("dump --pretty", &out), 0);
	T_ASSERT(strstr(out, "\n  \"vms\": ["));
	free(out);
	T_EQ(run("dump -p", &out), 2);
	free(out);
}

/* The same error and exit code from every command that selects VMs. */
T_TEST(conv_no_match_is_exit_1)
{
	static const char *const cmds[] = {
		"list", "list -j 0.1 1", "dump -j", "top -b -n 1 -d 0.1",
		"top -j -n 1 -d 0.1", "stat 0.1 1", "stat -j 0.1 1",
		"watch -t 0.2", "reset", "pin", "autopin --dry-run",
		"export --once",
	};
	static const char *const sels[][2] = {
		{ "-p 4242", "no VM matches -p 4242" },
		{ "--vm 77", "no VM matches --vm 77" },
		{ "--vm 010", "no VM matches --vm 10" },
		{ "-g nosuch", "no VM matches -g 'nosuch'" },
	};
	char args[256], *out;

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		for (size_t j = 0; j < sizeof(sels) / sizeof(sels[0]); j++) {
			int rc;

			/* autopin checks that a pid is a live process */
			if (!strncmp(cmds[i], "autopin", 7) && j == 0)
				snprintf(args, sizeof(args), "%s -p 4242", cmds[i]);
			else
				snprintf(args, sizeof(args), "%s %s", cmds[i],
					 sels[j][0]);
			rc = run(args, &out);
			if (rc != 1 || !strstr(out, sels[j][1]))
				t_fail(__FILE__, __LINE__,
				       "'%s': exit %d, want 1 and '%s' in: %s",
				       args, rc, sels[j][1], out);
			free(out);
		}
}

T_TEST(conv_top_vcpu_needs_vm)
{
	char *out;

	T_EQ(run("top -b -n 1 --vcpu 0", &out), 2);
	T_ASSERT(strstr(out, "--vcpu needs a VM"));
	free(out);
	T_EQ(run("top -j -n 1 -d 0.1 --vm 1 --vcpu 0", &out), 0);
	free(out);
}

/* `vcpustat CMD >/dev/full` must not report success. */
T_TEST(conv_write_error_exit_1)
{
	static const char *const cmds[] = {
		"list", "list -j", "dump", "dump -j", "top -b -n 1 -d 0.1",
		"stat 0.1 1", "stat -j 0.1 1", "stat --csv 0.1 1",
		"watch -c 2", "host", "host -j", "config", "--help",
		"list --help", "export --once",
	};
	char cmd[512], *out;

	if (access("/dev/full", W_OK))
		T_SKIP("no /dev/full");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		int rc;

		/* stderr to the pipe, stdout to the full device */
		snprintf(cmd, sizeof(cmd), "VS_MOCK_VMS=2 %s %s 2>&1 >/dev/full",
			 t_mock_tool(), cmds[i]);
		rc = t_sh(cmd, &out, false);
		if (rc != 1 || !strstr(out, "vcpustat: write error on standard output"))
			t_fail(__FILE__, __LINE__, "'%s >/dev/full': exit %d: %s",
			       cmds[i], rc, out);
		free(out);
	}
}

/* "other" and "unknown" are names, not hardware codes. */
T_TEST(conv_special_code_null)
{
	char *out;

	T_EQ(run("top -j -n 1 -d 0.1", &out), 0);
	T_EQ(t_python("import json,sys\n"
		      "o=json.loads(sys.stdin.readline())\n"
		      "r={x[\"name\"]:x for x in o[\"reasons\"]}\n"
		      "assert r[\"other\"][\"code\"] is None\n"
		      "assert all(type(x[\"code\"]) is int for n, x in r.items() if n != \"other\")\n",
		      out), 0);
	free(out);
}
