// SPDX-License-Identifier: GPL-2.0
/*
 * Feature test: does the generic arch_topology (arm64) give each CPU's
 * last-level-cache siblings in the exported cpu_topology[]? Compiles only
 * there; x86 has get_llc_id() / per_cpu_llc_id() instead.
 */
#include <linux/arch_topology.h>

static __used bool vs_conftest_llc(int a, int b)
{
	return cpumask_test_cpu(b, &cpu_topology[a].llc_sibling);
}
