/* SPDX-License-Identifier: MIT */
/* The web UI's pages from the API's answers (see web_page.h). Nothing here is trusted markup
 * but the QR code's SVG, which qr_svg made; everything else goes through tpl_set and is
 * escaped. */
#include "http/web_page.h"

#include <stdio.h>
#include <string.h>

#include "common/str.h"
#include "http/check_page.h"
#include "http/template.h"

/* ---- text helpers ---- */

/* Appends s to the text in out (len bytes), cut when it does not fit. */
static void add(char *out, const char *s, size_t len)
{
	size_t o = strlen(out);
	if (o + 1 < len)
		np_strlcpy(out + o, s, len - o);
}

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s != NULL ? s : "";
}

static int64_t jint(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static bool jbool(const json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key));
}

/* A time, or "" for 0 (false in a section). */
static void set_time(struct tpl_ctx *c, const char *name, int64_t t)
{
	char s[40];
	tpl_set(c, name, t != 0 ? check_time_utc(t, s, sizeof(s)) : "");
}

/* ---- the frame ---- */

static struct tpl_ctx *page_ctx(const struct web_nav *nav, const char *title)
{
	struct tpl_ctx *c = tpl_ctx_new();
	tpl_set(c, "title", title);
	if (nav == NULL) {
		tpl_set_bool(c, "nav", false);
		return c;
	}
	struct tpl_ctx *n = tpl_set_obj(c, "nav");
	tpl_set(n, "user", nav->user);
	tpl_set_bool(n, "admin", nav->admin);
	tpl_set(n, "csrf", nav->csrf);
	/* The page's own forms carry the same value. */
	tpl_set(c, "csrf", nav->csrf);
	return c;
}

static void render(struct buf *b, const char *page, struct tpl_ctx *c)
{
	if (c == NULL || tpl_page(b, page, c) != NP_OK)
		b->err = true;
	tpl_ctx_free(c);
}

/* ---- pages ---- */

void web_page_message(struct buf *b, const struct web_nav *nav, const char *title, const char *text,
                      const char *back, const char *back_text, bool error)
{
	struct tpl_ctx *c = page_ctx(nav, title);
	tpl_set(c, "text", text);
	tpl_set(c, "class", error ? "v infected" : "note");
	tpl_set(c, "back", back != NULL ? back : "");
	tpl_set(c, "back_text", back_text != NULL ? back_text : "");
	render(b, "web_message.html", c);
}

void web_page_home(struct buf *b, const struct web_nav *nav, bool signup)
{
	struct tpl_ctx *c = page_ctx(nav, "Nameplate: dynamic DNS");
	tpl_set_bool(c, "signup", signup);
	render(b, "web_home.html", c);
}

void web_page_login(struct buf *b, const char *csrf, const char *username, const char *error,
                    bool signup)
{
	struct tpl_ctx *c = page_ctx(NULL, "Sign in");
	tpl_set(c, "csrf", csrf);
	tpl_set(c, "username", username != NULL ? username : "");
	tpl_set(c, "error", error != NULL ? error : "");
	tpl_set_bool(c, "signup", signup);
	render(b, "web_login.html", c);
}

void web_page_signup(struct buf *b, const char *csrf, const char *mode, const char *username,
                     const char *email, const char *error)
{
	struct tpl_ctx *c = page_ctx(NULL, "Sign up");
	tpl_set(c, "csrf", csrf);
	tpl_set_bool(c, "open", strcmp(mode, "open") == 0);
	tpl_set_bool(c, "invite", strcmp(mode, "invite") == 0);
	tpl_set(c, "username", username != NULL ? username : "");
	tpl_set(c, "email", email != NULL ? email : "");
	tpl_set(c, "error", error != NULL ? error : "");
	render(b, "web_signup.html", c);
}

void web_page_abuse(struct buf *b, const char *csrf, const char *hostname, const char *evidence,
                    const char *contact, const char *error)
{
	struct tpl_ctx *c = page_ctx(NULL, "Report abuse");
	tpl_set(c, "csrf", csrf);
	tpl_set(c, "hostname", hostname != NULL ? hostname : "");
	tpl_set(c, "evidence", evidence != NULL ? evidence : "");
	tpl_set(c, "contact", contact != NULL ? contact : "");
	tpl_set(c, "error", error != NULL ? error : "");
	render(b, "web_abuse.html", c);
}

