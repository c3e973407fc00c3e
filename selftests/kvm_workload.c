// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_workload: drive /dev/kvm directly and produce an exactly known number
 * of VM-exits of chosen kinds per vCPU. Ground truth for vcpustat's
 * exact-count tests. See kvm_workload.md for the CLI, the JSON report and
 * which exit counts are exact.
 *
 * Each vCPU runs the real-mode program of workload_guest.S. The host plans a
 * list of "chunks" (kind, count); for each chunk it fills the vCPU's mailbox
 * in guest RAM and calls KVM_RUN until the guest reports "chunk done" with an
 * OUT to CTRL_PORT. Every exit that reaches userspace is checked against the
 * chunk being run. Forced pCPU moves happen only between two KVM_RUNs, at a
 * control exit, and a vCPU thread is always pinned to exactly one pCPU. All
 * ioctls on a vCPU fd (create, register setup, run) are made by its own
 * thread, after it is pinned to its start pCPU.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "workload_guest.h"

#define KSFT_PASS	0
#define KSFT_FAIL	1
#define KSFT_SKIP	4

#define NKINDS		10	/* KIND_IO .. KIND_MMIOX, array index = kind - 1 */
#define MAX_OPS		64	/* --op */
#define MOVES_LIST_MAX	4096	/* moves listed in the report per vCPU */
#define DEFAULT_CHUNK	1000
#define MAX_CHUNK	0xffffffffULL	/* guest counter is 32-bit */
#define MAX_THREADS	4096
#define TSS_ADDR	0xfffbd000UL
#define DEFAULT_MSR	0x8b	/* IA32_UCODE_REV (AMD: PATCH_LEVEL) */
#define STACK_TOP(id)	(GUEST_STACK_GPA + ((id) + 1) * STACK_SIZE)
#define MBOX_GPA(id)	(GUEST_MBOX_GPA + (id) * MBOX_SIZE)
/*
 * An op's ARG2 bit (host side only; the guest ignores ARG2 for MMIOX):
 * "touch", byte stores that KVM handles in the kernel (an extra memslot
 * or a coalesced MMIO zone), so no userspace exit is expected.
 */
#define MMIOX_TOUCH	1
#define EXTRA_SLOT	1	/* --slot's KVM memslot id */

#if GUEST_MBOX_GPA + GUEST_MAX_VCPUS * MBOX_SIZE > GUEST_STACK_GPA
#error "mailboxes overlap stacks"
#endif
#if GUEST_STACK_GPA + GUEST_MAX_VCPUS * STACK_SIZE > GUEST_MEM_SIZE
#error "stacks exceed guest RAM"
#endif
#if GUEST_CODE_GPA + GUEST_CODE_MAX > GUEST_MBOX_GPA
#error "code overlaps mailboxes"
#endif
#if (MMIO_SEG << 4) != MMIO_GPA || MMIO_GPA < GUEST_MEM_SIZE
#error "MMIO address must be outside guest RAM"
#endif

extern const unsigned char workload_guest_start[];
extern const unsigned char workload_guest_end[];
extern const unsigned char workload_guest_exc_stubs[];

static const char *const kind_name[NKINDS] = {
	"io", "cpuid", "hlt", "rdmsr", "wrmsr", "mmio",
	"pio", "cpuidx", "hcall", "mmiox",
};

/*
 * --op: keyed work, each op one key (port/size/direction, MSR index,
 * CPUID leaf/subleaf, hypercall number, MMIO page), run after the plain
 * kinds, in the order given, by every vCPU.
 */
struct op {
	unsigned int kind;	/* KIND_PIO, _RDMSR, _WRMSR, _CPUIDX, _HCALL, _MMIOX */
	uint32_t arg1, arg2;	/* mailbox ARG1/ARG2; MSR index in arg1 */
	uint64_t count;
};

static struct op ops[MAX_OPS];
static unsigned int nops;

static const char *kind_str(unsigned int kind)
{
	if (kind == KIND_NOP)
		return "nop";
	if (kind >= 1 && kind <= NKINDS)
		return kind_name[kind - 1];
	return "?";
}

/* ------------------------------------------------------------------ */
/* Options */

struct opts {
	unsigned int vms;
	unsigned int vcpus;
	uint64_t req[NKINDS];
	uint64_t chunk;
	int *cpus;		/* hop list in the given order, no duplicates */
	unsigned int ncpus;
	bool cpus_given;
	unsigned int hops;
	bool hold;
	const char *hold_file;
	const char *ready_file;
	const char *json;
	double seconds;		/* 0: exactly one round */
	uint64_t slot_gpa, slot_size;	/* --slot; size 0: none */
	uint64_t coal_gpa, coal_size;	/* --coalesced; size 0: none */
	unsigned int churn;	/* 0: no churn, one iteration */
	uint32_t msr;
};

static struct opts o = {
	.vms = 1,
	.vcpus = 1,
	.chunk = DEFAULT_CHUNK,
	.msr = DEFAULT_MSR,
};

/* ------------------------------------------------------------------ */
/* Plan: the chunk list every vCPU runs once per round. */

struct chunk {
	unsigned int kind;	/* KIND_* */
	uint32_t msr;		/* RDMSR/WRMSR index */
	uint32_t arg1, arg2;	/* keyed kinds: mailbox ARG1/ARG2 */
	uint64_t count;
	bool move_before;	/* forced pCPU move before this chunk's KVM_RUN */
};

static struct chunk *plan;
static size_t nplan;

/* ------------------------------------------------------------------ */
/* VMs and vCPUs */

struct move {
	int from, to;
};

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned int id;	/* KVM vcpu id == index in its VM */
	unsigned int gidx;	/* vm index * vcpus + id */
	pthread_t thread;
	bool thread_started;
	pid_t tid;
	int fd;
	struct kvm_run *run;
	unsigned int pos;	/* index in o.cpus of the current pCPU */
	int start_cpu;
	int cur_cpu;
	uint32_t seq;
	/* results */
	uint64_t done[NKINDS];
	uint64_t rounds;
	uint64_t chunks;	/* == control exits */
	uint64_t kvm_runs;
	uint64_t eintr;
	uint64_t ue_io_data, ue_hlt, ue_mmio;
	struct move *moves;
	size_t nmoves;
	uint64_t moves_count;
	bool complete;		/* did all planned work (fixed mode) */
	bool failed;
	char err[512];
};

struct vm {
	unsigned int index;
	int fd;
	unsigned char *mem;
	unsigned char *slot_mem;	/* --slot's backing, or NULL */
	struct vcpu *vcpus;
};

/* Counters of one vCPU in churn iteration 0, to check later iterations. */
struct snap {
	uint64_t done[NKINDS];
	uint64_t chunks, kvm_runs, ue_io_data, ue_hlt, ue_mmio, moves_count;
	int start_cpu;
};

/* ------------------------------------------------------------------ */
/* Global state */

static int kvm_fd = -1;
static size_t run_size;
static const char *isa = "unknown";

enum { STOP_NONE, STOP_SIGNAL, STOP_ERROR };
static atomic_int g_stop;
static bool g_release_hold;	/* a SIGUSR1/SIGINT/SIGTERM arrived (main only) */
static int g_last_signal;
static struct timespec g_deadline;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv_done = PTHREAD_COND_INITIALIZER;
static pthread_cond_t g_cv_release = PTHREAD_COND_INITIALIZER;
static unsigned int g_ndone;
static bool g_release;

static sigset_t g_sigs;
static char g_err[1024];	/* first global (non-vCPU) error */

static void set_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_err(const char *fmt, ...)
{
	va_list ap;

	if (g_err[0])
		return;
	va_start(ap, fmt);
	vsnprintf(g_err, sizeof(g_err), fmt, ap);
	va_end(ap);
	fprintf(stderr, "kvm_workload: %s\n", g_err);
}

