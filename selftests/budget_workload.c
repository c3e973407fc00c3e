// SPDX-License-Identifier: GPL-2.0
/*
 * budget_workload: vCPUs whose time goes where a test wants it, and the
 * independent measures to check vcpustat's time budget against.
 *
 *   budget_workload MODE [--vcpus N] [--seconds S] [--io N] [--user-us U]
 *                   [--cpus LIST] [--pin] [--hold-file P] [--json F]
 *
 * MODE (the guest: a few instructions, budget_arch_x86.c or
 * budget_arch_arm64.c):
 *   spin  jmp $ / b .: in the guest until the host stops it (a signal
 *         that sets immediate_exit) after S seconds; exits only for host
 *         interrupts.
 *   hlt   cli; hlt / wfi: halted in the kernel with nothing to wake it; a
 *         50 ms timer signal makes KVM_RUN return EINTR and the thread
 *         calls it again, for S seconds.
 *   io    out 0x10 (KVM_EXIT_IO) / a store to an unmapped IPA
 *         (KVM_EXIT_MMIO): N exits to userspace; the host spends U us of
 *         CPU on each before calling KVM_RUN again (the VMM's own work).
 * --cpus LIST  every vCPU thread may run on these CPUs (e.g. 0-1);
 *              with --pin, vCPU i runs only on the i-th of them.
 * --exec-at N:CMD  (io) vCPU 0 runs CMD (sh -c) after its N-th exit, so a
 *              test can change the module's configuration at a known
 *              point of the run (up to 4 of them).
 *
 * The JSON report has, per vCPU thread, what the kernel itself says of it
 * and what this program measured, each independent of vcpustat:
 *   tid, run_delay_ns and cpu_ns (its /proc/thread-self/schedstat run_delay
 *   and time on a CPU: their change from the second warm-up exit's
 *   return to its last return), utime/stime/guest_ticks (fields 14, 15,
 *   43 of /proc/thread-self/stat, clk_tck per second, same span), wall_ns
 *   (the same span by CLOCK_MONOTONIC), pre_ns (from just before the
 *   first KVM_RUN to the span's start: the module sees the vCPU from its
 *   first exit on, so its states may hold up to this much before the
 *   span), user_ns (time out of KVM_RUN in
 *   it), user_wait_ns (io: the run-queue wait inside those), runs (KVM_RUN calls, the warm-ups' included), eintr, and KVM's own per-vCPU
 *   halt_poll_success_ns, halt_poll_fail_ns, halt_wait_ns (binary stats
 *   fd, KVM_GET_STATS_FD).
 * With --hold-file, the VM stays (vCPU threads gone) until P exists, so a
 * test can read the module while nothing moves.
 * Exit: 0 done, 1 error, 4 no usable /dev/kvm (kselftest skip).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "budget_arch.h"

#define MAX_VCPUS	64

/*
 * Every mode starts with two warm-up exits to userspace: the measurement
 * starts at the second one's return. KVM's first KVM_RUN sets up a lot,
 * and the module sees a vCPU from its first exit on; from the first
 * return on, both account every interval, from a KVM_RUN return.
 */

struct vcpu {
	int id, fd, cpu;
	pthread_t thread;
	struct kvm_run *run;
	long tid;
	unsigned long long rd0, rd1, cpu0, cpu1;
	unsigned long long ticks0[3], ticks1[3];	/* utime, stime, guest */
	uint64_t wall_ns, pre_ns, user_ns, user_wait_ns, runs, eintr;
	uint64_t poll_ok_ns, poll_fail_ns, wait_ns;
	const char *err;
};

static enum mode mode;
static int nvcpus = 1, pin, ncpus, cpus[256];
static double seconds = 2;
static unsigned long io_exits = 1000, user_us = 200;
static int kvm_fd, vm_fd;
static size_t run_size;
static struct vcpu vcpus[MAX_VCPUS];
static volatile int stopping;
static __thread struct kvm_run *my_run;
static struct { unsigned long at; const char *cmd; } execs[4];
static int nexecs;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void bw_die(const char *what)
{
	fprintf(stderr, "budget_workload: %s: %s\n", what, strerror(errno));
	exit(1);
}

void bw_guest_ram(int vm_fd, uint64_t gpa, size_t size, const void *warm,
		  size_t warm_len, const void *code, size_t code_len)
{
	struct kvm_userspace_memory_region mem = {
		.guest_phys_addr = gpa,
		.memory_size = size,
	};
	void *ram = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (ram == MAP_FAILED)
		bw_die("mmap guest RAM");
	memcpy(ram, warm, warm_len);
	memcpy((char *)ram + warm_len, code, code_len);
	mem.userspace_addr = (uintptr_t)ram;
	if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &mem))
		bw_die("KVM_SET_USER_MEMORY_REGION");
}

