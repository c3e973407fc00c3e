# SPDX-License-Identifier: GPL-2.0
#
# vcpustat: out-of-tree KVM exit accounting module + userspace tool.
#
#   make                 module for KVER (default: running kernel) + tool
#   make KVER=<release>  module for any installed linux-headers-<release>
#   make check           the whole test suite (installs its dependencies)
#   make demo            boots a Debian kernel and shows vcpustat at work
#   make install         module (modules_install + depmod), tool, man page,
#                        uapi header, systemd units; make uninstall undoes it
#
# Kbuild holds the kernel side (kmod/); this file only drives it.

KVER ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build
PREFIX ?= /usr/local
DESTDIR ?=
VERSION := $(shell cat VERSION)

.PHONY: all module tool clean check demo bench stress install uninstall \
	install-module install-tool uninstall-module uninstall-tool \
	modules-all checkpatch

all: module tool

module:
	@test -d "$(KDIR)" || { \
		echo "vcpustat: no kernel headers at $(KDIR)."; \
		echo "  installed: $$(scripts/rig/kernels 2>/dev/null | tr '\n' ' ')"; \
		echo "  build for one of them: make KVER=<release>"; \
		exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules
	cp vcpustat.ko kmod/vcpustat.ko

tool:
	$(MAKE) -C user

# Every installed kernel (image + headers), each in its own copy of the
# source so builds never share objects; W=1 and sparse must stay silent.
modules-all:
	scripts/build-modules

checkpatch:
	scripts/checkpatch

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null
	rm -f kmod/vcpustat.ko
	$(MAKE) -C user clean
	$(MAKE) -C selftests clean
	rm -rf build

check:
	scripts/install-deps
	scripts/check

demo:
	scripts/install-deps
	scripts/demo

bench:
	scripts/install-deps
	bench/run

stress:
	scripts/install-deps
	scripts/check --stress

install: install-module install-tool

install-module: module
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_PATH=$(DESTDIR) \
		INSTALL_MOD_DIR=extra modules_install
	-depmod $(if $(DESTDIR),-b $(DESTDIR)) $(KVER)

install-tool: tool
	install -D -m 0755 user/vcpustat $(DESTDIR)$(PREFIX)/sbin/vcpustat
	install -D -m 0644 user/vcpustat.8 \
		$(DESTDIR)$(PREFIX)/share/man/man8/vcpustat.8
	install -D -m 0644 include/uapi/linux/vcpustat.h \
		$(DESTDIR)$(PREFIX)/include/linux/vcpustat.h
	for u in user/*.service; do \
		[ -e "$$u" ] || continue; \
		install -D -m 0644 $$u \
			$(DESTDIR)$(PREFIX)/lib/systemd/system/$$(basename $$u); \
	done

uninstall: uninstall-module uninstall-tool

uninstall-module:
	rm -f $(DESTDIR)/lib/modules/$(KVER)/extra/vcpustat.ko*
	-depmod $(if $(DESTDIR),-b $(DESTDIR)) $(KVER)

uninstall-tool:
	rm -f $(DESTDIR)$(PREFIX)/sbin/vcpustat \
		$(DESTDIR)$(PREFIX)/share/man/man8/vcpustat.8 \
		$(DESTDIR)$(PREFIX)/include/linux/vcpustat.h
	for u in user/*.service; do \
		rm -f $(DESTDIR)$(PREFIX)/lib/systemd/system/$$(basename $$u); \
	done
