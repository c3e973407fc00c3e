// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the autopin policy (autopin_policy.c) on synthetic
 * topologies: 2 sockets x 2 cores x 2 threads, isolated CPUs, two VMs
 * competing, run-queue hysteresis, dry-run parity, lifecycle.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autopin_policy.h"
#include "harness.h"

#define SEC 1000000000ULL

/*
 * 2 sockets x 2 cores x 2 threads: CPUs 0-3 on node 0 (LLC 0), 4-7 on
 * node 1 (LLC 4); SMT pairs (0,1) (2,3) (4,5) (6,7).
 */
static struct vs_topo_cpu topo8_cpu[8];
static struct vs_topo topo8 = { .nr_cpus = 8, .nr_nodes = 2, .cpu = topo8_cpu };

static void topo8_init(void)
{
	for (int c = 0; c < 8; c++) {
		topo8_cpu[c] = (struct vs_topo_cpu){
			.present = 1, .online = 1, .isolated = 0,
			.node = c / 4, .core = c & ~1, .llc = c & ~3,
			.package = c / 4,
		};
	}
}

/* A test's view of one vCPU: what the module and /proc would report. */
struct fake_vcpu {
	uint64_t vm;
	uint32_t id;
	uint32_t tid;
	uint64_t migr, remote;
	uint64_t resid[8];
	struct cpuset aff;	/* what sched_getaffinity would say */
	uint64_t rq_wait;
};

static void fv_init(struct fake_vcpu *f, uint64_t vm, uint32_t id,
		    uint32_t tid, const char *cpus)
{
	memset(f, 0, sizeof(*f));
	f->vm = vm;
	f->id = id;
	f->tid = tid;
	T_ASSERT(cpulist_parse(cpus, &f->aff, NULL, 0) == 0);
}

static void feed(struct ap_policy *p, const struct fake_vcpu *f, uint64_t now)
{
	struct vs_residency r[8];
	struct ap_sample s = { 0 };
	size_t n = 0;

	for (int c = 0; c < 8; c++)
		if (f->resid[c])
			r[n++] = (struct vs_residency){ .cpu = (uint32_t)c,
							.exits = f->resid[c] };
	s.vm_id = f->vm;
	s.vcpu_id = f->id;
	s.tid = f->tid;
	s.pcpu = VS_NO_CPU;
	s.migrations = f->migr;
	s.migr_remote = f->remote;
	s.residency = r;
	s.nr_residency = n;
	s.have_affinity = true;
	s.affinity = f->aff;
	s.have_rq = true;
	s.rq_wait_ns = f->rq_wait;
	T_ASSERT(ap_sample(p, &s, now) == 0);
}

/* Run the vCPU "hopping": n migrations spread over cpus, most on top. */
static void hop(struct fake_vcpu *f, uint64_t n, int top, const char *others)
{
	struct cpuset o;
	int c, k = 0;

	f->migr += n;
	f->resid[top] += 100 * n;
	T_ASSERT(cpulist_parse(others, &o, NULL, 0) == 0);
	cs_for_each(c, &o)
		f->resid[c] += 10 * (uint64_t)++k;
}

static const struct ap_decision *take(struct ap_policy *p, size_t *n)
{
	return ap_take(p, n);
}

/* Apply decisions the way a real run would, into the fake vCPUs. */
static void apply(const struct ap_decision *d, size_t n, struct fake_vcpu **fv,
		  size_t nfv)
{
	for (size_t i = 0; i < n; i++) {
		if (d[i].action != AP_PIN && d[i].action != AP_MOVE &&
		    d[i].action != AP_RESTORE)
			continue;
		for (size_t j = 0; j < nfv; j++)
			if (fv[j]->vm == d[i].vm_id && fv[j]->id == d[i].vcpu_id &&
			    fv[j]->tid == d[i].tid)
				fv[j]->aff = d[i].cpus;
	}
}

static struct ap_policy *mkpol(const struct ap_config *cfg)
{
	struct ap_policy *p;

	topo8_init();
	p = ap_new(cfg, &topo8);
	T_ASSERT(p != NULL);
	return p;
}

static struct ap_config defcfg(void)
{
	struct ap_config c;

	ap_config_default(&c);
	return c;
}

/* ---- triggers -------------------------------------------------------- */

T_TEST(policy_rate_trigger_pins_to_most_resident)
{
	struct ap_config cfg = defcfg();
	struct ap_policy *p = mkpol(&cfg);
	struct fake_vcpu v;
	const struct ap_decision *d;
	char line[512];
	size_t n;
	int home;

	T_ASSERT(ap_vm_add(p, 1, 100) == 0);
	fv_init(&v, 1, 0, 101, "0-7");
	feed(p, &v, 0);
	ap_decide(p, 0);
	take(p, &n);
	T_EQ(n, 0);
	T_EQ(ap_vcpu_state(p, 1, 0, NULL), AP_ST_FLOATING);

	hop(&v, 20, 2, "0,3");
	feed(p, &v, 5 * SEC);
	ap_decide(p, 5 * SEC);
	d = take(p, &n);
	T_EQ(n, 1);
	T_EQ(d[0].action, AP_PIN);
	T_EQ(d[0].reason, AP_R_RATE);
	T_EQ(d[0].to, 2);
	T_EQ(d[0].migrations, 20);
	T_EQ(d[0].window_ns, 5 * SEC);
	T_EQ(d[0].top_cpu, 2);
	T_EQ(d[0].home_exits, 2000);
	T_EQ(d[0].total_exits, 2030);
	T_EQ(cpuset_count(&d[0].cpus), 1);
	T_ASSERT(cpuset_isset(&d[0].cpus, 2));
	T_EQ(d[0].pid, 100);
	T_EQ(d[0].tid, 101);
	ap_decision_format(&d[0], line, sizeof(line));
	T_ASSERT(strstr(line, "pin vm 1 pid 100 vcpu 0 tid 101") != NULL);
	T_ASSERT(strstr(line, "rate: 20 migrations (0 cross-node) in 5.00s, max 10") != NULL);
	T_ASSERT(strstr(line, "cpu 2: 99% of 2030 exits") != NULL);
	T_EQ(ap_vcpu_state(p, 1, 0, &home), AP_ST_PINNED);
	T_EQ(home, 2);

	/* Applied: the thread's affinity is now {2}; nothing more happens. */
	cpuset_zero(&v.aff);
	cpuset_set(&v.aff, 2);
	for (int w = 2; w < 6; w++) {
		v.resid[2] += 1000;
		feed(p, &v, (uint64_t)w * 5 * SEC);
		ap_decide(p, (uint64_t)w * 5 * SEC);
		take(p, &n);
		T_EQ(n, 0);
	}
	ap_free(p);
}

T_TEST(policy_at_threshold_no_pin_and_windows_reset)
{
	struct ap_config cfg = defcfg();
	struct ap_policy *p = mkpol(&cfg);
	struct fake_vcpu v;
	size_t n;

	ap_vm_add(p, 1, 100);
	fv_init(&v, 1, 0, 101, "0-7");
	feed(p, &v, 0);
	/* Exactly max (10) per window for 4 windows: never more than max. */
	for (int w = 1; w <= 4; w++) {
		hop(&v, 10, 1, "2");
		feed(p, &v, (uint64_t)w * 5 * SEC);
		ap_decide(p, (uint64_t)w * 5 * SEC);
		take(p, &n);
		T_EQ(n, 0);
	}
	/* A late sample (10 s window) with 15: 7.5 per 5 s, below max. */
	hop(&v, 15, 1, "2");
	feed(p, &v, 30 * SEC);
	ap_decide(p, 30 * SEC);
	take(p, &n);
	T_EQ(n, 0);
	/* 11 in one window: pin. */
	hop(&v, 11, 1, "2");
	feed(p, &v, 35 * SEC);
	ap_decide(p, 35 * SEC);
	take(p, &n);
	T_EQ(n, 1);
	ap_free(p);
}

