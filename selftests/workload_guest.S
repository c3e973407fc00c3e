/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest program of kvm_workload, 16-bit real mode.
 *
 * The host copies the bytes between workload_guest_start and
 * workload_guest_end into guest RAM and starts every vCPU at their first
 * byte, with CS = DS = ES = SS = 0, interrupts off, and BP pointing to that
 * vCPU's mailbox (see kvm_workload.c: struct mailbox). The code uses only
 * relative jumps and BP-based data, so it runs at whatever address the host
 * puts it.
 *
 * Loop: read (kind, count, msr, seq) from the mailbox, perform the operation
 * `count` times, then OUT the 32-bit seq to the control port and go back to
 * the top. Each KVM_RUN of a vCPU therefore executes exactly one "chunk".
 *
 * Vectors 0..31 of the IVT point at exc_stub_N, which OUTs N to the
 * exception port: the host reports it and fails (a #GP from an MSR access,
 * a #UD ...). Nothing here may fault.
 */
#include "workload_guest.h"

	.section .rodata.workload_guest, "a"
	.globl	workload_guest_start
	.globl	workload_guest_end
	.globl	workload_guest_exc_stubs

	.code16
workload_guest_start:
	cli
	cld
top:
	movl	MB_KIND(%bp), %esi
	movl	MB_COUNT(%bp), %edi
	cmpl	$KIND_NOP, %esi
	je	done
	testl	%edi, %edi
	jz	done
	cmpl	$KIND_IO, %esi
	je	do_io
	cmpl	$KIND_CPUID, %esi
	je	do_cpuid
	cmpl	$KIND_HLT, %esi
	je	do_hlt
	cmpl	$KIND_RDMSR, %esi
	je	do_rdmsr
	cmpl	$KIND_WRMSR, %esi
	je	do_wrmsr
	cmpl	$KIND_MMIO, %esi
	je	do_mmio
	cmpl	$KIND_PIO, %esi
	je	do_pio
	cmpl	$KIND_CPUIDX, %esi
	je	do_cpuidx
	cmpl	$KIND_HCALL, %esi
	je	do_hcall
	cmpl	$KIND_MMIOX, %esi
	je	do_mmiox
	/* Unknown kind: report it as "exception" BAD_KIND_VECTOR. */
	movb	$BAD_KIND_VECTOR, %al
	jmp	exc_common

do_io:
	movw	$DATA_PORT, %dx
	movb	$KIND_IO, %al
1:	outb	%al, %dx
	decl	%edi
	jnz	1b
	jmp	done

do_cpuid:
1:	xorl	%eax, %eax
	xorl	%ecx, %ecx
	cpuid
	decl	%edi
	jnz	1b
	jmp	done

do_hlt:
1:	hlt
	decl	%edi
	jnz	1b
	jmp	done

do_rdmsr:
1:	movl	MB_MSR(%bp), %ecx
	rdmsr
	decl	%edi
	jnz	1b
	jmp	done

do_wrmsr:
1:	movl	MB_MSR(%bp), %ecx
	movl	MB_WRVAL_LO(%bp), %eax
	movl	MB_WRVAL_HI(%bp), %edx
	wrmsr
	decl	%edi
	jnz	1b
	jmp	done

do_mmio:
	movw	$MMIO_SEG, %ax
	movw	%ax, %es
	movb	$KIND_MMIO, %al
1:	movb	%al, %es:0
	decl	%edi
	jnz	1b
	xorw	%ax, %ax
	movw	%ax, %es
	jmp	done

/* Port I/O of the size and direction in ARG2 on port ARG1. */
do_pio:
	movw	MB_ARG1(%bp), %dx
	movl	MB_ARG2(%bp), %ebx
	movl	$KIND_PIO, %eax
	cmpl	$1, %ebx
	je	pio_out1
	cmpl	$2, %ebx
	je	pio_out2
	cmpl	$4, %ebx
	je	pio_out4
	cmpl	$(PIO_IN | 1), %ebx
	je	pio_in1
	cmpl	$(PIO_IN | 2), %ebx
	je	pio_in2
	cmpl	$(PIO_IN | 4), %ebx
	je	pio_in4
	movb	$BAD_KIND_VECTOR, %al
	jmp	exc_common
pio_out1:
1:	outb	%al, %dx
	decl	%edi
	jnz	1b
	jmp	done
pio_out2:
1:	outw	%ax, %dx
	decl	%edi
	jnz	1b
	jmp	done
pio_out4:
1:	outl	%eax, %dx
	decl	%edi
	jnz	1b
	jmp	done
pio_in1:
1:	inb	%dx, %al
	decl	%edi
	jnz	1b
	jmp	done
pio_in2:
1:	inw	%dx, %ax
	decl	%edi
	jnz	1b
	jmp	done
pio_in4:
1:	inl	%dx, %eax
	decl	%edi
	jnz	1b
	jmp	done

do_cpuidx:
1:	movl	MB_ARG1(%bp), %eax
	movl	MB_ARG2(%bp), %ecx
	cpuid
	decl	%edi
	jnz	1b
	jmp	done

/* KVM returns -KVM_ENOSYS in RAX for these numbers: reload it each time. */
do_hcall:
	cmpl	$0, MB_ARG2(%bp)
	jne	hcall_amd
1:	movl	MB_ARG1(%bp), %eax
	vmcall
	decl	%edi
	jnz	1b
	jmp	done
hcall_amd:
1:	movl	MB_ARG1(%bp), %eax
	vmmcall
	decl	%edi
	jnz	1b
	jmp	done

do_mmiox:
	movw	MB_ARG1(%bp), %ax
	movw	%ax, %es
	movb	$KIND_MMIOX, %al
1:	movb	%al, %es:0
	decl	%edi
	jnz	1b
	xorw	%ax, %ax
	movw	%ax, %es
	jmp	done

done:
	movl	MB_SEQ(%bp), %eax
	movw	$CTRL_PORT, %dx
	outl	%eax, %dx
	jmp	top

/* Exception stubs: fixed EXC_STUB_SIZE bytes each, vector in AL. */
	.balign	EXC_STUB_SIZE
workload_guest_exc_stubs:
	.irp	vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.balign	EXC_STUB_SIZE
	movb	$\vec, %al
	jmp	exc_common
	.endr
	.balign	EXC_STUB_SIZE
exc_common:
	movw	$EXC_PORT, %dx
	outb	%al, %dx
2:	hlt
	jmp	2b
workload_guest_end:

	.code64
	.section .note.GNU-stack, "", @progbits
