/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR MIT) */
/*
 * vcpustat: per-vCPU KVM exit accounting, exported over generic netlink.
 *
 * This header is the one contract between vcpustat.ko and its clients.
 *
 * Family "vcpustat", version 1. Every command needs CAP_NET_ADMIN in the
 * initial user namespace, and so does joining the "events" multicast group
 * (where the kernel supports GENL_MCAST_CAP_NET_ADMIN). The family exists
 * only in the initial network namespace. Attribute numbering starts at 1;
 * unknown attributes are rejected (strict validation). All u64 values are
 * padded with their level's *_PAD attribute (nla_put_u64_64bit).
 *
 * Commands and their attribute trees
 * ----------------------------------
 *
 * VCPUSTAT_CMD_GET_VM: dump (NLM_F_DUMP) or do. One message per VM.
 *   request:  VCPUSTAT_A_VM_ID (u64, optional filter)
 *             VCPUSTAT_A_PID   (u32, optional filter: creator pid)
 *   reply:    VCPUSTAT_A_VM: NLA_NESTED, vcpustat_vm_attr
 *
 * VCPUSTAT_CMD_GET_VCPU: dump only. One message per vCPU, VMs in ascending
 * id order, vCPUs in ascending KVM vcpu_idx order. A dump that spans a VM
 * appearing or disappearing is flagged NLM_F_DUMP_INTR (the generation is
 * checked with genl_dump_check_consistent()); the client should restart.
 *   Residency is sent for the CPUs a vCPU ran on only. A vCPU whose
 *   residency does not fit one message (some 430 CPUs in a 16 KiB dump
 *   buffer) is split: its first message carries everything and the
 *   residency of its lowest CPUs; each following message carries
 *   VCPUSTAT_A_VM_ID, VCPUSTAT_A_PID and a VCPUSTAT_A_VCPU nest with the
 *   identity, VCPUSTAT_VCPU_A_CONTINUED and the next residency entries, in
 *   ascending CPU order. Parts of one vCPU are consecutive in the dump;
 *   the client appends a continued part's residency to the vCPU before it.
 *   request:  VCPUSTAT_A_VM_ID (u64, optional), VCPUSTAT_A_PID (u32,
 *             optional), VCPUSTAT_A_VCPU_ID (u32, optional)
 *   reply:    VCPUSTAT_A_VM_ID, VCPUSTAT_A_PID,
 *             VCPUSTAT_A_VCPU: NLA_NESTED, vcpustat_vcpu_attr
 *
 * VCPUSTAT_CMD_RESET: do. Zero the counters of every vCPU, or of one VM.
 *   request:  VCPUSTAT_A_VM_ID (u64, optional)
 *   A reset takes effect atomically at each vCPU's next exit; until then
 *   dumps already report that vCPU as zeroed. Identity, current pCPU and
 *   module-wide status counters are not reset.
 *
 * VCPUSTAT_CMD_GET_CONFIG: do.
 *   reply:    VCPUSTAT_A_CONFIG: NLA_NESTED, vcpustat_config_attr
 *             VCPUSTAT_A_STATUS: NLA_NESTED, vcpustat_status_attr
 *
 * VCPUSTAT_CMD_SET_CONFIG: do.
 *   request:  VCPUSTAT_A_CONFIG: NLA_NESTED, any subset of
 *             vcpustat_config_attr
 *
 * Notifications, multicast group VCPUSTAT_MCGRP_EVENTS. Every message
 * carries VCPUSTAT_A_SEQ, one counter for the whole group, incremented for
 * every notification the module tries to send: a gap means loss (the
 * listener's socket overflowed, or the module could not allocate).
 *
 * VCPUSTAT_CMD_VM_NEW_NTF: a VM was first seen.
 *   VCPUSTAT_A_SEQ, VCPUSTAT_A_VM (nest, vcpustat_vm_attr)
 * VCPUSTAT_CMD_VM_GONE_NTF: a VM was destroyed; final totals.
 *   VCPUSTAT_A_SEQ, VCPUSTAT_A_VM (nest, vcpustat_vm_attr)
 * VCPUSTAT_CMD_MIGRATE_NTF: a vCPU exited on another pCPU than its previous
 *   exit (migrations and residency are counted at kvm_exit, on the CPU
 *   that handles the exit).
 *   VCPUSTAT_A_SEQ, VCPUSTAT_A_VM_ID, VCPUSTAT_A_PID,
 *   VCPUSTAT_A_MIGRATION (nest, vcpustat_migration_attr)
 * VCPUSTAT_CMD_DELTA_NTF: per-vCPU deltas, checked every snapshot_ms.
 *   VCPUSTAT_A_SEQ, VCPUSTAT_A_VM_ID, VCPUSTAT_A_PID,
 *   VCPUSTAT_A_VCPU (nest, vcpustat_vcpu_attr; counters are deltas since the
 *   previous DELTA_NTF of that vCPU, VCPUSTAT_VCPU_A_INTERVAL_NS is the
 *   period they were counted in)
 *   Only a vCPU whose counters changed in the period sends one, so the
 *   counters of a DELTA all moved within its interval; with
 *   VCPUSTAT_CONFIG_A_HEARTBEAT_MS an unchanged vCPU also sends an
 *   all-zero DELTA that long after its previous one. A RESET restarts the
 *   counting from zero: the next DELTA counts what the vCPU did after the
 *   reset (what it did between its previous DELTA and the reset is gone).
 *
 * Exit handling time is measured from kvm_exit to the next kvm_entry of the
 * same vCPU. It therefore includes time spent in userspace (e.g. QEMU
 * emulating an I/O port) and time the vCPU thread waited to be scheduled.
 */

