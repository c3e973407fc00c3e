// SPDX-License-Identifier: GPL-2.0
/*
 * Command-line plumbing shared by all subcommands: the command table and
 * prefix matching, global options, number parsing, the standard error
 * messages and exit codes, and interval timing.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmds.h"
#include "compat.h"

#define VS_TABLE_ENTRY(n) &vs_cmd_##n,
static const struct vs_cmd *const vs_table[] = {
	VS_COMMANDS(VS_TABLE_ENTRY)
	/* weak: NULL until the file defining them is linked in */
	VS_COMMANDS_WEAK(VS_TABLE_ENTRY)
};

size_t vs_cmd_all(const struct vs_cmd **cmds, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < sizeof(vs_table) / sizeof(vs_table[0]); i++)
		if (vs_table[i] && vs_table[i]->name && n < max)
			cmds[n++] = vs_table[i];
	return n;
}

const struct vs_cmd *vs_cmd_find(const char *word, bool *ambiguous)
{
	const struct vs_cmd *cmds[64], *match = NULL;
	size_t n = vs_cmd_all(cmds, 64), len = strlen(word), hits = 0;

	*ambiguous = false;
	if (!len)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(cmds[i]->name, word))
			return cmds[i];
	for (size_t i = 0; i < n; i++)
		if (!strncmp(cmds[i]->name, word, len)) {
			match = cmds[i];
			hits++;
		}
	if (hits == 1)
		return match;
	*ambiguous = hits > 1;
	return NULL;
}

int vs_global_opt(struct vs_global *g, int c, const char *arg)
{
	switch (c) {
	case 'j':
		g->json = true;
		return 1;
	case VS_OPT_PRETTY:
		g->json = g->pretty = true;
		return 1;
	case 'g':
		/* QEMU's -name is free text: any non-empty string */
		if (!*arg) {
			fprintf(stderr, "vcpustat: empty guest name\n");
			return -1;
		}
		g->guest = arg;
		return 1;
	case 'p':
	case 'P':
		/* 0 too: KVM's userspace_pid of a VM whose creator it
		 * never recorded */
		if (vs_parse_u32(arg, &g->pid)) {
			fprintf(stderr, "vcpustat: bad pid '%s'\n", arg);
			return -1;
		}
		g->has_pid = true;
		return 1;
	case VS_OPT_VM:
		/* module VM ids start at 1; the kernel rejects 0 (ERANGE) */
		if (vs_parse_u64(arg, &g->vm_id) || !g->vm_id) {
			fprintf(stderr, "vcpustat: bad VM id '%s'\n", arg);
			return -1;
		}
		g->has_vm = true;
		return 1;
	default:
		return 0;
	}
}

int vs_usage_error(const struct vs_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vcpustat %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: vcpustat %s %s\n"
		"Try 'vcpustat %s --help' for more information.\n",
		cmd->name, cmd->synopsis, cmd->name);
	return VS_EXIT_USAGE;
}

int vs_common_opt(const struct vs_cmd *cmd, struct vs_global *g, int c,
		  const char *arg)
{
	int r;

	if (c == 'h') {
		cmd->help(stdout);
		return VS_EXIT_OK;
	}
	r = vs_global_opt(g, c, arg);
	if (r > 0)
		return -1;
	if (r < 0) {
		fprintf(stderr, "Try 'vcpustat %s --help' for more information.\n",
			cmd->name);
		return VS_EXIT_USAGE;
	}
	/* getopt has printed what was wrong ('?' or ':') */
	fprintf(stderr, "usage: vcpustat %s %s\n"
		"Try 'vcpustat %s --help' for more information.\n",
		cmd->name, cmd->synopsis, cmd->name);
	return VS_EXIT_USAGE;
}

static void print_errno_help(int err)
{
	if (err == -EPERM || err == -EACCES)
		fprintf(stderr, "vcpustat: permission denied: needs CAP_NET_ADMIN\n");
}

int vs_connect(struct vs_ctx **ctxp)
{
	int err = vs_open(ctxp);

	if (!err) {
		int r = vs_compat_check(*ctxp);

		if (r) {
			vs_close(*ctxp);
			*ctxp = NULL;
		}
		return r;
	}
	if (err == -ENOENT) {
		fprintf(stderr, "vcpustat: kernel module not loaded (try: modprobe vcpustat)\n");
		return VS_EXIT_NOMOD;
	}
	if (err == -EPERM || err == -EACCES) {
		print_errno_help(err);
		return VS_EXIT_PERM;
	}
	fprintf(stderr, "vcpustat: cannot open generic netlink socket: %s\n",
		strerror(-err));
	return VS_EXIT_ERR;
}

int vs_report(struct vs_ctx *ctx, int err, const char *what)
{
	const char *ext = vs_extack(ctx);
	int code = VS_EXIT_ERR;

	if (err == -EPERM || err == -EACCES) {
		print_errno_help(err);
		code = VS_EXIT_PERM;
	} else {
		fprintf(stderr, "vcpustat: %s: %s\n", what, strerror(-err));
	}
	if (ext)
		fprintf(stderr, "vcpustat: kernel reports: %s\n", ext);
	return code;
}

bool vs_out_failed(void)
{
	return fflush(stdout) != 0 || ferror(stdout);
}

int vs_finish_output(int rc)
{
	errno = 0;
	if (!vs_out_failed())
		return rc;
	/* errno tells only if this flush was the one that failed */
	fprintf(stderr, "vcpustat: write error on standard output%s%s\n",
		errno ? ": " : "", errno ? strerror(errno) : "");
	return rc == VS_EXIT_OK ? VS_EXIT_ERR : rc;
}

void vs_global_filter(const struct vs_global *g, struct vs_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->pid = g->pid;
	f->has_pid = g->has_pid;
	f->has_vm_id = g->has_vm;
	f->vm_id = g->vm_id;
}

volatile sig_atomic_t vs_stop;

static void on_stop(int sig)
{
	(void)sig;
	vs_stop = 1;
}

void vs_install_stop_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: poll() and sleeps must return on ^C */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

uint64_t vs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int vs_sleep_until(uint64_t deadline_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline_ns / 1000000000ull),
		.tv_nsec = (long)(deadline_ns % 1000000000ull),
	};

	while (!vs_stop) {
		int r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
					NULL);
		if (r == 0)
			return 0;
		if (r != EINTR)
			return -1;
	}
	return -1;
}
