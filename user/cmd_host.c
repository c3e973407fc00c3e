// SPDX-License-Identifier: GPL-2.0
/*
 * host: a checklist of what matters for KVM guests on this host, plus a
 * lint of the running VMs. Works without the module (it says so) so it
 * can be the first command someone runs.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "cmds.h"
#include "fmt.h"
#include "hostinfo.h"
#include "json.h"
#include "stamp.h"

#define OPT_SAMPLE	0x2001

static void host_help(FILE *f)
{
	fprintf(f,
"Usage: vcpustat host [-j|--pretty] [--sample S]\n"
"\n"
"Report the host's virtualization readiness: VMX/SVM in /proc/cpuinfo,\n"
"kvm, kvm_intel and kvm_amd and their parameters, whether vcpustat is\n"
"loaded (and its version), SMP topology and SMT, NUMA nodes, isolated\n"
"and nohz_full CPUs, hugepages and THP.\n"
"\n"
"Then lint the running VMs (needs the module): total vCPUs against\n"
"logical CPUs (over-commit), VMs with more vCPUs than CPUs, vCPUs of one\n"
"VM pinned to one CPU or to SMT siblings, VMs whose vCPUs ran on several\n"
"NUMA nodes, isolated (or nohz_full) CPUs used by vCPUs of several VMs,\n"
"and VMs whose vCPUs waited for a pCPU 5 %% or more of their time (the\n"
"module's measured run-queue wait: what over-commit costs them), since\n"
"they were first seen or, with --sample S, over the next S seconds.\n"
"\n"
"      --sample S  measure the wait over S seconds (default: cumulative)\n"
"  -j, --json     JSON\n"
"      --pretty   indented JSON\n"
"\n"
"Environment: VCPUSTAT_SYSFS and VCPUSTAT_PROCFS replace /sys and /proc.\n");
}

static const char *mod_state_str(enum hi_mod_state s)
{
	switch (s) {
	case HI_MOD_OK:		return "loaded";
	case HI_MOD_MISSING:	return "not loaded";
	case HI_MOD_NOPERM:	return "permission denied (needs CAP_NET_ADMIN)";
	default:		return "error";
	}
}

static const char *smt_str(const struct host_info *hi)
{
	if (hi->smt_active == 1)
		return "on";
	if (hi->smt_active == 0)
		return hi->smt_control[0] ? hi->smt_control : "off";
	return "unknown";
}

/* smt_str() for people: sysfs's "notsupported" is "not supported". */
static const char *smt_text(const struct host_info *hi)
{
	const char *s = smt_str(hi);

	if (!strcmp(s, "notsupported"))
		return "not supported";
	if (!strcmp(s, "notimplemented"))
		return "not implemented";
	if (!strcmp(s, "forceoff"))
		return "forced off";
	return s;
}

static const char *plural(int n)
{
	return n == 1 ? "" : "s";
}

static void text_module(FILE *f, const struct hi_module *m)
{
	fprintf(f, "  %-16s %s", m->name, m->loaded ? "loaded" : "not loaded");
	for (size_t i = 0; m->loaded && i < m->nr_params; i++)
		if (m->params[i].value[0])
			fprintf(f, "  %s=%s", m->params[i].name,
				m->params[i].value);
	fputc('\n', f);
}

