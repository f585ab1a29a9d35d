/* SPDX-License-Identifier: MIT */
/* TSIG (RFC 8945) with HMAC-SHA256 and HMAC-SHA512: MAC over the message as it was before
 * the TSIG RR was added plus the TSIG variables; record layout and checks in tsig.h. */
#include "dns/tsig.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns/msg.h"

/* Algorithm names in wire form: length byte, 11 letters, root. */
#define ALG_WIRE_LEN 13
static const struct {
	const char *text;
	uint8_t wire[ALG_WIRE_LEN + 1];
	size_t mac_len;
} algs[] = {
    [TSIG_HMAC_SHA256] = {TSIG_ALG_HMAC_SHA256, "\x0bhmac-sha256", crypto_auth_hmacsha256_BYTES},
    [TSIG_HMAC_SHA512] = {TSIG_ALG_HMAC_SHA512, "\x0bhmac-sha512", crypto_auth_hmacsha512_BYTES},
};

int tsig_alg_from_text(const char *text, enum tsig_alg *out)
{
	size_t n = strlen(text);
	if (n > 0 && text[n - 1] == '.')
		n--;
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		if (n == strlen(algs[i].text) && strncasecmp(text, algs[i].text, n) == 0) {
			*out = (enum tsig_alg)i;
			return NP_OK;
		}
	}
	return NP_ENOTFOUND;
}

const char *tsig_alg_name(enum tsig_alg alg)
{
	return algs[alg].text;
}

size_t tsig_mac_len(enum tsig_alg alg)
{
	return algs[alg].mac_len;
}

/* ---- HMAC ----
 *
 * By OpenSSL's libcrypto (already linked for DNSSEC), not libsodium: its SHA-256 and
 * SHA-512 use the CPU's SHA extensions or vector units where there are some, libsodium's
 * are portable C. An HMAC of an UPDATE's size took 1.7 us against 2.6, and 0.55 us from a
 * kept key (bench/README.md, "The WAL's inode, and TSIG's HMAC"); an UPDATE costs two (its
 * request verified, its answer signed).
 *
 * A context holds the key's derived state, as good as the key for making MACs. By default
 * each MAC has a context of its own, freed (and wiped by libcrypto) at its end, so no
 * secret stays behind, as with libsodium's wiped state before. A thread that asks
 * (tsig_keep_keys) keeps one context per hash, keyed with the secret it was last given:
 * the same key again, the usual case under load, starts from the keyed state. The copy of
 * the secret it is compared with (in constant time) goes with the context, at
 * tsig_forget_kept_keys or when the thread ends. */

#define HMAC_KEY_KEPT 128 /* longer secrets are set up for each MAC */

struct hmac_kept {
	EVP_MAC_CTX *ctx[2]; /* [0] SHA-256, [1] SHA-512 */
	uint8_t key[2][HMAC_KEY_KEPT];
	size_t key_len[2]; /* 0: nothing kept */
};

static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;
static pthread_key_t hmac_kept_key; /* the calling thread's struct hmac_kept, if it keeps */
static bool hmac_kept_key_made;
static EVP_MAC *hmac_mac;

static void hmac_kept_free(void *p)
{
	struct hmac_kept *t = p;
	for (int i = 0; i < 2; i++)
		EVP_MAC_CTX_free(t->ctx[i]);
	sodium_memzero(t, sizeof(*t));
	free(t);
}

static void hmac_setup(void)
{
	hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	hmac_kept_key_made = pthread_key_create(&hmac_kept_key, hmac_kept_free) == 0;
}

void tsig_keep_keys(bool on)
{
	(void)pthread_once(&hmac_once, hmac_setup);
	if (!hmac_kept_key_made)
		return;
	struct hmac_kept *t = pthread_getspecific(hmac_kept_key);
	if (on && t == NULL) {
		t = calloc(1, sizeof(*t));
		if (t != NULL && pthread_setspecific(hmac_kept_key, t) != 0) {
			free(t);
			t = NULL;
		}
	} else if (!on && t != NULL) {
		(void)pthread_setspecific(hmac_kept_key, NULL);
		hmac_kept_free(t);
	}
}

