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

#include "parse.h"
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
	bool pretty;		/* --pretty (implies json) */
	uint32_t pid;		/* -p/-P/--pid */
	bool has_pid;		/* -p given (pid 0 is a valid filter) */
	bool has_vm;		/* --vm ID */
	uint64_t vm_id;
	const char *guest;	/* -g/--guest NAME: the VMM's -name */
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
/* -p PID selects a process as in kvm_stat, pidstat, perf and bcc; -P is
 * its old spelling, kept as an alias. */
#define VS_GLOBAL_SHORT "jp:P:g:h"
#define VS_OPT_VM	0x1000
#define VS_OPT_PRETTY	0x1001
#define VS_OPT_HELP	'h'
#define VS_GLOBAL_LONG \
	{ "json",   no_argument,       NULL, 'j' }, \
	{ "pretty", no_argument,       NULL, VS_OPT_PRETTY }, \
	{ "pid",    required_argument, NULL, 'p' }, \
	{ "guest",  required_argument, NULL, 'g' }, \
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
/*
 * stdout failed (a full disk, a closed pipe): flush it and look at its
 * sticky error flag. Periodic commands stop on it.
 */
bool vs_out_failed(void);
/* The command's exit code @rc, or VS_EXIT_ERR with "write error" when
 * stdout failed (`vcpustat list >/dev/full` must not exit 0). */
int vs_finish_output(int rc);
/* Filter built from the global --pid/--vm options. */
void vs_global_filter(const struct vs_global *g, struct vs_filter *f);

/* Signal handling shared by the periodic commands. */
extern volatile sig_atomic_t vs_stop;	/* set by SIGINT/SIGTERM/SIGHUP */
void vs_install_stop_handlers(void);
/* Sleep until @deadline_ns (CLOCK_MONOTONIC) or vs_stop; 0 or -1 (stop). */
int vs_sleep_until(uint64_t deadline_ns);
uint64_t vs_now_ns(void);		/* CLOCK_MONOTONIC */

#endif /* VS_CMDS_H */
