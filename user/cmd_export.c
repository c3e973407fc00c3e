// SPDX-License-Identifier: GPL-2.0
/*
 * export: the vcpustat counters for Prometheus, as a node_exporter
 * textfile (--textfile DIR, --once) and/or over HTTP (--listen, served by
 * libmicrohttpd).
 *
 * One thread (this one) owns the netlink context: every --interval it
 * takes a snapshot, renders it (prom.c) into an immutable, refcounted
 * buffer, writes the textfile from it and swaps it in as "current" under
 * a mutex held only for the pointer swap. libmicrohttpd's thread serves
 * GET /metrics from whatever buffer is current (taking a reference under
 * the same mutex); a slow or stuck client holds at most a reference to an
 * old buffer, never the lock, and never delays a refresh.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef VS_HAVE_MHD
#include <microhttpd.h>
#endif

#include "cmds.h"
#include "gzip.h"
#include "export.h"
#include "budget.h"
#include "prom.h"
#include "select.h"

#define OPT_TEXTFILE	0x2001
#define OPT_LISTEN	0x2002
#define OPT_INTERVAL	0x2003
#define OPT_ONCE	0x2004
#define OPT_BY		0x2005
#define OPT_REASONS	0x2006
#define OPT_PER_VCPU	0x2007
#define OPT_REASON_HIST	0x2008

#define DEFAULT_INTERVAL	15.0	/* seconds */
/* HTTP limits: a Prometheus server (or an HA pair) needs one connection
 * each; these bound what a misbehaving local client can take. */
#define HTTP_MAX_CONN		32
#define HTTP_MAX_PER_IP		8
#define HTTP_TIMEOUT_S		10

static void export_help(FILE *f)
{
	fprintf(f,
"Usage: vcpustat export [--textfile DIR] [--listen [ADDR][:PORT]] [--once]\n"
"                       [--interval S] [--by vm|vcpu] [--per-vcpu]\n"
"                       [--reasons all|top:N] [--reason-hist]\n"
"                       [-p PID] [-g NAME] [--vm ID]\n"
"\n"
"Export the counters in the Prometheus text format 0.0.4, every interval\n"
"seconds (default %g), from one netlink snapshot per interval:\n"
"  --textfile DIR   write DIR/" EXPORT_FILE " for node_exporter's textfile\n"
"                   collector, atomically (temp file in DIR + rename);\n"
"                   removed again when the exporter stops (not with --once)\n"
"  --listen [ADDR][:PORT]\n"
"                   serve GET /metrics over HTTP; ADDR defaults to\n"
"                   " EXPORT_DEFAULT_ADDR " (localhost only), PORT to %d; give\n"
"                   0.0.0.0 or [::] explicitly to serve other hosts\n"
"  --once           one refresh, then exit: writes the textfile, or\n"
"                   stdout when there is no --textfile (not with --listen)\n"
"  --interval S     refresh period in seconds (default %g); data served or\n"
"                   written is at most this old\n"
"  --by vm|vcpu     series summed per VM (default: no vcpu label, no\n"
"                   vcpustat_vcpu_info/_pcpu) or per vCPU (opt-in: a series\n"
"                   group per vCPU)\n"
"  --per-vcpu       the same as --by vcpu\n"
"  --reasons all|top:N\n"
"                   all exit reasons (default), or per series group the N\n"
"                   with the most exits and reason=\"other\" for the rest\n"
"  --reason-hist    also an exit time histogram per exit reason (13 series\n"
"                   per reason and group); needs the module's details on\n"
"                   (vcpustat config detail=on), absent while they are off\n"
"  -p, --pid PID    only the VM created by PID\n"
"  -g, --guest NAME only the VM named NAME (QEMU -name; -P PID: same as -p)\n"
"      --vm ID      only VM ID\n"
"\n"
"Both --textfile and --listen may be given: the file and /metrics then hold\n"
"the same bytes. A VM that is gone is exported once more (its last counts)\n"
"and then dropped. Counters restart from 0 when the module is reloaded.\n"
"Without the module (not loaded yet, unloaded, reloading) the exporter keeps\n"
"running and exports vcpustat_up 0 until it is back (--once exits 3).\n"
"Metric names and the series count per VM: vcpustat(8), section EXPORT.\n",
		DEFAULT_INTERVAL, EXPORT_DEFAULT_PORT, DEFAULT_INTERVAL);
}

/* ---- helpers (export.h) ---------------------------------------------- */

