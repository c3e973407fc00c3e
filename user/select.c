// SPDX-License-Identifier: GPL-2.0
/*
 * The shared VM selection (-p, --vm, -g) and its "matches nothing" error;
 * see select.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "select.h"
#include "snapshot.h"
#include "vmident.h"

bool vs_selecting(const struct vs_global *g)
{
	return g->has_pid || g->has_vm || g->guest;
}

bool vs_select_vm_ok(const struct vs_global *g, const struct vs_vm *vm)
{
	return !g->guest || !strcmp(vm->name, g->guest);
}

int vs_select_get(struct vs_ctx *ctx, const struct vs_global *g,
		  const struct vs_filter *f, struct vs_snapshot *snap)
{
	int err = vs_snapshot_get(ctx, f, snap);

	if (!err)
		vs_select_apply(g, snap);
	return err;
}

void vs_select_apply(const struct vs_global *g, struct vs_snapshot *snap)
{
	size_t n = 0;

	vmid_fill_snapshot(snap);
	if (!g->guest)
		return;
	for (size_t i = 0; i < snap->nr_vms; i++) {
		if (vs_select_vm_ok(g, &snap->vms[i])) {
			snap->vms[n++] = snap->vms[i];
			continue;
		}
		vs_vcpus_free(snap->vms[i].vcpus, snap->vms[i].nr_vcpus);
	}
	snap->nr_vms = n;
}

const char *vs_select_describe(const struct vs_global *g, char *buf,
			       size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	if (g->has_pid && off < len)
		off += (size_t)snprintf(buf + off, len - off, "-p %u", g->pid);
	if (g->has_vm && off < len)
		off += (size_t)snprintf(buf + off, len - off, "%s--vm %" PRIu64,
					off ? " " : "", g->vm_id);
	if (g->guest && off < len) {
		char safe[VS_NAME_LEN * 4];

		snprintf(buf + off, len - off, "%s-g '%s'", off ? " " : "",
			 fmt_safe(safe, sizeof(safe), g->guest));
	}
	return buf;
}

int vs_select_check(const char *cmd, const struct vs_global *g,
		    const struct vs_snapshot *snap)
{
	char what[VS_NAME_LEN * 4 + 64];

	if (!vs_selecting(g) || snap->nr_vms)
		return VS_EXIT_OK;
	fprintf(stderr, "vcpustat %s: no VM matches %s\n", cmd,
		vs_select_describe(g, what, sizeof(what)));
	return VS_EXIT_ERR;
}
