/* SPDX-License-Identifier: MIT */
/* dyndns2: argument parsing, result lines, and the update decided on the writer thread. */
#include "http/dyndns2.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "abuse/abuse.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/str.h"
#include "dns/constants.h"
#include "dns/name.h"
#include "http/prefix.h"
#include "store/abuse.h"
#include "zone/zone.h"

/* How often at most an unchanged update records that its token was used (seconds). */
#define TOKEN_USED_EVERY 3600

/* Argument groups: aliases of one parameter share a bit, so "first wins" spans them. */
enum arg_group {
	ARG_HOSTNAME = 1u << 0,
	ARG_MYIP = 1u << 1,   /* myip, ip: either family, or "v4,v6" */
	ARG_MYIPV4 = 1u << 2, /* myipv4, ipv4 */
	ARG_MYIPV6 = 1u << 3, /* myipv6, ipv6 */
	ARG_OFFLINE = 1u << 4,
	ARG_WILDCARD = 1u << 5,
	ARG_PREFIX = 1u << 6, /* myipv6prefix, ipv6prefix */
};

static const struct {
	const char *name;
	enum arg_group group;
} arg_names[] = {
    {"hostname", ARG_HOSTNAME}, {"myip", ARG_MYIP},       {"ip", ARG_MYIP},
    {"myipv4", ARG_MYIPV4},     {"ipv4", ARG_MYIPV4},     {"myipv6", ARG_MYIPV6},
    {"ipv6", ARG_MYIPV6},       {"offline", ARG_OFFLINE}, {"wildcard", ARG_WILDCARD},
    {"myipv6prefix", ARG_PREFIX}, {"ipv6prefix", ARG_PREFIX},
};

/* Case-insensitive comparison of a counted string with a C string. */
static bool word_eq(const char *s, size_t len, const char *word)
{
	size_t wlen = strlen(word);
	return len == wlen && strncasecmp(s, word, len) == 0;
}

static const char *trim(const char *s, size_t *len)
{
	while (*len > 0 && (s[0] == ' ' || s[0] == '\t')) {
		s++;
		(*len)--;
	}
	while (*len > 0 && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
		(*len)--;
	return s;
}

void dyndns2_params_init(struct dyndns2_params *p)
{
	memset(p, 0, sizeof(*p));
}

bool dyndns2_fqdn_normalize(const char *text, size_t len, char out[CFG_NAME_MAX])
{
	char buf[CFG_NAME_MAX];
	uint8_t wire[DNS_NAME_MAX];

	out[0] = '\0';
	if (len > 0 && text[len - 1] == '.')
		len--;
	if (len == 0 || len >= sizeof(buf) || memchr(text, '\0', len) != NULL)
		return false;
	/* One trailing dot is an absolute name; "a.example.." is malformed. */
	if (text[len - 1] == '.')
		return false;
	/* A wildcard owner is set through wildcard=ON, never named in an update. */
	if (text[0] == '*')
		return false;
	memcpy(buf, text, len);
	buf[len] = '\0';
	int wlen = dns_name_from_text(buf, wire, sizeof(wire));
	if (wlen < 0 || dns_name_labels(wire) < 2)
		return false;
	str_lower(buf);
	memcpy(out, buf, len + 1);
	return true;
}

/* Whether s holds a blank or a control character: no router puts one in a name or an
 * address, so such a value is a mistake or an attack and is refused, never trimmed. */
static bool has_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return true;
	return false;
}

static void add_hostnames(struct dyndns2_params *p, const char *v, size_t len)
{
	size_t start = 0;
	if (len == 0)
		return; /* "hostname=" names none: the user name is the host */
	/* Bounded by len: every round consumes at least one byte or ends. */
	while (start <= len) {
		size_t end = start;
		while (end < len && v[end] != ',')
			end++;
		size_t elen = end - start;
		const char *e = v + start;
		/* "a,,b", ",a" and "a," are not lists of names: the whole request is notfqdn. */
		if (elen == 0 || has_blank(e, elen))
			p->bad_list = true;
		else {
			if (p->n_hosts < DYNDNS2_MAX_HOSTS) {
				struct dyndns2_host *h = &p->hosts[p->n_hosts++];
				h->valid = dyndns2_fqdn_normalize(e, elen, h->fqdn);
			} else {
				p->too_many = true;
			}
		}
		start = end + 1;
	}
}