static int parse_port(const char *s, uint16_t *port)
{
	uint32_t v;

	if (s[0] < '0' || s[0] > '9' || vs_parse_u32(s, &v) || v > 65535)
		return -1;
	/* no 0x/0 prefixes: a port is decimal */
	if (s[0] == '0' && s[1])
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int export_parse_listen(const char *s, struct sockaddr_storage *ss,
			socklen_t *len)
{
	char host[64] = EXPORT_DEFAULT_ADDR;
	uint16_t port = EXPORT_DEFAULT_PORT;
	const char *colon;
	bool v6 = false;

	if (!s || !*s)
		return -1;
	colon = strchr(s, ':');
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || (size_t)(end - s - 1) >= sizeof(host) ||
		    end == s + 1)
			return -1;
		memcpy(host, s + 1, (size_t)(end - s - 1));
		host[end - s - 1] = '\0';
		v6 = true;
		if (end[1] == ':') {
			if (parse_port(end + 2, &port))
				return -1;
		} else if (end[1]) {
			return -1;
		}
	} else if (colon && colon == strrchr(s, ':')) {
		/* "ADDR:PORT" or ":PORT" */
		if (colon > s) {
			if ((size_t)(colon - s) >= sizeof(host))
				return -1;
			memcpy(host, s, (size_t)(colon - s));
			host[colon - s] = '\0';
		}
		if (parse_port(colon + 1, &port))
			return -1;
	} else if (colon) {
		return -1;	/* bare IPv6: needs brackets */
	} else if (s[strspn(s, "0123456789")] == '\0') {
		if (parse_port(s, &port))	/* "PORT" */
			return -1;
	} else {
		if (strlen(s) >= sizeof(host))
			return -1;
		strcpy(host, s);		/* "ADDR" */
	}
	if (!strcmp(host, "localhost"))
		strcpy(host, v6 ? "::1" : "127.0.0.1");
	memset(ss, 0, sizeof(*ss));
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return -1;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -1;
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		*len = sizeof(*a);
	}
	return 0;
}

char *export_addr_str(char *buf, size_t len, const struct sockaddr *sa)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)sa;

		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(a->sin6_port));
	} else {
		const struct sockaddr_in *a = (const void *)sa;

		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(a->sin_port));
	}
	return buf;
}

int export_write_textfile(const char *dir, const char *buf, size_t len)
{
	char tmp[4096], dst[4096];
	int fd, err = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir,
			     EXPORT_FILE) >= sizeof(tmp) ||
	    (size_t)snprintf(dst, sizeof(dst), "%s/%s", dir, EXPORT_FILE) >=
	    sizeof(dst))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0644))
		err = -errno;
	while (!err && len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno != EINTR)
				err = -errno;
			continue;
		}
		buf += n;
		len -= (size_t)n;
	}
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, dst))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

/* ---- the exporter ------------------------------------------------------ */

/* One rendered exposition; immutable once published. */
struct blob {
	atomic_uint ref;
	size_t len;
	char *data;
	char *gz;		/* the same gzipped once, NULL: not available */
	size_t gzlen;
};

static void blob_put(struct blob *b)
{
	if (b && atomic_fetch_sub(&b->ref, 1) == 1) {
		free(b->data);
		free(b->gz);
		free(b);
	}
}

struct exporter {
	struct vs_filter filter;
	const struct vs_global *g;	/* -g is applied here */
	bool listening;			/* --listen: gzip each refresh */
	size_t nr_vms;			/* selected by the last refresh */
	struct prom_opts po;
	const char *dir;		/* --textfile */
	bool once;
	struct vs_ctx *ctx;		/* NULL: reconnect at next refresh */
	struct vs_snapshot prev;	/* last refresh's, for gone VMs */
	bool have_prev;
	struct prom_self self;
	atomic_uint_fast64_t scrape_errors;	/* also from HTTP threads */
	bool failing, write_failing;	/* log only state changes */
	bool told_detail_off;		/* --reason-hist without details */
	pthread_mutex_t lock;		/* protects cur (the pointer) */
	struct blob *cur;
};

