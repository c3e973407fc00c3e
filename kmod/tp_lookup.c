// SPDX-License-Identifier: GPL-2.0
/*
 * KVM's kvm_exit and kvm_entry tracepoints, and the two that mark KVM_RUN
 * for the time budget, found by name.
 *
 * x86 KVM exports kvm_exit and kvm_entry (EXPORT_TRACEPOINT_SYMBOL_GPL in
 * x86.c), and the module links against the objects, which also makes
 * kvm.ko a dependency that cannot unload under us. The rest are looked up:
 * in the kernel image with for_each_kernel_tracepoint() (arm64: Debian
 * builds KVM in, CONFIG_KVM=y), or, where KVM is a module, among kvm.ko's
 * own tracepoints (mod->tracepoints_ptrs), which the tracepoint module
 * notifier hands over for every loaded module when it is registered. The
 * module is then pinned with a reference for as long as we are loaded:
 * its tracepoints cannot go while our probes are on them, and kvm.ko
 * loaded later is not picked up (load it first; vs_tp_lookup() says so).
 * kvm_fpu (x86) and kvm_userspace_exit are optional: without them the
 * budget counts time out of KVM_RUN as exit handling (probe_run.c).
 */
#include <linux/module.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include "compat.h"
#include "vcpustat.h"

struct tracepoint *vs_tp_kvm_exit;
struct tracepoint *vs_tp_kvm_entry;
struct tracepoint *vs_tp_kvm_fpu;
struct tracepoint *vs_tp_kvm_userspace_exit;

static struct module *vs_tp_owner;	/* kvm.ko, pinned; NULL if built in */

#ifdef VS_KVM_ARM64
/*
 * Test only (selftests/arm64_test.sh): look for a kvm_exit no kernel has,
 * to prove that the load is then refused with a message.
 */
static bool vs_test_no_tp;
module_param_named(test_no_tracepoint, vs_test_no_tp, bool, 0444);
MODULE_PARM_DESC(test_no_tracepoint,
		 "test only: find no kvm_exit tracepoint (the load must fail)");
#else
static const bool vs_test_no_tp;
#endif

static void vs_tp_match(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, vs_test_no_tp ? "vcpustat_test_none" : "kvm_exit"))
		vs_tp_kvm_exit = tp;
	else if (!strcmp(tp->name, "kvm_entry"))
		vs_tp_kvm_entry = tp;
	else if (!strcmp(tp->name, "kvm_fpu"))
		vs_tp_kvm_fpu = tp;
	else if (!strcmp(tp->name, "kvm_userspace_exit"))
		vs_tp_kvm_userspace_exit = tp;
}

#if IS_MODULE(CONFIG_KVM)
/* Called for each loaded module as it is registered, and for new ones. */
static int vs_tp_module_cb(struct notifier_block *nb, unsigned long val,
			   void *data)
{
	struct tp_module *tp_mod = data;
	struct module *mod = tp_mod->mod;
	unsigned int i;

	if (val != MODULE_STATE_COMING || vs_tp_owner ||
	    strcmp(mod->name, "kvm"))
		return NOTIFY_OK;
	for (i = 0; i < mod->num_tracepoints; i++)
		vs_tp_match(tracepoint_ptr_deref(&mod->tracepoints_ptrs[i]),
			    NULL);
	if (!vs_tp_kvm_exit && !vs_tp_kvm_userspace_exit)
		return NOTIFY_OK;
	/* Going away already: none of its tracepoints is ours to use. */
	if (!try_module_get(mod)) {
		vs_tp_kvm_exit = NULL;
		vs_tp_kvm_entry = NULL;
		vs_tp_kvm_fpu = NULL;
		vs_tp_kvm_userspace_exit = NULL;
		return NOTIFY_OK;
	}
	vs_tp_owner = mod;
	return NOTIFY_OK;
}

static struct notifier_block vs_tp_nb = {
	.notifier_call = vs_tp_module_cb,
};

static void vs_tp_lookup_modules(void)
{
	/* Registering replays COMING for every loaded module: kvm's now. */
	if (!register_tracepoint_module_notifier(&vs_tp_nb))
		unregister_tracepoint_module_notifier(&vs_tp_nb);
}
#else
static void vs_tp_lookup_modules(void)
{
}
#endif

int vs_tp_lookup(void)
{
	for_each_kernel_tracepoint(vs_tp_match, NULL);
	if (!vs_tp_kvm_userspace_exit)
		vs_tp_lookup_modules();
#ifndef VS_KVM_ARM64
	/* x86: the exported objects (declared in compat.h), the same ones. */
	vs_tp_kvm_exit = &__tracepoint_kvm_exit;
	vs_tp_kvm_entry = &__tracepoint_kvm_entry;
#endif
	if (!vs_tp_kvm_exit || !vs_tp_kvm_entry) {
		pr_err("vcpustat: KVM's kvm_exit/kvm_entry tracepoints not found (%s): nothing to trace\n",
		       IS_MODULE(CONFIG_KVM) ? "load kvm first" :
		       "KVM not built in, or the events renamed");
		vs_tp_release();
		return -ENODEV;
	}
	return 0;
}

void vs_tp_release(void)
{
	vs_tp_kvm_exit = NULL;
	vs_tp_kvm_entry = NULL;
	vs_tp_kvm_fpu = NULL;
	vs_tp_kvm_userspace_exit = NULL;
	if (vs_tp_owner)
		module_put(vs_tp_owner);
	vs_tp_owner = NULL;
}
