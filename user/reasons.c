// SPDX-License-Identifier: GPL-2.0
/*
 * Exit reason names. The tables are the kernel's own VMX_EXIT_REASONS /
 * SVM_EXIT_REASONS initializers, expanded at build time from the installed
 * uapi headers (see the Makefile), so names match what the kvm_exit trace
 * event prints and nobody maintains a hand-typed copy.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse.h"
#include "reasons.h"
#include "vsnl.h"

/* long long: SVM's table has SVM_EXIT_ERR == -1, meaning 0xffffffff. */
struct rname {
	long long code;
	const char *name;
};

static const struct rname vmx_tab[] = {
#include "reasons_vmx.inc"
};
static const struct rname vmx_flags_tab[] = {
#include "reasons_vmx_flags.inc"
};
static const struct rname svm_tab[] = {
#include "reasons_svm.inc"
};
/* arm64: kvm_exit's esr_ec names (traps) and ret names (the rest). */
static const struct rname arm64_ec_tab[] = {
#include "reasons_arm64_ec.inc"
};
static const struct rname arm64_exc_tab[] = {
#include "reasons_arm64_exc.inc"
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The basic VMX exit reason is bits 15:0; bits 31:16 are flags. */
#define VMX_BASIC_MASK 0xffffu

static const char *lookup(const struct rname *t, size_t n, uint32_t code)
{
	for (size_t i = 0; i < n; i++)
		if ((uint32_t)t[i].code == code)
			return t[i].name;
	return NULL;
}

size_t vs_reason_table_size(uint32_t isa)
{
	switch (isa) {
	case VCPUSTAT_ISA_VMX: return N(vmx_tab);
	case VCPUSTAT_ISA_SVM: return N(svm_tab);
	case VCPUSTAT_ISA_ARM64: return N(arm64_ec_tab);
	default: return 0;
	}
}

int vs_reason_table_entry(uint32_t isa, size_t i, uint32_t *code,
			  const char **name)
{
	const struct rname *t;
	size_t n;

	switch (isa) {
	case VCPUSTAT_ISA_VMX: t = vmx_tab; n = N(vmx_tab); break;
	case VCPUSTAT_ISA_SVM: t = svm_tab; n = N(svm_tab); break;
	case VCPUSTAT_ISA_ARM64: t = arm64_ec_tab; n = N(arm64_ec_tab); break;
	default: return -1;
	}
	if (i >= n)
		return -1;
	*code = (uint32_t)t[i].code;
	*name = t[i].name;
	return 0;
}

const char *vs_isa_name(uint32_t isa)
{
	switch (isa) {
	case VCPUSTAT_ISA_VMX: return "vmx";
	case VCPUSTAT_ISA_SVM: return "svm";
	case VCPUSTAT_ISA_ARM64: return "arm64";
	default: return "unknown";
	}
}

uint32_t vs_isa_from_name(const char *name)
{
	if (!strcasecmp(name, "vmx"))
		return VCPUSTAT_ISA_VMX;
	if (!strcasecmp(name, "svm"))
		return VCPUSTAT_ISA_SVM;
	if (!strcasecmp(name, "arm64"))
		return VCPUSTAT_ISA_ARM64;
	return 0;
}

static const char *numeric(uint32_t isa, uint32_t code, char *buf,
			   size_t len)
{
	/* The bases the kernel's own tables are written in. */
	if (isa == VCPUSTAT_ISA_ARM64 && (code & VCPUSTAT_ARM64_NOTRAP))
		snprintf(buf, len, "ret %#x", code & ~VCPUSTAT_ARM64_NOTRAP);
	else if (isa == VCPUSTAT_ISA_SVM || isa == VCPUSTAT_ISA_ARM64)
		snprintf(buf, len, "%#x", code);
	else
		snprintf(buf, len, "%u", code);
	return buf;
}

const char *vs_reason_name(uint32_t isa, uint32_t code, char *buf,
			   size_t len)
{
	const char *name;

	if (code == VCPUSTAT_CODE_UNKNOWN)
		return "unknown";
	if (code == VCPUSTAT_CODE_OTHER)
		return "other";
	if (isa == VCPUSTAT_ISA_SVM) {
		name = lookup(svm_tab, N(svm_tab), code);
		return name ? name : numeric(isa, code, buf, len);
	}
	if (isa == VCPUSTAT_ISA_ARM64) {
		/* As kvm_exit prints them: the class of a trap, else ret's. */
		if (code & VCPUSTAT_ARM64_NOTRAP)
			name = lookup(arm64_exc_tab, N(arm64_exc_tab),
				      code & ~VCPUSTAT_ARM64_NOTRAP);
		else
			name = lookup(arm64_ec_tab, N(arm64_ec_tab), code);
		return name ? name : numeric(isa, code, buf, len);
	}
	if (isa != VCPUSTAT_ISA_VMX)
		return numeric(isa, code, buf, len);
	name = lookup(vmx_tab, N(vmx_tab), code);
	if (name)
		return name;
	/*
	 * Like kvm_exit: basic reason, then the names of flag bits, e.g.
	 * "INVALID_STATE FAILED_VMENTRY". Any flag bit we cannot name, or
	 * an unknown basic reason, and the whole code prints as a number.
	 */
	name = lookup(vmx_tab, N(vmx_tab), code & VMX_BASIC_MASK);
	if (name) {
		uint32_t flags = code & ~VMX_BASIC_MASK, named = 0;
		size_t off;

		for (size_t i = 0; i < N(vmx_flags_tab); i++)
			if (flags & (uint32_t)vmx_flags_tab[i].code)
				named |= (uint32_t)vmx_flags_tab[i].code;
		if (named == flags) {
			off = (size_t)snprintf(buf, len, "%s", name);
			for (size_t i = 0; i < N(vmx_flags_tab) && off < len; i++)
				if (flags & (uint32_t)vmx_flags_tab[i].code)
					off += (size_t)snprintf(buf + off,
						len - off, " %s",
						vmx_flags_tab[i].name);
			if (off < len)
				return buf;
		}
	}
	return numeric(isa, code, buf, len);
}

int vs_reason_code(uint32_t isa, const char *name, uint32_t *code)
{
	const struct rname *t;
	size_t n;

	if (!strcmp(name, "unknown")) {
		*code = VCPUSTAT_CODE_UNKNOWN;
		return 0;
	}
	if (!strcmp(name, "other")) {
		*code = VCPUSTAT_CODE_OTHER;
		return 0;
	}
	switch (isa) {
	case VCPUSTAT_ISA_VMX: t = vmx_tab; n = N(vmx_tab); break;
	case VCPUSTAT_ISA_SVM: t = svm_tab; n = N(svm_tab); break;
	case VCPUSTAT_ISA_ARM64:
		/*
		 * Trap classes first: "SERROR" names both the SError trap
		 * class and the EL1_SERROR exception (as tracefs prints
		 * them); by name it is the class.
		 */
		for (size_t i = 0; i < N(arm64_ec_tab); i++)
			if (!strcmp(arm64_ec_tab[i].name, name)) {
				*code = (uint32_t)arm64_ec_tab[i].code;
				return 0;
			}
		for (size_t i = 0; i < N(arm64_exc_tab); i++)
			if (!strcmp(arm64_exc_tab[i].name, name)) {
				*code = VCPUSTAT_ARM64_NOTRAP |
					(uint32_t)arm64_exc_tab[i].code;
				return 0;
			}
		/* "ret 0x3", as vs_reason_name() shows an unnamed one */
		if (!strncmp(name, "ret ", 4) && !vs_parse_u32(name + 4, code) &&
		    !(*code & VCPUSTAT_ARM64_NOTRAP)) {
			*code |= VCPUSTAT_ARM64_NOTRAP;
			return 0;
		}
		return vs_parse_u32(name, code);
	default: return vs_parse_u32(name, code);
	}
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t[i].name, name)) {
			*code = (uint32_t)t[i].code;
			return 0;
		}
	if (isa == VCPUSTAT_ISA_VMX) {
		/* "BASIC FLAG..." as produced by vs_reason_name() */
		const char *sp = strchr(name, ' ');
		char basic[64];
		uint32_t c;

		if (sp && (size_t)(sp - name) < sizeof(basic)) {
			memcpy(basic, name, (size_t)(sp - name));
			basic[sp - name] = '\0';
			if (vs_reason_code(isa, basic, &c) == 0 &&
			    c <= VMX_BASIC_MASK) {
				while (*sp == ' ') {
					const char *w = sp + 1;
					size_t wl = strcspn(w, " ");
					size_t i;

					for (i = 0; i < N(vmx_flags_tab); i++)
						if (strlen(vmx_flags_tab[i].name) == wl &&
						    !strncmp(vmx_flags_tab[i].name, w, wl))
							break;
					if (i == N(vmx_flags_tab))
						return -1;
					c |= (uint32_t)vmx_flags_tab[i].code;
					sp = w + wl;
				}
				if (*sp)
					return -1;
				*code = c;
				return 0;
			}
		}
	}
	return vs_parse_u32(name, code);
}

const char *vs_distance_name(uint32_t dist)
{
	switch (dist) {
	case VCPUSTAT_DIST_SMT:		return "smt";
	case VCPUSTAT_DIST_LLC:		return "llc";
	case VCPUSTAT_DIST_NODE:	return "node";
	case VCPUSTAT_DIST_REMOTE:	return "remote";
	default:			return "unspec";
	}
}
