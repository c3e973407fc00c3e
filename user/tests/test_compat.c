// SPDX-License-Identifier: GPL-2.0
/*
 * The module/tool version check (issue 17): another protocol version is
 * refused with what to do; another uapi revision is a note on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "harness.h"
#include "testutil.h"

T_TEST(compat_judge)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	T_ASSERT(f);
	T_EQ(vs_compat_judge(VCPUSTAT_GENL_VERSION, VCPUSTAT_A_MAX, NULL, f), VS_COMPAT_OK);
	fflush(f);
	T_EQ(len, 0);
	T_EQ(vs_compat_judge(VCPUSTAT_GENL_VERSION, VCPUSTAT_A_MAX - 1, NULL, f),
	     VS_COMPAT_MODULE_OLDER);
	T_EQ(vs_compat_judge(VCPUSTAT_GENL_VERSION, VCPUSTAT_A_MAX + 1, NULL, f),
	     VS_COMPAT_MODULE_NEWER);
	T_EQ(vs_compat_judge(VCPUSTAT_GENL_VERSION + 1, VCPUSTAT_A_MAX, NULL, f),
	     VS_COMPAT_VERSION);
	/* per-op policies (maxattr 0, as vcpustat's family): the release
	 * string decides; the same release, or none known, is silent */
	T_EQ(vs_compat_judge(VCPUSTAT_GENL_VERSION, 0, VCPUSTAT_VERSION, f),
	     VS_COMPAT_OK);
	T_EQ(vs_compat_judge(VCPUSTAT_GENL_VERSION, 0, "", f), VS_COMPAT_OK);
	T_EQ(vs_compat_judge(VCPUSTAT_GENL_VERSION, 0, "9.9.9", f),
	     VS_COMPAT_RELEASE);
	fclose(f);
	T_ASSERT(strstr(buf, "module is release 9.9.9, this tool " VCPUSTAT_VERSION));
	T_ASSERT(strstr(buf, "module is older than this tool"));
	T_ASSERT(strstr(buf, "module is newer than this tool"));
	T_ASSERT(strstr(buf, "update the tool (make install-tool)"));
	T_ASSERT(strstr(buf, "protocol version 2, this tool"));
	T_ASSERT(strstr(buf, "rmmod vcpustat; modprobe vcpustat"));
	free(buf);
}

T_TEST(compat_cli)
{
	char cmd[512], *out;

	/* another protocol: nothing is decoded, exit 1 with the remedy */
	snprintf(cmd, sizeof(cmd), "VS_MOCK_GENL_VERSION=%d %s list 2>&1",
		 VCPUSTAT_GENL_VERSION + 1, t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 1);
	T_ASSERT(strstr(out, "the loaded module speaks protocol version"));
	T_ASSERT(strstr(out, "modinfo -F version vcpustat"));
	T_ASSERT(!strstr(out, "VM "));
	free(out);
	/* an older module: a note on stderr, the command still works */
	snprintf(cmd, sizeof(cmd), "VS_MOCK_MAXATTR=%d %s dump -j 2>%s",
		 VCPUSTAT_A_MAX - 2, t_mock_tool(), "/dev/null");
	T_EQ(t_sh(cmd, &out, false), 0);
	T_ASSERT(strstr(out, "\"vms\":["));
	free(out);
	snprintf(cmd, sizeof(cmd), "VS_MOCK_MAXATTR=%d %s dump -j 2>&1 >/dev/null",
		 VCPUSTAT_A_MAX - 2, t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	T_ASSERT(strstr(out, "note: the loaded module is older than this tool"));
	free(out);
	/* vcpustat's real family: maxattr 0; the mock's module is release
	 * "0.0.0-mock", not this tool's */
	snprintf(cmd, sizeof(cmd), "VS_MOCK_MAXATTR=0 %s dump -j 2>&1 >/dev/null",
		 t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	T_ASSERT(strstr(out, "note: the loaded module is release 0.0.0-mock, this tool"));
	free(out);
	/* the same build: silent */
	snprintf(cmd, sizeof(cmd), "%s dump -j 2>&1 >/dev/null", t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	T_STREQ(out, "");
	free(out);
}
