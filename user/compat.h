/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Does the loaded module speak this tool's protocol? The family version
 * (VCPUSTAT_GENL_VERSION) changes only with an incompatible protocol; the
 * uapi revision (the family's maxattr, VCPUSTAT_A_MAX: attributes are
 * only appended) says which of two compatible builds is newer.
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
	VS_COMPAT_RELEASE,	/* works; another release of the module */
};

/*
 * Judge a module of @version / @maxattr / release @modver (its
 * VCPUSTAT_STATUS_A_VERSION, NULL: unknown); write what to do to @f (none
 * when OK). A family with per-op policies (vcpustat's) reports maxattr 0:
 * then the release string stands in for the uapi revision.
 */
enum vs_compat vs_compat_judge(uint32_t version, uint32_t maxattr,
			       const char *modver, FILE *f);
/* vs_family_info() then vs_compat_judge() to stderr. 0, or VS_EXIT_ERR
 * for a version mismatch (nothing can be decoded right). */
int vs_compat_check(struct vs_ctx *ctx);

#endif /* VS_COMPAT_H */