static void logmsg(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
	va_list ap;

	fputs("vcpustat export: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Swap @b in as the buffer HTTP serves; drops the old one's reference. */
static void publish(struct exporter *x, struct blob *b)
{
	struct blob *old;

	pthread_mutex_lock(&x->lock);
	old = x->cur;
	x->cur = b;
	pthread_mutex_unlock(&x->lock);
	blob_put(old);
}

/*
 * Read the module, render, write the textfile, publish. Returns VS_EXIT_OK
 * or the exit code of what failed (the caller decides whether that ends
 * the run: on the first refresh and with --once it does).
 */
static int refresh(struct exporter *x, FILE *out)
{
	struct vs_snapshot cur = { 0 };
	struct vs_config cfg = { 0 };
	struct vs_status st;
	const char *what = "connecting";
	uint64_t t0 = vs_now_ns();
	int err = 0, code = VS_EXIT_OK;
	struct blob *b;
	char *text;
	size_t len;

	if (!x->ctx) {
		err = vs_open(&x->ctx);
		if (err)
			x->ctx = NULL;
	}
	if (!err) {
		what = "reading the VMs";
		err = vs_snapshot_get(x->ctx, &x->filter, &cur);
		/* Reloaded since the last refresh (a new family id), or a
		 * moment of -EPROTONOSUPPORT (an rmmod that found the module
		 * busy): look again, a few times while the family stays. */
		for (int i = 0; i < 3 && vs_gone(err); i++) {
			int r = vs_reconnect(x->ctx);

			if (r < 0)
				break;
			if (r == 1)	/* reloaded: VM ids start again */
				prom_keep_clear(x->po.keep);
			if (!r && i)
				usleep(100000);
			err = vs_snapshot_get(x->ctx, &x->filter, &cur);
		}
	}
	if (!err) {
		vs_select_apply(x->g, &cur);
		x->nr_vms = cur.nr_vms;
		what = "reading the module status";
		err = vs_get_config(x->ctx, x->po.reason_hist ? &cfg : NULL,
				    &st);
	}
	if (!err && x->po.reason_hist) {
		bool off = (cfg.mask & VS_CFG_DETAIL) && !cfg.detail;

		/* once per change: the family is empty, not broken */
		if (off && !x->told_detail_off)
			logmsg("--reason-hist: the module's details are off; no per-reason histograms until 'vcpustat config detail=on'");
		x->told_detail_off = off;
	}
	x->self.refreshes++;
	x->self.refresh_ns = vs_now_ns() - t0;
	x->self.timestamp_ns = realtime_ns();
	x->self.up = !err;
	if (err) {
		x->self.refresh_errors++;
		code = vs_gone(err) ? VS_EXIT_NOMOD :
		       err == -EPERM || err == -EACCES ? VS_EXIT_PERM :
		       VS_EXIT_ERR;
		/* once per failure streak */
		if (!x->failing || x->once) {
			if (vs_gone(err))
				logmsg("the vcpustat module is not loaded%s",
				       x->once ? "" :
				       "; exporting vcpustat_up 0 until it is");
			else
				vs_report(x->ctx, err, what);
		}
		/* open again next time: the module may come back, with VM
		 * ids from 1 again and every counter at 0 */
		prom_keep_clear(x->po.keep);
		vs_close(x->ctx);
		x->ctx = NULL;
		vs_snapshot_free(&cur);
		if (x->have_prev)
			vs_snapshot_free(&x->prev);
		x->have_prev = false;
		x->failing = true;
	} else if (x->failing) {
		logmsg("reading the module again");
		x->failing = false;
	}
	x->self.scrape_errors = atomic_load(&x->scrape_errors);
	/* Counters never go down between refreshes (see user/budget.h). */
	if (!err && x->have_prev)
		vs_snapshot_budget_mono(&cur, &x->prev);
	text = prom_render(err ? NULL : &cur, x->have_prev ? &x->prev : NULL,
			   err ? NULL : &st, &x->self, &x->po, &len);
	if (x->have_prev)
		vs_snapshot_free(&x->prev);
	x->prev = cur;
	x->have_prev = !err;
	if (!text) {
		logmsg("rendering: %s", strerror(ENOMEM));
		x->self.refresh_errors++;
		return code ? code : VS_EXIT_ERR;
	}
	if (out) {
		if (fwrite(text, 1, len, out) != len || fflush(out)) {
			logmsg("writing: %s", strerror(errno));
			code = code ? code : VS_EXIT_ERR;
		}
	}
	if (x->dir) {
		int werr = export_write_textfile(x->dir, text, len);

		if (werr) {
			atomic_fetch_add(&x->scrape_errors, 1);
			if (!x->write_failing || x->once)
				logmsg("writing %s/%s: %s", x->dir, EXPORT_FILE,
				       strerror(-werr));
			x->write_failing = true;
			code = code ? code : VS_EXIT_ERR;
		} else if (x->write_failing) {
			logmsg("writing %s/%s again", x->dir, EXPORT_FILE);
			x->write_failing = false;
		}
	}
	b = malloc(sizeof(*b));
	if (!b) {
		free(text);
		return code ? code : VS_EXIT_ERR;
	}
	atomic_init(&b->ref, 1);
	b->data = text;
	b->len = len;
	/* once per refresh, not per scrape; plain text if it fails */
	b->gz = NULL;
	b->gzlen = 0;
	if (x->listening && vs_gzip(text, len, &b->gz, &b->gzlen))
		b->gz = NULL;
	publish(x, b);
	return code;
}

/* ---- HTTP (libmicrohttpd) --------------------------------------------- */

#ifdef VS_HAVE_MHD
/* The current buffer with a reference held, or NULL. */
static struct blob *current(struct exporter *x)
{
	struct blob *b;

	pthread_mutex_lock(&x->lock);
	b = x->cur;
	if (b)
		atomic_fetch_add(&b->ref, 1);
	pthread_mutex_unlock(&x->lock);
	return b;
}

static void unref_cb(void *cls)
{
	blob_put(cls);
}

static enum MHD_Result reply_static(struct MHD_Connection *c,
				    unsigned int status, const char *body,
				    bool allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(body), (void *)body,
					    MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct exporter *x = cls;
	struct MHD_Response *r;
	enum MHD_Result ret;
	struct blob *b;
	bool gz;

	(void)version;
	(void)upload;
	/* Errors are answered on the first call, before any request body
	 * is read (MHD then closes the connection instead of reading it). */
	if (strcmp(url, "/metrics"))
		return reply_static(c, MHD_HTTP_NOT_FOUND,
				    "404 page not found (metrics are at /metrics)\n",
				    false);
	if (strcmp(method, MHD_HTTP_METHOD_GET) &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_static(c, MHD_HTTP_METHOD_NOT_ALLOWED,
				    "405 method not allowed\n", true);
	/* GET/HEAD: answer once the request is complete, so the connection
	 * can stay open for the next scrape (a body, if any, is dropped) */
	if (!*con_cls) {
		*con_cls = x;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	b = current(x);
	if (!b) {
		atomic_fetch_add(&x->scrape_errors, 1);
		return reply_static(c, MHD_HTTP_SERVICE_UNAVAILABLE,
				    "503 no data yet\n", false);
	}
	gz = b->gz && vs_accepts_gzip(MHD_lookup_connection_value(c,
				MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING));
	r = MHD_create_response_from_buffer_with_free_callback_cls(
		gz ? b->gzlen : b->len, gz ? b->gz : b->data, unref_cb, b);
	if (!r) {
		blob_put(b);
		atomic_fetch_add(&x->scrape_errors, 1);
		return MHD_NO;
	}
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				    PROM_CONTENT_TYPE) != MHD_YES ||
	    MHD_add_response_header(r, MHD_HTTP_HEADER_VARY,
				    MHD_HTTP_HEADER_ACCEPT_ENCODING) != MHD_YES ||
	    (gz && MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING,
					   "gzip") != MHD_YES)) {
		MHD_destroy_response(r);
		atomic_fetch_add(&x->scrape_errors, 1);
		return MHD_NO;
	}
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);	/* the connection holds its own ref */
	if (ret != MHD_YES)
		atomic_fetch_add(&x->scrape_errors, 1);
	return ret;
}

