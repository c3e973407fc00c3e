// SPDX-License-Identifier: GPL-2.0
/*
 * The time budget of a vCPU: state names, JSON, and the per-state shares
 * that list, top and stat print (like top's us/sy/id/st).
 */
#include <string.h>

#include "budget.h"

static const char *const state_names[VCPUSTAT_STATE_MAX + 1] = {
	[VCPUSTAT_STATE_GUEST] = "guest",
	[VCPUSTAT_STATE_EXIT] = "exit",
	[VCPUSTAT_STATE_USER] = "user",
	[VCPUSTAT_STATE_POLL] = "poll",
	[VCPUSTAT_STATE_HALT] = "halt",
	[VCPUSTAT_STATE_WAIT] = "wait",
	[VCPUSTAT_STATE_OUT] = "out",
};

const char *vs_state_name(uint32_t state)
{
	return state <= VCPUSTAT_STATE_MAX ? state_names[state] : NULL;
}

/* Generated from <linux/kvm.h> by the Makefile: { KVM_EXIT_*, "name" }. */
static const struct {
	uint32_t code;
	const char *name;
} kvm_exits[] = {
#include "kvm_exits.inc"
};

const char *vs_kvm_exit_name(uint32_t exit_reason)
{
	if (exit_reason == VCPUSTAT_USER_OTHER)
		return "other";
	for (size_t i = 0; i < sizeof(kvm_exits) / sizeof(kvm_exits[0]); i++)
		if (kvm_exits[i].code == exit_reason)
			return kvm_exits[i].name;
	return "?";
}

void jw_budget(struct jw *w, const struct vs_budget *b, bool delta)
{
	char key[24];

	jw_obj_open(w);
	for (uint32_t s = VCPUSTAT_STATE_GUEST; s <= VCPUSTAT_STATE_MAX; s++) {
		snprintf(key, sizeof(key), "%s_ns%s", state_names[s],
			 delta ? "_delta" : "");
		jw_ku64(w, key, b->ns[s]);
	}
	jw_key(w, "state");
	if (vs_state_name(b->state))
		jw_str(w, vs_state_name(b->state));
	else
		jw_null(w);
	jw_ku64(w, "open_ns", b->open_ns);
	jw_ku64(w, "at_ns", b->at_ns);
	jw_key(w, "user");
	jw_arr_open(w);
	for (size_t i = 0; i < b->nr_user; i++) {
		const struct vs_user_exit *u = &b->user[i];

		jw_obj_open(w);
		jw_key(w, "exit_reason");
		if (u->exit_reason == VCPUSTAT_USER_OTHER)
			jw_null(w);
		else
			jw_u64(w, u->exit_reason);
		jw_kstr(w, "name", vs_kvm_exit_name(u->exit_reason));
		jw_ku64(w, "count", u->count);
		jw_ku64(w, "ns", u->ns);
		jw_obj_close(w);
	}
	jw_arr_close(w);
	jw_obj_close(w);
}

static uint64_t budget_sum(const struct vs_budget *b)
{
	uint64_t sum = 0;

	for (int s = VCPUSTAT_STATE_GUEST; s <= VCPUSTAT_STATE_MAX; s++)
		sum += b->ns[s];
	return sum;
}

bool vs_budget_reset(const struct vs_budget *cur, const struct vs_budget *prev)
{
	return !prev || !prev->valid || budget_sum(cur) < budget_sum(prev);
}

void vs_budget_mono(struct vs_budget *cur, const struct vs_budget *prev)
{
	if (!cur->valid || vs_budget_reset(cur, prev))
		return;
	for (int s = VCPUSTAT_STATE_GUEST; s <= VCPUSTAT_STATE_MAX; s++)
		if (cur->ns[s] < prev->ns[s])
			cur->ns[s] = prev->ns[s];
}