/* The stop signal: make the KVM_RUN in flight (or the next) return. */
static void on_stop(int sig)
{
	(void)sig;
	if (my_run)
		my_run->immediate_exit = 1;
}

/* The hlt mode's timer: only interrupts KVM_RUN. */
static void on_tick(int sig)
{
	(void)sig;
}

/*
 * The thread's run-queue delay (/proc/thread-self/schedstat) and time on
 * a CPU, ns. The latter from CLOCK_THREAD_CPUTIME_ID, which brings it up
 * to date: schedstat's copy lags on a nohz_full CPU, which has no tick.
 */
static void schedstat(unsigned long long *cpu, unsigned long long *rd)
{
	unsigned long long c;
	struct timespec ts;
	FILE *f = fopen("/proc/thread-self/schedstat", "r");

	if (!f || fscanf(f, "%llu %llu", &c, rd) != 2)
		*rd = ~0ull;
	if (f)
		fclose(f);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	*cpu = (unsigned long long)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * Fields 14, 15 and 43 of /proc/thread-self/stat: utime, stime and
 * guest_time, in clock ticks (utime includes guest_time).
 */
static void stat_ticks(unsigned long long t[3])
{
	static const int want[3] = { 14, 15, 43 };
	char buf[2048], *p;
	FILE *f = fopen("/proc/thread-self/stat", "r");
	size_t n;
	int field, k = 0;

	t[0] = t[1] = t[2] = ~0ull;
	if (!f)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');		/* comm may hold spaces */
	/* After ") " comes field 3. */
	for (field = 2; p && k < 3; field++) {
		p = strchr(p + 1, ' ');
		if (p && field + 1 == want[k])
			t[k++] = strtoull(p + 1, NULL, 10);
	}
}

/* KVM's own halt counters of a vCPU, from its binary stats fd. */
static void halt_stats(struct vcpu *v)
{
	struct kvm_stats_header h;
	char *descs;
	size_t dsz;
	uint32_t i;
	int fd = ioctl(v->fd, KVM_GET_STATS_FD, NULL);

	if (fd < 0 || pread(fd, &h, sizeof(h), 0) != sizeof(h)) {
		v->err = "KVM_GET_STATS_FD";
		return;
	}
	dsz = sizeof(struct kvm_stats_desc) + h.name_size;
	descs = calloc(h.num_desc, dsz);
	if (!descs || pread(fd, descs, dsz * h.num_desc, h.desc_offset) !=
	    (ssize_t)(dsz * h.num_desc)) {
		v->err = "stats descriptors";
		free(descs);
		close(fd);
		return;
	}
	for (i = 0; i < h.num_desc; i++) {
		struct kvm_stats_desc *d = (void *)(descs + i * dsz);
		uint64_t *dst = NULL, val;

		if (!strcmp(d->name, "halt_poll_success_ns"))
			dst = &v->poll_ok_ns;
		else if (!strcmp(d->name, "halt_poll_fail_ns"))
			dst = &v->poll_fail_ns;
		else if (!strcmp(d->name, "halt_wait_ns"))
			dst = &v->wait_ns;
		if (dst && pread(fd, &val, sizeof(val), h.data_offset +
				 d->offset) == sizeof(val))
			*dst = val;
	}
	free(descs);
	close(fd);
}

static void spend_user(uint64_t us)
{
	uint64_t end = now_ns() + us * 1000;

	while (now_ns() < end)
		;
}

/*
 * The measured span's two ends are taken one thread at a time (@turn) and
 * while no vCPU spins (@bar): there a thread waits for no CPU, so the
 * run-queue delay read here and the module's interval boundary (a
 * KVM_RUN return) see the same waits.
 */
static pthread_mutex_t turn = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t bar;

static void begin(struct vcpu *v, uint64_t *t_start)
{
	uint64_t t_pre;

	pthread_mutex_lock(&turn);
	t_pre = now_ns();
	/* The warm-up exits; everything is measured from the second's return. */
	for (int i = 0; i < 2; i++)
		if (ioctl(v->fd, KVM_RUN, NULL) ||
		    bw_arch_exit(v->run) != BW_EXIT_WARM)
			v->err = "warm-up exit";
	*t_start = now_ns();
	v->pre_ns = *t_start - t_pre;
	v->runs = 2;
	schedstat(&v->cpu0, &v->rd0);
	stat_ticks(v->ticks0);
	pthread_mutex_unlock(&turn);
}

/*
 * One more KVM_RUN, which returns at once (immediate_exit): it ends the
 * interval the module has open, so what happened in it (the wait to run
 * again after the stop) is in the module's states and in rd1 alike.
 */
static void end(struct vcpu *v, uint64_t t_start, uint64_t t_ret)
{
	pthread_mutex_lock(&turn);
	v->user_ns += now_ns() - t_ret;
	v->run->immediate_exit = 1;
	if (ioctl(v->fd, KVM_RUN, NULL) == 0 || errno != EINTR)
		v->err = "immediate_exit KVM_RUN did not return EINTR";
	t_ret = now_ns();
	v->runs++;
	v->eintr++;
	v->wall_ns = t_ret - t_start;
	schedstat(&v->cpu1, &v->rd1);
	stat_ticks(v->ticks1);
	pthread_mutex_unlock(&turn);
}

static void *vcpu_main(void *arg)
{
	struct vcpu *v = arg;
	uint64_t t_start, t_ret, t;
	unsigned long long rd_ret;
	unsigned long done = 0;
	bool have_timer = false;
	timer_t timer;

	v->tid = syscall(SYS_gettid);
	my_run = v->run;
	begin(v, &t_start);
	t_ret = t_start;
	rd_ret = v->rd0;
	if (mode == HLT && !v->err) {
		struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID,
					.sigev_signo = SIGALRM };
		struct itimerspec its = { { 0, 50000000 }, { 0, 50000000 } };

		sev._sigev_un._tid = v->tid;
		have_timer = !timer_create(CLOCK_MONOTONIC, &sev, &timer);
		if (!have_timer || timer_settime(timer, 0, &its, NULL))
			v->err = "timer";
	}
	pthread_barrier_wait(&bar);
	while (!v->err && !stopping) {
		unsigned long long c0, rd_before;
		int r;

		/* The run-queue wait inside the VMM's work (io): not its own. */
		if (mode == IO) {
			schedstat(&c0, &rd_before);
			v->user_wait_ns += rd_before - rd_ret;
		}
		t = now_ns();
		v->user_ns += t - t_ret;
		r = ioctl(v->fd, KVM_RUN, NULL);
		t_ret = now_ns();
		if (mode == IO)
			schedstat(&c0, &rd_ret);
		v->runs++;
		if (r < 0 && errno == EINTR) {
			v->eintr++;
			continue;
		}
		if (r < 0) {
			v->err = "KVM_RUN";
			break;
		}
		if (mode != IO || bw_arch_exit(v->run) != BW_EXIT_IO) {
			v->err = "unexpected exit";
			break;
		}
		if (++done == io_exits)
			break;
		for (int k = 0; k < nexecs && v->id == 0; k++)
			if (execs[k].at == done && system(execs[k].cmd))
				v->err = "--exec-at command failed";
		spend_user(user_us);
	}
	if (have_timer)
		timer_delete(timer);
	pthread_barrier_wait(&bar);
	end(v, t_start, t_ret);
	halt_stats(v);
	return NULL;
}

