/* SPDX-License-Identifier: MIT */
/* Tests of dyndns2: the argument parser, the result lines, and the update decision run
 * against a real store (SQLite in a temporary directory). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/macros.h"
#include "common/secret.h"
#include "common/str.h"
#include "http/dyndns2.h"
#include "store/store.h"
#include "tmpdir_fixture.h"

/* ---- helpers ---- */

/* Parses a query string the way libmicrohttpd hands it over (no percent-decoding here:
 * the tests use plain text). */
static void parse(struct dyndns2_params *p, const char *query, const char *client)
{
	dyndns2_params_init(p);
	const char *s = query;
	while (*s != '\0') {
		const char *amp = strchr(s, '&');
		size_t len = amp != NULL ? (size_t)(amp - s) : strlen(s);
		const char *eq = memchr(s, '=', len);
		if (eq != NULL)
			dyndns2_params_add(p, s, (size_t)(eq - s), eq + 1,
			                   len - (size_t)(eq - s) - 1);
		else
			dyndns2_params_add(p, s, len, NULL, 0);
		s += len;
		if (*s == '&')
			s++;
	}
	struct np_addr c;
	if (client != NULL) {
		assert_int_equal(addr_parse(client, &c), NP_OK);
		dyndns2_params_finish(p, &c);
	} else {
		dyndns2_params_finish(p, NULL);
	}
}

static void assert_addr(const struct np_addr *a, const char *want)
{
	char buf[INET6_ADDRSTRLEN];
	assert_string_equal(addr_format(a, buf, sizeof(buf)), want);
}

/* ---- the parser ---- */

static void test_basic(void **state)
{
	(void)state;
	struct dyndns2_params p;
	parse(&p, "hostname=Home.Dyn.Example.&myip=198.51.100.1", "127.0.0.1");
	assert_false(p.bad_addr);
	assert_false(p.too_many);
	assert_int_equal(p.n_hosts, 1);
	assert_true(p.hosts[0].valid);
	assert_string_equal(p.hosts[0].fqdn, "home.dyn.example");
	assert_true(p.has_v4);
	assert_false(p.has_v6);
	assert_addr(&p.v4, "198.51.100.1");
	assert_int_equal(p.offline, DYNDNS2_KEEP);
	assert_int_equal(p.wildcard, DYNDNS2_KEEP);
}

static void test_host_list(void **state)
{
	(void)state;
	struct dyndns2_params p;
	parse(&p, "hostname=a.dyn.example,B.dyn.example,home,*.dyn.example,a..b,x_y.example",
	      NULL);
	assert_false(p.bad_list);
	assert_int_equal(p.n_hosts, 6);
	assert_true(p.hosts[0].valid);
	assert_string_equal(p.hosts[0].fqdn, "a.dyn.example");
	assert_true(p.hosts[1].valid);
	assert_string_equal(p.hosts[1].fqdn, "b.dyn.example");
	assert_false(p.hosts[2].valid); /* one label */
	assert_string_equal(p.hosts[2].fqdn, "");
	assert_false(p.hosts[3].valid); /* wildcard */
	assert_false(p.hosts[4].valid); /* empty label */
	assert_true(p.hosts[5].valid);

	/* Empty elements and blanks make the whole list notfqdn, never trimmed or skipped. */
	static const char *const bad[] = {
	    "hostname=a.dyn.example,",  "hostname=,a.dyn.example",   "hostname=a.example,,b.example",
	    "hostname=,",               "hostname=a.dyn.example ",   "hostname= a.dyn.example",
	    "hostname=a.example,\tb.example",
	};
	enum dyndns2_code code;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		parse(&p, bad[i], NULL);
		assert_true(p.bad_list);
		assert_true(dyndns2_precheck(&p, "alice", &code));
		assert_int_equal(code, DYNDNS2_NOTFQDN);
	}
	/* "hostname=" names none: the user name is the host. */
	parse(&p, "hostname=", NULL);
	assert_false(p.bad_list);
	assert_int_equal(p.n_hosts, 0);
}

