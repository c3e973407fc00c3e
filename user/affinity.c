// SPDX-License-Identifier: GPL-2.0
/*
 * affinity.c - CPU set algebra, /proc and /sys readers and
 * sched_{get,set}affinity wrappers. See affinity.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "affinity.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errmsg.h"

const char *aff_procfs = "/proc";
const char *aff_sysfs = "/sys";

/* ---- set algebra on cpulist.h's struct cpuset ------------------------- */

#define CS_WORDS (CPUSET_MAX / 64)

void cs_clear(struct cpuset *s, int cpu)
{
	if (cpu >= 0 && cpu < CPUSET_MAX)
		s->bits[cpu / 64] &= ~(UINT64_C(1) << (cpu % 64));
}

bool cs_empty(const struct cpuset *s)
{
	for (int i = 0; i < CS_WORDS; i++)
		if (s->bits[i])
			return false;
	return true;
}

bool cs_equal(const struct cpuset *a, const struct cpuset *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

bool cs_subset(const struct cpuset *a, const struct cpuset *b)
{
	for (int i = 0; i < CS_WORDS; i++)
		if (a->bits[i] & ~b->bits[i])
			return false;
	return true;
}

void cs_and(struct cpuset *d, const struct cpuset *a, const struct cpuset *b)
{
	for (int i = 0; i < CS_WORDS; i++)
		d->bits[i] = a->bits[i] & b->bits[i];
}

void cs_or(struct cpuset *d, const struct cpuset *a, const struct cpuset *b)
{
	for (int i = 0; i < CS_WORDS; i++)
		d->bits[i] = a->bits[i] | b->bits[i];
}

void cs_andnot(struct cpuset *d, const struct cpuset *a,
	       const struct cpuset *b)
{
	for (int i = 0; i < CS_WORDS; i++)
		d->bits[i] = a->bits[i] & ~b->bits[i];
}

/* ---- files ---------------------------------------------------------- */

static int read_small_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	if (ferror(f)) {
		int e = errno ? -errno : -EIO;

		fclose(f);
		return e;
	}
	fclose(f);
	buf[n] = '\0';
	return (int)n;
}

int aff_read_cpulist_file(const char *path, struct cpuset *out)
{
	char buf[16384];
	int r = read_small_file(path, buf, sizeof(buf));

	if (r < 0)
		return r;
	return cpulist_parse(buf, out, NULL, 0);
}

int aff_online_cpus(struct cpuset *out)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/devices/system/cpu/online", aff_sysfs);
	return aff_read_cpulist_file(path, out);
}

int aff_isolated_cpus(struct cpuset *out)
{
	char path[PATH_MAX];
	int r;

	snprintf(path, sizeof(path), "%s/devices/system/cpu/isolated",
		 aff_sysfs);
	r = aff_read_cpulist_file(path, out);
	if (r == -ENOENT) {
		cpuset_zero(out);
		r = 0;
	}
	return r;
}

/* Find "Key:\t..." in a /proc status file; copy the value. */
static int status_field(const char *path, const char *key, char *val,
			size_t len)
{
	FILE *f = fopen(path, "re");
	char line[4096];
	size_t klen = strlen(key);
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) || line[klen] != ':')
			continue;
		char *v = line + klen + 1;

		while (*v == ' ' || *v == '\t')
			v++;
		v[strcspn(v, "\n")] = '\0';
		snprintf(val, len, "%s", v);
		r = 0;
		break;
	}
	fclose(f);
	return r;
}

int aff_tid_in_pid(pid_t pid, pid_t tid)
{
	char path[PATH_MAX], val[64];
	char *end;
	long tgid;
	int r;

	if (pid <= 0 || tid <= 0)
		return 0;
	snprintf(path, sizeof(path), "%s/%d/task/%d/status", aff_procfs,
		 (int)pid, (int)tid);
	r = status_field(path, "Tgid", val, sizeof(val));
	if (r == -ENOENT || r == -ESRCH || r == -ENOTDIR)
		return 0;
	if (r < 0)
		return r;
	errno = 0;
	tgid = strtol(val, &end, 10);
	if (errno || end == val)
		return -EINVAL;
	return tgid == (long)pid;
}

int aff_pid_alive(pid_t pid)
{
	return aff_tid_in_pid(pid, pid);
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

int aff_list_tids(pid_t pid, pid_t *tids, int max)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%d/task", aff_procfs, (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d)) && n < max) {
		char *end;
		long t = strtol(de->d_name, &end, 10);

		if (*end || t <= 0 || end == de->d_name)
			continue;
		tids[n++] = (pid_t)t;
	}
	closedir(d);
	qsort(tids, (size_t)n, sizeof(*tids), cmp_pid);
	return n;
}

