/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gzip for `export --listen`: a Prometheus server asks for it
 * (Accept-Encoding: gzip) and the text of a big host compresses about
 * tenfold. zlib does the work (Debian zlib1g-dev); without it the tool
 * builds and serves plain text.
 */
#ifndef VS_GZIP_H
#define VS_GZIP_H

#include <stdbool.h>
#include <stddef.h>

/* Does this Accept-Encoding header value take gzip (not "gzip;q=0")? */
bool vs_accepts_gzip(const char *accept_encoding);
/*
 * @len bytes of @in as one gzip member in a malloc'ed *@out of *@outlen
 * bytes. 0, -ENOMEM, or -ENOTSUP when built without zlib.
 */
int vs_gzip(const char *in, size_t len, char **out, size_t *outlen);

#endif /* VS_GZIP_H */
