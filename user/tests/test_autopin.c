// SPDX-License-Identifier: GPL-2.0
/*
 * `vcpustat autopin` and `vcpustat pin` end to end through the mock
 * backend (gen/vcpustat-mock, under ASan): option and --config parsing,
 * the event/snapshot loop until SIGTERM, JSON lines, help vs. man page.
 * The real-kernel checks are selftests/autopin_test.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "testutil.h"

static int tool(const char *env_args, char **out)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), "%s", env_args);
	return t_sh(cmd, out, true);
}

T_TEST(autopin_config_file)
{
	char *dir = t_tmpdir(), cmd[1024], *out = NULL;
	struct {
		const char *conf;
		const char *args;
		int rc;
		const char *msg;
	} cases[] = {
		{ "window = x\n", "", 2, ":1: bad value 'x' for --window" },
		{ "# c\n\nbogus = 1\n", "", 2, ":3: unknown option 'bogus'" },
		{ "config = /etc/x\n", "", 2, "not allowed in a config file" },
		{ "dwell\n", "", 2, ":1: 'dwell' needs a value" },
		{ "dry-run = maybe\n", "", 2, "bad value 'maybe' for --dry-run" },
		{ "pid = x\n", "", 2, "bad value 'x' for --pid" },
		/* the command line comes after the file and wins */
		{ "window = 5\n", "--window 0.1", 2, "bad value '0.1' for --window" },
		{ "rq-threshold = 101\n", "", 2, "bad value '101' for --rq-threshold" },
		{ "rq-windows = 0\n", "", 2, "bad value '0' for --rq-windows" },
		/* a valid file: past parsing, -p 424242 (no such process)
		 * selects nothing: exit 1, as in every command */
		{ "window = 2.5 # comment\nmax-migrations=3\nno-smt-share\n"
		  "dry-run = no\nallow-isolated = yes\nkeep\n", "-p 424242", 1,
		  "no VM matches -p 424242" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t_write(dir, "autopin.conf", cases[i].conf);
		snprintf(cmd, sizeof(cmd), "%s autopin --config %s/autopin.conf %s",
			 t_mock_tool(), dir, cases[i].args);
		free(out);
		T_EQ(tool(cmd, &out), cases[i].rc);
		if (!strstr(out, cases[i].msg))
			t_fail(__FILE__, __LINE__, "case %zu: want '%s' in: %s",
			       i, cases[i].msg, out);
	}
	snprintf(cmd, sizeof(cmd), "%s autopin --config %s/nonexistent",
		 t_mock_tool(), dir);
	free(out);
	T_EQ(tool(cmd, &out), 2);
	T_ASSERT(strstr(out, "cannot read config") != NULL);
	free(out);
	t_rmtree(dir);
	free(dir);
}

T_TEST(autopin_bad_options)
{
	const char *bad[] = {
		"autopin --window 0", "autopin --window -1", "autopin --window x",
		"autopin --max-migrations -3", "autopin --dwell 0",
		"autopin --rq-growth nan", "autopin -p", "autopin extra",
		"autopin --nosuch",
	};
	char cmd[512], *out = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s %s", t_mock_tool(), bad[i]);
		free(out);
		if (tool(cmd, &out) != 2)
			t_fail(__FILE__, __LINE__, "'%s' did not exit 2: %s",
			       bad[i], out);
		T_ASSERT(strstr(out, "usage: vcpustat autopin") != NULL);
	}
	free(out);
}

/*
 * The whole loop against the mock: snapshots every window, mock events,
 * SIGTERM after 1.5 s: exit 0, JSON lines only, start first, stop and exit
 * last. The mock's threads are not real (their tids belong to no such
 * process), so nothing is pinned: the tid check keeps it hands off (and
 * --dry-run, in case a machine happens to have such a pid and tid).
 */