T_TEST(policy_numa_trigger_and_dominant_node)
{
	struct ap_config cfg = defcfg();
	struct ap_policy *p = mkpol(&cfg);
	struct fake_vcpu a, b;
	const struct ap_decision *d;
	size_t n;

	ap_vm_add(p, 1, 100);
	fv_init(&a, 1, 0, 101, "0-7");
	fv_init(&b, 1, 1, 102, "0-7");
	feed(p, &a, 0);
	feed(p, &b, 0);
	/* vCPU 0 lives on node 0 (lots of exits there, no migrations). */
	a.resid[1] += 100000;
	feed(p, &a, 5 * SEC);
	/* vCPU 1 migrated once, to node 1, and ran mostly on cpu 5. */
	b.migr += 1;
	b.remote += 1;
	b.resid[5] += 900;
	b.resid[2] += 100;
	feed(p, &b, 5 * SEC);
	ap_decide(p, 5 * SEC);
	d = take(p, &n);
	T_EQ(n, 1);
	T_EQ(d[0].action, AP_PIN);
	T_EQ(d[0].reason, AP_R_NUMA);
	T_EQ(d[0].vcpu_id, 1);
	T_EQ(d[0].remote, 1);
	T_EQ(d[0].vm_node, 0);
	T_EQ(d[0].top_cpu, 5);
	/* Node 0 wins over residency; cpu 2 has the most exits there. */
	T_EQ(d[0].to, 2);
	T_EQ(d[0].node, 0);
	T_ASSERT(strstr(d[0].why, "off the VM's node 0") != NULL);

	/* numa_trigger off: one remote migration is just one migration. */
	cfg.numa_trigger = false;
	ap_free(p);
	p = mkpol(&cfg);
	ap_vm_add(p, 1, 100);
	fv_init(&b, 1, 1, 102, "0-7");
	feed(p, &b, 0);
	b.migr = b.remote = 1;
	feed(p, &b, 5 * SEC);
	ap_decide(p, 5 * SEC);
	take(p, &n);
	T_EQ(n, 0);
	ap_free(p);
}

T_TEST(policy_early_trigger_from_events)
{
	struct ap_config cfg = defcfg();
	struct ap_policy *p = mkpol(&cfg);
	struct fake_vcpu v;
	const struct ap_decision *d;
	size_t n;

	ap_vm_add(p, 1, 100);
	fv_init(&v, 1, 0, 101, "0-7");
	/* Unknown vCPU: no request. */
	T_ASSERT(!ap_migration(p, 1, 0, VCPUSTAT_DIST_LLC, 1, 0));
	feed(p, &v, 0);
	for (int i = 0; i < 10; i++)
		T_ASSERT(!ap_migration(p, 1, 0, VCPUSTAT_DIST_LLC, 1, SEC));
	/* The 11th asks for an early snapshot, once. */
	T_ASSERT(ap_migration(p, 1, 0, VCPUSTAT_DIST_LLC, 1, SEC));
	T_ASSERT(!ap_migration(p, 1, 0, VCPUSTAT_DIST_LLC, 5, SEC));
	hop(&v, 16, 3, "1");
	feed(p, &v, SEC + SEC / 2);
	ap_decide(p, SEC + SEC / 2);
	d = take(p, &n);
	T_EQ(n, 1);
	T_EQ(d[0].action, AP_PIN);
	T_EQ(d[0].window_ns, SEC + SEC / 2);
	T_EQ(d[0].to, 3);
	/* Pinned: events no longer ask. */
	T_ASSERT(!ap_migration(p, 1, 0, VCPUSTAT_DIST_REMOTE, 50, 2 * SEC));

	/* A cross-node event asks at once (another vCPU). */
	fv_init(&v, 1, 1, 102, "0-7");
	feed(p, &v, 2 * SEC);
	T_ASSERT(ap_migration(p, 1, 1, VCPUSTAT_DIST_REMOTE, 1, 2 * SEC));
	ap_free(p);
}

/* ---- constraints ------------------------------------------------------ */

T_TEST(policy_same_vm_never_shares_and_smt)
{
	struct ap_config cfg = defcfg();
	struct ap_policy *p = mkpol(&cfg);
	struct fake_vcpu v[3];
	const struct ap_decision *d;
	size_t n;

	ap_vm_add(p, 1, 100);
	for (int i = 0; i < 3; i++) {
		fv_init(&v[i], 1, (uint32_t)i, 101 + (uint32_t)i, "0-7");
		feed(p, &v[i], 0);
		hop(&v[i], 20, 2, "0");	/* all like cpu 2 best */
		feed(p, &v[i], 5 * SEC);
	}
	ap_decide(p, 5 * SEC);
	d = take(p, &n);
	T_EQ(n, 3);
	T_EQ(d[0].to, 2);
	/* Next: the CPU it ran on second most (0), then nearest to 2. */
	T_EQ(d[1].to, 0);
	T_ASSERT(strstr(d[1].why, "cpu 2 is home to vcpu 0 of this VM") != NULL);
	T_EQ(d[2].to, 3);	/* 0 taken; SMT sibling of 2 is nearest */
	ap_free(p);

	/* --no-smt-share: keep off each other's siblings. */
	cfg.no_smt_share = true;
	p = mkpol(&cfg);
	ap_vm_add(p, 1, 100);
	for (int i = 0; i < 3; i++) {
		fv_init(&v[i], 1, (uint32_t)i, 101 + (uint32_t)i, "0-7");
		feed(p, &v[i], 0);
		hop(&v[i], 20, i == 2 ? 3 : 2, i == 2 ? "2" : "3");
		feed(p, &v[i], 5 * SEC);
	}
	ap_decide(p, 5 * SEC);
	d = take(p, &n);
	T_EQ(n, 3);
	T_EQ(d[0].to, 2);
	T_EQ(d[1].to, 0);	/* 3 is 2's sibling; 0 shares the LLC */
	T_ASSERT(strstr(d[1].why, "cpu 2 is home to vcpu 0") != NULL);
	T_EQ(d[2].to, 4);	/* node 0's cores are both used */
	T_ASSERT(strstr(d[2].why, "cpu 3 is an SMT sibling of cpu 2, home to vcpu 0 of this VM") != NULL);
	for (int i = 0; i < 3; i++)
		T_EQ(d[i].node, d[i].to / 4);
	ap_free(p);
}

T_TEST(policy_no_free_cpu_skips_once)
{
	struct ap_config cfg = defcfg();
	struct ap_policy *p = mkpol(&cfg);
	struct fake_vcpu v[3];
	const struct ap_decision *d;
	char line[512];
	size_t n;

	/* Three vCPUs allowed only on cpus 4-5. */
	ap_vm_add(p, 1, 100);
	for (int i = 0; i < 3; i++) {
		fv_init(&v[i], 1, (uint32_t)i, 101 + (uint32_t)i, "4-5");
		feed(p, &v[i], 0);
		hop(&v[i], 20, 4, "5");
		feed(p, &v[i], 5 * SEC);
	}
	ap_decide(p, 5 * SEC);
	d = take(p, &n);
	T_EQ(n, 3);
	T_EQ(d[0].action, AP_PIN);
	T_EQ(d[1].action, AP_PIN);
	T_EQ(d[2].action, AP_SKIP);
	T_EQ(d[2].to, -1);
	ap_decision_format(&d[2], line, sizeof(line));
	T_ASSERT(strstr(line, "skip vm 1 pid 100 vcpu 2") != NULL);
	T_ASSERT(strstr(line, "each of its 2 allowed CPUs is home to another vCPU of this VM") != NULL);
	/* Same situation next window: not logged again. */
	hop(&v[2], 20, 4, "5");
	feed(p, &v[2], 10 * SEC);
	ap_decide(p, 10 * SEC);
	take(p, &n);
	T_EQ(n, 0);
	T_EQ(ap_vcpu_state(p, 1, 2, NULL), AP_ST_FLOATING);
	ap_free(p);
}