static void vcpu_err(struct vcpu *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void vcpu_err(struct vcpu *v, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (v->failed)
		return;
	v->failed = true;
	n = snprintf(v->err, sizeof(v->err), "vm %u vcpu %u: ",
		     v->vm->index, v->id);
	va_start(ap, fmt);
	vsnprintf(v->err + n, sizeof(v->err) - n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "kvm_workload: %s\n", v->err);
	atomic_store(&g_stop, STOP_ERROR);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool past_deadline(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec > g_deadline.tv_sec ||
	       (ts.tv_sec == g_deadline.tv_sec &&
		ts.tv_nsec >= g_deadline.tv_nsec);
}

/* ------------------------------------------------------------------ */
/* Argument parsing */

static void usage(FILE *f)
{
	fprintf(f,
"usage: kvm_workload [options]\n"
"  --vms N          VMs alive at the same time (default 1)\n"
"  --vcpus N        vCPUs per VM, one thread each (default 1, max %d)\n"
"  --io N           OUTs to the data port per vCPU       (KVM_EXIT_IO)\n"
"  --cpuid N        CPUIDs per vCPU                      (in kernel)\n"
"  --hlt N          HLTs per vCPU                        (KVM_EXIT_HLT)\n"
"  --rdmsr N        RDMSRs per vCPU                      (in kernel)\n"
"  --wrmsr N        WRMSRs per vCPU                      (in kernel)\n"
"  --mmio N         stores to unmapped GPA 0x%x per vCPU (KVM_EXIT_MMIO)\n"
"  --chunk N        max operations per KVM_RUN chunk (default %d)\n"
"  --hop CPULIST    pCPUs the vCPU threads are pinned to / move between,\n"
"                   e.g. 0,2-3 (default: all CPUs the process may use)\n"
"  --hops H         forced pCPU moves per vCPU (per round with --seconds)\n"
"  --msr INDEX      MSR for --rdmsr/--wrmsr (default 0x%x; WRMSR writes 0)\n"
"  --op SPEC        keyed exits, after the above, repeatable (max %d):\n"
"                   pio:PORT:SIZE:in|out:N  rdmsr:INDEX:N  wrmsr:INDEX:N\n"
"                   cpuid:LEAF:SUBLEAF:N  hcall:NR:N (VMCALL/VMMCALL by\n"
"                   vendor)  mmio:GPA:N (byte stores, GPA outside RAM,\n"
"                   below 1 MiB, 16-byte aligned)  touch:GPA:N (the\n"
"                   same, handled in the kernel: in --slot or --coalesced)\n"
"  --slot GPA:SIZE  an extra memslot (id %d) of SIZE bytes at GPA (pages,\n"
"                   outside RAM, below 1 MiB), first touched by the guest\n"
"  --coalesced GPA:SIZE  a coalesced MMIO zone (KVM's MMIO bus)\n"
"  --seconds S      repeat the per-vCPU work in rounds for S seconds\n"
"  --churn N        create, run and destroy N times the VM set, serially\n"
"  --hold           after the work, keep VMs alive until SIGUSR1, SIGTERM,\n"
"                   SIGINT or --hold-file exists\n"
"  --hold-file P    end --hold when file P exists\n"
"  --ready-file P   create P after the report is written (and, with --hold,\n"
"                   the VMs are holding)\n"
"  --json FILE      write the JSON report to FILE (default stdout)\n"
"  --help           this text\n"
"Exit: 0 ok, 1 error, 4 /dev/kvm missing or unusable (kselftest skip).\n",
		GUEST_MAX_VCPUS, MMIO_GPA, DEFAULT_CHUNK, DEFAULT_MSR, MAX_OPS,
		EXTRA_SLOT);
}

static int parse_u64_range(const char *name, const char *s, uint64_t min,
			   uint64_t max, uint64_t *out);

static int parse_u64(const char *name, const char *s, uint64_t max,
		     uint64_t *out)
{
	return parse_u64_range(name, s, 0, max, out);
}

static int parse_u64_range(const char *name, const char *s, uint64_t min,
			   uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		goto bad;
	v = strtoull(s, &end, 0);
	if (errno || *end || v < min || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	fprintf(stderr, "kvm_workload: --%s: bad value '%s' (%" PRIu64 "..%" PRIu64 ")\n",
		name, s, min, max);
	return -1;
}

static int parse_uint(const char *name, const char *s, unsigned int min,
		      unsigned int max, unsigned int *out)
{
	uint64_t v;

	if (parse_u64_range(name, s, min, max, &v))
		return -1;
	*out = (unsigned int)v;
	return 0;
}

static int add_cpu(int cpu)
{
	unsigned int i;
	int *n;

	for (i = 0; i < o.ncpus; i++) {
		if (o.cpus[i] == cpu) {
			fprintf(stderr,
				"kvm_workload: --hop: CPU %d listed twice\n",
				cpu);
			return -1;
		}
	}
	n = realloc(o.cpus, (o.ncpus + 1) * sizeof(*n));
	if (!n) {
		perror("kvm_workload: realloc");
		return -1;
	}
	o.cpus = n;
	o.cpus[o.ncpus++] = cpu;
	return 0;
}

/* "0,2-3": CPU numbers and inclusive ranges, in the order given. */
static int parse_cpulist(const char *s)
{
	const char *p = s;

	if (!*s)
		goto bad;
	for (;;) {
		char *end;
		long a, b;

		if (*p < '0' || *p > '9')
			goto bad;
		errno = 0;
		a = strtol(p, &end, 10);
		if (errno || a >= CPU_SETSIZE)
			goto bad;
		b = a;
		p = end;
		if (*p == '-') {
			p++;
			if (*p < '0' || *p > '9')
				goto bad;
			b = strtol(p, &end, 10);
			if (errno || b >= CPU_SETSIZE || b < a)
				goto bad;
			p = end;
		}
		for (long c = a; c <= b; c++)
			if (add_cpu((int)c))
				return -1;
		if (!*p)
			break;
		if (*p != ',')
			goto bad;
		p++;
	}
	o.cpus_given = true;
	return 0;
bad:
	fprintf(stderr, "kvm_workload: --hop: bad CPU list '%s' (e.g. 0,2-3)\n",
		s);
	return -1;
}

enum {
	OPT_VMS = 256, OPT_VCPUS, OPT_IO, OPT_CPUID, OPT_HLT, OPT_RDMSR,
	OPT_WRMSR, OPT_MMIO, OPT_CHUNK, OPT_HOP, OPT_HOPS, OPT_HOLD,
	OPT_HOLD_FILE, OPT_READY_FILE, OPT_SECONDS, OPT_CHURN, OPT_JSON,
	OPT_MSR, OPT_OP, OPT_SLOT, OPT_COALESCED, OPT_HELP,
};

static const struct option longopts[] = {
	{ "vms", required_argument, NULL, OPT_VMS },
	{ "vcpus", required_argument, NULL, OPT_VCPUS },
	{ "io", required_argument, NULL, OPT_IO },
	{ "cpuid", required_argument, NULL, OPT_CPUID },
	{ "hlt", required_argument, NULL, OPT_HLT },
	{ "rdmsr", required_argument, NULL, OPT_RDMSR },
	{ "wrmsr", required_argument, NULL, OPT_WRMSR },
	{ "mmio", required_argument, NULL, OPT_MMIO },
	{ "chunk", required_argument, NULL, OPT_CHUNK },
	{ "hop", required_argument, NULL, OPT_HOP },
	{ "hops", required_argument, NULL, OPT_HOPS },
	{ "hold", no_argument, NULL, OPT_HOLD },
	{ "hold-file", required_argument, NULL, OPT_HOLD_FILE },
	{ "ready-file", required_argument, NULL, OPT_READY_FILE },
	{ "seconds", required_argument, NULL, OPT_SECONDS },
	{ "churn", required_argument, NULL, OPT_CHURN },
	{ "json", required_argument, NULL, OPT_JSON },
	{ "msr", required_argument, NULL, OPT_MSR },
	{ "op", required_argument, NULL, OPT_OP },
	{ "slot", required_argument, NULL, OPT_SLOT },
	{ "coalesced", required_argument, NULL, OPT_COALESCED },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* Split @s at ':' into at most @max fields; returns the number found. */
static int split_colons(char *s, char **f, int max)
{
	int n = 0;

	while (n < max) {
		f[n++] = s;
		s = strchr(s, ':');
		if (!s)
			break;
		*s++ = '\0';
	}
	return s ? -1 : n;
}

static int parse_op(const char *spec)
{
	char buf[128], *f[5];
	struct op *op = &ops[nops];
	uint64_t a = 0, b = 0;
	int n;

	if (nops >= MAX_OPS || strlen(spec) >= sizeof(buf))
		goto bad;
	strcpy(buf, spec);
	n = split_colons(buf, f, 5);
	if (n < 3)
		goto bad;
	if (!strcmp(f[0], "pio") && n == 5) {
		bool in = !strcmp(f[3], "in");

		if (parse_u64("op pio port", f[1], 0xffff, &a) ||
		    parse_u64_range("op pio size", f[2], 1, 4, &b) || b == 3 ||
		    (!in && strcmp(f[3], "out")))
			goto bad;
		if (a >= DATA_PORT && a <= EXC_PORT)
			goto bad;	/* the driver's own ports */
		*op = (struct op){ .kind = KIND_PIO, .arg1 = (uint32_t)a,
				   .arg2 = (uint32_t)b | (in ? PIO_IN : 0) };
	} else if ((!strcmp(f[0], "rdmsr") || !strcmp(f[0], "wrmsr")) &&
		   n == 3) {
		if (parse_u64("op msr index", f[1], 0xffffffffULL, &a))
			goto bad;
		*op = (struct op){ .kind = f[0][0] == 'r' ? KIND_RDMSR :
				   KIND_WRMSR, .arg1 = (uint32_t)a };
	} else if (!strcmp(f[0], "cpuid") && n == 4) {
		if (parse_u64("op cpuid leaf", f[1], 0xffffffffULL, &a) ||
		    parse_u64("op cpuid subleaf", f[2], 0xffffffffULL, &b))
			goto bad;
		*op = (struct op){ .kind = KIND_CPUIDX, .arg1 = (uint32_t)a,
				   .arg2 = (uint32_t)b };
	} else if (!strcmp(f[0], "hcall") && n == 3) {
		if (parse_u64("op hcall nr", f[1], 0xffffffffULL, &a))
			goto bad;
		*op = (struct op){ .kind = KIND_HCALL, .arg1 = (uint32_t)a };
	} else if (!strcmp(f[0], "mmio") && n == 3) {
		if (parse_u64("op mmio gpa", f[1], 0xfffff, &a) ||
		    a < GUEST_MEM_SIZE || (a & 15))
			goto bad;
		*op = (struct op){ .kind = KIND_MMIOX,
				   .arg1 = (uint32_t)(a >> 4) };
	} else if (!strcmp(f[0], "touch") && n == 3) {
		if (parse_u64("op touch gpa", f[1], 0xfffff, &a) ||
		    a < GUEST_MEM_SIZE || (a & 15))
			goto bad;
		*op = (struct op){ .kind = KIND_MMIOX,
				   .arg1 = (uint32_t)(a >> 4),
				   .arg2 = MMIOX_TOUCH };
	} else {
		goto bad;
	}
	if (parse_u64("op count", f[n - 1], (uint64_t)1 << 48, &op->count))
		goto bad;
	nops++;
	return 0;
bad:
	fprintf(stderr, "kvm_workload: --op: bad spec '%s' (see --help)\n",
		spec);
	return -1;
}

/*
 * --slot GPA:SIZE (pages) or --coalesced GPA:SIZE: outside RAM, below
 * 1 MiB (a real-mode guest reaches it), clear of the --mmio page.
 */
static int parse_region(bool slot, const char *spec)
{
	uint64_t a, b, align = slot ? 0xfff : 0;
	char buf[64], *f[2];

	if (strlen(spec) >= sizeof(buf))
		goto bad;
	strcpy(buf, spec);
	if (split_colons(buf, f, 2) != 2 ||
	    parse_u64("region gpa", f[0], 0xfffff, &a) ||
	    parse_u64_range("region size", f[1], 1, 0x100000, &b) ||
	    (a & align) || (b & align) || a < GUEST_MEM_SIZE ||
	    a + b > 0x100000 || (a < MMIO_GPA + 0x1000 && a + b > MMIO_GPA))
		goto bad;
	if (slot) {
		o.slot_gpa = a;
		o.slot_size = b;
	} else {
		o.coal_gpa = a;
		o.coal_size = b;
	}
	return 0;
bad:
	fprintf(stderr, "kvm_workload: --%s: bad region '%s' (see --help)\n",
		slot ? "slot" : "coalesced", spec);
	return -1;
}

/* Returns 0 ok, 1 error, 2 --help shown. */
static int parse_args(int argc, char **argv)
{
	uint64_t v;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_VMS:
			if (parse_uint("vms", optarg, 1, MAX_THREADS, &o.vms))
				return 1;
			break;
		case OPT_VCPUS:
			if (parse_uint("vcpus", optarg, 1, GUEST_MAX_VCPUS,
				       &o.vcpus))
				return 1;
			break;
		case OPT_IO: case OPT_CPUID: case OPT_HLT:
		case OPT_RDMSR: case OPT_WRMSR: case OPT_MMIO:
			if (parse_u64(kind_name[c - OPT_IO], optarg,
				      (uint64_t)1 << 48, &o.req[c - OPT_IO]))
				return 1;
			break;
		case OPT_CHUNK:
			if (parse_u64_range("chunk", optarg, 1, MAX_CHUNK,
					    &o.chunk))
				return 1;
			break;
		case OPT_HOP:
			if (o.cpus_given) {
				fprintf(stderr,
					"kvm_workload: --hop given twice\n");
				return 1;
			}
			if (parse_cpulist(optarg))
				return 1;
			break;
		case OPT_HOPS:
			if (parse_uint("hops", optarg, 0, 1000000, &o.hops))
				return 1;
			break;
		case OPT_HOLD:
			o.hold = true;
			break;
		case OPT_HOLD_FILE:
			o.hold_file = optarg;
			break;
		case OPT_READY_FILE:
			o.ready_file = optarg;
			break;
		case OPT_SECONDS: {
			char *end;

			errno = 0;
			o.seconds = strtod(optarg, &end);
			if (errno || *end || !*optarg || !isfinite(o.seconds) ||
			    o.seconds <= 0 || o.seconds > 86400 * 365) {
				fprintf(stderr,
					"kvm_workload: --seconds: bad value '%s'\n",
					optarg);
				return 1;
			}
			break;
		}
		case OPT_CHURN:
			if (parse_uint("churn", optarg, 1, UINT_MAX, &o.churn))
				return 1;
			break;
		case OPT_JSON:
			o.json = optarg;
			break;
		case OPT_MSR:
			if (parse_u64("msr", optarg, 0xffffffffULL, &v))
				return 1;
			o.msr = (uint32_t)v;
			break;
		case OPT_SLOT:
		case OPT_COALESCED:
			if (parse_region(c == OPT_SLOT, optarg))
				return 1;
			break;
		case OPT_OP:
			if (parse_op(optarg))
				return 1;
			break;
		case OPT_HELP:
			usage(stdout);
			return 2;
		default:
			fprintf(stderr, "kvm_workload: bad option or missing value: '%s' (see --help)\n",
				argv[optind - 1]);
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kvm_workload: unexpected argument '%s'\n",
			argv[optind]);
		return 1;
	}
	if (o.hold_file && !o.hold) {
		fprintf(stderr, "kvm_workload: --hold-file needs --hold\n");
		return 1;
	}
	if (o.churn && o.seconds > 0) {
		fprintf(stderr,
			"kvm_workload: --churn and --seconds exclude each other\n");
		return 1;
	}
	if ((uint64_t)o.vms * o.vcpus > MAX_THREADS) {
		fprintf(stderr, "kvm_workload: --vms x --vcpus > %d\n",
			MAX_THREADS);
		return 1;
	}
	return 0;
}

/* Check the hop list against the process's affinity, or default to it. */
static int setup_cpus(void)
{
	cpu_set_t allowed;
	unsigned int i;

	CPU_ZERO(&allowed);
	if (sched_getaffinity(0, sizeof(allowed), &allowed)) {
		set_err("sched_getaffinity: %s", strerror(errno));
		return -1;
	}
	if (o.cpus_given) {
		for (i = 0; i < o.ncpus; i++) {
			if (!CPU_ISSET(o.cpus[i], &allowed)) {
				set_err("--hop: CPU %d is not in this process's affinity mask (offline or excluded)",
					o.cpus[i]);
				return -1;
			}
		}
	} else {
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &allowed) && add_cpu(c))
				return -1;
	}
	if (!o.ncpus) {
		set_err("no usable CPU");
		return -1;
	}
	if (o.hops && o.ncpus < 2) {
		set_err("--hops %u needs at least 2 CPUs in the hop list (have %u)",
			o.hops, o.ncpus);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Plan */

static int plan_push(size_t at, unsigned int kind, uint64_t count)
{
	struct chunk *n = realloc(plan, (nplan + 1) * sizeof(*plan));

	if (!n) {
		set_err("out of memory");
		return -1;
	}
	plan = n;
	memmove(&plan[at + 1], &plan[at], (nplan - at) * sizeof(*plan));
	plan[at] = (struct chunk){ .kind = kind, .count = count };
	nplan++;
	return 0;
}

/*
 * Split every kind's count into chunks of at most o.chunk operations, in the
 * order io, cpuid, hlt, rdmsr, wrmsr, mmio. There must be at least hops + 1
 * chunks so that every move has its own chunk boundary: split the largest
 * chunks further, or pad with empty (nop) chunks when the work is too small.
 * Then place the moves at evenly spread boundaries.
 */
static int build_plan(void)
{
	for (unsigned int k = 0; k < NKINDS; k++) {
		uint64_t n = o.req[k];

		while (n) {
			uint64_t c = n < o.chunk ? n : o.chunk;

			if (plan_push(nplan, k + 1, c))
				return -1;
			plan[nplan - 1].msr = o.msr;
			n -= c;
		}
	}
	for (unsigned int i = 0; i < nops; i++) {
		uint64_t n = ops[i].count;

		while (n) {
			uint64_t c = n < o.chunk ? n : o.chunk;
			struct chunk *ch;

			if (plan_push(nplan, ops[i].kind, c))
				return -1;
			ch = &plan[nplan - 1];
			if (ops[i].kind == KIND_RDMSR || ops[i].kind == KIND_WRMSR)
				ch->msr = ops[i].arg1;
			else
				ch->arg1 = ops[i].arg1;
			ch->arg2 = ops[i].arg2;
			/* The vendor's hypercall instruction (the other #UDs). */
			if (ops[i].kind == KIND_HCALL)
				ch->arg2 = !strcmp(isa, "svm");
			n -= c;
		}
	}
	if (!nplan && plan_push(0, KIND_NOP, 0))
		return -1;
	while (nplan < (size_t)o.hops + 1) {
		size_t best = 0;

		for (size_t i = 1; i < nplan; i++)
			if (plan[i].count > plan[best].count)
				best = i;
		if (plan[best].count >= 2) {
			uint64_t half = plan[best].count / 2;

			plan[best].count -= half;
			if (plan_push(best + 1, plan[best].kind, half))
				return -1;
			plan[best + 1].msr = plan[best].msr;
			plan[best + 1].arg1 = plan[best].arg1;
			plan[best + 1].arg2 = plan[best].arg2;
		} else if (plan_push(nplan, KIND_NOP, 0)) {
			return -1;
		}
	}
	for (uint64_t k = 0; k < o.hops; k++) {
		size_t g = (size_t)(((k + 1) * nplan) / ((uint64_t)o.hops + 1));

		/* 1 <= g < nplan and strictly increasing since nplan > hops */
		plan[g].move_before = true;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* KVM */

static void detect_isa(void)
{
	struct stat st;

	if (!stat("/sys/module/kvm_amd", &st))
		isa = "svm";
	else if (!stat("/sys/module/kvm_intel", &st))
		isa = "vmx";
}

/* Returns KSFT_PASS, or KSFT_SKIP / KSFT_FAIL with the message printed. */
static int open_kvm(void)
{
	int r;

	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		fprintf(stderr, "kvm_workload: SKIP: cannot open /dev/kvm: %s\n",
			strerror(errno));
		return KSFT_SKIP;
	}
	r = ioctl(kvm_fd, KVM_GET_API_VERSION, 0);
	if (r != KVM_API_VERSION) {
		fprintf(stderr, "kvm_workload: SKIP: KVM API version %d, want %d\n",
			r, KVM_API_VERSION);
		return KSFT_SKIP;
	}
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) <= 0) {
		fprintf(stderr, "kvm_workload: SKIP: no KVM_CAP_USER_MEMORY\n");
		return KSFT_SKIP;
	}
	r = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r < (int)sizeof(struct kvm_run)) {
		fprintf(stderr, "kvm_workload: SKIP: KVM_GET_VCPU_MMAP_SIZE: %d (%s)\n",
			r, r < 0 ? strerror(errno) : "too small");
		return KSFT_SKIP;
	}
	run_size = (size_t)r;
	r = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (r > 0 && o.vcpus > (unsigned int)r) {
		fprintf(stderr, "kvm_workload: --vcpus %u > KVM_CAP_MAX_VCPUS %d\n",
			o.vcpus, r);
		return KSFT_FAIL;
	}
	detect_isa();
	return KSFT_PASS;
}

