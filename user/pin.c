// SPDX-License-Identifier: GPL-2.0
/*
 * vcpustat pin: show or set the pCPU affinity of a VM's vCPU threads
 * (like virsh vcpuinfo / vcpupin) and of its other threads (emulatorpin).
 *
 * Only processes the module reports as running a VM are touched, vCPUs are
 * mapped to threads by the module, and every thread is re-checked against
 * /proc/PID/task right before sched_setaffinity (tids are reused).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "affinity.h"
#include "cmds.h"
#include "fmt.h"
#include "json.h"
#include "render.h"
#include "select.h"
#include "stamp.h"
#include "vsnl.h"

#define PIN_MAX_THREADS 65536

static void pin_help(FILE *f)
{
	fprintf(f,
"usage: vcpustat pin -p PID|-g NAME [--vm ID] [-j [--pretty]]\n"
"       vcpustat pin -p PID|-g NAME [--vm ID] VCPU CPULIST\n"
"       vcpustat pin -p PID|-g NAME [--vm ID] --emulator CPULIST\n"
"\n"
"Without CPULIST: list each vCPU of the VM(s) of process PID with its thread,\n"
"the pCPU it last entered the guest on, and the thread's CPU affinity; then\n"
"the process's other (emulator) threads. Like virsh vcpuinfo.\n"
"\n"
"VCPU CPULIST: set the affinity of the thread running vCPU VCPU (its KVM\n"
"vcpu_id, as in the list) to CPULIST, like virsh vcpupin or taskset -pc.\n"
"--emulator CPULIST: set the affinity of every thread of PID that does not run\n"
"a vCPU, like virsh emulatorpin. Threads created later inherit the affinity\n"
"of the thread that creates them.\n"
"\n"
"CPULIST: 2, 2-5, 0,4,8-11 (also A-B:USED/GROUP, as the kernel's cpulist).\n"
"Every CPU must be online and inside the thread's cpuset; nothing is changed\n"
"otherwise, and the error names the offending CPUs.\n"
"\n"
"  -p, --pid PID     the VM's process (required unless --vm is given)\n"
"  -g, --guest NAME only the VM named NAME (QEMU -name; -P PID: same as -p)\n"
"      --vm ID       the VM (needed when PID runs more than one VM)\n"
"      --emulator    act on the non-vCPU threads\n"
"  -j, --json        JSON output; --pretty indents it\n"
"\n"
"Exit: 0 done, 1 runtime error (thread gone, CPU offline or outside the\n"
"cpuset), 2 bad arguments (syntax, no such CPU, PID runs no VM, no such\n"
"vCPU), 3 module not loaded, 4 permission denied (CAP_NET_ADMIN for the\n"
"module, CAP_SYS_NICE or the same user to change another's affinity).\n");
}

static int possible_cpus(struct cpuset *s)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/devices/system/cpu/possible",
		 aff_sysfs);
	return aff_read_cpulist_file(path, s);
}

/* Parse CPULIST for a command line: syntax and existence (exit 2). */
static int parse_cpulist_arg(const char *arg, struct cpuset *out)
{
	struct cpuset possible, bad;
	char err[256], list[256], have[256];

	if (!*arg)
		return vs_usage_error(&vs_cmd_pin, "empty CPU list");
	if (cpulist_parse(arg, out, err, sizeof(err)))
		return vs_usage_error(&vs_cmd_pin, "%s", err);
	if (cs_empty(out))
		return vs_usage_error(&vs_cmd_pin, "empty CPU list \"%s\"",
				      arg);
	if (possible_cpus(&possible) == 0) {
		cs_andnot(&bad, out, &possible);
		if (!cs_empty(&bad)) {
			cpuset_format(&bad, list, sizeof(list));
			cpuset_format(&possible, have, sizeof(have));
			return vs_usage_error(&vs_cmd_pin,
					      "CPU %s does not exist (this machine has CPUs %s)",
					      list, have);
		}
	}
	return VS_EXIT_OK;
}

static bool is_vcpu_tid(const struct vs_snapshot *snap, pid_t tid)
{
	for (size_t i = 0; i < snap->nr_vms; i++)
		for (size_t j = 0; j < snap->vms[i].nr_vcpus; j++)
			if ((pid_t)snap->vms[i].vcpus[j].tid == tid)
				return true;
	return false;
}

