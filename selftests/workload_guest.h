/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Contract between kvm_workload.c (host) and workload_guest.S (guest).
 * Included by both; plain #defines only.
 */
#ifndef WORKLOAD_GUEST_H
#define WORKLOAD_GUEST_H

/* Guest physical layout (one RAM slot at GPA 0). */
#define GUEST_MEM_SIZE		0x10000		/* 64 KiB of RAM */
#define GUEST_CODE_GPA		0x1000		/* code, up to 0x1000 bytes */
#define GUEST_CODE_MAX		0x1000
#define GUEST_MBOX_GPA		0x2000		/* mailboxes, MBOX_SIZE each */
#define MBOX_SIZE		0x40
#define GUEST_STACK_GPA		0x4000		/* stacks, STACK_SIZE each */
#define STACK_SIZE		0x80
#define GUEST_MAX_VCPUS		128		/* mailboxes/stacks fit below RAM end */
#define MMIO_SEG		0x1000		/* ES for the MMIO store ... */
#define MMIO_GPA		0x10000		/* ... = MMIO_SEG << 4, outside RAM */

/* I/O ports. */
#define DATA_PORT		0x0510		/* requested port I/O: OUT byte */
#define CTRL_PORT		0x0511		/* "chunk done": OUT dword = seq */
#define EXC_PORT		0x0512		/* exception: OUT byte = vector */

/* Mailbox layout (byte offsets from BP). */
#define MB_KIND			0
#define MB_COUNT		4
#define MB_MSR			8
#define MB_WRVAL_LO		12
#define MB_WRVAL_HI		16
#define MB_SEQ			20
#define MB_ARG1			24	/* keyed kinds below */
#define MB_ARG2			28

/* Operation kinds. */
#define KIND_NOP		0
#define KIND_IO			1
#define KIND_CPUID		2
#define KIND_HLT		3
#define KIND_RDMSR		4
#define KIND_WRMSR		5
#define KIND_MMIO		6
/*
 * Keyed kinds (kvm_workload --op): one key per chunk, for the exact
 * second-level key tests. PIO: ARG1 port, ARG2 size (1, 2, 4) | IN << 8.
 * CPUIDX: ARG1 leaf, ARG2 subleaf. HCALL: ARG1 RAX, ARG2 0 VMCALL, 1
 * VMMCALL. MMIOX: byte store to ARG1:0 (a real-mode segment).
 */
#define KIND_PIO		7
#define KIND_CPUIDX		8
#define KIND_HCALL		9
#define KIND_MMIOX		10
#define PIO_IN			0x100

#define EXC_STUB_SIZE		8
#define BAD_KIND_VECTOR		0xff

#endif