#ifndef _UAPI_LINUX_VCPUSTAT_H
#define _UAPI_LINUX_VCPUSTAT_H

#define VCPUSTAT_GENL_NAME		"vcpustat"
#define VCPUSTAT_GENL_VERSION		1
/*
 * The uapi revision: attributes and enumerators are only ever appended, so
 * the sum of every enum's _MAX below (__VCPUSTAT_UAPI_SUM) grows with each
 * addition and names one revision of this header. The module reports it
 * (VCPUSTAT_STATUS_A_UAPI_REVISION); a tool compares it with its own to
 * say which side is older. The literal is asserted against the sum at
 * build time on both sides: whoever appends, bumps it.
 */
#define VCPUSTAT_UAPI_REVISION		147
#define VCPUSTAT_MCGRP_EVENTS		"events"

/* Values of VCPUSTAT_REASON_A_ISA: the same numbers as KVM's kvm_exit isa. */
#define VCPUSTAT_ISA_VMX		1
#define VCPUSTAT_ISA_SVM		2
/*
 * arm64 (KVM's kvm_exit there has no isa; this value is vcpustat's own).
 * A trap exit's code is its exception class (ESR_ELx_EC, as the event's
 * esr_ec); any other exit's is VCPUSTAT_ARM64_NOTRAP | ARM_EXCEPTION_CODE
 * (0 IRQ, 1 EL1_SERROR, 3 illegal, as the event's ret).
 */
#define VCPUSTAT_ISA_ARM64		3
#define VCPUSTAT_ARM64_NOTRAP		0x80000000U

/*
 * Exits whose reason could not be read (the vendor layout check failed) are
 * counted under this code with the exit's isa; it is not a hardware code.
 */
#define VCPUSTAT_CODE_UNKNOWN		0xfffffffeU
/* Exits of reasons beyond a vCPU's reason table are counted under this. */
#define VCPUSTAT_CODE_OTHER		0xfffffffdU

/*
 * Exit time histogram: bucket i counts times t with 2^i <= t < 2^(i+1) ns;
 * bucket 0 also holds t == 0 and the last bucket everything above. In
 * VCPUSTAT_VCPU_A_HIST, attribute i + 1 is bucket i as a u64; empty
 * buckets are left out, and attribute 0 (if present) is padding.
 */
#define VCPUSTAT_HIST_BUCKETS		40

enum vcpustat_cmd {
	VCPUSTAT_CMD_UNSPEC,
	VCPUSTAT_CMD_GET_VM,
	VCPUSTAT_CMD_GET_VCPU,
	VCPUSTAT_CMD_RESET,
	VCPUSTAT_CMD_GET_CONFIG,
	VCPUSTAT_CMD_SET_CONFIG,
	VCPUSTAT_CMD_VM_NEW_NTF,
	VCPUSTAT_CMD_VM_GONE_NTF,
	VCPUSTAT_CMD_MIGRATE_NTF,
	VCPUSTAT_CMD_DELTA_NTF,
	__VCPUSTAT_CMD_MAX
};

