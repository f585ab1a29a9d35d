/* SPDX-License-Identifier: MIT */
/* nameplatectl internals: the command context, the commands, and helpers they share. */
#ifndef NP_CTL_CTL_H
#define NP_CTL_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "store/store.h"

/* Exit statuses of nameplatectl. */
#define CTL_OK    0
#define CTL_FAIL  1
#define CTL_USAGE 2

/* What every command gets: the loaded config and, once ctl_open ran, the store. */
struct ctl {
	const char *conf_path;
	struct config *cfg;
	struct store *st;
};

/* Prints "nameplatectl: MESSAGE" on stderr. */
void ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints a usage error and returns CTL_USAGE. */
int ctl_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Opens the existing store under data_dir (message + CTL_FAIL when not initialised). */
int ctl_open(struct ctl *c);
/* Lowercases text into out without a trailing dot and checks it is a host name (LDH
 * labels, no "*"). Returns false (with a message) otherwise. */
bool ctl_host_name(const char *text, char *out, size_t outlen);
/* Formats the A and AAAA records among rrs as "v4,v6" ("" when none). */
void ctl_addrs(const struct store_rr *rrs, size_t n, char *out, size_t outlen);
/* Formats a unix time as "2026-01-31T12:00:00Z" (UTC), or "never" when t <= 0. */
void ctl_time(int64_t t, char *out, size_t len);
/* --expires: a unix time, or +SECONDS from now; either must lie in the future. False
 * (with a message) otherwise. */
bool ctl_parse_expires(const char *text, int64_t now, int64_t *out);
/* Deletes one thing named name in a transaction of its own with del (NP_ENOTFOUND when
 * there is none) and says so: "WHAT NAME deleted: it no longer works", or "no WHAT NAME". */
int ctl_delete_one(struct ctl *c, int (*del)(struct store *st, const char *name),
                   const char *what, const char *name);
/* Records a change to host h in the history (protocol "ctl") and bumps its zone's serial;
 * part of the caller's transaction. */
int ctl_host_changed(struct ctl *c, int64_t host_id, const char *fqdn, const char *zone,
                     const char *old_addrs, const char *new_addrs) np_mustcheck;

/* The commands: argv[0] is the command word after "host", "user" or "zone". */
int ctl_cmd_init(struct ctl *c, int argc, char **argv);
int ctl_cmd_user(struct ctl *c, int argc, char **argv);  /* cmd_user.c */
int ctl_cmd_token(struct ctl *c, int argc, char **argv); /* cmd_token.c */
int ctl_cmd_invite(struct ctl *c, int argc, char **argv); /* cmd_invite.c */
int ctl_cmd_tsig(struct ctl *c, int argc, char **argv);   /* cmd_tsig.c */
int ctl_cmd_host(struct ctl *c, int argc, char **argv);
int ctl_cmd_zone(struct ctl *c, int argc, char **argv);
int ctl_cmd_sensor(struct ctl *c, int argc, char **argv);  /* cmd_sensor.c */
int ctl_cmd_import(struct ctl *c, int argc, char **argv);  /* cmd_import.c */
int ctl_cmd_observe(struct ctl *c, int argc, char **argv); /* cmd_import.c */
int ctl_cmd_abuse(struct ctl *c, int argc, char **argv);   /* cmd_abuse.c */
int ctl_cmd_feed(struct ctl *c, int argc, char **argv);    /* cmd_feed.c */

/* Who runs nameplatectl, for the abuse log: "ctl:root", "ctl:root (sudo alice)". */
void ctl_actor(char *out, size_t len);
/* Moves host fqdn to an abuse state (int: enum store_abuse_state) in its own transaction,
 * logged with actor and reason, the zone bumped so the daemon rebuilds DNS. NP_ENOTFOUND
 * when there is no such host. */
int ctl_abuse_set(struct ctl *c, const char *fqdn, int state, const char *actor,
                  const char *reason, bool *changed) np_mustcheck;
/* One host of a suspended or restored account (ctx: the struct ctl): its zone is bumped,
 * so DNS follows. */
int ctl_host_touch(void *ctx, const struct store_host *h) np_mustcheck;
/* Moves account user_id to state (enum store_user_state) in its own transaction; entering
 * or leaving suspended logs each of its hosts and bumps their zones
 * (store_abuse_account_state). */
int ctl_abuse_account(struct ctl *c, int64_t user_id, int state, const char *actor,
                      const char *reason, bool *changed) np_mustcheck;

#endif
