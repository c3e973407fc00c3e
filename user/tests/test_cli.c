// SPDX-License-Identifier: GPL-2.0
/*
 * Command line: prefix matching, number/interval parsing, exit codes of
 * the real binary (built with ASan/UBSan), the error path without the
 * module, extack display (through the mock backend), --help for every
 * command, and --help versus the man page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"
#include "harness.h"
#include "snapshot.h"
#include "testutil.h"
#include "view.h"

T_TEST(cli_prefix_matching)
{
	const struct vs_cmd *c;
	bool amb;

	c = vs_cmd_find("list", &amb);
	T_ASSERT(c && !strcmp(c->name, "list"));
	c = vs_cmd_find("l", &amb);
	T_ASSERT(c && !strcmp(c->name, "list") && !amb);
	c = vs_cmd_find("to", &amb);
	T_ASSERT(c && !strcmp(c->name, "top"));
	c = vs_cmd_find("w", &amb);
	T_ASSERT(c && !strcmp(c->name, "watch"));
	c = vs_cmd_find("ho", &amb);
	T_ASSERT(c && !strcmp(c->name, "host"));
	/* s: stat only (no other command starts with s) */
	c = vs_cmd_find("s", &amb);
	T_ASSERT(c && !strcmp(c->name, "stat"));
	c = vs_cmd_find("", &amb);
	T_ASSERT(!c && !amb);
	c = vs_cmd_find("listx", &amb);
	T_ASSERT(!c && !amb);
	c = vs_cmd_find("xyz", &amb);
	T_ASSERT(!c && !amb);
	/* "d": dump alone */
	c = vs_cmd_find("d", &amb);
	T_ASSERT(c && !strcmp(c->name, "dump"));
	/* a prefix shared by two commands is ambiguous */
	{
		const struct vs_cmd *all[64];
		size_t n = vs_cmd_all(all, 64);
		bool found = false;

		for (size_t i = 0; i < n && !found; i++)
			for (size_t j = 0; j < n && !found; j++)
				if (i != j && all[i]->name[0] == all[j]->name[0]) {
					char p[2] = { all[i]->name[0], 0 };

					T_ASSERT(!vs_cmd_find(p, &amb) && amb);
					found = true;
				}
		T_ASSERT(n >= 8);
	}
}

T_TEST(cli_number_parsing)
{
	uint64_t v;
	uint32_t u;
	double d;

	T_EQ(vs_parse_u64("0", &v), 0);
	T_EQ(v, 0);
	T_EQ(vs_parse_u64("18446744073709551615", &v), 0);
	T_ASSERT(v == UINT64_MAX);
	T_EQ(vs_parse_u64("18446744073709551616", &v), -1);
	T_EQ(vs_parse_u64("-1", &v), -1);
	T_EQ(vs_parse_u64(" 1", &v), -1);
	T_EQ(vs_parse_u64("1x", &v), -1);
	T_EQ(vs_parse_u64("", &v), -1);
	T_EQ(vs_parse_u64("0x10", &v), 0);
	T_EQ(v, 16);
	T_EQ(vs_parse_u32("4294967295", &u), 0);
	T_EQ(vs_parse_u32("4294967296", &u), -1);
	T_EQ(vs_parse_seconds("0.5", &d), 0);
	T_ASSERT(d == 0.5);
	T_EQ(vs_parse_seconds(".25", &d), 0);
	T_EQ(vs_parse_seconds("0", &d), -1);
	T_EQ(vs_parse_seconds("-1", &d), -1);
	T_EQ(vs_parse_seconds("nan", &d), -1);
	T_EQ(vs_parse_seconds("inf", &d), -1);
	T_EQ(vs_parse_seconds("1e9", &d), -1);
	T_EQ(vs_parse_seconds("2s", &d), -1);
	/* decimal: a leading zero is never octal (issue 17) */
	T_EQ(vs_parse_u64("010", &v), 0);
	T_EQ(v, 10);
	T_EQ(vs_parse_u64("08", &v), 0);
	T_EQ(v, 8);
	T_EQ(vs_parse_u64("0X1f", &v), 0);
	T_EQ(v, 31);
	T_EQ(vs_parse_u64("0x", &v), -1);
	T_EQ(vs_parse_u64("0x-1", &v), -1);
	T_EQ(vs_parse_u64("0x 1", &v), -1);
	T_EQ(vs_parse_seconds("010", &d), 0);
	T_ASSERT(d == 10);
	T_EQ(vs_parse_seconds("0x1p3", &d), -1);
	T_EQ(vs_parse_seconds("1.2.3", &d), -1);
	T_EQ(vs_parse_seconds(".", &d), -1);
	T_EQ(vs_parse_decimal("0", &d), 0);
	T_ASSERT(d == 0);
	T_EQ(vs_parse_decimal("012.5", &d), 0);
	T_ASSERT(d == 12.5);
	T_EQ(vs_parse_decimal("0x10", &d), -1);
	T_EQ(vs_parse_decimal("1e2", &d), -1);
	T_EQ(vs_parse_decimal("-1", &d), -1);
}