void aff_thread_comm(pid_t pid, pid_t tid, char *buf, size_t len)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%d/task/%d/comm", aff_procfs,
		 (int)pid, (int)tid);
	if (read_small_file(path, buf, len) < 0)
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

int aff_status_cpus_allowed(pid_t pid, pid_t tid, struct cpuset *out)
{
	char path[PATH_MAX], val[16384];
	int r;

	snprintf(path, sizeof(path), "%s/%d/task/%d/status", aff_procfs,
		 (int)pid, (int)tid);
	r = status_field(path, "Cpus_allowed_list", val, sizeof(val));
	if (r < 0)
		return r;
	return cpulist_parse(val, out, NULL, 0) ? -EINVAL : 0;
}

int aff_schedstat(pid_t pid, pid_t tid, uint64_t *run_ns, uint64_t *wait_ns)
{
	char path[PATH_MAX], buf[256];
	unsigned long long run, wait;
	int r;

	snprintf(path, sizeof(path), "%s/%d/task/%d/schedstat", aff_procfs,
		 (int)pid, (int)tid);
	r = read_small_file(path, buf, sizeof(buf));
	if (r < 0)
		return r;
	if (sscanf(buf, "%llu %llu", &run, &wait) != 2)
		return -EINVAL;
	*run_ns = run;
	*wait_ns = wait;
	return 0;
}

/*
 * Mount point of the cgroup hierarchy holding `want` ("cpuset" for v1, or
 * NULL for cgroup2), and that mount's root inside the hierarchy.
 */
static int cgroup_mount(const char *want, char *mnt, size_t mlen,
			char *root, size_t rlen)
{
	char path[PATH_MAX], line[4096];
	FILE *f;
	int r = -ENOENT;

	snprintf(path, sizeof(path), "%s/self/mountinfo", aff_procfs);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		/* id parent maj:min root mountpoint opts [optional...] - fstype src superopts */
		char *sep = strstr(line, " - ");
		char froot[PATH_MAX], fmnt[PATH_MAX], fstype[64], src[256];
		char sopts[1024];

		if (!sep)
			continue;
		if (sscanf(line, "%*s %*s %*s %4095s %4095s", froot, fmnt) != 2)
			continue;
		if (sscanf(sep + 3, "%63s %255s %1023s", fstype, src, sopts) < 2)
			continue;
		if (want) {
			char *tok, *save = NULL;
			bool has = false;

			if (strcmp(fstype, "cgroup"))
				continue;
			for (tok = strtok_r(sopts, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save))
				if (!strcmp(tok, want))
					has = true;
			if (!has)
				continue;
		} else if (strcmp(fstype, "cgroup2")) {
			continue;
		}
		snprintf(mnt, mlen, "%s", fmnt);
		snprintf(root, rlen, "%s", froot);
		r = 0;
		break;
	}
	fclose(f);
	return r;
}

/* Try <mnt>/<cgpath relative to root>/<file>, walking up to the mount. */
static int read_cgroup_cpus(const char *mnt, const char *root,
			    const char *cgpath, const char *file,
			    struct cpuset *out)
{
	char rel[PATH_MAX], path[PATH_MAX * 2 + 64];
	size_t rootlen = strlen(root);

	if (strcmp(root, "/") && !strncmp(cgpath, root, rootlen) &&
	    (cgpath[rootlen] == '/' || cgpath[rootlen] == '\0'))
		cgpath += rootlen;
	snprintf(rel, sizeof(rel), "%s", cgpath);
	for (;;) {
		struct cpuset s;
		char *slash;

		snprintf(path, sizeof(path), "%s%s%s/%s", mnt,
			 rel[0] == '/' ? "" : "/", rel, file);
		if (aff_read_cpulist_file(path, &s) == 0 && !cs_empty(&s)) {
			*out = s;
			return 0;
		}
		slash = strrchr(rel, '/');
		if (!slash || rel[0] == '\0')
			return -ENOENT;
		*slash = '\0';
	}
}

