// SPDX-License-Identifier: GPL-2.0
/* reset: zero the counters of every VM, or of one (--vm / -P). */
#include <inttypes.h>

#include "cmds.h"

static void reset_help(FILE *f)
{
	fprintf(f,
"Usage: vcpustat reset [--vm ID | -P PID]\n"
"\n"
"Zero the counters of every vCPU of every VM, or of one VM. Each vCPU\n"
"is reset atomically at its next exit; reads report it as zeroed at\n"
"once. VM identity, current pCPU and module-wide status counters are not\n"
"reset.\n");
}

static int reset_run(struct vs_global *g, int argc, char **argv)
{
	static const struct option lo[] = {
		VS_GLOBAL_LONG,
		{ NULL, 0, NULL, 0 }
	};
	struct vs_ctx *ctx;
	uint64_t vm_id = 0;
	bool all = true;
	int c, r, err;

	while ((c = getopt_long(argc, argv, VS_GLOBAL_SHORT, lo, NULL)) != -1) {
		r = vs_common_opt(&vs_cmd_reset, g, c, optarg);
		if (r >= 0)
			return r;
	}
	if (optind < argc)
		return vs_usage_error(&vs_cmd_reset, "unexpected argument '%s'",
				      argv[optind]);
	r = vs_connect(&ctx);
	if (r)
		return r;
	if (g->has_vm) {
		all = false;
		vm_id = g->vm_id;
	} else if (g->has_pid) {
		/* RESET takes a VM id: find the pid's VM(s) first */
		struct vs_filter f = { .pid = g->pid, .has_pid = true };
		struct vs_snapshot s;

		err = vs_snapshot_get(ctx, &f, &s);
		if (err) {
			r = vs_report(ctx, err, "looking up the VM");
			vs_close(ctx);
			return r;
		}
		if (!s.nr_vms) {
			fprintf(stderr, "vcpustat: no VM of pid %u\n", g->pid);
			vs_snapshot_free(&s);
			vs_close(ctx);
			return VS_EXIT_ERR;
		}
		for (size_t i = 0; i < s.nr_vms; i++) {
			err = vs_reset(ctx, false, s.vms[i].id);
			if (err)
				break;
		}
		vs_snapshot_free(&s);
		goto done;
	}
	err = vs_reset(ctx, all, vm_id);
done:
	r = err ? vs_report(ctx, err, "resetting counters") : VS_EXIT_OK;
	vs_close(ctx);
	return r;
}

const struct vs_cmd vs_cmd_reset = {
	.name = "reset",
	.synopsis = "[--vm ID | -P PID]",
	.summary = "zero the counters of all VMs or of one",
	.run = reset_run,
	.help = reset_help,
};
