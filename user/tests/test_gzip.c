// SPDX-License-Identifier: GPL-2.0
/*
 * gzip for /metrics (issue 17): Accept-Encoding parsing and a round trip
 * through gzip(1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>

#include "gzip.h"
#include "harness.h"
#include "testutil.h"

T_TEST(gzip_accept_encoding)
{
	T_ASSERT(vs_accepts_gzip("gzip"));
	/* what Prometheus sends */
	T_ASSERT(vs_accepts_gzip("gzip"));
	T_ASSERT(vs_accepts_gzip("deflate, GZIP"));
	T_ASSERT(vs_accepts_gzip("br;q=1.0, gzip;q=0.8, *;q=0.1"));
	T_ASSERT(vs_accepts_gzip(" gzip ; q=0.5"));
	T_ASSERT(vs_accepts_gzip("*"));
	T_ASSERT(!vs_accepts_gzip(NULL));
	T_ASSERT(!vs_accepts_gzip(""));
	T_ASSERT(!vs_accepts_gzip("identity"));
	T_ASSERT(!vs_accepts_gzip("gzip;q=0"));
	T_ASSERT(!vs_accepts_gzip("gzip;q=0.000, deflate"));
	T_ASSERT(!vs_accepts_gzip("x-gzip2, gzipx"));
}

T_TEST(gzip_round_trip)
{
	char path[] = "/tmp/vsgz-XXXXXX", cmd[256], *text, *gz, *back;
	size_t len = 0, gzlen;
	int fd;

	text = malloc(200000);
	T_ASSERT(text);
	for (int i = 0; len < 190000; i++)
		len += (size_t)snprintf(text + len, 200000 - len,
			"vcpustat_vm_exits_total{vm_id=\"%d\",isa=\"svm\",reason=\"io\"} %d\n",
			i % 400, i * 7);
	if (vs_gzip(text, len, &gz, &gzlen) == -ENOTSUP) {
		free(text);
		T_SKIP("built without zlib");
	}
	/* Prometheus text compresses well: under a fifth here */
	T_ASSERT(gzlen > 18 && gzlen < len / 5);
	fd = mkstemp(path);
	T_ASSERT(fd >= 0);
	T_ASSERT(write(fd, gz, gzlen) == (ssize_t)gzlen);
	close(fd);
	snprintf(cmd, sizeof(cmd), "gzip -dc < %s", path);
	T_EQ(t_sh(cmd, &back, false), 0);
	unlink(path);
	T_ASSERT(back && strlen(back) == len && !memcmp(back, text, len));
	free(back);
	free(gz);
	free(text);
}
