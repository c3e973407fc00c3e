// SPDX-License-Identifier: GPL-2.0
/*
 * Feature test: does genl_dumpit_info carry a bare attrs array (up to
 * 6.1) rather than an embedded genl_info (6.2+)? Compiles only on the
 * former.
 */
#include <net/genetlink.h>

static __used struct nlattr **vs_conftest_attrs(struct genl_dumpit_info *info)
{
	return info->attrs;
}