bool vs_budget_pct(const struct vs_budget *cur, const struct vs_budget *prev,
		   double pct[VCPUSTAT_STATE_MAX + 1])
{
	uint64_t d[VCPUSTAT_STATE_MAX + 1] = { 0 }, sum = 0;
	bool reset;

	memset(pct, 0, sizeof(double) * (VCPUSTAT_STATE_MAX + 1));
	if (!cur->valid)
		return false;
	reset = vs_budget_reset(cur, prev);
	for (int s = VCPUSTAT_STATE_GUEST; s <= VCPUSTAT_STATE_MAX; s++) {
		/* A state that went down (see vs_budget_mono()) added none. */
		if (reset)
			d[s] = cur->ns[s];
		else if (cur->ns[s] > prev->ns[s])
			d[s] = cur->ns[s] - prev->ns[s];
		sum += d[s];
	}
	if (!sum)
		return false;
	for (int s = VCPUSTAT_STATE_GUEST; s <= VCPUSTAT_STATE_MAX; s++)
		pct[s] = 100.0 * (double)d[s] / (double)sum;
	return true;
}

void vs_budget_cols_header(FILE *f)
{
	for (int s = VCPUSTAT_STATE_GUEST; s <= VCPUSTAT_STATE_MAX; s++)
		fprintf(f, " %%%-5s", state_names[s]);
}

void vs_budget_cols(FILE *f, const struct vs_budget *cur,
		    const struct vs_budget *prev)
{
	double pct[VCPUSTAT_STATE_MAX + 1];
	bool ok = vs_budget_pct(cur, prev, pct);

	for (int s = VCPUSTAT_STATE_GUEST; s <= VCPUSTAT_STATE_MAX; s++) {
		if (ok)
			fprintf(f, " %6.1f", pct[s]);
		else
			fprintf(f, " %6s", "-");
	}
}

void jw_budget_pct(struct jw *w, const char *key, const struct vs_budget *cur,
		   const struct vs_budget *prev)
{
	double pct[VCPUSTAT_STATE_MAX + 1];

	jw_key(w, key);
	if (!vs_budget_pct(cur, prev, pct)) {
		jw_null(w);
		return;
	}
	jw_obj_open(w);
	for (int s = VCPUSTAT_STATE_GUEST; s <= VCPUSTAT_STATE_MAX; s++)
		jw_kdouble(w, state_names[s], pct[s]);
	jw_obj_close(w);
}

void vs_snapshot_budget_mono(struct vs_snapshot *cur,
			     const struct vs_snapshot *prev)
{
	for (size_t i = 0; i < cur->nr_vms; i++) {
		struct vs_vm *vm = &cur->vms[i];

		for (size_t v = 0; v < vm->nr_vcpus; v++) {
			struct vs_vcpu *vc = &vm->vcpus[v];
			const struct vs_vcpu *p =
				vs_snapshot_find_vcpu(prev, vm->id, vc->vcpu_id);

			if (p)
				vs_budget_mono(&vc->budget, &p->budget);
		}
	}
}

void vs_budget_add(struct vs_budget *acc, const struct vs_budget *b)
{
	if (!b || !b->valid)
		return;
	acc->valid = true;
	for (int s = VCPUSTAT_STATE_GUEST; s <= VCPUSTAT_STATE_MAX; s++)
		acc->ns[s] += b->ns[s];
}

int vs_budget_line(char *buf, size_t len, const struct vs_budget *cur,
		   const struct vs_budget *prev)
{
	double pct[VCPUSTAT_STATE_MAX + 1];
	size_t off;

	if (!vs_budget_pct(cur, prev, pct))
		return snprintf(buf, len, "time: -");
	off = (size_t)snprintf(buf, len, "time %%:");
	for (int s = VCPUSTAT_STATE_GUEST; s <= VCPUSTAT_STATE_MAX && off < len;
	     s++)
		off += (size_t)snprintf(buf + off, len - off, " %s %.1f",
					state_names[s], pct[s]);
	return (int)off;
}