/* QEMU names its vCPU threads "CPU <n>/KVM". */
static bool comm_looks_vcpu(const char *comm)
{
	unsigned int n;
	char tail[8];

	return sscanf(comm, "CPU %u/%7s", &n, tail) == 2 && !strcmp(tail, "KVM");
}

static bool vm_has_unknown_tid(const struct vs_snapshot *snap)
{
	for (size_t i = 0; i < snap->nr_vms; i++) {
		if (snap->vms[i].tracked_vcpus > snap->vms[i].nr_vcpus)
			return true;
		for (size_t j = 0; j < snap->vms[i].nr_vcpus; j++)
			if (!snap->vms[i].vcpus[j].tid)
				return true;
	}
	return false;
}

/* ---- show ----------------------------------------------------------- */

static void fmt_aff(pid_t tid, char *buf, size_t len)
{
	struct cpuset s;

	if (aff_get(tid, &s))
		snprintf(buf, len, "-");
	else
		cpuset_format(&s, buf, len);
}

static int show(const struct vs_global *g, const struct vs_snapshot *snap,
		pid_t pid)
{
	static pid_t tids[PIN_MAX_THREADS];
	char aff[1024], comm[64], cpu[16];
	struct jw w;
	int nt;

	nt = aff_list_tids(pid, tids, PIN_MAX_THREADS);
	if (nt < 0)
		nt = 0;	/* gone meanwhile: still show what the module said */

	if (g->json) {
		jw_init(&w, stdout, g->pretty);
		jw_obj_open(&w);
		jw_time_keys(&w, 0);
		jw_ku64(&w, "pid", pid);
		jw_key(&w, "vms");
		jw_arr_open(&w);
	}
	for (size_t i = 0; i < snap->nr_vms; i++) {
		const struct vs_vm *vm = &snap->vms[i];

		if (g->json) {
			jw_obj_open(&w);
			jw_ku64(&w, "vm_id", vm->id);
			jw_kstr(&w, "comm", vm->comm);
			jw_kstr_or_null(&w, "name", vm->name);
			jw_kstr_or_null(&w, "uuid", vm->uuid);
			jw_key(&w, "vcpus");
			jw_arr_open(&w);
		} else {
			char nm[VS_NAME_LEN * 4], comm[VS_COMM_LEN];

			printf("VM %llu pid %u (%s)%s%s: %zu vCPUs\n",
			       (unsigned long long)vm->id, vm->pid,
			       fmt_safe(comm, sizeof(comm), vm->comm),
			       vm->name[0] ? " name " : "",
			       vm->name[0] ? fmt_name(nm, sizeof(nm), vm->name, 0) : "",
			       vm->nr_vcpus);
			printf("%-6s %-5s %-8s %-4s %-12s %s\n", "VCPU", "IDX",
			       "TID", "CPU", "MIGRATIONS", "AFFINITY");
		}
		for (size_t j = 0; j < vm->nr_vcpus; j++) {
			const struct vs_vcpu *v = &vm->vcpus[j];
			bool ours = v->tid && aff_tid_in_pid(pid, (pid_t)v->tid) == 1;

			if (ours)
				fmt_aff((pid_t)v->tid, aff, sizeof(aff));
			else
				snprintf(aff, sizeof(aff), "-");
			if (v->pcpu == VS_NO_CPU)
				snprintf(cpu, sizeof(cpu), "-");
			else
				snprintf(cpu, sizeof(cpu), "%u", v->pcpu);
			if (g->json) {
				jw_obj_open(&w);
				jw_ku64(&w, "vcpu", v->vcpu_id);
				jw_ku64(&w, "idx", v->idx);
				jw_key(&w, "tid");
				if (v->tid)
					jw_u64(&w, v->tid);
				else
					jw_null(&w);
				jw_key(&w, "cpu");
				if (v->pcpu == VS_NO_CPU)
					jw_null(&w);
				else
					jw_u64(&w, v->pcpu);
				jw_ku64(&w, "migrations", v->migrations);
				jw_key(&w, "affinity");
				if (ours)
					jw_str(&w, aff);
				else
					jw_null(&w);
				jw_obj_close(&w);
			} else {
				char tid[16];

				if (v->tid)
					snprintf(tid, sizeof(tid), "%u", v->tid);
				else
					snprintf(tid, sizeof(tid), "-");
				printf("%-6u %-5u %-8s %-4s %-12llu %s\n",
				       v->vcpu_id, v->idx, tid, cpu,
				       (unsigned long long)v->migrations, aff);
			}
		}
		if (g->json) {
			jw_arr_close(&w);
			jw_obj_close(&w);
		}
	}
	if (g->json) {
		jw_arr_close(&w);
		jw_key(&w, "emulator");
		jw_arr_open(&w);
	} else {
		printf("\n%-8s %-16s %s\n", "THREAD", "COMM", "AFFINITY");
	}
	for (int k = 0; k < nt; k++) {
		if (is_vcpu_tid(snap, tids[k]))
			continue;
		aff_thread_comm(pid, tids[k], comm, sizeof(comm));
		fmt_aff(tids[k], aff, sizeof(aff));
		if (g->json) {
			jw_obj_open(&w);
			jw_ku64(&w, "tid", (uint64_t)tids[k]);
			jw_kstr(&w, "comm", comm);
			jw_kbool(&w, "vcpu_like", comm_looks_vcpu(comm));
			jw_kstr(&w, "affinity", aff);
			jw_obj_close(&w);
		} else {
			printf("%-8d %-16s %s%s\n", (int)tids[k], comm, aff,
			       comm_looks_vcpu(comm) ?
			       "  (named like a vCPU thread; not reported by the module)" : "");
		}
	}
	if (g->json) {
		jw_arr_close(&w);
		jw_obj_close(&w);
		if (jw_end(&w))
			return VS_EXIT_ERR;
	}
	return VS_EXIT_OK;
}