#define VCPUSTAT_CMD_MAX (__VCPUSTAT_CMD_MAX - 1)

/* Top-level attributes. */
enum vcpustat_attr {
	VCPUSTAT_A_UNSPEC,
	VCPUSTAT_A_PAD,
	VCPUSTAT_A_SEQ,			/* u64 */
	VCPUSTAT_A_VM_ID,		/* u64 */
	VCPUSTAT_A_PID,			/* u32 */
	VCPUSTAT_A_VCPU_ID,		/* u32 */
	VCPUSTAT_A_VM,			/* nest: vcpustat_vm_attr */
	VCPUSTAT_A_VCPU,		/* nest: vcpustat_vcpu_attr */
	VCPUSTAT_A_MIGRATION,		/* nest: vcpustat_migration_attr */
	VCPUSTAT_A_CONFIG,		/* nest: vcpustat_config_attr */
	VCPUSTAT_A_STATUS,		/* nest: vcpustat_status_attr */
	__VCPUSTAT_A_MAX
};

#define VCPUSTAT_A_MAX (__VCPUSTAT_A_MAX - 1)

enum vcpustat_vm_attr {
	VCPUSTAT_VM_A_UNSPEC,
	VCPUSTAT_VM_A_PAD,
	VCPUSTAT_VM_A_ID,		/* u64: module-assigned, never reused */
	VCPUSTAT_VM_A_PID,		/* u32: kvm->userspace_pid */
	VCPUSTAT_VM_A_COMM,		/* string: comm of the creator process */
	VCPUSTAT_VM_A_STATS_ID,		/* string: KVM's "kvm-<pid>" */
	VCPUSTAT_VM_A_NR_VCPUS,		/* u32: vCPUs tracked */
	VCPUSTAT_VM_A_EXITS,		/* u64: sum over its vCPUs */
	VCPUSTAT_VM_A_MIGRATIONS,	/* u64: sum over its vCPUs */
	VCPUSTAT_VM_A_EXIT_TIME_NS,	/* u64: sum over its vCPUs */
	VCPUSTAT_VM_A_AGE_NS,		/* u64: since first seen */
	VCPUSTAT_VM_A_UNTRACKED_EXITS,	/* u64: exits of vCPUs without a record
					 * (over the cap, or none ready), since
					 * the last reset
					 */
	__VCPUSTAT_VM_A_MAX
};

#define VCPUSTAT_VM_A_MAX (__VCPUSTAT_VM_A_MAX - 1)

enum vcpustat_vcpu_attr {
	VCPUSTAT_VCPU_A_UNSPEC,
	VCPUSTAT_VCPU_A_PAD,
	VCPUSTAT_VCPU_A_ID,		/* u32: KVM vcpu_id */
	VCPUSTAT_VCPU_A_IDX,		/* u32: KVM vcpu_idx */
	VCPUSTAT_VCPU_A_TID,		/* u32: thread that last ran it */
	VCPUSTAT_VCPU_A_PCPU,		/* u32: pCPU of the last exit */
	VCPUSTAT_VCPU_A_EXITS,		/* u64 */
	VCPUSTAT_VCPU_A_UNUSED,		/* was guest entries; not sent */
	VCPUSTAT_VCPU_A_MIGRATIONS,	/* u64: all distances */
	VCPUSTAT_VCPU_A_MIGR_SMT,	/* u64: to an SMT sibling */
	VCPUSTAT_VCPU_A_MIGR_LLC,	/* u64: same last-level cache */
	VCPUSTAT_VCPU_A_MIGR_NODE,	/* u64: same NUMA node */
	VCPUSTAT_VCPU_A_MIGR_REMOTE,	/* u64: another NUMA node */
	VCPUSTAT_VCPU_A_EXIT_TIME_NS,	/* u64: sum of timed exits */
	VCPUSTAT_VCPU_A_TIMED_EXITS,	/* u64: exits with a time */
	VCPUSTAT_VCPU_A_REASONS,	/* nest of VCPUSTAT_REASON_ENTRY */
	VCPUSTAT_VCPU_A_HIST,		/* nest: attr i+1 = u64 bucket i */
	VCPUSTAT_VCPU_A_RESIDENCY,	/* nest of VCPUSTAT_RESIDENCY_ENTRY */
	VCPUSTAT_VCPU_A_INTERVAL_NS,	/* u64: DELTA_NTF only */
	VCPUSTAT_VCPU_A_ISA,		/* u32: VCPUSTAT_ISA_* */
	VCPUSTAT_VCPU_A_RESETS,		/* u32: RESETs requested so far */
	/* flag: GET_VCPU part continuing a split vCPU (see GET_VCPU) */
	VCPUSTAT_VCPU_A_CONTINUED,
	VCPUSTAT_VCPU_A_BUDGET,		/* nest: vcpustat_budget_attr */
	__VCPUSTAT_VCPU_A_MAX
};

