/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the vcpustat tests (tests/testutil.c). */
#ifndef VS_TESTUTIL_H
#define VS_TESTUTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "json.h"
#include "vsnl.h"

/* Is @text one JSON document (or, with @lines, one per line)? Uses the
 * real parser: python3's json module. */
bool t_json_valid(const char *text, bool lines);
/* Run python3 -c @code with @text on stdin; exit status. */
int t_python(const char *code, const char *text);
/* mkdtemp under TMPDIR; caller frees; t_rmtree() removes. */
char *t_tmpdir(void);
void t_rmtree(const char *dir);
/* Write @content to @dir/@rel, creating parent directories. */
void t_write(const char *dir, const char *rel, const char *content);
/* Synthetic snapshot: @nvms VMs of @nvcpus vCPUs, SVM reasons. */
void t_snapshot(struct vs_snapshot *s, unsigned int nvms,
		unsigned int nvcpus);
/*
 * A JSON writer into memory: write through t_jw_open()'s writer, then
 * t_jw_close() gives the text (caller frees) and @end jw_end()'s result.
 */
struct t_jw_mem {
	struct jw w;
	FILE *f;
	char *buf;
	size_t len;
	int end;
};
struct jw *t_jw_open(struct t_jw_mem *m, bool pretty);
char *t_jw_close(struct t_jw_mem *m);
/* The tool binaries and paths from the Makefile's environment. */
const char *t_tool(void);
const char *t_mock_tool(void);

#endif /* VS_TESTUTIL_H */