T_TEST(cli_interval_count)
{
	char *a[] = { "stat", "2", "5", "extra", NULL };
	double iv = 1;
	uint64_t cnt = 0;

	T_EQ(vs_parse_interval(1, a, 1, &iv, &cnt), 0);
	T_ASSERT(iv == 1 && cnt == 0);
	T_EQ(vs_parse_interval(2, a, 1, &iv, &cnt), 0);
	T_ASSERT(iv == 2 && cnt == 0);
	T_EQ(vs_parse_interval(3, a, 1, &iv, &cnt), 0);
	T_ASSERT(iv == 2 && cnt == 5);
	T_EQ(vs_parse_interval(4, a, 1, &iv, &cnt), -1);
	{
		/* "stat 0.1 010" is ten reports, not eight */
		char *o[] = { "stat", "0.1", "010", NULL };

		T_EQ(vs_parse_interval(3, o, 1, &iv, &cnt), 0);
		T_EQ(cnt, 10);
	}
	{
		char *b[] = { "stat", "x", NULL };

		T_EQ(vs_parse_interval(2, b, 1, &iv, &cnt), -1);
	}
}

T_TEST(cli_sort_keys)
{
	T_EQ(rsort_parse("count"), RS_COUNT);
	T_EQ(rsort_parse("rate"), RS_RATE);
	T_EQ(rsort_parse("r"), RS_RATE);
	T_EQ(rsort_parse("ti"), RS_TIME);
	T_EQ(rsort_parse("a"), RS_AVG);
	T_EQ(rsort_parse("m"), RS_MAX);
	T_EQ(rsort_parse("n"), RS_NAME);
	T_EQ(rsort_parse("x"), -1);
	T_EQ(rsort_parse(""), -1);
}

static int run(const char *tool, const char *args, char **out)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "%s %s", tool, args);
	return t_sh(cmd, out, true);
}

static bool module_present(void)
{
	return access("/sys/module/vcpustat", F_OK) == 0;
}

T_TEST(cli_no_module_exit_3)
{
	static const char *const cmds[] = { "list", "l", "dump -j", "top -b -n 1",
		"stat 1 1", "watch -c 1", "config", "reset" };
	char *out;

	if (module_present())
		T_SKIP("vcpustat module loaded on this machine");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		int st = run(t_tool(), cmds[i], &out);

		if (st != 3 || !strstr(out, "vcpustat: kernel module not loaded (try: modprobe vcpustat)"))
			t_diag("'%s' -> %d: %s", cmds[i], st, out);
		T_EQ(st, 3);
		T_ASSERT(strstr(out, "vcpustat: kernel module not loaded (try: modprobe vcpustat)\n"));
		free(out);
	}
	/* host still reports, and says so */
	T_EQ(run(t_tool(), "host", &out), 0);
	T_ASSERT(strstr(out, "skipped: vcpustat module not loaded"));
	free(out);
}

/*
 * -P 0 selects the VMs whose creator KVM never recorded (userspace_pid
 * 0); "no -P" selects every VM. The module refuses a PID filter of 0, so
 * the tool filters those itself (issue 14 item 8).
 */
