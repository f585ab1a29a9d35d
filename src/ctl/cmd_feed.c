/* SPDX-License-Identifier: MIT */
/* nameplatectl feed reload: reads the [abuse] feeds as nameplated does, reports every line
 * that does not parse (FILE:LINE), quarantines the names of ours the hostname feeds list
 * (through the store, like every nameplatectl change: the daemon rebuilds DNS within its
 * poll interval), then sends SIGHUP to the running nameplated (its pid is in
 * data_dir/nameplated.pid) so that it reloads its configuration and feeds too. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "abuse/abuse.h"
#include "abuse/feed.h"
#include "common/clock.h"
#include "common/str.h"
#include "ctl/ctl.h"

struct report {
	unsigned bad, unreadable;
};

static void report_line(void *ctx, const char *file, unsigned line, const char *why)
{
	struct report *r = ctx;
	if (line == 0)
		r->unreadable++;
	else
		r->bad++;
	fprintf(stderr, "nameplatectl: %s:%u: %s\n", file, line, why);
}

struct touch_ctx {
	struct ctl *c;
};

/* A quarantined name: its zone's serial moves, so the daemon rebuilds it. */
static int touch(void *ctx, const char *fqdn)
{
	struct touch_ctx *t = ctx;
	const struct cfg_zone *z = config_zone_for(t->c->cfg, fqdn);
	printf("quarantined %s\n", fqdn);
	return z != NULL ? store_zone_bump(t->c->st, z->name, NULL) : NP_OK;
}

/* SIGHUP to the nameplated whose pid data_dir/nameplated.pid holds, when that process is
 * a nameplated. Returns its pid, 0 when none runs, -1 when it could not be signalled. */
static long signal_daemon(const struct config *cfg)
{
	char path[PATH_MAX + 32], comm[64] = "";
	snprintf(path, sizeof(path), "%s/%s", cfg->data_dir, NAMEPLATED_PID_FILE);
	FILE *fp = fopen(path, "r");
	long pid = 0;
	if (fp == NULL)
		return 0;
	if (fscanf(fp, "%ld", &pid) != 1 || pid <= 1)
		pid = 0;
	fclose(fp);
	if (pid == 0)
		return 0;
	/* A stale file may name another process by now: only a nameplated is signalled. */
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	fp = fopen(path, "r");
	if (fp == NULL)
		return 0;
	if (fgets(comm, sizeof(comm), fp) == NULL)
		comm[0] = '\0';
	fclose(fp);
	if (strncmp(comm, "nameplated", 10) != 0)
		return 0;
	if (kill((pid_t)pid, SIGHUP) != 0) {
		ctl_err("cannot signal nameplated (pid %ld): %s", pid, strerror(errno));
		return -1;
	}
	return pid;
}

int ctl_cmd_feed(struct ctl *c, int argc, char **argv)
{
	if (argc != 1 || strcmp(argv[0], "reload") != 0)
		return ctl_usage("feed reload");
	struct report rep = {0};
	struct feed_set *fs;
	int ret = feed_set_load((const char(*)[CFG_FEED_MAX])c->cfg->abuse_feeds,
	                        c->cfg->n_abuse_feeds, report_line, &rep, &fs);
	if (ret != NP_OK) {
		ctl_err("feeds: %s", np_strerror(ret));
		return CTL_FAIL;
	}
	printf("feeds: %u files, %zu address ranges, %zu names, %u malformed lines\n",
	       c->cfg->n_abuse_feeds, feed_set_ranges(fs), feed_set_names(fs), rep.bad);
	if (ctl_open(c) != CTL_OK) {
		feed_set_free(fs);
		return CTL_FAIL;
	}
	struct touch_ctx t = {c};
	unsigned moved = 0;
	ret = store_begin(c->st);
	if (ret == NP_OK)
		ret = abuse_quarantine_names(fs, c->st, c->cfg, touch, &t, time_now(), &moved);
	if (ret == NP_OK)
		ret = store_commit(c->st);
	if (ret != NP_OK)
		store_rollback(c->st);
	feed_set_free(fs);
	if (ret != NP_OK) {
		ctl_err("feed reload: %s", np_strerror(ret));
		return CTL_FAIL;
	}
	printf("%u hosts quarantined\n", moved);
	long pid = signal_daemon(c->cfg);
	if (pid > 0)
		printf("signalled nameplated (pid %ld): it reloads its configuration and feeds\n",
		       pid);
	else if (pid == 0)
		printf("nameplated is not running here: it loads the feeds when it starts\n");
	return pid < 0 || rep.unreadable > 0 ? CTL_FAIL : CTL_OK;
}
