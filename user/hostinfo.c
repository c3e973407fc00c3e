// SPDX-License-Identifier: GPL-2.0
/*
 * Host facts and the VM lint behind "vcpustat host". Every file is
 * optional: a missing one leaves its field "unknown" rather than failing,
 * because containers and old kernels hide different parts of /sys.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "fmt.h"
#include "hostinfo.h"
#include "view.h"

static int read_file(const char *root, const char *rel, char *buf,
		     size_t len)
{
	char path[PATH_MAX];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	return 0;
}

static int read_int(const char *root, const char *rel, long long *v)
{
	char buf[64], *end;

	if (read_file(root, rel, buf, sizeof(buf)))
		return -1;
	errno = 0;
	*v = strtoll(buf, &end, 10);
	return errno || end == buf ? -1 : 0;
}

static int read_cpulist(const char *root, const char *rel,
			struct cpuset *set)
{
	/* cpulists of big machines are long, but bounded by CPUSET_MAX */
	static char buf[32768];

	cpuset_zero(set);
	if (read_file(root, rel, buf, sizeof(buf)))
		return -1;
	return cpulist_parse(buf, set, NULL, 0) ? -1 : 0;
}

static bool exists(const char *root, const char *rel)
{
	char path[PATH_MAX];
	FILE *f;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	d = opendir(path);
	if (d) {
		closedir(d);
		return true;
	}
	f = fopen(path, "re");
	if (f) {
		fclose(f);
		return true;
	}
	return false;
}

static void read_cpuinfo(struct host_info *hi)
{
	char path[PATH_MAX], *line = NULL;
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cpuinfo", hi->procfs);
	f = fopen(path, "re");
	if (!f)
		return;
	hi->has_cpuinfo = true;
	while (getline(&line, &cap, f) > 0) {
		char *colon = strchr(line, ':');

		if (!colon)
			continue;
		if (!strncmp(line, "model name", 10) && !hi->model[0]) {
			char *v = colon + 1;

			while (*v == ' ')
				v++;
			v[strcspn(v, "\n")] = '\0';
			snprintf(hi->model, sizeof(hi->model), "%s", v);
		} else if (!strncmp(line, "CPU architecture", 16) ||
			   !strncmp(line, "CPU implementer", 15)) {
			hi->arm64 = true;
		} else if (!strncmp(line, "flags", 5)) {
			/* whole words only: "svm" must not match "svm_lock" */
			char *save = NULL, *tok;

			for (tok = strtok_r(colon + 1, " \t\n", &save); tok;
			     tok = strtok_r(NULL, " \t\n", &save)) {
				if (!strcmp(tok, "vmx"))
					hi->vmx = true;
				else if (!strcmp(tok, "svm"))
					hi->svm = true;
				else if (!strcmp(tok, "hypervisor"))
					hi->hypervisor = true;
			}
			break;	/* the first CPU is representative */
		}
	}
	free(line);
	fclose(f);
}