T_TEST(policy_isolated_and_allowed_set)
{
	struct ap_config cfg = defcfg();
	struct ap_policy *p;
	struct fake_vcpu v;
	const struct ap_decision *d;
	size_t n;

	topo8_init();
	topo8_cpu[2].isolated = topo8_cpu[3].isolated = 1;
	p = ap_new(&cfg, &topo8);
	ap_vm_add(p, 1, 100);
	fv_init(&v, 1, 0, 101, "0-7");
	feed(p, &v, 0);
	hop(&v, 20, 2, "3,1");
	feed(p, &v, 5 * SEC);
	ap_decide(p, 5 * SEC);
	d = take(p, &n);
	T_EQ(n, 1);
	T_EQ(d[0].to, 1);
	T_ASSERT(strstr(d[0].why, "cpu 2 is isolated") != NULL);
	ap_free(p);

	cfg.allow_isolated = true;
	p = ap_new(&cfg, &topo8);
	ap_vm_add(p, 1, 100);
	fv_init(&v, 1, 0, 101, "0-7");
	feed(p, &v, 0);
	hop(&v, 20, 2, "3,1");
	feed(p, &v, 5 * SEC);
	ap_decide(p, 5 * SEC);
	d = take(p, &n);
	T_EQ(n, 1);
	T_EQ(d[0].to, 2);
	ap_free(p);

	/* Allowed set 6-7 (and cpu 7 offline): home is 6 whatever ran most. */
	topo8_init();
	topo8_cpu[7].online = 0;
	cfg = defcfg();
	p = ap_new(&cfg, &topo8);
	ap_vm_add(p, 1, 100);
	fv_init(&v, 1, 0, 101, "6-7");
	feed(p, &v, 0);
	hop(&v, 20, 1, "7");
	feed(p, &v, 5 * SEC);
	ap_decide(p, 5 * SEC);
	d = take(p, &n);
	T_EQ(n, 1);
	T_EQ(d[0].to, 6);
	T_ASSERT(strstr(d[0].why, "outside its allowed CPUs") != NULL);
	ap_free(p);

	/* Only isolated CPUs allowed: skip, naming the set. */
	topo8_init();
	topo8_cpu[2].isolated = topo8_cpu[3].isolated = 1;
	p = ap_new(&cfg, &topo8);
	ap_vm_add(p, 1, 100);
	fv_init(&v, 1, 0, 101, "2-3");
	feed(p, &v, 0);
	hop(&v, 20, 2, "3");
	feed(p, &v, 5 * SEC);
	ap_decide(p, 5 * SEC);
	d = take(p, &n);
	T_EQ(n, 1);
	T_EQ(d[0].action, AP_SKIP);
	T_ASSERT(strstr(d[0].why, "no online, non-isolated CPU in its allowed set 2-3") != NULL);
	ap_free(p);
}

T_TEST(policy_two_vms_compete)
{
	struct ap_config cfg = defcfg();
	struct ap_policy *p = mkpol(&cfg);
	struct fake_vcpu a[4], b[4], c;
	struct fake_vcpu *all[9];
	const struct ap_decision *d;
	bool used[8] = { false };
	size_t n;

	/* VM 1: four vCPUs on node 0, all pinned first. */
	ap_vm_add(p, 1, 100);
	ap_vm_add(p, 2, 200);
	for (int i = 0; i < 4; i++) {
		fv_init(&a[i], 1, (uint32_t)i, 101 + (uint32_t)i, "0-7");
		fv_init(&b[i], 2, (uint32_t)i, 201 + (uint32_t)i, "0-7");
		all[i] = &a[i];
		all[4 + i] = &b[i];
		feed(p, &a[i], 0);
		feed(p, &b[i], 0);
		hop(&a[i], 20, i, "0-3");
		feed(p, &a[i], 5 * SEC);
	}
	ap_decide(p, 5 * SEC);
	d = take(p, &n);
	T_EQ(n, 4);
	for (size_t i = 0; i < n; i++) {
		T_EQ(d[i].to, (int)i);
		used[d[i].to] = true;
	}
	apply(d, n, all, 8);
	/* VM 2's vCPUs also ran most on node 0 CPUs: they get 4-7. */
	for (int i = 0; i < 4; i++) {
		hop(&b[i], 20, i, "1");
		feed(p, &b[i], 10 * SEC);
	}
	ap_decide(p, 10 * SEC);
	d = take(p, &n);
	T_EQ(n, 4);
	for (size_t i = 0; i < n; i++) {
		T_EQ(d[i].action, AP_PIN);
		T_EQ(d[i].vm_id, 2);
		T_ASSERT(d[i].to >= 4);
		T_EQ(d[i].sharers, 0);
		T_ASSERT(!used[d[i].to]);
		used[d[i].to] = true;
		T_ASSERT(strstr(d[i].why, "of other VMs") != NULL);
	}
	apply(d, n, all, 8);
	/* A third VM with no free CPU left shares (last resort), says so. */
	ap_vm_add(p, 3, 300);
	fv_init(&c, 3, 0, 301, "0-7");
	all[8] = &c;
	feed(p, &c, 10 * SEC);
	hop(&c, 20, 6, "7");
	feed(p, &c, 15 * SEC);
	ap_decide(p, 15 * SEC);
	d = take(p, &n);
	T_EQ(n, 1);
	T_EQ(d[0].to, 6);
	T_EQ(d[0].sharers, 1);
	T_ASSERT(strstr(d[0].why, "no CPU free of other VMs' vCPUs") != NULL);
	apply(d, n, all, 9);
	/* VM 2 goes away; after the dwell VM 3's vCPU moves to a free CPU. */
	ap_vm_gone(p, 2);
	d = take(p, &n);
	T_EQ(n, 1);
	T_EQ(d[0].action, AP_FORGET);
	T_EQ(d[0].vcpus, 4);
	T_EQ(d[0].pinned, 4);
	T_ASSERT(!ap_vm_known(p, 2));
	/* Home no longer shared: nothing to do. */
	ap_decide(p, 60 * SEC);
	take(p, &n);
	T_EQ(n, 0);
	ap_free(p);
}

T_TEST(policy_shared_home_moves_when_cpu_frees)
{
	struct ap_config cfg = defcfg();
	struct ap_policy *p = mkpol(&cfg);
	struct fake_vcpu a[8], c;
	struct fake_vcpu *all[9];
	const struct ap_decision *d;
	size_t n;

	ap_vm_add(p, 1, 100);
	ap_vm_add(p, 3, 300);
	for (int i = 0; i < 8; i++) {
		/* VM 1's vCPUs each fixed on one CPU by the admin. */
		char cpu[16];

		snprintf(cpu, sizeof(cpu), "%d", i);
		fv_init(&a[i], 1, (uint32_t)i, 101 + (uint32_t)i, cpu);
		all[i] = &a[i];
		feed(p, &a[i], 0);
		T_EQ(ap_vcpu_state(p, 1, (uint32_t)i, NULL), AP_ST_FIXED);
	}
	fv_init(&c, 3, 0, 301, "0-7");
	all[8] = &c;
	feed(p, &c, 0);
	hop(&c, 20, 5, "4");
	feed(p, &c, 5 * SEC);
	ap_decide(p, 5 * SEC);
	d = take(p, &n);
	T_EQ(n, 1);
	T_EQ(d[0].to, 5);
	T_EQ(d[0].sharers, 1);
	apply(d, n, all, 9);
	/* The admin unpins VM 1's vCPU 2 (wide affinity again). */
	T_ASSERT(cpulist_parse("0-7", &a[2].aff, NULL, 0) == 0);
	feed(p, &a[2], 10 * SEC);
	T_EQ(ap_vcpu_state(p, 1, 2, NULL), AP_ST_FLOATING);
	feed(p, &c, 10 * SEC);
	/* Before the dwell: stay. */
	ap_decide(p, 10 * SEC);
	take(p, &n);
	T_EQ(n, 0);
	/* After: move to the now free cpu 2. */
	feed(p, &c, 40 * SEC);
	ap_decide(p, 40 * SEC);
	d = take(p, &n);
	T_EQ(n, 1);
	T_EQ(d[0].action, AP_MOVE);
	T_EQ(d[0].reason, AP_R_SHARED);
	T_EQ(d[0].from, 5);
	T_EQ(d[0].to, 2);
	T_EQ(d[0].sharers, 0);
	T_EQ(d[0].dwell_ns, 35 * SEC);
	apply(d, n, all, 9);
	feed(p, &c, 80 * SEC);
	ap_decide(p, 80 * SEC);
	take(p, &n);
	T_EQ(n, 0);
	ap_free(p);
}

