// SPDX-License-Identifier: GPL-2.0
/*
 * Guest name and UUID from the VMM's command line; see vmident.h.
 */
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "affinity.h"
#include "json.h"
#include "vmident.h"

static int valid_uuid(const char *s)
{
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return 0;
	}
	return s[36] == '\0';
}

/* Append byte @c to @out (capacity VS_NAME_LEN), keeping it terminated. */
static void put(char *out, size_t *n, char c)
{
	if (*n + 1 < VS_NAME_LEN)
		out[(*n)++] = c;
	out[*n] = '\0';
}

/* Never leave half a UTF-8 character at the end of a cut name. */
static void trim_utf8(char *s)
{
	size_t n = strlen(s), i = n;

	while (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i > 0 && (unsigned char)s[i - 1] >= 0xc0 &&
	    utf8_len((const unsigned char *)s + i - 1) == 0)
		s[i - 1] = '\0';
}

/*
 * One QemuOpts option list ("guest=NAME,process=x" or "NAME,debug-threads=on"):
 * the guest= value, or the first element when it has no key (QEMU's
 * implied key for -name is guest). ",," is a comma inside a value.
 */
static void name_from_opts(const char *v, char *out)
{
	size_t n = 0;
	bool first = true;

	out[0] = '\0';
	while (*v) {
		char elem[VS_NAME_LEN + 8];
		size_t e = 0;
		const char *eq;

		/* one element, ",," folded to "," */
		while (*v) {
			if (*v == ',') {
				if (v[1] != ',')
					break;
				v++;
			}
			if (e + 1 < sizeof(elem))
				elem[e++] = *v;
			v++;
		}
		elem[e] = '\0';
		if (*v == ',')
			v++;
		eq = strchr(elem, '=');
		if (first && !eq) {
			n = 0;
			for (const char *p = elem; *p; p++)
				put(out, &n, *p);
		} else if (eq && eq - elem == 5 && !strncmp(elem, "guest", 5)) {
			n = 0;
			out[0] = '\0';
			for (const char *p = eq + 1; *p; p++)
				put(out, &n, *p);
		}
		first = false;
	}
	trim_utf8(out);
}

void vmid_parse_cmdline(const char *argv, size_t len, char *name,
			char *uuid)
{
	const char *p = argv, *end = argv + len;

	name[0] = '\0';
	uuid[0] = '\0';
	while (p < end) {
		const char *arg = p, *val;
		size_t alen = strnlen(p, (size_t)(end - p));

		p += alen + 1;
		if (alen >= (size_t)(end - arg))
			break;		/* unterminated last word */
		if (p >= end)
			break;		/* option without a value */
		val = p;
		if (strnlen(val, (size_t)(end - val)) >= (size_t)(end - val))
			break;
		if (!strcmp(arg, "-name") || !strcmp(arg, "--name")) {
			name_from_opts(val, name);
		} else if (!strcmp(arg, "-uuid") || !strcmp(arg, "--uuid")) {
			if (valid_uuid(val))
				memcpy(uuid, val, VS_UUID_LEN);
		} else {
			continue;
		}
		p += strlen(val) + 1;
	}
}

void vmid_fill_vm(struct vs_vm *vm)
{
	char path[PATH_MAX], *buf;
	size_t cap = 1 << 16, n = 0;
	ssize_t r;
	int fd;

	if (!vm->pid)
		return;
	snprintf(path, sizeof(path), "%s/%u/cmdline", aff_procfs, vm->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	buf = malloc(cap);
	while (buf && n < cap && (r = read(fd, buf + n, cap - n)) > 0)
		n += (size_t)r;
	close(fd);
	if (buf)
		vmid_parse_cmdline(buf, n, vm->name, vm->uuid);
	free(buf);
}

#define VMID_CACHE 64

static struct {
	uint64_t vm_id;		/* 0: free */
	struct vs_vm id;	/* id, pid, comm, name, uuid only */
} cache[VMID_CACHE];
static unsigned int cache_next;

void vmid_remember(const struct vs_vm *vm)
{
	unsigned int slot = cache_next;

	if (!vm->name[0] && !vm->uuid[0])
		return;
	for (unsigned int i = 0; i < VMID_CACHE; i++)
		if (cache[i].vm_id == vm->id) {
			slot = i;
			break;
		}
	if (slot == cache_next)
		cache_next = (cache_next + 1) % VMID_CACHE;
	memset(&cache[slot], 0, sizeof(cache[slot]));
	cache[slot].vm_id = vm->id;
	cache[slot].id.id = vm->id;
	cache[slot].id.pid = vm->pid;
	memcpy(cache[slot].id.comm, vm->comm, sizeof(vm->comm));
	memcpy(cache[slot].id.name, vm->name, sizeof(vm->name));
	memcpy(cache[slot].id.uuid, vm->uuid, sizeof(vm->uuid));
}

const struct vs_vm *vmid_recall(uint64_t vm_id)
{
	for (unsigned int i = 0; vm_id && i < VMID_CACHE; i++)
		if (cache[i].vm_id == vm_id)
			return &cache[i].id;
	return NULL;
}

void vmid_fill_snapshot(struct vs_snapshot *snap)
{
	for (size_t i = 0; i < snap->nr_vms; i++) {
		struct vs_vm *vm = &snap->vms[i];

		if (!vm->name[0] && !vm->uuid[0])
			vmid_fill_vm(vm);
		vmid_remember(vm);
	}
}