static void write_u16(unsigned char *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void write_u32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

/*
 * Returns 0, -1 on error, or KSFT_SKIP when KVM_CREATE_VM fails for the very
 * first VM (KVM is there but cannot make a VM: unusable).
 */
/*
 * --slot: a memslot the guest touches first (its pages are not touched
 * by the host either, so each first store is a nested page fault that
 * KVM handles in the kernel). --coalesced: a zone on KVM's MMIO bus.
 */
static int vm_setup_extra(struct vm *vm)
{
	struct kvm_userspace_memory_region region;
	struct kvm_coalesced_mmio_zone zone;

	if (o.slot_size) {
		vm->slot_mem = mmap(NULL, o.slot_size, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				    -1, 0);
		if (vm->slot_mem == MAP_FAILED) {
			vm->slot_mem = NULL;
			set_err("vm %u: mmap --slot: %s", vm->index,
				strerror(errno));
			return -1;
		}
		region = (struct kvm_userspace_memory_region){
			.slot = EXTRA_SLOT,
			.guest_phys_addr = o.slot_gpa,
			.memory_size = o.slot_size,
			.userspace_addr = (uintptr_t)vm->slot_mem,
		};
		if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
			set_err("vm %u: KVM_SET_USER_MEMORY_REGION --slot: %s",
				vm->index, strerror(errno));
			return -1;
		}
	}
	if (o.coal_size) {
		zone = (struct kvm_coalesced_mmio_zone){
			.addr = o.coal_gpa,
			.size = (uint32_t)o.coal_size,
		};
		if (ioctl(vm->fd, KVM_REGISTER_COALESCED_MMIO, &zone) < 0) {
			set_err("vm %u: KVM_REGISTER_COALESCED_MMIO: %s",
				vm->index, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int vm_create(struct vm *vm, bool first)
{
	size_t code_size = workload_guest_end - workload_guest_start;
	size_t exc_off = workload_guest_exc_stubs - workload_guest_start;
	struct kvm_userspace_memory_region region;
	unsigned int v;

	vm->fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0) {
		if (first) {
			fprintf(stderr, "kvm_workload: SKIP: KVM_CREATE_VM: %s\n",
				strerror(errno));
			return KSFT_SKIP;
		}
		set_err("vm %u: KVM_CREATE_VM: %s", vm->index, strerror(errno));
		return -1;
	}
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0 &&
	    ioctl(vm->fd, KVM_SET_TSS_ADDR, TSS_ADDR) < 0) {
		set_err("vm %u: KVM_SET_TSS_ADDR: %s", vm->index,
			strerror(errno));
		return -1;
	}
	vm->mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED) {
		vm->mem = NULL;
		set_err("vm %u: mmap guest memory: %s", vm->index,
			strerror(errno));
		return -1;
	}
	/* Touch every page now, so the host side never faults later. */
	memset(vm->mem, 0, GUEST_MEM_SIZE);
	if (code_size > GUEST_CODE_MAX) {
		set_err("guest code too big (%zu bytes)", code_size);
		return -1;
	}
	memcpy(vm->mem + GUEST_CODE_GPA, workload_guest_start, code_size);
	/* IVT: vectors 0..31 to their stub, the rest to stub 31's handler. */
	for (v = 0; v < 256; v++) {
		size_t off = GUEST_CODE_GPA + exc_off +
			     (v < 32 ? v : 31) * EXC_STUB_SIZE;

		write_u16(vm->mem + v * 4, (uint16_t)off);
		write_u16(vm->mem + v * 4 + 2, 0);
	}
	region = (struct kvm_userspace_memory_region){
		.slot = 0,
		.flags = 0,
		.guest_phys_addr = 0,
		.memory_size = GUEST_MEM_SIZE,
		.userspace_addr = (uintptr_t)vm->mem,
	};
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		set_err("vm %u: KVM_SET_USER_MEMORY_REGION: %s", vm->index,
			strerror(errno));
		return -1;
	}
	return vm_setup_extra(vm);
}

