// SPDX-License-Identifier: GPL-2.0
/*
 * GPA keys resolved to their region in the VM, when a dump reports them
 * (detail_region.h): the memslot that holds the page, or none (MMIO the
 * VMM or KVM emulates) and then the range of KVM's MMIO bus in the page.
 * The probes count only the page; this runs in the dump, never for them.
 *
 * Reaching the struct kvm. Nothing of ours may dereference vm->kvm
 * (track.c): with the destruction hook we hold no reference, and with
 * kprobes disarmed the pointer may even be stale. So a dump asks the VM's
 * own fd: in the files of the VM's creator (kvm->userspace_pid, copied
 * at first sight) or, failing that, of the vCPU's thread, the "kvm-vm"
 * anon inode whose private_data is vm->kvm. While that fd is in the table
 * it holds KVM's own reference to the VM, so the struct kvm is live; a
 * get_file() under the table's lock keeps it so until our fput(), which
 * never sleeps and leaves the last release (if the VMM closed it
 * meanwhile) to task work, outside any of our locks. A stale pointer
 * that a later VM of the same process reuses finds that VM: its regions
 * are what the address holds now. A VM fd held by no such task (passed
 * away, creator thread gone) leaves the keys without a region.
 *
 * Then, per key, in the VM's SRCU read section (as KVM's own readers)
 * inside the dump's RCU one (either protects the MMIO bus, whichever a
 * kernel frees it after), the memslot in address space 0 (KVM's inline
 * lookup) and, for a page in none, the lowest MMIO bus range overlapping
 * it (KVM keeps them sorted by address).
 */
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kvm_host.h>
#include <linux/magic.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/sched/task.h>
#include <linux/srcu.h>
#include <net/netlink.h>
#include "detail_region.h"
#include "vcpustat.h"

/* GPA keys are 4 KiB pages (uapi VCPUSTAT_KEY_KIND_GPA). */
#define VS_GPA_PAGE	0x1000ULL

struct vs_region_find {
	const struct kvm *kvm;
	struct file **out;
};

/* iterate_fd(), under the table's lock: KVM's fd of the VM @p names. */
static int vs_region_match(const void *p, struct file *file, unsigned int fd)
{
	const struct vs_region_find *f = p;

	if (file->private_data != f->kvm ||
	    file_inode(file)->i_sb->s_magic != ANON_INODE_FS_MAGIC ||
	    strcmp((const char *)file->f_path.dentry->d_name.name, "kvm-vm"))
		return 0;
	*f->out = get_file(file);
	return 1;
}

/* The VM fd of @kvm in the files of task @pid, pinned; caller holds RCU. */
static struct file *vs_region_vm_file(pid_t pid, const struct kvm *kvm)
{
	struct file *file = NULL;
	struct vs_region_find f = { kvm, &file };
	struct task_struct *task;

	if (pid <= 0)
		return NULL;
	task = pid_task(find_pid_ns(pid, &init_pid_ns), PIDTYPE_PID);
	if (!task)
		return NULL;
	/* task->files lives while task_lock() holds off exit_files(). */
	task_lock(task);
	iterate_fd(task->files, 0, vs_region_match, &f);
	task_unlock(task);
	return file;
}

void vs_region_release(struct vs_region_ctx *rc)
{
	if (rc->file)
		fput(rc->file);
	rc->file = NULL;
	rc->kvm = NULL;
	rc->tried = false;
	rc->vm = NULL;
}

void vs_region_bind(struct vs_region_ctx *rc, const struct vs_vm *vm,
		    const struct vs_vcpu *vc)
{
	if (rc->vm != vm)
		vs_region_release(rc);
	rc->vm = vm;
	rc->vc = vc;
}

/* The VM of @rc held (looked for once per VM and callback). */
static bool vs_region_hold(struct vs_region_ctx *rc)
{
	const struct vs_vm *vm = rc->vm;

	if (!rc->tried) {
		rc->tried = true;
		rc->file = vs_region_vm_file(vm->pid, vm->kvm);
		if (!rc->file && rc->vc)
			rc->file = vs_region_vm_file(READ_ONCE(rc->vc->tid),
						     vm->kvm);
		if (rc->file)
			rc->kvm = rc->file->private_data;
	}
	return rc->file;
}

static int vs_region_put(struct sk_buff *skb, u32 region, u64 base, u64 size)
{
	if (nla_put_u32(skb, VCPUSTAT_KEY_A_REGION, region))
		return -EMSGSIZE;
	if (size == U64_MAX)
		return 0;
	if (nla_put_u64_64bit(skb, VCPUSTAT_KEY_A_REGION_BASE, base,
			      VCPUSTAT_KEY_A_PAD) ||
	    nla_put_u64_64bit(skb, VCPUSTAT_KEY_A_REGION_SIZE, size,
			      VCPUSTAT_KEY_A_PAD))
		return -EMSGSIZE;
	return 0;
}

/* The region of @gpa in @kvm; in its SRCU read section. */
static int vs_region_fill_srcu(struct sk_buff *skb, struct kvm *kvm, u64 gpa)
{
	const struct kvm_memory_slot *slot;
	const struct kvm_io_bus *bus;
	int i;

	/*
	 * The inline lookup, not gfn_to_memslot(): 7.x exports that to
	 * kvm-amd and kvm-intel only (a symbol namespace modpost enforces).
	 */
	slot = __gfn_to_memslot(__kvm_memslots(kvm, 0), gpa_to_gfn(gpa));
	if (slot) {
		if (nla_put_u32(skb, VCPUSTAT_KEY_A_SLOT,
				(u32)slot->as_id << 16 | (u16)slot->id) ||
		    nla_put_u32(skb, VCPUSTAT_KEY_A_SLOT_FLAGS,
				slot->flags & 0xffff))
			return -EMSGSIZE;
		return vs_region_put(skb, VCPUSTAT_REGION_RAM,
				     gfn_to_gpa(slot->base_gfn),
				     (u64)slot->npages << PAGE_SHIFT);
	}
	bus = srcu_dereference(kvm->buses[KVM_MMIO_BUS], &kvm->srcu);
	for (i = 0; bus && i < bus->dev_count; i++) {
		const struct kvm_io_range *r = &bus->range[i];

		if (r->addr >= gpa + VS_GPA_PAGE)
			break;
		/* len 0: an ioeventfd of any width, at addr */
		if (r->addr + max(r->len, 1) > gpa)
			return vs_region_put(skb, VCPUSTAT_REGION_MMIO,
					     r->addr, r->len);
	}
	return vs_region_put(skb, VCPUSTAT_REGION_MMIO, 0, U64_MAX);
}

int vs_region_fill(struct sk_buff *skb, struct vs_region_ctx *rc, u64 gpa)
{
	int idx, err;

	if (!rc || !rc->vm || !vs_region_hold(rc))
		return 0;
	idx = srcu_read_lock(&rc->kvm->srcu);
	err = vs_region_fill_srcu(skb, rc->kvm, gpa);
	srcu_read_unlock(&rc->kvm->srcu, idx);
	return err;
}
