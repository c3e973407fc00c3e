// SPDX-License-Identifier: GPL-2.0
/*
 * vcpustat: per-vCPU KVM exit statistics from the vcpustat module.
 *
 * Only main() lives here (so the unit tests can link every other file):
 * global options, then the subcommand chosen by exact name or unique
 * prefix, bpftool style.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"

#ifndef VCPUSTAT_VERSION
#define VCPUSTAT_VERSION "0.0.0"
#endif

static void usage(FILE *f)
{
	const struct vs_cmd *cmds[64];
	size_t n = vs_cmd_all(cmds, 64);

	fprintf(f,
"Usage: vcpustat [OPTIONS] COMMAND [ARGS]\n"
"       vcpustat help [COMMAND]\n"
"\n"
"Per-VM, per-vCPU KVM exit statistics from the vcpustat kernel module.\n"
"Commands may be abbreviated to any unique prefix (\"vcpustat l\").\n"
"\n"
"Commands:\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  %-8s %s\n", cmds[i]->name, cmds[i]->summary);
	fprintf(f,
"  %-8s %s\n"
"\n"
"Options (valid before or after COMMAND):\n"
"  -j, --json        JSON output\n"
"      --pretty      pretty-printed JSON (implies -j)\n"
"  -p, --pid PID     only the VM created by process PID (-P: the same)\n"
"  -g, --guest NAME  only the VM named NAME (QEMU -name)\n"
"      --vm ID       only VM ID (the module's VM id)\n"
"  -h, --help        help (\"vcpustat COMMAND --help\" for a command)\n"
"  -V, --version     print the version and exit\n"
"\n"
"Exit status:\n"
"  0  success\n"
"  1  runtime error\n"
"  2  bad arguments (usage)\n"
"  3  the vcpustat kernel module is not loaded\n"
"  4  permission denied: needs CAP_NET_ADMIN\n"
"\n"
"See vcpustat(8).\n", "help", "show help for a command");
}

static int cmd_help(const char *word)
{
	const struct vs_cmd *cmd;
	bool amb;

	if (!word) {
		usage(stdout);
		return VS_EXIT_OK;
	}
	cmd = vs_cmd_find(word, &amb);
	if (!cmd) {
		fprintf(stderr, "vcpustat: %s command '%s'\n"
			"Try 'vcpustat --help'.\n",
			amb ? "ambiguous" : "unknown", word);
		return VS_EXIT_USAGE;
	}
	cmd->help(stdout);
	return VS_EXIT_OK;
}

static int run(int argc, char **argv)
{
	static const struct option lopts[] = {
		VS_GLOBAL_LONG,
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct vs_global g = { 0 };
	const struct vs_cmd *cmd;
	const char *word;
	size_t len;
	bool amb;
	int c;

	/* "+": stop at the command name; its options are its own. */
	while ((c = getopt_long(argc, argv, "+" VS_GLOBAL_SHORT "V", lopts,
				NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return VS_EXIT_OK;
		case 'V':
			printf("vcpustat %s\n", VCPUSTAT_VERSION);
			return VS_EXIT_OK;
		default:
			if (vs_global_opt(&g, c, optarg) > 0)
				break;
			usage(stderr);
			return VS_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return VS_EXIT_USAGE;
	}
	word = argv[optind];
	len = strlen(word);
	cmd = vs_cmd_find(word, &amb);
	/* "help" takes part in prefix matching: "he" is help, "h" is not */
	if (len && !strncmp("help", word, len)) {
		if (!strcmp(word, "help") || (!cmd && !amb)) {
			if (optind + 2 < argc) {
				usage(stderr);
				return VS_EXIT_USAGE;
			}
			return cmd_help(optind + 1 < argc ?
					argv[optind + 1] : NULL);
		}
		if (cmd && strcmp(cmd->name, word)) {
			cmd = NULL;	/* prefix of help and of a command */
			amb = true;
		}
	}
	if (!cmd) {
		const struct vs_cmd *cmds[64];
		size_t n = vs_cmd_all(cmds, 64);

		if (amb) {
			fprintf(stderr, "vcpustat: ambiguous command '%s':",
				word);
			for (size_t i = 0; i < n; i++)
				if (!strncmp(cmds[i]->name, word, len))
					fprintf(stderr, " %s", cmds[i]->name);
			if (len && !strncmp("help", word, len))
				fprintf(stderr, " help");
			fputc('\n', stderr);
		} else {
			fprintf(stderr, "vcpustat: unknown command '%s'\n",
				word);
		}
		fprintf(stderr, "Try 'vcpustat --help'.\n");
		return VS_EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	optind = 0;	/* glibc: full reinitialization for the command */
	return cmd->run(&g, argc, argv);
}

int main(int argc, char **argv)
{
	/* every path, --help included, fails on a failed write */
	return vs_finish_output(run(argc, argv));
}