static void vm_destroy(struct vm *vm)
{
	if (vm->slot_mem)
		munmap(vm->slot_mem, o.slot_size);
	vm->slot_mem = NULL;
	if (vm->vcpus) {
		for (unsigned int i = 0; i < o.vcpus; i++) {
			struct vcpu *v = &vm->vcpus[i];

			if (v->run)
				munmap(v->run, run_size);
			if (v->fd >= 0)
				close(v->fd);
			free(v->moves);
		}
		free(vm->vcpus);
		vm->vcpus = NULL;
	}
	if (vm->fd >= 0)
		close(vm->fd);
	vm->fd = -1;
	if (vm->mem)
		munmap(vm->mem, GUEST_MEM_SIZE);
	vm->mem = NULL;
}

static int pin_self(struct vcpu *v, int cpu)
{
	cpu_set_t set;
	int now;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		vcpu_err(v, "sched_setaffinity(CPU %d): %s", cpu,
			 strerror(errno));
		return -1;
	}
	/* Setting the affinity of the calling thread migrates it at once. */
	now = sched_getcpu();
	if (now != cpu) {
		sched_yield();
		now = sched_getcpu();
	}
	if (now != cpu) {
		vcpu_err(v, "pinned to CPU %d but running on CPU %d", cpu,
			 now);
		return -1;
	}
	v->cur_cpu = cpu;
	return 0;
}