#define VCPUSTAT_VCPU_A_MAX (__VCPUSTAT_VCPU_A_MAX - 1)

/* Inside VCPUSTAT_VCPU_A_REASONS: repeated VCPUSTAT_REASON_ENTRY nests. */
#define VCPUSTAT_REASON_ENTRY		1

enum vcpustat_reason_attr {
	VCPUSTAT_REASON_A_UNSPEC,
	VCPUSTAT_REASON_A_PAD,
	VCPUSTAT_REASON_A_ISA,		/* u32: VCPUSTAT_ISA_* */
	VCPUSTAT_REASON_A_CODE,		/* u32: hardware exit code */
	VCPUSTAT_REASON_A_COUNT,	/* u64 */
	VCPUSTAT_REASON_A_TIMED,	/* u64: exits of it with a time */
	VCPUSTAT_REASON_A_TIME_SUM_NS,	/* u64 */
	VCPUSTAT_REASON_A_TIME_MIN_NS,	/* u64: absent if TIMED == 0 */
	VCPUSTAT_REASON_A_TIME_MAX_NS,	/* u64: absent if TIMED == 0 */
	/*
	 * u64: the time budget's "exit" state spent on this reason's exits:
	 * KVM in the kernel, without the userspace, halt and wait parts.
	 */
	VCPUSTAT_REASON_A_HANDLE_NS,
	/*
	 * Details (VCPUSTAT_CONFIG_A_DETAIL on), for the reasons that have a
	 * second-level key: KEY_KIND says how to read the keys, KEYS holds
	 * up to VCPUSTAT_CONFIG_A_DETAIL_K of them with exact counts, and
	 * KEYS_OTHER the rest: exits of other keys, and those counted before
	 * details were switched on. The counts of KEYS plus KEYS_OTHER equal
	 * COUNT (exactly, for a vCPU not running meanwhile). The keys kept
	 * are the first distinct ones the vCPU met since details were
	 * switched on or it was reset, which for a steady workload are the
	 * frequent ones: a key, once kept, is never evicted (its count stays
	 * exact).
	 */
	VCPUSTAT_REASON_A_KEY_KIND,	/* u32: enum vcpustat_key_kind */
	VCPUSTAT_REASON_A_KEYS,		/* nest of VCPUSTAT_KEY_ENTRY */
	VCPUSTAT_REASON_A_KEYS_OTHER,	/* u64 */
	/*
	 * u64 buckets of this reason's exit times (see
	 * VCPUSTAT_RHIST_BUCKETS), attribute i + 1 = bucket i, empty ones
	 * left out; absent when details are off or the vCPU's reason
	 * histograms are all taken.
	 */
	VCPUSTAT_REASON_A_HIST,
	__VCPUSTAT_REASON_A_MAX
};

#define VCPUSTAT_REASON_A_MAX (__VCPUSTAT_REASON_A_MAX - 1)

/*
 * Per-reason exit time histogram: bucket 0 counts t < 2^(SHIFT + 1) ns,
 * bucket i (0 < i < BUCKETS - 1) 2^(SHIFT + i) <= t < 2^(SHIFT + i + 1),
 * the last bucket everything above (SHIFT 8: 512 ns up to 134 ms).
 */
#define VCPUSTAT_RHIST_BUCKETS		20
#define VCPUSTAT_RHIST_SHIFT		8

