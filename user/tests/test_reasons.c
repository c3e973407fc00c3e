// SPDX-License-Identifier: GPL-2.0
/*
 * Exit reason decoding: every code of the tables generated from the uapi
 * headers round-trips code -> name -> code, known names match what the
 * kernel's kvm_exit event prints, unknown codes stay numeric.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "reasons.h"
#include "vsnl.h"

static void roundtrip_all(uint32_t isa, size_t min_entries)
{
	size_t n = vs_reason_table_size(isa);

	T_ASSERT(n >= min_entries);
	for (size_t i = 0; i < n; i++) {
		const char *tname, *name;
		uint32_t code, back;
		char buf[64];

		T_EQ(vs_reason_table_entry(isa, i, &code, &tname), 0);
		name = vs_reason_name(isa, code, buf, sizeof(buf));
		T_STREQ(name, tname);
		T_EQ(vs_reason_code(isa, name, &back), 0);
		T_EQ(back, code);
		/* names are unique within an ISA, or the inverse is ambiguous */
		for (size_t j = 0; j < i; j++) {
			const char *other;
			uint32_t c2;

			T_EQ(vs_reason_table_entry(isa, j, &c2, &other), 0);
			T_ASSERT(strcmp(other, tname) != 0);
			T_ASSERT(c2 != code);
		}
	}
	T_EQ(vs_reason_table_entry(isa, n, &(uint32_t){0},
				   &(const char *){NULL}), -1);
}

T_TEST(reasons_vmx_roundtrip)
{
	roundtrip_all(VCPUSTAT_ISA_VMX, 50);
}

T_TEST(reasons_svm_roundtrip)
{
	roundtrip_all(VCPUSTAT_ISA_SVM, 90);
}

T_TEST(reasons_kernel_names)
{
	char b[64];

	T_STREQ(vs_reason_name(VCPUSTAT_ISA_SVM, 0x72, b, sizeof(b)), "cpuid");
	T_STREQ(vs_reason_name(VCPUSTAT_ISA_SVM, 0x7b, b, sizeof(b)), "io");
	T_STREQ(vs_reason_name(VCPUSTAT_ISA_SVM, 0x400, b, sizeof(b)), "npf");
	T_STREQ(vs_reason_name(VCPUSTAT_ISA_SVM, 0x78, b, sizeof(b)), "hlt");
	T_STREQ(vs_reason_name(VCPUSTAT_ISA_SVM, 0x4e, b, sizeof(b)), "PF excp");
	T_STREQ(vs_reason_name(VCPUSTAT_ISA_SVM, 0xffffffff, b, sizeof(b)),
		"invalid_guest_state");
	T_STREQ(vs_reason_name(VCPUSTAT_ISA_VMX, 10, b, sizeof(b)), "CPUID");
	T_STREQ(vs_reason_name(VCPUSTAT_ISA_VMX, 30, b, sizeof(b)),
		"IO_INSTRUCTION");
	T_STREQ(vs_reason_name(VCPUSTAT_ISA_VMX, 48, b, sizeof(b)),
		"EPT_VIOLATION");
	T_STREQ(vs_reason_name(VCPUSTAT_ISA_VMX, 0, b, sizeof(b)),
		"EXCEPTION_NMI");
}

T_TEST(reasons_unknown_codes_stay_numeric)
{
	char b[64];
	uint32_t c;

	/* gaps in the tables: never a neighbour's name */
	T_STREQ(vs_reason_name(VCPUSTAT_ISA_VMX, 5, b, sizeof(b)), "5");
	T_STREQ(vs_reason_name(VCPUSTAT_ISA_VMX, 65535, b, sizeof(b)), "65535");
	T_STREQ(vs_reason_name(VCPUSTAT_ISA_SVM, 0x7ff, b, sizeof(b)), "0x7ff");
	T_STREQ(vs_reason_name(VCPUSTAT_ISA_SVM, 0x500, b, sizeof(b)), "0x500");
	/* an ISA we do not know: numeric */
	T_STREQ(vs_reason_name(7, 10, b, sizeof(b)), "10");
	T_STREQ(vs_reason_name(0, 10, b, sizeof(b)), "10");
	/* the module's pseudo codes, any ISA */
	T_STREQ(vs_reason_name(VCPUSTAT_ISA_SVM, VCPUSTAT_CODE_UNKNOWN, b,
			       sizeof(b)), "unknown");
	T_STREQ(vs_reason_name(VCPUSTAT_ISA_VMX, VCPUSTAT_CODE_OTHER, b,
			       sizeof(b)), "other");
	T_EQ(vs_reason_code(VCPUSTAT_ISA_VMX, "unknown", &c), 0);
	T_EQ(c, VCPUSTAT_CODE_UNKNOWN);
	T_EQ(vs_reason_code(VCPUSTAT_ISA_SVM, "other", &c), 0);
	T_EQ(c, VCPUSTAT_CODE_OTHER);
	/* numbers parse back */
	T_EQ(vs_reason_code(VCPUSTAT_ISA_SVM, "0x7ff", &c), 0);
	T_EQ(c, 0x7ff);
	T_EQ(vs_reason_code(VCPUSTAT_ISA_VMX, "5", &c), 0);
	T_EQ(c, 5);
	T_EQ(vs_reason_code(VCPUSTAT_ISA_VMX, "NO_SUCH_REASON", &c), -1);
	T_EQ(vs_reason_code(VCPUSTAT_ISA_SVM, "-1", &c), -1);
	T_EQ(vs_reason_code(VCPUSTAT_ISA_SVM, "0x100000000", &c), -1);
	/* case matters: VMX names are upper case, SVM lower */
	T_EQ(vs_reason_code(VCPUSTAT_ISA_VMX, "cpuid", &c), -1);
}