static void read_topology(struct host_info *hi)
{
	const char *cpu = "devices/system/cpu";
	char rel[256], buf[64];
	int c, max = -1;
	long long v;

	if (read_cpulist(hi->sysfs, "devices/system/cpu/possible",
			 &hi->possible))
		cpuset_zero(&hi->possible);
	if (read_cpulist(hi->sysfs, "devices/system/cpu/online", &hi->online))
		cpuset_zero(&hi->online);
	for (c = cpuset_next(&hi->possible, 0); c >= 0;
	     c = cpuset_next(&hi->possible, (unsigned int)c + 1))
		max = c;
	for (c = cpuset_next(&hi->online, 0); c >= 0;
	     c = cpuset_next(&hi->online, (unsigned int)c + 1))
		if (c > max)
			max = c;
	hi->nr_slots = (unsigned int)(max + 1);
	hi->smt_active = -1;
	if (!read_int(hi->sysfs, "devices/system/cpu/smt/active", &v))
		hi->smt_active = v != 0;
	if (!read_file(hi->sysfs, "devices/system/cpu/smt/control", buf,
		       sizeof(buf)))
		snprintf(hi->smt_control, sizeof(hi->smt_control), "%.*s",
			 (int)sizeof(hi->smt_control) - 1, buf);
	if (!hi->nr_slots)
		return;
	hi->pkg_of = malloc(hi->nr_slots * sizeof(int));
	hi->core_of = malloc(hi->nr_slots * sizeof(int));
	hi->siblings = calloc(hi->nr_slots, sizeof(struct cpuset));
	if (!hi->pkg_of || !hi->core_of || !hi->siblings) {
		free(hi->pkg_of);
		free(hi->core_of);
		free(hi->siblings);
		hi->pkg_of = hi->core_of = NULL;
		hi->siblings = NULL;
		hi->nr_slots = 0;
		return;
	}
	for (unsigned int i = 0; i < hi->nr_slots; i++) {
		hi->pkg_of[i] = hi->core_of[i] = -1;
		cpuset_set(&hi->siblings[i], i);
	}
	for (c = cpuset_next(&hi->online, 0); c >= 0;
	     c = cpuset_next(&hi->online, (unsigned int)c + 1)) {
		snprintf(rel, sizeof(rel), "%s/cpu%d/topology/physical_package_id",
			 cpu, c);
		if (!read_int(hi->sysfs, rel, &v))
			hi->pkg_of[c] = (int)v;
		snprintf(rel, sizeof(rel), "%s/cpu%d/topology/core_id", cpu, c);
		if (!read_int(hi->sysfs, rel, &v))
			hi->core_of[c] = (int)v;
		snprintf(rel, sizeof(rel),
			 "%s/cpu%d/topology/thread_siblings_list", cpu, c);
		if (read_cpulist(hi->sysfs, rel, &hi->siblings[c])) {
			cpuset_zero(&hi->siblings[c]);
			cpuset_set(&hi->siblings[c], (unsigned int)c);
		}
	}
	/* sockets: distinct packages; cores: distinct (package, core) */
	{
		int threads = 0, sockets = 0, cores = 0;

		for (c = cpuset_next(&hi->online, 0); c >= 0;
		     c = cpuset_next(&hi->online, (unsigned int)c + 1)) {
			bool new_pkg = true, new_core = true;
			int t = (int)cpuset_count(&hi->siblings[c]);

			if (t > threads)
				threads = t;
			if (hi->pkg_of[c] < 0)
				continue;
			for (int d = cpuset_next(&hi->online, 0); d >= 0 && d < c;
			     d = cpuset_next(&hi->online, (unsigned int)d + 1)) {
				if (hi->pkg_of[d] == hi->pkg_of[c]) {
					new_pkg = false;
					if (hi->core_of[d] == hi->core_of[c])
						new_core = false;
				}
			}
			sockets += new_pkg;
			cores += new_core;
		}
		hi->sockets = sockets;
		hi->cores = cores;
		hi->threads_per_core = threads;
	}
}

static void read_numa(struct host_info *hi)
{
	struct cpuset online;
	char rel[128], buf[4096];
	int n;

	if (read_cpulist(hi->sysfs, "devices/system/node/online", &online))
		return;
	for (n = cpuset_next(&online, 0); n >= 0 && hi->nr_nodes < HI_MAX_NODES;
	     n = cpuset_next(&online, (unsigned int)n + 1)) {
		struct hi_node *nd = &hi->nodes[hi->nr_nodes++];
		char *p;

		nd->id = n;
		snprintf(rel, sizeof(rel), "devices/system/node/node%d/cpulist", n);
		read_cpulist(hi->sysfs, rel, &nd->cpus);
		snprintf(rel, sizeof(rel), "devices/system/node/node%d/meminfo", n);
		if (!read_file(hi->sysfs, rel, buf, sizeof(buf)) &&
		    (p = strstr(buf, "MemTotal:")))
			nd->mem_total_kb = strtoull(p + 9, NULL, 10);
	}
}

