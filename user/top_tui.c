// SPDX-License-Identifier: GPL-2.0
/*
 * top's full-screen mode: plain ANSI escapes on the alternate screen, one
 * full frame per refresh, each line clipped to the terminal width and the
 * table to its height, redrawn at once on SIGWINCH; and kvm_stat's keys.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "select.h"
#include "top.h"

/* ---------------------------------------------------------------- */
/* Terminal                                                          */

static struct termios saved_tio;
static bool tty_raw;
static volatile sig_atomic_t got_winch, got_cont;

static void wr(const char *s)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t n = write(STDOUT_FILENO, s, len);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return;
		}
		s += n;
		len -= (size_t)n;
	}
}

/* async-signal-safe: used from the SIGTSTP handler too */
static void tty_restore(void)
{
	if (!tty_raw)
		return;
	wr("\033[?25h\033[?1049l");
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	tty_raw = false;
}

static int tty_setup(void)
{
	struct termios tio;

	if (tcgetattr(STDIN_FILENO, &saved_tio))
		return -1;
	tio = saved_tio;
	/* keys without Enter, no echo; ISIG stays so ^C/^Z work */
	tio.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	tio.c_cc[VMIN] = 0;
	tio.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &tio))
		return -1;
	tty_raw = true;
	wr("\033[?1049h\033[?25l\033[H\033[2J");
	return 0;
}

static void on_winch(int sig)
{
	(void)sig;
	got_winch = 1;
}

static void on_tstp(int sig)
{
	int saved = errno;

	(void)sig;
	tty_restore();
	signal(SIGTSTP, SIG_DFL);
	raise(SIGTSTP);		/* stop for real; SIGCONT resumes here */
	errno = saved;
}

static void on_cont(int sig)
{
	(void)sig;
	got_cont = 1;
}

static void install_tty_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_winch;
	sigaction(SIGWINCH, &sa, NULL);
	sa.sa_handler = on_cont;
	sigaction(SIGCONT, &sa, NULL);
	sa.sa_handler = on_tstp;
	sigaction(SIGTSTP, &sa, NULL);
}

static void term_size(struct top *t)
{
	struct winsize ws;

	t->rows = 24;
	t->cols = 80;
	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row && ws.ws_col) {
		t->rows = ws.ws_row;
		t->cols = ws.ws_col;
	}
}

/* The last row: a prompt being typed, a key's error, or the keys. */
static const char *bottom_line(const struct top *t, char *buf, size_t len)
{
	static const char *const what[128] = {
		['f'] = "reason regex (empty: all)",
		['g'] = "guest name (empty: all)",
		['p'] = "pid (empty: all)",
	};

	if (t->prompt) {
		snprintf(buf, len, "%s: %.*s_", what[t->prompt & 127],
			 (int)t->plen, t->pbuf);
		return buf;
	}
	if (t->msg[0])
		return t->msg;
	return "q quit  s sort  d detail  f filter  g guest  p pid  r reset  h help";
}

static void help_frame(struct top *t)
{
	static const char *const keys[] = {
		"vcpustat top: keys",
		"",
		"  f   filter exit reasons by a regular expression (POSIX",
		"      extended, on the names shown; empty: all)",
		"  g   show one guest by name (QEMU -name; empty: all)",
		"  p   show the VMs of one pid (empty: all)",
		"  r   reset the view: COUNT and totals count from now on",
		"      (the module's counters are not touched: vcpustat reset)",
		"  s   next sort key (count, rate, time, avg, max, name)",
		"  space  refresh now",
		"  h   this help (any key returns)",
		"  q   quit",
	};

	t->nlines = 0;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		snprintf(t->lines[t->nlines++], LINE_LEN, "%s", keys[i]);
}

static void draw(struct top *t)
{
	static char out[MAX_LINES * (LINE_LEN + 8) + 64];
	char bottom[256];
	size_t off = 0;
	int max = t->rows - 1;	/* last row: key help */

	if (max < 1)
		max = 1;
	top_build_frame(t, max - 1);
	if (t->help)
		help_frame(t);
	off += (size_t)snprintf(out + off, sizeof(out) - off, "\033[H");
	for (int i = 0; i < t->nlines && i < max; i++) {
		int w = (int)strlen(t->lines[i]);

		if (w > t->cols)
			w = t->cols;
		/* header in reverse video, like top(1) column titles */
		off += (size_t)snprintf(out + off, sizeof(out) - off,
					"%s%.*s\033[0m\033[K\r\n",
					i == t->header_line ? "\033[7m" : "", w,
					t->lines[i]);
	}
	off += (size_t)snprintf(out + off, sizeof(out) - off,
				"\033[J\033[%d;1H%.*s\033[K", t->rows,
				t->cols, bottom_line(t, bottom, sizeof(bottom)));
	if (off >= sizeof(out))
		off = sizeof(out) - 1;
	out[off] = '\0';
	wr(out);
}

enum { KEY_NONE, KEY_REDRAW, KEY_REFRESH, KEY_QUIT };

/*
 * A new selection (g, p) must match a VM, as on the command line; when it
 * does not, the old one stays and the last row says so.
 */
static bool selection_ok(struct top *t, struct vs_ctx *ctx)
{
	struct vs_snapshot s;
	char what[VS_NAME_LEN * 4 + 64];
	bool ok;

	if (vs_select_get(ctx, t->g, &t->f, &s))
		return true;	/* the next refresh reports it */
	ok = s.nr_vms > 0;
	vs_snapshot_free(&s);
	if (!ok)
		snprintf(t->msg, sizeof(t->msg), "no VM matches %s",
			 vs_select_describe(t->g, what, sizeof(what)));
	return ok;
}

