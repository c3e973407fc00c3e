/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VM selection every command shares: -p PID and --vm ID are asked of
 * the kernel, -g NAME is matched here against the VMM's -name. A
 * selection that matches no VM is an error (exit 1) in every command, as
 * kvm_stat's is for an unknown pid.
 */
#ifndef VS_SELECT_H
#define VS_SELECT_H

#include <stdbool.h>

#include "cmds.h"

/* Does the user narrow the selection at all (-p, --vm, -g)? */
bool vs_selecting(const struct vs_global *g);
/* Does @vm pass -g (the only filter the kernel cannot apply)? */
bool vs_select_vm_ok(const struct vs_global *g, const struct vs_vm *vm);
/* Each VM's name and UUID, then drop the VMs -g does not select. */
void vs_select_apply(const struct vs_global *g, struct vs_snapshot *snap);
/*
 * vs_snapshot_get() with @f, then each VM's name and UUID, then -g.
 * 0 or a negative errno (from vs_snapshot_get).
 */
int vs_select_get(struct vs_ctx *ctx, const struct vs_global *g,
		  const struct vs_filter *f, struct vs_snapshot *snap);
/*
 * VS_EXIT_OK, or VS_EXIT_ERR after "vcpustat CMD: no VM matches -p 4242"
 * when a selection was given and @snap holds no VM.
 */
int vs_select_check(const char *cmd, const struct vs_global *g,
		    const struct vs_snapshot *snap);
/* "-p 4242 --vm 7 -g 'web 01'" into @buf, for messages. */
const char *vs_select_describe(const struct vs_global *g, char *buf,
			       size_t len);

#endif /* VS_SELECT_H */
