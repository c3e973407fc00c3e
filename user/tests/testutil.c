// SPDX-License-Identifier: GPL-2.0
/* Helpers shared by the vcpustat tests. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "testutil.h"

const char *t_tool(void)
{
	return t_env("VS_TOOL", "gen/vcpustat-asan");
}

const char *t_mock_tool(void)
{
	return t_env("VS_MOCK_TOOL", "gen/vcpustat-mock");
}

int t_python(const char *code, const char *text)
{
	char path[] = "/tmp/vstest-XXXXXX";
	char *cmd;
	int fd = mkstemp(path), st;
	size_t len = strlen(text);

	T_ASSERT(fd >= 0);
	T_ASSERT(write(fd, text, len) == (ssize_t)len);
	close(fd);
	T_ASSERT(asprintf(&cmd, "%s -c '%s' < %s",
			  t_env("VS_PYTHON", "python3"), code, path) > 0);
	st = t_sh(cmd, NULL, false);
	free(cmd);
	unlink(path);
	return st;
}

bool t_json_valid(const char *text, bool lines)
{
	/* json.loads is strict: no NaN, no trailing garbage, no dup-less
	 * checks needed; lines mode parses each non-empty line alone. */
	const char *doc =
		"import json,sys\n"
		"json.loads(sys.stdin.read())\n";
	const char *jl =
		"import json,sys\n"
		"n=0\n"
		"for l in sys.stdin:\n"
		"    l=l.strip()\n"
		"    if l:\n"
		"        json.loads(l); n+=1\n"
		"sys.exit(0 if n else 3)\n";
	int st;

	if (!text || !*text)
		return false;
	st = t_python(lines ? jl : doc, text);
	if (st)
		t_diag("python3 json check failed (%d) on: %.300s", st, text);
	return st == 0;
}

char *t_tmpdir(void)
{
	char *d = strdup("/tmp/vstest-dir-XXXXXX");

	T_ASSERT(d && mkdtemp(d));
	return d;
}

void t_rmtree(const char *dir)
{
	char *cmd;

	if (!dir || strncmp(dir, "/tmp/vstest-", 12))
		return;	/* never anything else */
	if (asprintf(&cmd, "rm -rf '%s'", dir) > 0) {
		t_sh(cmd, NULL, false);
		free(cmd);
	}
}

void t_write(const char *dir, const char *rel, const char *content)
{
	char path[4096], *p;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (p = path + strlen(dir) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			t_fail(__FILE__, __LINE__, "mkdir %s: %s", path,
			       strerror(errno));
		*p = '/';
	}
	f = fopen(path, "w");
	T_ASSERT(f);
	fputs(content, f);
	fclose(f);
}

static const uint32_t svm_codes[] = { 0x72, 0x7b, 0x400, 0x78,
	VCPUSTAT_CODE_OTHER, VCPUSTAT_CODE_UNKNOWN, 0x7ff };

void t_snapshot(struct vs_snapshot *s, unsigned int nvms,
		unsigned int nvcpus)
{
	memset(s, 0, sizeof(*s));
	s->ts_ns = 123456789;
	s->consistent = true;
	s->vms = calloc(nvms ? nvms : 1, sizeof(*s->vms));
	T_ASSERT(s->vms);
	s->nr_vms = nvms;
	for (unsigned int i = 0; i < nvms; i++) {
		struct vs_vm *vm = &s->vms[i];

		vm->id = i + 1;
		vm->pid = 1234 + i;
		snprintf(vm->comm, sizeof(vm->comm), i == 1 ?
			 "bad\"\\\n\x01\xfe" : "qemu-system-x86");
		snprintf(vm->stats_id, sizeof(vm->stats_id), "kvm-%u", vm->pid);
		vm->tracked_vcpus = nvcpus;
		vm->age_ns = 5000000000ull;
		vm->vcpus = calloc(nvcpus ? nvcpus : 1, sizeof(*vm->vcpus));
		T_ASSERT(vm->vcpus);
		vm->nr_vcpus = nvcpus;
		for (unsigned int j = 0; j < nvcpus; j++) {
			struct vs_vcpu *vc = &vm->vcpus[j];
			size_t n = sizeof(svm_codes) / sizeof(svm_codes[0]);

			vc->vm_id = vm->id;
			vc->pid = vm->pid;
			vc->vcpu_id = j;
			vc->idx = j;
			vc->tid = vm->pid + 6 + j;
			vc->pcpu = j == 1 ? VS_NO_CPU : j;
			vc->isa = VCPUSTAT_ISA_SVM;
			/* A budget summing to 5 s, 2 % of it waiting. */
			vc->budget.valid = true;
			vc->budget.state = VCPUSTAT_STATE_GUEST;
			vc->budget.ns[VCPUSTAT_STATE_GUEST] = 3000000000ull +
							      j * 100000000ull;
			vc->budget.ns[VCPUSTAT_STATE_EXIT] = 500000000ull;
			vc->budget.ns[VCPUSTAT_STATE_USER] = 200000000ull;
			vc->budget.ns[VCPUSTAT_STATE_POLL] = 10000000ull;
			vc->budget.ns[VCPUSTAT_STATE_HALT] = 1150000000ull -
							     j * 100000000ull;
			vc->budget.ns[VCPUSTAT_STATE_WAIT] = 100000000ull;
			vc->budget.ns[VCPUSTAT_STATE_OUT] = 40000000ull;
			vc->reasons = calloc(n, sizeof(*vc->reasons));
			vc->residency = calloc(2, sizeof(*vc->residency));
			T_ASSERT(vc->reasons && vc->residency);
			vc->nr_reasons = n;
			for (size_t k = 0; k < n; k++) {
				struct vs_reason *r = &vc->reasons[k];

				r->isa = VCPUSTAT_ISA_SVM;
				r->code = svm_codes[k];
				r->count = 1000 * (k + 1);
				/* one reason never timed: min/max absent */
				r->timed = k == 3 ? 0 : r->count;
				r->time_sum_ns = r->timed * 500;
				r->time_min_ns = r->timed ? 100 : 0;
				r->time_max_ns = r->timed ? 9000 : 0;
				vc->exits += r->count;
				vc->timed_exits += r->timed;
				vc->exit_time_ns += r->time_sum_ns;
			}
			vc->migrations = 7;
			vc->migr[VCPUSTAT_DIST_SMT] = 1;
			vc->migr[VCPUSTAT_DIST_LLC] = 2;
			vc->migr[VCPUSTAT_DIST_NODE] = 3;
			vc->migr[VCPUSTAT_DIST_REMOTE] = 1;
			for (int h = 0; h < VCPUSTAT_HIST_BUCKETS; h++)
				vc->hist[h] = (uint64_t)h;
			vc->nr_residency = 2;
			vc->residency[0].cpu = 0;
			vc->residency[0].exits = vc->exits / 2;
			vc->residency[1].cpu = 3;
			vc->residency[1].exits = vc->exits - vc->exits / 2;
			vm->exits += vc->exits;
			vm->migrations += vc->migrations;
			vm->exit_time_ns += vc->exit_time_ns;
		}
	}
}

struct jw *t_jw_open(struct t_jw_mem *m, bool pretty)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	T_ASSERT(m->f);
	jw_init(&m->w, m->f, pretty);
	return &m->w;
}

char *t_jw_close(struct t_jw_mem *m)
{
	m->end = jw_end(&m->w);
	fclose(m->f);
	return m->buf;
}
