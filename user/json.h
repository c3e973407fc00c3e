/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tiny streaming JSON writer. It tracks nesting so callers never emit
 * commas by hand, and escapes strings per RFC 8259 (control characters as
 * \u00XX; invalid UTF-8 bytes replaced by U+FFFD so the output always
 * parses). Errors are sticky: check jw_error() once at the end.
 */
#ifndef VS_JSON_H
#define VS_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JW_MAX_DEPTH 32

struct jw {
	FILE *f;
	bool pretty;
	int depth;
	bool need_comma[JW_MAX_DEPTH];
	bool after_key;
	bool error;
};

void jw_init(struct jw *w, FILE *f, bool pretty);
void jw_obj_open(struct jw *w);
void jw_obj_close(struct jw *w);
void jw_arr_open(struct jw *w);
void jw_arr_close(struct jw *w);
void jw_key(struct jw *w, const char *key);
void jw_str(struct jw *w, const char *s);
void jw_u64(struct jw *w, uint64_t v);
void jw_i64(struct jw *w, int64_t v);
void jw_double(struct jw *w, double v);	/* NaN/inf become null */
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
/* Finish a top-level document: newline, flush. Returns -1 on any error. */
int jw_end(struct jw *w);
bool jw_error(const struct jw *w);

/* key + value shorthands */
void jw_kstr(struct jw *w, const char *k, const char *v);
void jw_ku64(struct jw *w, const char *k, uint64_t v);
void jw_ki64(struct jw *w, const char *k, int64_t v);
void jw_kdouble(struct jw *w, const char *k, double v);
void jw_kbool(struct jw *w, const char *k, bool v);

/* Write @s JSON-escaped, with quotes, to @f (used by jw_str). */
/* Length of a valid UTF-8 sequence at @s, 0 if invalid. */
size_t utf8_len(const unsigned char *s);

void json_escape(FILE *f, const char *s);

#endif /* VS_JSON_H */
