/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest identity: the name and UUID a VMM gave its VM, read from its
 * command line (/proc/PID/cmdline). Under libvirt every VMM's comm is
 * "qemu-system-x86"; the domain name and UUID libvirt passes as QEMU's
 * -name guest=NAME,... and -uuid are what an operator knows the VM by.
 */
#ifndef VS_VMIDENT_H
#define VS_VMIDENT_H

#include <stddef.h>
#include <stdint.h>

#include "vsnl.h"

/*
 * Parse a NUL-separated argument vector of @len bytes (the format of
 * /proc/PID/cmdline) as QEMU does: "-name NAME" or "-name guest=NAME,..."
 * (a QemuOpts list whose implied first key is guest; ",," is a literal
 * comma), "-uuid UUID"; "--name"/"--uuid" likewise; the last one wins.
 * @name and @uuid get "" when absent; a UUID that is not 8-4-4-4-12 hex
 * digits is ignored. A name longer than VS_NAME_LEN - 1 bytes is cut at a
 * UTF-8 character boundary.
 */
void vmid_parse_cmdline(const char *argv, size_t len, char *name,
			char *uuid);
/* Fill vm->name/uuid from <aff_procfs>/<pid>/cmdline (left as they are
 * when the process cannot be read). */
void vmid_fill_vm(struct vs_vm *vm);
/* Every VM of a snapshot whose name and uuid are both empty; each VM
 * filled is also remembered by id (vmid_recall). */
void vmid_fill_snapshot(struct vs_snapshot *snap);
/*
 * The identity last seen for VM @vm_id (by vmid_fill_snapshot or
 * vmid_remember), for events about a VM whose process may be gone
 * (vm-gone) or that carry only ids (migrate, autopin's decisions).
 * Returns NULL when not known. A small table: the oldest entries go.
 */
const struct vs_vm *vmid_recall(uint64_t vm_id);
void vmid_remember(const struct vs_vm *vm);

#endif /* VS_VMIDENT_H */
