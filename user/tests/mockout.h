/* SPDX-License-Identifier: GPL-2.0 */
/*
 * End-to-end tests of the detail views (tests/mockout.c): the mock-backed
 * tool run with details on and exact counts, and the facts picked out of
 * its text and JSON output.
 */
#ifndef VS_MOCKOUT_H
#define VS_MOCKOUT_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Run the mock tool with VS_MOCK_DETAIL=1 VS_MOCK_STEP=1 (mock_keys.c's
 * keys; snapshot N at exactly 10 + N seconds) and @args, stderr merged
 * into *@out (caller frees). The exit status.
 */
int t_mock_detail(const char *args, char **out);
/* A copy of the first line of @text holding @a and (unless NULL) @b. */
char *t_line_with(const char *text, const char *a, const char *b);
/*
 * A text table row: the line of @text that is @first then exactly @n
 * more blank-separated fields, which go to @cols; false if there is none.
 */
bool t_row(const char *text, const char *first, char (*cols)[32], int n);
/* The flat JSON object starting at @obj (to its first '}') has @key. */
bool t_has_member(const char *obj, const char *key);
/* Its u64 member @key; ends the test when it has none. */
uint64_t t_member_at(const char *file, int line, const char *obj,
		     const char *key);
#define T_MEMBER(obj, key) t_member_at(__FILE__, __LINE__, obj, key)

#endif /* VS_MOCKOUT_H */
