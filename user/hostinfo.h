/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host facts for "vcpustat host", read from /sys and /proc. The roots can
 * be redirected (VCPUSTAT_SYSFS, VCPUSTAT_PROCFS) so tests feed a fake
 * tree; nothing here talks netlink.
 */
#ifndef VS_HOSTINFO_H
#define VS_HOSTINFO_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cpulist.h"
#include "vsnl.h"

#define HI_MAX_NODES	64
#define HI_MAX_PARAMS	8
#define HI_MAX_HPAGES	8

struct hi_param {
	const char *name;
	char value[32];		/* "" if the file is missing */
};

struct hi_module {
	const char *name;
	bool loaded;
	size_t nr_params;
	struct hi_param params[HI_MAX_PARAMS];
};

struct hi_node {
	int id;
	struct cpuset cpus;
	uint64_t mem_total_kb;
};

struct hi_hpage {
	uint64_t size_kb;
	uint64_t total, free;
};

struct host_info {
	char sysfs[PATH_MAX / 4];
	char procfs[PATH_MAX / 4];

	bool has_cpuinfo;
	bool vmx, svm, hypervisor;	/* hypervisor: we are a guest */
	bool arm64;			/* cpuinfo of an arm64 CPU */
	char arm_el[8];			/* "EL2", "EL1", "" unknown */
	char kvm_mode[16];		/* vhe, nvhe, protected, none, "" */
	bool kvm_mode_requested;	/* from kvm-arm.mode=, not the log */
	char gic[16];			/* "GICv3", "" unknown */
	char model[128];

	struct cpuset possible, online;
	int sockets, cores, threads_per_core;	/* 0: unknown */
	char smt_control[32];		/* on/off/forceoff/notsupported/"" */
	int smt_active;			/* 1, 0, -1 unknown */
	unsigned int nr_slots;		/* highest possible CPU + 1 */
	int *pkg_of, *core_of;		/* [nr_slots], -1 unknown */
	struct cpuset *siblings;	/* [nr_slots] */

	size_t nr_nodes;
	struct hi_node nodes[HI_MAX_NODES];

	bool has_isolated, has_nohz_full;
	struct cpuset isolated, nohz_full;
	char cmdline_isolcpus[256];	/* isolcpus= from /proc/cmdline */

	size_t nr_hpages;
	struct hi_hpage hpages[HI_MAX_HPAGES];
	char thp[32];			/* selected THP mode, "" unknown */

	struct hi_module kvm, kvm_intel, kvm_amd, vcpustat;
	char vcpustat_sysfs_version[64];
};

/* Roots from the environment (or /sys, /proc); reads everything. */
int host_info_read(struct host_info *hi);
/* Same with explicit roots (tests). */
int host_info_read_at(struct host_info *hi, const char *sysfs,
		      const char *procfs);
void host_info_free(struct host_info *hi);

/* hostinfo_arm64.c: EL, KVM mode and GIC of an arm64 host. */
void host_read_arm64(struct host_info *hi);
const char *host_arm64_mode_str(const struct host_info *hi);

/* NUMA node of @cpu, or -1. */
int host_cpu_node(const struct host_info *hi, unsigned int cpu);

/* Lint of running VMs against the host. */
enum lint_sev { LINT_INFO, LINT_WARN };

struct lint_item {
	enum lint_sev sev;
	const char *check;	/* stable id: "overcommit", "smt-pinned" ... */
	bool has_vm;
	uint64_t vm_id;
	char msg[256];
};

struct lint {
	unsigned int vms, vcpus, cpus;
	double overcommit;	/* vcpus / online CPUs */
	size_t n;
	struct lint_item *items;
};

/*
 * Affinity of a vCPU thread: fills @set, returns 0, or -1 if unknown.
 * The default reads sched_getaffinity(tid), or Cpus_allowed_list from
 * the procfs root when VCPUSTAT_PROCFS redirects it.
 */
typedef int (*affinity_fn)(const struct host_info *hi, uint32_t pid,
			   uint32_t tid, struct cpuset *set);
int host_affinity(const struct host_info *hi, uint32_t pid, uint32_t tid,
		  struct cpuset *set);

int host_lint(const struct host_info *hi, const struct vs_snapshot *snap,
	      affinity_fn aff, struct lint *out);

/*
 * The over-commit lint from measured wait: each VM whose vCPUs waited for
 * a pCPU (the budget's wait state) at least VS_LINT_WAIT_PCT % of their
 * time, between @prev and @snap (@prev NULL: since the VM was first seen
 * or reset). @window names the span in the message ("the last 10 s").
 */
#define VS_LINT_WAIT_PCT	5.0
int host_lint_wait(const struct vs_snapshot *snap,
		   const struct vs_snapshot *prev, const char *window,
		   struct lint *l);
void lint_free(struct lint *l);


/* What the tool could learn from the module for the report. */
enum hi_mod_state {
	HI_MOD_OK,		/* connected; @st and the snapshot valid */
	HI_MOD_MISSING,		/* family not registered */
	HI_MOD_NOPERM,		/* no CAP_NET_ADMIN */
	HI_MOD_ERROR,
};

struct host_report {
	const struct host_info *hi;
	enum hi_mod_state mod;
	const struct vs_status *st;	/* HI_MOD_OK only */
	const struct lint *lint;	/* NULL unless HI_MOD_OK */
};

void host_render_text(FILE *f, const struct host_report *r);
int host_render_json(FILE *f, bool pretty, const struct host_report *r);

#endif /* VS_HOSTINFO_H */