/* libmicrohttpd's messages (client errors, limits reached): at most one a
 * second, so a client opening connections in a loop cannot flood the log. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static uint64_t last_ns, dropped;
	uint64_t now = vs_now_ns();
	char msg[512];
	size_t n;

	(void)cls;
	pthread_mutex_lock(&lock);
	if (last_ns && now - last_ns < 1000000000ull) {
		dropped++;
		pthread_mutex_unlock(&lock);
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	if (dropped)
		logmsg("http: %s (%" PRIu64 " messages suppressed since the last one)", msg,
		       dropped);
	else
		logmsg("http: %s", msg);
	last_ns = now;
	dropped = 0;
	pthread_mutex_unlock(&lock);
}

/* Bind and listen ourselves (clear errors), then hand the socket to MHD. */
static struct MHD_Daemon *http_start(struct exporter *x,
				     const struct sockaddr_storage *ss,
				     socklen_t slen)
{
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	struct MHD_Daemon *d;
	char abuf[80];
	int fd, one = 1;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    0);
	if (fd < 0) {
		logmsg("socket: %s", strerror(errno));
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, slen) || listen(fd, 64)) {
		logmsg("cannot listen on %s: %s",
		       export_addr_str(abuf, sizeof(abuf),
				       (const struct sockaddr *)ss),
		       strerror(errno));
		close(fd);
		return NULL;
	}
	if (getsockname(fd, (struct sockaddr *)&bound, &blen))
		memcpy(&bound, ss, sizeof(bound));
	d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
			     (ss->ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
			     0, NULL, NULL, on_request, x,
			     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
			     MHD_OPTION_LISTEN_SOCKET, fd,
			     MHD_OPTION_CONNECTION_LIMIT,
			     (unsigned int)HTTP_MAX_CONN,
			     MHD_OPTION_PER_IP_CONNECTION_LIMIT,
			     (unsigned int)HTTP_MAX_PER_IP,
			     MHD_OPTION_CONNECTION_TIMEOUT,
			     (unsigned int)HTTP_TIMEOUT_S,
			     MHD_OPTION_END);
	if (!d) {
		logmsg("cannot start the HTTP server (libmicrohttpd)");
		close(fd);
		return NULL;
	}
	logmsg("listening on http://%s/metrics",
	       export_addr_str(abuf, sizeof(abuf),
			       (const struct sockaddr *)&bound));
	return d;
}
#endif /* VS_HAVE_MHD */