/* Whether a host may be published with address a. Refused: addresses that name no host
 * (unspecified, IPv4 0/8), that are not one host's (multicast, the IPv4 broadcast), and
 * IPv4-mapped IPv6 (an IPv4 address belongs in an A record, and a mapped AAAA reaches
 * nobody). Loopback is decided later, against the requester (dyndns2_params_finish). */
static bool addr_publishable(const struct np_addr *a)
{
	static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
	static const uint8_t zero[16];
	if (a->family == AF_INET)
		return a->bytes[0] != 0 && a->bytes[0] < 224 &&
		       memcmp(a->bytes, "\xff\xff\xff\xff", 4) != 0;
	return memcmp(a->bytes, zero, 16) != 0 && a->bytes[0] != 0xff &&
	       memcmp(a->bytes, mapped, sizeof(mapped)) != 0;
}

static bool addr_loopback(const struct np_addr *a)
{
	static const uint8_t one[16] = {[15] = 1};
	return a->family == AF_INET ? a->bytes[0] == 127 : memcmp(a->bytes, one, 16) == 0;
}

/* Parses one address element, and strips a "/len" suffix (FRITZ!Box sends its
 * <ip6lanprefix> that way). "preserve" means: leave this family alone. Returns
 * 1 with *out set, 0 for "preserve", or -1 when it does not parse. */
static int parse_addr_elem(const char *s, size_t len, struct np_addr *out)
{
	char buf[INET6_ADDRSTRLEN + 8];

	if (word_eq(s, len, "preserve"))
		return 0;
	if (len == 0 || len >= sizeof(buf) || has_blank(s, len) || memchr(s, '\0', len) != NULL)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	char *slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	if (addr_parse(buf, out) != NP_OK)
		return -1;
	if (slash != NULL) {
		uint32_t plen;
		uint32_t max = out->family == AF_INET ? 32 : 128;
		if (str_to_u32(slash + 1, 0, max, &plen) != NP_OK)
			return -1;
	}
	return addr_publishable(out) ? 1 : -1;
}

/* An address argument: "ADDR" or "ADDR,ADDR" (at most one of each family). family is
 * AF_INET or AF_INET6 for myipv4/myipv6, 0 for myip. An empty value means "not given". */
static void add_addrs(struct dyndns2_params *p, const char *v, size_t len, int family)
{
	if (len == 0)
		return;
	p->addr_given = true;

	bool v4 = false, v6 = false;
	size_t start = 0;
	unsigned elems = 0;
	while (start <= len) {
		size_t end = start;
		while (end < len && v[end] != ',')
			end++;
		struct np_addr a;
		int r = parse_addr_elem(v + start, end - start, &a);
		if (r < 0 || ++elems > 2) {
			p->bad_addr = true;
			return;
		}
		if (r == 0 && family == AF_INET)
			p->has_v4 = false;
		else if (r == 0 && family == AF_INET6)
			p->has_v6 = false;
		if (r > 0) {
			bool *seen = a.family == AF_INET ? &v4 : &v6;
			if (*seen || (family != 0 && a.family != family)) {
				p->bad_addr = true;
				return;
			}
			*seen = true;
			/* A family-specific argument overrides what myip said for its family. */
			if (a.family == AF_INET && (family != 0 || !(p->seen & ARG_MYIPV4))) {
				p->v4 = a;
				p->has_v4 = true;
			} else if (a.family == AF_INET6 &&
			           (family != 0 || !(p->seen & ARG_MYIPV6))) {
				p->v6 = a;
				p->has_v6 = true;
			}
		}
		start = end + 1;
	}
}