int aff_cpuset_cpus(pid_t pid, pid_t tid, struct cpuset *out)
{
	char path[PATH_MAX], line[4096], mnt[PATH_MAX], root[PATH_MAX];
	char v1path[PATH_MAX] = "", v2path[PATH_MAX] = "";
	bool have_v1 = false, have_v2 = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%d/task/%d/cgroup", aff_procfs,
		 (int)pid, (int)tid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		/* hierarchy-id:controller-list:path */
		char *c1 = strchr(line, ':'), *c2;

		if (!c1 || !(c2 = strchr(c1 + 1, ':')))
			continue;
		*c1 = '\0';
		*c2 = '\0';
		c2[1 + strcspn(c2 + 1, "\n")] = '\0';
		if (!strcmp(line, "0") && c1[1] == '\0') {
			snprintf(v2path, sizeof(v2path), "%s", c2 + 1);
			have_v2 = true;
		} else {
			char *tok, *save = NULL;

			for (tok = strtok_r(c1 + 1, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save))
				if (!strcmp(tok, "cpuset")) {
					snprintf(v1path, sizeof(v1path), "%s",
						 c2 + 1);
					have_v1 = true;
				}
		}
	}
	fclose(f);
	if (have_v1 && !cgroup_mount("cpuset", mnt, sizeof(mnt), root,
				     sizeof(root)) &&
	    !read_cgroup_cpus(mnt, root, v1path, "cpuset.effective_cpus", out))
		return 0;
	if (have_v2 && !cgroup_mount(NULL, mnt, sizeof(mnt), root,
				     sizeof(root)) &&
	    !read_cgroup_cpus(mnt, root, v2path, "cpuset.cpus.effective", out))
		return 0;
	return -ENOENT;
}

/* ---- sched_{get,set}affinity ---------------------------------------- */

int aff_get(pid_t tid, struct cpuset *out)
{
	size_t sz = CPU_ALLOC_SIZE(CPUSET_MAX);
	cpu_set_t *m = CPU_ALLOC(CPUSET_MAX);

	if (!m)
		return -ENOMEM;
	CPU_ZERO_S(sz, m);
	if (sched_getaffinity(tid, sz, m)) {
		int e = -errno;

		CPU_FREE(m);
		return e;
	}
	cpuset_zero(out);
	for (int c = 0; c < CPUSET_MAX; c++)
		if (CPU_ISSET_S(c, sz, m))
			cpuset_set(out, c);
	CPU_FREE(m);
	return 0;
}

int aff_set(pid_t tid, const struct cpuset *set)
{
	size_t sz = CPU_ALLOC_SIZE(CPUSET_MAX);
	cpu_set_t *m = CPU_ALLOC(CPUSET_MAX);
	int c, r = 0;

	if (!m)
		return -ENOMEM;
	CPU_ZERO_S(sz, m);
	cs_for_each(c, set)
		CPU_SET_S(c, sz, m);
	if (sched_setaffinity(tid, sz, m))
		r = -errno;
	CPU_FREE(m);
	return r;
}

int aff_permitted(pid_t pid, pid_t tid, struct cpuset *out)
{
	struct cpuset online, cpuset;
	int r = aff_online_cpus(&online);

	if (r)
		return r;
	if (aff_cpuset_cpus(pid, tid, &cpuset) == 0)
		cs_and(out, &online, &cpuset);
	else
		*out = online;
	return 0;
}

int aff_check(pid_t pid, pid_t tid, const struct cpuset *want,
	      char *err, size_t errlen)
{
	struct cpuset online, cpuset, bad;
	char list[1024], have[1024];
	int r;

	if (cs_empty(want)) {
		vs_seterr(err, errlen, "empty CPU list");
		return -EINVAL;
	}
	r = aff_online_cpus(&online);
	if (r) {
		vs_seterr(err, errlen, "cannot read %s/devices/system/cpu/online: %s",
		          aff_sysfs, strerror(-r));
		return r;
	}
	cs_andnot(&bad, want, &online);
	if (!cs_empty(&bad)) {
		cpuset_format(&bad, list, sizeof(list));
		cpuset_format(&online, have, sizeof(have));
		vs_seterr(err, errlen, "CPU %s not online (online: %s)", list, have);
		return -EINVAL;
	}
	if (aff_cpuset_cpus(pid, tid, &cpuset) == 0) {
		cs_andnot(&bad, want, &cpuset);
		if (!cs_empty(&bad)) {
			cpuset_format(&bad, list, sizeof(list));
			cpuset_format(&cpuset, have, sizeof(have));
			vs_seterr(err, errlen,
			          "CPU %s outside the cpuset of thread %d (cpuset allows %s)",
			          list, (int)tid, have);
			return -EINVAL;
		}
	}
	return 0;
}