static int vcpu_setup(struct vcpu *v)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_segment *segs[6];

	if (pin_self(v, v->start_cpu))
		return -1;
	v->fd = ioctl(v->vm->fd, KVM_CREATE_VCPU, (unsigned long)v->id);
	if (v->fd < 0) {
		vcpu_err(v, "KVM_CREATE_VCPU: %s", strerror(errno));
		return -1;
	}
	v->run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		vcpu_err(v, "mmap kvm_run: %s", strerror(errno));
		return -1;
	}
	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0) {
		vcpu_err(v, "KVM_GET_SREGS: %s", strerror(errno));
		return -1;
	}
	segs[0] = &sregs.cs;
	segs[1] = &sregs.ds;
	segs[2] = &sregs.es;
	segs[3] = &sregs.ss;
	segs[4] = &sregs.fs;
	segs[5] = &sregs.gs;
	for (int i = 0; i < 6; i++) {
		segs[i]->base = 0;
		segs[i]->selector = 0;
	}
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0) {
		vcpu_err(v, "KVM_SET_SREGS: %s", strerror(errno));
		return -1;
	}
	memset(&regs, 0, sizeof(regs));
	regs.rip = GUEST_CODE_GPA;
	regs.rflags = 0x2;
	regs.rsp = STACK_TOP(v->id);
	regs.rbp = MBOX_GPA(v->id);
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0) {
		vcpu_err(v, "KVM_SET_REGS: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int do_move(struct vcpu *v)
{
	unsigned int next = (v->pos + 1) % o.ncpus;
	int from = v->cur_cpu, to = o.cpus[next];

	if (from == to) {	/* cannot happen: the list has no duplicates */
		vcpu_err(v, "internal: move to the same CPU %d", to);
		return -1;
	}
	if (pin_self(v, to))
		return -1;
	v->pos = next;
	if (v->nmoves < MOVES_LIST_MAX) {
		if (!v->moves) {
			v->moves = calloc(MOVES_LIST_MAX, sizeof(*v->moves));
			if (!v->moves) {
				vcpu_err(v, "out of memory");
				return -1;
			}
		}
		v->moves[v->nmoves++] = (struct move){ from, to };
	}
	v->moves_count++;
	return 0;
}

static const char *exit_name(uint32_t r)
{
	switch (r) {
	case KVM_EXIT_UNKNOWN: return "UNKNOWN";
	case KVM_EXIT_EXCEPTION: return "EXCEPTION";
	case KVM_EXIT_IO: return "IO";
	case KVM_EXIT_HYPERCALL: return "HYPERCALL";
	case KVM_EXIT_DEBUG: return "DEBUG";
	case KVM_EXIT_HLT: return "HLT";
	case KVM_EXIT_MMIO: return "MMIO";
	case KVM_EXIT_IRQ_WINDOW_OPEN: return "IRQ_WINDOW_OPEN";
	case KVM_EXIT_SHUTDOWN: return "SHUTDOWN (triple fault)";
	case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
	case KVM_EXIT_INTR: return "INTR";
	case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
	case KVM_EXIT_SYSTEM_EVENT: return "SYSTEM_EVENT";
	default: return "other";
	}
}

static void report_bad_exit(struct vcpu *v, const struct chunk *c,
			    uint64_t got, const char *what)
{
	const unsigned char *mb = v->vm->mem + MBOX_GPA(v->id);
	struct kvm_run *run = v->run;
	struct kvm_regs regs;
	char extra[160] = "";
	uint32_t mb_count;

	memset(&regs, 0, sizeof(regs));
	ioctl(v->fd, KVM_GET_REGS, &regs);
	memcpy(&mb_count, mb + MB_COUNT, 4);
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		snprintf(extra, sizeof(extra),
			 " (port 0x%x %s size %u count %u)", run->io.port,
			 run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
			 run->io.size, run->io.count);
		break;
	case KVM_EXIT_MMIO:
		snprintf(extra, sizeof(extra),
			 " (gpa 0x%llx len %u %s)",
			 (unsigned long long)run->mmio.phys_addr,
			 run->mmio.len, run->mmio.is_write ? "write" : "read");
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(extra, sizeof(extra),
			 " (hardware_entry_failure_reason 0x%llx)",
			 (unsigned long long)
			 run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(extra, sizeof(extra), " (suberror %u)",
			 run->internal.suberror);
		break;
	}
	vcpu_err(v, "%s: exit_reason %u %s%s during %s chunk of %" PRIu64
		 " (seq %u) after %" PRIu64 " expected exits in it; guest rip 0x%llx"
		 " edi %llu (remaining count) mailbox count %u; pCPU %d%s; kvm_runs %" PRIu64,
		 what, run->exit_reason, exit_name(run->exit_reason), extra,
		 kind_str(c->kind), c->count, v->seq, got,
		 (unsigned long long)regs.rip,
		 (unsigned long long)(regs.rdi & 0xffffffff), mb_count,
		 v->cur_cpu, c->move_before ? " (moved before this chunk)" : "",
		 v->kvm_runs);
}

/*
 * The guest reported vector `vec` on EXC_PORT. For a real exception the CPU
 * pushed IP, CS, FLAGS on the vCPU's stack before entering the stub: report
 * the faulting IP from there (e.g. a #GP(13) from an MSR the guest may not
 * access).
 */
static void guest_exception(struct vcpu *v, const struct chunk *c,
			    unsigned int vec)
{
	struct kvm_regs regs;
	uint16_t ip = 0, cs = 0;
	bool have = false;

	if (!ioctl(v->fd, KVM_GET_REGS, &regs) &&
	    regs.rsp <= STACK_TOP(v->id) - 6 && regs.rsp >= GUEST_STACK_GPA) {
		memcpy(&ip, v->vm->mem + regs.rsp, 2);
		memcpy(&cs, v->vm->mem + regs.rsp + 2, 2);
		have = true;
	}
	if (vec == BAD_KIND_VECTOR) {
		vcpu_err(v, "guest read an unknown kind from its mailbox (%s chunk, seq %u)",
			 kind_str(c->kind), v->seq);
		return;
	}
	vcpu_err(v, "guest took vector %u%s at %04x:%04x (guest code offset 0x%x) during %s chunk of %" PRIu64 " (seq %u)%s",
		 vec, vec == 13 ? " (#GP)" : vec == 6 ? " (#UD)" : "",
		 cs, ip, have ? (unsigned int)(ip - GUEST_CODE_GPA) : 0,
		 kind_str(c->kind), c->count, v->seq,
		 (c->kind == KIND_RDMSR || c->kind == KIND_WRMSR) ?
		 "; the MSR is not accessible in this guest, try another --msr" :
		 "");
}

/* Run one chunk: KVM_RUN until the control exit; check every exit. */
static int run_chunk(struct vcpu *v, const struct chunk *c)
{
	unsigned char *mb = v->vm->mem + MBOX_GPA(v->id);
	struct kvm_run *run = v->run;
	uint64_t want = 0, got = 0;
	uint32_t want_exit = 0;

	if (c->kind == KIND_IO) {
		want_exit = KVM_EXIT_IO;
		want = c->count;
	} else if (c->kind == KIND_HLT) {
		want_exit = KVM_EXIT_HLT;
		want = c->count;
	} else if (c->kind == KIND_MMIOX && (c->arg2 & MMIOX_TOUCH)) {
		want_exit = 0;	/* in the kernel: no userspace exit */
	} else if (c->kind == KIND_MMIO || c->kind == KIND_MMIOX) {
		want_exit = KVM_EXIT_MMIO;
		want = c->count;
	} else if (c->kind == KIND_PIO) {
		want_exit = KVM_EXIT_IO;
		want = c->count;
	}
	v->seq++;
	write_u32(mb + MB_KIND, c->kind);
	write_u32(mb + MB_COUNT, (uint32_t)c->count);
	write_u32(mb + MB_MSR, c->msr);
	write_u32(mb + MB_ARG1, c->arg1);
	write_u32(mb + MB_ARG2, c->arg2);
	write_u32(mb + MB_WRVAL_LO, 0);
	write_u32(mb + MB_WRVAL_HI, 0);
	write_u32(mb + MB_SEQ, v->seq);

	for (;;) {
		int r = ioctl(v->fd, KVM_RUN, 0);

		v->kvm_runs++;
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				v->eintr++;
				continue;
			}
			vcpu_err(v, "KVM_RUN: %s (during %s chunk, seq %u)",
				 strerror(errno), kind_str(c->kind), v->seq);
			return -1;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO: {
			const unsigned char *data =
				(const unsigned char *)run + run->io.data_offset;

			if (c->kind == KIND_PIO && got < want &&
			    run->io.count == 1 && run->io.port == c->arg1 &&
			    run->io.size == (c->arg2 & 0xff) &&
			    run->io.direction == ((c->arg2 & PIO_IN) ?
						  KVM_EXIT_IO_IN :
						  KVM_EXIT_IO_OUT)) {
				got++;
				v->ue_io_data++;
				continue;
			}
			if (run->io.direction != KVM_EXIT_IO_OUT ||
			    run->io.count != 1)
				break;
			if (run->io.port == CTRL_PORT && run->io.size == 4) {
				uint32_t seq;

				memcpy(&seq, data, 4);
				if (seq != v->seq) {
					vcpu_err(v, "control exit with seq %u, want %u",
						 seq, v->seq);
					return -1;
				}
				if (got != want) {
					vcpu_err(v, "%s chunk ended after %" PRIu64
						 " userspace exits, want %" PRIu64,
						 kind_str(c->kind), got, want);
					return -1;
				}
				return 0;
			}
			if (run->io.port == EXC_PORT && run->io.size == 1) {
				guest_exception(v, c, data[0]);
				return -1;
			}
			if (run->io.port == DATA_PORT && run->io.size == 1 &&
			    want_exit == KVM_EXIT_IO && got < want) {
				got++;
				v->ue_io_data++;
				continue;
			}
			break;
		}
		case KVM_EXIT_HLT:
			if (want_exit == KVM_EXIT_HLT && got < want) {
				got++;
				v->ue_hlt++;
				continue;
			}
			break;
		case KVM_EXIT_MMIO:
			if (want_exit == KVM_EXIT_MMIO && got < want &&
			    run->mmio.is_write && run->mmio.len == 1 &&
			    run->mmio.phys_addr == (c->kind == KIND_MMIOX ?
						    (uint64_t)c->arg1 << 4 :
						    MMIO_GPA)) {
				got++;
				v->ue_mmio++;
				continue;
			}
			break;
		case KVM_EXIT_INTR:
			v->eintr++;
			continue;
		}
		report_bad_exit(v, c, got, "unexpected exit");
		return -1;
	}
}

