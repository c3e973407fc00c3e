// SPDX-License-Identifier: GPL-2.0
/*
 * "time" and "mono_ns" for JSON records; see stamp.h.
 */
#include <stdio.h>
#include <time.h>

#include "stamp.h"

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

char *vs_rfc3339(char *buf, size_t len, uint64_t mono_ns)
{
	uint64_t now_mono = clock_ns(CLOCK_MONOTONIC);
	uint64_t wall = clock_ns(CLOCK_REALTIME);
	time_t sec;
	struct tm tm;
	char ymd[32];

	/* the wall clock of then: now, less the monotonic time since */
	if (mono_ns && mono_ns <= now_mono && now_mono - mono_ns <= wall)
		wall -= now_mono - mono_ns;
	sec = (time_t)(wall / 1000000000ull);
	gmtime_r(&sec, &tm);
	strftime(ymd, sizeof(ymd), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%06uZ", ymd,
		 (unsigned int)(wall % 1000000000ull / 1000));
	return buf;
}

void jw_time_keys(struct jw *w, uint64_t mono_ns)
{
	char b[48];

	if (!mono_ns)
		mono_ns = clock_ns(CLOCK_MONOTONIC);
	jw_kstr(w, "time", vs_rfc3339(b, sizeof(b), mono_ns));
	jw_ku64(w, "mono_ns", mono_ns);
}
