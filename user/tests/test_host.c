// SPDX-License-Identifier: GPL-2.0
/*
 * "vcpustat host" against a fake /sys and /proc: 8 CPUs in 2 sockets x
 * 2 cores x 2 threads, 2 NUMA nodes, CPUs 6-7 isolated, AMD with kvm_amd.
 * Then the VM lint with a synthetic snapshot and injected affinities, and
 * the whole command through the binaries with VCPUSTAT_SYSFS/PROCFS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "hostinfo.h"
#include "testutil.h"

static char *fake_tree(void)
{
	char *d = t_tmpdir(), rel[256], val[64];

	t_write(d, "proc/cpuinfo",
		"processor\t: 0\nvendor_id\t: AuthenticAMD\n"
		"model name\t: AMD EPYC 7713 64-Core Processor\n"
		"flags\t\t: fpu vme svm_lock svm npt nrip_save\n\n"
		"processor\t: 1\nflags\t\t: fpu vme vmx\n");
	t_write(d, "proc/cmdline", "BOOT_IMAGE=/vmlinuz ro isolcpus=managed_irq,domain,6-7 quiet\n");
	t_write(d, "sys/devices/system/cpu/possible", "0-7\n");
	t_write(d, "sys/devices/system/cpu/online", "0-7\n");
	t_write(d, "sys/devices/system/cpu/isolated", "6-7\n");
	t_write(d, "sys/devices/system/cpu/nohz_full", "\n");
	t_write(d, "sys/devices/system/cpu/smt/active", "1\n");
	t_write(d, "sys/devices/system/cpu/smt/control", "on\n");
	for (int c = 0; c < 8; c++) {
		snprintf(rel, sizeof(rel),
			 "sys/devices/system/cpu/cpu%d/topology/physical_package_id", c);
		snprintf(val, sizeof(val), "%d\n", c / 4);
		t_write(d, rel, val);
		snprintf(rel, sizeof(rel),
			 "sys/devices/system/cpu/cpu%d/topology/core_id", c);
		snprintf(val, sizeof(val), "%d\n", (c / 2) % 2);
		t_write(d, rel, val);
		snprintf(rel, sizeof(rel),
			 "sys/devices/system/cpu/cpu%d/topology/thread_siblings_list", c);
		snprintf(val, sizeof(val), "%d-%d\n", c & ~1, c | 1);
		t_write(d, rel, val);
	}
	t_write(d, "sys/devices/system/node/online", "0-1\n");
	t_write(d, "sys/devices/system/node/node0/cpulist", "0-3\n");
	t_write(d, "sys/devices/system/node/node1/cpulist", "4-7\n");
	t_write(d, "sys/devices/system/node/node0/meminfo",
		"Node 0 MemTotal:       16777216 kB\nNode 0 MemFree: 1 kB\n");
	t_write(d, "sys/devices/system/node/node1/meminfo",
		"Node 1 MemTotal:       8388608 kB\n");
	t_write(d, "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "512\n");
	t_write(d, "sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "100\n");
	t_write(d, "sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages", "2\n");
	t_write(d, "sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages", "2\n");
	t_write(d, "sys/kernel/mm/transparent_hugepage/enabled",
		"always [madvise] never\n");
	t_write(d, "sys/module/kvm/parameters/halt_poll_ns", "200000\n");
	t_write(d, "sys/module/kvm_amd/parameters/nested", "1\n");
	t_write(d, "sys/module/kvm_amd/parameters/npt", "Y\n");
	t_write(d, "sys/module/kvm_amd/parameters/avic", "N\n");
	/* mock VM pid 1000: vCPU threads 1010, 1011 pinned to siblings */
	t_write(d, "proc/1000/task/1010/status", "Name:\tCPU 0/KVM\nCpus_allowed_list:\t2\n");
	t_write(d, "proc/1000/task/1011/status", "Name:\tCPU 1/KVM\nCpus_allowed_list:\t3\n");
	t_write(d, "proc/2000/task/2010/status", "Cpus_allowed_list:\t0-7\n");
	return d;
}