/*
 * How VCPUSTAT_KEY_A_KEY encodes a second-level key (VCPUSTAT_REASON_A_KEY_KIND).
 * IO: bits 15:0 port, 23:16 size in bytes, bit 24 direction (1 = in),
 *     bit 25 string (INS/OUTS); SVM exit_info_1, VMX exit qualification.
 * MSR: bits 31:0 index (RCX), bit 32 write (1 = WRMSR).
 * CPUID: bits 31:0 leaf (EAX), 63:32 subleaf (ECX).
 * HYPERCALL: RAX as the guest set it (KVM's kvm_hypercall "nr").
 * EXCEPTION: bits 7:0 vector (VMX: of an exception or NMI).
 * INTR: bits 7:0 vector of the external interrupt (VMX only; SVM does not
 *       report it).
 * GPA: the guest-physical page (address & ~0xfff) of a nested page
 *      fault / EPT violation / EPT misconfiguration. A dump (GET_VCPU)
 *      also says where the page is in the VM (VCPUSTAT_KEY_A_REGION..).
 */
enum vcpustat_key_kind {
	VCPUSTAT_KEY_KIND_UNSPEC,
	VCPUSTAT_KEY_KIND_IO,
	VCPUSTAT_KEY_KIND_MSR,
	VCPUSTAT_KEY_KIND_CPUID,
	VCPUSTAT_KEY_KIND_HYPERCALL,
	VCPUSTAT_KEY_KIND_EXCEPTION,
	VCPUSTAT_KEY_KIND_INTR,
	VCPUSTAT_KEY_KIND_GPA,
	__VCPUSTAT_KEY_KIND_MAX
};

#define VCPUSTAT_KEY_KIND_MAX (__VCPUSTAT_KEY_KIND_MAX - 1)

/* Inside VCPUSTAT_REASON_A_KEYS: repeated VCPUSTAT_KEY_ENTRY nests. */
#define VCPUSTAT_KEY_ENTRY		1

enum vcpustat_key_attr {
	VCPUSTAT_KEY_A_UNSPEC,
	VCPUSTAT_KEY_A_PAD,
	VCPUSTAT_KEY_A_KEY,		/* u64: see enum vcpustat_key_kind */
	VCPUSTAT_KEY_A_COUNT,		/* u64 */
	/*
	 * GPA keys in a GET_VCPU dump: the page's region in the VM at the
	 * time of the dump, looked up in address space 0 (also for a fault
	 * taken in SMM). Absent when the VM could not be reached (neither
	 * its creator thread nor the vCPU's thread holds the VM fd) or the
	 * key is not a GPA; never in notifications.
	 */
	VCPUSTAT_KEY_A_REGION,		/* u32: enum vcpustat_region */
	/* u32, RAM: the memslot as KVM_SET_USER_MEMORY_REGION's slot
	 * (address space << 16 | slot id; ids >= 509 are KVM's own)
	 */
	VCPUSTAT_KEY_A_SLOT,
	VCPUSTAT_KEY_A_SLOT_FLAGS,	/* u32, RAM: the slot's KVM_MEM_* */
	/*
	 * u64: RAM: the memslot's first guest-physical address; MMIO: the
	 * lowest device range of KVM's MMIO bus (in-kernel device,
	 * ioeventfd, coalesced MMIO zone) that overlaps the page, absent if
	 * none does (the VMM handles all of the page).
	 */
	VCPUSTAT_KEY_A_REGION_BASE,
	/* u64: bytes, with REGION_BASE (MMIO 0: an ioeventfd of any width) */
	VCPUSTAT_KEY_A_REGION_SIZE,
	__VCPUSTAT_KEY_A_MAX
};

#define VCPUSTAT_KEY_A_MAX (__VCPUSTAT_KEY_A_MAX - 1)

/* Values of VCPUSTAT_KEY_A_REGION. */
enum vcpustat_region {
	VCPUSTAT_REGION_UNSPEC,
	VCPUSTAT_REGION_RAM,		/* in a memslot (guest memory, ROM) */
	VCPUSTAT_REGION_MMIO,		/* in no memslot: emulated MMIO */
	__VCPUSTAT_REGION_MAX
};

#define VCPUSTAT_REGION_MAX (__VCPUSTAT_REGION_MAX - 1)

/* Largest VCPUSTAT_CONFIG_A_DETAIL_K: what the per-vCPU memory allows. */
#define VCPUSTAT_DETAIL_K_MAX		16

/* Inside VCPUSTAT_VCPU_A_RESIDENCY: repeated VCPUSTAT_RESIDENCY_ENTRY. */
#define VCPUSTAT_RESIDENCY_ENTRY	1

