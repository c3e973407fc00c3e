// SPDX-License-Identifier: GPL-2.0
/* Running the mock with details, and reading its output (mockout.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mockout.h"
#include "testutil.h"

int t_mock_detail(const char *args, char **out)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "VS_MOCK_DETAIL=1 VS_MOCK_STEP=1 %s %s",
		 t_mock_tool(), args);
	return t_sh(cmd, out, true);
}

char *t_line_with(const char *text, const char *a, const char *b)
{
	for (const char *p = text; p && *p;) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char *l = strndup(p, len);

		T_ASSERT(l);
		if (strstr(l, a) && (!b || strstr(l, b)))
			return l;
		free(l);
		p = e ? e + 1 : NULL;
	}
	return NULL;
}

bool t_row(const char *text, const char *first, char (*cols)[32], int n)
{
	size_t fl = strlen(first);

	for (const char *p = text; p && *p;) {
		const char *e = strchr(p, '\n');
		char *l = strndup(p, e ? (size_t)(e - p) : strlen(p));
		char extra[2];
		int got = 0, off = 0, k;

		T_ASSERT(l);
		/* @first, then blanks, then exactly @n fields */
		if (!strncmp(l, first, fl) && l[fl] == ' ') {
			while (got < n &&
			       sscanf(l + fl + off, "%31s%n", cols[got], &k) == 1) {
				off += k;
				got++;
			}
			if (got == n &&
			    sscanf(l + fl + off, "%1s", extra) != 1) {
				free(l);
				return true;
			}
		}
		free(l);
		p = e ? e + 1 : NULL;
	}
	return false;
}

/* @key's value in the object at @obj, or NULL. */
static const char *member(const char *obj, const char *key)
{
	const char *end = strchr(obj, '}');
	char pat[64];
	const char *v;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	v = strstr(obj, pat);
	if (!v || (end && v > end))
		return NULL;
	return v + strlen(pat);
}

bool t_has_member(const char *obj, const char *key)
{
	return member(obj, key) != NULL;
}

uint64_t t_member_at(const char *file, int line, const char *obj,
		     const char *key)
{
	const char *v = obj ? member(obj, key) : NULL;

	if (!v)
		t_fail(file, line, "no \"%s\" in %.200s", key,
		       obj ? obj : "(null)");
	return strtoull(v, NULL, 10);
}
