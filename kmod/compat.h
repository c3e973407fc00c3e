/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels vcpustat builds for lives here.
 *
 * Where a stable backport changed an interface, the difference is detected
 * by a Kbuild feature test (kmod/conftest/, results as -D flags), never by
 * LINUX_VERSION_CODE. Version checks are used only for interfaces that were
 * never backported.
 */
#ifndef VCPUSTAT_COMPAT_H
#define VCPUSTAT_COMPAT_H

#include <linux/version.h>
#include <linux/netlink.h>
#include <net/genetlink.h>

/*
 * kvm_entry: (vcpu) before 6.9, (vcpu, bool force_immediate_exit) after,
 * backported to 6.1.149 and 6.6.103. Feature test: kvm_entry_bool.c.
 */
#ifdef VS_KVM_ENTRY_NO_BOOL
#define VS_ENTRY_PROTO(data, vcpu)	void *data, struct kvm_vcpu *vcpu
#else
#define VS_ENTRY_PROTO(data, vcpu)	void *data, struct kvm_vcpu *vcpu, \
					bool force_immediate_exit
#endif

/*
 * kvm_exit lost its leading exit_reason argument in 5.16 (0a62a0319abb),
 * never backported. Older kernels are not supported: refuse to build.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 16, 0)
#error "vcpustat needs Linux 5.16 or later (kvm_exit(vcpu, isa) prototype)"
#endif

/*
 * Attributes of a dump request: genl_dumpit_info embeds a genl_info from
 * 6.2 (genl_split_ops rework); 6.1 has a bare attrs array.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define vs_dump_attrs(cb)	(genl_dumpit_info(cb)->info.attrs)
#else
#define vs_dump_attrs(cb)	(genl_dumpit_info(cb)->attrs)
#endif

/* NL_ASSERT_DUMP_CTX_FITS arrived in 6.2; 6.1's cb->ctx is the same size. */
#ifndef NL_ASSERT_DUMP_CTX_FITS
#define NL_ASSERT_DUMP_CTX_FITS(type_name)				\
	BUILD_BUG_ON(sizeof(type_name) >				\
		     sizeof_field(struct netlink_callback, ctx))
#endif

/*
 * Joining a multicast group needs a capability only where the kernel has
 * GENL_MCAST_CAP_NET_ADMIN (6.7, backported to 6.1.y). Without it any user
 * can join "events"; README says so.
 */
#ifdef GENL_MCAST_CAP_NET_ADMIN
#define VS_MCGRP_FLAGS		GENL_MCAST_CAP_NET_ADMIN
#else
#define VS_MCGRP_FLAGS		0
#endif

#endif /* VCPUSTAT_COMPAT_H */