void web_page_confirm(struct buf *b, const char *csrf, const char *code)
{
	struct tpl_ctx *c = page_ctx(NULL, "Confirm your address");
	tpl_set(c, "csrf", csrf);
	tpl_set(c, "code", code);
	render(b, "web_confirm.html", c);
}

/* The host's state in words. */
static void host_state(struct tpl_ctx *c, const json_t *h)
{
	char s[64] = "";
	if (jbool(h, "blocked"))
		np_strlcpy(s, "blocked (abuse)", sizeof(s));
	else if (jbool(h, "offline"))
		np_strlcpy(s, "offline", sizeof(s));
	else
		np_strlcpy(s, "online", sizeof(s));
	if (jbool(h, "wildcard"))
		add(s, ", wildcard", sizeof(s));
	tpl_set(c, "state", s);
	const json_t *last = json_object_get(h, "last_change");
	set_time(c, "updated", jint(last, "time"));
	tpl_set(c, "interface", jstr(last, "interface"));
}

void web_page_hosts(struct buf *b, const struct web_nav *nav, const json_t *hosts,
                    const char *zones)
{
	struct tpl_ctx *c = page_ctx(nav, "Your hosts");
	const json_t *list = json_object_get(hosts, "hosts");
	tpl_set(c, "zones", zones);
	char example[300];
	size_t n = strcspn(zones, ",");
	snprintf(example, sizeof(example), "myhome.%.*s", (int)n, zones);
	tpl_set(c, "example", n > 0 ? example : "");
	struct tpl_ctx *o = tpl_set_table(c, "hosts", json_array_size(list));
	size_t i;
	const json_t *h;
	json_array_foreach(list, i, h)
	{
		struct tpl_ctx *row = tpl_add_row(o, "rows");
		tpl_set(row, "fqdn", jstr(h, "fqdn"));
		host_state(row, h);
		tpl_set_list(row, "addrs");
		static const char *const types[] = {"A", "AAAA"};
		for (size_t t = 0; t < 2; t++) {
			size_t k;
			const json_t *a;
			json_array_foreach(json_object_get(json_object_get(h, "records"), types[t]),
			                   k, a)
			    tpl_set(tpl_add_row(row, "addrs"), "addr", json_string_value(a));
		}
	}
	render(b, "web_hosts.html", c);
}

/* The host's last audit (GET /hosts/FQDN/audit's answer): grade, time, what changed, and
 * each finding with what to do. */
static void host_audit(struct tpl_ctx *c, const json_t *answer)
{
	const json_t *a = json_object_get(answer, "audit");
	if (!json_is_object(a)) {
		tpl_set_bool(c, "audit", false);
		return;
	}
	struct tpl_ctx *o = tpl_set_obj(c, "audit");
	tpl_set(o, "grade", jstr(a, "grade"));
	set_time(o, "time", jint(a, "time"));
	tpl_set(o, "source", jstr(a, "source"));
	const json_t *ch = json_object_get(a, "changes");
	if (!json_is_object(ch)) {
		tpl_set_bool(o, "changes", false);
	} else {
		struct tpl_ctx *co = tpl_set_obj(o, "changes");
		set_time(co, "previous", jint(ch, "previous"));
		static const char *const lists[] = {"gone", "new"};
		size_t n = 0;
		for (size_t l = 0; l < 2; l++) {
			size_t i;
			const json_t *k;
			json_array_foreach(json_object_get(ch, lists[l]), i, k)
			{
				struct tpl_ctx *row = tpl_add_row(co, "keys");
				tpl_set(row, "what", lists[l]);
				tpl_set(row, "key",
				        json_string_value(k) != NULL ? json_string_value(k) : "");
				n++;
			}
		}
		tpl_set_bool(co, "none", n == 0);
	}
	const json_t *list = json_object_get(json_object_get(a, "report"), "findings");
	tpl_set_bool(o, "findings", json_array_size(list) > 0);
	size_t i;
	const json_t *f;
	json_array_foreach(list, i, f)
	{
		const json_t *reach = json_object_get(f, "reachable_from_outside");
		struct tpl_ctx *row = tpl_add_row(o, "rows");
		tpl_set(row, "severity", jstr(f, "severity"));
		tpl_set(row, "id", jstr(f, "id"));
		tpl_set(row, "title", jstr(f, "title"));
		tpl_set(row, "reach",
		        json_is_true(reach)    ? "yes"
		        : json_is_false(reach) ? "no"
		                               : "unknown");
		tpl_set(row, "todo", jstr(json_object_get(f, "remedy"), "what_to_do"));
	}
}

