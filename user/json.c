// SPDX-License-Identifier: GPL-2.0
/*
 * Tiny JSON writer (see json.h). Strings from the kernel (comm) are
 * arbitrary bytes, so escaping validates UTF-8 rather than trusting it.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

void jw_init(struct jw *w, FILE *f, bool pretty)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
	w->pretty = pretty;
}

static void indent(struct jw *w)
{
	fputc('\n', w->f);
	for (int i = 0; i < w->depth; i++)
		fputs("  ", w->f);
}

/* Separator and indentation before a value or key at the current depth. */
static void pre(struct jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth == 0)
		return;
	if (w->need_comma[w->depth])
		fputc(',', w->f);
	w->need_comma[w->depth] = true;
	if (w->pretty)
		indent(w);
}

static void open_c(struct jw *w, int c)
{
	pre(w);
	fputc(c, w->f);
	if (w->depth + 1 >= JW_MAX_DEPTH) {
		w->error = true;
		return;
	}
	w->depth++;
	w->need_comma[w->depth] = false;
}

static void close_c(struct jw *w, int c)
{
	bool had = w->need_comma[w->depth];

	if (w->depth == 0 || w->after_key) {
		w->error = true;
		return;
	}
	w->depth--;
	if (w->pretty && had)
		indent(w);
	fputc(c, w->f);
}

void jw_obj_open(struct jw *w)  { open_c(w, '{'); }
void jw_obj_close(struct jw *w) { close_c(w, '}'); }
void jw_arr_open(struct jw *w)  { open_c(w, '['); }
void jw_arr_close(struct jw *w) { close_c(w, ']'); }

/*
 * Length of a valid UTF-8 sequence at @s, 0 if invalid (RFC 3629). Never
 * reads past a NUL: a NUL fails the continuation-byte check first. Shared
 * with prom.c's label escaping.
 */
size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80;
		unsigned char hi = c == 0xed ? 0x9f : 0xbf;

		if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80)
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80;
		unsigned char hi = c == 0xf4 ? 0x8f : 0xbf;

		if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		return 4;
	}
	return 0;
}

void json_escape(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	while (*s) {
		size_t n;

		switch (*s) {
		case '"':  fputs("\\\"", f); s++; continue;
		case '\\': fputs("\\\\", f); s++; continue;
		case '\b': fputs("\\b", f); s++; continue;
		case '\f': fputs("\\f", f); s++; continue;
		case '\n': fputs("\\n", f); s++; continue;
		case '\r': fputs("\\r", f); s++; continue;
		case '\t': fputs("\\t", f); s++; continue;
		}
		if (*s < 0x20) {
			fprintf(f, "\\u%04x", *s);
			s++;
			continue;
		}
		/* utf8_len never reads past a NUL: it fails the check first */
		n = utf8_len(s);
		if (!n) {
			fputs("\\ufffd", f);
			s++;
			continue;
		}
		fwrite(s, 1, n, f);
		s += n;
	}
	fputc('"', f);
}

void jw_key(struct jw *w, const char *key)
{
	if (w->after_key || w->depth == 0)
		w->error = true;
	pre(w);
	json_escape(w->f, key);
	fputs(w->pretty ? ": " : ":", w->f);
	w->after_key = true;
}

void jw_str(struct jw *w, const char *s)
{
	pre(w);
	json_escape(w->f, s ? s : "");
}

void jw_u64(struct jw *w, uint64_t v)
{
	pre(w);
	fprintf(w->f, "%llu", (unsigned long long)v);
}

void jw_i64(struct jw *w, int64_t v)
{
	pre(w);
	fprintf(w->f, "%lld", (long long)v);
}

void jw_double(struct jw *w, double v)
{
	pre(w);
	if (!isfinite(v))
		fputs("null", w->f);
	else
		fprintf(w->f, "%.15g", v);
}

void jw_bool(struct jw *w, bool v)
{
	pre(w);
	fputs(v ? "true" : "false", w->f);
}

void jw_null(struct jw *w)
{
	pre(w);
	fputs("null", w->f);
}

int jw_end(struct jw *w)
{
	if (w->depth != 0 || w->after_key)
		w->error = true;
	fputc('\n', w->f);
	if (fflush(w->f) != 0 || ferror(w->f))
		w->error = true;
	return w->error ? -1 : 0;
}

bool jw_error(const struct jw *w)
{
	return w->error;
}

void jw_kstr(struct jw *w, const char *k, const char *v)
{
	jw_key(w, k);
	jw_str(w, v);
}

void jw_ku64(struct jw *w, const char *k, uint64_t v)
{
	jw_key(w, k);
	jw_u64(w, v);
}

void jw_ki64(struct jw *w, const char *k, int64_t v)
{
	jw_key(w, k);
	jw_i64(w, v);
}

void jw_kdouble(struct jw *w, const char *k, double v)
{
	jw_key(w, k);
	jw_double(w, v);
}

void jw_kbool(struct jw *w, const char *k, bool v)
{
	jw_key(w, k);
	jw_bool(w, v);
}
