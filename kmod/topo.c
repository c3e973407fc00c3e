// SPDX-License-Identifier: GPL-2.0
/*
 * Migration distance classes: SMT sibling, shared last-level cache, same
 * NUMA node, another node.
 *
 * SMT siblings and NUMA nodes come from exported topology (cpu_sibling_map,
 * x86_cpu_to_node_map). The LLC map is not exported to modules
 * (cpu_llc_shared_map, cpus_share_cache; get_llc_id only on 6.1), so we
 * derive the LLC id the way arch/x86 does: the APIC id shifted right by
 * the order of the number of logical CPUs sharing the highest-level cache
 * (CPUID leaf 4, or 0x8000001D on AMD with TOPOEXT). It is computed once per
 * CPU at load, on that CPU. CPUs that come online later have no LLC id
 * and their moves are classed by node only; the selftests compare the
 * result with each CPU's cache/index<N>/shared_cpu_list in sysfs.
 */
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/topology.h>
#include <asm/processor.h>
#include "vcpustat.h"

#define VS_LLC_UNKNOWN	U32_MAX

static u32 *vs_llc_id;

static void vs_llc_probe(void *arg)
{
	bool amd = boot_cpu_has(X86_FEATURE_TOPOEXT);
	u32 leaf = amd ? 0x8000001d : 4;
	u32 eax, ebx, ecx, edx, level = 0, nshare = 0, apicid, i;

	if (!amd && boot_cpu_data.cpuid_level < 4)
		return;
	for (i = 0; i < 16; i++) {
		cpuid_count(leaf, i, &eax, &ebx, &ecx, &edx);
		if (!(eax & 0x1f))		/* no more caches */
			break;
		if (((eax >> 5) & 7) >= level) {
			level = (eax >> 5) & 7;
			nshare = ((eax >> 14) & 0xfff) + 1;
		}
	}
	if (!nshare)
		return;
	if (boot_cpu_data.cpuid_level >= 0xb) {
		cpuid_count(0xb, 0, &eax, &ebx, &ecx, &edx);
		apicid = edx;			/* x2APIC id */
	} else {
		apicid = cpuid_ebx(1) >> 24;
	}
	*(u32 *)arg = apicid >> get_count_order(nshare);
}

int vs_topo_init(void)
{
	int cpu;

	vs_llc_id = kcalloc(nr_cpu_ids, sizeof(*vs_llc_id), GFP_KERNEL);
	if (!vs_llc_id)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		u32 id = VS_LLC_UNKNOWN;

		if (cpu_online(cpu))
			smp_call_function_single(cpu, vs_llc_probe, &id, 1);
		vs_llc_id[cpu] = id;
	}
	return 0;
}

void vs_topo_exit(void)
{
	kfree(vs_llc_id);
	vs_llc_id = NULL;
}

u32 vs_topo_distance(int from, int to)
{
	if (cpumask_test_cpu(to, topology_sibling_cpumask(from)))
		return VCPUSTAT_DIST_SMT;
	if (vs_llc_id[from] != VS_LLC_UNKNOWN &&
	    vs_llc_id[from] == vs_llc_id[to])
		return VCPUSTAT_DIST_LLC;
	if (cpu_to_node(from) == cpu_to_node(to))
		return VCPUSTAT_DIST_NODE;
	return VCPUSTAT_DIST_REMOTE;
}
