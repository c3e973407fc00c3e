// SPDX-License-Identifier: GPL-2.0
/*
 * config: show the module status and configuration, or change the
 * configuration with KEY=VALUE words (only the keys given are sent).
 */
#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "cmds.h"
#include "json.h"
#include "render.h"
#include "stamp.h"

static void config_help(FILE *f)
{
	fprintf(f,
"Usage: vcpustat config [-j|--pretty] [KEY=VALUE...]\n"
"\n"
"Without arguments, show the module version, status counters and\n"
"configuration. With KEY=VALUE words, change the configuration:\n"
"  snapshot_ms=MS   period of per-vCPU delta events: 0 = off, else\n"
"                   100..3600000; only vCPUs whose counters changed\n"
"                   send one\n"
"  heartbeat_ms=MS  a vCPU that did not change still sends an all-zero\n"
"                   delta this long after its last one: 0 (default) =\n"
"                   never, else 100..3600000\n"
"  timing=on|off    measure exit handling time (hooks kvm_entry too)\n"
"  timing_every=N   time one exit in N, chosen at random: 1 (default)\n"
"                   = every exit, up to 65536; cheaper, and the averages\n"
"                   and histograms stay unbiased estimates\n"
"  migr_rate=N      at most N migration events per second, 0 = off\n"
"  budget=on|off    keep each vCPU's time budget (guest, exit, user,\n"
"                   poll, halt, wait, out); off and on again leaves a gap\n"
"  detail=on|off    second-level keys (port, MSR, CPUID leaf, hypercall,\n"
"                   vector, guest page) and per-reason time histograms;\n"
"                   switching on restarts them from zero\n"
"  detail_k=N       keys kept per vCPU and reason, 1..16 (default 8);\n"
"                   the rest is counted as \"other\"\n"
"The kernel validates the values; its reason is shown on error.\n");
}

static int parse_bool(const char *s, bool *v)
{
	if (!strcasecmp(s, "on") || !strcmp(s, "1") || !strcasecmp(s, "yes") ||
	    !strcasecmp(s, "true"))
		*v = true;
	else if (!strcasecmp(s, "off") || !strcmp(s, "0") ||
		 !strcasecmp(s, "no") || !strcasecmp(s, "false"))
		*v = false;
	else
		return -1;
	return 0;
}

static int parse_setting(struct vs_config *cfg, const char *word)
{
	const char *eq = strchr(word, '=');
	size_t kl;

	if (!eq)
		return -1;
	kl = (size_t)(eq - word);
	if (kl == 11 && !strncmp(word, "snapshot_ms", kl)) {
		cfg->mask |= VS_CFG_SNAPSHOT_MS;
		return vs_parse_u32(eq + 1, &cfg->snapshot_ms);
	}
	if (kl == 6 && !strncmp(word, "timing", kl)) {
		cfg->mask |= VS_CFG_TIMING;
		return parse_bool(eq + 1, &cfg->timing);
	}
	if (kl == 9 && !strncmp(word, "migr_rate", kl)) {
		cfg->mask |= VS_CFG_MIGR_RATE;
		return vs_parse_u32(eq + 1, &cfg->migr_rate);
	}
	if (kl == 12 && !strncmp(word, "timing_every", kl)) {
		cfg->mask |= VS_CFG_TIMING_EVERY;
		return vs_parse_u32(eq + 1, &cfg->timing_every);
	}
	if (kl == 6 && !strncmp(word, "budget", kl)) {
		cfg->mask |= VS_CFG_BUDGET;
		return parse_bool(eq + 1, &cfg->budget);
	}
	if (kl == 6 && !strncmp(word, "detail", kl)) {
		cfg->mask |= VS_CFG_DETAIL;
		return parse_bool(eq + 1, &cfg->detail);
	}
	if (kl == 8 && !strncmp(word, "detail_k", kl)) {
		cfg->mask |= VS_CFG_DETAIL_K;
		return vs_parse_u32(eq + 1, &cfg->detail_k);
	}
	if (kl == 12 && !strncmp(word, "heartbeat_ms", kl)) {
		cfg->mask |= VS_CFG_HEARTBEAT_MS;
		return vs_parse_u32(eq + 1, &cfg->heartbeat_ms);
	}
	return -1;
}