/* ---- the command ------------------------------------------------------- */

static int export_run(struct vs_global *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "textfile", required_argument, NULL, OPT_TEXTFILE },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "by", required_argument, NULL, OPT_BY },
		{ "per-vcpu", no_argument, NULL, OPT_PER_VCPU },
		{ "reasons", required_argument, NULL, OPT_REASONS },
		{ "reason-hist", no_argument, NULL, OPT_REASON_HIST },
		VS_GLOBAL_LONG,
		{ NULL, 0, NULL, 0 }
	};
	/* per VM by default: a fleet of 400-vCPU hosts cannot afford
	 * series per vCPU (vcpustat(8), "Series per VM") */
	struct exporter x = { .po = { .by = PROM_BY_VM } };
	struct sockaddr_storage ss;
	socklen_t slen = 0;
	const char *listen_arg = NULL;
	double interval = DEFAULT_INTERVAL;
	uint64_t next;
	struct stat sb;
	int c, r;
#ifdef VS_HAVE_MHD
	struct MHD_Daemon *mhd = NULL;
#endif

	while ((c = getopt_long(argc, argv, VS_GLOBAL_SHORT, lo, NULL)) != -1) {
		switch (c) {
		case OPT_TEXTFILE:
			if (!*optarg)
				return vs_usage_error(&vs_cmd_export,
						      "empty --textfile directory");
			x.dir = optarg;
			break;
		case OPT_LISTEN:
			if (export_parse_listen(optarg, &ss, &slen))
				return vs_usage_error(&vs_cmd_export,
					"bad --listen address '%s' (ADDR:PORT, [ADDR6]:PORT, :PORT)",
					optarg);
			listen_arg = optarg;
			x.listening = true;
			break;
		case OPT_INTERVAL:
			if (vs_parse_seconds(optarg, &interval))
				return vs_usage_error(&vs_cmd_export,
						      "bad interval '%s'", optarg);
			break;
		case OPT_ONCE:
			x.once = true;
			break;
		case OPT_BY:
			if (prom_parse_by(optarg, &x.po))
				return vs_usage_error(&vs_cmd_export,
					"bad --by '%s' (vcpu or vm)", optarg);
			break;
		case OPT_PER_VCPU:
			x.po.by = PROM_BY_VCPU;
			break;
		case OPT_REASON_HIST:
			x.po.reason_hist = true;
			break;
		case OPT_REASONS:
			if (prom_parse_reasons(optarg, &x.po))
				return vs_usage_error(&vs_cmd_export,
					"bad --reasons '%s' (all or top:N)",
					optarg);
			break;
		default:
			r = vs_common_opt(&vs_cmd_export, g, c, optarg);
			if (r >= 0)
				return r;
		}
	}
	if (optind < argc)
		return vs_usage_error(&vs_cmd_export, "unexpected argument '%s'",
				      argv[optind]);
	if (g->json)
		return vs_usage_error(&vs_cmd_export,
				      "the output is the Prometheus text format; -j does not apply");
	if (!x.dir && !listen_arg && !x.once)
		return vs_usage_error(&vs_cmd_export,
				      "say where to: --textfile DIR, --listen ADDR:PORT or --once");
	if (x.once && listen_arg)
		return vs_usage_error(&vs_cmd_export,
				      "--once cannot serve HTTP; use --textfile DIR or stdout");
