/* SPDX-License-Identifier: MIT */
/* TSIG for zone transfers (ns/xfr.h's hooks): a transfer request signed with an account's
 * TSIG key is verified here, and every message of the answer is signed, the first over the
 * request's MAC and each following one over the MAC before it (RFC 8945 5.3.1). Whether
 * the key may transfer the zone is the zone's allow_transfer list, which ns/xfr.c checks
 * with the key's name. The hooks run on the TCP threads, so keys are looked up on a read
 * connection of their own, one lookup at a time (transfers are rare). */
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "account/tsigkey.h"
#include "common/clock.h"
#include "common/log.h"
#include "dns/name.h"
#include "dns/tsig.h"
#include "update/update.h"

struct xfr_tsig {
	struct store *st;
	pthread_mutex_t mu;
	uint8_t seal[TSIGKEY_SEAL_LEN];
};

/* What signing one transfer's answers needs. */
struct xfr_sign {
	struct tsig_key key;
	uint8_t secret[TSIGKEY_SECRET_MAX];
	uint8_t mac[TSIG_MAC_LEN]; /* the request's, then the last message's */
	size_t mac_len;
	uint16_t fudge;
	unsigned sent;
};

static int key_check(void *ctx, const uint8_t *msg, size_t len, char key_name[CFG_NAME_MAX],
                     void **sign_state)
{
	struct xfr_tsig *x = ctx;
	struct tsig_rr rr;
	*sign_state = NULL;
	if (tsig_find(msg, len, &rr) != NP_OK)
		return TSIG_ERR_BADKEY;
	struct xfr_sign *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NP_ENOMEM;
	static _Thread_local struct credential cred;
	uint8_t hash[SECRET_HASH_LEN];
	pthread_mutex_lock(&x->mu);
	int ret = tsigkey_find(x->st, x->seal, rr.key_name, rr.key_name_len, &s->key, s->secret,
	                       &cred, hash);
	pthread_mutex_unlock(&x->mu);
	uint16_t terr = TSIG_ERR_BADKEY;
	/* An account that is locked, or a key past its time, transfers nothing. */
	if (ret == NP_OK && credential_usable(&cred, NULL, time_now()) == POLICY_OK &&
	    tsig_verify(&s->key, msg, len, &rr, NULL, 0, time_now(), &terr) == NP_OK &&
	    dns_name_to_text(rr.key_name, rr.key_name_len, key_name, CFG_NAME_MAX) >= 0) {
		memcpy(s->mac, rr.mac, rr.mac_len);
		s->mac_len = rr.mac_len;
		s->fudge = rr.vars.fudge;
		*sign_state = s;
		return NP_OK;
	}
	sodium_memzero(s, sizeof(*s));
	free(s);
	return terr != 0 ? terr : TSIG_ERR_BADKEY;
}

static int sign(void *ctx, void *state, uint8_t *msg, size_t *len, size_t cap)
{
	(void)ctx;
	struct xfr_sign *s = state;
	if (s == NULL)
		return NP_OK; /* an unsigned request gets an unsigned answer */
	struct tsig_vars v = {.time_signed = (uint64_t)time_now(), .fudge = s->fudge};
	uint8_t mac[TSIG_MAC_LEN];
	int ret = s->sent == 0 ? tsig_sign(&s->key, msg, len, cap, s->mac, s->mac_len, &v, mac)
	                       : tsig_sign_continued(&s->key, msg, len, cap, s->mac, s->mac_len,
	                                             &v, mac);
	if (ret == NP_OK) {
		s->mac_len = tsig_mac_len(s->key.alg);
		memcpy(s->mac, mac, s->mac_len);
		s->sent++;
	}
	return ret;
}

static void sign_end(void *ctx, void *state)
{
	(void)ctx;
	if (state != NULL) {
		sodium_memzero(state, sizeof(struct xfr_sign));
		free(state);
	}
}

int update_xfr_hooks(struct xfr_tsig **out, const struct config *cfg, struct xfr_hooks *hooks)
{
	struct xfr_tsig *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return NP_ENOMEM;
	pthread_mutex_init(&x->mu, NULL);
	int ret = tsigkey_seal_key(cfg->data_dir, true, x->seal);
	if (ret == NP_OK)
		ret = store_open_reader(cfg->data_dir, &x->st);
	if (ret != NP_OK) {
		update_xfr_hooks_free(x);
		return ret;
	}
	*hooks = (struct xfr_hooks){
	    .ctx = x, .key_check = key_check, .sign = sign, .sign_end = sign_end};
	*out = x;
	return NP_OK;
}

void update_xfr_hooks_free(struct xfr_tsig *x)
{
	if (x == NULL)
		return;
	if (x->st != NULL)
		store_close(x->st);
	sodium_memzero(x->seal, sizeof(x->seal));
	pthread_mutex_destroy(&x->mu);
	free(x);
}
