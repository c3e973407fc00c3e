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
	const uint32_t rev = VCPUSTAT_UAPI_REVISION;
	const uint32_t gv = VCPUSTAT_GENL_VERSION;
	char want[128];

	T_ASSERT(f);
	/* the revision is the sum of the enums' _MAX (asserted at build
	 * time); 147 once memslot regions were appended */
	T_ASSERT(rev >= 147);
	T_EQ(vs_compat_judge(gv, 0, "9.9.9", rev, f), VS_COMPAT_OK);
	fflush(f);
	T_EQ(len, 0);
	T_EQ(vs_compat_judge(gv, 0, NULL, rev - 1, f), VS_COMPAT_MODULE_OLDER);
	T_EQ(vs_compat_judge(gv, 0, NULL, rev + 3, f), VS_COMPAT_MODULE_NEWER);
	T_EQ(vs_compat_judge(gv + 1, 0, NULL, rev, f), VS_COMPAT_VERSION);
	/* a family with a global policy: its maxattr */
	T_EQ(vs_compat_judge(gv, VCPUSTAT_A_MAX, NULL, 0, f), VS_COMPAT_OK);
	T_EQ(vs_compat_judge(gv, VCPUSTAT_A_MAX - 1, NULL, 0, f),
	     VS_COMPAT_MODULE_OLDER);
	/* no revision: this release, or nothing known (unprivileged), is
	 * silent; another release predates revisions: older */
	T_EQ(vs_compat_judge(gv, 0, VCPUSTAT_VERSION, 0, f), VS_COMPAT_OK);
	T_EQ(vs_compat_judge(gv, 0, "", 0, f), VS_COMPAT_OK);
	T_EQ(vs_compat_judge(gv, 0, "0.3.0", 0, f), VS_COMPAT_MODULE_OLDER);
	fclose(f);
	snprintf(want, sizeof(want), "older than this tool (uapi revision %u < %u)",
		 rev - 1, rev);
	T_ASSERT(strstr(buf, want));
	snprintf(want, sizeof(want), "newer than this tool (uapi revision %u > %u)",
		 rev + 3, rev);
	T_ASSERT(strstr(buf, want));
	T_ASSERT(strstr(buf, "(maxattr "));
	T_ASSERT(strstr(buf, "module (release 0.3.0) is older than this tool"));
	T_ASSERT(strstr(buf, "reports no uapi revision"));
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
	snprintf(cmd, sizeof(cmd), "VS_MOCK_UAPI_REV=%d %s dump -j 2>%s",
		 VCPUSTAT_UAPI_REVISION - 2, t_mock_tool(), "/dev/null");
	T_EQ(t_sh(cmd, &out, false), 0);
	T_ASSERT(strstr(out, "\"vms\":["));
	free(out);
	snprintf(cmd, sizeof(cmd), "VS_MOCK_UAPI_REV=%d %s dump -j 2>&1 >/dev/null",
		 VCPUSTAT_UAPI_REVISION - 2, t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	T_ASSERT(strstr(out, "note: the loaded module is older than this tool (uapi revision"));
	free(out);
	/* a module before revisions: the mock's release is "0.0.0-mock" */
	snprintf(cmd, sizeof(cmd), "VS_MOCK_UAPI_REV=0 %s dump -j 2>&1 >/dev/null",
		 t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	T_ASSERT(strstr(out, "note: the loaded module (release 0.0.0-mock) is older than this tool"));
	free(out);
	/* the same revision: silent, whatever the release string */
	snprintf(cmd, sizeof(cmd), "%s dump -j 2>&1 >/dev/null", t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	T_STREQ(out, "");
	free(out);
}