static bool should_stop(void)
{
	if (atomic_load(&g_stop) != STOP_NONE)
		return true;
	return o.seconds > 0 && past_deadline();
}

static void vcpu_work(struct vcpu *v)
{
	for (;;) {
		for (size_t i = 0; i < nplan; i++) {
			const struct chunk *c = &plan[i];

			if (should_stop()) {
				/* --seconds: the deadline or a signal ends it. */
				if (o.seconds > 0 &&
				    atomic_load(&g_stop) != STOP_ERROR)
					v->complete = true;
				return;
			}
			if (c->move_before && do_move(v))
				return;
			if (run_chunk(v, c))
				return;
			v->chunks++;
			/* touches are no userspace MMIO: not in mmio_min */
			if (c->kind != KIND_NOP &&
			    !(c->kind == KIND_MMIOX && (c->arg2 & MMIOX_TOUCH)))
				v->done[c->kind - 1] += c->count;
		}
		v->rounds++;
		if (o.seconds <= 0) {
			v->complete = true;
			return;
		}
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;

	v->tid = (pid_t)syscall(SYS_gettid);
	if (!vcpu_setup(v))
		vcpu_work(v);

	pthread_mutex_lock(&g_mu);
	g_ndone++;
	pthread_cond_signal(&g_cv_done);
	/* Park here (VM alive) until the main thread releases us. */
	while (!g_release)
		pthread_cond_wait(&g_cv_release, &g_mu);
	pthread_mutex_unlock(&g_mu);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Signals and waiting */

static void handle_signal(int sig)
{
	g_last_signal = sig;
	g_release_hold = true;
	if (sig != SIGUSR1)
		atomic_store(&g_stop, STOP_SIGNAL);
}

static void poll_signals(long timeout_ms)
{
	struct timespec ts = {
		.tv_sec = timeout_ms / 1000,
		.tv_nsec = (timeout_ms % 1000) * 1000000L,
	};
	int sig;

	while ((sig = sigtimedwait(&g_sigs, NULL, &ts)) > 0) {
		handle_signal(sig);
		ts.tv_sec = 0;
		ts.tv_nsec = 0;
	}
}

static void wait_workers(unsigned int n)
{
	pthread_mutex_lock(&g_mu);
	while (g_ndone < n) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g_cv_done, &g_mu, &ts);
		pthread_mutex_unlock(&g_mu);
		poll_signals(0);
		pthread_mutex_lock(&g_mu);
	}
	pthread_mutex_unlock(&g_mu);
}

static void release_workers(struct vm *vms, unsigned int nvms)
{
	pthread_mutex_lock(&g_mu);
	g_release = true;
	pthread_cond_broadcast(&g_cv_release);
	pthread_mutex_unlock(&g_mu);
	for (unsigned int i = 0; i < nvms; i++) {
		if (!vms[i].vcpus)
			continue;
		for (unsigned int j = 0; j < o.vcpus; j++) {
			struct vcpu *v = &vms[i].vcpus[j];

			if (v->thread_started)
				pthread_join(v->thread, NULL);
			v->thread_started = false;
		}
	}
}

static void hold_wait(void)
{
	while (!g_release_hold) {
		if (o.hold_file && !access(o.hold_file, F_OK))
			break;
		poll_signals(100);
	}
}

/* ------------------------------------------------------------------ */
/* One iteration: create the VM set, run it to completion. */

/* Returns 0, -1 on error, KSFT_SKIP if the first KVM_CREATE_VM failed. */
static int start_vms(struct vm *vms, bool first_iteration)
{
	unsigned int started = 0;
	int ret = 0;

	pthread_mutex_lock(&g_mu);
	g_ndone = 0;
	g_release = false;
	pthread_mutex_unlock(&g_mu);

	for (unsigned int i = 0; i < o.vms; i++) {
		vms[i].index = i;
		vms[i].fd = -1;
	}
	for (unsigned int i = 0; i < o.vms && !ret; i++) {
		struct vm *vm = &vms[i];

		ret = vm_create(vm, first_iteration && i == 0);
		if (ret)
			break;
		vm->vcpus = calloc(o.vcpus, sizeof(*vm->vcpus));
		if (!vm->vcpus) {
			set_err("out of memory");
			ret = -1;
			break;
		}
		for (unsigned int j = 0; j < o.vcpus; j++) {
			struct vcpu *v = &vm->vcpus[j];

			v->vm = vm;
			v->id = j;
			v->gidx = i * o.vcpus + j;
			v->fd = -1;
			v->pos = v->gidx % o.ncpus;
			v->start_cpu = o.cpus[v->pos];
			v->cur_cpu = -1;
		}
	}
	/* Threads only once every VM exists: all VMs run concurrently. */
	for (unsigned int i = 0; i < o.vms && !ret; i++) {
		for (unsigned int j = 0; j < o.vcpus; j++) {
			struct vcpu *v = &vms[i].vcpus[j];
			int e = pthread_create(&v->thread, NULL, vcpu_thread, v);

			if (e) {
				set_err("pthread_create: %s", strerror(e));
				atomic_store(&g_stop, STOP_ERROR);
				ret = -1;
				break;
			}
			v->thread_started = true;
			started++;
		}
	}
	wait_workers(started);
	return ret;
}

static bool any_failed(struct vm *vms)
{
	for (unsigned int i = 0; i < o.vms; i++)
		for (unsigned int j = 0; vms[i].vcpus && j < o.vcpus; j++)
			if (vms[i].vcpus[j].failed)
				return true;
	return false;
}

static void take_snap(struct snap *s, const struct vcpu *v)
{
	memset(s, 0, sizeof(*s));	/* padding too: compared with memcmp */
	memcpy(s->done, v->done, sizeof(s->done));
	s->chunks = v->chunks;
	s->kvm_runs = v->kvm_runs - v->eintr;
	s->ue_io_data = v->ue_io_data;
	s->ue_hlt = v->ue_hlt;
	s->ue_mmio = v->ue_mmio;
	s->moves_count = v->moves_count;
	s->start_cpu = v->start_cpu;
}

/* ------------------------------------------------------------------ */
/* JSON report */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_kinds(FILE *f, const uint64_t *k)
{
	fputc('{', f);
	for (int i = 0; i < NKINDS; i++)
		fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", kind_name[i],
			k[i]);
	fputc('}', f);
}

struct expect {
	uint64_t io, cpuid, hlt, msr, rdmsr, wrmsr, mmio_min, migrations;
	uint64_t hypercall;
	uint64_t control_io, kvm_runs;
};