static void read_isolation(struct host_info *hi)
{
	char buf[4096], *p;

	hi->has_isolated = !read_cpulist(hi->sysfs,
					 "devices/system/cpu/isolated",
					 &hi->isolated);
	hi->has_nohz_full = !read_cpulist(hi->sysfs,
					  "devices/system/cpu/nohz_full",
					  &hi->nohz_full);
	if (!read_file(hi->procfs, "cmdline", buf, sizeof(buf)) &&
	    (p = strstr(buf, "isolcpus=")) && (p == buf || p[-1] == ' ')) {
		p += 9;
		snprintf(hi->cmdline_isolcpus, sizeof(hi->cmdline_isolcpus),
			 "%.*s", (int)strcspn(p, " "), p);
	}
}

static int cmp_hp(const void *a, const void *b)
{
	const struct hi_hpage *x = a, *y = b;

	return x->size_kb < y->size_kb ? -1 : x->size_kb > y->size_kb;
}

static void read_hugepages(struct host_info *hi)
{
	char path[PATH_MAX], rel[512], buf[256];
	struct dirent *de;
	long long v;
	DIR *d;

	snprintf(path, sizeof(path), "%s/kernel/mm/hugepages", hi->sysfs);
	d = opendir(path);
	if (d) {
		while ((de = readdir(d)) && hi->nr_hpages < HI_MAX_HPAGES) {
			struct hi_hpage *hp;
			unsigned long long kb;

			if (sscanf(de->d_name, "hugepages-%llukB", &kb) != 1)
				continue;
			hp = &hi->hpages[hi->nr_hpages++];
			hp->size_kb = kb;
			snprintf(rel, sizeof(rel),
				 "kernel/mm/hugepages/%s/nr_hugepages", de->d_name);
			if (!read_int(hi->sysfs, rel, &v))
				hp->total = (uint64_t)v;
			snprintf(rel, sizeof(rel),
				 "kernel/mm/hugepages/%s/free_hugepages", de->d_name);
			if (!read_int(hi->sysfs, rel, &v))
				hp->free = (uint64_t)v;
		}
		closedir(d);
		qsort(hi->hpages, hi->nr_hpages, sizeof(hi->hpages[0]), cmp_hp);
	}
	/* "always [madvise] never": the bracketed word is the mode */
	if (!read_file(hi->sysfs, "kernel/mm/transparent_hugepage/enabled",
		       buf, sizeof(buf))) {
		char *a = strchr(buf, '['), *b = a ? strchr(a, ']') : NULL;

		if (a && b)
			snprintf(hi->thp, sizeof(hi->thp), "%.*s",
				 (int)(b - a - 1), a + 1);
	}
}

static void read_module(struct host_info *hi, struct hi_module *m,
			const char *name, const char *const *params)
{
	char rel[256];

	m->name = name;
	snprintf(rel, sizeof(rel), "module/%s", name);
	m->loaded = exists(hi->sysfs, rel);
	for (size_t i = 0; params && params[i] && i < HI_MAX_PARAMS; i++) {
		struct hi_param *p = &m->params[m->nr_params++];

		p->name = params[i];
		snprintf(rel, sizeof(rel), "module/%s/parameters/%s", name,
			 params[i]);
		if (read_file(hi->sysfs, rel, p->value, sizeof(p->value)))
			p->value[0] = '\0';
	}
}