T_TEST(cli_pid_zero_filter)
{
	struct vs_global g = { 0 };
	struct vs_filter f, none = { 0 }, five = { .pid = 5 };
	struct vs_snapshot s;
	char *out;

	vs_global_filter(&g, &f);
	T_ASSERT(!f.has_pid && !f.pid);
	T_EQ(vs_global_opt(&g, 'P', "0"), 1);
	T_ASSERT(g.has_pid && g.pid == 0);
	vs_global_filter(&g, &f);
	T_ASSERT(f.has_pid && f.pid == 0);

	T_ASSERT(vs_filter_pid_ok(NULL, 0) && vs_filter_pid_ok(NULL, 7));
	T_ASSERT(vs_filter_pid_ok(&none, 0) && vs_filter_pid_ok(&none, 7));
	T_ASSERT(vs_filter_pid_ok(&f, 0) && !vs_filter_pid_ok(&f, 7));
	T_ASSERT(vs_filter_pid_ok(&five, 5) && !vs_filter_pid_ok(&five, 0));

	/* what vs_snapshot_get() applies: 3 VMs, the second of pid 0 */
	t_snapshot(&s, 3, 2);
	s.vms[1].pid = 0;
	vs_snapshot_filter_pid(&s, &none);
	T_EQ(s.nr_vms, 3);
	vs_snapshot_filter_pid(&s, &f);
	T_EQ(s.nr_vms, 1);
	T_EQ(s.vms[0].id, 2);
	T_EQ(s.vms[0].nr_vcpus, 2);
	vs_snapshot_free(&s);

	/* end to end (mock backend): list -P 0 shows that VM only, and
	 * without one it is a selection of nothing (exit 1) */
	T_EQ(run(t_mock_tool(), "list -P 0", &out), 1);
	T_ASSERT(strstr(out, "vcpustat list: no VM matches -p 0\n"));
	free(out);
	setenv("VS_MOCK_PID0", "1", 1);
	setenv("VS_MOCK_VMS", "3", 1);
	T_EQ(run(t_mock_tool(), "-P 0 list", &out), 0);
	unsetenv("VS_MOCK_PID0");
	unsetenv("VS_MOCK_VMS");
	T_ASSERT(strstr(out, "\n1    0       qemu-system-x86 web01              0 "));
	T_ASSERT(!strstr(out, "\n2 ") && !strstr(out, "\n3 "));
	free(out);
}

T_TEST(cli_usage_errors_exit_2)
{
	static const char *const bad[] = { "", "bogus", "h", "list --bogus",
		"list 0", "list 1 x", "stat -1", "stat 1 2 3", "top -s bogus",
		"top -d 0.01", "top -n 0", "watch -c 0", "watch -t 0",
		"watch -e nope", "dump extra", "--pid -1 list", "--pid x list",
		"--vm x list", "config nokey=1", "config timing=maybe",
		"stat --csv -j", "help nosuch", "host extra" };
	char *out;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int st = run(t_tool(), bad[i], &out);

		if (st != 2) {
			t_diag("'%s' -> %d: %s", bad[i], st, out);
			free(out);
			T_EQ(st, 2);
		}
		/* every usage error says what to do next */
		if (!strstr(out, "sage") && !strstr(out, "Try")) {
			t_diag("'%s': no usage hint: %s", bad[i], out);
			free(out);
			T_ASSERT(0);
		}
		free(out);
	}
}

T_TEST(cli_help_every_command)
{
	const struct vs_cmd *all[64];
	size_t n = vs_cmd_all(all, 64);
	char *out, args[128];

	T_EQ(run(t_tool(), "--help", &out), 0);
	T_ASSERT(strstr(out, "Exit status:"));
	T_ASSERT(strstr(out, "3  the vcpustat kernel module is not loaded"));
	T_ASSERT(strstr(out, "4  permission denied: needs CAP_NET_ADMIN"));
	free(out);
	T_EQ(run(t_tool(), "help", &out), 0);
	free(out);
	T_EQ(run(t_tool(), "--version", &out), 0);
	T_ASSERT(!strncmp(out, "vcpustat ", 9));
	T_ASSERT(strstr(out, VCPUSTAT_VERSION));
	free(out);
	for (size_t i = 0; i < n; i++) {
		char *out2;

		snprintf(args, sizeof(args), "%s --help", all[i]->name);
		T_EQ(run(t_tool(), args, &out), 0);
		T_ASSERT(strlen(out) > 40);
		snprintf(args, sizeof(args), "help %s", all[i]->name);
		T_EQ(run(t_tool(), args, &out2), 0);
		T_STREQ(out, out2);
		free(out2);
		/* global options after the command name, and -h */
		snprintf(args, sizeof(args), "%s -h", all[i]->name);
		T_EQ(run(t_tool(), args, &out2), 0);
		T_STREQ(out, out2);
		free(out2);
		free(out);
	}
	/* a prefix works for help too */
	T_EQ(run(t_tool(), "help l", &out), 0);
	T_ASSERT(strstr(out, "vcpustat list"));
	free(out);
}

