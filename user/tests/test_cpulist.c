// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of affinity.c: CPU sets, cpulist parse/format, and the
 * /proc and /sys readers against a fake tree (tid <-> pid checks, reused
 * tids, cpuset lookup through cgroup v1 and v2, schedstat, topology).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "affinity.h"
#include "harness.h"
#include "testutil.h"

static void parse_ok(const char *s, const char *canon)
{
	struct cpuset set;
	char err[256] = "", out[256];

	T_EQ(cpulist_parse(s, &set, err, sizeof(err)), 0);
	T_STREQ(cpuset_format(&set, out, sizeof(out)), canon);
}

static void parse_bad(const char *s, int want, const char *msg_part)
{
	struct cpuset set;
	char err[256] = "";

	cpuset_zero(&set);
	cpuset_set(&set, 42);
	T_EQ(cpulist_parse(s, &set, err, sizeof(err)), want);
	T_ASSERT(strstr(err, msg_part) != NULL);
	T_ASSERT(cpuset_isset(&set, 42) && cpuset_count(&set) == 1); /* untouched */
}

T_TEST(cpulist_parse_valid)
{
	parse_ok("2", "2");
	parse_ok("2-5", "2-5");
	parse_ok("0,4,8-11", "0,4,8-11");
	parse_ok("8-11,0,4", "0,4,8-11");
	parse_ok("3,2,1,0", "0-3");
	parse_ok("1-1", "1");
	parse_ok("0-3,2-6", "0-6");
	parse_ok(" 0-3\n", "0-3");
	parse_ok("", "");
	parse_ok("\n", "");
	parse_ok("0-9:2/5", "0-1,5-6");
	parse_ok("0-15:1/4", "0,4,8,12");
	parse_ok("0-3:4/4", "0-3");
	parse_ok("8191", "8191");
	parse_ok("0-8191:1/8191", "0,8191");
	parse_ok("63-64", "63-64");
	/* a leading zero is decimal, never octal */
	parse_ok("010", "10");
	parse_ok("08-011", "8-11");
}

T_TEST(cpulist_parse_invalid)
{
	parse_bad("8192", -ERANGE, "CPU 8192 in \"8192\" is out of range");
	/* the number as typed, not a saturated LONG_MAX */
	parse_bad("0,99999999999999999999", -ERANGE,
		  "CPU 99999999999999999999 in \"99999999999999999999\" is out of range");
	parse_bad("2-99999999999999999999", -ERANGE,
		  "CPU 99999999999999999999 in \"2-99999999999999999999\"");
	parse_bad("8192-8193", -ERANGE, "CPU 8192 in \"8192-8193\"");
	parse_bad("5-3", -EINVAL, "bad range \"5-3\": end before start");
	parse_bad("1,,2", -EINVAL, "bad CPU list group \"\"");
	parse_bad("1,", -EINVAL, "trailing comma");
	parse_bad(",1", -EINVAL, "bad CPU list group");
	parse_bad("a", -EINVAL, "\"a\"");
	parse_bad("-1", -EINVAL, "\"-1\"");
	parse_bad("1-", -EINVAL, "\"1-\"");
	parse_bad("1-2-3", -EINVAL, "\"1-2-3\"");
	parse_bad("1 2", -EINVAL, "\"1 2\"");
	parse_bad("+1", -EINVAL, "\"+1\"");
	parse_bad("0x1", -EINVAL, "\"0x1\"");
	parse_bad("0-7:3/2", -EINVAL, "need 0 < used <= group size");
	parse_bad("0-7:0/2", -EINVAL, "need 0 < used <= group size");
	parse_bad("0-7:1", -EINVAL, "\"0-7:1\"");
	parse_bad("3:1/2", -EINVAL, "\"3:1/2\"");
	parse_bad("0,4,x-11", -EINVAL, "\"x-11\"");
	/* NULL err is allowed */
	{
		struct cpuset s;

		T_EQ(cpulist_parse("z", &s, NULL, 0), -EINVAL);
	}
}

