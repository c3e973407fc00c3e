// SPDX-License-Identifier: GPL-2.0
/*
 * arm64 host facts for "vcpustat host": the exception level the CPUs
 * booted at, the KVM mode (VHE: the kernel itself at EL2; nVHE: KVM's
 * hypervisor at EL2, the kernel at EL1; protected: pKVM), and the GIC.
 * /proc/cpuinfo has no vmx/svm flags there, so nothing of that is shown.
 *
 * The mode is what KVM said when it initialised ("VHE mode initialized
 * successfully" and its siblings, arch/arm64/kvm/arm.c) in the kernel log;
 * where the log has rotated or cannot be read (dmesg_restrict without
 * CAP_SYSLOG), the kvm-arm.mode= the kernel was booted with, marked as
 * requested. The GIC is the irqchip name /proc/interrupts shows.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>

#include "hostinfo.h"

/* The kernel log, or NULL (only for the real /proc: tests fake a tree). */
static char *read_klog(const struct host_info *hi)
{
	char *buf;
	int len, n;

	if (strcmp(hi->procfs, "/proc"))
		return NULL;
	len = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	if (len <= 0)
		return NULL;
	buf = malloc((size_t)len + 1);
	if (!buf)
		return NULL;
	n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, len);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* A whole file of the procfs root into @buf; -1 if it cannot be read. */
static int slurp(const struct host_info *hi, const char *rel, char *buf,
		 size_t len)
{
	char path[PATH_MAX];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", hi->procfs, rel);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return 0;
}

/*
 * KVM's line, e.g. "kvm [1]: VHE mode initialized successfully": 6.1 says
 * "VHE", "Hyp" (nVHE) or "Protected nVHE"; 6.12 "VHE", "Hyp nVHE",
 * "Hyp hVHE", "Protected nVHE" or "Protected hVHE".
 */
static void mode_from_log(struct host_info *hi, const char *log)
{
	const char *end = strstr(log, "mode initialized successfully");
	const char *start, *m;
	char what[64];

	if (!end)
		return;
	for (start = end; start > log && start[-1] != '\n'; start--)
		;
	snprintf(what, sizeof(what), "%.*s", (int)(end - start), start);
	if (strstr(what, "Protected"))
		m = "protected";
	else if (strstr(what, "hVHE"))
		m = "hvhe";
	else if (strstr(what, "Hyp"))
		m = "nvhe";
	else if (strstr(what, "VHE"))
		m = "vhe";
	else
		return;
	snprintf(hi->kvm_mode, sizeof(hi->kvm_mode), "%s", m);
}

static void read_mode(struct host_info *hi)
{
	char *log = read_klog(hi), cmd[4096];
	const char *m;

	if (log) {
		if (strstr(log, "CPU: All CPU(s) started at EL2"))
			snprintf(hi->arm_el, sizeof(hi->arm_el), "EL2");
		else if (strstr(log, "started at EL1"))
			snprintf(hi->arm_el, sizeof(hi->arm_el), "EL1");
		mode_from_log(hi, log);
		free(log);
	}
	if (hi->kvm_mode[0] || slurp(hi, "cmdline", cmd, sizeof(cmd)))
		return;
	m = strstr(cmd, "kvm-arm.mode=");
	if (m) {
		m += strlen("kvm-arm.mode=");
		snprintf(hi->kvm_mode, sizeof(hi->kvm_mode), "%.*s",
			 (int)strcspn(m, " \n"), m);
		hi->kvm_mode_requested = true;
	}
}

/* The first irqchip name of /proc/interrupts that says GIC. */
static void read_gic(struct host_info *hi)
{
	char path[PATH_MAX], *line = NULL;
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/interrupts", hi->procfs);
	f = fopen(path, "re");
	if (!f)
		return;
	while (!hi->gic[0] && getline(&line, &cap, f) > 0) {
		char *save = NULL, *tok;

		for (tok = strtok_r(line, " \t\n", &save); tok;
		     tok = strtok_r(NULL, " \t\n", &save))
			if (!strncmp(tok, "GIC", 3)) {
				snprintf(hi->gic, sizeof(hi->gic), "%s", tok);
				break;
			}
	}
	free(line);
	fclose(f);
}

void host_read_arm64(struct host_info *hi)
{
	read_mode(hi);
	read_gic(hi);
}

const char *host_arm64_mode_str(const struct host_info *hi)
{
	const char *m = hi->kvm_mode;

	if (!m[0])
		return "unknown (no KVM message in the kernel log, no kvm-arm.mode=)";
	if (!strcmp(m, "vhe"))
		return "VHE: the kernel itself runs at EL2";
	if (!strcmp(m, "nvhe"))
		return "nVHE: KVM's hypervisor at EL2, the kernel at EL1";
	if (!strcmp(m, "hvhe"))
		return "hVHE: KVM's hypervisor at EL2 with VHE's layout, the kernel at EL1";
	if (!strcmp(m, "protected"))
		return "protected (pKVM): the hypervisor at EL2, the host deprivileged";
	if (!strcmp(m, "none"))
		return "none: KVM disabled (kvm-arm.mode=none)";
	return m;
}