/* An abuse log (rows of time, from, to, by, reason) as the table "log"; false without rows. */
static void abuse_log(struct tpl_ctx *c, const json_t *log)
{
	struct tpl_ctx *o = tpl_set_table(c, "log", json_array_size(log));
	if (o == NULL)
		return;
	size_t i;
	const json_t *l;
	json_array_foreach(log, i, l)
	{
		struct tpl_ctx *row = tpl_add_row(o, "rows");
		set_time(row, "time", jint(l, "time"));
		tpl_set(row, "from", jstr(l, "from"));
		tpl_set(row, "to", jstr(l, "to"));
		tpl_set(row, "by", jstr(l, "by"));
		tpl_set(row, "reason", jstr(l, "reason"));
	}
}

/* The host's abuse state for its owner (GET /hosts/{fqdn}/abuse): shown when it is not ok
 * or has a log; the hold's one clearing as a button while it is allowed. */
static void host_abuse(struct tpl_ctx *c, const json_t *abuse)
{
	const char *state = jstr(abuse, "state");
	const json_t *log = json_object_get(abuse, "log");
	if (abuse == NULL || (strcmp(state, "ok") == 0 && json_array_size(log) == 0)) {
		tpl_set_bool(c, "abuse", false);
		return;
	}
	static const struct {
		const char *state, *explain;
	} explain[] = {
	    {"ok", "Nothing is refused."},
	    {"watch", "Nothing is refused; the name's recent changes looked unusual, and the "
	              "operator was told."},
	    {"hold", "Address changes are refused (updates answer \"abuse\"); DNS keeps "
	             "serving the last address accepted."},
	    {"quarantined", "The name is out of DNS; only the operator can restore it."},
	};
	struct tpl_ctx *o = tpl_set_obj(c, "abuse");
	tpl_set(o, "state", state);
	tpl_set(o, "reasons", jstr(abuse, "reasons"));
	tpl_set(o, "explain", "");
	for (size_t i = 0; i < sizeof(explain) / sizeof(explain[0]); i++)
		if (strcmp(state, explain[i].state) == 0)
			tpl_set(o, "explain", explain[i].explain);
	tpl_set_bool(o, "may_clear", jbool(abuse, "may_clear"));
	abuse_log(o, log);
}

void web_page_host(struct buf *b, const struct web_nav *nav, const json_t *host,
                   const json_t *history, const json_t *audit, const json_t *abuse)
{
	const char *fqdn = jstr(host, "fqdn");
	struct tpl_ctx *c = page_ctx(nav, fqdn);
	tpl_set(c, "fqdn", fqdn);
	host_state(c, host);
	static const struct {
		const char *type, *hint;
	} types[] = {{"A", "IPv4 addresses"},
	             {"AAAA", "IPv6 addresses"},
	             {"TXT", "texts"},
	             {"MX", "\"PREFERENCE NAME\", e.g. 10 mail.example.org"}};
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		struct tpl_ctx *row = tpl_add_row(c, "types");
		struct buf v;
		buf_init(&v, 64 * 1024);
		size_t i;
		const json_t *a;
		json_array_foreach(json_object_get(json_object_get(host, "records"), types[t].type),
		                   i, a)
		{
			if (i > 0)
				buf_puts(&v, "\n");
			buf_puts(&v, json_string_value(a) != NULL ? json_string_value(a) : "");
		}
		tpl_set(row, "type", types[t].type);
		tpl_set(row, "hint", types[t].hint);
		tpl_set(row, "fqdn", fqdn);
		tpl_set(row, "values", v.err || v.p == NULL ? "" : v.p);
		buf_free(&v);
	}
	const json_t *list = json_object_get(history, "history");
	struct tpl_ctx *o = tpl_set_table(c, "history", json_array_size(list));
	size_t i;
	const json_t *h;
	json_array_foreach(list, i, h)
	{
		struct tpl_ctx *row = tpl_add_row(o, "rows");
		set_time(row, "time", jint(h, "time"));
		tpl_set(row, "interface", jstr(h, "interface"));
		tpl_set(row, "source", jstr(h, "source"));
		tpl_set(row, "old", jstr(h, "old"));
		tpl_set(row, "new", jstr(h, "new"));
	}
	host_audit(c, audit);
	host_abuse(c, abuse);
	render(b, "web_host.html", c);
}

