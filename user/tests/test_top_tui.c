// SPDX-License-Identifier: GPL-2.0
/*
 * The interactive "top" screen, driven in a real terminal: tmux runs the
 * mock-backed binary in an 80x24 pane; we read the screen back with
 * capture-pane, resize the window (SIGWINCH), press s and q.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "testutil.h"

static char sock[64];

static int tmux(const char *args, char **out)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "tmux -L %s %s", sock, args);
	return t_sh(cmd, out, false);
}

static char *screen(void)
{
	char *out;

	T_EQ(tmux("capture-pane -p -t vst", &out), 0);
	return out;
}

/* Longest line and the number of lines of a captured screen. */
static void measure(const char *s, size_t *maxw, size_t *lines)
{
	*maxw = 0;
	*lines = 0;
	while (*s) {
		size_t w = strcspn(s, "\n");

		if (w > *maxw)
			*maxw = w;
		(*lines)++;
		s += w + (s[w] == '\n');
	}
}

static bool wait_for(const char *needle, int tenths)
{
	for (int i = 0; i < tenths; i++) {
		char *s = screen();
		bool hit = strstr(s, needle) != NULL;

		free(s);
		if (hit)
			return true;
		usleep(100000);
	}
	return false;
}

T_TEST(top_interactive_tmux)
{
	char cmd[1024], *s, *first;
	size_t w, n;

	if (t_sh("command -v tmux >/dev/null", NULL, false))
		T_SKIP("tmux not installed");
	snprintf(sock, sizeof(sock), "vstest-%d", (int)getpid());
	snprintf(cmd, sizeof(cmd),
		 "new-session -d -s vst -x 80 -y 24 '%s top -d 0.3; echo EXIT=$?; sleep 30'",
		 t_mock_tool());
	T_EQ(tmux(cmd, NULL), 0);
	/* first frame, then one with rates */
	T_ASSERT(wait_for("RATE/s", 50));
	T_ASSERT(wait_for("/s | exit time", 30));
	s = screen();
	first = s;
	measure(s, &w, &n);
	T_ASSERT(w <= 80);
	T_ASSERT(!strncmp(s, "vcpustat top ", 13));
	T_ASSERT(strstr(s, "sort rate | all VMs"));
	T_ASSERT(strstr(s, "\nio "));
	T_ASSERT(strstr(s, "q quit  s sort"));
	free(first);

	/* smaller than the table: clipped, "... N more", still in place */
	T_EQ(tmux("resize-window -t vst -x 50 -y 9", NULL), 0);
	T_ASSERT(wait_for("more", 30));
	s = screen();
	measure(s, &w, &n);
	T_ASSERT(w <= 50);
	T_ASSERT(n <= 9);
	T_ASSERT(!strncmp(s, "vcpustat top ", 13));
	T_ASSERT(strstr(s, "q quit"));
	free(s);

	/* back to 80x24 */
	T_EQ(tmux("resize-window -t vst -x 80 -y 24", NULL), 0);
	T_ASSERT(wait_for("0x7ff", 30));

	/* s: next sort key */
	T_EQ(tmux("send-keys -t vst s", NULL), 0);
	T_ASSERT(wait_for("sort time", 20));
	T_EQ(tmux("send-keys -t vst s", NULL), 0);
	T_ASSERT(wait_for("sort avg", 20));

	/* q: quits cleanly (exit 0, ASan quiet) and restores the screen */
	T_EQ(tmux("send-keys -t vst q", NULL), 0);
	T_ASSERT(wait_for("EXIT=0", 30));
	s = screen();
	T_ASSERT(!strstr(s, "REASON"));
	free(s);
	tmux("kill-server", NULL);
}

