// SPDX-License-Identifier: GPL-2.0
/*
 * The mock's second-level keys (mock_keys.h), shaped as kmod/detail.c and
 * kmod/detail_region.c send them in a GET_VCPU dump:
 *  - keys only for the reasons the module keys on SVM (detail_svm.c):
 *    IOIO, MSR, CPUID, NPF; none for HLT, an unknown code or "other";
 *  - encodings of the uapi's enum vcpustat_key_kind;
 *  - a GPA key in a memslot carries REGION ram, SLOT (address space 0,
 *    as the module looks up: as_id << 16 is 0), SLOT_FLAGS and the
 *    slot's REGION_BASE/SIZE; one in no memslot carries REGION mmio, with
 *    BASE/SIZE only when a KVM MMIO bus range overlaps the page (SIZE 0:
 *    an ioeventfd of any width), else nothing more.
 * Each key's count is the reason's count divided by a fixed divisor and
 * keys_other the remainder, so the numbers are exact and tests can
 * predict every one of them.
 */
#include <stddef.h>
#include <string.h>

#include "mock_keys.h"

/* SVM exit codes of the mock's keyed reasons (vsnl_mock.c's table). */
#define MOCK_SVM_CPUID	0x72
#define MOCK_SVM_IOIO	0x7b
#define MOCK_SVM_MSR	0x7c
#define MOCK_SVM_NPF	0x400

/* uapi IO key: bits 15:0 port, 23:16 size, 24 in, 25 string */
#define IO_KEY(port, size, in, str) \
	((uint64_t)(port) | (uint64_t)(size) << 16 | \
	 (uint64_t)(in) << 24 | (uint64_t)(str) << 25)

/* KVM_MEM_* of <linux/kvm.h>, as the module passes them on */
#define MOCK_MEM_LOG_DIRTY_PAGES	1u
#define MOCK_MEM_READONLY		2u

struct mock_key {
	uint64_t key;
	uint64_t div;		/* count = reason count / div */
	struct vs_key region;	/* region fields of a GPA key */
};

static const struct mock_key io_keys[] = {
	{ IO_KEY(0x3f8, 1, 0, 0), 2, { 0 } },	/* out 0x3f8/1 COM1 */
	{ IO_KEY(0x3fd, 1, 1, 0), 4, { 0 } },	/* in 0x3fd/1 COM1 */
	{ IO_KEY(0xcf8, 4, 0, 0), 8, { 0 } },	/* out 0xcf8/4 PCI-CONF-ADDR */
	{ IO_KEY(0x1f0, 2, 1, 1), 16, { 0 } },	/* ins 0x1f0/2 IDE0 */
};

static const struct mock_key msr_keys[] = {
	{ 1ull << 32 | 0x6e0, 2, { 0 } },	/* write IA32_TSC_DEADLINE */
	{ 0x10, 4, { 0 } },			/* read IA32_TSC */
};

static const struct mock_key cpuid_keys[] = {
	{ 0x1, 2, { 0 } },			/* leaf 0x1.0 */
	{ 1ull << 32 | 0xb, 4, { 0 } },		/* leaf 0xb.1 */
};

/* Slot 1: 32 KiB of dirty-logged RAM, pages 0x40000..0x47000. */
#define SLOT1 { .region = VCPUSTAT_REGION_RAM, .slot = 1, \
		.slot_flags = MOCK_MEM_LOG_DIRTY_PAGES, .has_base = true, \
		.region_base = 0x40000, .region_size = 0x8000 }

/*
 * The first key's page is moved by the vCPU's idx (gpa_keys_fill()), so
 * slot 1 holds different pages on different vCPUs: its REGION row sums
 * keys that no KEY row merges.
 */
static const struct mock_key gpa_keys[] = {
	{ 0x40000, 4, SLOT1 },
	{ 0x47000, 8, SLOT1 },
	/* the in-kernel IOAPIC: a device on KVM's MMIO bus */
	{ 0xfec00000, 8, { .region = VCPUSTAT_REGION_MMIO, .has_base = true,
			   .region_base = 0xfec00000, .region_size = 0x100 } },
	/* a virtio notify ioeventfd of any width: size 0 */
	{ 0xfe003000, 16, { .region = VCPUSTAT_REGION_MMIO, .has_base = true,
			    .region_base = 0xfe003000, .region_size = 0 } },
	/* MMIO the VMM handles alone: no bus range */
	{ 0xfebf1000, 16, { .region = VCPUSTAT_REGION_MMIO } },
	/* a write to the read-only BIOS slot */
	{ 0xffff0000, 32, { .region = VCPUSTAT_REGION_RAM, .slot = 3,
			    .slot_flags = MOCK_MEM_READONLY, .has_base = true,
			    .region_base = 0xfffc0000,
			    .region_size = 0x40000 } },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void keys_fill(struct vs_reason *r, uint32_t kind,
		      const struct mock_key *mk, size_t n, uint32_t idx)
{
	uint64_t sum = 0;

	r->key_kind = kind;
	r->nr_keys = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		struct vs_key *k = &r->keys[i];

		*k = mk[i].region;
		k->key = mk[i].key;
		/* 7 pages of slot 1 before 0x47000, the second key's */
		if (kind == VCPUSTAT_KEY_KIND_GPA && i == 0)
			k->key += (uint64_t)(idx % 7) * 0x1000;
		k->count = r->count / mk[i].div;
		sum += k->count;
	}
	r->keys_other = r->count - sum;
}

void mock_keys_fill(struct vs_reason *r, uint32_t idx)
{
	_Static_assert(N(gpa_keys) <= VCPUSTAT_DETAIL_K_MAX, "too many keys");
	switch (r->code) {
	case MOCK_SVM_IOIO:
		keys_fill(r, VCPUSTAT_KEY_KIND_IO, io_keys, N(io_keys), idx);
		break;
	case MOCK_SVM_MSR:
		keys_fill(r, VCPUSTAT_KEY_KIND_MSR, msr_keys, N(msr_keys), idx);
		break;
	case MOCK_SVM_CPUID:
		keys_fill(r, VCPUSTAT_KEY_KIND_CPUID, cpuid_keys,
			  N(cpuid_keys), idx);
		break;
	case MOCK_SVM_NPF:
		keys_fill(r, VCPUSTAT_KEY_KIND_GPA, gpa_keys, N(gpa_keys), idx);
		break;
	}
}