T_TEST(cpulist_parse_format_roundtrip)
{
	static char big[65536];
	struct cpuset s, back;
	char buf[64];

	cpuset_zero(&s);
	cpuset_set(&s, 0);
	cpuset_set(&s, 4);
	for (unsigned int c = 8; c <= 11; c++)
		cpuset_set(&s, c);
	cpuset_set(&s, 8191);
	T_STREQ(cpuset_format(&s, buf, sizeof(buf)), "0,4,8-11,8191");
	T_EQ(cpulist_parse(buf, &back, NULL, 0), 0);
	T_ASSERT(cs_equal(&s, &back));
	/* Every other CPU: the longest list there is. */
	cpuset_zero(&s);
	for (unsigned int c = 0; c < CPUSET_MAX; c += 2)
		cpuset_set(&s, c);
	cpuset_format(&s, big, sizeof(big));
	T_EQ(cpulist_parse(big, &back, NULL, 0), 0);
	T_ASSERT(cs_equal(&s, &back));
	/* A sysfs file's form, newline included. */
	T_EQ(cpulist_parse("0-3,8,10-11\n", &back, NULL, 0), 0);
	T_STREQ(cpuset_format(&back, big, sizeof(big)), "0-3,8,10-11");
}

T_TEST(cpuset_ops)
{
	struct cpuset a, b, d;
	int c, n = 0;

	cpuset_zero(&a);
	T_ASSERT(cs_empty(&a));
	T_EQ(cpuset_next(&a, 0), -1);
	cpuset_set(&a, 63);
	cpuset_set(&a, 64);
	cpuset_set(&a, CPUSET_MAX - 1);
	cpuset_set(&a, CPUSET_MAX);	/* ignored */
	cpuset_set(&a, (unsigned int)-1);	/* ignored */
	T_EQ(cpuset_count(&a), 3);
	T_EQ(cpuset_next(&a, 0), 63);
	T_EQ(cpuset_next(&a, 64), 64);
	T_EQ(cpuset_next(&a, 65), CPUSET_MAX - 1);
	T_EQ(cpuset_next(&a, CPUSET_MAX), -1);
	T_ASSERT(!cpuset_isset(&a, -5) && !cpuset_isset(&a, CPUSET_MAX + 3));
	cs_for_each(c, &a)
		n++;
	T_EQ(n, 3);
	cpulist_parse("60-70", &b, NULL, 0);
	T_ASSERT(!cs_subset(&a, &b));
	cs_and(&d, &a, &b);
	T_EQ(cpuset_count(&d), 2);
	T_ASSERT(cs_subset(&d, &a) && cs_subset(&d, &b));
	cs_andnot(&d, &a, &b);
	T_EQ(cpuset_count(&d), 1);
	T_ASSERT(cpuset_isset(&d, CPUSET_MAX - 1));
	cs_or(&d, &a, &b);
	T_EQ(cpuset_count(&d), 12);
	cs_clear(&d, 64);
	T_EQ(cpuset_count(&d), 11);
	T_ASSERT(!cs_equal(&d, &a));
}

/* ---- fake /proc and /sys --------------------------------------------- */

static char *root;

static void put(const char *rel, const char *content)
{
	t_write(root, rel, content);
}

static void status(int pid, int tid, int tgid, const char *allowed)
{
	char rel[128], body[512];

	snprintf(rel, sizeof(rel), "proc/%d/task/%d/status", pid, tid);
	snprintf(body, sizeof(body),
		 "Name:\tqemu\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t%d\nPid:\t%d\n"
		 "Cpus_allowed:\tff\nCpus_allowed_list:\t%s\nMems_allowed_list:\t0\n",
		 tgid, tid, allowed);
	put(rel, body);
}