void tsig_forget_kept_keys(void)
{
	(void)pthread_once(&hmac_once, hmac_setup); /* what hmac_setup wrote, seen here too */
	if (!hmac_kept_key_made)
		return;
	struct hmac_kept *t = pthread_getspecific(hmac_kept_key);
	if (t == NULL)
		return;
	for (int i = 0; i < 2; i++)
		EVP_MAC_CTX_free(t->ctx[i]);
	sodium_memzero(t, sizeof(*t));
}

/* One HMAC under way; ok turns false at the first step libcrypto fails. */
struct hmac {
	EVP_MAC_CTX *ctx;
	bool own; /* this MAC's alone: freed at its end */
	bool ok;
};

static bool hmac_key_set(EVP_MAC_CTX *ctx, int sha512, const uint8_t *key, size_t len)
{
	OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	                                                        sha512 ? "SHA512" : "SHA256", 0),
	                       OSSL_PARAM_construct_end()};
	return EVP_MAC_init(ctx, key, len, params) == 1;
}

/* The kept context for hash i keyed with key, set up again only for another key. */
static EVP_MAC_CTX *kept_ctx(struct hmac_kept *t, int i, const uint8_t *key, size_t len)
{
	if (t->ctx[i] == NULL && (t->ctx[i] = EVP_MAC_CTX_new(hmac_mac)) == NULL)
		return NULL;
	EVP_MAC_CTX *ctx = t->ctx[i];
	if (len > 0 && len == t->key_len[i] && sodium_memcmp(key, t->key[i], len) == 0)
		return EVP_MAC_init(ctx, NULL, 0, NULL) == 1 ? ctx : NULL;
	sodium_memzero(t->key[i], sizeof(t->key[i]));
	t->key_len[i] = 0;
	if (!hmac_key_set(ctx, i, key, len))
		return NULL;
	if (len <= HMAC_KEY_KEPT) {
		memcpy(t->key[i], key, len);
		t->key_len[i] = len;
	}
	return ctx;
}

static void hmac_init(struct hmac *h, enum tsig_alg alg, const uint8_t *key, size_t len)
{
	int i = alg == TSIG_HMAC_SHA512;
	(void)pthread_once(&hmac_once, hmac_setup);
	struct hmac_kept *t = hmac_kept_key_made ? pthread_getspecific(hmac_kept_key) : NULL;
	h->own = t == NULL;
	h->ctx = NULL;
	if (hmac_mac != NULL && t != NULL) {
		h->ctx = kept_ctx(t, i, key, len);
	} else if (hmac_mac != NULL && (h->ctx = EVP_MAC_CTX_new(hmac_mac)) != NULL &&
	           !hmac_key_set(h->ctx, i, key, len)) {
		EVP_MAC_CTX_free(h->ctx);
		h->ctx = NULL;
	}
	h->ok = h->ctx != NULL;
}

static void hmac_update(struct hmac *h, const uint8_t *p, size_t len)
{
	if (h->ok)
		h->ok = EVP_MAC_update(h->ctx, p, len) == 1;
}

/* The MAC into out; NP_EFAILED when libcrypto failed at any step. */
static int hmac_final(struct hmac *h, uint8_t out[TSIG_MAC_LEN])
{
	size_t n = 0;
	if (h->ok)
		h->ok = EVP_MAC_final(h->ctx, out, &n, TSIG_MAC_LEN) == 1;
	if (h->own)
		EVP_MAC_CTX_free(h->ctx);
	h->ctx = NULL;
	return h->ok ? NP_OK : NP_EFAILED;
}

int tsig_key_init(struct tsig_key *k, const char *name, const uint8_t *secret, size_t secret_len)
{
	memset(k, 0, sizeof(*k));
	if (secret == NULL || secret_len == 0)
		return NP_EINVAL;
	int n = dns_name_from_text(name, k->name, sizeof(k->name));
	if (n < 0)
		return NP_EMALFORMED;
	/* sodium_init() is idempotent; HMAC itself does not need it but memcmp helpers may. */
	if (sodium_init() < 0)
		return NP_EFAILED;
	k->name_len = (size_t)n;
	k->alg = TSIG_HMAC_SHA256;
	k->secret = secret;
	k->secret_len = secret_len;
	return NP_OK;
}

static void put_u48(uint8_t *p, uint64_t v)
{
	wire_store_u16(p, (uint16_t)(v >> 32));
	wire_store_u32(p + 2, (uint32_t)v);
}

