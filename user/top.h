/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vcpustat top, shared between cmd_top.c (options, data, the frame, batch
 * and JSON output) and top_tui.c (the full-screen terminal and its keys).
 */
#ifndef VS_TOP_H
#define VS_TOP_H

#include <stdbool.h>
#include <stdint.h>

#include "cmds.h"
#include "top_view.h"
#include "view.h"
#include "vsnl.h"

#define OPT_VCPU	0x2001
#define OPT_DETAIL	0x2002
#define MAX_LINES	512
#define LINE_LEN	512

struct totals {
	unsigned int vms, vcpus;
	uint64_t exits, d_exits, migrations, d_migrations;
	uint64_t d_exit_time_ns;
	struct vs_budget budget, budget_prev;	/* sums of the vCPUs shown */
};

struct top {
	struct vs_global *g;
	double interval;
	uint64_t iterations;		/* -n, 0: forever */
	bool batch;
	int sort;
	bool has_vcpu;
	uint32_t vcpu;
	uint32_t detail;		/* key kind drilled into, 0: reasons */
	struct vs_filter f;

	struct vs_snapshot prev, cur;
	bool have_prev, have_cur;
	struct rtab rt;
	struct totals tot;
	double secs;

	int rows, cols;
	char (*lines)[LINE_LEN];
	int nlines;
	int header_line;		/* lines[] index of the column titles */

	/* kvm_stat's keys (top_tui.c) */
	struct top_view view;		/* f: reason regex, r: view reset */
	bool want_reset;		/* r: at the next refresh */
	uint64_t base_exits, base_migr;	/* totals at the view reset */
	char guest[VS_NAME_LEN];	/* g: t->g->guest points here */
	int prompt;			/* 'f', 'g', 'p' while typing, else 0 */
	char pbuf[128];
	size_t plen;
	bool help;			/* h: the key help on screen */
	char msg[160];			/* a key's error, until the next key */
};

/* Read a snapshot, compute totals and the reason table (through the view
 * keys' filter and reset). 0 or a negative errno. */
int top_refresh(struct top *t, struct vs_ctx *ctx);
/* t->lines from the current data; @max_rows > 0 clips the table. */
void top_build_frame(struct top *t, int max_rows);
/* The full-screen mode until q, -n frames or a signal. 0 or -errno. */
int top_interactive(struct top *t, struct vs_ctx *ctx);

#endif /* VS_TOP_H */