static enum dyndns2_switch parse_switch(const char *v, size_t len, const char *set,
                                        const char *clear)
{
	v = trim(v, &len);
	if (word_eq(v, len, set))
		return DYNDNS2_SET;
	if (word_eq(v, len, clear))
		return DYNDNS2_CLEAR;
	return DYNDNS2_KEEP;
}

void dyndns2_params_add(struct dyndns2_params *p, const char *key, size_t key_len,
                        const char *value, size_t value_len)
{
	enum arg_group g = 0;
	for (size_t i = 0; i < ARRAY_SIZE(arg_names) && g == 0; i++)
		if (word_eq(key, key_len, arg_names[i].name))
			g = arg_names[i].group;
	if (g == 0 || (p->seen & g))
		return;
	if (value == NULL)
		value_len = 0;
	if (value == NULL)
		value = "";

	switch (g) {
	case ARG_HOSTNAME:
		add_hostnames(p, value, value_len);
		break;
	case ARG_MYIP:
		add_addrs(p, value, value_len, 0);
		break;
	case ARG_MYIPV4:
		add_addrs(p, value, value_len, AF_INET);
		break;
	case ARG_MYIPV6:
		add_addrs(p, value, value_len, AF_INET6);
		break;
	case ARG_OFFLINE:
		p->offline = parse_switch(value, value_len, "YES", "NO");
		break;
	case ARG_WILDCARD:
		p->wildcard = parse_switch(value, value_len, "ON", "OFF");
		break;
	case ARG_PREFIX: {
		char text[INET6_ADDRSTRLEN + 8];
		if (value_len == 0)
			break; /* empty: not given */
		if (value_len >= sizeof(text) || has_blank(value, value_len) ||
		    memchr(value, '\0', value_len) != NULL) {
			p->bad_addr = true;
			break;
		}
		memcpy(text, value, value_len);
		text[value_len] = '\0';
		if (prefix_parse(text, &p->prefix))
			p->has_prefix = true;
		else
			p->bad_addr = true;
		break;
	}
	}
	p->seen |= g;
}

void dyndns2_params_finish(struct dyndns2_params *p, const struct np_addr *client)
{
	/* A loopback address is this machine's: only a client on it may publish one (ddclient
	 * beside the server, with the server's own checkip). */
	bool local = client != NULL && addr_loopback(client);
	if ((p->has_v4 && addr_loopback(&p->v4) && !local) ||
	    (p->has_v6 && addr_loopback(&p->v6) && !local))
		p->bad_addr = true;
	if (p->bad_addr) {
		p->has_v4 = p->has_v6 = false;
		return;
	}
	if (p->addr_given || client == NULL)
		return;
	if (client->family == AF_INET) {
		p->v4 = *client;
		p->has_v4 = true;
	} else if (client->family == AF_INET6) {
		p->v6 = *client;
		p->has_v6 = true;
	}
}

bool dyndns2_precheck(const struct dyndns2_params *p, const char *user, enum dyndns2_code *code)
{
	char fqdn[CFG_NAME_MAX];

	if (p->bad_list) {
		*code = DYNDNS2_NOTFQDN;
		return true;
	}
	if (p->too_many) {
		*code = DYNDNS2_NUMHOST;
		return true;
	}
	if (p->n_hosts == 0 && !dyndns2_fqdn_normalize(user, strlen(user), fqdn)) {
		*code = DYNDNS2_NOTFQDN;
		return true;
	}
	return false;
}

/* ---- result lines ---- */

int dyndns2_format(const struct dyndns2_result *res, size_t n, char *out, size_t cap)
{
	size_t pos = 0;

	if (cap == 0)
		return NP_ETOOBIG;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const struct dyndns2_result *r = &res[i];
		char a4[INET6_ADDRSTRLEN] = "", a6[INET6_ADDRSTRLEN] = "";
		bool echo = r->code == DYNDNS2_GOOD || r->code == DYNDNS2_NOCHG;
		if (echo && r->has_v4)
			addr_format(&r->v4, a4, sizeof(a4));
		if (echo && r->has_v6)
			addr_format(&r->v6, a6, sizeof(a6));
		const char *sep1 = (a4[0] != '\0' || a6[0] != '\0') ? " " : "";
		const char *sep2 = (a4[0] != '\0' && a6[0] != '\0') ? "," : "";
		int w = snprintf(out + pos, cap - pos, "%s%s%s%s%s\n", dyndns2_code_str(r->code),
		                 sep1, a4, sep2, a6);
		if (w < 0 || (size_t)w >= cap - pos) {
			out[0] = '\0';
			return NP_ETOOBIG;
		}
		pos += (size_t)w;
	}
	return (int)pos;
}

