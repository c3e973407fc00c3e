// SPDX-License-Identifier: GPL-2.0
/*
 * The reference: a function with the exit accounting's signature that
 * does nothing, in their own translation unit so that the caller can neither
 * inline nor drop the calls (the kernel is not built with LTO).
 */
#include "vcpustat.h"
#include "ubench.h"

void vs_ubench_empty_exit(struct vs_vcpu *vc, u32 code, int cpu)
{
}
