/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An error message into the caller's buffer (errmsg.c): the parsers and
 * readers that take "char *err, size_t errlen" let the caller pass none.
 */
#ifndef VS_ERRMSG_H
#define VS_ERRMSG_H

#include <stddef.h>

/* printf @fmt into @err; nothing when @err is NULL or @errlen 0. */
void vs_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* VS_ERRMSG_H */
