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

/* an appended attribute without the revision bumped (uapi header) */
_Static_assert(VCPUSTAT_UAPI_REVISION == __VCPUSTAT_UAPI_SUM,
	       "VCPUSTAT_UAPI_REVISION is not the sum of the enums' _MAX");

#define RELOAD "rmmod vcpustat; modprobe vcpustat"

static enum vs_compat judge_rev(uint32_t mod, uint32_t ours, const char *what,
				FILE *f)
{
	if (mod < ours) {
		fprintf(f,
			"vcpustat: note: the loaded module is older than this tool (%s %u < %u): fields it does not know are missing; to get them, update the module and reload it (" RELOAD ")\n",
			what, mod, ours);
		return VS_COMPAT_MODULE_OLDER;
	}
	if (mod > ours) {
		fprintf(f,
			"vcpustat: note: the loaded module is newer than this tool (%s %u > %u): what it added is not shown; update the tool (make install-tool)\n",
			what, mod, ours);
		return VS_COMPAT_MODULE_NEWER;
	}
	return VS_COMPAT_OK;
}

enum vs_compat vs_compat_judge(uint32_t version, uint32_t maxattr,
			       const char *modver, uint32_t modrev, FILE *f)
{
	if (version != VCPUSTAT_GENL_VERSION) {
		fprintf(f,
			"vcpustat: the loaded module speaks protocol version %u, this tool (%s) version %u\n"
			"vcpustat: install the module and the tool of one release: check 'modinfo -F version vcpustat' and 'vcpustat -V', then 'dkms install vcpustat/<version>' (or make install) and '" RELOAD "'\n",
			version, VCPUSTAT_VERSION, VCPUSTAT_GENL_VERSION);
		return VS_COMPAT_VERSION;
	}
	if (modrev)
		return judge_rev(modrev, VCPUSTAT_UAPI_REVISION,
				 "uapi revision", f);
	/* a family with one global policy reports its maxattr */
	if (maxattr)
		return judge_rev(maxattr, VCPUSTAT_A_MAX, "maxattr", f);
	/* no revision: a module from before revisions were reported, so
	 * older than this tool, unless it is this very release (or the
	 * caller could not ask: unprivileged) */
	if (!modver || !*modver || !strcmp(modver, VCPUSTAT_VERSION))
		return VS_COMPAT_OK;
	fprintf(f,
		"vcpustat: note: the loaded module (release %s) is older than this tool (%s): it reports no uapi revision, and fields it does not know are missing; update the module and reload it (dkms install vcpustat/<version> or make install, then " RELOAD ")\n",
		modver, VCPUSTAT_VERSION);
	return VS_COMPAT_MODULE_OLDER;
}

int vs_compat_check(struct vs_ctx *ctx)
{
	uint32_t version, maxattr;
	struct vs_status st = { .version = "" };

	/* a controller that cannot answer is no reason to stop */
	if (vs_family_info(ctx, &version, &maxattr))
		return VS_EXIT_OK;
	/* per-op policies: no maxattr; ask the module its revision (an
	 * unprivileged caller cannot: then that is not compared) */
	if (!maxattr && version == VCPUSTAT_GENL_VERSION &&
	    vs_get_config(ctx, NULL, &st))
		memset(&st, 0, sizeof(st));
	return vs_compat_judge(version, maxattr, st.version, st.uapi_revision,
			       stderr) == VS_COMPAT_VERSION ?
	       VS_EXIT_ERR : VS_EXIT_OK;
}