/* Point aff_procfs / aff_sysfs at <tmp>/proc and <tmp>/sys. */
static void fake_setup(void)
{
	char path[PATH_MAX];

	root = t_tmpdir();
	T_ASSERT(root != NULL);
	snprintf(path, sizeof(path), "%s/proc", root);
	aff_procfs = strdup(path);
	snprintf(path, sizeof(path), "%s/sys", root);
	aff_sysfs = strdup(path);
}

static void fake_teardown(void)
{
	free((char *)aff_procfs);
	free((char *)aff_sysfs);
	aff_procfs = "/proc";
	aff_sysfs = "/sys";
	t_rmtree(root);
	free(root);
	root = NULL;
}

T_TEST(affinity_fake_proc_threads)
{
	pid_t tids[8];
	uint64_t run, wait;
	struct cpuset s;
	char comm[32];

	fake_setup();
	status(100, 100, 100, "0-7");
	status(100, 101, 100, "2");
	status(100, 105, 100, "0-3");
	/* tid 102 listed under 100 but its Tgid says 200: a reused tid. */
	status(100, 102, 200, "0-7");
	put("proc/100/task/101/comm", "CPU 0/KVM\n");
	put("proc/100/task/101/schedstat", "123456 7890 42\n");
	put("proc/100/task/105/schedstat", "garbage\n");

	T_EQ(aff_tid_in_pid(100, 101), 1);
	T_EQ(aff_tid_in_pid(100, 100), 1);
	T_EQ(aff_tid_in_pid(100, 102), 0);
	T_EQ(aff_tid_in_pid(100, 103), 0);	/* gone */
	T_EQ(aff_tid_in_pid(300, 101), 0);	/* wrong process */
	T_EQ(aff_tid_in_pid(0, 101), 0);
	T_EQ(aff_pid_alive(100), 1);
	T_EQ(aff_pid_alive(999), 0);

	T_EQ(aff_list_tids(100, tids, 8), 4);
	T_EQ(tids[0], 100);
	T_EQ(tids[1], 101);
	T_EQ(tids[2], 102);
	T_EQ(tids[3], 105);
	T_EQ(aff_list_tids(100, tids, 2), 2);
	T_EQ(aff_list_tids(999, tids, 8), -ENOENT);

	aff_thread_comm(100, 101, comm, sizeof(comm));
	T_STREQ(comm, "CPU 0/KVM");
	aff_thread_comm(100, 100, comm, sizeof(comm));
	T_STREQ(comm, "");

	T_EQ(aff_schedstat(100, 101, &run, &wait), 0);
	T_EQ(run, 123456);
	T_EQ(wait, 7890);
	T_EQ(aff_schedstat(100, 105, &run, &wait), -EINVAL);
	T_EQ(aff_schedstat(100, 100, &run, &wait), -ENOENT);

	T_EQ(aff_status_cpus_allowed(100, 105, &s), 0);
	T_EQ(cpuset_count(&s), 4);
	T_EQ(aff_status_cpus_allowed(100, 103, &s), -ENOENT);
	fake_teardown();
}

