/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Does the loaded module speak this tool's protocol? The family version
 * (VCPUSTAT_GENL_VERSION) changes only with an incompatible protocol; the
 * uapi revision (VCPUSTAT_UAPI_REVISION, which the module reports in its
 * status: attributes are only appended) says which of two compatible
 * builds is newer.
 */
#ifndef VS_COMPAT_H
#define VS_COMPAT_H

#include <stdint.h>
#include <stdio.h>

#include "vsnl.h"

enum vs_compat {
	VS_COMPAT_OK,
	VS_COMPAT_MODULE_OLDER,	/* works; some fields are not reported */
	VS_COMPAT_MODULE_NEWER,	/* works; new fields are not shown */
	VS_COMPAT_VERSION,	/* another protocol: refuse */
};

/*
 * Judge a module of family @version / @maxattr, release @modver (its
 * STATUS_A_VERSION; NULL or "": unknown) and uapi revision @modrev (its
 * STATUS_A_UAPI_REVISION; 0: none reported); write what to do to @f (none
 * when OK). A family with per-op policies (vcpustat's) reports maxattr 0:
 * the revision decides; a module without one predates it (older), unless
 * its release is this tool's.
 */
enum vs_compat vs_compat_judge(uint32_t version, uint32_t maxattr,
			       const char *modver, uint32_t modrev, FILE *f);
/* vs_family_info() then vs_compat_judge() to stderr. 0, or VS_EXIT_ERR
 * for a version mismatch (nothing can be decoded right). */
int vs_compat_check(struct vs_ctx *ctx);

#endif /* VS_COMPAT_H */