/* ---- the update, on the writer thread ---- */

void dyndns2_update_init(struct dyndns2_update *u)
{
	memset(u, 0, sizeof(*u));
	u->op.apply = dyndns2_update_apply;
}

/* Per-request scratch: too big for a stack frame of the writer thread. */
struct scratch {
	struct store_host hosts[DYNDNS2_MAX_HOSTS];
	bool pending[DYNDNS2_MAX_HOSTS]; /* authorised: to be updated in the second pass */
	struct store_rr rrs[ZONE_MAX_RRS_PER_NODE];
	struct store_rr rr;
};

static void set_once(struct dyndns2_update *u, enum dyndns2_code code)
{
	memset(u->results, 0, sizeof(u->results));
	u->results[0].code = code;
	u->n_results = 1;
}

/* Appends the addresses of type among rrs to a comma list in buf. */
static void list_addrs(const struct store_rr *rrs, size_t n, uint16_t type, char *buf, size_t cap)
{
	size_t pos = strlen(buf);
	for (size_t i = 0; i < n; i++) {
		struct np_addr a;
		if (rrs[i].type != type || !store_rr_addr(&rrs[i], &a))
			continue;
		char t[INET6_ADDRSTRLEN];
		int w = snprintf(buf + pos, cap - pos, "%s%s", pos > 0 ? "," : "",
		                 addr_format(&a, t, sizeof(t)));
		if (w < 0 || (size_t)w >= cap - pos)
			return; /* the history text is informative; a long list is cut */
		pos += (size_t)w;
	}
}

/* True when the records of type are exactly the one address a. */
static bool rrset_is(const struct store_rr *rrs, size_t n, uint16_t type, const struct np_addr *a)
{
	size_t len = a->family == AF_INET ? 4 : 16;
	unsigned count = 0;
	bool same = false;
	for (size_t i = 0; i < n; i++) {
		if (rrs[i].type != type)
			continue;
		count++;
		same = rrs[i].rdlen == len && memcmp(rrs[i].rdata, a->bytes, len) == 0;
	}
	return count == 1 && same;
}

static bool rrset_any(const struct store_rr *rrs, size_t n, uint16_t type)
{
	for (size_t i = 0; i < n; i++)
		if (rrs[i].type == type)
			return true;
	return false;
}

static int set_addr(struct store *st, struct store_rr *rr, int64_t host_id, uint16_t type,
                    uint32_t ttl, const struct np_addr *a)
{
	rr->type = type;
	rr->ttl = ttl;
	rr->rdlen = a->family == AF_INET ? 4 : 16;
	memcpy(rr->rdata, a->bytes, rr->rdlen);
	return store_records_set(st, host_id, type, rr, 1);
}

/* Updates one authorised host: records for the families given (or withdrawal for
 * offline=YES), the flags, the history, and the touch. Writes its result line. */
