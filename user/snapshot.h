/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by vsnl.c and snapshot.c (not part of the vsnl.h API). */
#ifndef VS_SNAPSHOT_H
#define VS_SNAPSHOT_H

#include <stddef.h>

#include "vsnl.h"

/* Free a vCPU's reasons/residency arrays and zero their counts. */
void vs_vcpu_free_arrays(struct vs_vcpu *vc);
/* Free an array of @n vCPUs and their arrays. */
void vs_vcpus_free(struct vs_vcpu *v, size_t n);
/* qsort/bsearch order of struct vs_vm: ascending id. */
int vs_cmp_vm(const void *a, const void *b);
/*
 * Drop the VMs @f does not let through by pid (vs_filter_pid_ok): the
 * module cannot be asked for pid 0, so that filter is applied here.
 */
void vs_snapshot_filter_pid(struct vs_snapshot *snap,
			    const struct vs_filter *f);

#endif /* VS_SNAPSHOT_H */