static void vcpu_expect(const struct vcpu *v, struct expect *e)
{
	e->control_io = v->chunks;
	e->io = v->done[KIND_IO - 1] + v->done[KIND_PIO - 1] + v->chunks;
	e->cpuid = v->done[KIND_CPUID - 1] + v->done[KIND_CPUIDX - 1];
	e->hypercall = v->done[KIND_HCALL - 1];
	e->hlt = v->done[KIND_HLT - 1];
	e->rdmsr = v->done[KIND_RDMSR - 1];
	e->wrmsr = v->done[KIND_WRMSR - 1];
	e->msr = e->rdmsr + e->wrmsr;
	e->mmio_min = v->done[KIND_MMIO - 1] + v->done[KIND_MMIOX - 1];
	e->migrations = v->moves_count;
	e->kvm_runs = v->kvm_runs;
}

static void expect_add(struct expect *a, const struct expect *b)
{
	a->io += b->io;
	a->cpuid += b->cpuid;
	a->hlt += b->hlt;
	a->msr += b->msr;
	a->rdmsr += b->rdmsr;
	a->wrmsr += b->wrmsr;
	a->mmio_min += b->mmio_min;
	a->hypercall += b->hypercall;
	a->migrations += b->migrations;
	a->control_io += b->control_io;
	a->kvm_runs += b->kvm_runs;
}

static void json_expect(FILE *f, const struct expect *e)
{
	fprintf(f, "{\"io\":%" PRIu64 ",\"cpuid\":%" PRIu64 ",\"hlt\":%" PRIu64
		",\"msr\":%" PRIu64 ",\"rdmsr\":%" PRIu64 ",\"wrmsr\":%" PRIu64
		",\"mmio_min\":%" PRIu64 ",\"migrations\":%" PRIu64
		",\"control_io\":%" PRIu64 ",\"kvm_runs\":%" PRIu64
		",\"hypercall\":%" PRIu64 "}",
		e->io, e->cpuid, e->hlt, e->msr, e->rdmsr, e->wrmsr,
		e->mmio_min, e->migrations, e->control_io, e->kvm_runs,
		e->hypercall);
}

/* "ops": what --op asked of every vCPU, one key each. */
static void json_ops(FILE *f)
{
	fprintf(f, "\"ops\":[");
	for (unsigned int i = 0; i < nops; i++) {
		const struct op *op = &ops[i];

		fprintf(f, "%s{\"op\":\"%s\"", i ? "," : "",
			op->kind == KIND_MMIOX && (op->arg2 & MMIOX_TOUCH) ?
			"touch" : kind_str(op->kind));
		switch (op->kind) {
		case KIND_PIO:
			fprintf(f, ",\"port\":%u,\"size\":%u,\"dir\":\"%s\"",
				op->arg1, op->arg2 & 0xff,
				(op->arg2 & PIO_IN) ? "in" : "out");
			break;
		case KIND_RDMSR:
		case KIND_WRMSR:
			fprintf(f, ",\"msr\":%u", op->arg1);
			break;
		case KIND_CPUIDX:
			fprintf(f, ",\"leaf\":%u,\"subleaf\":%u", op->arg1,
				op->arg2);
			break;
		case KIND_HCALL:
			fprintf(f, ",\"nr\":%u", op->arg1);
			break;
		case KIND_MMIOX:
			fprintf(f, ",\"gpa\":%u", op->arg1 << 4);
			break;
		}
		fprintf(f, ",\"count\":%" PRIu64 "}", op->count);
	}
	fprintf(f, "],");
}

static void json_exit_codes(FILE *f)
{
	if (!strcmp(isa, "svm"))
		fprintf(f, "{\"io\":123,\"cpuid\":114,\"hlt\":120,\"rdmsr\":124,"
			"\"wrmsr\":124,\"npf\":1024,\"intr\":96}");
	else if (!strcmp(isa, "vmx"))
		fprintf(f, "{\"io\":30,\"cpuid\":10,\"hlt\":12,\"rdmsr\":31,"
			"\"wrmsr\":32,\"ept_violation\":48,\"ept_misconfig\":49,"
			"\"intr\":1}");
	else
		fprintf(f, "null");
}

static void json_vcpu(FILE *f, const struct vcpu *v, struct expect *vm_e)
{
	struct expect e;
	uint64_t ue_ctrl = v->chunks;

	vcpu_expect(v, &e);
	expect_add(vm_e, &e);
	fprintf(f, "{\"vcpu_id\":%u,\"tid\":%d,\"start_cpu\":%d,\"end_cpu\":%d,"
		"\"requested\":", v->id, (int)v->tid, v->start_cpu, v->cur_cpu);
	json_kinds(f, o.req);
	fprintf(f, ",\"done\":");
	json_kinds(f, v->done);
	fprintf(f, ",\"complete\":%s,\"rounds\":%" PRIu64 ",\"chunks\":%" PRIu64
		",\"control_io\":%" PRIu64 ",\"kvm_runs\":%" PRIu64
		",\"kvm_run_eintr\":%" PRIu64,
		v->complete ? "true" : "false", v->rounds, v->chunks,
		v->chunks, v->kvm_runs, v->eintr);
	fprintf(f, ",\"user_exits\":{\"io\":%" PRIu64 ",\"io_data\":%" PRIu64
		",\"io_control\":%" PRIu64 ",\"hlt\":%" PRIu64 ",\"mmio\":%" PRIu64
		",\"total\":%" PRIu64 "}",
		v->ue_io_data + ue_ctrl, v->ue_io_data, ue_ctrl, v->ue_hlt,
		v->ue_mmio, v->ue_io_data + ue_ctrl + v->ue_hlt + v->ue_mmio);
	fprintf(f, ",\"moves_count\":%" PRIu64 ",\"moves_truncated\":%s,"
		"\"moves\":[", v->moves_count,
		v->moves_count > v->nmoves ? "true" : "false");
	for (size_t i = 0; i < v->nmoves; i++)
		fprintf(f, "%s[%d,%d]", i ? "," : "", v->moves[i].from,
			v->moves[i].to);
	fprintf(f, "],\"expect\":");
	json_expect(f, &e);
	if (v->failed) {
		fprintf(f, ",\"error\":");
		json_str(f, v->err);
	}
	fputc('}', f);
}

static const char *first_error(struct vm *vms)
{
	if (g_err[0])
		return g_err;
	for (unsigned int i = 0; vms && i < o.vms; i++)
		for (unsigned int j = 0; vms[i].vcpus && j < o.vcpus; j++)
			if (vms[i].vcpus[j].failed)
				return vms[i].vcpus[j].err;
	return NULL;
}

struct churn_info {
	unsigned int iterations_done;
	double elapsed_s;
	double create_run_destroy_s;
};

static void json_report(FILE *f, struct vm *vms, const char *status,
			double elapsed, const struct churn_info *ci)
{
	struct expect tot = { 0 };
	const char *err = first_error(vms);

	fprintf(f, "{\"tool\":\"kvm_workload\",\"format\":1,\"pid\":%d,"
		"\"status\":", (int)getpid());
	json_str(f, status);
	if (err) {
		fprintf(f, ",\"error\":");
		json_str(f, err);
	}
	fprintf(f, ",\"isa\":\"%s\",\"exit_codes\":", isa);
	json_exit_codes(f);
	fprintf(f, ",\"config\":{\"vms\":%u,\"vcpus\":%u,\"requested\":",
		o.vms, o.vcpus);
	json_kinds(f, o.req);
	fprintf(f, ",\"chunk\":%" PRIu64 ",\"hops\":%u,\"hop_list\":[",
		o.chunk, o.hops);
	for (unsigned int i = 0; i < o.ncpus; i++)
		fprintf(f, "%s%d", i ? "," : "", o.cpus[i]);
	fprintf(f, "],\"seconds\":%g,\"churn\":%u,\"hold\":%s,"
		"\"msr_index\":%u,\"wrmsr_value\":0,\"plan_chunks\":%zu},",
		o.seconds, o.churn, o.hold ? "true" : "false", o.msr, nplan);
	json_ops(f);
	fprintf(f, "\"guest\":{\"mode\":\"real\",\"ram_gpa\":0,\"ram_size\":%d,"
		"\"data_port\":%d,\"control_port\":%d,\"exception_port\":%d,"
		"\"mmio_gpa\":%d,\"ram_slot\":0", GUEST_MEM_SIZE, DATA_PORT,
		CTRL_PORT, EXC_PORT, MMIO_GPA);
	if (o.slot_size)
		fprintf(f, ",\"slot\":{\"slot\":%d,\"gpa\":%" PRIu64
			",\"size\":%" PRIu64 "}", EXTRA_SLOT, o.slot_gpa,
			o.slot_size);
	if (o.coal_size)
		fprintf(f, ",\"coalesced\":{\"gpa\":%" PRIu64 ",\"size\":%"
			PRIu64 "}", o.coal_gpa, o.coal_size);
	fprintf(f, "},");
	fprintf(f, "\"elapsed_s\":%.6f,\"vms\":[", elapsed);
	for (unsigned int i = 0; vms && i < o.vms; i++) {
		struct vm *vm = &vms[i];
		struct expect vm_e = { 0 };

		fprintf(f, "%s{\"index\":%u,\"vm_fd_created\":%s,\"vcpus\":[",
			i ? "," : "", vm->index,
			(vm->fd >= 0 || vm->vcpus) ? "true" : "false");
		for (unsigned int j = 0; vm->vcpus && j < o.vcpus; j++) {
			if (j)
				fputc(',', f);
			json_vcpu(f, &vm->vcpus[j], &vm_e);
		}
		fprintf(f, "],\"expect\":");
		json_expect(f, &vm_e);
		fputc('}', f);
		expect_add(&tot, &vm_e);
	}
	fprintf(f, "],\"expect\":");
	json_expect(f, &tot);
	if (ci) {
		fprintf(f, ",\"churn\":{\"requested\":%u,\"iterations_done\":%u,"
			"\"vms_per_iteration\":%u,\"vms_done\":%" PRIu64
			",\"identical\":true,\"elapsed_s\":%.6f,"
			"\"per_iteration_ms\":%.3f}",
			o.churn, ci->iterations_done, o.vms,
			(uint64_t)ci->iterations_done * o.vms, ci->elapsed_s,
			ci->iterations_done ?
			ci->elapsed_s * 1000.0 / ci->iterations_done : 0.0);
	} else {
		fprintf(f, ",\"churn\":null");
	}
	fprintf(f, "}\n");
}

