/* SPDX-License-Identifier: GPL-2.0 */
/*
 * budget_workload's architecture half: the VM and vCPU setup and the guest
 * code of each mode, and how to tell its exits to userspace apart. One of
 * budget_arch_x86.c, budget_arch_arm64.c is linked (Makefile, scripts/
 * arm64-userland); budget_workload.c holds everything measured.
 */
#ifndef BUDGET_ARCH_H
#define BUDGET_ARCH_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

enum mode { SPIN, HLT, IO };

/* What a KVM_RUN that returned 0 came back for. */
enum bw_exit { BW_EXIT_OTHER, BW_EXIT_WARM, BW_EXIT_IO };

/*
 * The guest of @mode in @vm_fd: its memory, with two warm-up exits to
 * userspace first (the measurement starts at the second one's return),
 * then the mode's code; and what the mode needs of the VM (x86 hlt: the
 * in-kernel irqchip). Exits with a message on failure.
 */
void bw_arch_vm(int kvm_fd, int vm_fd, enum mode mode);

/* vCPU @vcpu_fd (KVM_CREATE_VCPU'd, run mapped) set up to start the guest. */
void bw_arch_vcpu(int vm_fd, int vcpu_fd);

enum bw_exit bw_arch_exit(const struct kvm_run *run);

/* budget_workload.c's: a message with errno's, exit 1. */
void bw_die(const char *what) __attribute__((noreturn));

/*
 * budget_workload.c's: @size bytes of guest RAM at @gpa, holding @warm
 * then @code from its start, as a memslot of @vm_fd.
 */
void bw_guest_ram(int vm_fd, uint64_t gpa, size_t size, const void *warm,
		  size_t warm_len, const void *code, size_t code_len);

#endif
