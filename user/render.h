/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Rendering of snapshots, shared by dump (and usable by export): the JSON
 * objects here are the documented "dump -j" contract, keys may be added
 * but never renamed.
 */
#ifndef VS_RENDER_H
#define VS_RENDER_H

#include <stdbool.h>
#include <stdio.h>

#include "json.h"
#include "vsnl.h"

void jw_reason(struct jw *w, const struct vs_reason *r);
/* "@k": @v, or null when @v is empty (a guest name or UUID not given). */
void jw_kstr_or_null(struct jw *w, const char *k, const char *v);
/* "code": the hardware exit code, null for "other" and "unknown". */
void jw_reason_code(struct jw *w, uint32_t code);
void jw_vcpu(struct jw *w, const struct vs_vcpu *vc);
/* The same object for a DELTA event: counters named "<name>_delta". */
void jw_vcpu_delta(struct jw *w, const struct vs_vcpu *vc);
/* VM object; with its "vcpus" array when @with_vcpus. */
void jw_vm(struct jw *w, const struct vs_vm *vm, bool with_vcpus);
void jw_config(struct jw *w, const struct vs_config *cfg);
void jw_status(struct jw *w, const struct vs_status *st);

/* The whole "dump -j" document; cfg/st may be NULL (then omitted). */
int dump_json(FILE *f, bool pretty, const struct vs_snapshot *snap,
	      const struct vs_config *cfg, const struct vs_status *st);
/* The readable dump. */
void dump_text(FILE *f, const struct vs_snapshot *snap,
	       const struct vs_config *cfg, const struct vs_status *st);

#endif /* VS_RENDER_H */