static void test_host_syntax(void **state)
{
	(void)state;
	char out[CFG_NAME_MAX];
	char label64[80], name254[300];
	memset(label64, 'a', 64);
	memcpy(label64 + 64, ".example", 9);
	assert_false(dyndns2_fqdn_normalize(label64, strlen(label64), out));
	assert_true(dyndns2_fqdn_normalize(label64 + 1, strlen(label64 + 1), out));
	/* 253 characters is the longest name; 254 is too long. */
	memset(name254, 0, sizeof(name254));
	for (size_t i = 0; i < 253; i++)
		name254[i] = (i % 50 == 49) ? '.' : 'b';
	assert_true(dyndns2_fqdn_normalize(name254, 253, out));
	assert_int_equal(strlen(out), 253);
	name254[253] = 'b';
	assert_false(dyndns2_fqdn_normalize(name254, 254, out));
	assert_false(dyndns2_fqdn_normalize("a.b\0c", 5, out));
	assert_false(dyndns2_fqdn_normalize("", 0, out));
	assert_false(dyndns2_fqdn_normalize(".", 1, out));
	assert_false(dyndns2_fqdn_normalize("..", 2, out));
	assert_false(dyndns2_fqdn_normalize("a.example..", 11, out));
	assert_false(dyndns2_fqdn_normalize("a b.example", 11, out));
	assert_false(dyndns2_fqdn_normalize("a/b.example", 11, out));
	assert_true(dyndns2_fqdn_normalize("MiXeD.Example.", 14, out));
	assert_string_equal(out, "mixed.example");
}

static void test_numhost(void **state)
{
	(void)state;
	char q[2048] = "hostname=";
	size_t pos = strlen(q);
	for (int i = 0; i < 20; i++)
		pos += (size_t)snprintf(q + pos, sizeof(q) - pos, "%sh%d.dyn.example", i ? "," : "",
		                        i);
	struct dyndns2_params p;
	enum dyndns2_code code;
	parse(&p, q, NULL);
	assert_false(p.too_many);
	assert_int_equal(p.n_hosts, 20);
	assert_false(dyndns2_precheck(&p, "alice", &code));
	snprintf(q + pos, sizeof(q) - pos, ",h20.dyn.example");
	parse(&p, q, NULL);
	assert_true(p.too_many);
	assert_int_equal(p.n_hosts, 20);
	assert_true(dyndns2_precheck(&p, "alice", &code));
	assert_int_equal(code, DYNDNS2_NUMHOST);
}

static void test_precheck_notfqdn(void **state)
{
	(void)state;
	struct dyndns2_params p;
	enum dyndns2_code code;
	parse(&p, "myip=198.51.100.1", NULL);
	assert_true(dyndns2_precheck(&p, "alice", &code));
	assert_int_equal(code, DYNDNS2_NOTFQDN);
	/* The user name may be the host itself. */
	assert_false(dyndns2_precheck(&p, "home.dyn.example", &code));
	parse(&p, "hostname=&myip=198.51.100.1", NULL);
	assert_true(dyndns2_precheck(&p, "alice", &code));
	assert_int_equal(code, DYNDNS2_NOTFQDN);
}

static void test_dual_stack(void **state)
{
	(void)state;
	struct dyndns2_params p;
	parse(&p, "hostname=h.example&myip=198.51.100.2,2001:DB8::2", "127.0.0.1");
	assert_false(p.bad_addr);
	assert_true(p.has_v4 && p.has_v6);
	assert_addr(&p.v4, "198.51.100.2");
	assert_addr(&p.v6, "2001:db8::2");
	parse(&p, "hostname=h.example&myip=2001:db8::3,198.51.100.3", NULL);
	assert_false(p.bad_addr);
	assert_addr(&p.v4, "198.51.100.3");
	assert_addr(&p.v6, "2001:db8::3");
	/* A blank is refused, never trimmed. */
	parse(&p, "hostname=h.example&myip=2001:db8::3, 198.51.100.3", NULL);
	assert_true(p.bad_addr);
	/* myipv4 / myipv6 and their aliases. */
	parse(&p, "hostname=h.example&ipv4=198.51.100.4&ipv6=2001:db8::4", NULL);
	assert_true(p.has_v4 && p.has_v6);
	assert_addr(&p.v4, "198.51.100.4");
	assert_addr(&p.v6, "2001:db8::4");
	parse(&p, "hostname=h.example&myipv6=2001:db8::6", "127.0.0.1");
	assert_false(p.has_v4);
	assert_true(p.has_v6);
	parse(&p, "hostname=h.example&ip=2001:db8::7", "127.0.0.1");
	assert_false(p.has_v4);
	assert_addr(&p.v6, "2001:db8::7");
}