enum vcpustat_residency_attr {
	VCPUSTAT_RESIDENCY_A_UNSPEC,
	VCPUSTAT_RESIDENCY_A_PAD,
	VCPUSTAT_RESIDENCY_A_CPU,	/* u32 */
	VCPUSTAT_RESIDENCY_A_EXITS,	/* u64: exits handled on that CPU */
	__VCPUSTAT_RESIDENCY_A_MAX
};

#define VCPUSTAT_RESIDENCY_A_MAX (__VCPUSTAT_RESIDENCY_A_MAX - 1)

/* Values of VCPUSTAT_MIGRATION_A_DISTANCE, nearest first. */
enum vcpustat_distance {
	VCPUSTAT_DIST_UNSPEC,
	VCPUSTAT_DIST_SMT,		/* SMT sibling of the previous pCPU */
	VCPUSTAT_DIST_LLC,		/* shares its last-level cache */
	VCPUSTAT_DIST_NODE,		/* same NUMA node, other LLC */
	VCPUSTAT_DIST_REMOTE,		/* another NUMA node */
	__VCPUSTAT_DIST_MAX
};

#define VCPUSTAT_DIST_MAX (__VCPUSTAT_DIST_MAX - 1)

enum vcpustat_migration_attr {
	VCPUSTAT_MIGRATION_A_UNSPEC,
	VCPUSTAT_MIGRATION_A_PAD,
	VCPUSTAT_MIGRATION_A_VCPU_ID,	/* u32 */
	VCPUSTAT_MIGRATION_A_TID,	/* u32 */
	VCPUSTAT_MIGRATION_A_FROM,	/* u32: pCPU */
	VCPUSTAT_MIGRATION_A_TO,	/* u32: pCPU */
	VCPUSTAT_MIGRATION_A_DISTANCE,	/* u32: enum vcpustat_distance */
	VCPUSTAT_MIGRATION_A_TOTAL,	/* u64: the vCPU's migrations so far */
	/* u64: migrations of this vCPU folded into this event (rate limit) */
	VCPUSTAT_MIGRATION_A_SUPPRESSED,
	__VCPUSTAT_MIGRATION_A_MAX
};

#define VCPUSTAT_MIGRATION_A_MAX (__VCPUSTAT_MIGRATION_A_MAX - 1)

enum vcpustat_config_attr {
	VCPUSTAT_CONFIG_A_UNSPEC,
	VCPUSTAT_CONFIG_A_PAD,
	/* u32: DELTA_NTF period in ms; 0 = off, else 100..3600000 */
	VCPUSTAT_CONFIG_A_SNAPSHOT_MS,
	VCPUSTAT_CONFIG_A_TIMING,	/* u8: 1 = time exits, 0 = don't */
	/* u32: max MIGRATE_NTF per second, 0 = no migration events */
	VCPUSTAT_CONFIG_A_MIGR_RATE,
	/*
	 * u32, 1..65536: with TIMING, time one exit in N on average, chosen
	 * at random per vCPU; 1 (default) = every exit. TIMED counts say how
	 * many were timed; sums, histograms, min and max cover those. A new
	 * value applies to each vCPU after the skip it had already drawn.
	 */
	VCPUSTAT_CONFIG_A_TIMING_EVERY,
	/*
	 * u32: with DELTA_NTF on, a vCPU whose counters did not change sends
	 * an all-zero DELTA_NTF once this many ms have passed since its
	 * previous one (a liveness signal); 0 (default) = never, else
	 * 100..3600000.
	 */
	VCPUSTAT_CONFIG_A_HEARTBEAT_MS,
	/*
	 * u8: 1 (default) = keep each vCPU's time budget, 0 = don't. Time
	 * while it is off is in no state: switched on again, each vCPU's
	 * budget resumes at its next event, so the states sum to the time it
	 * was on, never more.
	 */
	VCPUSTAT_CONFIG_A_BUDGET,
	/*
	 * u8: 1 = count second-level keys and per-reason exit time
	 * histograms (VCPUSTAT_REASON_A_KEYS, _HIST); 0 (default) = don't,
	 * at no cost. Switching on restarts every vCPU's details from zero.
	 */
	VCPUSTAT_CONFIG_A_DETAIL,
	/*
	 * u32, 1..VCPUSTAT_DETAIL_K_MAX (default 8): keys kept per vCPU and
	 * reason. Lowering it folds the keys beyond the new K into
	 * KEYS_OTHER at each table's next exit: sums stay exact.
	 */
	VCPUSTAT_CONFIG_A_DETAIL_K,
	__VCPUSTAT_CONFIG_A_MAX
};

