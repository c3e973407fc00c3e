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