static void test_client_address(void **state)
{
	(void)state;
	struct dyndns2_params p;
	parse(&p, "hostname=h.example", "192.0.2.9");
	assert_true(p.has_v4);
	assert_false(p.has_v6);
	assert_addr(&p.v4, "192.0.2.9");
	parse(&p, "hostname=h.example&myip=", "2001:db8::9");
	assert_false(p.has_v4);
	assert_true(p.has_v6);
	assert_addr(&p.v6, "2001:db8::9");
	parse(&p, "hostname=h.example&myip= ", NULL);
	assert_false(p.has_v4 || p.has_v6);
	/* An explicit address never mixes with the connection's. */
	parse(&p, "hostname=h.example&myipv6=2001:db8::1", "192.0.2.9");
	assert_false(p.has_v4);
	/* "preserve" keeps a family without falling back to the connection. */
	parse(&p, "hostname=h.example&myipv4=preserve&myipv6=2001:db8::1", "192.0.2.9");
	assert_false(p.has_v4);
	assert_true(p.has_v6);
	parse(&p, "hostname=h.example&myip=198.51.100.1,2001:db8::1&myipv4=preserve", NULL);
	assert_false(p.has_v4);
	assert_true(p.has_v6);
}

static void test_prefix_suffix(void **state)
{
	(void)state;
	struct dyndns2_params p;
	parse(&p, "hostname=h.example&myip=2001:db8:1:2::/64", NULL);
	assert_false(p.bad_addr);
	assert_addr(&p.v6, "2001:db8:1:2::");
	parse(&p, "hostname=h.example&myip=198.51.100.1/24", NULL);
	assert_false(p.bad_addr);
	assert_addr(&p.v4, "198.51.100.1");
	parse(&p, "hostname=h.example&myip=198.51.100.1/33", NULL);
	assert_true(p.bad_addr);
	parse(&p, "hostname=h.example&myip=2001:db8::/", NULL);
	assert_true(p.bad_addr);
	parse(&p, "hostname=h.example&myip=2001:db8::/64x", NULL);
	assert_true(p.bad_addr);
}

static void test_bad_addresses(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "myip=999.1.1.1",
	    "myip=abc",
	    "myip=198.51.100",
	    "myip=1.2.3.4.5",
	    "myip=010.1.1.1",
	    "myip=2001:db8::zz",
	    "myip=fe80::1%25eth0",
	    "myip=198.51.100.1,198.51.100.2",
	    "myip=2001:db8::1,2001:db8::2",
	    "myip=198.51.100.1,198.51.100.2,2001:db8::1",
	    "myip=198.51.100.1,",
	    "myipv4=2001:db8::1",
	    "myipv6=198.51.100.1",
	    "ipv6=198.51.100.1",
	};
	struct dyndns2_params p;
	char q[256];
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(q, sizeof(q), "hostname=h.example&%s", bad[i]);
		parse(&p, q, "127.0.0.1");
		if (!p.bad_addr)
			fail_msg("accepted %s", bad[i]);
		/* Refused input never falls back to the connection's address. */
		assert_false(p.has_v4 || p.has_v6);
	}
	/* An address with a NUL inside (from %00) is refused too. */
	dyndns2_params_init(&p);
	dyndns2_params_add(&p, "myip", 4, "198.51.100.1\0x", 14);
	assert_true(p.bad_addr);
}

static void test_first_wins(void **state)
{
	(void)state;
	struct dyndns2_params p;
	parse(&p,
	      "hostname=a.example&hostname=b.example&myip=198.51.100.1&ip=198.51.100.2"
	      "&myip=junk&offline=NO&offline=YES&wildcard=ON&wildcard=OFF",
	      NULL);
	assert_int_equal(p.n_hosts, 1);
	assert_string_equal(p.hosts[0].fqdn, "a.example");
	assert_false(p.bad_addr);
	assert_addr(&p.v4, "198.51.100.1");
	assert_int_equal(p.offline, DYNDNS2_CLEAR);
	assert_int_equal(p.wildcard, DYNDNS2_SET);
	/* A family-specific argument decides its family, whatever its position. */
	parse(&p, "myipv4=198.51.100.4&myip=198.51.100.5,2001:db8::5", NULL);
	assert_addr(&p.v4, "198.51.100.4");
	assert_addr(&p.v6, "2001:db8::5");
	parse(&p, "myip=198.51.100.5,2001:db8::5&myipv6=2001:db8::6", NULL);
	assert_addr(&p.v4, "198.51.100.5");
	assert_addr(&p.v6, "2001:db8::6");
}