/* ---- run-queue hysteresis --------------------------------------------- */

/* Pin one vCPU at t=0..5s; returns its home. rq baseline: base share. */
static int pin_one(struct ap_policy *p, struct fake_vcpu *v, double base)
{
	const struct ap_decision *d;
	size_t n;

	fv_init(v, 1, 0, 101, "0-7");
	feed(p, v, 0);
	hop(v, 20, 2, "3");
	v->rq_wait += (uint64_t)(base * 5 * SEC);
	feed(p, v, 5 * SEC);
	ap_decide(p, 5 * SEC);
	d = take(p, &n);
	T_EQ(n, 1);
	T_EQ(d[0].action, AP_PIN);
	v->aff = d[0].cpus;
	return d[0].to;
}

/* One 5 s window ending at t with the given run-queue wait share. */
static size_t rq_window(struct ap_policy *p, struct fake_vcpu *v, uint64_t t,
			double share, const struct ap_decision **d)
{
	size_t n;

	v->rq_wait += (uint64_t)(share * 5 * SEC);
	feed(p, v, t);
	ap_decide(p, t);
	*d = take(p, &n);
	return n;
}

T_TEST(policy_rq_delay_hysteresis)
{
	struct ap_config cfg = defcfg();
	struct ap_policy *p = mkpol(&cfg);
	const struct ap_decision *d;
	struct fake_vcpu v;
	uint64_t t = 5 * SEC;
	int home;

	ap_vm_add(p, 1, 100);
	home = pin_one(p, &v, 0.02);
	T_EQ(home, 2);
	/* 30% waiting, but before the 30 s dwell: no move. */
	for (int i = 0; i < 5; i++) {
		t += 5 * SEC;
		T_EQ(rq_window(p, &v, t, 0.30, &d), 0);
	}
	/* One normal window resets the streak... */
	t += 5 * SEC;
	T_EQ(rq_window(p, &v, t, 0.01, &d), 0);
	/* ...so after the dwell, it takes two bad windows in a row. */
	t += 5 * SEC;
	T_EQ(rq_window(p, &v, t, 0.30, &d), 0);
	t += 5 * SEC;
	T_EQ(rq_window(p, &v, t, 0.30, &d), 1);
	T_EQ(d[0].action, AP_MOVE);
	T_EQ(d[0].reason, AP_R_RQDELAY);
	T_EQ(d[0].from, 2);
	T_EQ(d[0].to, 3);	/* nearest other CPU, sibling of 2 */
	T_ASSERT(d[0].rq_share > 0.29 && d[0].rq_share < 0.31);
	T_ASSERT(d[0].rq_baseline > 0.019 && d[0].rq_baseline < 0.021);
	T_EQ(d[0].dwell_ns, t - 5 * SEC);
	v.aff = d[0].cpus;

	/* Still bad on the new home (the contention followed it): nothing
	 * before twice the dwell, the back-off of a second move in a row... */
	uint64_t moved = t;

	while (t + 5 * SEC < moved + 2 * cfg.dwell_ns) {
		t += 5 * SEC;
		T_EQ(rq_window(p, &v, t, 0.30, &d), 0);
	}
	/* ...then it moves again, but not back to 2 (cooling down). */
	t += 5 * SEC;
	T_EQ(rq_window(p, &v, t, 0.30, &d), 1);
	T_EQ(d[0].action, AP_MOVE);
	T_EQ(d[0].from, 3);
	T_EQ(d[0].dwell_ns, 2 * cfg.dwell_ns);
	T_ASSERT(d[0].to != 2 && d[0].to != 3);
	T_ASSERT(strstr(d[0].why, "nearer cpu 2 is cooling down") != NULL);
	T_ASSERT(strstr(d[0].why, "rq-delay move 2 in a row") != NULL);
	ap_free(p);
}

T_TEST(policy_rq_relative_threshold)
{
	struct ap_config cfg = defcfg();
	struct ap_policy *p = mkpol(&cfg);
	const struct ap_decision *d;
	struct fake_vcpu v;
	uint64_t t = 5 * SEC;

	/* Waited 20% before pinning: 30% now is < 2 x 20%: stays. */
	ap_vm_add(p, 1, 100);
	pin_one(p, &v, 0.20);
	for (int i = 0; i < 20; i++) {
		t += 5 * SEC;
		T_EQ(rq_window(p, &v, t, 0.30, &d), 0);
	}
	/* 45% is: moves. */
	t += 5 * SEC;
	T_EQ(rq_window(p, &v, t, 0.45, &d), 0);
	t += 5 * SEC;
	T_EQ(rq_window(p, &v, t, 0.45, &d), 1);
	T_EQ(d[0].reason, AP_R_RQDELAY);
	ap_free(p);

	/* Below the absolute floor (10%) never moves, however it grew. */
	p = mkpol(&cfg);
	ap_vm_add(p, 1, 100);
	pin_one(p, &v, 0.0);
	t = 5 * SEC;
	for (int i = 0; i < 20; i++) {
		t += 5 * SEC;
		T_EQ(rq_window(p, &v, t, 0.08, &d), 0);
	}
	ap_free(p);

	/* --no-rehome: never. */
	cfg.rehome = false;
	p = mkpol(&cfg);
	ap_vm_add(p, 1, 100);
	pin_one(p, &v, 0.0);
	t = 5 * SEC;
	for (int i = 0; i < 20; i++) {
		t += 5 * SEC;
		T_EQ(rq_window(p, &v, t, 0.9, &d), 0);
	}
	ap_free(p);
}

T_TEST(policy_rq_no_better_cpu_stays)
{
	struct ap_config cfg = defcfg();
	struct ap_policy *p = mkpol(&cfg);
	const struct ap_decision *d;
	struct fake_vcpu v;
	uint64_t t = 5 * SEC;

	/* Only cpu 2-3 allowed; 3 gets taken by vCPU 1 of the same VM. */
	ap_vm_add(p, 1, 100);
	fv_init(&v, 1, 0, 101, "2-3");
	feed(p, &v, 0);
	{
		struct fake_vcpu w;
		size_t n;

		fv_init(&w, 1, 1, 102, "3");
		feed(p, &w, 0);
		hop(&v, 20, 2, "3");
		feed(p, &v, 5 * SEC);
		ap_decide(p, 5 * SEC);
		d = take(p, &n);
		T_EQ(n, 1);
		T_EQ(d[0].to, 2);
		v.aff = d[0].cpus;
	}
	for (int i = 0; i < 8; i++) {
		t += 5 * SEC;
		rq_window(p, &v, t, 0.5, &d);
	}
	/* One skip was logged, and only one. */
	t = 5 * SEC;
	ap_free(p);
	p = mkpol(&cfg);
	ap_vm_add(p, 1, 100);
	fv_init(&v, 1, 0, 101, "2-3");
	feed(p, &v, 0);
	{
		struct fake_vcpu w;
		size_t n, skips = 0;

		fv_init(&w, 1, 1, 102, "3");
		feed(p, &w, 0);
		hop(&v, 20, 2, "3");
		feed(p, &v, 5 * SEC);
		ap_decide(p, 5 * SEC);
		d = take(p, &n);
		v.aff = d[0].cpus;
		for (int i = 0; i < 20; i++) {
			t += 5 * SEC;
			n = rq_window(p, &v, t, 0.5, &d);
			for (size_t k = 0; k < n; k++) {
				T_EQ(d[k].action, AP_SKIP);
				T_EQ(d[k].reason, AP_R_RQDELAY);
				skips++;
			}
		}
		T_EQ(skips, 1);
		T_EQ(ap_vcpu_state(p, 1, 0, NULL), AP_ST_PINNED);
	}
	ap_free(p);
}

/* ---- dry run, restore, lifecycle ---------------------------------------- */