/* True if @path is a regular file or does not exist: safe to rename over. */
static bool is_regular_or_absent(const char *path)
{
	struct stat st;

	return stat(path, &st) ? errno == ENOENT : S_ISREG(st.st_mode);
}

static int write_report(struct vm *vms, const char *status, double elapsed,
			const struct churn_info *ci)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	int ret = 0;

	if (!m) {
		perror("kvm_workload: open_memstream");
		return -1;
	}
	json_report(m, vms, status, elapsed, ci);
	if (fclose(m)) {
		perror("kvm_workload: report");
		free(buf);
		return -1;
	}
	if (!o.json || !strcmp(o.json, "-") || !is_regular_or_absent(o.json)) {
		/* stdout, or a device such as /dev/null: never rename over it. */
		FILE *out = o.json && strcmp(o.json, "-") ?
			    fopen(o.json, "w") : stdout;

		if (!out || fwrite(buf, 1, len, out) != len || fflush(out)) {
			perror("kvm_workload: write report");
			ret = -1;
		}
		if (out && out != stdout)
			fclose(out);
	} else {
		/* Write a temporary file and rename: readers never see half. */
		size_t n = strlen(o.json) + 32;
		char *tmp = malloc(n);
		FILE *f;

		if (!tmp) {
			free(buf);
			return -1;
		}
		snprintf(tmp, n, "%s.tmp.%d", o.json, (int)getpid());
		f = fopen(tmp, "w");
		if (!f || fwrite(buf, 1, len, f) != len || fflush(f) ||
		    fsync(fileno(f))) {
			fprintf(stderr, "kvm_workload: write %s: %s\n", tmp,
				strerror(errno));
			ret = -1;
		}
		if (f && fclose(f) && !ret) {
			fprintf(stderr, "kvm_workload: close %s: %s\n", tmp,
				strerror(errno));
			ret = -1;
		}
		if (!ret && rename(tmp, o.json)) {
			fprintf(stderr, "kvm_workload: rename %s: %s\n", o.json,
				strerror(errno));
			ret = -1;
		}
		if (ret)
			unlink(tmp);
		free(tmp);
	}
	free(buf);
	return ret;
}

static int create_ready_file(void)
{
	int fd;
	char line[32];
	int n;

	if (!o.ready_file)
		return 0;
	fd = open(o.ready_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "kvm_workload: create %s: %s\n", o.ready_file,
			strerror(errno));
		return -1;
	}
	n = snprintf(line, sizeof(line), "%d\n", (int)getpid());
	if (write(fd, line, n) != n) {
		fprintf(stderr, "kvm_workload: write %s: %s\n", o.ready_file,
			strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* ------------------------------------------------------------------ */

static void free_vms(struct vm *vms)
{
	if (!vms)
		return;
	for (unsigned int i = 0; i < o.vms; i++)
		vm_destroy(&vms[i]);
	free(vms);
}

int main(int argc, char **argv)
{
	unsigned int iterations, it;
	struct vm *vms = NULL;
	struct snap *snaps = NULL;
	struct churn_info ci = { 0 };
	const char *status = "ok";
	double t0, t_end;
	int ret, rc = KSFT_PASS;
	bool holding = false;

	ret = parse_args(argc, argv);
	if (ret == 2)
		return KSFT_PASS;
	if (ret)
		return KSFT_FAIL;

	/* Block the stop/release signals everywhere; main polls them. */
	sigemptyset(&g_sigs);
	sigaddset(&g_sigs, SIGINT);
	sigaddset(&g_sigs, SIGTERM);
	sigaddset(&g_sigs, SIGUSR1);
	if (pthread_sigmask(SIG_BLOCK, &g_sigs, NULL)) {
		perror("kvm_workload: pthread_sigmask");
		return KSFT_FAIL;
	}

	ret = open_kvm();
	if (ret)
		goto out_early;
	if (setup_cpus() || build_plan()) {
		ret = KSFT_FAIL;
		goto out_early;
	}
	iterations = o.churn ? o.churn : 1;
	snaps = calloc((size_t)o.vms * o.vcpus, sizeof(*snaps));
	if (!snaps) {
		set_err("out of memory");
		ret = KSFT_FAIL;
		goto out_early;
	}

	t0 = now_s();
	if (o.seconds > 0) {
		double d = o.seconds;

		clock_gettime(CLOCK_MONOTONIC, &g_deadline);
		g_deadline.tv_sec += (time_t)d;
		g_deadline.tv_nsec += (long)((d - (double)(time_t)d) * 1e9);
		if (g_deadline.tv_nsec >= 1000000000L) {
			g_deadline.tv_sec++;
			g_deadline.tv_nsec -= 1000000000L;
		}
	}
	for (it = 0; it < iterations; it++) {
		bool last = it + 1 == iterations;

		vms = calloc(o.vms, sizeof(*vms));
		if (!vms) {
			set_err("out of memory");
			rc = KSFT_FAIL;
			break;
		}
		ret = start_vms(vms, it == 0);
		if (ret == KSFT_SKIP) {
			release_workers(vms, o.vms);
			free_vms(vms);
			vms = NULL;
			free(snaps);
			close(kvm_fd);
			free(plan);
			free(o.cpus);
			return KSFT_SKIP;
		}
		if (ret || any_failed(vms)) {
			rc = KSFT_FAIL;
			status = "error";
			break;
		}
		if (atomic_load(&g_stop) == STOP_SIGNAL &&
		    (o.seconds <= 0 || !last)) {
			set_err("interrupted by signal %d before the work was done",
				g_last_signal);
			rc = KSFT_FAIL;
			status = "interrupted";
			break;
		}
		/* Churn: every iteration must have done the same. */
		for (unsigned int i = 0; i < o.vms; i++) {
			for (unsigned int j = 0; j < o.vcpus; j++) {
				struct snap s, *s0 = &snaps[i * o.vcpus + j];

				take_snap(&s, &vms[i].vcpus[j]);
				if (it == 0)
					*s0 = s;
				else if (memcmp(&s, s0, sizeof(s)))
					set_err("churn iteration %u: vm %u vcpu %u counts differ from iteration 0",
						it, i, j);
			}
		}
		if (g_err[0]) {
			rc = KSFT_FAIL;
			status = "error";
			break;
		}
		ci.iterations_done = it + 1;
		if (last && o.hold) {
			holding = true;
			break;
		}
		if (last)
			break;
		release_workers(vms, o.vms);
		free_vms(vms);
		vms = NULL;
	}
	t_end = now_s();
	ci.elapsed_s = t_end - t0;

	if (write_report(vms, status, t_end - t0, o.churn ? &ci : NULL))
		rc = KSFT_FAIL;
	if (create_ready_file())
		rc = KSFT_FAIL;
	if (holding && rc == KSFT_PASS) {
		fprintf(stderr, "kvm_workload: holding %u VM(s), pid %d\n",
			o.vms, (int)getpid());
		hold_wait();
	}
	if (vms) {
		release_workers(vms, o.vms);
		free_vms(vms);
	}
	free(snaps);
	close(kvm_fd);
	free(plan);
	free(o.cpus);
	return rc;

out_early:
	if (kvm_fd >= 0)
		close(kvm_fd);
	free(snaps);
	free(plan);
	free(o.cpus);
	return ret;
}
