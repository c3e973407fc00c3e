// SPDX-License-Identifier: GPL-2.0
/*
 * Guest identity (issue 17): name and UUID from a VMM's command line as
 * QEMU parses it (-name guest=NAME,... or -name NAME, ",," escaping,
 * -uuid), from a fake /proc, and the odd names that must come out escaped
 * right in JSON and Prometheus and be selectable with -g.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "affinity.h"
#include "harness.h"
#include "json.h"
#include "testutil.h"
#include "vmident.h"

#define UUID "5f0c7c1e-4a62-4b55-9d1e-0123456789ab"

/* @argv: words separated by '|' (the NULs of /proc/PID/cmdline). */
static void parse(const char *argv, char *name, char *uuid)
{
	char buf[4096];
	size_t n = strlen(argv);

	T_ASSERT(n + 1 < sizeof(buf));
	memcpy(buf, argv, n + 1);
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '|')
			buf[i] = '\0';
	vmid_parse_cmdline(buf, n + 1, name, uuid);
}

T_TEST(vmident_qemu_name_forms)
{
	char name[VS_NAME_LEN], uuid[VS_UUID_LEN];

	/* what libvirt passes */
	parse("/usr/bin/qemu-system-x86_64|-name|guest=web01,debug-threads=on|"
	      "-S|-uuid|" UUID "|-m|1024", name, uuid);
	T_STREQ(name, "web01");
	T_STREQ(uuid, UUID);
	/* the legacy form: the first element has the implied key guest */
	parse("qemu|-name|web01", name, uuid);
	T_STREQ(name, "web01");
	T_STREQ(uuid, "");
	parse("qemu|-name|web01,process=qemu-web01", name, uuid);
	T_STREQ(name, "web01");
	/* ",," is a comma inside a value */
	parse("qemu|-name|guest=a,,b,,,debug-threads=on", name, uuid);
	T_STREQ(name, "a,b,");
	parse("qemu|-name|process=p,guest=x,,y", name, uuid);
	T_STREQ(name, "x,y");
	parse("qemu|-name|we b \"01\" \xc3\xbc", name, uuid);
	T_STREQ(name, "we b \"01\" \xc3\xbc");
	/* --name, and the last one wins as in QEMU */
	parse("qemu|--name|one|-name|two|--uuid|" UUID, name, uuid);
	T_STREQ(name, "two");
	T_STREQ(uuid, UUID);
	/* no value, a bad UUID, nothing at all */
	parse("qemu|-uuid|not-a-uuid|-name", name, uuid);
	T_STREQ(name, "");
	T_STREQ(uuid, "");
	parse("qemu|-uuid|" UUID "0", name, uuid);
	T_STREQ(uuid, "");
	parse("kvm_workload|--vcpus|2", name, uuid);
	T_STREQ(name, "");
	vmid_parse_cmdline("", 0, name, uuid);
	T_STREQ(name, "");
}

T_TEST(vmident_long_name_cut_at_a_character)
{
	char argv[2048] = "qemu|-name|guest=", name[VS_NAME_LEN];
	char uuid[VS_UUID_LEN];

	for (int i = 0; i < 300; i++)
		strcat(argv, "\xc3\xbc");	/* two bytes each */
	parse(argv, name, uuid);
	T_EQ(strlen(name), VS_NAME_LEN - 1 - 1);	/* 254: whole chars */
	for (size_t i = 0; i < strlen(name); i += 2)
		T_ASSERT(utf8_len((const unsigned char *)name + i) == 2);
}

