// SPDX-License-Identifier: GPL-2.0
/*
 * vcpustat: per-vCPU KVM exit accounting by reason, exit timing and vCPU
 * migration tracking, exported through the "vcpustat" generic netlink
 * family. See README.md for the design and include/uapi/linux/vcpustat.h
 * for the interface.
 */
#include <linux/module.h>
#include "compat.h"
#include "vcpustat.h"

unsigned int vs_max_vcpus = 4096;
module_param_named(max_vcpus, vs_max_vcpus, uint, 0444);
MODULE_PARM_DESC(max_vcpus,
		 "vCPUs tracked at most; exits of further vCPUs are counted as overflow (default 4096)");

struct vs_config vs_cfg = {
	.snapshot_ms = 1000,
	.migr_rate = 1000,
	.timing_every = 1,
	.timing = true,
	.budget = true,
};
module_param_named(snapshot_ms, vs_cfg.snapshot_ms, uint, 0444);
MODULE_PARM_DESC(snapshot_ms,
		 "initial DELTA_NTF period in ms, 0 = off (runtime: SET_CONFIG)");
module_param_named(timing, vs_cfg.timing, bool, 0444);
MODULE_PARM_DESC(timing, "initially time exits (runtime: SET_CONFIG)");
module_param_named(budget, vs_cfg.budget, bool, 0444);
MODULE_PARM_DESC(budget,
		 "initially keep each vCPU's time budget (runtime: SET_CONFIG)");
module_param_named(timing_every, vs_cfg.timing_every, uint, 0444);
MODULE_PARM_DESC(timing_every,
		 "initially time one exit in N, at random; 1 = every exit (runtime: SET_CONFIG)");
module_param_named(migr_rate, vs_cfg.migr_rate, uint, 0444);
MODULE_PARM_DESC(migr_rate,
		 "initial max MIGRATE_NTF per second, 0 = none (runtime: SET_CONFIG)");

/*
 * Test only (selftests): fail init after everything but the family is up,
 * to prove that a failed load leaves nothing behind and that no request
 * can reach a module that is about to be freed.
 */
static bool vs_test_fail_init;
module_param_named(test_fail_init, vs_test_fail_init, bool, 0444);
MODULE_PARM_DESC(test_fail_init, "test only: fail the load at its last step");

/*
 * The family goes live last, as in WireGuard: once userspace can send a
 * request or start a dump (which pins the module), nothing can fail, so a
 * failed load never frees a module that a request still runs in. The tick
 * starts after it (it asks the family for listeners). Teardown is the
 * reverse, and safe at any moment: no request or tick is left when the
 * probes go, and tracepoint_synchronize_unregister() waits for running
 * probes before the tables and our VM references are released.
 */
static int __init vs_init(void)
{
	int err;

	if (!vs_arch_has_virt()) {
		pr_err("vcpustat: this CPU has neither SVM nor VMX; nothing to trace\n");
		return -ENODEV;
	}
	if (!vs_max_vcpus || !vs_pool_vcpus ||
	    (vs_cfg.snapshot_ms && vs_cfg.snapshot_ms < 100) ||
	    !vs_cfg.timing_every || vs_cfg.timing_every > VS_TIMING_EVERY_MAX) {
		pr_err("vcpustat: max_vcpus and pool_vcpus must be > 0, snapshot_ms 0 or >= 100, timing_every 1..%u\n",
		       VS_TIMING_EVERY_MAX);
		return -EINVAL;
	}
	err = vs_track_init();
	if (err)
		return err;
	err = vs_probes_register();
	if (err) {
		pr_err("vcpustat: cannot attach to kvm_exit (or kvm_entry, for timing): %d\n",
		       err);
		goto err_track;
	}
	if (vs_test_fail_init) {
		pr_info("vcpustat: test_fail_init: failing the load\n");
		err = -EAGAIN;
		goto err_probes;
	}
	err = vs_netlink_init();
	if (err)
		goto err_probes;
	vs_events_start(&vs_genl_family);
	pr_info("vcpustat %s loaded: max_vcpus=%u\n", VCPUSTAT_VERSION,
		vs_max_vcpus);
	return 0;

err_probes:
	vs_probes_unregister();
err_track:
	vs_track_exit();
	return err;
}

static void __exit vs_exit(void)
{
	vs_events_stop();
	vs_netlink_exit();
	vs_probes_unregister();
	vs_track_exit();
}

module_init(vs_init);
module_exit(vs_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("The vcpustat authors");
MODULE_DESCRIPTION("Per-vCPU KVM exit accounting over generic netlink");
MODULE_VERSION(VCPUSTAT_VERSION);