/* The MAC of RFC 8945 4.3.3: [request MAC size + MAC], the message up to the TSIG RR with
 * the header's ID replaced by the original ID and ARCOUNT as it was before TSIG, then
 * the TSIG variables. msg_len >= DNS_HDR_LEN. */
static int mac_compute(const struct tsig_key *k, const uint8_t *msg, size_t msg_len,
                       uint16_t orig_id, uint16_t arcount, const uint8_t *req_mac,
                       size_t req_mac_len, const struct tsig_vars *v, uint8_t out[TSIG_MAC_LEN])
{
	struct hmac st;
	uint8_t buf[DNS_HDR_LEN];

	hmac_init(&st, k->alg, k->secret, k->secret_len);
	if (req_mac != NULL) {
		wire_store_u16(buf, (uint16_t)req_mac_len);
		hmac_update(&st, buf, 2);
		hmac_update(&st, req_mac, req_mac_len);
	}
	memcpy(buf, msg, DNS_HDR_LEN);
	wire_store_u16(buf, orig_id);
	wire_store_u16(buf + 10, arcount);
	hmac_update(&st, buf, DNS_HDR_LEN);
	hmac_update(&st, msg + DNS_HDR_LEN, msg_len - DNS_HDR_LEN);

	hmac_update(&st, k->name, k->name_len);
	wire_store_u16(buf, DNS_CLASS_ANY);
	wire_store_u32(buf + 2, 0); /* TTL */
	hmac_update(&st, buf, 6);
	hmac_update(&st, algs[k->alg].wire, ALG_WIRE_LEN);
	put_u48(buf, v->time_signed);
	wire_store_u16(buf + 6, v->fudge);
	wire_store_u16(buf + 8, v->error);
	wire_store_u16(buf + 10, v->other_len);
	hmac_update(&st, buf, 12);
	if (v->other_len > 0)
		hmac_update(&st, v->other, v->other_len);
	return hmac_final(&st, out);
}

/* Appends the TSIG RR and bumps ARCOUNT; on failure leaves msg and *len unchanged. */
static int append_rr(uint8_t *msg, size_t *len, size_t cap, const uint8_t *key_name,
                     size_t key_name_len, const uint8_t *alg, size_t alg_len,
                     const struct tsig_vars *v, const uint8_t *mac, uint16_t mac_len)
{
	if (*len < DNS_HDR_LEN || *len > cap)
		return NP_EMALFORMED;
	uint16_t arcount = wire_load_u16(msg + 10);
	if (arcount == UINT16_MAX)
		return NP_EMALFORMED;

	struct wire_out w = wire_out_init(msg, cap);
	w.pos = *len;
	wire_put_bytes(&w, key_name, key_name_len);
	wire_put_u16(&w, DNS_TYPE_TSIG);
	wire_put_u16(&w, DNS_CLASS_ANY);
	wire_put_u32(&w, 0);
	size_t rdlen_at = w.pos;
	wire_put_u16(&w, 0);
	wire_put_bytes(&w, alg, alg_len);
	wire_put_u16(&w, (uint16_t)(v->time_signed >> 32));
	wire_put_u32(&w, (uint32_t)v->time_signed);
	wire_put_u16(&w, v->fudge);
	wire_put_u16(&w, mac_len);
	wire_put_bytes(&w, mac, mac_len);
	wire_put_u16(&w, wire_load_u16(msg)); /* original ID */
	wire_put_u16(&w, v->error);
	wire_put_u16(&w, v->other_len);
	wire_put_bytes(&w, v->other, v->other_len);
	if (w.err != 0)
		return NP_ETOOBIG;
	wire_store_u16(msg + rdlen_at, (uint16_t)(w.pos - rdlen_at - 2));
	wire_store_u16(msg + 10, (uint16_t)(arcount + 1));
	*len = w.pos;
	return NP_OK;
}

