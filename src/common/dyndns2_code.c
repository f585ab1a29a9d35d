/* SPDX-License-Identifier: MIT */
/* The dyndns2 answer codes, for the server that writes them and the client that reads them. */
#include "common/dyndns2_code.h"

#include <string.h>

#include "common/macros.h"

static const struct dyndns2_code_info codes[DYNDNS2_CODE_COUNT] = {
    [DYNDNS2_GOOD] = {"good", DYNDNS2_CLASS_OK, "the server accepted the new address", 200},
    [DYNDNS2_NOCHG] = {"nochg", DYNDNS2_CLASS_OK, "the server already had this address", 200},
    [DYNDNS2_BADAUTH] = {"badauth", DYNDNS2_CLASS_FATAL,
                         "the server refused the user name or secret; fix them, then run "
                         "'nameplate reset HOST'",
                         200},
    [DYNDNS2_NOTFQDN] = {"notfqdn", DYNDNS2_CLASS_FATAL,
                         "the server says the host name is not a fully qualified domain name; "
                         "fix the [host] section, then run 'nameplate reset HOST'",
                         200},
    [DYNDNS2_NOHOST] = {"nohost", DYNDNS2_CLASS_FATAL,
                        "the server knows no such host in this account; check the host name "
                        "and the user, then run 'nameplate reset HOST'",
                        200},
    [DYNDNS2_NUMHOST] = {"numhost", DYNDNS2_CLASS_FATAL,
                         "the server refused the number of hosts or a round-robin host; fix "
                         "the host at the provider, then run 'nameplate reset HOST'",
                         200},
    [DYNDNS2_ABUSE] = {"abuse", DYNDNS2_CLASS_FATAL,
                       "the server blocked this host for update abuse; ask the provider to "
                       "unblock it, then run 'nameplate reset HOST'",
                       200},
    [DYNDNS2_BADAGENT] = {"badagent", DYNDNS2_CLASS_FATAL,
                          "the server refused this client (user agent or request method); the "
                          "client stays stopped until 'nameplate reset HOST'",
                          200},
    [DYNDNS2_DNSERR] = {"dnserr", DYNDNS2_CLASS_TRANSIENT,
                        "the server's DNS back end failed; retrying later with back-off", 200},
    [DYNDNS2_911] = {"911", DYNDNS2_CLASS_TRANSIENT,
                     "the server reports a problem or maintenance on its side; retrying later "
                     "with back-off",
                     200},
    [DYNDNS2_DONATOR] = {"!donator", DYNDNS2_CLASS_FATAL,
                         "the server says the request needs a paid account; run 'nameplate "
                         "reset HOST' once the account allows it",
                         0},
    [DYNDNS2_BADSYS] = {"badsys", DYNDNS2_CLASS_FATAL,
                        "the server refused the request's system parameter; check the server "
                        "URL, then run 'nameplate reset HOST'",
                        0},
    [DYNDNS2_NOTYOURS] = {"!yours", DYNDNS2_CLASS_FATAL,
                          "the host belongs to another account; check the user, then run "
                          "'nameplate reset HOST'",
                          0},
    [DYNDNS2_NOTACTIVE] = {"!active", DYNDNS2_CLASS_FATAL,
                           "the provider has not activated this zone yet; run 'nameplate reset "
                           "HOST' once it is",
                           0},
    [DYNDNS2_SERVERERROR] = {"servererror", DYNDNS2_CLASS_TRANSIENT,
                             "the server reports an internal error; retrying later with "
                             "back-off",
                             0},
};

const struct dyndns2_code_info *dyndns2_code_info(enum dyndns2_code code)
{
	if ((unsigned)code >= ARRAY_SIZE(codes))
		return NULL;
	return &codes[code];
}

const char *dyndns2_code_str(enum dyndns2_code code)
{
	const struct dyndns2_code_info *c = dyndns2_code_info(code);
	return c != NULL ? c->text : codes[DYNDNS2_911].text;
}

bool dyndns2_code_parse(const char *text, size_t len, enum dyndns2_code *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(codes); i++) {
		if (strlen(codes[i].text) == len && memcmp(text, codes[i].text, len) == 0) {
			*out = (enum dyndns2_code)i;
			return true;
		}
	}
	return false;
}
