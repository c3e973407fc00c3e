/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Subcommand table and the helpers every subcommand shares.
 *
 * Adding a command: write user/cmd_NAME.c (or NAME.c) defining
 *	const struct vs_cmd vs_cmd_NAME = { .name = "NAME", ... };
 * and add one X(NAME) line to VS_COMMANDS below. The Makefile compiles
 * every .c file in user/, so nothing else changes. pin, autopin and export are
 * pre-declared weak (VS_COMMANDS_WEAK): they appear as soon as their file
 * is linked in, and are simply absent until then.
 */
#ifndef VS_CMDS_H
#define VS_CMDS_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vsnl.h"

/* Exit codes; documented in --help and vcpustat(8). */
#define VS_EXIT_OK	0
#define VS_EXIT_ERR	1	/* runtime error */
#define VS_EXIT_USAGE	2	/* bad arguments */
#define VS_EXIT_NOMOD	3	/* module not loaded */
#define VS_EXIT_PERM	4	/* needs CAP_NET_ADMIN */

/* Options valid before or after the subcommand name. */
struct vs_global {
	bool json;		/* -j/--json */
	bool pretty;		/* -p/--pretty (implies json) */
	uint32_t pid;		/* -P/--pid */
	bool has_pid;		/* -P given (pid 0 is a valid filter) */
	bool has_vm;		/* --vm ID */
	uint64_t vm_id;
};

struct vs_cmd {
	const char *name;
	const char *synopsis;	/* after "vcpustat NAME ", for usage */
	const char *summary;	/* one line for "vcpustat --help" */
	/* argv[0] is the command name; getopt state is reset (optind = 0)
	 * before the call. Returns a VS_EXIT_* code. */
	int (*run)(struct vs_global *g, int argc, char **argv);
	void (*help)(FILE *f);	/* "vcpustat help NAME", "NAME --help" */
};

/* Order here is the order in --help. */
#define VS_COMMANDS(X) \
	X(list) \
	X(dump) \
	X(top) \
	X(stat) \
	X(watch) \
	X(host) \
	X(config) \
	X(reset)
#define VS_COMMANDS_WEAK(X) \
	X(pin) \
	X(autopin) \
	X(export)

#define VS_DECLARE_CMD(n) extern const struct vs_cmd vs_cmd_##n;
#define VS_DECLARE_WEAK_CMD(n) \
	extern const struct vs_cmd vs_cmd_##n __attribute__((weak));
VS_COMMANDS(VS_DECLARE_CMD)
VS_COMMANDS_WEAK(VS_DECLARE_WEAK_CMD)

/* main.c: command lookup (exact name, else unique prefix). */
/* Fills cmds[] with the linked-in commands; returns how many. */
size_t vs_cmd_all(const struct vs_cmd **cmds, size_t max);
/* NULL and *ambiguous = true/false when no unique match. */
const struct vs_cmd *vs_cmd_find(const char *word, bool *ambiguous);

/*
 * Shared option parsing. Commands build their getopt_long tables by
 * ending the short string with VS_GLOBAL_SHORT and appending
 * VS_GLOBAL_LONG to their long options; unrecognized options are then
 * passed to vs_common_opt(). GNU argument permutation is on, so options
 * may follow the positional "[interval [count]]".
 */
#define VS_GLOBAL_SHORT "jpP:h"
#define VS_OPT_VM	0x1000
#define VS_OPT_HELP	'h'
#define VS_GLOBAL_LONG \
	{ "json",   no_argument,       NULL, 'j' }, \
	{ "pretty", no_argument,       NULL, 'p' }, \
	{ "pid",    required_argument, NULL, 'P' }, \
	{ "vm",     required_argument, NULL, VS_OPT_VM }, \
	{ "help",   no_argument,       NULL, 'h' }
/* 1: handled, 0: not a global option, -1: bad value (message printed). */
int vs_global_opt(struct vs_global *g, int c, const char *arg);
/*
 * The default: branch of a command's getopt loop: global options, -h
 * (prints cmd->help to stdout), unknown options. Returns -1 when parsing
 * should continue, else the exit code the command should return.
 */
int vs_common_opt(const struct vs_cmd *cmd, struct vs_global *g, int c,
		  const char *arg);

/* Print "vcpustat NAME: <msg>\n<synopsis>" and return VS_EXIT_USAGE. */
int vs_usage_error(const struct vs_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Numbers: strict, whole string, no sign. 0 ok, -1 bad. */
int vs_parse_u64(const char *s, uint64_t *v);
int vs_parse_u32(const char *s, uint32_t *v);
/* Seconds, may be fractional ("0.5"), > 0 and <= 1 day. */
int vs_parse_seconds(const char *s, double *sec);
/*
 * sysstat-style trailing "[interval [count]]" at argv[optind..]. Leaves
 * *interval and *count unchanged when absent; count 0 means forever.
 * Returns 0 or -1 (bad or extra arguments).
 */
int vs_parse_interval(int argc, char **argv, int optind_, double *interval,
		      uint64_t *count);

/*
 * Open the netlink context, printing the standard message on failure
 * ("kernel module not loaded (try: modprobe vcpustat)", "permission
 * denied: needs CAP_NET_ADMIN", ...). Returns VS_EXIT_OK or the exit code.
 */
int vs_connect(struct vs_ctx **ctxp);
/*
 * Report a failed request: "vcpustat: WHAT: strerror", then "kernel
 * reports: MSG" if the kernel sent an extack message. Returns the exit
 * code for @err: VS_EXIT_PERM for -EPERM/-EACCES, else VS_EXIT_ERR.
 */
int vs_report(struct vs_ctx *ctx, int err, const char *what);
/* Filter built from the global --pid/--vm options. */
void vs_global_filter(const struct vs_global *g, struct vs_filter *f);

/* Signal handling shared by the periodic commands. */
extern volatile sig_atomic_t vs_stop;	/* set by SIGINT/SIGTERM/SIGHUP */
void vs_install_stop_handlers(void);
/* Sleep until @deadline_ns (CLOCK_MONOTONIC) or vs_stop; 0 or -1 (stop). */
int vs_sleep_until(uint64_t deadline_ns);
uint64_t vs_now_ns(void);		/* CLOCK_MONOTONIC */

#endif /* VS_CMDS_H */