/* Appends k's TSIG RR carrying mac, copies mac to mac_out (may be NULL), wipes mac. */
static int append_signed(const struct tsig_key *k, uint8_t *msg, size_t *len, size_t cap,
                         const struct tsig_vars *v, uint8_t mac[TSIG_MAC_LEN], uint8_t *mac_out)
{
	size_t mac_len = tsig_mac_len(k->alg);
	int ret = append_rr(msg, len, cap, k->name, k->name_len, algs[k->alg].wire, ALG_WIRE_LEN, v,
	                    mac, (uint16_t)mac_len);
	if (ret == NP_OK && mac_out != NULL)
		memcpy(mac_out, mac, mac_len);
	sodium_memzero(mac, TSIG_MAC_LEN);
	return ret;
}

int tsig_sign(const struct tsig_key *k, uint8_t *msg, size_t *len, size_t cap,
              const uint8_t *req_mac, size_t req_mac_len, const struct tsig_vars *v,
              uint8_t *mac_out)
{
	uint8_t mac[TSIG_MAC_LEN];

	if (*len < DNS_HDR_LEN || *len > cap || req_mac_len > UINT16_MAX)
		return NP_EMALFORMED;
	int ret = mac_compute(k, msg, *len, wire_load_u16(msg), wire_load_u16(msg + 10), req_mac,
	                      req_mac_len, v, mac);
	if (ret != NP_OK)
		return ret;
	return append_signed(k, msg, len, cap, v, mac, mac_out);
}

int tsig_sign_continued(const struct tsig_key *k, uint8_t *msg, size_t *len, size_t cap,
                        const uint8_t *prior_mac, size_t prior_mac_len, const struct tsig_vars *v,
                        uint8_t *mac_out)
{
	uint8_t mac[TSIG_MAC_LEN], buf[8];
	struct hmac st;

	if (*len < DNS_HDR_LEN || *len > cap || prior_mac_len > UINT16_MAX)
		return NP_EMALFORMED;
	hmac_init(&st, k->alg, k->secret, k->secret_len);
	wire_store_u16(buf, (uint16_t)prior_mac_len);
	hmac_update(&st, buf, 2);
	hmac_update(&st, prior_mac, prior_mac_len);
	hmac_update(&st, msg, *len);
	put_u48(buf, v->time_signed);
	wire_store_u16(buf + 6, v->fudge);
	hmac_update(&st, buf, 8);
	int ret = hmac_final(&st, mac);
	if (ret != NP_OK)
		return ret;
	return append_signed(k, msg, len, cap, v, mac, mac_out);
}

int tsig_append_unsigned(const struct tsig_rr *req, uint8_t *msg, size_t *len, size_t cap,
                         uint16_t error, uint64_t now)
{
	struct tsig_vars v = {.time_signed = now, .fudge = req->vars.fudge, .error = error};
	return append_rr(msg, len, cap, req->key_name, req->key_name_len, req->alg, req->alg_len,
	                 &v, NULL, 0);
}

/* Parses the TSIG RR at start, which must end exactly at len. */
static int parse_rr(const uint8_t *msg, size_t len, size_t start, struct tsig_rr *rr)
{
	struct wire c = wire_init(msg, len);
	c.pos = start;
	rr->start = start;
	int n = dns_name_read(&c, NULL, rr->key_name);
	uint16_t type = wire_u16(&c);
	uint16_t rclass = wire_u16(&c);
	uint32_t ttl = wire_u32(&c);
	uint16_t rdlen = wire_u16(&c);
	if (n < 0 || c.err != 0 || wire_left(&c) != rdlen)
		return NP_EMALFORMED;
	if (type != DNS_TYPE_TSIG || rclass != DNS_CLASS_ANY || ttl != 0)
		return NP_EMALFORMED;
	rr->key_name_len = (size_t)n;

	int a = dns_name_read(&c, NULL, rr->alg);
	uint64_t hi = wire_u16(&c);
	rr->vars.time_signed = hi << 32 | wire_u32(&c);
	rr->vars.fudge = wire_u16(&c);
	rr->mac_len = wire_u16(&c);
	rr->mac = wire_take(&c, rr->mac_len);
	rr->orig_id = wire_u16(&c);
	rr->vars.error = wire_u16(&c);
	rr->vars.other_len = wire_u16(&c);
	rr->vars.other = wire_take(&c, rr->vars.other_len);
	if (a < 0 || c.err != 0 || c.pos != len)
		return NP_EMALFORMED;
	rr->alg_len = (size_t)a;
	return NP_OK;
}

