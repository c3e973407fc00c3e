/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VS_UBENCH_H
#define VS_UBENCH_H
#include <linux/types.h>
struct vs_vcpu;
void vs_ubench_empty_exit(struct vs_vcpu *vc, u32 code, int cpu);
#endif
