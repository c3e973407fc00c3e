/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The arm64 workload guest (selftests/kvm_workload_arm64.c copies it into
 * guest memory and sets x0-x5): runs at EL1 with the MMU off and makes
 * exactly x0 stores to the unmapped IPA x4 (DABT_LOW, MMIO to userspace),
 * x1 PSCI_VERSION calls (HVC64, answered by KVM), x2 WFIs (WFx; nothing
 * is pending, so each traps and blocks until the driver's signal) and x3
 * reads of ID_AA64PFR0_EL1 (SYS64: KVM sets HCR_EL2.TID3), then says
 * done with one more store, at x4 + 0x800 (not SYSTEM_OFF, which would
 * stop the other vCPUs too). With x5 != 0 it repeats the
 * whole round forever instead (the driver's -l). Position independent;
 * counters live in x19-x28, which the SMCCC calls preserve.
 */
	.text
	.globl	vs_guest_start, vs_guest_end
	.p2align 12
vs_guest_start:
	mov	x24, x0
	mov	x25, x1
	mov	x26, x2
	mov	x27, x3
	mov	x23, x4
	mov	x28, x5
round:
	mov	x19, x24
	mov	x20, x25
	mov	x21, x26
	mov	x22, x27
mmio:	cbz	x19, hvc
	str	w19, [x23]
	sub	x19, x19, #1
	b	mmio
hvc:	cbz	x20, wfi
	movz	w0, #0x8400, lsl #16	/* PSCI_0_2_FN_PSCI_VERSION */
	hvc	#0
	sub	x20, x20, #1
	b	hvc
wfi:	cbz	x21, sysreg
	wfi
	sub	x21, x21, #1
	b	wfi
sysreg:	cbz	x22, done
	mrs	x9, id_aa64pfr0_el1
	sub	x22, x22, #1
	b	sysreg
done:	cbnz	x28, round
	str	wzr, [x23, #0x800]	/* "done": the driver stops this vCPU */
	b	.
vs_guest_end:
	.section .note.GNU-stack, "", %progbits
