/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The exit reasons `export --reasons top:N` names, remembered from one
 * refresh to the next. Prometheus reads a counter that goes down as a
 * reset, so the series of a group (a VM, or a vCPU) must not come and go
 * and reason="other" must never shrink: a reason once exported by name
 * stays named, a reason once folded into "other" stays there, and a new
 * reason gets a name only in the refresh it first appears, while the
 * group has fewer than N (its exits were never in "other" then).
 */
#ifndef VS_PROM_KEEP_H
#define VS_PROM_KEEP_H

#include <stddef.h>
#include <stdint.h>

#define PROM_KEEP_VM	UINT32_MAX	/* vcpu of a per-VM group */

enum prom_keep_state {
	PROM_KEEP_NEW,		/* never seen in this group */
	PROM_KEEP_FOLDED,	/* seen, exported as "other" */
	PROM_KEEP_NAMED,	/* exported under its own name */
};

struct prom_keep;

struct prom_keep *prom_keep_new(void);
void prom_keep_free(struct prom_keep *k);
/* Forget everything (the module was reloaded: VM ids start again). */
void prom_keep_clear(struct prom_keep *k);
enum prom_keep_state prom_keep_get(const struct prom_keep *k, uint64_t vm,
				   uint32_t vcpu, uint32_t isa,
				   const char *name);
/* 0, or -1 on ENOMEM. */
int prom_keep_set(struct prom_keep *k, uint64_t vm, uint32_t vcpu,
		  uint32_t isa, const char *name, enum prom_keep_state st);
/* Reasons of the group exported by name so far. */
unsigned int prom_keep_named(const struct prom_keep *k, uint64_t vm,
			     uint32_t vcpu);
/* Drop the groups of VMs not in @ids (gone for good). */
void prom_keep_prune(struct prom_keep *k, const uint64_t *ids, size_t n);

#endif /* VS_PROM_KEEP_H */
