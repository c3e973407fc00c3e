// SPDX-License-Identifier: GPL-2.0
/* reset: zero the counters of every VM, or of one (--vm / -P). */
#include <inttypes.h>

#include "cmds.h"
#include "select.h"

static void reset_help(FILE *f)
{
	fprintf(f,
"Usage: vcpustat reset [--vm ID | -p PID | -g NAME]\n"
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
	if (vs_selecting(g)) {
		/* RESET takes a VM id: find the selected VM(s) first */
		struct vs_filter f;
		struct vs_snapshot s;

		vs_global_filter(g, &f);
		err = vs_select_get(ctx, g, &f, &s);
		if (err) {
			r = vs_report(ctx, err, "looking up the VM");
			vs_close(ctx);
			return r;
		}
		r = vs_select_check("reset", g, &s);
		if (r) {
			vs_snapshot_free(&s);
			vs_close(ctx);
			return r;
		}
		for (size_t i = 0; i < s.nr_vms; i++) {
			err = vs_reset(ctx, false, s.vms[i].id);
			if (err)
				break;
		}
		vs_snapshot_free(&s);
		goto done;
	}
	err = vs_reset(ctx, true, 0);
done:
	r = err ? vs_report(ctx, err, "resetting counters") : VS_EXIT_OK;
	vs_close(ctx);
	return r;
}

const struct vs_cmd vs_cmd_reset = {
	.name = "reset",
	.synopsis = "[--vm ID | -p PID | -g NAME]",
	.summary = "zero the counters of all VMs or of one",
	.run = reset_run,
	.help = reset_help,
};
