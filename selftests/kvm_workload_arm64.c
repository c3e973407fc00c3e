// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_workload_arm64: make exact numbers of KVM exits per exception class
 * on raw /dev/kvm guests of an arm64 host (the arm64 rig's counterpart of
 * kvm_workload.c), so that vcpustat and tracefs can be checked against
 * what the guests did.
 *
 *   kvm_workload_arm64 [-v VCPUS] [-m MMIO] [-c HVC] [-w WFI] [-s SYSREG]
 *                      [-M MOVE_EVERY] [-l] [-H]
 *
 * Each vCPU runs selftests/workload_guest_arm64.S: MMIO stores to an
 * unmapped IPA (DABT_LOW, EC 0x24, each one a KVM_EXIT_MMIO here), PSCI
 * calls (HVC64, 0x16), WFIs (WFx, 0x01) and ID register reads (SYS64,
 * 0x18), then one more store that says it is done (at the vCPU's MMIO
 * address + 0x800: a DABT_LOW too). vCPU thread i starts pinned to the
 * i-th CPU it may run on, and every -M MMIO exits pins itself to the next
 * one: each move is a migration, and no other is made. A WFI with nothing
 * pending blocks the vCPU in KVM until a signal: each vCPU thread gets
 * SIGUSR1 every 5 ms (which also makes IRQ exits: not counted here).
 * Prints per vCPU, once its guest is done:
 *   expect tid=TID code=CODE count=N     (vcpustat's arm64 code: the EC)
 *   moves tid=TID count=N
 * then "done". -H keeps the VM open after that until SIGTERM (so that its
 * counts can be read); -l repeats the rounds until SIGTERM, printing
 * nothing per vCPU. Exit status 0, or 1 with a message on any error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Exception classes (Arm ARM, ESR_ELx.EC): what each guest phase makes. */
#define EC_WFX		0x01
#define EC_HVC64	0x16
#define EC_SYS64	0x18
#define EC_DABT_LOW	0x24

#define GUEST_BASE	0x10000UL
#define GUEST_SIZE	0x10000UL
#define MMIO_ADDR	0x40000000UL	/* no memslot there */
#define MAX_VCPUS	64

extern const char vs_guest_start[], vs_guest_end[];

static unsigned long n_mmio = 100, n_hvc = 10, n_wfi = 5, n_sys = 10;
static unsigned long move_every;
static int loop_mode, hold;
static volatile sig_atomic_t stop;
static int vm_fd, run_size;
static cpu_set_t cpus;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

struct vcpu {
	int id, fd;
	unsigned long mmio;		/* this vCPU's MMIO address */
	struct kvm_run *run;
	pthread_t thread;
};

static void die(const char *what)
{
	fprintf(stderr, "kvm_workload_arm64: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void on_signal(int sig)
{
	if (sig == SIGTERM)
		stop = 1;
}

static void set_reg(int fd, uint64_t id, uint64_t val)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)&val };

	if (ioctl(fd, KVM_SET_ONE_REG, &reg))
		die("KVM_SET_ONE_REG");
}

#define CORE_REG(field) (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | \
	KVM_REG_ARM_CORE | (offsetof(struct kvm_regs, field) / sizeof(uint32_t)))

/*
 * Pin the calling thread to the @nth CPU after @cur among those allowed
 * (cur -1: the first), so that the scheduler never moves it: every
 * migration is one of ours.
 */
static int move_on(int cur, int nth)
{
	cpu_set_t one;
	int cpu = cur;

	do {
		do
			cpu = (cpu + 1) % CPU_SETSIZE;
		while (!CPU_ISSET(cpu, &cpus));
	} while (--nth > 0);
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		die("sched_setaffinity");
	return cpu;
}

static void *vcpu_main(void *arg)
{
	struct vcpu *v = arg;
	pid_t tid = (pid_t)syscall(SYS_gettid);
	struct sigevent sev = {
		.sigev_notify = SIGEV_THREAD_ID,
		.sigev_signo = SIGUSR1,
	};
	struct itimerspec its = {
		.it_interval = { .tv_nsec = 5000000 },
		.it_value = { .tv_nsec = 5000000 },
	};
	unsigned long mmio = 0, moves = 0;
	int cpu = move_on(-1, v->id + 1);
	timer_t timer;

	sev._sigev_un._tid = tid;
	if (timer_create(CLOCK_MONOTONIC, &sev, &timer) ||
	    timer_settime(timer, 0, &its, NULL))
		die("timer");
	for (;;) {
		if (stop && loop_mode)
			break;
		if (ioctl(v->fd, KVM_RUN, 0)) {
			if (errno == EINTR)
				continue;
			die("KVM_RUN");
		}
		switch (v->run->exit_reason) {
		case KVM_EXIT_MMIO:
			if (v->run->mmio.phys_addr == v->mmio + 0x800)
				break;
			mmio++;
			if (move_every && mmio % move_every == 0) {
				cpu = move_on(cpu, 1);
				moves++;
			}
			continue;
		case KVM_EXIT_INTR:
			continue;
		default:
			fprintf(stderr, "kvm_workload_arm64: vcpu %d: unexpected exit %u\n",
				v->id, v->run->exit_reason);
			exit(1);
		}
		break;
	}
	timer_delete(timer);
	if (loop_mode)
		return NULL;
	if (mmio != n_mmio) {
		fprintf(stderr, "kvm_workload_arm64: vcpu %d: %lu MMIO exits, not %lu\n",
			v->id, mmio, n_mmio);
		exit(1);
	}
	pthread_mutex_lock(&out_lock);
	printf("expect tid=%d code=%d count=%lu\n", tid, EC_DABT_LOW, n_mmio + 1);
	printf("expect tid=%d code=%d count=%lu\n", tid, EC_HVC64, n_hvc);
	printf("expect tid=%d code=%d count=%lu\n", tid, EC_WFX, n_wfi);
	printf("expect tid=%d code=%d count=%lu\n", tid, EC_SYS64, n_sys);
	printf("moves tid=%d count=%lu\n", tid, moves);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
	return NULL;
}