T_TEST(cli_help_commands_in_man_page)
{
	const char *man = t_env("VS_MAN", "vcpustat.8");
	char *help, *page, *p, cmd[256];
	int n = 0;

	snprintf(cmd, sizeof(cmd), "cat %s", man);
	T_EQ(t_sh(cmd, &page, false), 0);
	T_EQ(run(t_tool(), "--help", &help), 0);
	p = strstr(help, "Commands:\n");
	T_ASSERT(p);
	p = strchr(p, '\n') + 1;
	/* "  name     summary" lines until the blank line */
	while (p[0] == ' ' && p[1] == ' ') {
		char name[32], needle[64], needle2[64];

		T_EQ(sscanf(p, " %31s", name), 1);
		/* a .SS heading whose first word is the command */
		snprintf(needle, sizeof(needle), "\n.SS %s", name);
		snprintf(needle2, sizeof(needle2), "\n.SS \"%s", name);
		if (strcmp(name, "help")) {
			bool ok = false;

			for (const char *q = page; !ok && (q = strstr(q, "\n.SS ")); q++) {
				const char *w = q + 5;

				if (*w == '"')
					w++;
				ok = !strncmp(w, name, strlen(name)) &&
				     strchr(" \"\n", w[strlen(name)]);
			}
			if (!ok)
				t_diag("command '%s' has no .SS section in %s",
				       name, man);
			T_ASSERT(ok);
			n++;
		}
		p = strchr(p, '\n') + 1;
	}
	T_ASSERT(n >= 8);
	/* exit codes are documented */
	T_ASSERT(strstr(page, ".SH EXIT STATUS"));
	T_ASSERT(strstr(page, "modprobe vcpustat"));
	T_ASSERT(strstr(page, "CAP_NET_ADMIN"));
	free(help);
	free(page);
}

T_TEST(cli_kernel_errors_shown)
{
	char *out;
	int st;

	/* EPERM from the kernel -> exit 4, and its extack message */
	setenv("VS_MOCK_ERR", "eperm", 1);
	st = run(t_mock_tool(), "list", &out);
	T_EQ(st, 4);
	T_ASSERT(strstr(out, "vcpustat: permission denied: needs CAP_NET_ADMIN\n"));
	T_ASSERT(strstr(out, "vcpustat: kernel reports: mock: operation needs CAP_NET_ADMIN\n"));
	free(out);
	st = run(t_mock_tool(), "watch -c 1", &out);
	T_EQ(st, 4);
	free(out);
	/* other errors -> exit 1, with the message */
	setenv("VS_MOCK_ERR", "einval", 1);
	st = run(t_mock_tool(), "config snapshot_ms=5", &out);
	T_EQ(st, 1);
	T_ASSERT(strstr(out, "vcpustat: changing the configuration: Invalid argument\n"));
	T_ASSERT(strstr(out, "vcpustat: kernel reports: mock: snapshot_ms out of range\n"));
	free(out);
	unsetenv("VS_MOCK_ERR");
	T_EQ(run(t_mock_tool(), "config snapshot_ms=500 timing=off migr_rate=0", &out), 0);
	free(out);
	T_EQ(run(t_mock_tool(), "config heartbeat_ms=500", &out), 0);
	T_ASSERT(strstr(out, "heartbeat_ms     0 (none)\n"));
	free(out);
	T_EQ(run(t_mock_tool(), "reset --vm 1", &out), 0);
	free(out);
	T_EQ(run(t_mock_tool(), "reset -P 1000", &out), 0);
	free(out);
	T_EQ(run(t_mock_tool(), "reset -P 4242", &out), 1);
	T_ASSERT(strstr(out, "vcpustat reset: no VM matches -p 4242\n"));
	free(out);
}
