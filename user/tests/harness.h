/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal unit-test harness printing KTAP. Tests register themselves with
 * T_TEST(name) { ... } in any .c file under tests/; harness.c holds main().
 *
 * A failed check prints a "# file:line: ..." diagnostic and ends the
 * current test (longjmp back to the runner), so a check guarding a
 * pointer never lets the test crash on it. T_SKIP(reason) ends it as
 * skipped.
 */
#ifndef VS_TEST_HARNESS_H
#define VS_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct t_case {
	const char *name;
	void (*fn)(void);
	const char *file;
	struct t_case *next;
};

void t_register(struct t_case *tc);
void t_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
void t_skip(const char *reason) __attribute__((noreturn));
void t_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define T_TEST(name)							\
	static void t_fn_##name(void);					\
	static struct t_case t_case_##name = {				\
		#name, t_fn_##name, __FILE__, NULL };			\
	__attribute__((constructor)) static void t_reg_##name(void)	\
	{ t_register(&t_case_##name); }					\
	static void t_fn_##name(void)

#define T_ASSERT(cond) do {						\
	if (!(cond))							\
		t_fail(__FILE__, __LINE__, "assertion failed: %s", #cond); \
} while (0)

#define T_EQ(a, b) do {							\
	long long t_a_ = (long long)(a), t_b_ = (long long)(b);		\
	if (t_a_ != t_b_)						\
		t_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld",	\
		       #a, #b, t_a_, t_b_);				\
} while (0)

#define T_STREQ(a, b) do {						\
	const char *t_a_ = (a), *t_b_ = (b);				\
	if (!t_a_ || !t_b_ || strcmp(t_a_, t_b_))			\
		t_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"",\
		       #a, #b, t_a_ ? t_a_ : "(null)",			\
		       t_b_ ? t_b_ : "(null)");				\
} while (0)

#define T_SKIP(reason) t_skip(reason)

/*
 * Run a shell command, capturing stdout (and stderr if @merge_stderr) in
 * a malloc'ed string. Returns the exit status (128+N for signal N), -1 if
 * it could not run.
 */
int t_sh(const char *cmd, char **out, bool merge_stderr);
/* Environment helpers for tests spawning the tool. */
const char *t_env(const char *name, const char *dflt);

#endif /* VS_TEST_HARNESS_H */