/*
 * The same scripted host seen by a real run and by a dry run. In the dry
 * run the affinities never change, and the vCPU keeps migrating.
 */
static void script(bool dry, char out[][512], size_t *nout)
{
	struct ap_config cfg = defcfg();
	struct ap_policy *p;
	struct fake_vcpu v[3];
	struct fake_vcpu *all[3] = { &v[0], &v[1], &v[2] };
	const struct ap_decision *d;
	size_t n;

	cfg.dry_run = dry;
	p = mkpol(&cfg);
	*nout = 0;
	ap_vm_add(p, 1, 100);
	ap_vm_add(p, 2, 200);
	fv_init(&v[0], 1, 0, 101, "0-7");
	fv_init(&v[1], 1, 1, 102, "0-7");
	fv_init(&v[2], 2, 0, 201, "0-7");
	for (uint64_t w = 0; w < 12; w++) {
		uint64_t t = w * 5 * SEC;

		if (w > 0) {
			hop(&v[0], 30, 1, "0,2");
			if (w >= 3)
				hop(&v[1], 12, 1, "5");
			if (w == 6) {
				v[2].migr++;
				v[2].remote++;
				v[2].resid[6] += 500;
			}
		}
		for (int i = 0; i < 3; i++)
			feed(p, &v[i], t);
		ap_decide(p, t);
		d = take(p, &n);
		for (size_t i = 0; i < n; i++)
			ap_decision_format(&d[i], out[(*nout)++], 512);
		if (!dry)
			apply(d, n, all, 3);
	}
	ap_restore_all(p);
	d = take(p, &n);
	for (size_t i = 0; i < n; i++)
		ap_decision_format(&d[i], out[(*nout)++], 512);
	ap_free(p);
}

T_TEST(policy_dry_run_same_decisions)
{
	static char real[64][512], dry[64][512];
	size_t nr, nd;

	script(false, real, &nr);
	script(true, dry, &nd);
	T_EQ(nr, 6);	/* 3 pins, 3 restores */
	T_EQ(nr, nd);
	for (size_t i = 0; i < nr && i < nd; i++)
		T_STREQ(real[i], dry[i]);
	T_ASSERT(strncmp(real[0], "pin vm 1 pid 100 vcpu 0", 23) == 0);
	T_ASSERT(strstr(real[1], "vcpu 1") && strstr(real[1], "-> 5") == NULL);
	T_ASSERT(strncmp(real[2], "pin vm 2 pid 200 vcpu 0", 23) == 0);
	T_ASSERT(strstr(real[2], ": numa:") != NULL);
	T_ASSERT(strncmp(real[3], "restore vm 1 pid 100 vcpu 0 tid 101 cpu 1 -> 0-7: exit", 55) == 0);
}

T_TEST(policy_external_change_releases)
{
	struct ap_config cfg = defcfg();
	struct ap_policy *p = mkpol(&cfg);
	const struct ap_decision *d;
	struct fake_vcpu v;
	size_t n;

	ap_vm_add(p, 1, 100);
	pin_one(p, &v, 0);
	/* Someone (virsh vcpupin) sets it to 6. */
	cpuset_zero(&v.aff);
	cpuset_set(&v.aff, 6);
	feed(p, &v, 10 * SEC);
	d = take(p, &n);
	T_EQ(n, 1);
	T_EQ(d[0].action, AP_RELEASE);
	T_EQ(d[0].reason, AP_R_EXTERNAL);
	T_ASSERT(strstr(d[0].why, "affinity is now 6") != NULL);
	T_EQ(ap_vcpu_state(p, 1, 0, NULL), AP_ST_RELEASED);
	/* Hands off: no more decisions, not restored on exit. */
	hop(&v, 50, 6, "7");
	feed(p, &v, 15 * SEC);
	ap_decide(p, 15 * SEC);
	ap_restore_all(p);
	take(p, &n);
	T_EQ(n, 0);
	ap_free(p);
}

T_TEST(policy_fixed_vcpu_untouched_and_occupies)
{
	struct ap_config cfg = defcfg();
	struct ap_policy *p = mkpol(&cfg);
	const struct ap_decision *d;
	struct fake_vcpu f, v;
	size_t n;

	ap_vm_add(p, 1, 100);
	fv_init(&f, 1, 0, 101, "2");
	fv_init(&v, 1, 1, 102, "0-7");
	feed(p, &f, 0);
	feed(p, &v, 0);
	T_EQ(ap_vcpu_state(p, 1, 0, NULL), AP_ST_FIXED);
	hop(&f, 100, 2, "3");	/* e.g. hops done by another manager */
	hop(&v, 20, 2, "0");
	feed(p, &f, 5 * SEC);
	feed(p, &v, 5 * SEC);
	ap_decide(p, 5 * SEC);
	d = take(p, &n);
	T_EQ(n, 1);
	T_EQ(d[0].vcpu_id, 1);
	T_EQ(d[0].to, 0);	/* 2 is occupied by the fixed vCPU 0 */
	ap_restore_all(p);
	d = take(p, &n);
	T_EQ(n, 1);
	T_EQ(d[0].vcpu_id, 1);
	ap_free(p);
}

T_TEST(policy_tid_change_and_apply_failures)
{
	struct ap_config cfg = defcfg();
	struct ap_policy *p = mkpol(&cfg);
	const struct ap_decision *d;
	struct ap_decision copy;
	struct fake_vcpu v;
	size_t n;

	ap_vm_add(p, 1, 100);
	pin_one(p, &v, 0);
	/* The vCPU is now run by thread 555: restore the old thread. */
	v.tid = 555;
	T_ASSERT(cpulist_parse("0-7", &v.aff, NULL, 0) == 0);
	feed(p, &v, 10 * SEC);
	d = take(p, &n);
	T_EQ(n, 1);
	T_EQ(d[0].action, AP_RESTORE);
	T_EQ(d[0].reason, AP_R_TID);
	T_EQ(d[0].tid, 101);
	T_EQ(cpuset_count(&d[0].cpus), 8);
	T_EQ(ap_vcpu_state(p, 1, 0, NULL), AP_ST_FLOATING);

	/* A pin that fails with EPERM: released, never retried. */
	hop(&v, 20, 4, "5");
	feed(p, &v, 15 * SEC);
	ap_decide(p, 15 * SEC);
	d = take(p, &n);
	T_EQ(n, 1);
	T_EQ(d[0].tid, 555);
	copy = d[0];
	ap_apply_failed(p, &copy, -EPERM);
	d = take(p, &n);
	T_EQ(n, 1);
	T_EQ(d[0].action, AP_RELEASE);
	T_EQ(d[0].reason, AP_R_APPLY_FAILED);
	T_ASSERT(strstr(d[0].why, "Operation not permitted") != NULL);
	hop(&v, 20, 4, "5");
	feed(p, &v, 20 * SEC);
	ap_decide(p, 20 * SEC);
	ap_restore_all(p);
	take(p, &n);
	T_EQ(n, 0);

	/* ESRCH: forgotten, learnt again from the next sample. */
	ap_vm_add(p, 2, 200);
	fv_init(&v, 2, 0, 201, "0-7");
	feed(p, &v, 20 * SEC);
	hop(&v, 20, 4, "5");
	feed(p, &v, 25 * SEC);
	ap_decide(p, 25 * SEC);
	d = take(p, &n);
	T_EQ(n, 1);
	copy = d[0];
	ap_apply_failed(p, &copy, -ESRCH);
	take(p, &n);
	T_EQ(n, 0);
	T_EQ(ap_vcpu_state(p, 2, 0, NULL), AP_ST_NONE);
	feed(p, &v, 30 * SEC);
	T_EQ(ap_vcpu_state(p, 2, 0, NULL), AP_ST_FLOATING);
	ap_free(p);
}

