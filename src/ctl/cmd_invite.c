/* SPDX-License-Identifier: MIT */
/* nameplatectl invite add: an invitation for [accounts] signup = invite. The code is shown
 * once; the store keeps its keyed hash, and sign-up uses it up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/secret.h"
#include "common/str.h"
#include "ctl/ctl.h"

#define INVITE_USAGE "invite add [--days N]"
/* How long an invitation lasts unless told otherwise, and at most. */
#define INVITE_DAYS_DEFAULT 7
#define INVITE_DAYS_MAX     365

int ctl_cmd_invite(struct ctl *c, int argc, char **argv)
{
	uint32_t days = INVITE_DAYS_DEFAULT;
	if (argc < 1 || strcmp(argv[0], "add") != 0)
		return ctl_usage(INVITE_USAGE);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--days") == 0 && i + 1 < argc) {
			if (str_to_u32(argv[++i], 1, INVITE_DAYS_MAX, &days) != NP_OK) {
				ctl_err("--days is 1..%d", INVITE_DAYS_MAX);
				return CTL_FAIL;
			}
		} else {
			return ctl_usage(INVITE_USAGE);
		}
	}
	if (secret_lib_init() != NP_OK || ctl_open(c) != CTL_OK)
		return CTL_FAIL;
	char code[SECRET_TEXT_LEN + 1];
	uint8_t hash[SECRET_HASH_LEN];
	secret_generate(code);
	secret_hash(code, SECRET_TEXT_LEN, hash);
	int64_t now = time_now(), expires = now + (int64_t)days * 86400;
	int ret = store_begin(c->st);
	if (ret == NP_OK)
		ret = store_code_add(c->st, STORE_CODE_INVITE, hash, 0, now, expires);
	if (ret == NP_OK)
		ret = store_commit(c->st);
	if (ret != NP_OK) {
		store_rollback(c->st);
		explicit_bzero(code, sizeof(code));
		ctl_err("invite add: %s", np_strerror(ret));
		return CTL_FAIL;
	}
	char when[32];
	ctl_time(expires, when, sizeof(when));
	printf("invitation valid until %s%s (one sign-up; shown only now):\n%s\n", when,
	       strcmp(c->cfg->accounts_signup, "invite") == 0 ? ""
	                                                      : " once [accounts] signup = invite",
	       code);
	explicit_bzero(code, sizeof(code));
	return CTL_OK;
}
