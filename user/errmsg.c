// SPDX-License-Identifier: GPL-2.0
/* An error message into the caller's optional buffer. See errmsg.h. */
#include <stdarg.h>
#include <stdio.h>

#include "errmsg.h"

void vs_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