#ifndef VS_HAVE_MHD
	if (listen_arg) {
		fprintf(stderr, "vcpustat export: --listen is not available: vcpustat was built without libmicrohttpd (install libmicrohttpd-dev and rebuild)\n");
		return VS_EXIT_ERR;
	}
#endif
	if (x.dir) {
		const char *why = NULL;

		if (stat(x.dir, &sb))
			why = strerror(errno);
		else if (!S_ISDIR(sb.st_mode))
			why = strerror(ENOTDIR);
		if (why) {
			logmsg("%s: %s", x.dir, why);
			return VS_EXIT_ERR;
		}
	}
	vs_global_filter(g, &x.filter);
	x.g = g;
	if (x.po.top) {
		/* top:N names the same reasons from refresh to refresh */
		x.po.keep = prom_keep_new();
		if (!x.po.keep)
			return VS_EXIT_ERR;
	}
	/* A one-shot reports a missing module like every command; the
	 * daemon waits for it, exporting vcpustat_up 0 meanwhile. */
	if (x.once) {
		r = vs_connect(&x.ctx);
		if (r)
			return r;
	}
	pthread_mutex_init(&x.lock, NULL);
	atomic_init(&x.scrape_errors, 0);
	vs_install_stop_handlers();

	/* The first refresh decides: errors now (other than the module
	 * being away) are configuration errors. */
	r = refresh(&x, x.once && !x.dir ? stdout : NULL);
	/* a selection of nothing is an error, as in every command (with
	 * the module away there is nothing to match against yet) */
	if (!r && vs_selecting(g) && !x.nr_vms) {
		char what[VS_NAME_LEN * 4 + 64];

		logmsg("no VM matches %s", vs_select_describe(g, what,
							      sizeof(what)));
		r = VS_EXIT_ERR;
		goto out;
	}
	if (x.once || (r && r != VS_EXIT_NOMOD))
		goto out;
#ifdef VS_HAVE_MHD
	if (listen_arg) {
		sigset_t block, old;

		/* Signals go to this thread: its sleep must end at once. */
		sigemptyset(&block);
		sigaddset(&block, SIGINT);
		sigaddset(&block, SIGTERM);
		sigaddset(&block, SIGHUP);
		pthread_sigmask(SIG_BLOCK, &block, &old);
		mhd = http_start(&x, &ss, slen);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (!mhd) {
			r = VS_EXIT_ERR;
			goto out;
		}
	}
#endif
	next = vs_now_ns();
	while (!vs_stop) {
		uint64_t now;

		next += (uint64_t)(interval * 1e9);
		now = vs_now_ns();
		if (next < now)		/* overran: skip, don't burst */
			next = now + (uint64_t)(interval * 1e9);
		if (vs_sleep_until(next))
			break;
		refresh(&x, NULL);	/* errors: counted, exported, logged */
	}
	r = VS_EXIT_OK;
out:
	if (x.dir && !x.once) {
		char path[4096];

		/* stale counters must not look current to node_exporter */
		snprintf(path, sizeof(path), "%s/%s", x.dir, EXPORT_FILE);
		unlink(path);
	}
#ifdef VS_HAVE_MHD
	if (mhd)
		MHD_stop_daemon(mhd);	/* waits for its thread; drops refs */
#endif
	publish(&x, NULL);
	pthread_mutex_destroy(&x.lock);
	if (x.have_prev)
		vs_snapshot_free(&x.prev);
	vs_close(x.ctx);
	prom_keep_free(x.po.keep);
	return r;
}

const struct vs_cmd vs_cmd_export = {
	.name = "export",
	.synopsis = "[--textfile DIR] [--listen [ADDR][:PORT]] [--once] [--interval S] [--by vcpu|vm] [--reasons all|top:N] [--reason-hist]",
	.summary = "Prometheus metrics: node_exporter textfile or HTTP /metrics",
	.run = export_run,
	.help = export_help,
};
