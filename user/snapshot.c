// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshot memory management and lookups: the part of the vsnl.h API
 * that does not talk to the kernel (so a test double of vsnl.c can reuse
 * it, see tests/mock/).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"
#include "vsnl.h"

void vs_vcpu_free_arrays(struct vs_vcpu *vc)
{
	free(vc->reasons);
	free(vc->residency);
	vc->reasons = NULL;
	vc->residency = NULL;
	vc->nr_reasons = vc->nr_residency = 0;
}

void vs_vcpus_free(struct vs_vcpu *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		vs_vcpu_free_arrays(&v[i]);
	free(v);
}

void vs_snapshot_free(struct vs_snapshot *snap)
{
	if (!snap)
		return;
	for (size_t i = 0; i < snap->nr_vms; i++)
		vs_vcpus_free(snap->vms[i].vcpus, snap->vms[i].nr_vcpus);
	free(snap->vms);
	memset(snap, 0, sizeof(*snap));
}

void vs_snapshot_filter_pid(struct vs_snapshot *snap,
			    const struct vs_filter *f)
{
	size_t n = 0;

	for (size_t i = 0; i < snap->nr_vms; i++) {
		if (vs_filter_pid_ok(f, snap->vms[i].pid))
			snap->vms[n++] = snap->vms[i];
		else
			vs_vcpus_free(snap->vms[i].vcpus,
				      snap->vms[i].nr_vcpus);
	}
	snap->nr_vms = n;
}

int vs_cmp_vm(const void *a, const void *b)
{
	const struct vs_vm *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

const struct vs_vm *vs_snapshot_find_vm(const struct vs_snapshot *snap,
					uint64_t vm_id)
{
	struct vs_vm key = { .id = vm_id };

	if (!snap->nr_vms)
		return NULL;
	return bsearch(&key, snap->vms, snap->nr_vms, sizeof(key), vs_cmp_vm);
}

const struct vs_vcpu *vs_snapshot_find_vcpu(const struct vs_snapshot *snap,
					    uint64_t vm_id, uint32_t vcpu_id)
{
	const struct vs_vm *vm = vs_snapshot_find_vm(snap, vm_id);

	if (!vm)
		return NULL;
	for (size_t i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].vcpu_id == vcpu_id)
			return &vm->vcpus[i];
	return NULL;
}

int vs_snapshot_copy(struct vs_snapshot *dst, const struct vs_snapshot *src)
{
	memset(dst, 0, sizeof(*dst));
	*dst = *src;
	dst->vms = NULL;
	dst->nr_vms = 0;
	if (!src->nr_vms)
		return 0;
	dst->vms = calloc(src->nr_vms, sizeof(*dst->vms));
	if (!dst->vms)
		return -ENOMEM;
	for (size_t i = 0; i < src->nr_vms; i++) {
		const struct vs_vm *sv = &src->vms[i];
		struct vs_vm *dv = &dst->vms[i];

		*dv = *sv;
		dv->vcpus = NULL;
		dv->nr_vcpus = 0;
		dst->nr_vms = i + 1;
		if (!sv->nr_vcpus)
			continue;
		dv->vcpus = calloc(sv->nr_vcpus, sizeof(*dv->vcpus));
		if (!dv->vcpus)
			goto nomem;
		for (size_t j = 0; j < sv->nr_vcpus; j++) {
			const struct vs_vcpu *sc = &sv->vcpus[j];
			struct vs_vcpu *dc = &dv->vcpus[j];

			*dc = *sc;
			dc->reasons = NULL;
			dc->residency = NULL;
			dc->nr_reasons = dc->nr_residency = 0;
			dv->nr_vcpus = j + 1;
			if (sc->nr_reasons) {
				dc->reasons = malloc(sc->nr_reasons *
						     sizeof(*dc->reasons));
				if (!dc->reasons)
					goto nomem;
				memcpy(dc->reasons, sc->reasons,
				       sc->nr_reasons * sizeof(*dc->reasons));
				dc->nr_reasons = sc->nr_reasons;
			}
			if (sc->nr_residency) {
				dc->residency = malloc(sc->nr_residency *
						       sizeof(*dc->residency));
				if (!dc->residency)
					goto nomem;
				memcpy(dc->residency, sc->residency,
				       sc->nr_residency *
				       sizeof(*dc->residency));
				dc->nr_residency = sc->nr_residency;
			}
		}
	}
	return 0;
nomem:
	vs_snapshot_free(dst);
	return -ENOMEM;
}

void vs_event_release(struct vs_event *ev)
{
	if (ev->type == VS_EV_DELTA)
		vs_vcpu_free_arrays(&ev->delta);
}

