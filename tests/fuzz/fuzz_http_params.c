/* SPDX-License-Identifier: MIT */
/* Fuzz target: raw bytes as a /nic/update query string, split and percent-decoded like
 * libmicrohttpd does, through the dyndns2 parser; checks the invariants of its output. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/dyndns2.h"
#include "fuzz.h"


static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* '+' is a space and %XX a byte (libmicrohttpd's rules; a bad escape stays as it is).
 * out has room for len bytes; returns the decoded length. */
static size_t decode(const uint8_t *in, size_t len, char *out)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		int hi = i + 2 < len ? hexval(in[i + 1]) : -1;
		int lo = i + 2 < len ? hexval(in[i + 2]) : -1;
		if (in[i] == '+') {
			out[n++] = ' ';
		} else if (in[i] == '%' && hi >= 0 && lo >= 0) {
			out[n++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			out[n++] = (char)in[i];
		}
	}
	return n;
}

static void check_params(const struct dyndns2_params *p, const struct np_addr *client)
{
	CHECK(p->n_hosts <= DYNDNS2_MAX_HOSTS);
	CHECK(!p->too_many || p->n_hosts == DYNDNS2_MAX_HOSTS);
	for (unsigned i = 0; i < p->n_hosts; i++) {
		const struct dyndns2_host *h = &p->hosts[i];
		size_t len = strnlen(h->fqdn, sizeof(h->fqdn));
		CHECK(len < sizeof(h->fqdn));
		if (!h->valid) {
			CHECK(len == 0);
			continue;
		}
		CHECK(len > 0 && h->fqdn[len - 1] != '.' && h->fqdn[0] != '*');
		for (size_t k = 0; k < len; k++)
			CHECK(!(h->fqdn[k] >= 'A' && h->fqdn[k] <= 'Z'));
		/* Normalising is idempotent. */
		char again[CFG_NAME_MAX];
		CHECK(dyndns2_fqdn_normalize(h->fqdn, len, again));
		CHECK(strcmp(again, h->fqdn) == 0);
	}
	CHECK(!p->bad_addr || (!p->has_v4 && !p->has_v6));
	CHECK(!p->has_v4 || p->v4.family == AF_INET);
	CHECK(!p->has_v6 || p->v6.family == AF_INET6);
	if (!p->bad_addr && !p->addr_given)
		CHECK(p->has_v4 == (client->family == AF_INET) &&
		      p->has_v6 == (client->family == AF_INET6));
	CHECK(p->offline <= DYNDNS2_CLEAR && p->wildcard <= DYNDNS2_CLEAR);
}

/* The worst body for what was parsed fits the buffer the HTTP side answers from. */
static void check_format(const struct dyndns2_params *p)
{
	struct dyndns2_result res[DYNDNS2_MAX_HOSTS];
	char body[DYNDNS2_BODY_MAX];
	size_t n = p->n_hosts;
	for (size_t i = 0; i < n; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		res[i].code = p->hosts[i].valid ? DYNDNS2_NOCHG : DYNDNS2_NOTFQDN;
		res[i].has_v4 = p->has_v4;
		res[i].v4 = p->v4;
		res[i].has_v6 = p->has_v6;
		res[i].v6 = p->v6;
	}
	int len = dyndns2_format(res, n, body, sizeof(body));
	CHECK(len >= 0 && (size_t)len == strlen(body));
	size_t lines = 0;
	for (int i = 0; i < len; i++)
		lines += body[i] == '\n';
	CHECK(lines == n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* libmicrohttpd bounds the request line to the connection's memory. */
	if (size > 32 * 1024)
		return 0;
	char *key = malloc(size + 1), *val = malloc(size + 1);
	if (key == NULL || val == NULL)
		goto out;

	struct dyndns2_params p;
	dyndns2_params_init(&p);
	size_t pos = 0;
	/* One round per '&'-separated argument: bounded by size. */
	while (pos < size) {
		const uint8_t *arg = data + pos;
		const uint8_t *amp = memchr(arg, '&', size - pos);
		size_t alen = amp != NULL ? (size_t)(amp - arg) : size - pos;
		const uint8_t *eq = memchr(arg, '=', alen);
		size_t klen = eq != NULL ? (size_t)(eq - arg) : alen;
		size_t kn = decode(arg, klen, key);
		key[kn] = '\0';
		if (eq != NULL) {
			size_t vn = decode(eq + 1, alen - klen - 1, val);
			val[vn] = '\0';
			dyndns2_params_add(&p, key, kn, val, vn);
		} else {
			dyndns2_params_add(&p, key, kn, NULL, 0);
		}
		pos += alen + 1;
	}
	struct np_addr client;
	CHECK(addr_parse((size & 1) ? "2001:db8::53" : "192.0.2.53", &client) == NP_OK);
	dyndns2_params_finish(&p, &client);
	check_params(&p, &client);
	check_format(&p);

	/* The user name may be the host: any input text as user must be safe to check. */
	enum dyndns2_code code;
	char user[DYNDNS2_USER_MAX];
	size_t ulen = size < sizeof(user) - 1 ? size : sizeof(user) - 1;
	memcpy(user, data, ulen);
	user[ulen] = '\0';
	if (dyndns2_precheck(&p, user, &code))
		CHECK(code == DYNDNS2_NUMHOST || code == DYNDNS2_NOTFQDN);
	else
		CHECK(!p.too_many);
out:
	free(key);
	free(val);
	return 0;
}
