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
#                        (DESTDIR=, PREFIX= default /usr/local)
#   make dkms-source     module sources into /usr/src/vcpustat-VERSION for
#                        dkms install vcpustat/VERSION (see dkms.conf)
#
# Kbuild holds the kernel side (kmod/); this file only drives it.

KVER ?= $(shell uname -r)
# An arm64 kernel that scripts/arm64-kernel fetched into build/arm64/ is
# cross-built: make module KVER=6.1.0-NN-arm64 (see README, arm64).
ifneq ($(wildcard build/arm64/$(KVER)/headers/Makefile),)
KDIR ?= $(CURDIR)/build/arm64/$(KVER)/headers
export ARCH := arm64
export CROSS_COMPILE := aarch64-linux-gnu-
endif
KDIR ?= /lib/modules/$(KVER)/build
PREFIX ?= /usr/local
DESTDIR ?=
VERSION := $(shell cat VERSION)

.PHONY: all module tool clean check demo bench stress install uninstall \
	install-module install-tool uninstall-module uninstall-tool \
	modules-all checkpatch dkms-source

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

# depmod only for a real install: into a DESTDIR (a package's staging
# tree) it would write a modules.dep of just this module, which must never
# be packaged; the package runs depmod on the target instead. DEPMOD=true
# stops Kbuild's own depmod.sh, which would do the same when the headers
# have a System.map.
DEPMOD_CMD = $(if $(DESTDIR),@echo "vcpustat: DESTDIR is set: not running depmod $(KVER)",depmod $(KVER))
install-module: module
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_PATH=$(DESTDIR) \
		INSTALL_MOD_DIR=extra DEPMOD=true modules_install
	$(DEPMOD_CMD)

# The unit names the tool by its installed path: rewrite it for PREFIX.
install-tool: tool
	install -D -m 0755 user/vcpustat $(DESTDIR)$(PREFIX)/sbin/vcpustat
	install -D -m 0644 user/vcpustat.8 \
		$(DESTDIR)$(PREFIX)/share/man/man8/vcpustat.8
	install -D -m 0644 include/uapi/linux/vcpustat.h \
		$(DESTDIR)$(PREFIX)/include/linux/vcpustat.h
	for u in user/*.service; do \
		[ -e "$$u" ] || continue; \
		d=$(DESTDIR)$(PREFIX)/lib/systemd/system/$$(basename $$u); \
		install -d -m 0755 "$$(dirname "$$d")" && \
		sed 's|/usr/local/sbin/vcpustat|$(PREFIX)/sbin/vcpustat|g' \
			$$u >"$$d.tmp" && chmod 0644 "$$d.tmp" && \
			mv -f "$$d.tmp" "$$d" || exit 1; \
	done

uninstall: uninstall-module uninstall-tool

uninstall-module:
	rm -f $(DESTDIR)/lib/modules/$(KVER)/extra/vcpustat.ko*
	$(DEPMOD_CMD)

uninstall-tool:
	rm -f $(DESTDIR)$(PREFIX)/sbin/vcpustat \
		$(DESTDIR)$(PREFIX)/share/man/man8/vcpustat.8 \
		$(DESTDIR)$(PREFIX)/include/linux/vcpustat.h
	for u in user/*.service; do \
		rm -f $(DESTDIR)$(PREFIX)/lib/systemd/system/$$(basename $$u); \
	done

# The module's sources as DKMS wants them, in /usr/src/vcpustat-VERSION
# (under DESTDIR if set); then: dkms install vcpustat/VERSION.
DKMS_SRC = $(DESTDIR)/usr/src/vcpustat-$(VERSION)
dkms-source:
	@v=$$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' dkms.conf); \
	[ "$$v" = "$(VERSION)" ] || { \
		echo "vcpustat: dkms.conf has PACKAGE_VERSION=\"$$v\", VERSION is $(VERSION): update dkms.conf" >&2; \
		exit 1; }
	rm -rf $(DKMS_SRC)
	install -d $(DKMS_SRC)/kmod/conftest $(DKMS_SRC)/include/uapi/linux
	install -m 0644 dkms.conf Makefile Kbuild VERSION $(DKMS_SRC)/
	install -m 0644 kmod/*.c kmod/*.h $(DKMS_SRC)/kmod/
	install -m 0644 kmod/conftest/*.c $(DKMS_SRC)/kmod/conftest/
	install -m 0644 include/uapi/linux/*.h $(DKMS_SRC)/include/uapi/linux/