/* ---- update settings ---- */

void web_page_settings(struct buf *b, const struct web_nav *nav, const json_t *token,
                       const char *fqdn, const char *base, const char *user)
{
	const char *secret = jstr(token, "token");
	bool https = strncmp(base, "https://", 8) == 0;
	const char *hostport = base + (https ? 8 : 7);
	struct tpl_ctx *c = page_ctx(nav, "Update settings");
	tpl_set(c, "fqdn", fqdn);
	tpl_set(c, "user", user);
	tpl_set(c, "secret", secret);
	tpl_set(c, "token_name", jstr(token, "name"));
	/* ddclient 3.10: dyndns2 against our server; the host name last. use=web asks our
	 * /nic/checkip for the address the router is seen from. */
	tpl_setf(c, "ddclient",
	         "daemon=300\n"
	         "protocol=dyndns2\n"
	         "use=web, web=%s/nic/checkip\n"
	         "server=%s\n"
	         "ssl=%s\n"
	         "login=%s\n"
	         "password=%s\n"
	         "%s\n",
	         base, hostport, https ? "yes" : "no", user, secret, fqdn);
	tpl_setf(c, "inadyn",
	         "period = 300\n"
	         "custom nameplate {\n"
	         "    ssl            = %s\n"
	         "    username       = %s\n"
	         "    password       = %s\n"
	         "    checkip-server = %s\n"
	         "    checkip-path   = /checkip\n"
	         "    ddns-server    = %s\n"
	         "    ddns-path      = \"/nic/update?hostname=%%h&myip=%%i\"\n"
	         "    hostname       = %s\n"
	         "}\n",
	         https ? "true" : "false", user, secret, hostport, hostport, fqdn);
	tpl_setf(c, "curl",
	         "curl -u '%s:%s' '%s/nic/update?hostname=%s'\n"
	         "# or name the address: ...&myip=192.0.2.1",
	         user, secret, base, fqdn);
	tpl_setf(c, "fritz_url", "%s/nic/update?hostname=<domain>&myip=<ipaddr>,<ip6addr>", base);
	tpl_setf(c, "openwrt",
	         "config service 'nameplate'\n"
	         "\toption enabled '1'\n"
	         "\toption lookup_host '%s'\n"
	         "\toption domain '%s'\n"
	         "\toption username '%s'\n"
	         "\toption password '%s'\n"
	         "\toption update_url '%s://[USERNAME]:[PASSWORD]@%s/nic/update?hostname=[DOMAIN]"
	         "&myip=[IP]'\n"
	         "\toption use_https '%d'\n"
	         "\toption interface 'wan'\n"
	         "\toption ip_source 'network'\n"
	         "\toption ip_network 'wan'\n",
	         fqdn, fqdn, user, secret, https ? "https" : "http", hostport, https ? 1 : 0);
	render(b, "web_settings.html", c);
}

/* ---- tokens ---- */

/* Appends the strings of array a, joined by ", ". */
static void join(char *out, size_t len, const json_t *a)
{
	size_t i;
	const json_t *v;
	json_array_foreach(a, i, v)
	{
		if (i > 0)
			add(out, ", ", len);
		add(out, json_string_value(v) != NULL ? json_string_value(v) : "", len);
	}
}