T_TEST(host_fake_sysfs_facts)
{
	char *d = fake_tree(), sys[512], proc[512], list[64];
	struct host_info hi;

	snprintf(sys, sizeof(sys), "%s/sys", d);
	snprintf(proc, sizeof(proc), "%s/proc", d);
	T_EQ(host_info_read_at(&hi, sys, proc), 0);
	T_ASSERT(hi.has_cpuinfo);
	T_ASSERT(hi.svm);		/* "svm_lock" alone would not count */
	T_ASSERT(!hi.vmx);		/* only the first CPU's flags are read */
	T_STREQ(hi.model, "AMD EPYC 7713 64-Core Processor");
	T_EQ(cpuset_count(&hi.online), 8);
	T_EQ(hi.sockets, 2);
	T_EQ(hi.cores, 4);
	T_EQ(hi.threads_per_core, 2);
	T_EQ(hi.smt_active, 1);
	T_EQ(hi.nr_nodes, 2);
	T_STREQ(cpuset_format(&hi.nodes[1].cpus, list, sizeof(list)), "4-7");
	T_EQ(hi.nodes[0].mem_total_kb, 16777216);
	T_EQ(host_cpu_node(&hi, 5), 1);
	T_EQ(host_cpu_node(&hi, 9), -1);
	T_ASSERT(hi.has_isolated && hi.has_nohz_full);
	T_STREQ(cpuset_format(&hi.isolated, list, sizeof(list)), "6-7");
	T_EQ(cpuset_count(&hi.nohz_full), 0);
	T_STREQ(hi.cmdline_isolcpus, "managed_irq,domain,6-7");
	T_EQ(hi.nr_hpages, 2);
	T_EQ(hi.hpages[0].size_kb, 2048);
	T_EQ(hi.hpages[0].total, 512);
	T_EQ(hi.hpages[0].free, 100);
	T_EQ(hi.hpages[1].size_kb, 1048576);
	T_STREQ(hi.thp, "madvise");
	T_ASSERT(hi.kvm.loaded && hi.kvm_amd.loaded && !hi.kvm_intel.loaded);
	T_ASSERT(!hi.vcpustat.loaded);
	T_STREQ(hi.kvm_amd.params[0].name, "nested");
	T_STREQ(hi.kvm_amd.params[0].value, "1");
	T_STREQ(hi.kvm_amd.params[1].value, "Y");
	T_STREQ(hi.kvm_amd.params[2].value, "N");
	T_ASSERT(cpuset_isset(&hi.siblings[4], 5));
	T_ASSERT(!cpuset_isset(&hi.siblings[4], 6));
	host_info_free(&hi);
	t_rmtree(d);
	free(d);
}

T_TEST(host_missing_files_are_unknown)
{
	char *d = t_tmpdir();
	struct host_info hi;
	struct host_report rep = { .hi = &hi, .mod = HI_MOD_MISSING };
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	/* an empty tree: nothing known, nothing crashes */
	T_EQ(host_info_read_at(&hi, d, d), 0);
	T_ASSERT(!hi.has_cpuinfo && hi.smt_active == -1 && !hi.nr_nodes);
	f = open_memstream(&buf, &len);
	T_EQ(host_render_json(f, false, &rep), 0);
	fclose(f);
	T_ASSERT(t_json_valid(buf, false));
	T_ASSERT(strstr(buf, "\"virtualization\":null"));
	T_ASSERT(strstr(buf, "\"lint\":{\"ran\":false,\"reason\":\"not loaded\"}"));
	free(buf);
	host_info_free(&hi);
	t_rmtree(d);
	free(d);
}

/* Pinning per (pid, tid) for the lint, instead of sched_getaffinity. */
static int fake_aff(const struct host_info *hi, uint32_t pid, uint32_t tid,
		    struct cpuset *set)
{
	(void)hi;
	cpuset_zero(set);
	if (pid == 1234 && tid == 1240)		/* VM1 vCPU0 */
		cpuset_set(set, 4);
	else if (pid == 1234 && tid == 1241)	/* VM1 vCPU1: its sibling */
		cpuset_set(set, 5);
	else if (pid == 1235 && (tid == 1242 || tid == 1243))
		cpuset_set(set, 7);		/* VM2 vCPUs 0, 1: same CPU */
	else if (pid == 1234 || pid == 1235)
		return -1;			/* thread gone */
	else
		for (unsigned int c = 0; c < 8; c++)	/* floating */
			cpuset_set(set, c);
	return 0;
}

