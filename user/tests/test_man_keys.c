// SPDX-License-Identifier: GPL-2.0
/*
 * vcpustat(8) documents every JSON key of every command (issue 17): the
 * keys of each command's real output (mock backend) must each appear in
 * the man page as a bold word (".B key", ".BR key ,", "(\fBkey").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "testutil.h"

static const char *keys_py =
"import json,re,sys\n"
"man=open(sys.argv[1]).read().replace(\"\\\\-\",\"-\")\n"
"bold=set(re.findall(r\"^\\.B[R]? ([a-z_0-9]+)\",man,re.M))\n"
"bold|=set(re.findall(r\"^\\.RB \\( ?([a-z_0-9]+)\",man,re.M))\n"
"keys=set()\n"
"def walk(o):\n"
"    if isinstance(o,dict):\n"
"        for k,v in o.items(): keys.add(k); walk(v)\n"
"    elif isinstance(o,list):\n"
"        for v in o: walk(v)\n"
"for l in sys.stdin.read().splitlines():\n"
"    l=l.strip()\n"
"    if l.startswith(\"{\"): walk(json.loads(l))\n"
"missing=sorted(k for k in keys if k not in bold)\n"
"assert keys, \"no keys\"\n"
"assert not missing, missing\n";

static void check(const char *args)
{
	char cmd[1024], *out, *py;
	char path[] = "/tmp/vsman-XXXXXX";
	int fd, st;

	/* compact JSON: one record per line, also for dump/list/host */
	if (!strncmp(args, "timeout", 7))	/* a whole command line */
		snprintf(cmd, sizeof(cmd), "%s", args);
	else
		snprintf(cmd, sizeof(cmd), "VS_MOCK_VMS=2 %s %s", t_mock_tool(),
			 args);
	t_sh(cmd, &out, false);
	fd = mkstemp(path);
	T_ASSERT(fd >= 0);
	T_ASSERT(write(fd, out, strlen(out)) == (ssize_t)strlen(out));
	close(fd);
	T_ASSERT(asprintf(&py, "%s -c '%s' %s < %s",
			  t_env("VS_PYTHON", "python3"), keys_py,
			  t_env("VS_MAN", "vcpustat.8"), path) > 0);
	st = t_sh(py, NULL, true);
	free(py);
	unlink(path);
	if (st)
		t_fail(__FILE__, __LINE__, "'%s': keys missing from vcpustat(8)",
		       args);
	free(out);
}

T_TEST(man_documents_every_json_key)
{
	check("dump -j");
	check("list -j");
	check("top -j -n 1 -d 0.1");
	check("stat -t -j 0.1 1");
	check("stat -j 0.1 1");
	check("watch -j -c 9");
	check("config -j");
	check("host -j");
	{
		char a[512];

		snprintf(a, sizeof(a), "timeout --preserve-status -k 10 -s TERM 1.5 "
			 "env VS_MOCK_VMS=2 %s autopin -j -v --dry-run "
			 "--window 0.5 --max-migrations 0", t_mock_tool());
		check(a);
	}
}