static int update_host(struct dyndns2_update *u, struct scratch *s, struct store_host *h,
                       struct store *st, const struct config *cfg, dyndns2_touch_fn *touch,
                       void *touch_ctx, struct dyndns2_result *res)
{
	const struct dyndns2_params *p = &u->params;
	const struct cfg_zone *zone = config_zone_for(cfg, h->fqdn);
	size_t n = 0;
	/* Re-read the flags: the same host may be named twice in one request. */
	char fqdn[CFG_NAME_MAX];
	np_strlcpy(fqdn, h->fqdn, sizeof(fqdn));
	int ret = store_host_get(st, fqdn, h);
	if (ret == NP_OK)
		ret = store_records_get(st, h->id, s->rrs, ARRAY_SIZE(s->rrs), &n);
	if (ret != NP_OK)
		return ret;

	bool want_v4 = false, want_v6 = false, del_v4 = false, del_v6 = false;
	bool offline = h->offline;
	if (p->offline == DYNDNS2_SET) {
		del_v4 = rrset_any(s->rrs, n, DNS_TYPE_A);
		del_v6 = rrset_any(s->rrs, n, DNS_TYPE_AAAA);
		offline = true;
	} else {
		want_v4 = p->has_v4 && !rrset_is(s->rrs, n, DNS_TYPE_A, &p->v4);
		want_v6 = p->has_v6 && !rrset_is(s->rrs, n, DNS_TYPE_AAAA, &p->v6);
		/* An update with addresses brings the host back online. */
		if (p->has_v4 || p->has_v6 || p->offline == DYNDNS2_CLEAR)
			offline = false;
	}
	bool wildcard = h->wildcard;
	if (p->wildcard == DYNDNS2_SET)
		wildcard = true;
	else if (p->wildcard == DYNDNS2_CLEAR)
		wildcard = false;
	bool flags = offline != h->offline || wildcard != h->wildcard;
	bool changed = want_v4 || want_v6 || del_v4 || del_v6 || flags;

	memset(res, 0, sizeof(*res));
	res->code = changed ? DYNDNS2_GOOD : DYNDNS2_NOCHG;
	if (p->offline != DYNDNS2_SET) {
		res->has_v4 = p->has_v4;
		res->v4 = p->v4;
		res->has_v6 = p->has_v6;
		res->v6 = p->v6;
	}
	if (!changed)
		return NP_OK;

	/* A new address is judged by the name's flux score first: at hold or above it is not
	 * applied, and the state (now stored) answers. */
	if (u->abuse != NULL && (want_v4 || want_v6)) {
		struct np_addr cand[2];
		size_t nc = 0;
		if (want_v4)
			cand[nc++] = p->v4;
		if (want_v6)
			cand[nc++] = p->v6;
		int state;
		ret = abuse_judge(u->abuse, st, h, cand, nc, time_now(), &state);
		if (ret != NP_OK)
			return ret;
		if (state >= STORE_ABUSE_HOLD) {
			memset(res, 0, sizeof(*res));
			res->code = DYNDNS2_ABUSE;
			/* A quarantine leaves DNS with this batch. */
			if (state == STORE_ABUSE_QUARANTINED && touch != NULL)
				ret = touch(touch_ctx, h->fqdn);
			return ret;
		}
	}

	char old_text[512] = "", new_text[512] = "";
	list_addrs(s->rrs, n, DNS_TYPE_A, old_text, sizeof(old_text));
	list_addrs(s->rrs, n, DNS_TYPE_AAAA, old_text, sizeof(old_text));

	uint32_t ttl = zone != NULL ? zone->ttl : 60;
	if (want_v4)
		ret = set_addr(st, &s->rr, h->id, DNS_TYPE_A, ttl, &p->v4);
	if (ret == NP_OK && want_v6)
		ret = set_addr(st, &s->rr, h->id, DNS_TYPE_AAAA, ttl, &p->v6);
	if (ret == NP_OK && del_v4)
		ret = store_records_set(st, h->id, DNS_TYPE_A, NULL, 0);
	if (ret == NP_OK && del_v6)
		ret = store_records_set(st, h->id, DNS_TYPE_AAAA, NULL, 0);
	if (ret == NP_OK && flags)
		ret = store_host_set_flags(st, h->id, wildcard, offline, h->blocked);
	if (ret != NP_OK)
		return ret;

	/* The history's new text: what the host now holds. */
	ret = store_records_get(st, h->id, s->rrs, ARRAY_SIZE(s->rrs), &n);
	if (ret != NP_OK)
		return ret;
	list_addrs(s->rrs, n, DNS_TYPE_A, new_text, sizeof(new_text));
	list_addrs(s->rrs, n, DNS_TYPE_AAAA, new_text, sizeof(new_text));

	char source[INET6_ADDRSTRLEN] = "";
	if (u->client.family != 0)
		addr_format(&u->client, source, sizeof(source));
	struct store_history hist = {
	    .host_id = h->id,
	    .fqdn = h->fqdn,
	    .time = time_now(),
	    .source = source,
	    .old_addr = old_text,
	    .new_addr = new_text,
	    .protocol = "dyndns2",
	    .token_id = u->id.cred.token_id,
	};
	ret = store_history_add(st, &hist);
	if (ret == NP_OK && touch != NULL)
		ret = touch(touch_ctx, h->fqdn);
	if (ret == NP_OK)
		u->changed++;
	return ret;
}