T_TEST(affinity_fake_cpuset_and_check)
{
	struct cpuset s, want;
	char err[512];

	fake_setup();
	put("sys/devices/system/cpu/online", "0-5,7\n");
	put("sys/devices/system/cpu/possible", "0-7\n");
	status(100, 101, 100, "0-3");

	/* cgroup v1: cpuset hierarchy mounted at <root>/cg/cpuset. */
	{
		char mi[PATH_MAX * 3];

		snprintf(mi, sizeof(mi),
			 "22 1 0:20 / /sys rw - sysfs sysfs rw\n"
			 "30 22 0:26 / %s/cg/cpuset rw,nosuid - cgroup cgroup rw,cpuset\n"
			 "31 22 0:27 / %s/cg/unified rw - cgroup2 cgroup2 rw\n",
			 root, root);
		put("proc/self/mountinfo", mi);
	}
	put("proc/100/task/101/cgroup",
	    "4:memory:/machine/vm1\n3:cpuset:/machine/vm1\n0::/machine/vm1\n");
	put("cg/cpuset/machine/vm1/cpuset.effective_cpus", "2-5\n");
	T_EQ(aff_cpuset_cpus(100, 101, &s), 0);
	cpuset_format(&s, err, sizeof(err));
	T_STREQ(err, "2-5");

	T_EQ(aff_permitted(100, 101, &s), 0);
	cpuset_format(&s, err, sizeof(err));
	T_STREQ(err, "2-5");

	cpulist_parse("3-4", &want, NULL, 0);
	T_EQ(aff_check(100, 101, &want, err, sizeof(err)), 0);
	cpulist_parse("5-7", &want, NULL, 0);
	T_EQ(aff_check(100, 101, &want, err, sizeof(err)), -EINVAL);
	T_STREQ(err, "CPU 6 not online (online: 0-5,7)");
	cpulist_parse("0-1,5", &want, NULL, 0);
	T_EQ(aff_check(100, 101, &want, err, sizeof(err)), -EINVAL);
	T_STREQ(err, "CPU 0-1 outside the cpuset of thread 101 (cpuset allows 2-5)");
	cpuset_zero(&want);
	T_EQ(aff_check(100, 101, &want, err, sizeof(err)), -EINVAL);
	T_STREQ(err, "empty CPU list");

	/* A cgroup dir without the file: walk up to the parent. */
	put("proc/100/task/101/cgroup", "3:cpuset:/machine/vm1/vcpu0\n");
	T_EQ(aff_cpuset_cpus(100, 101, &s), 0);
	T_EQ(cpuset_count(&s), 4);

	/* cgroup v2 only: cpuset.cpus.effective, walking up to the root. */
	put("proc/100/task/101/cgroup", "0::/system.slice/qemu.service\n");
	put("cg/unified/system.slice/cpuset.cpus.effective", "1,3\n");
	T_EQ(aff_cpuset_cpus(100, 101, &s), 0);
	cpuset_format(&s, err, sizeof(err));
	T_STREQ(err, "1,3");

	/* No cpuset anywhere: -ENOENT, and aff_check uses online only. */
	put("proc/100/task/101/cgroup", "0::/other\n");
	T_EQ(aff_cpuset_cpus(100, 101, &s), -ENOENT);
	cpulist_parse("0,7", &want, NULL, 0);
	T_EQ(aff_check(100, 101, &want, err, sizeof(err)), 0);
	fake_teardown();
}