/* ---- set ------------------------------------------------------------ */

static int perm_exit(int err)
{
	return err == -EPERM || err == -EACCES ? VS_EXIT_PERM : VS_EXIT_ERR;
}

static void print_change(const struct vs_global *g, const char *what,
			 unsigned int vcpu, pid_t tid,
			 const struct cpuset *before,
			 const struct cpuset *after)
{
	char a[1024], b[1024];

	cpuset_format(before, a, sizeof(a));
	cpuset_format(after, b, sizeof(b));
	if (g->json) {
		struct jw w;

		jw_init(&w, stdout, g->pretty);
		jw_obj_open(&w);
		jw_time_keys(&w, 0);
		jw_kstr(&w, "thread", what);
		if (!strcmp(what, "vcpu"))
			jw_ku64(&w, "vcpu", vcpu);
		jw_ku64(&w, "tid", (uint64_t)tid);
		jw_kstr(&w, "before", a);
		jw_kstr(&w, "after", b);
		jw_obj_close(&w);
		jw_end(&w);
	} else if (!strcmp(what, "vcpu")) {
		printf("vcpu %u (tid %d): %s -> %s\n", vcpu, (int)tid, a, b);
	} else {
		printf("thread %d: %s -> %s\n", (int)tid, a, b);
	}
}