T_TEST(policy_counter_reset_and_unknown_input)
{
	struct ap_config cfg = defcfg();
	struct ap_policy *p = mkpol(&cfg);
	struct fake_vcpu v;
	size_t n;

	ap_vm_add(p, 1, 100);
	fv_init(&v, 1, 0, 101, "0-7");
	v.migr = 1000000;
	v.resid[1] = 1000000;
	feed(p, &v, 0);
	/* RESET: counters start again from small values: 3, not ~2^64. */
	v.migr = 3;
	memset(v.resid, 0, sizeof(v.resid));
	v.resid[1] = 50;
	feed(p, &v, 5 * SEC);
	ap_decide(p, 5 * SEC);
	take(p, &n);
	T_EQ(n, 0);
	/* Samples of unknown VMs, tid 0, out-of-range CPUs: ignored. */
	fv_init(&v, 9, 0, 901, "0-7");
	feed(p, &v, 5 * SEC);
	T_EQ(ap_vcpu_state(p, 9, 0, NULL), AP_ST_NONE);
	fv_init(&v, 1, 1, 0, "0-7");
	feed(p, &v, 5 * SEC);
	T_EQ(ap_vcpu_state(p, 1, 1, NULL), AP_ST_NONE);
	{
		struct vs_residency r = { .cpu = 5000, .exits = 7 };
		struct ap_sample s = { .vm_id = 1, .vcpu_id = 2, .tid = 7,
				       .pcpu = 9999, .residency = &r,
				       .nr_residency = 1, .have_affinity = true };

		cpulist_parse("0-7", &s.affinity, NULL, 0);
		T_EQ(ap_sample(p, &s, 5 * SEC), 0);
		T_EQ(ap_sample(p, &s, 6 * SEC), 0);
	}
	ap_vm_gone(p, 42);	/* unknown: nothing */
	take(p, &n);
	T_EQ(n, 0);
	ap_free(p);
}

/* ---- randomized invariants --------------------------------------------- */

static uint64_t rng = 88172645463325252ULL;