#define VCPUSTAT_CONFIG_A_MAX (__VCPUSTAT_CONFIG_A_MAX - 1)

enum vcpustat_status_attr {
	VCPUSTAT_STATUS_A_UNSPEC,
	VCPUSTAT_STATUS_A_PAD,
	VCPUSTAT_STATUS_A_VERSION,	/* string: module version */
	VCPUSTAT_STATUS_A_VMS,		/* u32: VMs tracked now */
	VCPUSTAT_STATUS_A_VCPUS,	/* u32: vCPUs tracked now */
	VCPUSTAT_STATUS_A_MAX_VCPUS,	/* u32: the max_vcpus parameter */
	VCPUSTAT_STATUS_A_VMS_SEEN,	/* u64: VMs seen since load */
	VCPUSTAT_STATUS_A_OVERFLOW,	/* u64: exits not tracked (cap) */
	VCPUSTAT_STATUS_A_ALLOC_FAIL,	/* u64: failed record allocations */
	VCPUSTAT_STATUS_A_EVENTS_SENT,	/* u64 */
	VCPUSTAT_STATUS_A_EVENTS_LOST,	/* u64: could not build or send */
	VCPUSTAT_STATUS_A_MIGR_SUPPRESSED, /* u64: by the rate limit */
	VCPUSTAT_STATUS_A_GENERATION,	/* u64: VM set generation */
	VCPUSTAT_STATUS_A_BAD_LAYOUT,	/* u64: exits with unknown reason */
	VCPUSTAT_STATUS_A_NOMEM_EXITS,	/* u64: exits not tracked: no record */
	/* u64: VMs found destroyed without the kvm_destroy_vm hook firing */
	VCPUSTAT_STATUS_A_STALE_VMS,
	/*
	 * u8: 1 = KVM_RUN's start and end are hooked (while the budget is
	 * on), so the budget has its user and out states; 0 = not (budget
	 * off, or no hook: x86's kvm_fpu and kvm_userspace_exit events not
	 * found, arm64's kretprobe not registered; then that time is in the
	 * exit state).
	 */
	VCPUSTAT_STATUS_A_RUN_HOOK,
	/* u64: KVM_RUN returns whose kind the hooks missed (x86: another
	 * thread took the end's note over before the return, see
	 * kmod/probe_run.c; arm64: no kretprobe instance free); that time is
	 * in the out state.
	 */
	VCPUSTAT_STATUS_A_RUN_MISSED,
	VCPUSTAT_STATUS_A_UAPI_REVISION, /* u32: VCPUSTAT_UAPI_REVISION */
	__VCPUSTAT_STATUS_A_MAX
};

#define VCPUSTAT_STATUS_A_MAX (__VCPUSTAT_STATUS_A_MAX - 1)

/*
 * The time budget (VCPUSTAT_VCPU_A_BUDGET): every ns of a vCPU thread's
 * wall time since its first exit (or reset, or the budget's switch-on) is
 * in exactly one state, so the states sum to the wall time:
 *  GUEST  in guest mode, kvm_entry to kvm_exit;
 *  EXIT   KVM handling exits in the kernel (per reason: REASON_A_HANDLE_NS),
 *         including KVM_RUN's own work before the first entry;
 *  USER   out of KVM_RUN after an exit to userspace (the VMM handling it),
 *         per KVM_EXIT_* reason in VCPUSTAT_BUDGET_A_USER;
 *  POLL   halt-polling in kvm_vcpu_halt() (the pCPU busy);
 *  HALT   halted, sleeping in kvm_vcpu_halt();
 *  WAIT   runnable but not running: the task's run-queue delay
 *         (sched_info.run_delay), taken out of whatever state it fell in
 *         (from HALT first, then POLL, as KVM counts it in both);
 *  OUT    out of KVM_RUN for anything but an exit: KVM_RUN returned for a
 *         signal (KVM_EXIT_INTR: a paused or stopped VMM, a kick) or an
 *         error, until the thread calls KVM_RUN again.
 * Attribute VCPUSTAT_BUDGET_A_GUEST_NS + state - 1 holds a state's ns.
 */
