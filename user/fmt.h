/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Human-readable numbers for fixed-width columns. All functions write at
 * most @len bytes (NUL included) into @buf and return @buf.
 */
#ifndef VS_FMT_H
#define VS_FMT_H

#include <stddef.h>
#include <stdint.h>

#define FMT_BUF 24	/* enough for every function here */

/* 999, 1.00k, 12.3k, 123k, 1.23M ... (SI, 3 significant digits) */
char *fmt_count(char *buf, size_t len, uint64_t v);
/* Same for a rate (non-negative double): "0", "0.50", "12.3k" */
char *fmt_rate(char *buf, size_t len, double v);
/* Duration: "0", "850ns", "1.23us", "45.6ms", "2.00s", "3.0m"/"1.5h"... */
char *fmt_ns(char *buf, size_t len, uint64_t ns);
/* Same for a double (averages) */
char *fmt_ns_d(char *buf, size_t len, double ns);
/* "12.3" percent of part/whole, "-" if whole == 0 */
char *fmt_pct(char *buf, size_t len, uint64_t part, uint64_t whole);
/* Bytes in binary units: "512", "4.0K", "2.0M", "1.0G" (hugepage sizes) */
char *fmt_bytes(char *buf, size_t len, uint64_t bytes);
/* Wall-clock length: "45s", "12m03s", "3h04m", "5d02h" */
char *fmt_age(char *buf, size_t len, uint64_t ns);
/*
 * @s made safe for a terminal: bytes outside printable ASCII become '?'
 * (comm and other kernel strings are arbitrary bytes; escape sequences in
 * them must not reach the terminal).
 */
char *fmt_safe(char *buf, size_t len, const char *s);
/*
 * A guest name for a terminal: valid UTF-8 kept, control bytes and
 * invalid bytes as '?'. With @width > 0 the result is exactly @width
 * characters (cut at a character, padded with spaces) for a column; with
 * @width < 0 at most -@width characters, not padded; "-" when @s is empty.
 */
char *fmt_name(char *buf, size_t len, const char *s, int width);
/* Exact u64 with thousands grouping "12,345,678" */
char *fmt_group(char *buf, size_t len, uint64_t v);

#endif /* VS_FMT_H */