void host_render_text(FILE *f, const struct host_report *r)
{
	const struct host_info *hi = r->hi;
	char a[FMT_BUF], list[1024];

	fprintf(f, "CPU\n");
	if (hi->arm64) {
		fprintf(f, "  %-16s arm64\n", "architecture");
		fprintf(f, "  %-16s %s\n", "boot EL",
			hi->arm_el[0] ? hi->arm_el : "unknown");
		fprintf(f, "  %-16s %s%s\n", "kvm mode",
			host_arm64_mode_str(hi),
			hi->kvm_mode_requested ? " (requested by kvm-arm.mode=)" : "");
		fprintf(f, "  %-16s %s\n", "GIC", hi->gic[0] ? hi->gic : "unknown");
	} else if (!hi->has_cpuinfo)
		fprintf(f, "  %-16s unknown (no %s/cpuinfo)\n", "virtualization",
			hi->procfs);
	else if (hi->vmx || hi->svm)
		fprintf(f, "  %-16s %s\n", "virtualization",
			hi->vmx ? "vmx (Intel VT-x)" : "svm (AMD-V)");
	else
		fprintf(f, "  %-16s NONE: no vmx/svm flag (disabled in firmware, or not exposed to this %s)\n",
			"virtualization", hi->hypervisor ? "guest" : "host");
	if (hi->model[0])
		fprintf(f, "  %-16s %s\n", "model", hi->model);
	if (hi->hypervisor)
		fprintf(f, "  %-16s yes (this host is itself a VM: nested)\n",
			"hypervisor");

	fprintf(f, "KVM\n");
	text_module(f, &hi->kvm);
	if (!hi->arm64) {
		text_module(f, &hi->kvm_intel);
		text_module(f, &hi->kvm_amd);
	}

	fprintf(f, "vcpustat\n  %-16s %s", "module", mod_state_str(r->mod));
	if (r->mod == HI_MOD_MISSING && hi->vcpustat.loaded)
		fprintf(f, " (in %s/module but no netlink family)", hi->sysfs);
	if (r->mod == HI_MOD_OK && r->st) {
		fprintf(f, ", version %s", r->st->version);
		if (r->st->uapi_revision)
			fprintf(f, ", uapi revision %u", r->st->uapi_revision);
		fprintf(f, ", %u VMs, %u vCPUs tracked", r->st->vms,
			r->st->vcpus);
	} else if (hi->vcpustat_sysfs_version[0]) {
		fprintf(f, ", version %s", hi->vcpustat_sysfs_version);
	}
	fprintf(f, "\n  %-16s %s, uapi revision %u\n", "tool", VCPUSTAT_VERSION,
		VCPUSTAT_UAPI_REVISION);

	fprintf(f, "Topology\n");
	fprintf(f, "  %-16s %u online (%s) of %u possible\n", "logical CPUs",
		cpuset_count(&hi->online),
		cpuset_format(&hi->online, list, sizeof(list)),
		cpuset_count(&hi->possible));
	fprintf(f, "  %-16s %d socket%s, %d core%s, %d thread%s per core, SMT %s\n",
		"layout", hi->sockets, plural(hi->sockets), hi->cores,
		plural(hi->cores), hi->threads_per_core,
		plural(hi->threads_per_core), smt_text(hi));

	fprintf(f, "NUMA\n");
	if (!hi->nr_nodes)
		fprintf(f, "  (no NUMA information)\n");
	for (size_t i = 0; i < hi->nr_nodes; i++)
		fprintf(f, "  node%-12d cpus %s  memory %s\n", hi->nodes[i].id,
			cpuset_format(&hi->nodes[i].cpus, list, sizeof(list)),
			fmt_bytes(a, sizeof(a), hi->nodes[i].mem_total_kb * 1024));

	fprintf(f, "Isolation\n");
	fprintf(f, "  %-16s %s\n", "isolated", !hi->has_isolated ? "unknown" :
		cpuset_count(&hi->isolated) ?
		cpuset_format(&hi->isolated, list, sizeof(list)) : "(none)");
	fprintf(f, "  %-16s %s\n", "nohz_full", !hi->has_nohz_full ? "unknown" :
		cpuset_count(&hi->nohz_full) ?
		cpuset_format(&hi->nohz_full, list, sizeof(list)) : "(none)");
	if (hi->cmdline_isolcpus[0])
		fprintf(f, "  %-16s %s\n", "isolcpus=", hi->cmdline_isolcpus);

	fprintf(f, "Memory\n");
	for (size_t i = 0; i < hi->nr_hpages; i++) {
		char sz[FMT_BUF];

		fprintf(f, "  hugepages-%-6s total %" PRIu64 " free %" PRIu64 "\n",
			fmt_bytes(sz, sizeof(sz), hi->hpages[i].size_kb * 1024),
			hi->hpages[i].total, hi->hpages[i].free);
	}
	fprintf(f, "  %-16s %s\n", "THP", hi->thp[0] ? hi->thp : "unknown");

	fprintf(f, "VM lint\n");
	if (r->mod != HI_MOD_OK || !r->lint) {
		fprintf(f, "  skipped: vcpustat module %s\n",
			mod_state_str(r->mod));
		return;
	}
	fprintf(f, "  %u VMs, %u vCPUs on %u CPUs: over-commit %.2f\n",
		r->lint->vms, r->lint->vcpus, r->lint->cpus,
		r->lint->overcommit);
	if (!r->lint->vms)
		fprintf(f, "  no VMs running\n");
	for (size_t i = 0; i < r->lint->n; i++)
		fprintf(f, "  %s %s: %s\n",
			r->lint->items[i].sev == LINT_WARN ? "WARN" : "info",
			r->lint->items[i].check, r->lint->items[i].msg);
	if (r->lint->vms && !r->lint->n)
		fprintf(f, "  ok: no problems found\n");
}