void web_policy_text(const json_t *p, char *out, size_t len)
{
	out[0] = '\0';
	const json_t *names = json_object_get(p, "names"), *types = json_object_get(p, "types");
	const json_t *sources = json_object_get(p, "sources");
	add(out, "names: ", len);
	if (json_array_size(names) > 0)
		join(out, len, names);
	else
		add(out, "all", len);
	add(out, "; types: ", len);
	if (json_array_size(types) > 0)
		join(out, len, types);
	else
		add(out, "all", len);
	if (json_array_size(sources) > 0) {
		add(out, "; from: ", len);
		join(out, len, sources);
	}
	int64_t exp = jint(p, "expires");
	if (exp != 0) {
		char t[40];
		add(out, "; until ", len);
		add(out, check_time_utc(exp, t, sizeof(t)), len);
	}
	if (jbool(p, "manage"))
		add(out, "; manages tokens", len);
}

static void token_row(struct tpl_ctx *row, const json_t *t)
{
	char policy[2048];
	web_policy_text(json_object_get(t, "policy"), policy, sizeof(policy));
	tpl_set(row, "id", jstr(t, "id"));
	tpl_set(row, "name", jstr(t, "name"));
	tpl_set(row, "kind", jstr(t, "kind"));
	tpl_set(row, "policy", policy);
	set_time(row, "last_used", jint(t, "last_used"));
	tpl_set(row, "last_source", jstr(t, "last_source"));
	set_time(row, "expires", jint(json_object_get(t, "policy"), "expires"));
	tpl_set_bool(row, "current", jbool(t, "current"));
}

void web_page_tokens(struct buf *b, const struct web_nav *nav, const json_t *tokens)
{
	struct tpl_ctx *c = page_ctx(nav, "Tokens");
	struct tpl_ctx *o = NULL;
	size_t i;
	const json_t *t;
	json_array_foreach(json_object_get(tokens, "tokens"), i, t)
	{
		if (strcmp(jstr(t, "kind"), "session") == 0)
			continue;
		if (o == NULL)
			o = tpl_set_obj(c, "tokens");
		token_row(tpl_add_row(o, "rows"), t);
	}
	if (o == NULL)
		tpl_set_bool(c, "tokens", false);
	static const char *const types[] = {"A", "AAAA", "TXT", "MX"};
	for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++)
		tpl_set(tpl_add_row(c, "types"), "type", types[k]);
	render(b, "web_tokens.html", c);
}

void web_page_token_made(struct buf *b, const struct web_nav *nav, const json_t *token)
{
	char policy[2048];
	web_policy_text(json_object_get(token, "policy"), policy, sizeof(policy));
	struct tpl_ctx *c = page_ctx(nav, "Your new token");
	tpl_set(c, "name", jstr(token, "name"));
	tpl_set(c, "secret", jstr(token, "token"));
	tpl_set(c, "policy", policy);
	render(b, "web_token_made.html", c);
}

void web_page_tsig_made(struct buf *b, const struct web_nav *nav, const json_t *key)
{
	char policy[2048];
	web_policy_text(json_object_get(key, "policy"), policy, sizeof(policy));
	struct tpl_ctx *c = page_ctx(nav, "Your new TSIG key");
	tpl_set(c, "name", jstr(key, "name"));
	tpl_set(c, "algorithm", jstr(key, "algorithm"));
	tpl_set(c, "secret", jstr(key, "secret"));
	tpl_set(c, "key_file", jstr(key, "key_file"));
	tpl_set(c, "policy", policy);
	render(b, "web_tsig_made.html", c);
}

/* ---- the account ---- */

void web_page_account(struct buf *b, const struct web_nav *nav, const json_t *account,
                      const json_t *totp, const char *qr, const json_t *tokens)
{
	struct tpl_ctx *c = page_ctx(nav, "Your account");
	tpl_set(c, "user", jstr(account, "name"));
	tpl_set(c, "role", jstr(account, "role"));
	tpl_set_int(c, "hosts", jint(account, "hosts"));
	tpl_set(c, "email", jstr(account, "email"));
	tpl_set_bool(c, "email_unconfirmed",
	             jstr(account, "email")[0] != '\0' && !jbool(account, "email_confirmed"));
	tpl_set_bool(c, "totp_enabled", jbool(totp, "enabled"));
	tpl_set(c, "totp_secret", jstr(totp, "secret"));
	tpl_set_raw(c, "qr", qr != NULL ? qr : "");
	tpl_set_list(c, "sessions");
	size_t i;
	const json_t *t;
	json_array_foreach(json_object_get(tokens, "tokens"), i, t)
	{
		if (strcmp(jstr(t, "kind"), "session") == 0)
			token_row(tpl_add_row(c, "sessions"), t);
	}
	render(b, "web_account.html", c);
}