T_TEST(autopin_mock_loop_until_sigterm)
{
	char cmd[1024], *out = NULL;
	int rc;

	snprintf(cmd, sizeof(cmd),
		 "VS_MOCK_VMS=2 timeout --preserve-status -k 20 -s TERM 1.5 %s autopin -j -v --dry-run --window 0.5 --max-migrations 0",
		 t_mock_tool());
	rc = tool(cmd, &out);
	T_EQ(rc, 0);
	T_ASSERT(t_json_valid(out, true));
	T_ASSERT(strncmp(out, "{\"time\":\"", 9) == 0);
	T_ASSERT(strstr(out, "\"action\":\"start\"") != NULL);
	T_ASSERT(strstr(out, "\"action\":\"watch\"") != NULL);
	/* the guest's name (QEMU -name; the mock names VM 1 web01) */
	T_ASSERT(strstr(out, "\"action\":\"watch\",\"dry_run\":true,\"vm_id\":1,\"pid\":1000,\"name\":\"web01\",") != NULL);
	T_ASSERT(strstr(out, "\"action\":\"stop\",\"dry_run\":true,\"msg\":\"signal Terminated\"") != NULL);
	T_ASSERT(strstr(out, "0 affinity change(s), 0 restored, 0 failed") != NULL);
	T_ASSERT(strstr(out, "\"action\":\"pin\"") == NULL);
	free(out);

	/* Text mode, dry run, one VM. */
	snprintf(cmd, sizeof(cmd),
		 "VS_MOCK_VMS=1 timeout --preserve-status -k 20 -s INT 1 %s autopin --dry-run --vm 1",
		 t_mock_tool());
	rc = tool(cmd, &out);
	T_EQ(rc, 0);
	T_ASSERT(strstr(out, "start: DRY RUN, nothing will be changed; pids all (one VM)") != NULL);
	T_ASSERT(strstr(out, "stop: signal Interrupt") != NULL);
	free(out);
	/* A --vm that matches nothing is an error, as in every command. */
	snprintf(cmd, sizeof(cmd),
		 "VS_MOCK_VMS=1 timeout -k 20 -s INT 10 %s autopin --dry-run --vm 9",
		 t_mock_tool());
	T_EQ(tool(cmd, &out), 1);
	T_ASSERT(strstr(out, "vcpustat autopin: no VM matches --vm 9") != NULL);
	free(out);

	/* The module refusing: the standard message and exit code. */
	snprintf(cmd, sizeof(cmd), "VS_MOCK_ERR=eperm %s autopin", t_mock_tool());
	rc = tool(cmd, &out);
	T_EQ(rc, 4);
	T_ASSERT(strstr(out, "CAP_NET_ADMIN") != NULL);
	free(out);
}

/* Position of the first line holding @what, or -1. */
static long line_of(const char *out, const char *what)
{
	const char *p = strstr(out, what);
	long n = 0;

	if (!p)
		return -1;
	for (const char *q = out; q < p; q++)
		n += *q == '\n';
	return n;
}

/*
 * The module goes away 0.8 s into the run and is back (a new load) at
 * 2 s (VS_MOCK_GONE): autopin neither exits nor stops; it says so, waits,
 * takes the VMs up again in the new load and still stops cleanly on
 * SIGTERM (RELIABILITY.md F8: it used to exit 1 on ENOENT and
 * EPROTONOSUPPORT).
 */
T_TEST(autopin_mock_module_goes_and_returns)
{
	char cmd[1024], *out = NULL;
	long gone, back, watch2, stop;

	snprintf(cmd, sizeof(cmd),
		 "VS_MOCK_VMS=1 VS_MOCK_GONE=0.8-2 timeout --preserve-status -k 20 -s TERM 3.5 %s autopin -j -v --dry-run --window 0.5",
		 t_mock_tool());
	T_EQ(tool(cmd, &out), 0);
	T_ASSERT(t_json_valid(out, true));
	gone = line_of(out, "\"action\":\"module-gone\"");
	back = line_of(out, "\"action\":\"module-back\"");
	stop = line_of(out, "\"action\":\"stop\"");
	if (gone < 0 || back < 0 || stop < 0)
		t_fail(__FILE__, __LINE__, "gone %ld back %ld stop %ld in: %s",
		       gone, back, stop, out);
	T_ASSERT(gone < back && back < stop);
	/* one gone and one back: the wait does not flap */
	T_ASSERT(strstr(strstr(out, "module-gone") + 1, "module-gone") == NULL);
	T_ASSERT(strstr(strstr(out, "module-back") + 1, "module-back") == NULL);
	T_ASSERT(strstr(out, "went away (No such file or directory); keeping 0 pin(s), waiting for it") ||
		 strstr(out, "went away (Protocol not supported); keeping 0 pin(s), waiting for it"));
	/* the new load's VM is watched again after the return */
	watch2 = line_of(out + strlen(out) - strlen(strstr(out, "module-back")),
			 "\"action\":\"watch\"");
	T_ASSERT(watch2 >= 0);
	T_ASSERT(strstr(out, "0 affinity change(s), 0 restored, 0 failed") != NULL);
	free(out);

	/* Not there at start: like every command, exit 3 (the unit's
	 * ExecStartPre loads it; RestartPreventExitStatus=3). */
	snprintf(cmd, sizeof(cmd), "VS_MOCK_GONE=0-60 %s autopin --dry-run",
		 t_mock_tool());
	T_EQ(tool(cmd, &out), 3);
	T_ASSERT(strstr(out, "kernel module not loaded") != NULL);
	free(out);
}