static int set_vcpu(const struct vs_global *g, const struct vs_snapshot *snap,
		    pid_t pid, uint32_t vcpu_id, const struct cpuset *want)
{
	const struct vs_vcpu *v = NULL;
	struct cpuset before;
	char err[1024];
	int r;

	for (size_t i = 0; i < snap->nr_vms && !v; i++)
		for (size_t j = 0; j < snap->vms[i].nr_vcpus; j++)
			if (snap->vms[i].vcpus[j].vcpu_id == vcpu_id) {
				v = &snap->vms[i].vcpus[j];
				break;
			}
	if (!v) {
		char ids[256] = "";
		size_t n = 0;

		for (size_t i = 0; i < snap->nr_vms; i++)
			for (size_t j = 0; j < snap->vms[i].nr_vcpus && n < 200; j++)
				n += (size_t)snprintf(ids + n, sizeof(ids) - n,
						      "%s%u", n ? "," : "",
						      snap->vms[i].vcpus[j].vcpu_id);
		return vs_usage_error(&vs_cmd_pin,
				      "process %d has no vCPU %u (vCPUs: %s)",
				      (int)pid, vcpu_id, n ? ids : "none yet");
	}
	if (!v->tid) {
		fprintf(stderr,
			"vcpustat pin: vCPU %u of process %d has not run yet; its thread is unknown\n",
			vcpu_id, (int)pid);
		return VS_EXIT_ERR;
	}
	r = aff_tid_in_pid(pid, (pid_t)v->tid);
	if (r != 1) {
		fprintf(stderr,
			"vcpustat pin: thread %u of vCPU %u is no longer part of process %d\n",
			v->tid, vcpu_id, (int)pid);
		return VS_EXIT_ERR;
	}
	r = aff_check(pid, (pid_t)v->tid, want, err, sizeof(err));
	if (r) {
		fprintf(stderr, "vcpustat pin: vCPU %u: %s\n", vcpu_id, err);
		return VS_EXIT_ERR;
	}
	if (aff_get((pid_t)v->tid, &before))
		cpuset_zero(&before);
	r = aff_set_checked(pid, (pid_t)v->tid, want, err, sizeof(err));
	if (r) {
		fprintf(stderr, "vcpustat pin: vCPU %u: %s\n", vcpu_id, err);
		return perm_exit(r);
	}
	print_change(g, "vcpu", vcpu_id, (pid_t)v->tid, &before, want);
	return VS_EXIT_OK;
}

static int set_emulator(const struct vs_global *g,
			const struct vs_snapshot *snap, pid_t pid,
			const struct cpuset *want)
{
	static pid_t tids[PIN_MAX_THREADS];
	struct cpuset *before = NULL;
	pid_t *done = NULL;
	int nt, ndone = 0, nemu = 0, rc = VS_EXIT_OK;
	char err[1024], comm[64];

	nt = aff_list_tids(pid, tids, PIN_MAX_THREADS);
	if (nt < 0) {
		fprintf(stderr, "vcpustat pin: process %d: %s\n", (int)pid,
			strerror(-nt));
		return VS_EXIT_ERR;
	}
	if (vm_has_unknown_tid(snap))
		fprintf(stderr,
			"vcpustat pin: warning: some vCPUs have not run yet; threads named \"CPU n/KVM\" are left alone\n");
	/* Validate every thread first: bad input changes nothing. */
	for (int k = 0; k < nt; k++) {
		if (is_vcpu_tid(snap, tids[k])) {
			tids[k] = 0;
			continue;
		}
		aff_thread_comm(pid, tids[k], comm, sizeof(comm));
		if (comm_looks_vcpu(comm)) {
			tids[k] = 0;
			continue;
		}
		if (aff_check(pid, tids[k], want, err, sizeof(err))) {
			fprintf(stderr, "vcpustat pin: emulator thread %d (%s): %s\n",
				(int)tids[k], comm, err);
			return VS_EXIT_ERR;
		}
		nemu++;
	}
	if (!nemu) {
		fprintf(stderr, "vcpustat pin: process %d has no emulator threads\n",
			(int)pid);
		return VS_EXIT_ERR;
	}
	before = calloc((size_t)nemu, sizeof(*before));
	done = calloc((size_t)nemu, sizeof(*done));
	if (!before || !done) {
		fprintf(stderr, "vcpustat pin: out of memory\n");
		rc = VS_EXIT_ERR;
		goto out;
	}
	for (int k = 0; k < nt && ndone < nemu; k++) {
		struct cpuset old;
		int r;

		if (!tids[k])
			continue;
		if (aff_get(tids[k], &old))
			continue;	/* exited meanwhile */
		r = aff_set_checked(pid, tids[k], want, err, sizeof(err));
		if (r == -ESRCH)
			continue;
		if (r) {
			fprintf(stderr, "vcpustat pin: %s\n", err);
			rc = perm_exit(r);
			break;
		}
		before[ndone] = old;
		done[ndone++] = tids[k];
		print_change(g, "emulator", 0, tids[k], &old, want);
	}
	if (rc != VS_EXIT_OK && ndone) {
		/* All or nothing: put back what was changed. */
		for (int k = 0; k < ndone; k++)
			if (aff_tid_in_pid(pid, done[k]) == 1)
				aff_set(done[k], &before[k]);
		fprintf(stderr, "vcpustat pin: restored the %d thread(s) already changed\n",
			ndone);
	}
out:
	free(before);
	free(done);
	return rc;
}