int dyndns2_authenticate(struct store *st, const char *user, const uint8_t hash[SECRET_HASH_LEN],
                         const struct np_addr *client, struct dyndns2_identity *id, bool *ok)
{
	*ok = false;
	memset(id, 0, sizeof(*id));
	int ret = credential_from_hash(st, hash, &id->cred);
	if (ret == NP_ENOTFOUND)
		return NP_OK;
	if (ret != NP_OK)
		return ret;
	if (credential_usable(&id->cred, client, time_now()) != POLICY_OK) {
		/* A suspended account is told so in the protocol's word, not "badauth": a client
		 * stops on either, and its owner sees why. */
		id->suspended = id->cred.state == STORE_USER_SUSPENDED;
		return NP_OK;
	}
	/* The user names the token's account, or one of its hosts that the token may change
	 * (as the host of an update without hostname). */
	bool named = strcmp(user, id->cred.user) == 0;
	char fqdn[CFG_NAME_MAX];
	if (!named && dyndns2_fqdn_normalize(user, strlen(user), fqdn)) {
		struct store_host *h = malloc(sizeof(*h));
		if (h == NULL)
			return NP_ENOMEM;
		ret = store_host_get(st, fqdn, h);
		named = ret == NP_OK && h->user_id == id->cred.user_id &&
		        policy_name_allows(&id->cred.policy, fqdn);
		free(h);
		if (ret != NP_OK && ret != NP_ENOTFOUND)
			return ret;
	}
	if (!named)
		return NP_OK;
	id->user_id = id->cred.user_id;
	np_strlcpy(id->account, id->cred.user, sizeof(id->account));
	*ok = true;
	return NP_OK;
}

/* A host the prefix moved: its line, if the request named it, says so. */
static int prefix_moved(void *ctx, const char *fqdn, const char *old_text, const char *new_text)
{
	struct dyndns2_update *u = ctx;
	(void)old_text;
	(void)new_text;
	for (unsigned i = 0; i < u->params.n_hosts; i++) {
		struct dyndns2_result *r = &u->results[i];
		if (strcmp(u->params.hosts[i].fqdn, fqdn) == 0 && r->code == DYNDNS2_NOCHG)
			r->code = DYNDNS2_GOOD;
	}
	u->changed++;
	return NP_OK;
}

/* The budgets of the hosts a prefix moves that the request does not name (those, its
 * token and its source were counted before the writer). */
static unsigned prefix_budget(void *ctx, const char *const *fqdns, size_t n)
{
	struct dyndns2_update *u = ctx;
	const char *others[DYNDNS2_MAX_HOSTS + 22];
	size_t k = 0;
	for (size_t i = 0; i < n && k < sizeof(others) / sizeof(others[0]); i++) {
		bool named = false;
		for (unsigned j = 0; j < u->params.n_hosts && !named; j++)
			named = strcmp(u->params.hosts[j].fqdn, fqdns[i]) == 0;
		if (!named)
			others[k++] = fqdns[i];
	}
	if (u->abuse == NULL || k == 0)
		return 0;
	u->retry_after = abuse_budget_take(u->abuse, others, k, NULL, NULL, time_now());
	return u->retry_after;
}

