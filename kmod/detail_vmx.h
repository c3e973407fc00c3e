/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The key of one VMX exit, inlined into the exit probe (detail_vmx.c says
 * where each key is read from and why the VMCS read is this vCPU's).
 */
#ifndef VCPUSTAT_DETAIL_VMX_H
#define VCPUSTAT_DETAIL_VMX_H

#include <asm/vmx.h>
#include <linux/kvm_host.h>

/* By value, as vs_vmx_exit_code(): no stack object in the probe. */
static __always_inline u64 vs_vmread(unsigned long field)
{
	unsigned long value = 0;
	bool fail;

	asm volatile("vmread %[field], %[value]"
		     : [value] "=rm" (value), "=@ccbe" (fail)
		     : [field] "r" (field)
		     : "cc");
	return fail ? VS_NO_KEY : value;
}

/* Exit qualification of I/O: size - 1, in, string, port (uapi: detail_vmx.c) */
#define VS_VMX_IO_KEY_MASK	0xffff001fULL

/* The VS_DOP_VMX_* keys that need the VMCS (vs_detail_key(): the others). */
static __always_inline u64 vs_detail_key_vmx(u32 op)
{
	u64 v;

	switch (op) {
	case VS_DOP_VMX_IO:
		v = vs_vmread(EXIT_QUALIFICATION);
		return v == VS_NO_KEY ? v : v & VS_VMX_IO_KEY_MASK;
	case VS_DOP_VMX_GPA:
		v = vs_vmread(GUEST_PHYSICAL_ADDRESS);
		return v == VS_NO_KEY ? v : v & PAGE_MASK;
	}
	/* VS_DOP_VMX_VECTOR: EXCEPTION_NMI, EXTERNAL_INTERRUPT */
	v = vs_vmread(VM_EXIT_INTR_INFO);
	if (v == VS_NO_KEY || !(v & INTR_INFO_VALID_MASK))
		return VS_NO_KEY;
	return v & INTR_INFO_VECTOR_MASK;
}

#endif /* VCPUSTAT_DETAIL_VMX_H */
