/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The mock's second-level exit keys (VS_MOCK_DETAIL=1): what a GET_VCPU
 * dump of the real module carries per reason once details are on.
 */
#ifndef VS_MOCK_KEYS_H
#define VS_MOCK_KEYS_H

#include <stdint.h>

#include "vsnl.h"

/*
 * Give @r (count already set) the keys of its kind, as vsnl.c decodes
 * them from the module: key_kind, keys[] with exact counts (GPA keys with
 * their region), keys_other the rest, so keys + keys_other == count.
 * A reason that has no keys in the module (hlt, other) is left alone.
 * @idx (the vCPU's) moves one GPA page so vCPUs differ on a key.
 */
void mock_keys_fill(struct vs_reason *r, uint32_t idx);

#endif /* VS_MOCK_KEYS_H */
