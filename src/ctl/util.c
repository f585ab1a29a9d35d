/* SPDX-License-Identifier: MIT */
/* Helpers the nameplatectl commands share: messages, opening the store, names, history. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl.h"
#include "dns/name.h"

void ctl_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("nameplatectl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int ctl_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("nameplatectl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs("\nusage: nameplatectl [-c FILE] COMMAND [ARGS] (nameplatectl -h lists them)\n",
	      stderr);
	va_end(ap);
	return CTL_USAGE;
}

int ctl_open(struct ctl *c)
{
	int ret = store_open(c->cfg->data_dir, false, &c->st);
	if (ret == NP_ENOTFOUND) {
		ctl_err("no store in %s: run 'nameplatectl init' first", c->cfg->data_dir);
		return CTL_FAIL;
	}
	/* nameplatectl is short-lived and may import 100,000 hosts: memory is cheap here. */
	if (ret == NP_OK)
		ret = store_set_bulk(c->st, true);
	if (ret != NP_OK) {
		ctl_err("cannot open the store in %s: %s", c->cfg->data_dir, np_strerror(ret));
		return CTL_FAIL;
	}
	return CTL_OK;
}

bool ctl_host_name(const char *text, char *out, size_t outlen)
{
	uint8_t wire[DNS_NAME_MAX];
	if (strchr(text, '*') != NULL) {
		ctl_err("'%s' is not a host name (wildcards are a host flag: --wildcard)", text);
		return false;
	}
	int len = dns_name_from_text(text, wire, sizeof(wire));
	if (len <= 1 || dns_name_to_text(wire, (size_t)len, out, outlen) < 0) {
		ctl_err("'%s' is not a host name", text);
		return false;
	}
	return true;
}

void ctl_addrs(const struct store_rr *rrs, size_t n, char *out, size_t outlen)
{
	size_t o = 0;
	out[0] = '\0';
	for (int pass = 0; pass < 2; pass++) {
		uint16_t type = pass == 0 ? DNS_TYPE_A : DNS_TYPE_AAAA;
		for (size_t i = 0; i < n; i++) {
			char buf[INET6_ADDRSTRLEN];
			if (rrs[i].type != type || rrs[i].rdlen != (type == DNS_TYPE_A ? 4 : 16))
				continue;
			inet_ntop(type == DNS_TYPE_A ? AF_INET : AF_INET6, rrs[i].rdata, buf,
			          sizeof(buf));
			int w = snprintf(out + o, outlen - o, "%s%s", o > 0 ? "," : "", buf);
			if (w < 0 || (size_t)w >= outlen - o)
				return; /* truncated: the list is for people and history only */
			o += (size_t)w;
		}
	}
}

void ctl_time(int64_t t, char *out, size_t len)
{
	if (t <= 0) {
		snprintf(out, len, "never");
		return;
	}
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int ctl_host_changed(struct ctl *c, int64_t host_id, const char *fqdn, const char *zone,
                     const char *old_addrs, const char *new_addrs)
{
	struct store_history h = {
	    .host_id = host_id,
	    .fqdn = fqdn,
	    .time = 0,
	    .source = "nameplatectl",
	    .old_addr = old_addrs,
	    .new_addr = new_addrs,
	    .protocol = "ctl",
	};
	int ret = store_history_add(c->st, &h);
	if (ret == NP_OK)
		ret = store_zone_bump(c->st, zone, NULL);
	return ret;
}

int ctl_delete_one(struct ctl *c, int (*del)(struct store *st, const char *name),
                   const char *what, const char *name)
{
	if (ctl_open(c) != CTL_OK)
		return CTL_FAIL;
	int ret = store_begin(c->st);
	if (ret == NP_OK)
		ret = del(c->st, name);
	if (ret == NP_OK)
		ret = store_commit(c->st);
	if (ret != NP_OK) {
		store_rollback(c->st);
		if (ret == NP_ENOTFOUND)
			ctl_err("no %s %s", what, name);
		else
			ctl_err("%s del: %s", what, np_strerror(ret));
		return CTL_FAIL;
	}
	printf("%s %s deleted: it no longer works\n", what, name);
	return CTL_OK;
}