enum vcpustat_state {
	VCPUSTAT_STATE_NONE,
	VCPUSTAT_STATE_GUEST,
	VCPUSTAT_STATE_EXIT,
	VCPUSTAT_STATE_USER,
	VCPUSTAT_STATE_POLL,
	VCPUSTAT_STATE_HALT,
	VCPUSTAT_STATE_WAIT,
	VCPUSTAT_STATE_OUT,
	__VCPUSTAT_STATE_MAX
};

#define VCPUSTAT_STATE_MAX (__VCPUSTAT_STATE_MAX - 1)

enum vcpustat_budget_attr {
	VCPUSTAT_BUDGET_A_UNSPEC,
	VCPUSTAT_BUDGET_A_PAD,
	VCPUSTAT_BUDGET_A_GUEST_NS,	/* u64, and one per state, in order */
	VCPUSTAT_BUDGET_A_EXIT_NS,	/* u64 */
	VCPUSTAT_BUDGET_A_USER_NS,	/* u64 */
	VCPUSTAT_BUDGET_A_POLL_NS,	/* u64 */
	VCPUSTAT_BUDGET_A_HALT_NS,	/* u64 */
	VCPUSTAT_BUDGET_A_WAIT_NS,	/* u64 */
	VCPUSTAT_BUDGET_A_OUT_NS,	/* u64 */
	/*
	 * u32: enum vcpustat_state the vCPU is in now; its open interval,
	 * OPEN_NS long up to the read, is already in that state's total
	 * (undivided: its wait and halt split come when it closes).
	 */
	VCPUSTAT_BUDGET_A_STATE,
	VCPUSTAT_BUDGET_A_OPEN_NS,	/* u64 */
	/* u64: the module clock at the read (ns; only differences mean
	 * anything): the states sum to the wall
	 * time up to it.
	 */
	VCPUSTAT_BUDGET_A_AT_NS,
	VCPUSTAT_BUDGET_A_USER,		/* nest of VCPUSTAT_USER_ENTRY */
	__VCPUSTAT_BUDGET_A_MAX
};

#define VCPUSTAT_BUDGET_A_MAX (__VCPUSTAT_BUDGET_A_MAX - 1)

/* Inside VCPUSTAT_BUDGET_A_USER: repeated VCPUSTAT_USER_ENTRY nests. */
#define VCPUSTAT_USER_ENTRY		1
/* VCPUSTAT_USER_A_EXIT_REASON of the entry for all further reasons. */
#define VCPUSTAT_USER_OTHER		0xffffffffU

enum vcpustat_user_attr {
	VCPUSTAT_USER_A_UNSPEC,
	VCPUSTAT_USER_A_PAD,
	VCPUSTAT_USER_A_EXIT_REASON,	/* u32: KVM_EXIT_*, or _USER_OTHER */
	VCPUSTAT_USER_A_COUNT,		/* u64: KVM_RUN returns with it */
	VCPUSTAT_USER_A_NS,		/* u64: USER time after them */
	__VCPUSTAT_USER_A_MAX
};

#define VCPUSTAT_USER_A_MAX (__VCPUSTAT_USER_A_MAX - 1)

/* What VCPUSTAT_UAPI_REVISION must equal (see there). */
#define __VCPUSTAT_UAPI_SUM						\
	(VCPUSTAT_CMD_MAX + VCPUSTAT_A_MAX + VCPUSTAT_VM_A_MAX +	\
	 VCPUSTAT_VCPU_A_MAX + VCPUSTAT_REASON_A_MAX +			\
	 VCPUSTAT_KEY_KIND_MAX + VCPUSTAT_KEY_A_MAX +			\
	 VCPUSTAT_RESIDENCY_A_MAX + VCPUSTAT_DIST_MAX +			\
	 VCPUSTAT_MIGRATION_A_MAX + VCPUSTAT_CONFIG_A_MAX +		\
	 VCPUSTAT_STATUS_A_MAX + VCPUSTAT_STATE_MAX +			\
	 VCPUSTAT_BUDGET_A_MAX + VCPUSTAT_USER_A_MAX + VCPUSTAT_REGION_MAX)

#endif /* _UAPI_LINUX_VCPUSTAT_H */