int aff_set_checked(pid_t pid, pid_t tid, const struct cpuset *want,
		    char *err, size_t errlen)
{
	struct cpuset got;
	char a[1024], b[1024];
	int r = aff_tid_in_pid(pid, tid);

	if (r <= 0) {
		vs_seterr(err, errlen, "thread %d is no longer part of process %d",
		          (int)tid, (int)pid);
		return r < 0 ? r : -ESRCH;
	}
	r = aff_set(tid, want);
	if (r == -EPERM) {
		vs_seterr(err, errlen,
		          "thread %d: sched_setaffinity: permission denied (need CAP_SYS_NICE or the same user)",
		          (int)tid);
		return r;
	}
	if (r == -EINVAL) {
		cpuset_format(want, a, sizeof(a));
		vs_seterr(err, errlen,
		          "thread %d: sched_setaffinity(%s): invalid (no CPU of the list is allowed by its cpuset or online)",
		          (int)tid, a);
		return r;
	}
	if (r == -ESRCH) {
		vs_seterr(err, errlen, "thread %d exited", (int)tid);
		return r;
	}
	if (r) {
		vs_seterr(err, errlen, "thread %d: sched_setaffinity: %s", (int)tid,
		          strerror(-r));
		return r;
	}
	r = aff_get(tid, &got);
	if (r == 0 && !cs_equal(&got, want)) {
		cpuset_format(want, a, sizeof(a));
		cpuset_format(&got, b, sizeof(b));
		vs_seterr(err, errlen,
		          "thread %d: asked for CPUs %s but the kernel set %s (cpuset or hotplug changed)",
		          (int)tid, a, b);
		return -EINVAL;
	}
	return 0;
}

/* ---- topology ------------------------------------------------------- */

static int read_int_file(const char *path, int *v)
{
	char buf[64];
	int r = read_small_file(path, buf, sizeof(buf));

	if (r < 0)
		return r;
	*v = atoi(buf);
	return 0;
}

void vs_topo_free(struct vs_topo *t)
{
	free(t->cpu);
	t->cpu = NULL;
	t->nr_cpus = 0;
	t->nr_nodes = 0;
}

int vs_topo_load(struct vs_topo *t)
{
	struct cpuset possible, online, isolated, s;
	char path[PATH_MAX];
	int r, c, last = -1;

	memset(t, 0, sizeof(*t));
	snprintf(path, sizeof(path), "%s/devices/system/cpu/possible",
		 aff_sysfs);
	r = aff_read_cpulist_file(path, &possible);
	if (r)
		return r;
	r = aff_online_cpus(&online);
	if (r)
		return r;
	r = aff_isolated_cpus(&isolated);
	if (r)
		return r;
	cs_for_each(c, &possible)
		last = c;
	if (last < 0)
		return -ENOENT;
	t->nr_cpus = last + 1;
	t->cpu = calloc((size_t)t->nr_cpus, sizeof(*t->cpu));
	if (!t->cpu)
		return -ENOMEM;
	t->nr_nodes = 1;
	for (c = 0; c < t->nr_cpus; c++) {
		struct vs_topo_cpu *tc = &t->cpu[c];
		char base[1024];

		tc->present = cpuset_isset(&possible, c);
		tc->online = cpuset_isset(&online, c);
		tc->isolated = cpuset_isset(&isolated, c);
		tc->core = c;
		tc->llc = c;
		tc->package = 0;
		tc->node = 0;
		if (!tc->present)
			continue;
		snprintf(base, sizeof(base), "%s/devices/system/cpu/cpu%d",
			 aff_sysfs, c);
		snprintf(path, sizeof(path), "%s/topology/thread_siblings_list",
			 base);
		if (aff_read_cpulist_file(path, &s) == 0 && cpuset_next(&s, 0) >= 0)
			tc->core = cpuset_next(&s, 0);
		snprintf(path, sizeof(path), "%s/topology/physical_package_id",
			 base);
		read_int_file(path, &tc->package);
		/* The highest cache index is the last-level cache. */
		for (int idx = 0; idx < 16; idx++) {
			snprintf(path, sizeof(path),
				 "%s/cache/index%d/shared_cpu_list", base, idx);
			if (aff_read_cpulist_file(path, &s))
				break;
			if (cpuset_next(&s, 0) >= 0)
				tc->llc = cpuset_next(&s, 0);
		}
	}
	/* NUMA: node<N>/cpulist for every node that exists. */
	snprintf(path, sizeof(path), "%s/devices/system/node/possible",
		 aff_sysfs);
	if (aff_read_cpulist_file(path, &s) == 0) {
		int n;

		cs_for_each(n, &s) {
			struct cpuset cpus;

			snprintf(path, sizeof(path),
				 "%s/devices/system/node/node%d/cpulist",
				 aff_sysfs, n);
			if (aff_read_cpulist_file(path, &cpus))
				continue;
			cs_for_each(c, &cpus)
				if (c < t->nr_cpus)
					t->cpu[c].node = n;
			if (n + 1 > t->nr_nodes)
				t->nr_nodes = n + 1;
		}
	}
	return 0;
}