static void parse_cpus(const char *s)
{
	char *end;

	while (*s) {
		long a = strtol(s, &end, 10), b = a;

		if (end == s || a < 0)
			goto bad;
		if (*end == '-') {
			s = end + 1;
			b = strtol(s, &end, 10);
			if (end == s || b < a)
				goto bad;
		}
		for (; a <= b && ncpus < 256; a++)
			cpus[ncpus++] = (int)a;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			goto bad;
	}
	return;
bad:
	fprintf(stderr, "budget_workload: bad CPU list '%s'\n", s);
	exit(1);
}

static void setup_vcpu(struct vcpu *v)
{
	v->fd = ioctl(vm_fd, KVM_CREATE_VCPU, v->id);
	if (v->fd < 0)
		bw_die("KVM_CREATE_VCPU");
	v->run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->fd, 0);
	if (v->run == MAP_FAILED)
		bw_die("mmap kvm_run");
	bw_arch_vcpu(vm_fd, v->fd);
}

static void report(FILE *f)
{
	int i;

	fprintf(f, "{\"mode\":\"%s\",\"vcpus\":[",
		mode == SPIN ? "spin" : mode == HLT ? "hlt" : "io");
	for (i = 0; i < nvcpus; i++) {
		struct vcpu *v = &vcpus[i];

		fprintf(f, "%s{\"id\":%d,\"tid\":%ld,\"cpu\":%d,"
			"\"run_delay_ns\":%llu,\"cpu_ns\":%llu,"
			"\"utime_ticks\":%llu,\"stime_ticks\":%llu,"
			"\"guest_ticks\":%llu,"
			"\"clk_tck\":%ld,\"wall_ns\":%llu,\"pre_ns\":%llu,"
			"\"user_ns\":%llu,"
			"\"user_wait_ns\":%llu,"
			"\"runs\":%llu,\"eintr\":%llu,"
			"\"halt_poll_success_ns\":%llu,\"halt_poll_fail_ns\":%llu,"
			"\"halt_wait_ns\":%llu}",
			i ? "," : "", v->id, v->tid, v->cpu, v->rd1 - v->rd0,
			v->cpu1 - v->cpu0, v->ticks1[0] - v->ticks0[0],
			v->ticks1[1] - v->ticks0[1], v->ticks1[2] - v->ticks0[2],
			sysconf(_SC_CLK_TCK),
			(unsigned long long)v->wall_ns,
			(unsigned long long)v->pre_ns,
			(unsigned long long)v->user_ns,
			(unsigned long long)v->user_wait_ns,
			(unsigned long long)v->runs,
			(unsigned long long)v->eintr,
			(unsigned long long)v->poll_ok_ns,
			(unsigned long long)v->poll_fail_ns,
			(unsigned long long)v->wait_ns);
	}
	fprintf(f, "]}\n");
	fflush(f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vcpus", 1, NULL, 'n' }, { "seconds", 1, NULL, 's' },
		{ "io", 1, NULL, 'i' }, { "user-us", 1, NULL, 'u' },
		{ "cpus", 1, NULL, 'c' }, { "pin", 0, NULL, 'p' },
		{ "hold-file", 1, NULL, 'h' }, { "json", 1, NULL, 'j' },
		{ "exec-at", 1, NULL, 'x' },
		{ NULL, 0, NULL, 0 }
	};
	const char *hold = NULL, *json = NULL;
	struct sigaction sa = { .sa_handler = on_stop };
	FILE *out = stdout;
	int c, i;

	if (argc < 2)
		goto usage;
	if (!strcmp(argv[1], "spin"))
		mode = SPIN;
	else if (!strcmp(argv[1], "hlt"))
		mode = HLT;
	else if (!strcmp(argv[1], "io"))
		mode = IO;
	else
		goto usage;
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': nvcpus = atoi(optarg); break;
		case 's': seconds = atof(optarg); break;
		case 'i': io_exits = strtoul(optarg, NULL, 10); break;
		case 'u': user_us = strtoul(optarg, NULL, 10); break;
		case 'c': parse_cpus(optarg); break;
		case 'p': pin = 1; break;
		case 'h': hold = optarg; break;
		case 'j': json = optarg; break;
		case 'x':
			if (nexecs == 4 || !strchr(optarg, ':'))
				goto usage;
			execs[nexecs].at = strtoul(optarg, NULL, 10);
			execs[nexecs++].cmd = strchr(optarg, ':') + 1;
			break;
		default: goto usage;
		}
	}
	if (nvcpus < 1 || nvcpus > MAX_VCPUS || seconds <= 0 || !io_exits ||
	    (pin && ncpus < nvcpus))
		goto usage;

	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		fprintf(stderr, "SKIP: /dev/kvm: %s\n", strerror(errno));
		return 4;
	}
	vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm_fd < 0) {
		fprintf(stderr, "SKIP: KVM_CREATE_VM: %s\n", strerror(errno));
		return 4;
	}
	bw_arch_vm(kvm_fd, vm_fd, mode);
	run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);

	pthread_barrier_init(&bar, NULL, nvcpus);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_tick;
	sigaction(SIGALRM, &sa, NULL);
	for (i = 0; i < nvcpus; i++) {
		struct vcpu *v = &vcpus[i];
		pthread_attr_t attr;
		cpu_set_t set;
		int k;

		v->id = i;
		v->cpu = pin ? cpus[i] : -1;
		setup_vcpu(v);
		pthread_attr_init(&attr);
		if (ncpus) {
			CPU_ZERO(&set);
			for (k = 0; k < ncpus; k++)
				if (!pin || k == i)
					CPU_SET(cpus[k], &set);
			pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
		}
		if (pthread_create(&v->thread, &attr, vcpu_main, v))
			bw_die("pthread_create");
	}
	if (mode != IO) {
		struct timespec ts = { (time_t)seconds,
				       (long)((seconds - (time_t)seconds) * 1e9) };

		nanosleep(&ts, NULL);
		stopping = 1;
		for (i = 0; i < nvcpus; i++)
			pthread_kill(vcpus[i].thread, SIGUSR1);
	}
	for (i = 0; i < nvcpus; i++)
		pthread_join(vcpus[i].thread, NULL);
	if (json && !(out = fopen(json, "w")))
		bw_die(json);
	report(out);
	if (out != stdout)
		fclose(out);
	for (i = 0; i < nvcpus; i++)
		if (vcpus[i].err) {
			fprintf(stderr, "budget_workload: vcpu %d: %s\n", i,
				vcpus[i].err);
			return 1;
		}
	while (hold && access(hold, F_OK))
		usleep(100000);
	return 0;
usage:
	fprintf(stderr, "usage: budget_workload spin|hlt|io [--vcpus N] [--seconds S] [--io N] [--user-us U] [--cpus LIST [--pin]] [--exec-at N:CMD] [--hold-file P] [--json F]\n");
	return 1;
}