/* Enter on a prompt: apply what was typed. */
static void apply_prompt(struct top *t, struct vs_ctx *ctx)
{
	char in[sizeof(t->pbuf)];

	snprintf(in, sizeof(in), "%.*s", (int)t->plen, t->pbuf);
	if (t->prompt == 'f') {
		top_view_filter(&t->view, in, t->msg, sizeof(t->msg));
	} else if (t->prompt == 'g') {
		const char *old = t->g->guest;
		char saved[VS_NAME_LEN];

		snprintf(saved, sizeof(saved), "%s", t->guest);
		snprintf(t->guest, sizeof(t->guest), "%s", in);
		t->g->guest = *in ? t->guest : NULL;
		if (!selection_ok(t, ctx)) {
			snprintf(t->guest, sizeof(t->guest), "%s", saved);
			t->g->guest = old;
		}
	} else if (t->prompt == 'p') {
		struct vs_filter of = t->f;
		struct vs_global og = *t->g;
		uint32_t pid = 0;

		if (*in && vs_parse_u32(in, &pid)) {
			snprintf(t->msg, sizeof(t->msg), "bad pid '%s'", in);
			return;
		}
		t->f.has_pid = t->g->has_pid = *in;
		t->f.pid = t->g->pid = pid;
		if (!selection_ok(t, ctx)) {
			t->f = of;
			*t->g = og;
		}
	}
}

/* One key press. */
static int key(struct top *t, struct vs_ctx *ctx, unsigned char c)
{
	if (t->prompt) {
		if (c == '\r' || c == '\n') {
			apply_prompt(t, ctx);
			t->prompt = 0;
			return KEY_REFRESH;
		}
		if (c == 27) {			/* Esc: never mind */
			t->prompt = 0;
		} else if (c == 127 || c == 8) {
			if (t->plen)
				t->plen--;
		} else if (c >= 0x20 && t->plen + 1 < sizeof(t->pbuf)) {
			t->pbuf[t->plen++] = (char)c;
		}
		return KEY_REDRAW;
	}
	t->msg[0] = '\0';
	if (t->help) {
		t->help = false;
		return KEY_REDRAW;
	}
	switch (c) {
	case 'q':
	case 'Q':
		return KEY_QUIT;
	case 's':
		t->sort = (t->sort + 1) % (RS_NAME + 1);
		return KEY_REDRAW;
	case 'd':
		/* reasons, then the keys of io, msr, ... gpa, then reasons */
		t->detail = (t->detail + 1) % (VCPUSTAT_KEY_KIND_MAX + 1);
		return KEY_REDRAW;
	case ' ':
		return KEY_REFRESH;
	case 'f':
	case 'g':
	case 'p':
		/* start from the current value, as kvm_stat shows it */
		t->prompt = c;
		if (c == 'f')
			snprintf(t->pbuf, sizeof(t->pbuf), "%s", t->view.re_src);
		else if (c == 'g')
			snprintf(t->pbuf, sizeof(t->pbuf), "%s",
				 t->g->guest ? t->g->guest : "");
		else if (t->g->has_pid)
			snprintf(t->pbuf, sizeof(t->pbuf), "%u", t->g->pid);
		else
			t->pbuf[0] = '\0';
		t->plen = strlen(t->pbuf);
		return KEY_REDRAW;
	case 'r':
		t->want_reset = true;
		return KEY_REFRESH;
	case 'h':
	case '?':
		t->help = true;
		return KEY_REDRAW;
	default:
		return KEY_NONE;
	}
}

int top_interactive(struct top *t, struct vs_ctx *ctx)
{
	uint64_t next;
	uint64_t frames = 0;
	int err;

	if (tty_setup())
		return -errno;
	install_tty_handlers();
	term_size(t);
	err = top_refresh(t, ctx);
	if (err)
		goto out;
	draw(t);
	next = vs_now_ns() + (uint64_t)(t->interval * 1e9);
	while (!vs_stop) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		uint64_t now = vs_now_ns();
		int ms = now >= next ? 0 : (int)((next - now) / 1000000 + 1);
		int r;

		if (got_cont) {
			got_cont = 0;
			install_tty_handlers();
			tty_setup();
			got_winch = 1;
		}
		if (got_winch) {
			got_winch = 0;
			term_size(t);
			wr("\033[2J");
			draw(t);
		}
		r = poll(&pfd, 1, ms);
		if (r < 0 && errno != EINTR) {
			err = -errno;
			break;
		}
		if (r > 0 && (pfd.revents & POLLIN)) {
			char buf[16];
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			bool redraw = false, now_refresh = false;

			if (n == 0)	/* terminal gone */
				break;
			for (ssize_t i = 0; i < n; i++) {
				int k = key(t, ctx, (unsigned char)buf[i]);

				if (k == KEY_QUIT)
					goto out;
				redraw |= k == KEY_REDRAW;
				now_refresh |= k == KEY_REFRESH;
			}
			if (now_refresh)
				next = vs_now_ns();
			else if (redraw)
				draw(t);
			continue;
		}
		if (r == 0 || vs_now_ns() >= next) {
			err = top_refresh(t, ctx);
			if (err)
				break;
			draw(t);
			frames++;
			if (t->iterations && frames >= t->iterations)
				break;
			next += (uint64_t)(t->interval * 1e9);
			if (next < vs_now_ns())	/* we were stopped (^Z) */
				next = vs_now_ns() + (uint64_t)(t->interval * 1e9);
		}
	}
out:
	tty_restore();
	return err;
}