T_TEST(host_lint_findings)
{
	char *d = fake_tree(), sys[512], proc[512], *buf = NULL;
	struct host_info hi;
	struct vs_snapshot s;
	struct lint l;
	size_t len = 0;
	FILE *f;

	snprintf(sys, sizeof(sys), "%s/sys", d);
	snprintf(proc, sizeof(proc), "%s/proc", d);
	host_info_read_at(&hi, sys, proc);
	/* 3 VMs x 3 vCPUs = 9 > 8 CPUs; t_snapshot residency: CPUs 0, 3 */
	t_snapshot(&s, 3, 3);
	s.vms[0].vcpus[0].tid = 1240;
	s.vms[0].vcpus[1].tid = 1241;
	s.vms[1].vcpus[0].tid = 1242;
	s.vms[1].vcpus[1].tid = 1243;
	s.vms[1].vcpus[2].tid = 1299;
	/* VM 2 ran on CPU 5 too (node 1); VMs 2 and 3 both on isolated 6 */
	s.vms[1].vcpus[2].residency[0].cpu = 5;
	s.vms[1].vcpus[2].residency[1].cpu = 6;
	s.vms[2].vcpus[0].residency[1].cpu = 6;
	s.vms[2].vcpus[1].residency[1].cpu = 2;
	s.vms[2].vcpus[2].residency[1].cpu = 1;
	/* VM 3 has more vCPUs than the host has CPUs */
	s.vms[2].tracked_vcpus = 12;

	T_EQ(host_lint(&hi, &s, fake_aff, &l), 0);
	T_EQ(l.n, 7);
	T_EQ(l.vms, 3);
	T_EQ(l.vcpus, 3 + 3 + 12);
	T_EQ(l.cpus, 8);
	{
		bool over = false, smt = false, same = false, numa = false,
		     iso = false, big = false, vm1numa = false;

		for (size_t i = 0; i < l.n; i++) {
			const struct lint_item *it = &l.items[i];

			T_ASSERT(it->sev == LINT_WARN);
			if (!strcmp(it->check, "overcommit"))
				over = strstr(it->msg, "18 vCPUs on 8 CPUs: over-commit ratio 2.25");
			if (!strcmp(it->check, "smt-pinned"))
				smt = it->vm_id == 1 &&
				      strstr(it->msg, "vCPUs 0 and 1 are pinned to SMT siblings CPU 4 and CPU 5");
			if (!strcmp(it->check, "same-cpu-pinned"))
				same = it->vm_id == 2 &&
				       strstr(it->msg, "both pinned to CPU 7");
			if (!strcmp(it->check, "numa-spread")) {
				numa |= it->vm_id == 2 && strstr(it->msg, "nodes 0-1");
				vm1numa |= it->vm_id == 1;
			}
			if (!strcmp(it->check, "isolated-shared"))
				iso |= !!strstr(it->msg, "isolated CPU 6 is used by vCPUs of 2 VMs (VM ids 2, 3)");
			if (!strcmp(it->check, "vcpus-exceed-cpus"))
				big = it->vm_id == 3 && strstr(it->msg, "12 vCPUs");
		}
		if (!(over && smt && same && numa && iso && big))
			for (size_t i = 0; i < l.n; i++)
				t_diag("%s: %s", l.items[i].check,
				       l.items[i].msg);
		T_ASSERT(over && smt && same && numa && iso && big);
		T_ASSERT(!vm1numa);	/* VM 1 stayed on node 0 */
	}
	{
		struct host_report rep = { .hi = &hi, .mod = HI_MOD_OK,
					   .lint = &l };
		struct vs_status st = { .version = "9.9" };

		rep.st = &st;
		f = open_memstream(&buf, &len);
		T_EQ(host_render_json(f, true, &rep), 0);
		fclose(f);
		T_ASSERT(t_json_valid(buf, false));
		T_EQ(t_python("import json,sys\n"
			      "d=json.loads(sys.stdin.read())\n"
			      "assert d[\"cpu\"][\"virtualization\"]==\"svm\"\n"
			      "assert d[\"kvm\"][\"kvm_amd\"][\"parameters\"]==dict(nested=\"1\",npt=\"Y\",avic=\"N\",sev=None)\n"
			      "assert d[\"kvm\"][\"kvm_intel\"][\"loaded\"]==False\n"
			      "assert d[\"vcpustat\"][\"version\"]==\"9.9\"\n"
			      "t=d[\"topology\"]\n"
			      "assert (t[\"sockets\"],t[\"cores\"],t[\"threads_per_core\"],t[\"smt\"])==(2,4,2,\"on\")\n"
			      "assert [n[\"cpus\"] for n in d[\"numa\"]]==[\"0-3\",\"4-7\"]\n"
			      "assert d[\"isolation\"][\"isolated\"]==\"6-7\" and d[\"isolation\"][\"nohz_full\"]==\"\"\n"
			      "assert d[\"hugepages\"][0]==dict(size_kb=2048,total=512,free=100)\n"
			      "assert d[\"lint\"][\"ran\"] and d[\"lint\"][\"overcommit\"]==2.25\n"
			      "assert len(d[\"lint\"][\"findings\"])>=6\n", buf), 0);
		free(buf);
		buf = NULL;
		f = open_memstream(&buf, &len);
		host_render_text(f, &rep);
		fclose(f);
		T_ASSERT(strstr(buf, "svm (AMD-V)"));
		T_ASSERT(strstr(buf, "2 sockets, 4 cores, 2 threads per core, SMT on"));
		T_ASSERT(strstr(buf, "node1            cpus 4-7  memory 8G"));
		T_ASSERT(strstr(buf, "isolated         6-7"));
		T_ASSERT(strstr(buf, "hugepages-2M     total 512 free 100"));
		T_ASSERT(strstr(buf, "kvm_amd          loaded  nested=1  npt=Y  avic=N"));
		T_ASSERT(strstr(buf, "WARN smt-pinned: VM 1 (pid 1234 qemu-system-x86)"));
		free(buf);
		/* a small machine reads as English: "1 socket", and sysfs's
		 * smt/control word "notsupported" as "not supported" */
		{
			struct host_info one = hi;

			one.sockets = 1;
			one.cores = 1;
			one.threads_per_core = 1;
			one.smt_active = 0;
			snprintf(one.smt_control, sizeof(one.smt_control),
				 "notsupported");
			rep.hi = &one;
			buf = NULL;
			f = open_memstream(&buf, &len);
			host_render_text(f, &rep);
			fclose(f);
			T_ASSERT(strstr(buf, "1 socket, 1 core, 1 thread per core, SMT not supported\n"));
			free(buf);
			rep.hi = &hi;
		}
	}
	lint_free(&l);
	/* zero VMs: lint runs and says so */
	vs_snapshot_free(&s);
	t_snapshot(&s, 0, 0);
	T_EQ(host_lint(&hi, &s, fake_aff, &l), 0);
	T_EQ(l.n, 0);
	T_EQ(l.vms, 0);
	lint_free(&l);
	vs_snapshot_free(&s);
	host_info_free(&hi);
	t_rmtree(d);
	free(d);
}