static uint64_t xr(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

T_TEST(policy_random_invariants)
{
	enum { NVM = 3, NV = 4 };
	struct ap_config cfg = defcfg();
	struct ap_policy *p;
	struct fake_vcpu v[NVM][NV];
	struct fake_vcpu *all[NVM * NV];
	int home[NVM][NV];
	const struct ap_decision *d;
	size_t n, pins = 0;

	cfg.no_smt_share = false;
	topo8_init();
	topo8_cpu[7].isolated = 1;
	p = ap_new(&cfg, &topo8);
	for (int m = 0; m < NVM; m++) {
		ap_vm_add(p, (uint64_t)m + 1, 100 * ((uint32_t)m + 1));
		for (int i = 0; i < NV; i++) {
			fv_init(&v[m][i], (uint64_t)m + 1, (uint32_t)i,
				100 * ((uint32_t)m + 1) + (uint32_t)i + 1,
				m == 2 ? "4-7" : "0-7");
			all[m * NV + i] = &v[m][i];
			home[m][i] = -1;
		}
	}
	for (uint64_t w = 0; w < 400; w++) {
		uint64_t t = w * 5 * SEC;

		for (int m = 0; m < NVM; m++)
			for (int i = 0; i < NV; i++) {
				struct fake_vcpu *f = &v[m][i];

				if (xr() % 3 == 0)
					hop(f, xr() % 30, (int)(xr() % 8), "0-7");
				if (xr() % 17 == 0)
					f->remote++, f->migr++;
				f->rq_wait += xr() % (3 * SEC);
				feed(p, f, t);
			}
		ap_decide(p, t);
		d = take(p, &n);
		for (size_t k = 0; k < n; k++) {
			int m = (int)d[k].vm_id - 1, i = (int)d[k].vcpu_id;

			T_ASSERT(m >= 0 && m < NVM && i >= 0 && i < NV);
			if (d[k].action == AP_PIN || d[k].action == AP_MOVE) {
				pins++;
				T_ASSERT(d[k].to >= 0 && d[k].to < 7);
				T_ASSERT(cpuset_isset(&v[m][i].aff, d[k].to) ||
					 home[m][i] >= 0);
				if (m == 2)
					T_ASSERT(d[k].to >= 4);
				/* Never on a CPU of a sibling vCPU of its VM. */
				for (int j = 0; j < NV; j++)
					if (j != i)
						T_ASSERT(home[m][j] != d[k].to);
				/* Shares only if no free CPU was allowed. */
				if (d[k].sharers) {
					bool freecpu = false;

					for (int c = (m == 2 ? 4 : 0); c < 7; c++) {
						bool used = false;

						for (int mm = 0; mm < NVM; mm++)
							for (int j = 0; j < NV; j++)
								if (home[mm][j] == c &&
								    !(mm == m && j == i))
									used = true;
						if (!used)
							freecpu = true;
					}
					T_ASSERT(!freecpu);
				}
				home[m][i] = d[k].to;
			}
		}
		if (!(w % 2))
			apply(d, n, all, NVM * NV);
		else
			for (size_t k = 0; k < n; k++)
				if (d[k].action == AP_PIN || d[k].action == AP_MOVE) {
					/* Apply fails now and then. */
					struct ap_decision c = d[k];

					ap_apply_failed(p, &c, -EPERM);
					home[c.vm_id - 1][c.vcpu_id] = -1;
				}
		take(p, &n);
		/* Released vCPUs keep their affinity: drop them from the model
		 * only once they were released (their home stays occupied). */
	}
	T_ASSERT(pins > 4);
	ap_restore_all(p);
	take(p, &n);
	ap_free(p);
}

/* ---- rehome under load: flapping, back-off, measurement restarts -------- */

/*
 * A host as the rig's autopin_test.sh case 9 sees it, as far as the
 * policy can: each CPU's load from tasks other than the VM's vCPUs, a
 * CPU-bound vCPU waiting about half the load of the CPU it sits on, and
 * /proc/stat-like busy/total counters. Options as the selftest's: 2 s
 * windows, 8 s dwell, 2 windows over 25%, growth 1.
 */
struct host {
	double load[8];		/* other tasks, 0..1 */
	uint64_t busy[8], total[8];
};

static struct ap_config rehome_cfg(void)
{
	struct ap_config c = defcfg();

	c.window_ns = 2 * SEC;
	c.dwell_ns = 8 * SEC;
	c.rq_windows = 2;
	c.rq_threshold = 0.25;
	c.rq_growth = 1.0;
	return c;
}

/* One window of dt on the host: vCPUs run on their home (their affinity
 * is one CPU once pinned) and wait half the load there. */
static void host_run(struct host *h, struct fake_vcpu **fv, size_t nfv,
		     uint64_t dt)
{
	double use[8];

	for (int c = 0; c < 8; c++)
		use[c] = h->load[c];
	for (size_t i = 0; i < nfv; i++) {
		int c = cpuset_count(&fv[i]->aff) == 1 ?
			cpuset_next(&fv[i]->aff, 0) : 0;
		double wait = h->load[c] / 2;

		fv[i]->rq_wait += (uint64_t)(wait * (double)dt);
		fv[i]->resid[c] += 100;
		use[c] += 1.0 - wait;
	}
	for (int c = 0; c < 8; c++) {
		h->busy[c] += (uint64_t)((use[c] < 1.0 ? use[c] : 1.0) *
					 (double)dt);
		h->total[c] += dt;
	}
}

/* Sample everything at t, decide, apply; returns the moves made. */
static int host_step(struct ap_policy *p, struct host *h, bool cpu_times,
		     struct fake_vcpu **fv, size_t nfv, uint64_t t,
		     int *to)
{
	const struct ap_decision *d;
	size_t n;
	int moves = 0;

	if (cpu_times)
		ap_cpu_times(p, h->busy, h->total, 8, t);
	for (size_t i = 0; i < nfv; i++)
		feed(p, fv[i], t);
	ap_decide(p, t);
	d = take(p, &n);
	for (size_t i = 0; i < n; i++) {
		T_ASSERT(d[i].action == AP_MOVE || d[i].action == AP_SKIP);
		if (d[i].action == AP_MOVE) {
			moves++;
			*to = d[i].to;
			t_diag("t=%.0fs %d -> %d: %s", (double)t / 1e9,
			       d[i].from, d[i].to, d[i].why);
		}
	}
	apply(d, n, fv, nfv);
	return moves;
}

/* Pin vCPU 0 of VM 1 on cpu 2 and vCPU 1 on cpu 0, as the chase does. */
static void pin_two(struct ap_policy *p, struct fake_vcpu *v)
{
	struct fake_vcpu *all[2] = { &v[0], &v[1] };
	const struct ap_decision *d;
	size_t n;

	ap_vm_add(p, 1, 100);
	fv_init(&v[0], 1, 0, 101, "0-7");
	fv_init(&v[1], 1, 1, 102, "0-7");
	feed(p, &v[0], 0);
	feed(p, &v[1], 0);
	hop(&v[0], 20, 2, "3");
	hop(&v[1], 20, 0, "1");
	/* chased: it waited 10% of the time before the pin */
	v[0].rq_wait += SEC / 5;
	v[1].rq_wait += SEC / 5;
	feed(p, &v[0], 2 * SEC);
	feed(p, &v[1], 2 * SEC);
	ap_decide(p, 2 * SEC);
	d = take(p, &n);
	T_EQ(n, 2);
	T_EQ(d[0].to, 2);
	T_EQ(d[1].to, 0);
	apply(d, n, all, 2);
}

/*
 * The flapping of issue 5: a hog sits for good on vCPU 0's home (cpu 2)
 * of a loaded host whose other free CPUs near it (3, its SMT sibling, and
 * 1 on the same LLC; 0 is vCPU 1's home) are busy with other work.
 * Without knowing the load, the policy went 2 -> 3 -> 1 -> 2 (back on the
 * hog once its cool-down ended) -> 3: 4 moves in 40 s, and on. It must
 * move exactly once, to an idle CPU that is no vCPU's home, and stay.
 */
static int flapping_moves(bool cpu_times, int *last)
{
	struct ap_config cfg = rehome_cfg();
	struct ap_policy *p = mkpol(&cfg);
	struct fake_vcpu v[2];
	struct fake_vcpu *all[2] = { &v[0], &v[1] };
	struct host h = { .load = { [1] = 0.6, [2] = 1.0, [3] = 0.6 } };
	int moves = 0;

	pin_two(p, v);
	for (uint64_t t = 4 * SEC; t <= 40 * SEC; t += 2 * SEC) {
		host_run(&h, all, 2, 2 * SEC);
		moves += host_step(p, &h, cpu_times, all, 2, t, last);
	}
	ap_free(p);
	return moves;
}

T_TEST(policy_rq_rehome_on_loaded_host_moves_once)
{
	int to = -1;

	T_EQ(flapping_moves(true, &to), 1);
	/* Idle (4-7, the other node), neither vCPU 1's home (0) nor the
	 * busy 1 and 3; of the equally near ones the lowest. */
	T_EQ(to, 4);
}

T_TEST(policy_rq_rehome_without_load_info_no_ping_pong)
{
	int to = -1;

	/* A driver that cannot read /proc/stat: the busy sibling is taken,
	 * it turns out bad too, but the back-off and the cool-downs keep it
	 * from going round 2 -> 3 -> 1 -> 2 within the 40 s. */
	T_ASSERT(flapping_moves(false, &to) <= 2);
	T_ASSERT(to != 2);
}

/*
 * A move must not go to another VM's vCPU home, even if the vCPU's own
 * home is shared too (the old rule allowed shared -> shared).
 */
T_TEST(policy_rq_move_never_onto_a_home)
{
	struct ap_config cfg = rehome_cfg();
	struct ap_policy *p = mkpol(&cfg);
	struct fake_vcpu v[2], o[6];
	struct fake_vcpu *all[8] = { &v[0], &v[1], &o[0], &o[1], &o[2],
				     &o[3], &o[4], &o[5] };
	struct host h = { .load = { [2] = 1.0 } };
	const char *own[6] = { "1", "3", "4", "5", "6", "7" };
	int to = -1, moves = 0;

	pin_two(p, v);
	/* VM 2's vCPUs are fixed on every other CPU. */
	ap_vm_add(p, 2, 200);
	for (int i = 0; i < 6; i++) {
		fv_init(&o[i], 2, (uint32_t)i, 201 + (uint32_t)i, own[i]);
		feed(p, &o[i], 2 * SEC);
	}
	for (uint64_t t = 4 * SEC; t <= 60 * SEC; t += 2 * SEC) {
		host_run(&h, all, 2, 2 * SEC);
		moves += host_step(p, &h, true, all, 2, t, &to);
	}
	T_EQ(moves, 0);
	T_EQ(ap_vcpu_state(p, 1, 0, &to), AP_ST_PINNED);
	T_EQ(to, 2);
	ap_free(p);
}

/*
 * Contention that follows the vCPU (the selftest's chaser hog, or any
 * partner task placed with it): every home it gets turns bad at once.
 * Moves must come ever more rarely (dwell x 1, 2, 4, 8, 8...), and once a
 * home stays calm for a dwell the back-off is over.
 */
T_TEST(policy_rq_contention_that_follows_backs_off)
{
	struct ap_config cfg = rehome_cfg();
	struct ap_policy *p = mkpol(&cfg);
	struct fake_vcpu v[2];
	struct fake_vcpu *all[2] = { &v[0], &v[1] };
	struct host h = { .load = { [2] = 1.0 } };
	uint64_t t, last = 2 * SEC, gaps[16];
	int to = -1, moves = 0, home = 2;

	pin_two(p, v);
	for (t = 4 * SEC; t <= 600 * SEC; t += 2 * SEC) {
		host_run(&h, all, 2, 2 * SEC);
		if (host_step(p, &h, true, all, 2, t, &to)) {
			T_ASSERT(moves < 16);
			gaps[moves++] = t - last;
			last = t;
			/* the chaser follows within the next window */
			h.load[home] = 0;
			h.load[to] = 1.0;
			home = to;
		}
	}
	/* Moves at 10, 26, 58, 122 s, then every 64 s: 11 in 600 s;
	 * without the back-off one per dwell + 2 windows, 50. */
	T_EQ(moves, 11);
	for (int i = 0; i < moves; i++) {
		uint64_t want = cfg.dwell_ns << (i < 3 ? i : 3);

		if (gaps[i] < want)
			t_fail(__FILE__, __LINE__, "move %d after %.0fs < %.0fs",
			       i + 1, (double)gaps[i] / 1e9,
			       (double)want / 1e9);
	}
	/* The chaser stops; after a calm dwell a new hog gets the plain
	 * dwell again. */
	h.load[home] = 0;
	for (uint64_t end = t + 20 * SEC; t <= end; t += 2 * SEC) {
		host_run(&h, all, 2, 2 * SEC);
		T_EQ(host_step(p, &h, true, all, 2, t, &to), 0);
	}
	h.load[home] = 1.0;
	last = t;
	for (; t <= last + 60 * SEC; t += 2 * SEC) {
		host_run(&h, all, 2, 2 * SEC);
		if (host_step(p, &h, true, all, 2, t, &to))
			break;
	}
	T_ASSERT(t - last <= cfg.dwell_ns + 2 * cfg.window_ns);
	ap_free(p);
}

/*
 * A run-queue measurement that began before a move (a snapshot between
 * two windows, e.g. one taken early for another vCPU's migrations) must
 * not count against the new home: with a short dwell it made the vCPU
 * move on right away for wait it had on the old home.
 */
T_TEST(policy_rq_measurement_restarts_on_move)
{
	struct ap_config cfg = defcfg();
	struct ap_policy *p;
	struct fake_vcpu v;
	const struct ap_decision *d;
	size_t n;

	cfg.dwell_ns = 3 * SEC;
	cfg.rq_windows = 1;
	cfg.rq_growth = 1.0;
	p = mkpol(&cfg);
	ap_vm_add(p, 1, 100);
	T_EQ(pin_one(p, &v, 0.0), 2);		/* pinned at 5 s */
	/* 7.5 s: half the time waiting on 2; the dwell is not over. */
	v.rq_wait += (uint64_t)(0.5 * 2.5 * SEC);
	feed(p, &v, 7500000000ULL);
	ap_decide(p, 7500000000ULL);
	take(p, &n);
	T_EQ(n, 0);
	/* 9 s, an early snapshot (no new measurement): it moves. */
	v.rq_wait += (uint64_t)(0.5 * 1.5 * SEC);
	feed(p, &v, 9 * SEC);
	ap_decide(p, 9 * SEC);
	d = take(p, &n);
	T_EQ(n, 1);
	T_EQ(d[0].action, AP_MOVE);
	v.aff = d[0].cpus;
	/* 12.5 s: no wait at all on the new home. Measured from 7.5 s this
	 * was 15% (over), and 3.5 s > the dwell: a second move. */
	feed(p, &v, 12500000000ULL);
	ap_decide(p, 12500000000ULL);
	take(p, &n);
	T_EQ(n, 0);
	for (uint64_t t = 15 * SEC; t <= 60 * SEC; t += 5 * SEC) {
		feed(p, &v, t);
		ap_decide(p, t);
		take(p, &n);
		T_EQ(n, 0);
	}
	ap_free(p);
}

/*
 * The module is reloaded (RELIABILITY.md F8): VM ids restart, so the VM
 * known as 1 comes back as 2 and id 1 now names another process's VM.
 * The pin stays in effect through the gap, the vCPU is found again by
 * (pid, vCPU id, thread) and keeps its home and original affinity; the
 * other process's VM 1 gets none of that state; a vCPU whose thread
 * changed during the gap is not taken for the old one; the restore on
 * exit puts back exactly the original affinities.
 */
T_TEST(policy_module_reload_keeps_pins)
{
	struct ap_config cfg = defcfg();
	struct ap_policy *p = mkpol(&cfg);
	struct fake_vcpu v0, v1, o0;
	const struct ap_decision *d;
	struct cpuset all;
	size_t n;
	int home, h1;

	T_ASSERT(cpulist_parse("0-7", &all, NULL, 0) == 0);
	T_ASSERT(ap_vm_add(p, 1, 100) == 0);
	fv_init(&v0, 1, 0, 101, "0-7");
	fv_init(&v1, 1, 1, 102, "0-7");
	feed(p, &v0, 0);
	feed(p, &v1, 0);
	hop(&v0, 20, 2, "0,3");
	hop(&v1, 20, 6, "4,5");
	feed(p, &v0, 5 * SEC);
	feed(p, &v1, 5 * SEC);
	ap_decide(p, 5 * SEC);
	d = take(p, &n);
	T_EQ(n, 2);
	T_EQ(d[0].action, AP_PIN);
	T_EQ(d[1].action, AP_PIN);
	T_EQ(d[0].to, 2);
	h1 = d[1].to;
	T_ASSERT(h1 >= 0 && h1 != 2);
	apply(d, n, (struct fake_vcpu *[]){ &v0, &v1 }, 2);
	T_EQ(ap_detached_pins(p), 0);

	ap_module_gone(p);
	T_EQ(ap_detached_pins(p), 2);
	T_ASSERT(!ap_vm_known(p, 1));
	T_EQ(ap_vcpu_state(p, 1, 0, NULL), AP_ST_NONE);
	/* nothing to decide and nothing undone while the module is away */
	ap_decide(p, 8 * SEC);
	take(p, &n);
	T_EQ(n, 0);

	/* New load: id 1 is pid 200's VM, ours is 2; counters from 0. */
	T_ASSERT(ap_vm_add(p, 1, 200) == 0);
	T_ASSERT(ap_vm_add(p, 2, 100) == 0);
	fv_init(&o0, 1, 0, 101, "0-7");	/* same vCPU id and tid, other pid */
	v0.vm = 2;
	v0.migr = 3;
	memset(v0.resid, 0, sizeof(v0.resid));
	v0.resid[2] = 500;
	feed(p, &o0, 10 * SEC);
	feed(p, &v0, 10 * SEC);
	T_EQ(ap_vcpu_state(p, 2, 0, &home), AP_ST_PINNED);
	T_EQ(home, 2);
	T_EQ(ap_vcpu_state(p, 1, 0, NULL), AP_ST_FLOATING);
	T_EQ(ap_detached_pins(p), 1);
	/* vCPU 1 is run by another thread now: not the pinned one */
	v1.vm = 2;
	v1.tid = 109;
	v1.migr = 0;
	v1.aff = all;
	feed(p, &v1, 10 * SEC);
	T_EQ(ap_vcpu_state(p, 2, 1, &home), AP_ST_FLOATING);
	T_EQ(home, -1);
	T_EQ(ap_detached_pins(p), 1);
	/* the adopted vCPU stays put: 3 migrations since the reload */
	ap_decide(p, 15 * SEC);
	d = take(p, &n);
	for (size_t i = 0; i < n; i++)
		T_ASSERT(!(d[i].vm_id == 2 && d[i].vcpu_id == 0));
	/* The other VM's vCPU gets pinned, not onto a kept home. */
	hop(&o0, 40, 2, "6");
	feed(p, &o0, 20 * SEC);
	ap_decide(p, 20 * SEC);
	d = take(p, &n);
	T_EQ(n, 1);
	T_EQ(d[0].action, AP_PIN);
	T_EQ(d[0].vm_id, 1);
	T_EQ(d[0].pid, 200);
	T_ASSERT(d[0].to >= 0 && d[0].to != 2 && d[0].to != h1);

	/* Exit: vCPU 0 of pid 100 (adopted), vCPU 1's old thread (still
	 * detached: restored by its old record) and pid 200's pin. */
	ap_restore_all(p);
	d = take(p, &n);
	T_EQ(n, 3);
	{
		bool r101 = false, r102 = false, r200 = false;

		for (size_t i = 0; i < n; i++) {
			T_EQ(d[i].action, AP_RESTORE);
			T_EQ(d[i].reason, AP_R_EXIT);
			T_ASSERT(cs_equal(&d[i].cpus, &all));
			r101 |= d[i].pid == 100 && d[i].tid == 101 &&
				d[i].vm_id == 2 && d[i].vcpu_id == 0;
			r102 |= d[i].pid == 100 && d[i].tid == 102 &&
				d[i].vcpu_id == 1;
			r200 |= d[i].pid == 200 && d[i].tid == 101;
		}
		T_ASSERT(r101 && r102 && r200);
	}
	ap_free(p);
}

/* A reload before anything was learnt keeps nothing; ids work again. */
T_TEST(policy_module_reload_empty_and_twice)
{
	struct ap_config cfg = defcfg();
	struct ap_policy *p = mkpol(&cfg);
	struct fake_vcpu v;
	size_t n;

	T_ASSERT(ap_vm_add(p, 1, 100) == 0);
	ap_module_gone(p);
	T_ASSERT(!ap_vm_known(p, 1));
	T_EQ(ap_detached_pins(p), 0);
	T_ASSERT(ap_vm_add(p, 1, 100) == 0);
	T_ASSERT(ap_vm_known(p, 1));
	fv_init(&v, 1, 0, 101, "0-7");
	feed(p, &v, 0);
	hop(&v, 20, 3, "0");
	feed(p, &v, 5 * SEC);
	ap_decide(p, 5 * SEC);
	take(p, &n);
	T_EQ(n, 1);
	/* two reloads in a row: still one pin to find, found once */
	ap_module_gone(p);
	ap_module_gone(p);
	T_EQ(ap_detached_pins(p), 1);
	T_ASSERT(ap_vm_add(p, 5, 100) == 0);
	v.vm = 5;
	v.migr = 0;
	cpuset_zero(&v.aff);
	cpuset_set(&v.aff, 3);
	memset(v.resid, 0, sizeof(v.resid));
	feed(p, &v, 6 * SEC);
	T_EQ(ap_detached_pins(p), 0);
	T_EQ(ap_vcpu_state(p, 5, 0, NULL), AP_ST_PINNED);
	ap_decide(p, 7 * SEC);	/* drops the emptied detached VM */
	take(p, &n);
	T_EQ(n, 0);
	ap_restore_all(p);
	take(p, &n);
	T_EQ(n, 1);
	ap_free(p);
}
