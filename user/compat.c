// SPDX-License-Identifier: GPL-2.0
/*
 * The module/tool version check; see compat.h.
 */
#include <string.h>

#include "cmds.h"
#include "compat.h"

#ifndef VCPUSTAT_VERSION
#define VCPUSTAT_VERSION "0.0.0"
#endif

enum vs_compat vs_compat_judge(uint32_t version, uint32_t maxattr,
			       const char *modver, FILE *f)
{
	if (version != VCPUSTAT_GENL_VERSION) {
		fprintf(f,
			"vcpustat: the loaded module speaks protocol version %u, this tool (%s) version %u\n"
			"vcpustat: install the module and the tool of one release: check 'modinfo -F version vcpustat' and 'vcpustat -V', then 'dkms install vcpustat/<version>' (or make install) and 'rmmod vcpustat; modprobe vcpustat'\n",
			version, VCPUSTAT_VERSION, VCPUSTAT_GENL_VERSION);
		return VS_COMPAT_VERSION;
	}
	if (!maxattr) {
		if (!modver || !*modver || !strcmp(modver, VCPUSTAT_VERSION))
			return VS_COMPAT_OK;
		fprintf(f,
			"vcpustat: note: the loaded module is release %s, this tool %s: fields one of them lacks are missing; install both of one release (dkms install vcpustat/<version> or make install, then rmmod vcpustat; modprobe vcpustat)\n",
			modver, VCPUSTAT_VERSION);
		return VS_COMPAT_RELEASE;
	}
	if (maxattr < VCPUSTAT_A_MAX) {
		fprintf(f,
			"vcpustat: note: the loaded module is older than this tool (uapi revision %u < %u): fields it does not know are missing; to get them, update the module and reload it (rmmod vcpustat; modprobe vcpustat)\n",
			maxattr, VCPUSTAT_A_MAX);
		return VS_COMPAT_MODULE_OLDER;
	}
	if (maxattr > VCPUSTAT_A_MAX) {
		fprintf(f,
			"vcpustat: note: the loaded module is newer than this tool (uapi revision %u > %u): what it added is not shown; update the tool (make install-tool)\n",
			maxattr, VCPUSTAT_A_MAX);
		return VS_COMPAT_MODULE_NEWER;
	}
	return VS_COMPAT_OK;
}

int vs_compat_check(struct vs_ctx *ctx)
{
	uint32_t version, maxattr;
	struct vs_status st = { .version = "" };

	/* a controller that cannot answer is no reason to stop */
	if (vs_family_info(ctx, &version, &maxattr))
		return VS_EXIT_OK;
	/* per-op policies: no maxattr; ask the module its release (an
	 * unprivileged caller cannot: then that is not compared) */
	if (!maxattr && version == VCPUSTAT_GENL_VERSION &&
	    vs_get_config(ctx, NULL, &st))
		st.version[0] = '\0';
	return vs_compat_judge(version, maxattr, st.version, stderr) ==
	       VS_COMPAT_VERSION ? VS_EXIT_ERR : VS_EXIT_OK;
}