int host_info_read_at(struct host_info *hi, const char *sysfs,
		      const char *procfs)
{
	static const char *const kvm_p[] = { "halt_poll_ns",
		"tdp_mmu", "nx_huge_pages", NULL };
	static const char *const intel_p[] = { "nested", "ept", "vpid",
		"enable_apicv", "pml", NULL };
	static const char *const amd_p[] = { "nested", "npt", "avic",
		"sev", NULL };

	memset(hi, 0, sizeof(*hi));
	snprintf(hi->sysfs, sizeof(hi->sysfs), "%s", sysfs);
	snprintf(hi->procfs, sizeof(hi->procfs), "%s", procfs);
	read_cpuinfo(hi);
	if (hi->arm64)
		host_read_arm64(hi);
	read_topology(hi);
	read_numa(hi);
	read_isolation(hi);
	read_hugepages(hi);
	read_module(hi, &hi->kvm, "kvm", kvm_p);
	read_module(hi, &hi->kvm_intel, "kvm_intel", intel_p);
	read_module(hi, &hi->kvm_amd, "kvm_amd", amd_p);
	read_module(hi, &hi->vcpustat, "vcpustat", NULL);
	if (read_file(hi->sysfs, "module/vcpustat/version",
		      hi->vcpustat_sysfs_version,
		      sizeof(hi->vcpustat_sysfs_version)))
		hi->vcpustat_sysfs_version[0] = '\0';
	return 0;
}

int host_info_read(struct host_info *hi)
{
	const char *s = getenv("VCPUSTAT_SYSFS");
	const char *p = getenv("VCPUSTAT_PROCFS");

	return host_info_read_at(hi, s && *s ? s : "/sys",
				 p && *p ? p : "/proc");
}

void host_info_free(struct host_info *hi)
{
	free(hi->pkg_of);
	free(hi->core_of);
	free(hi->siblings);
	hi->pkg_of = hi->core_of = NULL;
	hi->siblings = NULL;
}

int host_cpu_node(const struct host_info *hi, unsigned int cpu)
{
	for (size_t i = 0; i < hi->nr_nodes; i++)
		if (cpuset_isset(&hi->nodes[i].cpus, cpu))
			return hi->nodes[i].id;
	return -1;
}

/* ------------------------------------------------------------------ */
/* Lint                                                                */

int host_affinity(const struct host_info *hi, uint32_t pid, uint32_t tid,
		  struct cpuset *set)
{
	cpuset_zero(set);
	if (!tid)
		return -1;
	if (strcmp(hi->procfs, "/proc")) {
		/* a redirected procfs (tests): Cpus_allowed_list */
		char rel[128], buf[8192], *p;

		snprintf(rel, sizeof(rel), "%u/task/%u/status", pid, tid);
		if (read_file(hi->procfs, rel, buf, sizeof(buf)) ||
		    !(p = strstr(buf, "Cpus_allowed_list:")))
			return -1;
		p += 18;
		p[strcspn(p, "\n")] = '\0';
		cpuset_zero(set);
		return cpulist_parse(p, set, NULL, 0) ? -1 : 0;
	}
	{
		cpu_set_t *cs = CPU_ALLOC(CPUSET_MAX);
		size_t sz = CPU_ALLOC_SIZE(CPUSET_MAX);

		if (!cs)
			return -1;
		CPU_ZERO_S(sz, cs);
		/* the tid alone: a vCPU thread's affinity is its own */
		if (sched_getaffinity((pid_t)tid, sz, cs)) {
			CPU_FREE(cs);
			return -1;
		}
		for (unsigned int c = 0; c < CPUSET_MAX; c++)
			if (CPU_ISSET_S(c, sz, cs))
				cpuset_set(set, c);
		CPU_FREE(cs);
	}
	return 0;
}