T_TEST(vmident_from_procfs)
{
	const char *saved = aff_procfs;
	char *dir = t_tmpdir(), path[512];
	static const char cmd[] = "qemu\0-name\0guest=web01\0-uuid\0" UUID;
	struct vs_vm vm = { .id = 7, .pid = 4242 };
	FILE *f;

	snprintf(path, sizeof(path), "%s/4242", dir);
	T_ASSERT(mkdir(path, 0755) == 0);
	snprintf(path, sizeof(path), "%s/4242/cmdline", dir);
	f = fopen(path, "w");
	T_ASSERT(f);
	fwrite(cmd, 1, sizeof(cmd), f);
	fclose(f);
	aff_procfs = dir;
	vmid_fill_vm(&vm);
	aff_procfs = saved;
	T_STREQ(vm.name, "web01");
	T_STREQ(vm.uuid, UUID);
	/* remembered for events about it after the process is gone */
	vmid_remember(&vm);
	T_ASSERT(vmid_recall(7) && !strcmp(vmid_recall(7)->name, "web01"));
	T_ASSERT(!vmid_recall(8));
	/* a process that is gone leaves the VM unnamed */
	vm = (struct vs_vm){ .id = 9, .pid = 4243 };
	aff_procfs = dir;
	vmid_fill_vm(&vm);
	aff_procfs = saved;
	T_STREQ(vm.name, "");
	free(dir);
}

/* The mock names VM 1 "web01" and VM 2 'db "prod", ü\x'. */
T_TEST(vmident_shown_escaped_and_selected)
{
	char cmd[1024], *out;

	/* JSON: the exact name back through a real parser */
	snprintf(cmd, sizeof(cmd), "VS_MOCK_VMS=3 %s dump --pretty", t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	T_EQ(t_python("import json,sys\n"
		      "d=json.loads(sys.stdin.read())\n"
		      "n=[v[\"name\"] for v in d[\"vms\"]]\n"
		      "assert n==[\"web01\",\"db \\\"prod\\\", \\u00fc\\\\x\",None],n\n"
		      "assert d[\"vms\"][0][\"uuid\"]==\"" UUID "\"\n"
		      "assert d[\"vms\"][1][\"uuid\"] is None\n", out), 0);
	free(out);
	/* -g selects by the exact name, odd characters and all */
	snprintf(cmd, sizeof(cmd),
		 "VS_MOCK_VMS=3 %s list -j --sample 0 -g 'db \"prod\", \xc3\xbc\\x'",
		 t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	T_ASSERT(strstr(out, "\"vm_id\":2,") && !strstr(out, "\"vm_id\":1,") &&
		 !strstr(out, "\"vm_id\":3,"));
	free(out);
	snprintf(cmd, sizeof(cmd), "VS_MOCK_VMS=3 %s stat -j -g web01 0.1 1",
		 t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	T_ASSERT(strstr(out, "\"name\":\"web01\",\"uuid\":\"" UUID "\""));
	T_ASSERT(!strstr(out, "\"vm_id\":2,"));
	free(out);
	/* Prometheus: only on vcpustat_vm_info, label-escaped, with the
	 * "domain" label libvirt-exporter uses */
	snprintf(cmd, sizeof(cmd), "VS_MOCK_VMS=3 %s export --once", t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	T_ASSERT(strstr(out, "vcpustat_vm_info{vm_id=\"1\",pid=\"1000\",comm=\"qemu-system-x86\",stats_id=\"kvm-1000\",name=\"web01\",domain=\"web01\",uuid=\"" UUID "\"} 1\n"));
	T_ASSERT(strstr(out, ",name=\"db \\\"prod\\\", \xc3\xbc\\\\x\",domain=\"db \\\"prod\\\", \xc3\xbc\\\\x\",uuid=\"\"} 1\n"));
	for (char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (*l != '#' && (strstr(l, "web01") && strstr(l, "web01") < strchr(l, '\n')))
			T_ASSERT(!strncmp(l, "vcpustat_vm_info{", 17));
	free(out);
	/* text: the name in a column, control bytes never reach a terminal */
	snprintf(cmd, sizeof(cmd), "VS_MOCK_VMS=3 %s list --sample 0", t_mock_tool());
	T_EQ(t_sh(cmd, &out, false), 0);
	T_ASSERT(strstr(out, " NAME "));
	T_ASSERT(strstr(out, " web01           "));
	T_ASSERT(strstr(out, " db \"prod\", \xc3\xbc\\x     "));
	free(out);
}