/* ---- entry ---------------------------------------------------------- */

static int pin_run(struct vs_global *g, int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "emulator", no_argument, NULL, 'E' },
		VS_GLOBAL_LONG,
		{ NULL, 0, NULL, 0 }
	};
	struct vs_snapshot snap = { 0 };
	struct vs_filter f = { 0 };
	struct cpuset want;
	bool emulator = false;
	struct vs_ctx *ctx = NULL;
	uint32_t vcpu_id = 0;
	pid_t pid;
	int c, rc, nargs;

	while ((c = getopt_long(argc, argv, VS_GLOBAL_SHORT, lopts, NULL)) != -1) {
		switch (c) {
		case 'E':
			emulator = true;
			break;
		default:
			rc = vs_common_opt(&vs_cmd_pin, g, c, optarg);
			if (rc >= 0)
				return rc;
		}
	}
	nargs = argc - optind;
	if (emulator && nargs != 1)
		return vs_usage_error(&vs_cmd_pin, "--emulator takes one CPULIST");
	if (!emulator && nargs != 0 && nargs != 2)
		return vs_usage_error(&vs_cmd_pin,
				      nargs == 1 ? "VCPU needs a CPULIST" :
				      "too many arguments");
	if (!vs_selecting(g))
		return vs_usage_error(&vs_cmd_pin, "which VM? give -p PID, -g NAME or --vm ID");
	if (g->has_pid && !g->pid)
		return vs_usage_error(&vs_cmd_pin, "-p 0 names VMs whose process KVM does not know: nothing to pin");
	if (nargs == 2) {
		if (vs_parse_u32(argv[optind], &vcpu_id))
			return vs_usage_error(&vs_cmd_pin, "bad VCPU \"%s\"",
					      argv[optind]);
		rc = parse_cpulist_arg(argv[optind + 1], &want);
		if (rc)
			return rc;
	} else if (emulator) {
		rc = parse_cpulist_arg(argv[optind], &want);
		if (rc)
			return rc;
	}

	rc = vs_connect(&ctx);
	if (rc)
		return rc;
	vs_global_filter(g, &f);
	c = vs_select_get(ctx, g, &f, &snap);
	if (c) {
		rc = vs_report(ctx, c, "snapshot");
		goto out;
	}
	rc = vs_select_check("pin", g, &snap);
	if (rc)
		goto out;
	pid = (pid_t)snap.vms[0].pid;
	for (size_t i = 1; i < snap.nr_vms; i++)
		if ((pid_t)snap.vms[i].pid != pid) {
			rc = vs_usage_error(&vs_cmd_pin, "VMs of several processes match; give -p PID");
			goto out;
		}
	if (aff_pid_alive(pid) != 1) {
		fprintf(stderr, "vcpustat pin: process %d is gone\n", (int)pid);
		rc = VS_EXIT_ERR;
		goto out;
	}
	if (nargs == 0 && !emulator) {
		rc = show(g, &snap, pid);
	} else if (emulator) {
		rc = set_emulator(g, &snap, pid, &want);
	} else {
		if (snap.nr_vms > 1 && !g->has_vm) {
			rc = vs_usage_error(&vs_cmd_pin,
					    "process %d runs %zu VMs; choose one with --vm ID",
					    (int)pid, snap.nr_vms);
			goto out;
		}
		rc = set_vcpu(g, &snap, pid, vcpu_id, &want);
	}
out:
	vs_snapshot_free(&snap);
	vs_close(ctx);
	return rc;
}

const struct vs_cmd vs_cmd_pin = {
	.name = "pin",
	.synopsis = "-p PID|-g NAME [VCPU CPULIST | --emulator CPULIST]",
	.summary = "show or set the pCPU affinity of a VM's vCPU and emulator threads",
	.run = pin_run,
	.help = pin_help,
};