static int add(struct lint *l, enum lint_sev sev, const char *check,
	       const struct vs_vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int add(struct lint *l, enum lint_sev sev, const char *check,
	       const struct vs_vm *vm, const char *fmt, ...)
{
	struct lint_item *it, *items;
	va_list ap;

	items = realloc(l->items, (l->n + 1) * sizeof(*items));
	if (!items)
		return -ENOMEM;
	l->items = items;
	it = &items[l->n++];
	memset(it, 0, sizeof(*it));
	it->sev = sev;
	it->check = check;
	if (vm) {
		it->has_vm = true;
		it->vm_id = vm->id;
	}
	va_start(ap, fmt);
	vsnprintf(it->msg, sizeof(it->msg), fmt, ap);
	va_end(ap);
	return 0;
}

static const char *vm_label(const struct vs_vm *vm, char *buf, size_t len)
{
	char comm[VS_COMM_LEN];

	snprintf(buf, len, "VM %" PRIu64 " (pid %u %s)", vm->id, vm->pid,
		 vm->comm[0] ? fmt_safe(comm, sizeof(comm), vm->comm) : "?");
	return buf;
}

static bool siblings(const struct host_info *hi, unsigned int a,
		     unsigned int b)
{
	return a != b && a < hi->nr_slots &&
	       cpuset_isset(&hi->siblings[a], b);
}

static int lint_vm(const struct host_info *hi, const struct vs_vm *vm,
		   affinity_fn aff, struct lint *l, struct cpuset *ran_on,
		   struct cpuset *pinned_on)
{
	unsigned int online = cpuset_count(&hi->online);
	size_t n = vm->nr_vcpus;
	int *pin = NULL;
	char lbl[96];
	int err = 0;

	vm_label(vm, lbl, sizeof(lbl));
	cpuset_zero(ran_on);
	cpuset_zero(pinned_on);
	if (online && (vm->tracked_vcpus > online || n > online))
		err = add(l, LINT_WARN, "vcpus-exceed-cpus", vm,
			  "%s has %zu vCPUs but the host has %u CPUs online",
			  lbl, n > vm->tracked_vcpus ? n : vm->tracked_vcpus,
			  online);
	if (n) {
		pin = malloc(n * sizeof(*pin));
		if (!pin)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const struct vs_vcpu *vc = &vm->vcpus[i];
		struct cpuset set;

		pin[i] = -1;
		for (size_t k = 0; k < vc->nr_residency; k++)
			if (vc->residency[k].exits)
				cpuset_set(ran_on, vc->residency[k].cpu);
		if (aff && aff(hi, vm->pid, vc->tid, &set) == 0 &&
		    cpuset_count(&set) == 1) {
			pin[i] = cpuset_next(&set, 0);
			cpuset_set(pinned_on, (unsigned int)pin[i]);
		}
	}
	/* pinned vCPUs of one VM sharing a CPU or a core */
	for (size_t i = 0; i < n && !err; i++) {
		for (size_t j = i + 1; j < n && !err; j++) {
			if (pin[i] < 0 || pin[j] < 0)
				continue;
			if (pin[i] == pin[j])
				err = add(l, LINT_WARN, "same-cpu-pinned", vm,
					  "%s: vCPUs %u and %u are both pinned to CPU %d",
					  lbl, vm->vcpus[i].vcpu_id,
					  vm->vcpus[j].vcpu_id, pin[i]);
			else if (siblings(hi, (unsigned int)pin[i],
					  (unsigned int)pin[j]))
				err = add(l, LINT_WARN, "smt-pinned", vm,
					  "%s: vCPUs %u and %u are pinned to SMT siblings CPU %d and CPU %d (they share a core)",
					  lbl, vm->vcpus[i].vcpu_id,
					  vm->vcpus[j].vcpu_id, pin[i], pin[j]);
		}
	}
	free(pin);
	/* NUMA spread, from where the vCPUs actually entered the guest */
	if (!err && hi->nr_nodes > 1) {
		struct cpuset nodes;
		char list[256];

		cpuset_zero(&nodes);
		for (int c = cpuset_next(ran_on, 0); c >= 0;
		     c = cpuset_next(ran_on, (unsigned int)c + 1)) {
			int nd = host_cpu_node(hi, (unsigned int)c);

			if (nd >= 0)
				cpuset_set(&nodes, (unsigned int)nd);
		}
		if (cpuset_count(&nodes) > 1)
			err = add(l, LINT_WARN, "numa-spread", vm,
				  "%s: vCPUs ran on NUMA nodes %s (memory access from some vCPUs is remote)",
				  lbl, cpuset_format(&nodes, list, sizeof(list)));
	}
	return err;
}

int host_lint(const struct host_info *hi, const struct vs_snapshot *snap,
	      affinity_fn aff, struct lint *l)
{
	struct cpuset iso, *ran = NULL, *pinned = NULL;
	int err = 0;

	memset(l, 0, sizeof(*l));
	l->cpus = cpuset_count(&hi->online);
	if (!snap)
		return 0;
	l->vms = (unsigned int)snap->nr_vms;
	for (size_t i = 0; i < snap->nr_vms; i++) {
		const struct vs_vm *vm = &snap->vms[i];

		l->vcpus += vm->tracked_vcpus > vm->nr_vcpus ?
			    vm->tracked_vcpus : (unsigned int)vm->nr_vcpus;
	}
	l->overcommit = l->cpus ? (double)l->vcpus / l->cpus : 0;
	if (l->cpus && l->vcpus > l->cpus)
		err = add(l, LINT_WARN, "overcommit", NULL,
			  "%u vCPUs on %u CPUs: over-commit ratio %.2f",
			  l->vcpus, l->cpus, l->overcommit);
	if (!snap->nr_vms || err)
		return err;

	ran = calloc(snap->nr_vms, sizeof(*ran));
	pinned = calloc(snap->nr_vms, sizeof(*pinned));
	if (!ran || !pinned) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < snap->nr_vms && !err; i++)
		err = lint_vm(hi, &snap->vms[i], aff, l, &ran[i], &pinned[i]);

	/* isolated CPUs used by vCPUs of more than one VM */
	iso = hi->isolated;
	for (size_t w = 0; w < CPUSET_MAX / 64; w++)
		iso.bits[w] |= hi->nohz_full.bits[w];
	for (int c = cpuset_next(&iso, 0); c >= 0 && !err;
	     c = cpuset_next(&iso, (unsigned int)c + 1)) {
		char ids[128];
		size_t off = 0;
		unsigned int users = 0;

		ids[0] = '\0';
		for (size_t i = 0; i < snap->nr_vms; i++) {
			if (!cpuset_isset(&ran[i], (unsigned int)c) &&
			    !cpuset_isset(&pinned[i], (unsigned int)c))
				continue;
			users++;
			if (off < sizeof(ids))
				off += (size_t)snprintf(ids + off,
					sizeof(ids) - off, "%s%" PRIu64,
					users > 1 ? ", " : "",
					snap->vms[i].id);
		}
		if (users > 1)
			err = add(l, LINT_WARN, "isolated-shared", NULL,
				  "isolated CPU %d is used by vCPUs of %u VMs (VM ids %s)",
				  c, users, ids);
	}
out:
	free(ran);
	free(pinned);
	return err;
}