T_TEST(affinity_fake_topology)
{
	struct vs_topo t;

	fake_setup();
	/* 2 sockets x 2 cores x 2 threads, cpu 6 offline, 2-3 isolated,
	 * cpus 8-9 possible but absent. */
	put("sys/devices/system/cpu/possible", "0-7\n");
	put("sys/devices/system/cpu/online", "0-5,7\n");
	put("sys/devices/system/cpu/isolated", "2-3\n");
	put("sys/devices/system/node/possible", "0-1\n");
	put("sys/devices/system/node/node0/cpulist", "0-3\n");
	put("sys/devices/system/node/node1/cpulist", "4-7\n");
	for (int c = 0; c < 8; c++) {
		char rel[128], val[32];

		snprintf(rel, sizeof(rel),
			 "sys/devices/system/cpu/cpu%d/topology/thread_siblings_list", c);
		snprintf(val, sizeof(val), "%d-%d\n", c & ~1, (c & ~1) + 1);
		put(rel, val);
		snprintf(rel, sizeof(rel),
			 "sys/devices/system/cpu/cpu%d/topology/physical_package_id", c);
		snprintf(val, sizeof(val), "%d\n", c / 4);
		put(rel, val);
		snprintf(rel, sizeof(rel),
			 "sys/devices/system/cpu/cpu%d/cache/index0/shared_cpu_list", c);
		snprintf(val, sizeof(val), "%d-%d\n", c & ~1, (c & ~1) + 1);
		put(rel, val);
		snprintf(rel, sizeof(rel),
			 "sys/devices/system/cpu/cpu%d/cache/index3/shared_cpu_list", c);
		put(rel, c < 4 ? "0-3\n" : "4-7\n");
		/* index1, index2 missing: the walk stops at index0. Give
		 * them so the last level is found. */
		for (int i = 1; i <= 2; i++) {
			snprintf(rel, sizeof(rel),
				 "sys/devices/system/cpu/cpu%d/cache/index%d/shared_cpu_list",
				 c, i);
			snprintf(val, sizeof(val), "%d-%d\n", c & ~1, (c & ~1) + 1);
			put(rel, val);
		}
	}
	T_EQ(vs_topo_load(&t), 0);
	T_EQ(t.nr_cpus, 8);
	T_EQ(t.nr_nodes, 2);
	for (int c = 0; c < 8; c++) {
		T_EQ(t.cpu[c].present, 1);
		T_EQ(t.cpu[c].online, c != 6);
		T_EQ(t.cpu[c].isolated, c == 2 || c == 3);
		T_EQ(t.cpu[c].node, c / 4);
		T_EQ(t.cpu[c].core, c & ~1);
		T_EQ(t.cpu[c].llc, c & ~3);
		T_EQ(t.cpu[c].package, c / 4);
	}
	vs_topo_free(&t);
	T_EQ(t.nr_cpus, 0);
	fake_teardown();
}

/* ---- the real syscalls on this process ------------------------------- */

T_TEST(affinity_real_self)
{
	pid_t self = getpid(), tid = (pid_t)syscall(SYS_gettid);
	struct cpuset cur, got, online;
	char err[512];
	int first;

	T_EQ(aff_get(tid, &cur), 0);
	T_ASSERT(!cs_empty(&cur));
	T_EQ(aff_tid_in_pid(self, tid), 1);
	T_EQ(aff_online_cpus(&online), 0);
	T_ASSERT(cs_subset(&cur, &online) || !cs_empty(&online));
	/* Setting it to what it is works and reads back equal. */
	T_EQ(aff_set_checked(self, tid, &cur, err, sizeof(err)), 0);
	T_EQ(aff_get(tid, &got), 0);
	T_ASSERT(cs_equal(&cur, &got));
	/* One CPU of the current set, then back. */
	first = cpuset_next(&cur, 0);
	cpuset_zero(&got);
	cpuset_set(&got, first);
	T_EQ(aff_check(self, tid, &got, err, sizeof(err)), 0);
	T_EQ(aff_set_checked(self, tid, &got, err, sizeof(err)), 0);
	T_EQ(aff_get(tid, &got), 0);
	T_EQ(cpuset_count(&got), 1);
	T_EQ(aff_set_checked(self, tid, &cur, err, sizeof(err)), 0);
	/* A tid that is not ours (pid 1's) is refused before any syscall. */
	T_EQ(aff_set_checked(self, 1, &cur, err, sizeof(err)), -ESRCH);
	T_ASSERT(strstr(err, "no longer part of process") != NULL);
	/* Only offline / nonexistent CPUs: the kernel says EINVAL. */
	cpuset_zero(&got);
	cpuset_set(&got, CPUSET_MAX - 1);
	if (!cpuset_isset(&online, CPUSET_MAX - 1)) {
		T_EQ(aff_set_checked(self, tid, &got, err, sizeof(err)), -EINVAL);
		T_ASSERT(strstr(err, "invalid") != NULL);
		T_EQ(aff_check(self, tid, &got, err, sizeof(err)), -EINVAL);
		T_ASSERT(strstr(err, "CPU 8191 not online") != NULL);
	}
	T_EQ(aff_get(tid, &got), 0);
	T_ASSERT(cs_equal(&cur, &got));
}