/* -P 0: the VMs whose creator KVM never recorded (userspace_pid 0). */
T_TEST(autopin_pid_zero)
{
	char cmd[1024], *out = NULL;

	snprintf(cmd, sizeof(cmd),
		 "VS_MOCK_PID0=1 VS_MOCK_VMS=2 timeout --preserve-status -k 20 -s TERM 1 %s autopin -j -v --dry-run -P 0",
		 t_mock_tool());
	T_EQ(tool(cmd, &out), 0);
	T_ASSERT(strstr(out, "\"msg\":\"DRY RUN, nothing will be changed; pids 0, window") != NULL);
	T_ASSERT(strstr(out, "\"action\":\"watch\",\"dry_run\":true,\"vm_id\":1,\"pid\":0,") != NULL);
	T_ASSERT(strstr(out, "\"vm_id\":2") == NULL);
	free(out);
}

T_TEST(pin_mock_errors)
{
	char cmd[512], *out = NULL;

	/* A pid the module does not report as running a VM: exit 1. */
	snprintf(cmd, sizeof(cmd), "VS_MOCK_VMS=2 %s pin -p 424242 0 0",
		 t_mock_tool());
	T_EQ(tool(cmd, &out), 1);
	T_ASSERT(strstr(out, "vcpustat pin: no VM matches -p 424242") != NULL);
	free(out);
	/* Usage errors before any request. */
	snprintf(cmd, sizeof(cmd), "%s pin 0 0", t_mock_tool());
	T_EQ(tool(cmd, &out), 2);
	T_ASSERT(strstr(out, "give -p PID") != NULL);
	free(out);
	snprintf(cmd, sizeof(cmd), "%s pin -P 1 0", t_mock_tool());
	T_EQ(tool(cmd, &out), 2);
	T_ASSERT(strstr(out, "VCPU needs a CPULIST") != NULL);
	free(out);
	snprintf(cmd, sizeof(cmd), "%s pin -P 1 --emulator", t_mock_tool());
	T_EQ(tool(cmd, &out), 2);
	free(out);
	snprintf(cmd, sizeof(cmd), "%s pin -P 1 x 0", t_mock_tool());
	T_EQ(tool(cmd, &out), 2);
	T_ASSERT(strstr(out, "bad VCPU \"x\"") != NULL);
	free(out);
	snprintf(cmd, sizeof(cmd), "%s pin -P 1 0 0-3:5/4", t_mock_tool());
	T_EQ(tool(cmd, &out), 2);
	T_ASSERT(strstr(out, "need 0 < used <= group size") != NULL);
	free(out);
}

/* Every long option of autopin --help is in the man page. */
T_TEST(autopin_options_in_man_page)
{
	const char *man = t_env("VS_MAN", "vcpustat.8");
	char cmd[512], *help = NULL, *page = NULL, *p;

	snprintf(cmd, sizeof(cmd), "%s autopin --help", t_mock_tool());
	T_EQ(tool(cmd, &help), 0);
	snprintf(cmd, sizeof(cmd), "cat %s", man);
	T_EQ(t_sh(cmd, &page, false), 0);
	for (p = strstr(help, "--"); p; p = strstr(p + 2, "--")) {
		char opt[64], roff[160];
		size_t n = 0, k = 0;

		while (n < sizeof(opt) - 1 &&
		       ((p[n] >= 'a' && p[n] <= 'z') || p[n] == '-'))
			opt[n] = p[n], n++;
		opt[n] = '\0';
		if (n < 4)
			continue;
		/* roff writes each '-' as "\-" */
		for (size_t i = 0; i < n && k < sizeof(roff) - 3; i++) {
			if (opt[i] == '-')
				roff[k++] = '\\';
			roff[k++] = opt[i];
		}
		roff[k] = '\0';
		if (!strstr(page, roff))
			t_fail(__FILE__, __LINE__, "%s of autopin --help is not in %s",
			       opt, man);
	}
	free(help);
	free(page);
}
