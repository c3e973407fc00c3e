// SPDX-License-Identifier: GPL-2.0
/*
 * KTAP runner for the tests registered with T_TEST(). Arguments, if any,
 * select tests by name (substring match). Exit status 1 if any failed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

static struct t_case *head, **tail = &head;
static jmp_buf t_jmp;
static const char *skip_reason;

void t_register(struct t_case *tc)
{
	tc->next = NULL;
	*tail = tc;
	tail = &tc->next;
}

void t_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

void t_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("# %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	longjmp(t_jmp, 1);
}

void t_skip(const char *reason)
{
	skip_reason = reason;
	longjmp(t_jmp, 2);
}

const char *t_env(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v && *v ? v : dflt;
}

int t_sh(const char *cmd, char **out, bool merge_stderr)
{
	char *full, *buf = NULL;
	size_t len = 0, cap = 0;
	FILE *p;
	int st;

	if (asprintf(&full, "%s%s", cmd, merge_stderr ? " 2>&1" : "") < 0)
		return -1;
	fflush(stdout);
	p = popen(full, "r");
	free(full);
	if (!p)
		return -1;
	for (;;) {
		size_t n;

		if (cap - len < 4096) {
			char *nb = realloc(buf, cap + 65536);

			if (!nb)
				break;
			buf = nb;
			cap += 65536;
		}
		n = fread(buf + len, 1, cap - len - 1, p);
		if (!n)
			break;
		len += n;
	}
	if (buf)
		buf[len] = '\0';
	st = pclose(p);
	if (out)
		*out = buf ? buf : strdup("");
	else
		free(buf);
	if (st < 0)
		return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

static bool selected(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return true;
	for (int i = 1; i < argc; i++)
		if (strstr(name, argv[i]))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	/* static: these live across longjmp */
	static int n, i, pass, fail, skip;
	static struct t_case *t;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (t = head; t; t = t->next)
		if (selected(t->name, argc, argv))
			n++;
	printf("KTAP version 1\n1..%d\n", n);
	for (t = head; t; t = t->next) {
		if (!selected(t->name, argc, argv))
			continue;
		i++;
		/* setjmp only as a switch's controlling expression (C11) */
		switch (setjmp(t_jmp)) {
		case 0:
			t->fn();
			printf("ok %d %s\n", i, t->name);
			pass++;
			break;
		case 2:
			printf("ok %d %s # SKIP %s\n", i, t->name,
			       skip_reason ? skip_reason : "");
			skip++;
			break;
		default:
			printf("not ok %d %s\n", i, t->name);
			fail++;
		}
	}
	printf("# totals: pass:%d fail:%d skip:%d\n", pass, fail, skip);
	return fail ? 1 : 0;
}
