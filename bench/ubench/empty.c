// SPDX-License-Identifier: GPL-2.0
/*
 * The reference: functions with the accounting functions' signatures that
 * do nothing, in their own translation unit so that the caller can neither
 * inline nor drop the calls (the kernel is not built with LTO).
 */
#include "vcpustat.h"
#include "ubench.h"

void vs_ubench_empty_exit(struct vs_vcpu *vc, u32 isa, u32 code, u64 now)
{
}

void vs_ubench_empty_entry(struct vs_vcpu *vc, int cpu, u64 now)
{
}