static unsigned long num(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (!*s || *end) {
		fprintf(stderr, "kvm_workload_arm64: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	struct kvm_userspace_memory_region mem = {
		.guest_phys_addr = GUEST_BASE,
		.memory_size = GUEST_SIZE,
	};
	struct sigaction sa = { .sa_handler = on_signal };
	static struct vcpu vcpus[MAX_VCPUS];
	struct kvm_vcpu_init init;
	int kvm, n = 1, opt, i;
	void *mem_host;

	while ((opt = getopt(argc, argv, "v:m:c:w:s:M:lH")) != -1) {
		switch (opt) {
		case 'v': n = (int)num(optarg); break;
		case 'm': n_mmio = num(optarg); break;
		case 'c': n_hvc = num(optarg); break;
		case 'w': n_wfi = num(optarg); break;
		case 's': n_sys = num(optarg); break;
		case 'M': move_every = num(optarg); break;
		case 'l': loop_mode = 1; break;
		case 'H': hold = 1; break;
		default:
			fprintf(stderr, "usage: kvm_workload_arm64 [-v VCPUS] [-m MMIO] [-c HVC] [-w WFI] [-s SYSREG] [-M MOVE_EVERY] [-l] [-H]\n");
			return 2;
		}
	}
	if (n < 1 || n > MAX_VCPUS) {
		fprintf(stderr, "kvm_workload_arm64: 1..%d vCPUs\n", MAX_VCPUS);
		return 2;
	}
	/* No SA_RESTART: SIGUSR1 must end a KVM_RUN blocked in WFI. */
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (sched_getaffinity(0, sizeof(cpus), &cpus))
		die("sched_getaffinity");

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("/dev/kvm");
	vm_fd = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm_fd < 0)
		die("KVM_CREATE_VM");
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size <= 0)
		die("KVM_GET_VCPU_MMAP_SIZE");
	mem_host = mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem_host == MAP_FAILED)
		die("mmap");
	memcpy(mem_host, vs_guest_start, (size_t)(vs_guest_end - vs_guest_start));
	mem.userspace_addr = (uintptr_t)mem_host;
	if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &mem))
		die("KVM_SET_USER_MEMORY_REGION");
	if (ioctl(vm_fd, KVM_ARM_PREFERRED_TARGET, &init))
		die("KVM_ARM_PREFERRED_TARGET");
	init.features[0] |= 1U << KVM_ARM_VCPU_PSCI_0_2;

	for (i = 0; i < n; i++) {
		struct vcpu *v = &vcpus[i];

		v->id = i;
		v->fd = ioctl(vm_fd, KVM_CREATE_VCPU, i);
		if (v->fd < 0)
			die("KVM_CREATE_VCPU");
		if (ioctl(v->fd, KVM_ARM_VCPU_INIT, &init))
			die("KVM_ARM_VCPU_INIT");
		v->run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE,
			      MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED)
			die("mmap kvm_run");
		set_reg(v->fd, CORE_REG(regs.pc), GUEST_BASE);
		set_reg(v->fd, CORE_REG(regs.regs[0]), n_mmio);
		set_reg(v->fd, CORE_REG(regs.regs[1]), n_hvc);
		set_reg(v->fd, CORE_REG(regs.regs[2]), n_wfi);
		set_reg(v->fd, CORE_REG(regs.regs[3]), n_sys);
		v->mmio = MMIO_ADDR + 0x1000UL * i;
		set_reg(v->fd, CORE_REG(regs.regs[4]), v->mmio);
		set_reg(v->fd, CORE_REG(regs.regs[5]), (uint64_t)loop_mode);
	}
	for (i = 0; i < n; i++)
		if (pthread_create(&vcpus[i].thread, NULL, vcpu_main, &vcpus[i]))
			die("pthread_create");
	for (i = 0; i < n; i++)
		pthread_join(vcpus[i].thread, NULL);
	printf("done\n");
	fflush(stdout);
	while (hold && !stop)
		pause();
	return 0;
}
