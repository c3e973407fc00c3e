#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""atomic-check: prove that nothing reachable from vcpustat's probe and
kprobe entry points can sleep or allocate.

Tracepoint probes run with preemption off (VMX kvm_exit with IRQs off too)
and the kvm_destroy_vm kprobe and KVM_RUN's hooks likewise. On PREEMPT_RT, spinlock_t,
rwlock_t, local_lock_t and the slab allocator's locks sleep, and Debian's
kernels lack CONFIG_DEBUG_ATOMIC_SLEEP, so a clean RT boot proves nothing.
This check is static: the module is compiled against a kernel's headers
(the RT ones, where spin_lock() becomes rt_spin_lock()) with GCC's
-fcallgraph-info, and the call graph is walked from the entry points. It
fails when the walk reaches
  - a function known to sleep or allocate (DENY below), or
  - an external function that nobody has reviewed (not in ALLOW below), or
  - an indirect call (the graph cannot follow it).
Usage: atomic-check.py DIR_WITH_.ci_FILES   (KTAP on stdout; exit 0/1)
"""
import re
import sys
from collections import deque
from pathlib import Path

# Where the module is entered in atomic context: each group must have at
# least one function in the graph (kvm_entry's probe exists in one of two
# prototypes, and the unused one is optimized away; KVM_RUN's start and end
# are tracepoint probes on x86, kretprobe handlers on arm64).
ENTRIES = [("vs_probe_exit",), ("vs_probe_entry", "vs_probe_entry_bool"),
           ("vs_destroy_pre",), ("vs_probe_fpu", "vs_run_enter"),
           ("vs_probe_userspace_exit", "vs_run_return")]

# Sleeps on PREEMPT_RT, sleeps anywhere, or allocates.
DENY = re.compile(r"""^(
    rt_spin_lock.* | rt_read_lock.* | rt_write_lock.* | rt_mutex.* |
    mutex_lock.* | __mutex.* | down | down_.* | up_read | up_write |
    __?kmalloc.* | kmalloc_.* | kmem_cache_alloc.* | __?kvmalloc.* |
    vmalloc.* | __vmalloc.* | __?alloc_pages.* | __get_free_pages |
    __?alloc_percpu.* | pcpu_alloc | kfree | kvfree | kmem_cache_free |
    free_percpu | __alloc_skb | genlmsg_new | alloc_skb.* |
    schedule.* | msleep.* | usleep_range.* | ssleep | synchronize_.* |
    __?might_sleep | __might_resched | __?cond_resched.* |
    wait_for_completion.* | flush_work | flush_workqueue |
    __flush_workqueue | cancel_.*_sync | __get_task_comm |
    kvm_put_kvm | _copy_from_user | _copy_to_user | copy_from_user |
    copy_to_user | local_lock.* | rt_.*
)$""", re.X)

# External functions reviewed as safe with preemption and IRQs off on
# PREEMPT_RT too. Add one only after reading its code on every kernel.
ALLOW = {
    "_raw_spin_lock_irqsave": "raw spinlock",
    "_raw_spin_unlock_irqrestore": "raw spinlock",
    "queued_spin_lock_slowpath": "raw spinlock's slow path, spins (arm64 "
                                 "inlines raw_spin_lock_irqsave)",
    "queue_work_on": "workqueue pool locks are raw",
    "ktime_get_mono_fast_ns": "NMI-safe clock",
    "ktime_get": "seqcount read, no lock",
    "kvm_get_kvm": "refcount_inc",
    "kvm_get_running_vcpu": "per-CPU read between preempt_disable/enable",
    "__list_add_valid": "list debugging",
    "__list_add_valid_or_report": "list debugging",
    "__list_del_entry_valid": "list debugging",
    "__list_del_entry_valid_or_report": "list debugging",
    "_printk": "printk is safe in any context (deferred console on RT)",
    "__warn_printk": "WARN: printk",
    "__stack_chk_fail": "never returns",
    "__ubsan_handle_out_of_bounds": "sanitizer report",
    "__fentry__": "ftrace entry",
    "__x86_return_thunk": "return thunk",
    "__x86_indirect_thunk_rax": "retpoline: see the indirect-call rule",
    "memset": "string op",
    "memcpy": "string op",
    "__virt_addr_valid": "arithmetic on the address",
    "get_llc_id": "per-CPU read",
    "ksize": "reads the slab cache's object size, no lock",
    "__sanitizer_cov_trace_pc": "kcov",
}


def parse(files):
    edges = {}
    defined = set()
    for f in files:
        for line in f.read_text(errors="replace").splitlines():
            m = re.match(r'node: \{ title: "([^"]+)" label: "[^"]*"(.*)\}', line)
            if m and "shape : ellipse" not in m.group(2):
                defined.add(m.group(1))
                continue
            m = re.match(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"', line)
            if m:
                edges.setdefault(m.group(1), set()).add(m.group(2))
    return edges, defined


def short(name):
    return name.rsplit(":", 1)[-1]


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    files = sorted(Path(sys.argv[1]).rglob("*.ci"))
    edges, defined = parse(files)
    print("KTAP version 1")
    if not files:
        print("1..1\nnot ok 1 atomic-check: no .ci files in %s" % sys.argv[1])
        return 1
    print("1..%d" % len(ENTRIES))
    bad = 0
    for n, group in enumerate(ENTRIES, 1):
        roots = sorted(d for d in defined if short(d) in group)
        name = "/".join(group)
        if not roots:
            print("not ok %d %s: no entry point in the call graph" % (n, name))
            bad += 1
            continue
        # Breadth first, with parents for a readable path.
        parent = dict.fromkeys(roots)
        q = deque(roots)
        problems = []
        while q:
            f = q.popleft()
            for g in sorted(edges.get(f, ())):
                if g in parent:
                    continue
                parent[g] = f
                s = short(g)
                why = None
                if "indirect" in g.lower():
                    why = "indirect call"
                elif DENY.match(s):
                    why = "may sleep or allocate"
                elif g not in defined and s not in ALLOW:
                    why = "external call not reviewed (ALLOW in scripts/atomic-check.py)"
                if why:
                    path = []
                    x = g
                    while x is not None:
                        path.append(short(x))
                        x = parent[x]
                    problems.append("%s: %s" % (why, " <- ".join(path)))
                elif g in defined:
                    q.append(g)
        for p in problems:
            print("# %s" % p)
        if problems:
            bad += 1
            print("not ok %d %s: reaches code that may sleep, allocate or is unknown" % (n, name))
        else:
            print("ok %d %s: %d functions reachable, none sleeps or allocates" %
                  (n, name, len(parent)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
