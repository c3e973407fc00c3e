/* SPDX-License-Identifier: GPL-2.0 */
/*
 * affinity.h - CPU sets, cpulist syntax, thread/process checks and
 * sched_{get,set}affinity wrappers for `vcpustat pin` and `vcpustat autopin`.
 *
 * Nothing here talks netlink. Paths under /proc and /sys are taken from
 * aff_procfs and aff_sysfs so that tests can point them at a fake tree.
 */
#ifndef VCPUSTAT_AFFINITY_H
#define VCPUSTAT_AFFINITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cpulist.h"

/*
 * CPU sets are cpulist.h's struct cpuset (CPUSET_MAX bits) with its
 * cpuset_zero/set/isset/count/next/format; these add the set algebra the
 * pin and autopin code needs.
 */
void cs_clear(struct cpuset *s, int cpu);
bool cs_empty(const struct cpuset *s);
bool cs_equal(const struct cpuset *a, const struct cpuset *b);
/* Is every CPU of a also in b? */
bool cs_subset(const struct cpuset *a, const struct cpuset *b);
void cs_and(struct cpuset *d, const struct cpuset *a, const struct cpuset *b);
void cs_or(struct cpuset *d, const struct cpuset *a, const struct cpuset *b);
/* d = a & ~b */
void cs_andnot(struct cpuset *d, const struct cpuset *a,
	       const struct cpuset *b);
#define cs_for_each(cpu, s)						\
	for ((cpu) = cpuset_next((s), 0); (cpu) >= 0;			\
	     (cpu) = cpuset_next((s), (unsigned int)(cpu) + 1))

/* Roots of procfs and sysfs, "/proc" and "/sys" unless a test changes them. */
extern const char *aff_procfs;
extern const char *aff_sysfs;

/* Read a file holding a cpulist (e.g. a sysfs *_list file). 0 or -errno. */
int aff_read_cpulist_file(const char *path, struct cpuset *out);
/* <sysfs>/devices/system/cpu/online, .../isolated (missing file: empty). */
int aff_online_cpus(struct cpuset *out);
int aff_isolated_cpus(struct cpuset *out);

/*
 * Does thread tid belong to process pid right now? Checks that
 * <procfs>/<pid>/task/<tid> exists and that its status says Tgid: pid.
 * Returns 1 yes, 0 no (gone, or a reused tid of another process), or
 * -errno if procfs could not be read for another reason.
 */
int aff_tid_in_pid(pid_t pid, pid_t tid);
/* Is pid a live process (a thread group leader)? 1, 0 or -errno. */
int aff_pid_alive(pid_t pid);
/*
 * List the threads of pid (<procfs>/<pid>/task), ascending. Returns the
 * number written to tids (at most max; the total may be larger: call
 * again with a bigger array if the result equals max), or -errno.
 */
int aff_list_tids(pid_t pid, pid_t *tids, int max);
/* The thread's comm ("CPU 0/KVM", ...), "" if unreadable. */
void aff_thread_comm(pid_t pid, pid_t tid, char *buf, size_t len);
/*
 * The CPUs the thread's cpuset cgroup lets it use (cpuset.effective_cpus
 * in v1, cpuset.cpus.effective in v2, looked up through
 * <procfs>/<pid>/task/<tid>/cgroup and <procfs>/self/mountinfo).
 * -ENOENT if there is no cpuset controller to ask.
 */
int aff_cpuset_cpus(pid_t pid, pid_t tid, struct cpuset *out);
/* Cpus_allowed_list of <procfs>/<pid>/task/<tid>/status. */
int aff_status_cpus_allowed(pid_t pid, pid_t tid, struct cpuset *out);
/*
 * Run-queue statistics of a thread: <procfs>/<pid>/task/<tid>/schedstat,
 * field 1 = ns on CPU, field 2 = ns waiting on a run queue.
 */
int aff_schedstat(pid_t pid, pid_t tid, uint64_t *run_ns, uint64_t *wait_ns);

/* sched_getaffinity / sched_setaffinity for any CPU count; 0 or -errno. */
int aff_get(pid_t tid, struct cpuset *out);
int aff_set(pid_t tid, const struct cpuset *set);

/*
 * What the kernel will accept for tid: the online CPUs, within its cpuset
 * (if one can be read). Returns 0 or -errno.
 */
int aff_permitted(pid_t pid, pid_t tid, struct cpuset *out);

/*
 * Check that `want` can be applied to tid of pid: not empty, every CPU
 * online and inside the cpuset. On failure returns -EINVAL and writes a
 * message naming the offending CPUs into err.
 */
int aff_check(pid_t pid, pid_t tid, const struct cpuset *want,
	      char *err, size_t errlen);

/*
 * The safe setter used by pin and autopin: re-checks that tid still
 * belongs to pid (else -ESRCH), calls sched_setaffinity, and reads the
 * mask back: if the kernel narrowed it (a cpuset changed under us) the
 * result is -EINVAL with a message. On failure err says why in words
 * (EPERM: "need CAP_SYS_NICE or the same user", ...).
 */
int aff_set_checked(pid_t pid, pid_t tid, const struct cpuset *want,
		    char *err, size_t errlen);

/* CPU topology as read from sysfs, one entry per possible CPU. */
struct vs_topo_cpu {
	int present;	/* listed in cpu/possible */
	int online;
	int isolated;	/* in cpu/isolated */
	int node;	/* NUMA node, 0 if unknown */
	int core;	/* lowest CPU of thread_siblings_list: SMT group key */
	int llc;	/* lowest CPU of the highest-level cache's shared list */
	int package;	/* physical_package_id */
};

struct vs_topo {
	int nr_cpus;			/* highest possible CPU + 1 */
	int nr_nodes;			/* highest node + 1 */
	struct vs_topo_cpu *cpu;	/* nr_cpus entries */
};

/* Read <sysfs>/devices/system/{cpu,node}. 0 or -errno. */
int vs_topo_load(struct vs_topo *t);
void vs_topo_free(struct vs_topo *t);

#endif /* VCPUSTAT_AFFINITY_H */