T_TEST(host_command_with_fake_roots)
{
	char *d = fake_tree(), cmd[1024], *out;

	/* the real binary: no module here, the report still comes */
	snprintf(cmd, sizeof(cmd), "VCPUSTAT_SYSFS=%s/sys VCPUSTAT_PROCFS=%s/proc %s host -j",
		 d, d, t_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	T_ASSERT(t_json_valid(out, false));
	if (access("/sys/module/vcpustat", F_OK))
		T_ASSERT(strstr(out, "\"lint\":{\"ran\":false"));
	free(out);
	/* mock backend: VM 1's vCPU threads are pinned to siblings 2 and 3
	 * in the fake /proc, so the lint fires through the CLI */
	snprintf(cmd, sizeof(cmd), "VCPUSTAT_SYSFS=%s/sys VCPUSTAT_PROCFS=%s/proc %s host",
		 d, d, t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	snprintf(cmd, sizeof(cmd),
		 "module           loaded, version 0.0.0-mock, uapi revision %u, 2 VMs",
		 VCPUSTAT_UAPI_REVISION);
	T_ASSERT(strstr(out, cmd));
	snprintf(cmd, sizeof(cmd), "tool             %s, uapi revision %u",
		 VCPUSTAT_VERSION, VCPUSTAT_UAPI_REVISION);
	T_ASSERT(strstr(out, cmd));
	T_ASSERT(strstr(out, "2 VMs, 5 vCPUs on 8 CPUs: over-commit 0.62"));
	T_ASSERT(strstr(out, "WARN smt-pinned: VM 1 (pid 1000 qemu-system-x86): vCPUs 0 and 1 are pinned to SMT siblings CPU 2 and CPU 3"));
	free(out);
	/* and zero VMs */
	snprintf(cmd, sizeof(cmd), "VS_MOCK_VMS=0 VCPUSTAT_SYSFS=%s/sys VCPUSTAT_PROCFS=%s/proc %s host",
		 d, d, t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	T_ASSERT(strstr(out, "no VMs running"));
	free(out);
	t_rmtree(d);
	free(d);
}

/*
 * Over-commit from measured wait: VM 1's vCPUs waited 1 s of 4 s (25 %),
 * VM 2's 10 ms of 4 s (0.25 %): only VM 1 is reported, with its share,
 * cumulatively and between two snapshots (where VM 2 now waits 50 %).
 */
T_TEST(host_lint_measured_wait)
{
	struct vs_snapshot s, later;
	struct lint l = { 0 };

	t_snapshot(&s, 2, 2);
	t_snapshot(&later, 2, 2);
	for (size_t i = 0; i < 2; i++)
		for (size_t j = 0; j < 2; j++) {
			struct vs_budget *b = &s.vms[i].vcpus[j].budget;
			struct vs_budget *c = &later.vms[i].vcpus[j].budget;

			*b = (struct vs_budget){ .valid = true };
			b->ns[VCPUSTAT_STATE_GUEST] = 1500000000;
			b->ns[VCPUSTAT_STATE_WAIT] = i ? 5000000 : 500000000;
			b->ns[VCPUSTAT_STATE_HALT] = 2000000000 -
				b->ns[VCPUSTAT_STATE_GUEST] -
				b->ns[VCPUSTAT_STATE_WAIT];
			*c = *b;
			/* one more second each: VM 2 waits half of it */
			c->ns[VCPUSTAT_STATE_GUEST] += 500000000;
			c->ns[VCPUSTAT_STATE_WAIT] += i ? 500000000 : 0;
			c->ns[VCPUSTAT_STATE_HALT] += i ? 0 : 500000000;
		}
	T_EQ(host_lint_wait(&s, NULL, "their time since first seen", &l), 0);
	T_EQ(l.n, 1);
	T_STREQ(l.items[0].check, "vcpu-wait");
	T_EQ(l.items[0].vm_id, s.vms[0].id);
	T_ASSERT(strstr(l.items[0].msg,
			"vCPUs waited 25 % of their time since first seen for a pCPU"));
	lint_free(&l);
	memset(&l, 0, sizeof(l));
	T_EQ(host_lint_wait(&later, &s, "the last 1 s", &l), 0);
	T_EQ(l.n, 1);
	T_EQ(l.items[0].vm_id, later.vms[1].id);
	T_ASSERT(strstr(l.items[0].msg,
			"vCPUs waited 50 % of the last 1 s for a pCPU"));
	lint_free(&l);
	vs_snapshot_free(&s);
	vs_snapshot_free(&later);
}

/*
 * An arm64 host (cpuinfo without flags, a GICv3 in /proc/interrupts,
 * booted with kvm-arm.mode=nvhe): the report names the mode (requested:
 * a fake tree has no kernel log), the GIC, and has no vmx/svm or
 * kvm_intel/kvm_amd lines, in text and JSON.
 */
T_TEST(host_arm64)
{
	char *d = t_tmpdir(), cmd[1024], *out;

	t_write(d, "proc/cpuinfo",
		"processor\t: 0\nBogoMIPS\t: 125.00\n"
		"Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32\n"
		"CPU implementer\t: 0x00\nCPU architecture: 8\n");
	t_write(d, "proc/interrupts",
		"           CPU0       CPU1\n"
		" 10:      12345      23456     GICv3  27 Level     arch_timer\n");
	t_write(d, "proc/cmdline", "console=ttyAMA0 kvm-arm.mode=nvhe quiet\n");
	t_write(d, "sys/module/kvm/parameters/halt_poll_ns", "500000\n");
	snprintf(cmd, sizeof(cmd), "VCPUSTAT_SYSFS=%s/sys VCPUSTAT_PROCFS=%s/proc %s host",
		 d, d, t_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	T_ASSERT(strstr(out, "architecture     arm64\n"));
	T_ASSERT(strstr(out, "kvm mode         nVHE: KVM's hypervisor at EL2, the kernel at EL1 (requested by kvm-arm.mode=)\n"));
	T_ASSERT(strstr(out, "GIC              GICv3\n"));
	T_ASSERT(!strstr(out, "vmx") && !strstr(out, "svm"));
	T_ASSERT(!strstr(out, "kvm_intel") && !strstr(out, "kvm_amd"));
	free(out);
	snprintf(cmd, sizeof(cmd), "VCPUSTAT_SYSFS=%s/sys VCPUSTAT_PROCFS=%s/proc %s host -j",
		 d, d, t_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	T_ASSERT(t_json_valid(out, false));
	T_ASSERT(strstr(out, "\"virtualization\":\"arm64\",\"boot_el\":\"\",\"kvm_mode\":\"nvhe\",\"kvm_mode_requested\":true,\"gic\":\"GICv3\""));
	T_ASSERT(!strstr(out, "\"vmx\"") && !strstr(out, "kvm_amd"));
	free(out);
	t_rmtree(d);
	free(d);
}
