/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Access to the generated exit reason tables, for tests and for listing
 * reasons; the name<->code functions themselves are in vsnl.h.
 */
#ifndef VS_REASONS_H
#define VS_REASONS_H

#include <stddef.h>
#include <stdint.h>

size_t vs_reason_table_size(uint32_t isa);
/* 0 and the i-th { code, name } of @isa's table, -1 past the end. */
int vs_reason_table_entry(uint32_t isa, size_t i, uint32_t *code,
			  const char **name);

#endif /* VS_REASONS_H */