int host_lint_wait(const struct vs_snapshot *snap,
		   const struct vs_snapshot *prev, const char *window,
		   struct lint *l)
{
	for (size_t i = 0; snap && i < snap->nr_vms; i++) {
		const struct vs_vm *vm = &snap->vms[i];
		struct vs_budget cur = { 0 }, old = { 0 };
		double pct[VCPUSTAT_STATE_MAX + 1];
		char lbl[96];

		for (size_t j = 0; j < vm->nr_vcpus; j++) {
			const struct vs_vcpu *vc = &vm->vcpus[j];
			const struct vs_vcpu *pv = vcpu_prev(vc, prev);

			vs_budget_add(&cur, &vc->budget);
			vs_budget_add(&old, pv ? &pv->budget : NULL);
		}
		if (!vs_budget_pct(&cur, prev ? &old : NULL, pct) ||
		    pct[VCPUSTAT_STATE_WAIT] < VS_LINT_WAIT_PCT)
			continue;
		vm_label(vm, lbl, sizeof(lbl));
		if (add(l, LINT_WARN, "vcpu-wait", vm,
			"%s: vCPUs waited %.0f %% of %s for a pCPU",
			lbl, pct[VCPUSTAT_STATE_WAIT], window))
			return -ENOMEM;
	}
	return 0;
}

void lint_free(struct lint *l)
{
	free(l->items);
	memset(l, 0, sizeof(*l));
}