void web_page_admin(struct buf *b, const struct web_nav *nav, const json_t *users)
{
	struct tpl_ctx *c = page_ctx(nav, "Accounts");
	tpl_set_list(c, "users");
	size_t i;
	const json_t *u;
	json_array_foreach(json_object_get(users, "users"), i, u)
	{
		struct tpl_ctx *row = tpl_add_row(c, "users");
		const char *state = jstr(u, "state");
		tpl_set(row, "name", jstr(u, "name"));
		tpl_set(row, "email", jstr(u, "email"));
		tpl_set(row, "role", jstr(u, "role"));
		tpl_set(row, "state", state);
		tpl_set_int(row, "hosts", jint(u, "hosts"));
		tpl_set(row, "totp", jbool(u, "totp") ? "yes" : "no");
		tpl_set_list(row, "actions");
		/* What can be done to the account in its state. */
		static const struct {
			const char *action, *label, *unless;
		} acts[] = {{"lock", "Lock", "locked"},
		            {"unlock", "Unlock", "active"},
		            {"suspend", "Suspend", "suspended"}};
		for (size_t k = 0; k < sizeof(acts) / sizeof(acts[0]); k++) {
			if (strcmp(state, acts[k].unless) == 0)
				continue;
			struct tpl_ctx *a = tpl_add_row(row, "actions");
			tpl_set(a, "action", acts[k].action);
			tpl_set(a, "label", acts[k].label);
		}
	}
	render(b, "web_admin.html", c);
}

/* ---- admin: abuse reports ---- */

void web_page_tickets(struct buf *b, const struct web_nav *nav, const json_t *tickets)
{
	struct tpl_ctx *c = page_ctx(nav, "Abuse reports");
	const json_t *list = json_object_get(tickets, "tickets");
	struct tpl_ctx *o = tpl_set_table(c, "tickets", json_array_size(list));
	size_t i;
	const json_t *t;
	json_array_foreach(list, i, t)
	{
		struct tpl_ctx *row = tpl_add_row(o, "rows");
		tpl_set_int(row, "id", jint(t, "ticket"));
		set_time(row, "time", jint(t, "time"));
		tpl_set(row, "status", jstr(t, "status"));
		tpl_set(row, "category", jstr(t, "category"));
		tpl_set(row, "name", jstr(t, "name"));
	}
	render(b, "web_tickets.html", c);
}

void web_page_ticket(struct buf *b, const struct web_nav *nav, const json_t *t)
{
	char title[64];
	snprintf(title, sizeof(title), "Abuse report %lld", (long long)jint(t, "ticket"));
	struct tpl_ctx *c = page_ctx(nav, title);
	tpl_set_int(c, "id", jint(t, "ticket"));
	tpl_set(c, "name", jstr(t, "name"));
	set_time(c, "time", jint(t, "time"));
	tpl_set(c, "source", jstr(t, "source"));
	tpl_set(c, "category", jstr(t, "category"));
	tpl_set(c, "contact", jstr(t, "contact")[0] != '\0' ? jstr(t, "contact") : "none");
	tpl_set(c, "status", jstr(t, "status"));
	set_time(c, "decided", jint(t, "decided"));
	tpl_set(c, "decision", jstr(t, "decision"));
	tpl_set(c, "evidence", jstr(t, "evidence"));
	const json_t *h = json_object_get(t, "host");
	if (!json_is_object(h)) {
		tpl_set_bool(c, "host", false);
	} else {
		struct tpl_ctx *o = tpl_set_obj(c, "host");
		tpl_set(o, "owner", jstr(h, "owner")[0] != '\0' ? jstr(h, "owner") : "none");
		tpl_set(o, "state", jstr(h, "state"));
		tpl_set_bool(o, "suspended", jbool(h, "suspended"));
		tpl_set(o, "reasons", jstr(h, "reasons"));
		abuse_log(o, json_object_get(h, "log"));
	}
	render(b, "web_ticket.html", c);
}