static int move_prefix(struct dyndns2_update *u, struct scratch *s, struct store *st,
                       dyndns2_touch_fn *touch, void *touch_ctx)
{
	const struct dyndns2_params *p = &u->params;
	/* The hosts this request gives an IPv6 address keep it. */
	char (*skip)[CFG_NAME_MAX] = calloc(DYNDNS2_MAX_HOSTS, CFG_NAME_MAX);
	size_t n_skip = 0;
	if (skip == NULL)
		return NP_ENOMEM;
	for (unsigned i = 0; i < p->n_hosts && p->has_v6; i++)
		if (s->pending[i])
			np_strlcpy(skip[n_skip++], p->hosts[i].fqdn, CFG_NAME_MAX);
	struct prefix_move m = {
	    .to = p->prefix,
	    .cred = &u->id.cred,
	    .client = &u->client,
	    .protocol = "dyndns2",
	    .skip = (const char(*)[CFG_NAME_MAX])skip,
	    .n_skip = n_skip,
	    .touch = touch,
	    .touch_ctx = touch_ctx,
	    .moved = prefix_moved,
	    .moved_ctx = u,
	    .budget = prefix_budget,
	    .budget_ctx = u,
	};
	unsigned n;
	int ret = prefix_move_run(st, &m, &n);
	free(skip);
	return ret;
}

/* Marks the request failed after a store error: nothing of it survives the rollback, so no
 * line may claim a change. */
static int fail_all(struct dyndns2_update *u, int err, unsigned from)
{
	for (unsigned i = 0; i < u->n_results; i++)
		if (i >= from || u->results[i].code == DYNDNS2_GOOD)
			u->results[i].code = DYNDNS2_DNSERR;
	u->apply_err = err < 0 ? err : NP_ESTORE;
	return u->apply_err;
}

