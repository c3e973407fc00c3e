// SPDX-License-Identifier: GPL-2.0
/*
 * Migration distance classes: SMT sibling, shared last-level cache, same
 * NUMA node, another node; always the kernel's own view of the topology,
 * the one sysfs shows, so that the classes agree with what users read
 * in /sys/devices/system/cpu. SMT siblings and nodes come from exported
 * maps; LLC sharing from per_cpu_llc_id() (x86 6.8+), get_llc_id() (x86 6.1)
 * or arch_topology's llc_sibling (arm64), see
 * compat.h.
 */
#include <linux/topology.h>
#include "compat.h"
#include "vcpustat.h"

u32 vs_topo_distance(int from, int to)
{
	if (cpumask_test_cpu(to, topology_sibling_cpumask(from)))
		return VCPUSTAT_DIST_SMT;
	if (vs_llc_shared(from, to))
		return VCPUSTAT_DIST_LLC;
	if (cpu_to_node(from) == cpu_to_node(to))
		return VCPUSTAT_DIST_NODE;
	return VCPUSTAT_DIST_REMOTE;
}
