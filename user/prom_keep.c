// SPDX-License-Identifier: GPL-2.0
/*
 * The reason set of `export --reasons top:N`, kept stable across
 * refreshes; see prom_keep.h. Groups in an array, reasons of a group in
 * an array: a group has tens of reasons, a host at most a few thousand
 * groups (per-vCPU mode).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom_keep.h"

#define KEEP_NAME 40

struct keep_reason {
	uint32_t isa;
	char name[KEEP_NAME];
	enum prom_keep_state st;
};

struct keep_group {
	uint64_t vm;
	uint32_t vcpu;
	unsigned int named;
	struct keep_reason *r;
	size_t n, cap;
};

struct prom_keep {
	struct keep_group *g;
	size_t n, cap;
};

struct prom_keep *prom_keep_new(void)
{
	return calloc(1, sizeof(struct prom_keep));
}

void prom_keep_clear(struct prom_keep *k)
{
	for (size_t i = 0; k && i < k->n; i++)
		free(k->g[i].r);
	if (k)
		k->n = 0;
}

void prom_keep_free(struct prom_keep *k)
{
	prom_keep_clear(k);
	if (k)
		free(k->g);
	free(k);
}

static struct keep_group *group(const struct prom_keep *k, uint64_t vm,
				uint32_t vcpu)
{
	for (size_t i = 0; i < k->n; i++)
		if (k->g[i].vm == vm && k->g[i].vcpu == vcpu)
			return &k->g[i];
	return NULL;
}

static struct keep_reason *reason(const struct keep_group *g, uint32_t isa,
				  const char *name)
{
	for (size_t i = 0; g && i < g->n; i++)
		if (g->r[i].isa == isa && !strncmp(g->r[i].name, name, KEEP_NAME))
			return &g->r[i];
	return NULL;
}

enum prom_keep_state prom_keep_get(const struct prom_keep *k, uint64_t vm,
				   uint32_t vcpu, uint32_t isa,
				   const char *name)
{
	const struct keep_reason *r = reason(group(k, vm, vcpu), isa, name);

	return r ? r->st : PROM_KEEP_NEW;
}

int prom_keep_set(struct prom_keep *k, uint64_t vm, uint32_t vcpu,
		  uint32_t isa, const char *name, enum prom_keep_state st)
{
	struct keep_group *g = group(k, vm, vcpu);
	struct keep_reason *r;

	if (!g) {
		if (k->n == k->cap) {
			size_t cap = k->cap ? 2 * k->cap : 16;
			struct keep_group *ng = realloc(k->g, cap * sizeof(*ng));

			if (!ng)
				return -1;
			k->g = ng;
			k->cap = cap;
		}
		g = &k->g[k->n++];
		memset(g, 0, sizeof(*g));
		g->vm = vm;
		g->vcpu = vcpu;
	}
	r = reason(g, isa, name);
	if (!r) {
		if (g->n == g->cap) {
			size_t cap = g->cap ? 2 * g->cap : 16;
			struct keep_reason *nr = realloc(g->r, cap * sizeof(*nr));

			if (!nr)
				return -1;
			g->r = nr;
			g->cap = cap;
		}
		r = &g->r[g->n++];
		r->isa = isa;
		snprintf(r->name, sizeof(r->name), "%s", name);
		r->st = PROM_KEEP_NEW;
	}
	g->named += (st == PROM_KEEP_NAMED) - (r->st == PROM_KEEP_NAMED);
	r->st = st;
	return 0;
}

unsigned int prom_keep_named(const struct prom_keep *k, uint64_t vm,
			     uint32_t vcpu)
{
	const struct keep_group *g = group(k, vm, vcpu);

	return g ? g->named : 0;
}

void prom_keep_prune(struct prom_keep *k, const uint64_t *ids, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; i < k->n; i++) {
		bool live = false;

		for (size_t j = 0; j < n && !live; j++)
			live = ids[j] == k->g[i].vm;
		if (live)
			k->g[out++] = k->g[i];
		else
			free(k->g[i].r);
	}
	k->n = out;
}