int dyndns2_update_run(struct dyndns2_update *u, struct store *st, const struct config *cfg,
                       dyndns2_touch_fn *touch, void *touch_ctx)
{
	struct dyndns2_params *p = &u->params;
	int ret = NP_OK;

	u->apply_err = NP_OK;
	u->changed = 0;
	memset(u->results, 0, sizeof(u->results));
	struct scratch *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		set_once(u, DYNDNS2_911);
		u->apply_err = NP_ENOMEM;
		return NP_ENOMEM;
	}

	/* The token was checked before the request was queued; it may have been revoked or
	 * the account locked since. */
	bool valid;
	int64_t last_used;
	ret = store_token_valid(st, u->id.cred.token_id, u->secret_hash, &valid, &last_used);
	if (ret != NP_OK && ret != NP_ENOTFOUND) {
		set_once(u, DYNDNS2_DNSERR);
		ret = fail_all(u, ret, 0);
		goto out;
	}
	const struct credential *cred = &u->id.cred;
	int64_t now = time_now();
	if (!valid || u->id.user_id == 0) {
		set_once(u, DYNDNS2_BADAUTH);
		ret = NP_OK;
		goto out;
	}
	if (p->n_hosts == 0) {
		/* No hostname: the user must name the host itself. */
		if (strcmp(u->user, cred->user) == 0) {
			set_once(u, DYNDNS2_NOTFQDN);
			goto out;
		}
		p->hosts[0].valid =
		    dyndns2_fqdn_normalize(u->user, strlen(u->user), p->hosts[0].fqdn);
		p->n_hosts = 1;
	}

	/* The record types this request changes, for the token's policy: A and AAAA for the
	 * families given (offline=YES withdraws both), none for a change of flags alone. */
	uint16_t types[2];
	unsigned n_types = 0;
	if (p->has_v4 || p->offline == DYNDNS2_SET)
		types[n_types++] = DNS_TYPE_A;
	if (p->has_v6 || p->offline == DYNDNS2_SET)
		types[n_types++] = DNS_TYPE_AAAA;

	/* First pass: classify every host without changing anything. */
	u->n_results = p->n_hosts;
	for (unsigned i = 0; i < p->n_hosts; i++) {
		struct dyndns2_result *r = &u->results[i];
		struct store_host *h = &s->hosts[i];
		if (!p->hosts[i].valid) {
			r->code = DYNDNS2_NOTFQDN;
			continue;
		}
		if (config_zone_for(cfg, p->hosts[i].fqdn) == NULL) {
			r->code = DYNDNS2_NOHOST;
			continue;
		}
		ret = store_host_get(st, p->hosts[i].fqdn, h);
		if (ret != NP_OK && ret != NP_ENOTFOUND) {
			ret = fail_all(u, ret, 0);
			goto out;
		}
		int64_t owner = ret == NP_OK ? h->user_id : 0;
		ret = NP_OK;
		enum policy_verdict v =
		    credential_may(cred, owner, p->hosts[i].fqdn, 0, &u->client, now);
		for (unsigned t = 0; t < n_types && v == POLICY_OK; t++)
			v = credential_may(cred, owner, p->hosts[i].fqdn, types[t], &u->client,
			                   now);
		if (v == POLICY_OWNER) {
			r->code = DYNDNS2_NOHOST;
			continue;
		}
		if (v != POLICY_OK) {
			r->code = DYNDNS2_BADAUTH;
			continue;
		}
		if (h->blocked) {
			r->code = DYNDNS2_ABUSE;
			continue;
		}
		s->pending[i] = true;
	}

	/* Second pass: the changes. A store error undoes the whole request (the writer rolls
	 * back its savepoint), so every line from there on reads dnserr. */
	bool used = false;
	for (unsigned i = 0; i < p->n_hosts; i++) {
		if (!s->pending[i])
			continue;
		ret = update_host(u, s, &s->hosts[i], st, cfg, touch, touch_ctx, &u->results[i]);
		used = true;
		if (ret != NP_OK) {
			log_err("dyndns2: store error while updating %s: %s", s->hosts[i].fqdn,
			        np_strerror(ret));
			ret = fail_all(u, ret, i);
			goto out;
		}
	}
	/* The prefix moves the account's other hosts (and the named ones the request gives
	 * no IPv6 address); a named host it moved is "good". */
	if (p->has_prefix) {
		ret = move_prefix(u, s, st, touch, touch_ctx);
		if (ret != NP_OK) {
			ret = fail_all(u, ret, 0);
			goto out;
		}
		used = true;
	}
	/* When the token was last used, and from where: shown in the account's token list. It
	 * is written with a change, or once an hour: a router re-sending the same address
	 * ("nochg") every few minutes must not cost a write to disk each time. */
	if (u->changed > 0 || (used && now - last_used >= TOKEN_USED_EVERY)) {
		char source[INET6_ADDRSTRLEN] = "";
		if (u->client.family != 0)
			addr_format(&u->client, source, sizeof(source));
		ret = store_token_used(st, cred->token_id, now, source);
		if (ret != NP_OK) {
			ret = fail_all(u, ret, 0);
			goto out;
		}
	}
	ret = NP_OK;
out:
	free(s);
	return ret;
}

static int touch_txn(void *ctx, const char *fqdn)
{
	return writer_txn_touch(ctx, fqdn);
}

int dyndns2_update_apply(struct writer_op *op, struct writer_txn *txn)
{
	struct dyndns2_update *u = container_of(op, struct dyndns2_update, op);
	return dyndns2_update_run(u, writer_txn_store(txn), writer_txn_config(txn), touch_txn, txn);
}

int dyndns2_update_body(const struct dyndns2_update *u, int status, char *out, size_t cap)
{
	bool decided = status == NP_OK || (u->apply_err != NP_OK && status == u->apply_err);
	if (decided && u->n_results > 0)
		return dyndns2_format(u->results, u->n_results, out, cap);

	/* The writer refused, failed to commit, or never ran apply: nothing can be claimed. */
	struct dyndns2_result res[DYNDNS2_MAX_HOSTS] = {0};
	size_t n = u->params.n_hosts > 0 ? u->params.n_hosts : 1;
	for (size_t i = 0; i < n; i++)
		res[i].code = DYNDNS2_911;
	return dyndns2_format(res, n, out, cap);
}
