// SPDX-License-Identifier: GPL-2.0
/*
 * gzip bodies and Accept-Encoding parsing for the exporter; see gzip.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <strings.h>

#include "gzip.h"

#ifdef VS_HAVE_ZLIB
#include <zlib.h>
#endif

bool vs_accepts_gzip(const char *h)
{
	/* comma-separated codings, each maybe with ";q=VALUE" (RFC 9110) */
	while (h && *h) {
		const char *end = strchr(h, ','), *semi;
		size_t n;

		if (!end)
			end = h + strlen(h);
		while (h < end && (*h == ' ' || *h == '\t'))
			h++;
		semi = memchr(h, ';', (size_t)(end - h));
		n = (size_t)((semi ? semi : end) - h);
		while (n && (h[n - 1] == ' ' || h[n - 1] == '\t'))
			n--;
		if ((n == 4 && !strncasecmp(h, "gzip", 4)) ||
		    (n == 1 && *h == '*')) {
			const char *q = semi ? strstr(semi, "q=") : NULL;

			/* q=0, q=0.0, q=0.000: refused */
			if (!q || q > end || strtod(q + 2, NULL) > 0)
				return true;
		}
		h = *end ? end + 1 : end;
	}
	return false;
}

int vs_gzip(const char *in, size_t len, char **out, size_t *outlen)
{
#ifdef VS_HAVE_ZLIB
	z_stream z;
	uLong cap;
	char *buf;
	int r;

	memset(&z, 0, sizeof(z));
	/* windowBits 15 + 16: a gzip header and trailer, not zlib's */
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	cap = deflateBound(&z, (uLong)len);
	buf = malloc(cap);
	if (!buf) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)buf;
	z.avail_out = (uInt)cap;
	r = deflate(&z, Z_FINISH);
	*outlen = z.total_out;
	deflateEnd(&z);
	if (r != Z_STREAM_END) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	return 0;
#else
	(void)in;
	(void)len;
	(void)out;
	(void)outlen;
	return -ENOTSUP;
#endif
}