static void json_cpulist(struct jw *w, const char *key,
			 const struct cpuset *s)
{
	char list[4096];

	if (key)
		jw_key(w, key);
	jw_str(w, cpuset_format(s, list, sizeof(list)));
}

static void json_module(struct jw *w, const struct hi_module *m)
{
	jw_key(w, m->name);
	jw_obj_open(w);
	jw_kbool(w, "loaded", m->loaded);
	if (m->nr_params) {
		jw_key(w, "parameters");
		jw_obj_open(w);
		for (size_t i = 0; i < m->nr_params; i++) {
			jw_key(w, m->params[i].name);
			if (m->loaded && m->params[i].value[0])
				jw_str(w, m->params[i].value);
			else
				jw_null(w);
		}
		jw_obj_close(w);
	}
	jw_obj_close(w);
}

int host_render_json(FILE *f, bool pretty, const struct host_report *r)
{
	const struct host_info *hi = r->hi;
	struct jw w;

	jw_init(&w, f, pretty);
	jw_obj_open(&w);
	jw_time_keys(&w, 0);
	jw_kstr(&w, "tool_version", VCPUSTAT_VERSION);

	jw_key(&w, "cpu");
	jw_obj_open(&w);
	jw_key(&w, "virtualization");
	if (!hi->has_cpuinfo)
		jw_null(&w);
	else if (hi->arm64)
		jw_str(&w, "arm64");
	else
		jw_str(&w, hi->vmx ? "vmx" : hi->svm ? "svm" : "none");
	if (hi->arm64) {
		jw_kstr(&w, "boot_el", hi->arm_el);
		jw_kstr(&w, "kvm_mode", hi->kvm_mode);
		jw_kbool(&w, "kvm_mode_requested", hi->kvm_mode_requested);
		jw_kstr(&w, "gic", hi->gic);
	} else {
		jw_kbool(&w, "vmx", hi->vmx);
		jw_kbool(&w, "svm", hi->svm);
	}
	jw_kbool(&w, "hypervisor", hi->hypervisor);
	jw_kstr(&w, "model", hi->model);
	jw_obj_close(&w);

	jw_key(&w, "kvm");
	jw_obj_open(&w);
	json_module(&w, &hi->kvm);
	if (!hi->arm64) {
		json_module(&w, &hi->kvm_intel);
		json_module(&w, &hi->kvm_amd);
	}
	jw_obj_close(&w);

	jw_key(&w, "vcpustat");
	jw_obj_open(&w);
	jw_kbool(&w, "loaded", r->mod == HI_MOD_OK || hi->vcpustat.loaded);
	jw_kstr(&w, "state", mod_state_str(r->mod));
	jw_key(&w, "version");
	if (r->mod == HI_MOD_OK && r->st)
		jw_str(&w, r->st->version);
	else if (hi->vcpustat_sysfs_version[0])
		jw_str(&w, hi->vcpustat_sysfs_version);
	else
		jw_null(&w);
	jw_key(&w, "uapi_revision");
	if (r->mod == HI_MOD_OK && r->st && r->st->uapi_revision)
		jw_u64(&w, r->st->uapi_revision);
	else
		jw_null(&w);
	jw_obj_close(&w);

	jw_key(&w, "topology");
	jw_obj_open(&w);
	jw_ku64(&w, "logical_cpus", cpuset_count(&hi->online));
	json_cpulist(&w, "online", &hi->online);
	json_cpulist(&w, "possible", &hi->possible);
	jw_ki64(&w, "sockets", hi->sockets);
	jw_ki64(&w, "cores", hi->cores);
	jw_ki64(&w, "threads_per_core", hi->threads_per_core);
	jw_kstr(&w, "smt", smt_str(hi));
	jw_obj_close(&w);

	jw_key(&w, "numa");
	jw_arr_open(&w);
	for (size_t i = 0; i < hi->nr_nodes; i++) {
		jw_obj_open(&w);
		jw_ki64(&w, "node", hi->nodes[i].id);
		json_cpulist(&w, "cpus", &hi->nodes[i].cpus);
		jw_ku64(&w, "mem_total_kb", hi->nodes[i].mem_total_kb);
		jw_obj_close(&w);
	}
	jw_arr_close(&w);

	jw_key(&w, "isolation");
	jw_obj_open(&w);
	jw_key(&w, "isolated");
	if (hi->has_isolated)
		json_cpulist(&w, NULL, &hi->isolated);
	else
		jw_null(&w);
	jw_key(&w, "nohz_full");
	if (hi->has_nohz_full)
		json_cpulist(&w, NULL, &hi->nohz_full);
	else
		jw_null(&w);
	jw_kstr(&w, "cmdline_isolcpus", hi->cmdline_isolcpus);
	jw_obj_close(&w);

	jw_key(&w, "hugepages");
	jw_arr_open(&w);
	for (size_t i = 0; i < hi->nr_hpages; i++) {
		jw_obj_open(&w);
		jw_ku64(&w, "size_kb", hi->hpages[i].size_kb);
		jw_ku64(&w, "total", hi->hpages[i].total);
		jw_ku64(&w, "free", hi->hpages[i].free);
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	jw_key(&w, "thp");
	if (hi->thp[0])
		jw_str(&w, hi->thp);
	else
		jw_null(&w);

	jw_key(&w, "lint");
	if (r->mod != HI_MOD_OK || !r->lint) {
		jw_obj_open(&w);
		jw_kbool(&w, "ran", false);
		jw_kstr(&w, "reason", mod_state_str(r->mod));
		jw_obj_close(&w);
	} else {
		jw_obj_open(&w);
		jw_kbool(&w, "ran", true);
		jw_ku64(&w, "vms", r->lint->vms);
		jw_ku64(&w, "vcpus", r->lint->vcpus);
		jw_ku64(&w, "cpus", r->lint->cpus);
		jw_kdouble(&w, "overcommit", r->lint->overcommit);
		jw_key(&w, "findings");
		jw_arr_open(&w);
		for (size_t i = 0; i < r->lint->n; i++) {
			const struct lint_item *it = &r->lint->items[i];

			jw_obj_open(&w);
			jw_kstr(&w, "severity",
				it->sev == LINT_WARN ? "warn" : "info");
			jw_kstr(&w, "check", it->check);
			if (it->has_vm)
				jw_ku64(&w, "vm_id", it->vm_id);
			jw_kstr(&w, "message", it->msg);
			jw_obj_close(&w);
		}
		jw_arr_close(&w);
		jw_obj_close(&w);
	}
	jw_obj_close(&w);
	return jw_end(&w);
}

static int host_run(struct vs_global *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "sample", required_argument, NULL, OPT_SAMPLE },
		VS_GLOBAL_LONG,
		{ NULL, 0, NULL, 0 }
	};
	struct host_report rep = { 0 };
	struct vs_snapshot snap = { 0 }, later = { 0 };
	double sample = 0;
	struct host_info hi;
	struct vs_status st;
	struct lint lint = { 0 };
	struct vs_ctx *ctx = NULL;
	int c, r, err;

	while ((c = getopt_long(argc, argv, VS_GLOBAL_SHORT, lo, NULL)) != -1) {
		if (c == OPT_SAMPLE) {
			if (vs_parse_seconds(optarg, &sample) || sample > 3600)
				return vs_usage_error(&vs_cmd_host,
						      "bad --sample '%s': seconds, at most 3600",
						      optarg);
			continue;
		}
		r = vs_common_opt(&vs_cmd_host, g, c, optarg);
		if (r >= 0)
			return r;
	}
	if (optind < argc)
		return vs_usage_error(&vs_cmd_host, "unexpected argument '%s'",
				      argv[optind]);
	host_info_read(&hi);
	rep.hi = &hi;
	err = vs_open(&ctx);
	if (!err) {
		struct vs_filter f;

		vs_global_filter(g, &f);
		err = vs_get_config(ctx, NULL, &st);
		if (!err)
			err = vs_snapshot_get(ctx, &f, &snap);
		if (!err && sample > 0) {
			struct timespec ts = {
				(time_t)sample,
				(long)((sample - (double)(time_t)sample) * 1e9)
			};

			nanosleep(&ts, NULL);
			err = vs_snapshot_get(ctx, &f, &later);
		}
	}
	if (!err) {
		const struct vs_snapshot *now = sample > 0 ? &later : &snap;
		char window[64];

		if (sample > 0)
			snprintf(window, sizeof(window), "the last %g s", sample);
		else
			snprintf(window, sizeof(window),
				 "their time since first seen");
		rep.mod = HI_MOD_OK;
		rep.st = &st;
		if (host_lint(&hi, now, host_affinity, &lint) == 0 &&
		    host_lint_wait(now, sample > 0 ? &snap : NULL, window,
				   &lint) == 0)
			rep.lint = &lint;
	} else if (err == -ENOENT && !ctx) {
		rep.mod = HI_MOD_MISSING;
	} else if (err == -EPERM || err == -EACCES) {
		rep.mod = HI_MOD_NOPERM;
	} else {
		rep.mod = HI_MOD_ERROR;
		fprintf(stderr, "vcpustat: reading VMs from the module: %s\n",
			strerror(-err));
		if (vs_extack(ctx))
			fprintf(stderr, "vcpustat: kernel reports: %s\n",
				vs_extack(ctx));
	}
	/* the report is the point: missing module is not an error here */
	if (g->json)
		r = host_render_json(stdout, g->pretty, &rep) ? VS_EXIT_ERR :
		    VS_EXIT_OK;
	else {
		host_render_text(stdout, &rep);
		r = fflush(stdout) ? VS_EXIT_ERR : VS_EXIT_OK;
	}
	lint_free(&lint);
	vs_snapshot_free(&snap);
	vs_snapshot_free(&later);
	vs_close(ctx);
	host_info_free(&hi);
	return r;
}

const struct vs_cmd vs_cmd_host = {
	.name = "host",
	.synopsis = "[-j|--pretty]",
	.summary = "host checklist (VMX/SVM, KVM params, topology, NUMA, isolation) and VM lint",
	.run = host_run,
	.help = host_help,
};