int tsig_find(const uint8_t *msg, size_t len, struct tsig_rr *rr)
{
	struct wire c = wire_init(msg, len);
	struct dns_hdr h;
	struct dns_question q;

	memset(rr, 0, sizeof(*rr));
	dns_hdr_read(&c, &h);
	if (c.err != 0)
		return NP_EMALFORMED;
	for (unsigned i = 0; i < h.qdcount; i++) {
		if (dns_question_read(&c, &q) != NP_OK)
			return NP_EMALFORMED;
	}
	unsigned total = (unsigned)h.ancount + h.nscount + h.arcount;
	size_t last_start = 0;
	int last_type = -1;
	for (unsigned i = 0; i < total; i++) {
		size_t start = c.pos;
		int type = dns_rr_skip(&c);
		if (type < 0)
			return NP_EMALFORMED;
		/* A TSIG anywhere but last (RFC 8945 5.1: FORMERR). */
		if (type == DNS_TYPE_TSIG && i + 1 != total)
			return NP_EMALFORMED;
		last_start = start;
		last_type = type;
	}
	if (c.pos != len)
		return NP_EMALFORMED;
	if (last_type != DNS_TYPE_TSIG)
		return NP_ENOTFOUND;
	if (h.arcount == 0) /* the last record is a TSIG, but in the answer or authority */
		return NP_EMALFORMED;
	return parse_rr(msg, len, last_start, rr);
}

int tsig_verify(const struct tsig_key *k, const uint8_t *msg, size_t len, const struct tsig_rr *rr,
                const uint8_t *req_mac, size_t req_mac_len, int64_t now, uint16_t *tsig_error)
{
	uint8_t mac[TSIG_MAC_LEN];
	int ret = NP_EDENIED;

	*tsig_error = 0;
	if (rr->start < DNS_HDR_LEN || rr->start > len || req_mac_len > UINT16_MAX)
		return NP_EMALFORMED;
	uint16_t arcount = wire_load_u16(msg + 10);
	if (arcount == 0)
		return NP_EMALFORMED;
	if (rr->key_name_len != k->name_len || memcmp(rr->key_name, k->name, k->name_len) != 0 ||
	    rr->alg_len != ALG_WIRE_LEN || memcmp(rr->alg, algs[k->alg].wire, ALG_WIRE_LEN) != 0) {
		*tsig_error = TSIG_ERR_BADKEY;
		return NP_EDENIED;
	}
	/* RFC 8945 5.2.2.1: longer than the hash or shorter than half of it is FORMERR; we
	 * accept no truncation at all, so anything in between is BADTRUNC. */
	size_t mac_len = tsig_mac_len(k->alg);
	if (rr->mac_len > mac_len || rr->mac_len < mac_len / 2)
		return NP_EMALFORMED;
	if (rr->mac_len != mac_len) {
		*tsig_error = TSIG_ERR_BADTRUNC;
		return NP_EDENIED;
	}
	if (mac_compute(k, msg, rr->start, rr->orig_id, (uint16_t)(arcount - 1), req_mac,
	                req_mac_len, &rr->vars, mac) != NP_OK) {
		ret = NP_EFAILED; /* ours, not the sender's: no TSIG error */
		goto done;
	}
	if (sodium_memcmp(mac, rr->mac, mac_len) != 0) {
		*tsig_error = TSIG_ERR_BADSIG;
		goto done;
	}
	int64_t signed_at = (int64_t)rr->vars.time_signed; /* 48 bits: no overflow */
	int64_t diff = now > signed_at ? now - signed_at : signed_at - now;
	if (diff > rr->vars.fudge) {
		*tsig_error = TSIG_ERR_BADTIME;
		goto done;
	}
	ret = NP_OK;
done:
	sodium_memzero(mac, sizeof(mac));
	return ret;
}

const char *dns_rcode_name(unsigned rcode)
{
	static const char *const names[] = {
	    "NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",   "REFUSED",
	    "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE",  NULL,
	    NULL,       NULL,      NULL,       NULL,       "BADSIG",   "BADKEY",
	    "BADTIME",  "BADMODE", "BADNAME",  "BADALG",   "BADTRUNC",
	};
	if (rcode < sizeof(names) / sizeof(names[0]) && names[rcode] != NULL)
		return names[rcode];
	return "unknown";
}
