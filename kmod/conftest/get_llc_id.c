// SPDX-License-Identifier: GPL-2.0
/*
 * Feature test: is the kernel's LLC id reachable through get_llc_id()
 * (exported up to 6.7) rather than per_cpu_llc_id() (6.8+, on the
 * exported cpu_info)? Compiles only on the former.
 */
#include <asm/processor.h>

static __used u16 vs_conftest_llc(void)
{
	return get_llc_id(0);
}
