/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers of `vcpustat export` (cmd_export.c) that the unit tests call. */
#ifndef VS_EXPORT_H
#define VS_EXPORT_H

#include <stddef.h>
#include <sys/socket.h>

#define EXPORT_DEFAULT_ADDR	"127.0.0.1"
#define EXPORT_DEFAULT_PORT	9477
#define EXPORT_FILE		"vcpustat.prom"

/*
 * --listen value: "[ADDR][:PORT]" with a numeric IPv4 address or a
 * bracketed IPv6 one ("[::1]:9477"), or "localhost"; ADDR defaults to
 * 127.0.0.1 and PORT to 9477 (0: any free port). 0 or -1.
 */
int export_parse_listen(const char *s, struct sockaddr_storage *ss,
			socklen_t *len);
/* "ADDR:PORT" / "[ADDR]:PORT" of @sa into @buf. */
char *export_addr_str(char *buf, size_t len, const struct sockaddr *sa);

/*
 * Replace @dir/vcpustat.prom with @len bytes of @buf atomically: a temp
 * file in @dir (not ending in .prom, which the textfile collector would
 * read), mode 0644, renamed over the old one. 0 or a negative errno; no
 * temp file is left behind on failure.
 */
int export_write_textfile(const char *dir, const char *buf, size_t len);

#endif /* VS_EXPORT_H */