static void test_switches_and_unknown(void **state)
{
	(void)state;
	struct dyndns2_params p;
	parse(&p,
	      "hostname=h.example&offline=yes&wildcard=off&system=dyndns&mx=NOCHG&backmx=NO"
	      "&foo&=bar&myip=198.51.100.1",
	      NULL);
	assert_int_equal(p.offline, DYNDNS2_SET);
	assert_int_equal(p.wildcard, DYNDNS2_CLEAR);
	assert_false(p.bad_addr);
	assert_true(p.has_v4);
	parse(&p, "hostname=h.example&offline=maybe&wildcard=NOCHG", NULL);
	assert_int_equal(p.offline, DYNDNS2_KEEP);
	assert_int_equal(p.wildcard, DYNDNS2_KEEP);
	/* An argument without '=' is an empty value. */
	parse(&p, "hostname&myip", "192.0.2.1");
	assert_int_equal(p.n_hosts, 0);
	assert_addr(&p.v4, "192.0.2.1");
}

/* ---- result lines ---- */

static void test_format(void **state)
{
	(void)state;
	char out[DYNDNS2_BODY_MAX];
	struct dyndns2_result r[3] = {
	    {.code = DYNDNS2_GOOD}, {.code = DYNDNS2_NOCHG}, {.code = DYNDNS2_NOHOST}};
	r[0].has_v4 = true;
	assert_int_equal(addr_parse("198.51.100.1", &r[0].v4), NP_OK);
	r[1].has_v4 = r[1].has_v6 = true;
	assert_int_equal(addr_parse("198.51.100.2", &r[1].v4), NP_OK);
	assert_int_equal(addr_parse("2001:db8::2", &r[1].v6), NP_OK);
	/* Addresses are echoed only with good and nochg. */
	r[2].has_v4 = true;
	r[2].v4 = r[0].v4;
	int n = dyndns2_format(r, 3, out, sizeof(out));
	assert_string_equal(out, "good 198.51.100.1\nnochg 198.51.100.2,2001:db8::2\nnohost\n");
	assert_int_equal(n, (int)strlen(out));

	struct dyndns2_result v6only = {.code = DYNDNS2_GOOD, .has_v6 = true};
	assert_int_equal(addr_parse("2001:db8::10", &v6only.v6), NP_OK);
	n = dyndns2_format(&v6only, 1, out, sizeof(out));
	assert_string_equal(out, "good 2001:db8::10\n");

	struct dyndns2_result bare = {.code = DYNDNS2_GOOD};
	n = dyndns2_format(&bare, 1, out, sizeof(out));
	assert_string_equal(out, "good\n");

	assert_int_equal(dyndns2_format(r, 3, out, 20), NP_ETOOBIG);
	assert_int_equal(dyndns2_format(r, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static void test_codes(void **state)
{
	(void)state;
	static const char *const want[] = {"good",    "nochg", "badauth",  "notfqdn", "nohost",
	                                   "numhost", "abuse", "badagent", "dnserr",  "911"};
	for (unsigned i = 0; i < ARRAY_SIZE(want); i++)
		assert_string_equal(dyndns2_code_str((enum dyndns2_code)i), want[i]);
	assert_string_equal(dyndns2_code_str((enum dyndns2_code)99), "911");
}

/* The longest possible body fits the buffer the HTTP side uses. */
static void test_format_worst_case(void **state)
{
	(void)state;
	struct dyndns2_result r[DYNDNS2_MAX_HOSTS];
	char out[DYNDNS2_BODY_MAX];
	for (unsigned i = 0; i < DYNDNS2_MAX_HOSTS; i++) {
		r[i] =
		    (struct dyndns2_result){.code = DYNDNS2_NOCHG, .has_v4 = true, .has_v6 = true};
		assert_int_equal(addr_parse("255.255.255.255", &r[i].v4), NP_OK);
		assert_int_equal(
		    addr_parse("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.254", &r[i].v6), NP_OK);
	}
	assert_true(dyndns2_format(r, DYNDNS2_MAX_HOSTS, out, sizeof(out)) > 0);
}

static void test_body_by_status(void **state)
{
	(void)state;
	struct dyndns2_update *u = calloc(1, sizeof(*u));
	char out[DYNDNS2_BODY_MAX];
	assert_non_null(u);
	dyndns2_update_init(u);
	assert_ptr_equal(u->op.apply, dyndns2_update_apply);
	u->params.n_hosts = 2;
	u->n_results = 2;
	u->results[0] = (struct dyndns2_result){.code = DYNDNS2_GOOD, .has_v4 = true};
	assert_int_equal(addr_parse("198.51.100.1", &u->results[0].v4), NP_OK);
	u->results[1] = (struct dyndns2_result){.code = DYNDNS2_NOHOST};

	assert_true(dyndns2_update_body(u, NP_OK, out, sizeof(out)) > 0);
	assert_string_equal(out, "good 198.51.100.1\nnohost\n");
	/* Not committed (or refused): nothing may be claimed, one 911 per host. */
	assert_true(dyndns2_update_body(u, NP_ESTORE, out, sizeof(out)) > 0);
	assert_string_equal(out, "911\n911\n");
	assert_true(dyndns2_update_body(u, NP_EAGAIN, out, sizeof(out)) > 0);
	assert_string_equal(out, "911\n911\n");
	/* apply itself failed and said so in its lines. */
	u->apply_err = NP_ESTORE;
	u->results[0].code = DYNDNS2_DNSERR;
	assert_true(dyndns2_update_body(u, NP_ESTORE, out, sizeof(out)) > 0);
	assert_string_equal(out, "dnserr\nnohost\n");
	/* No hostname (the user named the host): one line. */
	u->apply_err = NP_OK;
	u->params.n_hosts = 0;
	u->n_results = 0;
	assert_true(dyndns2_update_body(u, NP_EFAILED, out, sizeof(out)) > 0);
	assert_string_equal(out, "911\n");
	free(u);
}

/* ---- the update against a real store ---- */

struct fixture {
	char dir[64];
	struct store *st;
	struct config *cfg;
	int64_t alice, bob;
	char secret_home[SECRET_TEXT_LEN + 1];
	char secret_second[SECRET_TEXT_LEN + 1];
	char secret_bob[SECRET_TEXT_LEN + 1];
	unsigned touched;
	char last_touch[CFG_NAME_MAX];
	struct dyndns2_update u;
};

static int count_touch(void *ctx, const char *fqdn)
{
	struct fixture *f = ctx;
	f->touched++;
	np_strlcpy(f->last_touch, fqdn, sizeof(f->last_touch));
	return NP_OK;
}

static void add_host(struct fixture *f, const char *fqdn, int64_t owner, char *secret)
{
	struct store_host h = {0};
	int64_t id;
	h.user_id = owner;
	np_strlcpy(h.fqdn, fqdn, sizeof(h.fqdn));
	np_strlcpy(h.zone, "dyn.example", sizeof(h.zone));
	assert_int_equal(store_host_add(f->st, &h, &id), NP_OK);
	/* Its update secret: a token of the owner scoped to the host, as nameplatectl makes. */
	struct store_token t;
	credential_token_new(&t, owner, STORE_TOKEN_HOST, secret);
	np_strlcpy(t.names, fqdn, sizeof(t.names));
	assert_int_equal(store_token_add(f->st, &t), NP_OK);
}

static int store_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (f == NULL || secret_lib_init() != NP_OK)
		return -1;
	if (tmpdir_make(f->dir, sizeof(f->dir), "d2") != 0)
		return -1;
	if (store_open(f->dir, true, &f->st) != NP_OK)
		return -1;
	f->cfg = calloc(1, sizeof(*f->cfg));
	if (f->cfg == NULL)
		return -1;
	struct cfg_zone *z = &f->cfg->zones[0];
	np_strlcpy(z->name, "dyn.example", sizeof(z->name));
	z->ttl = 60;
	f->cfg->n_zones = 1;
	if (store_user_add(f->st, "alice", &f->alice) != NP_OK ||
	    store_user_add(f->st, "bob", &f->bob) != NP_OK)
		return -1;
	add_host(f, "home.dyn.example", f->alice, f->secret_home);
	add_host(f, "second.dyn.example", f->alice, f->secret_second);
	add_host(f, "bob.dyn.example", f->bob, f->secret_bob);
	*state = f;
	return 0;
}

static int store_teardown(void **state)
{
	struct fixture *f = *state;
	store_close(f->st);
	int ret = tmpdir_remove(f->dir);
	free(f->cfg);
	free(f);
	return ret;
}

/* Runs one update: query (as sent), user, password, client address. Returns the body. */
static const char *run(struct fixture *f, const char *query, const char *user, const char *pass,
                       const char *client)
{
	static char body[DYNDNS2_BODY_MAX];
	struct dyndns2_update *u = &f->u;
	dyndns2_update_init(u);
	parse(&u->params, query, client);
	np_strlcpy(u->user, user, sizeof(u->user));
	secret_hash(pass, strlen(pass), u->secret_hash);
	assert_int_equal(addr_parse(client, &u->client), NP_OK);
	f->touched = 0;
	/* As the HTTP side does: a credential that proves nothing never reaches the writer. */
	enum dyndns2_code code;
	if (dyndns2_precheck(&u->params, user, &code)) {
		struct dyndns2_result r = {.code = code};
		assert_true(dyndns2_format(&r, 1, body, sizeof(body)) > 0);
		return body;
	}
	bool ok;
	assert_int_equal(dyndns2_authenticate(f->st, user, u->secret_hash, &u->client, &u->id, &ok),
	                 NP_OK);
	if (!ok)
		return "badauth\n";
	assert_int_equal(store_begin(f->st), NP_OK);
	int ret = dyndns2_update_run(u, f->st, f->cfg, count_touch, f);
	assert_int_equal(ret, NP_OK);
	assert_int_equal(store_commit(f->st), NP_OK);
	assert_true(dyndns2_update_body(u, ret, body, sizeof(body)) >= 0);
	return body;
}

/* The host's addresses of type as a comma list, in store order. */
static const char *addrs_of(struct fixture *f, const char *fqdn, uint16_t type)
{
	static char out[512];
	static struct store_rr rrs[ZONE_MAX_RRS_PER_NODE];
	struct store_host h;
	size_t n = 0;
	out[0] = '\0';
	assert_int_equal(store_host_get(f->st, fqdn, &h), NP_OK);
	assert_int_equal(store_records_get(f->st, h.id, rrs, ARRAY_SIZE(rrs), &n), NP_OK);
	for (size_t i = 0; i < n; i++) {
		if (rrs[i].type != type)
			continue;
		struct np_addr a = {.family = type == DNS_TYPE_A ? AF_INET : AF_INET6};
		char t[INET6_ADDRSTRLEN];
		memcpy(a.bytes, rrs[i].rdata, rrs[i].rdlen);
		assert_int_equal(rrs[i].ttl, 60);
		size_t pos = strlen(out);
		snprintf(out + pos, sizeof(out) - pos, "%s%s", pos ? "," : "",
		         addr_format(&a, t, sizeof(t)));
	}
	return out;
}

static struct store_host host_of(struct fixture *f, const char *fqdn)
{
	struct store_host h;
	assert_int_equal(store_host_get(f->st, fqdn, &h), NP_OK);
	return h;
}

static void test_update_good_nochg(void **state)
{
	struct fixture *f = *state;
	const char *s = f->secret_home;
	assert_string_equal(
	    run(f, "hostname=home.dyn.example&myip=198.51.100.1", "alice", s, "127.0.0.1"),
	    "good 198.51.100.1\n");
	assert_int_equal(f->touched, 1);
	assert_string_equal(f->last_touch, "home.dyn.example");
	assert_string_equal(addrs_of(f, "home.dyn.example", DNS_TYPE_A), "198.51.100.1");
	assert_string_equal(
	    run(f, "hostname=home.dyn.example&myip=198.51.100.1", "alice", s, "127.0.0.1"),
	    "nochg 198.51.100.1\n");
	assert_int_equal(f->touched, 0);
	/* Only the families given change: v6 now, and the A record stays. */
	assert_string_equal(
	    run(f, "hostname=home.dyn.example&myipv6=2001:db8::1", "alice", s, "127.0.0.1"),
	    "good 2001:db8::1\n");
	assert_string_equal(addrs_of(f, "home.dyn.example", DNS_TYPE_A), "198.51.100.1");
	assert_string_equal(addrs_of(f, "home.dyn.example", DNS_TYPE_AAAA), "2001:db8::1");
	assert_string_equal(run(f, "hostname=home.dyn.example&myip=198.51.100.2,2001:db8::1",
	                        "alice", s, "127.0.0.1"),
	                    "good 198.51.100.2,2001:db8::1\n");
	/* No address: the connection's. */
	assert_string_equal(run(f, "hostname=home.dyn.example", "alice", s, "192.0.2.7"),
	                    "good 192.0.2.7\n");
	assert_string_equal(addrs_of(f, "home.dyn.example", DNS_TYPE_AAAA), "2001:db8::1");
}

static void test_update_auth(void **state)
{
	struct fixture *f = *state;
	const char *q = "hostname=home.dyn.example&myip=198.51.100.9";
	assert_string_equal(run(f, q, "alice", "wrong", "127.0.0.1"), "badauth\n");
	assert_string_equal(run(f, q, "mallory", f->secret_home, "127.0.0.1"), "badauth\n");
	assert_string_equal(run(f, q, "bob", f->secret_home, "127.0.0.1"), "badauth\n");
	assert_string_equal(run(f, q, "alice", f->secret_bob, "127.0.0.1"), "badauth\n");
	/* Another of alice's hosts' secret changes only that host. */
	assert_string_equal(run(f, q, "alice", f->secret_second, "127.0.0.1"), "badauth\n");
	assert_string_equal(addrs_of(f, "home.dyn.example", DNS_TYPE_A), "");
	/* Any of alice's secrets proves her account: a host that does not exist and one that
	 * belongs to another account look the same, "nohost" (not in this account). */
	assert_string_equal(run(f, "hostname=nothere.dyn.example&myip=198.51.100.9", "alice",
	                        f->secret_home, "127.0.0.1"),
	                    "nohost\n");
	assert_string_equal(run(f, "hostname=bob.dyn.example&myip=198.51.100.9", "alice",
	                        f->secret_home, "127.0.0.1"),
	                    "nohost\n");
	/* Without a valid secret of hers, the same requests learn nothing. */
	assert_string_equal(run(f, "hostname=nothere.dyn.example&myip=198.51.100.9", "alice",
	                        "wrong", "127.0.0.1"),
	                    "badauth\n");
	assert_int_equal(f->touched, 0);
}

static void test_update_multi(void **state)
{
	struct fixture *f = *state;
	assert_string_equal(
	    run(f,
	        "hostname=home.dyn.example,second.dyn.example,nothere.dyn.example,"
	        "bob.dyn.example,home,other.example,HOME.dyn.example.&myip=198.51.100.3",
	        "alice", f->secret_home, "127.0.0.1"),
	    "good 198.51.100.3\nbadauth\nnohost\nnohost\nnotfqdn\nnohost\n"
	    "nochg 198.51.100.3\n");
	assert_int_equal(f->touched, 1);
	assert_string_equal(addrs_of(f, "second.dyn.example", DNS_TYPE_A), "");
	assert_string_equal(addrs_of(f, "bob.dyn.example", DNS_TYPE_A), "");
}

static void test_update_fqdn_user(void **state)
{
	struct fixture *f = *state;
	/* No hostname: the user name is the host. */
	assert_string_equal(
	    run(f, "myip=198.51.100.4", "Home.Dyn.Example", f->secret_home, "127.0.0.1"),
	    "good 198.51.100.4\n");
	assert_string_equal(
	    run(f, "myip=198.51.100.4", "home.dyn.example", f->secret_bob, "127.0.0.1"),
	    "badauth\n");
	assert_string_equal(
	    run(f, "myip=198.51.100.4", "nothere.dyn.example", f->secret_home, "127.0.0.1"),
	    "badauth\n");
	/* An account name without a hostname names no host. */
	assert_string_equal(run(f, "myip=198.51.100.4", "alice", f->secret_home, "127.0.0.1"),
	                    "notfqdn\n");
	/* Names that are not FQDNs are answered as such, even though no secret matched. */
	assert_string_equal(
	    run(f, "hostname=home,x&myip=198.51.100.4", "alice", f->secret_home, "127.0.0.1"),
	    "notfqdn\nnotfqdn\n");
	/* The FQDN user's owner scopes the hosts; the user must be a name the token may
	 * change. */
	assert_string_equal(run(f, "hostname=second.dyn.example,bob.dyn.example&myip=198.51.100.5",
	                        "second.dyn.example", f->secret_second, "127.0.0.1"),
	                    "good 198.51.100.5\nnohost\n");
	assert_string_equal(run(f, "hostname=second.dyn.example&myip=198.51.100.6",
	                        "home.dyn.example", f->secret_second, "127.0.0.1"),
	                    "badauth\n");
}

static void test_update_offline_wildcard(void **state)
{
	struct fixture *f = *state;
	const char *s = f->secret_home;
	assert_string_equal(run(f, "hostname=home.dyn.example&myip=198.51.100.6,2001:db8::6",
	                        "alice", s, "127.0.0.1"),
	                    "good 198.51.100.6,2001:db8::6\n");
	assert_string_equal(
	    run(f, "hostname=home.dyn.example&offline=YES", "alice", s, "127.0.0.1"), "good\n");
	assert_int_equal(f->touched, 1);
	assert_true(host_of(f, "home.dyn.example").offline);
	assert_string_equal(addrs_of(f, "home.dyn.example", DNS_TYPE_A), "");
	assert_string_equal(addrs_of(f, "home.dyn.example", DNS_TYPE_AAAA), "");
	assert_string_equal(
	    run(f, "hostname=home.dyn.example&offline=YES", "alice", s, "127.0.0.1"), "nochg\n");
	/* An update with an address brings it back. */
	assert_string_equal(
	    run(f, "hostname=home.dyn.example&myip=198.51.100.6", "alice", s, "127.0.0.1"),
	    "good 198.51.100.6\n");
	assert_false(host_of(f, "home.dyn.example").offline);
	assert_string_equal(addrs_of(f, "home.dyn.example", DNS_TYPE_AAAA), "");

	assert_string_equal(run(f, "hostname=home.dyn.example&myip=198.51.100.6&wildcard=ON",
	                        "alice", s, "127.0.0.1"),
	                    "good 198.51.100.6\n");
	assert_true(host_of(f, "home.dyn.example").wildcard);
	assert_string_equal(run(f, "hostname=home.dyn.example&myip=198.51.100.6&wildcard=NOCHG",
	                        "alice", s, "127.0.0.1"),
	                    "nochg 198.51.100.6\n");
	assert_true(host_of(f, "home.dyn.example").wildcard);
	assert_string_equal(run(f, "hostname=home.dyn.example&myip=198.51.100.6&wildcard=OFF",
	                        "alice", s, "127.0.0.1"),
	                    "good 198.51.100.6\n");
	assert_false(host_of(f, "home.dyn.example").wildcard);
}

static void test_update_blocked(void **state)
{
	struct fixture *f = *state;
	struct store_host h = host_of(f, "home.dyn.example");
	assert_int_equal(store_host_set_flags(f->st, h.id, false, false, true), NP_OK);
	assert_string_equal(run(f, "hostname=home.dyn.example&myip=198.51.100.8", "alice",
	                        f->secret_home, "127.0.0.1"),
	                    "abuse\n");
	/* A wrong secret on a blocked host reveals nothing about the block. */
	assert_string_equal(
	    run(f, "hostname=home.dyn.example&myip=198.51.100.8", "alice", "wrong", "127.0.0.1"),
	    "badauth\n");
	assert_string_equal(addrs_of(f, "home.dyn.example", DNS_TYPE_A), "");
	assert_int_equal(f->touched, 0);
}

static void test_update_zone_not_configured(void **state)
{
	struct fixture *f = *state;
	/* The zone was removed from the config: its hosts cannot be updated. */
	np_strlcpy(f->cfg->zones[0].name, "other.example", sizeof(f->cfg->zones[0].name));
	assert_string_equal(run(f, "hostname=home.dyn.example,second.dyn.example&myip=198.51.100.8",
	                        "alice", f->secret_home, "127.0.0.1"),
	                    "nohost\nnohost\n");
	np_strlcpy(f->cfg->zones[0].name, "dyn.example", sizeof(f->cfg->zones[0].name));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_basic),
	    cmocka_unit_test(test_host_list),
	    cmocka_unit_test(test_host_syntax),
	    cmocka_unit_test(test_numhost),
	    cmocka_unit_test(test_precheck_notfqdn),
	    cmocka_unit_test(test_dual_stack),
	    cmocka_unit_test(test_client_address),
	    cmocka_unit_test(test_prefix_suffix),
	    cmocka_unit_test(test_bad_addresses),
	    cmocka_unit_test(test_first_wins),
	    cmocka_unit_test(test_switches_and_unknown),
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_codes),
	    cmocka_unit_test(test_format_worst_case),
	    cmocka_unit_test(test_body_by_status),
	    cmocka_unit_test_setup_teardown(test_update_good_nochg, store_setup, store_teardown),
	    cmocka_unit_test_setup_teardown(test_update_auth, store_setup, store_teardown),
	    cmocka_unit_test_setup_teardown(test_update_multi, store_setup, store_teardown),
	    cmocka_unit_test_setup_teardown(test_update_fqdn_user, store_setup, store_teardown),
	    cmocka_unit_test_setup_teardown(test_update_offline_wildcard, store_setup,
	                                    store_teardown),
	    cmocka_unit_test_setup_teardown(test_update_blocked, store_setup, store_teardown),
	    cmocka_unit_test_setup_teardown(test_update_zone_not_configured, store_setup,
	                                    store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