T_TEST(reasons_vmx_flags_like_kvm_exit)
{
	char b[64];
	uint32_t c;

	/* failed VM-entry: basic reason plus the flag name, as kvm_exit */
	T_STREQ(vs_reason_name(VCPUSTAT_ISA_VMX, 0x80000000u | 33, b,
			       sizeof(b)), "INVALID_STATE FAILED_VMENTRY");
	T_EQ(vs_reason_code(VCPUSTAT_ISA_VMX, "INVALID_STATE FAILED_VMENTRY",
			    &c), 0);
	T_EQ(c, 0x80000000u | 33);
	/* a flag bit without a name: the whole code as a number */
	T_STREQ(vs_reason_name(VCPUSTAT_ISA_VMX, 0x08000000u | 10, b,
			       sizeof(b)), "134217738");
	/* unknown basic reason with a known flag: numeric too */
	T_STREQ(vs_reason_name(VCPUSTAT_ISA_VMX, 0x80000000u | 5, b,
			       sizeof(b)), "2147483653");
	T_EQ(vs_reason_code(VCPUSTAT_ISA_VMX, "CPUID BOGUS_FLAG", &c), -1);
	/* a small buffer never yields a truncated (wrong) name */
	T_STREQ(vs_reason_name(VCPUSTAT_ISA_VMX, 0x80000000u | 33, b, 12),
		"2147483681");
}

T_TEST(reasons_isa_and_distance_names)
{
	T_STREQ(vs_isa_name(VCPUSTAT_ISA_VMX), "vmx");
	T_STREQ(vs_isa_name(VCPUSTAT_ISA_SVM), "svm");
	T_STREQ(vs_isa_name(0), "unknown");
	T_EQ(vs_isa_from_name("SVM"), VCPUSTAT_ISA_SVM);
	T_EQ(vs_isa_from_name("vmx"), VCPUSTAT_ISA_VMX);
	T_EQ(vs_isa_from_name("arm"), 0);
	T_STREQ(vs_distance_name(VCPUSTAT_DIST_SMT), "smt");
	T_STREQ(vs_distance_name(VCPUSTAT_DIST_LLC), "llc");
	T_STREQ(vs_distance_name(VCPUSTAT_DIST_NODE), "node");
	T_STREQ(vs_distance_name(VCPUSTAT_DIST_REMOTE), "remote");
	T_STREQ(vs_distance_name(99), "unspec");
}

/*
 * arm64: trap classes by the kernel's kvm_arm_exception_class names, the
 * rest (VCPUSTAT_ARM64_NOTRAP | ret) by kvm_arm_exception_type's, as the
 * kvm_exit event prints them; unnamed ones as "ret 0x3" and "0x3f".
 */
T_TEST(reasons_arm64)
{
	char b[64];
	uint32_t c;

	roundtrip_all(VCPUSTAT_ISA_ARM64, 34);
	T_STREQ(vs_reason_name(VCPUSTAT_ISA_ARM64, 0x24, b, sizeof(b)), "DABT_LOW");
	T_STREQ(vs_reason_name(VCPUSTAT_ISA_ARM64, 0x16, b, sizeof(b)), "HVC64");
	T_STREQ(vs_reason_name(VCPUSTAT_ISA_ARM64, 0x01, b, sizeof(b)), "WFx");
	T_STREQ(vs_reason_name(VCPUSTAT_ISA_ARM64, 0x18, b, sizeof(b)), "SYS64");
	T_STREQ(vs_reason_name(VCPUSTAT_ISA_ARM64, 0x3f, b, sizeof(b)), "0x3f");
	T_STREQ(vs_reason_name(VCPUSTAT_ISA_ARM64, VCPUSTAT_ARM64_NOTRAP, b,
			       sizeof(b)), "IRQ");
	T_STREQ(vs_reason_name(VCPUSTAT_ISA_ARM64, VCPUSTAT_ARM64_NOTRAP | 1, b,
			       sizeof(b)), "SERROR");
	/* illegal exception return: no name in the event's table */
	T_STREQ(vs_reason_name(VCPUSTAT_ISA_ARM64, VCPUSTAT_ARM64_NOTRAP | 3, b,
			       sizeof(b)), "ret 0x3");
	T_EQ(vs_reason_code(VCPUSTAT_ISA_ARM64, "IRQ", &c), 0);
	T_EQ(c, VCPUSTAT_ARM64_NOTRAP);
	T_EQ(vs_reason_code(VCPUSTAT_ISA_ARM64, "ret 0x3", &c), 0);
	T_EQ(c, VCPUSTAT_ARM64_NOTRAP | 3);
	T_EQ(vs_reason_code(VCPUSTAT_ISA_ARM64, "SERROR", &c), 0);
	T_EQ(c, 0x2f);
	T_EQ(vs_reason_code(VCPUSTAT_ISA_ARM64, "0x3f", &c), 0);
	T_EQ(c, 0x3f);
	T_EQ(vs_reason_code(VCPUSTAT_ISA_ARM64, "dabt_low", &c), -1);
	T_STREQ(vs_isa_name(VCPUSTAT_ISA_ARM64), "arm64");
	T_EQ(vs_isa_from_name("arm64"), VCPUSTAT_ISA_ARM64);
}
