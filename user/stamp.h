/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The time keys every JSON record of every command carries (issue 17):
 *   "time":    wall clock, RFC 3339 in UTC with microseconds
 *              ("2026-12-04T21:50:00.123456Z"), to line up with logs and
 *              other hosts;
 *   "mono_ns": CLOCK_MONOTONIC in ns, for exact intervals on this host.
 * Both name the same instant: the moment the record's data was read.
 */
#ifndef VS_STAMP_H
#define VS_STAMP_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"

/* RFC 3339 UTC of the wall-clock time @mono_ns (CLOCK_MONOTONIC) was. */
char *vs_rfc3339(char *buf, size_t len, uint64_t mono_ns);
/* Write "time" and "mono_ns" for @mono_ns (0: now). */
void jw_time_keys(struct jw *w, uint64_t mono_ns);

#endif /* VS_STAMP_H */