static int config_run(struct vs_global *g, int argc, char **argv)
{
	static const struct option lo[] = {
		VS_GLOBAL_LONG,
		{ NULL, 0, NULL, 0 }
	};
	struct vs_config set = { 0 }, cfg;
	struct vs_status st;
	struct vs_ctx *ctx;
	int c, r, err;

	while ((c = getopt_long(argc, argv, VS_GLOBAL_SHORT, lo, NULL)) != -1) {
		r = vs_common_opt(&vs_cmd_config, g, c, optarg);
		if (r >= 0)
			return r;
	}
	for (int i = optind; i < argc; i++)
		if (parse_setting(&set, argv[i]))
			return vs_usage_error(&vs_cmd_config,
					      "bad setting '%s'", argv[i]);
	r = vs_connect(&ctx);
	if (r)
		return r;
	if (set.mask) {
		err = vs_set_config(ctx, &set);
		if (err) {
			r = vs_report(ctx, err, "changing the configuration");
			vs_close(ctx);
			return r;
		}
	}
	err = vs_get_config(ctx, &cfg, &st);
	if (err) {
		r = vs_report(ctx, err, "reading the configuration");
		vs_close(ctx);
		return r;
	}
	if (g->json) {
		struct jw w;

		jw_init(&w, stdout, g->pretty);
		jw_obj_open(&w);
		jw_time_keys(&w, 0);
		jw_key(&w, "status");
		jw_status(&w, &st);
		jw_key(&w, "config");
		jw_config(&w, &cfg);
		jw_obj_close(&w);
		r = jw_end(&w) ? VS_EXIT_ERR : VS_EXIT_OK;
	} else {
		printf("version          %s\n", st.version);
		printf("vms              %u\n", st.vms);
		printf("vcpus            %u (max_vcpus %u)\n", st.vcpus,
		       st.max_vcpus);
		printf("vms_seen         %" PRIu64 "\n", st.vms_seen);
		printf("overflow         %" PRIu64 "\n", st.overflow);
		printf("alloc_fail       %" PRIu64 "\n", st.alloc_fail);
		printf("bad_layout       %" PRIu64 "\n", st.bad_layout);
		printf("nomem_exits      %" PRIu64 "\n", st.nomem_exits);
		printf("stale_vms        %" PRIu64 "\n", st.stale_vms);
		printf("events_sent      %" PRIu64 "\n", st.events_sent);
		printf("events_lost      %" PRIu64 "\n", st.events_lost);
		printf("migr_suppressed  %" PRIu64 "\n", st.migr_suppressed);
		printf("generation       %" PRIu64 "\n", st.generation);
		if (cfg.mask & VS_CFG_SNAPSHOT_MS)
			printf("snapshot_ms      %u%s\n", cfg.snapshot_ms,
			       cfg.snapshot_ms ? "" : " (delta events off)");
		if (cfg.mask & VS_CFG_TIMING)
			printf("timing           %s\n", cfg.timing ? "on" : "off");
		if (cfg.mask & VS_CFG_TIMING_EVERY)
			printf("timing_every     %u%s\n", cfg.timing_every,
			       cfg.timing_every > 1 ? " (sampled)" : "");
		if (cfg.mask & VS_CFG_HEARTBEAT_MS)
			printf("heartbeat_ms     %u%s\n", cfg.heartbeat_ms,
			       cfg.heartbeat_ms ? "" : " (none)");
		if (cfg.mask & VS_CFG_MIGR_RATE)
			printf("migr_rate        %u%s\n", cfg.migr_rate,
			       cfg.migr_rate ? "/s" : " (migration events off)");
		if (cfg.mask & VS_CFG_BUDGET)
			printf("budget           %s%s\n", cfg.budget ? "on" : "off",
			       !cfg.budget ? "" : st.run_hook ? "" :
			       " (no KVM_RUN hook: user and out time count as exit)");
		if (st.run_missed)
			printf("run_missed       %" PRIu64 "\n", st.run_missed);
		if (cfg.mask & VS_CFG_DETAIL)
			printf("detail           %s\n", cfg.detail ? "on" : "off");
		if (cfg.mask & VS_CFG_DETAIL_K)
			printf("detail_k         %u\n", cfg.detail_k);
		r = VS_EXIT_OK;
	}
	vs_close(ctx);
	return r;
}

const struct vs_cmd vs_cmd_config = {
	.name = "config",
	.synopsis = "[-j|--pretty] [snapshot_ms=MS] [heartbeat_ms=MS] [timing=on|off] [timing_every=N] [migr_rate=N] [budget=on|off] [detail=on|off] [detail_k=N]",
	.summary = "show module status and configuration, or change it",
	.run = config_run,
	.help = config_help,
};
