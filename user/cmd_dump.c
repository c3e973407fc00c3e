// SPDX-License-Identifier: GPL-2.0
/*
 * dump: everything the module knows, once. "dump -j" is the stable JSON
 * contract other tools parse (see render.c and vcpustat(8)).
 */
#include <stdlib.h>

#include "cmds.h"
#include "render.h"
#include "select.h"

#define OPT_VCPU 0x2001

static void dump_help(FILE *f)
{
	fprintf(f,
"Usage: vcpustat dump [-j|--pretty] [-p PID] [-g NAME] [--vm ID] [--vcpu N]\n"
"\n"
"Print every counter of every tracked VM and vCPU, the module status and\n"
"configuration: per-reason counts and exit times (sum/min/max/avg), the\n"
"exit time histogram, migrations by distance and per-CPU residency.\n"
"\n"
"  -j, --json       one JSON document (stable keys, see vcpustat(8))\n"
"      --pretty     indented JSON\n"
"  -p, --pid PID    only the VM created by PID\n"
"  -g, --guest NAME only the VM named NAME (QEMU -name; -P PID: same as -p)\n"
"      --vm ID      only VM ID\n"
"      --vcpu N     only vCPU N (KVM vcpu_id)\n");
}

static int dump_run(struct vs_global *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "vcpu", required_argument, NULL, OPT_VCPU },
		VS_GLOBAL_LONG,
		{ NULL, 0, NULL, 0 }
	};
	struct vs_snapshot snap;
	struct vs_config cfg;
	struct vs_status st;
	struct vs_filter f;
	struct vs_ctx *ctx;
	uint32_t vcpu = 0;
	bool has_vcpu = false;
	int c, r, err;

	while ((c = getopt_long(argc, argv, VS_GLOBAL_SHORT, lo, NULL)) != -1) {
		switch (c) {
		case OPT_VCPU:
			if (vs_parse_u32(optarg, &vcpu))
				return vs_usage_error(&vs_cmd_dump,
						      "bad vCPU id '%s'", optarg);
			has_vcpu = true;
			break;
		default:
			r = vs_common_opt(&vs_cmd_dump, g, c, optarg);
			if (r >= 0)
				return r;
		}
	}
	if (optind < argc)
		return vs_usage_error(&vs_cmd_dump, "unexpected argument '%s'",
				      argv[optind]);
	r = vs_connect(&ctx);
	if (r)
		return r;
	vs_global_filter(g, &f);
	f.has_vcpu_id = has_vcpu;
	f.vcpu_id = vcpu;
	err = vs_get_config(ctx, &cfg, &st);
	if (err) {
		r = vs_report(ctx, err, "reading module status");
		vs_close(ctx);
		return r;
	}
	err = vs_select_get(ctx, g, &f, &snap);
	if (err) {
		r = vs_report(ctx, err, "reading statistics");
		vs_close(ctx);
		return r;
	}
	r = vs_select_check("dump", g, &snap);
	if (!r && has_vcpu) {
		size_t nv = 0;

		for (size_t i = 0; i < snap.nr_vms; i++)
			nv += snap.vms[i].nr_vcpus;
		if (!nv) {
			fprintf(stderr, "vcpustat dump: no vCPU %u\n", vcpu);
			r = VS_EXIT_ERR;
		}
	}
	if (r) {
		/* nothing matched */
	} else if (g->json) {
		r = dump_json(stdout, g->pretty, &snap, &cfg, &st) ?
		    VS_EXIT_ERR : VS_EXIT_OK;
	} else {
		dump_text(stdout, &snap, &cfg, &st);
		r = fflush(stdout) ? VS_EXIT_ERR : VS_EXIT_OK;
	}
	vs_snapshot_free(&snap);
	vs_close(ctx);
	return r;
}

const struct vs_cmd vs_cmd_dump = {
	.name = "dump",
	.synopsis = "[-j|--pretty] [-p PID] [-g NAME] [--vm ID] [--vcpu N]",
	.summary = "all counters of all VMs/vCPUs (-j: the stable JSON form)",
	.run = dump_run,
	.help = dump_help,
};