T_TEST(top_batch_80_columns)
{
	char cmd[512], *out;
	size_t w, n;

	snprintf(cmd, sizeof(cmd), "%s top -b -n 2 -d 0.1 -s count --vm 1",
		 t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	measure(out, &w, &n);
	T_ASSERT(w <= 80);
	T_ASSERT(strstr(out, "sort count | VM 1 web01 (pid 1000)"));
	T_ASSERT(strstr(out, "VMs 1 vCPUs 2 | exits "));
	/* two frames, no escape sequences in batch mode */
	T_ASSERT(strstr(strstr(out, "vcpustat top") + 1, "vcpustat top"));
	T_ASSERT(!strchr(out, '\033'));
	free(out);
}

/* "20.2k" -> 20200, as fmt_count() prints. */
static double count_of(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	return *end == 'k' ? v * 1e3 : *end == 'M' ? v * 1e6 : v;
}

/* COUNT of the reason row @name on screen, -1 if absent. */
static double row_count(const char *name)
{
	char *s = screen(), want[32], *p;
	double v = -1;

	snprintf(want, sizeof(want), "\n%s ", name);
	p = strstr(s, want);
	if (p) {
		p += strlen(want);
		while (*p == ' ')
			p++;
		v = count_of(p);
	}
	free(s);
	return v;
}

/* kvm_stat's keys (issue 17): f, h, p, g, r. */
T_TEST(top_interactive_keys)
{
	char cmd[1024], *s;
	double before, after;

	if (t_sh("command -v tmux >/dev/null", NULL, false))
		T_SKIP("tmux not installed");
	snprintf(sock, sizeof(sock), "vstest-k%d", (int)getpid());
	snprintf(cmd, sizeof(cmd),
		 "new-session -d -s vst -x 80 -y 24 'VS_MOCK_VMS=2 %s top -d 0.3; echo EXIT=$?; sleep 30'",
		 t_mock_tool());
	T_EQ(tmux(cmd, NULL), 0);
	T_ASSERT(wait_for("/s | exit time", 50));
	T_ASSERT(wait_for("f filter  g guest  p pid  r reset  h help", 10));

	/* f: a regex over the reason names */
	T_EQ(tmux("send-keys -t vst f", NULL), 0);
	T_ASSERT(wait_for("reason regex (empty: all): _", 20));
	T_EQ(tmux("send-keys -t vst -l '^(io|npf)$'", NULL), 0);
	T_EQ(tmux("send-keys -t vst Enter", NULL), 0);
	T_ASSERT(wait_for("\nreasons matching /^(io|npf)$/", 30));
	s = screen();
	T_ASSERT(strstr(s, "\nio ") && strstr(s, "\nnpf ") && !strstr(s, "\nhlt "));
	free(s);
	/* a bad one is refused, the old one stays */
	T_EQ(tmux("send-keys -t vst f", NULL), 0);
	T_EQ(tmux("send-keys -t vst -l '('", NULL), 0);
	T_EQ(tmux("send-keys -t vst Enter", NULL), 0);
	T_ASSERT(wait_for("bad regex", 20));
	T_ASSERT(wait_for("\nreasons matching /^(io|npf)$/", 10));
	/* empty: all again */
	T_EQ(tmux("send-keys -t vst f", NULL), 0);
	for (int i = 0; i < 12; i++)
		T_EQ(tmux("send-keys -t vst BSpace", NULL), 0);
	T_EQ(tmux("send-keys -t vst Enter", NULL), 0);
	T_ASSERT(wait_for("\nhlt ", 30));

	/* h: the key help, any key returns */
	T_EQ(tmux("send-keys -t vst h", NULL), 0);
	T_ASSERT(wait_for("reset the view", 20));
	T_EQ(tmux("send-keys -t vst x", NULL), 0);
	T_ASSERT(wait_for("RATE/s", 20));

	/* p: one pid; one that runs no VM is refused */
	T_EQ(tmux("send-keys -t vst p", NULL), 0);
	T_EQ(tmux("send-keys -t vst -l 1000", NULL), 0);
	T_EQ(tmux("send-keys -t vst Enter", NULL), 0);
	T_ASSERT(wait_for("| VM 1 web01 (pid 1000)", 30));
	T_EQ(tmux("send-keys -t vst p BSpace BSpace BSpace BSpace", NULL), 0);
	T_EQ(tmux("send-keys -t vst -l 4242", NULL), 0);
	T_EQ(tmux("send-keys -t vst Enter", NULL), 0);
	T_ASSERT(wait_for("no VM matches -p 4242", 20));
	T_ASSERT(wait_for("| VM 1 web01 (pid 1000)", 10));
	T_EQ(tmux("send-keys -t vst p BSpace BSpace BSpace BSpace Enter", NULL), 0);
	T_ASSERT(wait_for("| all VMs", 30));

	/* g: one guest by name */
	T_EQ(tmux("send-keys -t vst g", NULL), 0);
	T_EQ(tmux("send-keys -t vst -l web01", NULL), 0);
	T_EQ(tmux("send-keys -t vst Enter", NULL), 0);
	T_ASSERT(wait_for("| VM 1 web01 (pid 1000)", 30));

	/* r: COUNT starts again from 0; the mock's counters keep growing */
	usleep(500000);
	before = row_count("io");
	T_ASSERT(before > 0);
	T_EQ(tmux("send-keys -t vst r", NULL), 0);
	usleep(700000);
	after = row_count("io");
	T_ASSERT(after >= 0 && after < before);

	T_EQ(tmux("send-keys -t vst q", NULL), 0);
	T_ASSERT(wait_for("EXIT=0", 30));
	tmux("kill-server", NULL);
}

/* TERM=dumb, like no terminal at all: batch frames, no screen control. */
T_TEST(top_term_dumb_is_batch)
{
	char cmd[1024], *s;

	if (t_sh("command -v tmux >/dev/null", NULL, false))
		T_SKIP("tmux not installed");
	snprintf(sock, sizeof(sock), "vstest-d%d", (int)getpid());
	snprintf(cmd, sizeof(cmd),
		 "new-session -d -s vst -x 80 -y 24 'TERM=dumb %s top -n 2 -d 0.2; echo EXIT=$?; sleep 30'",
		 t_mock_tool());
	T_EQ(tmux(cmd, NULL), 0);
	T_ASSERT(wait_for("EXIT=0", 50));
	/* the whole output, scrollback included */
	T_EQ(tmux("capture-pane -p -S -200 -t vst", &s), 0);
	T_ASSERT(!strstr(s, "q quit"));
	T_ASSERT(strstr(strstr(s, "vcpustat top") + 1, "vcpustat top"));
	free(s);
	tmux("kill-server", NULL);
}

T_TEST(top_filter_flag)
{
	char cmd[512], *out;

	snprintf(cmd, sizeof(cmd), "%s top -b -n 1 -d 0.1 -f '^(io|npf)$'",
		 t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	T_ASSERT(strstr(out, "\nio ") && strstr(out, "\nnpf ") && !strstr(out, "\nhlt "));
	free(out);
	snprintf(cmd, sizeof(cmd), "%s top -j -n 1 -d 0.1 --filter cpuid",
		 t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	T_ASSERT(strstr(out, "\"name\":\"cpuid\"") && !strstr(out, "\"name\":\"io\""));
	free(out);
	snprintf(cmd, sizeof(cmd), "%s top -b -n 1 -f '(' 2>&1", t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 2);
	T_ASSERT(strstr(out, "bad regex '('"));
	free(out);
}
