/* SPDX-License-Identifier: MIT */
/* The web UI's pages, apart from any connection: each is rendered from what the API's
 * handlers answered (their JSON, as in docs/api.md) into templates/web_*.html, every value
 * escaped by the template renderer. web.c runs the handlers and sends the pages; the unit
 * tests render each page from sample answers. */
#ifndef NP_HTTP_WEB_PAGE_H
#define NP_HTTP_WEB_PAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"

/* The largest page the web UI makes (a full history table is far below it). */
#define WEB_PAGE_MAX (512 * 1024)

/* Who is signed in, for the navigation: NULL on the public pages. csrf is the value every
 * form of the page carries. */
struct web_nav {
	const char *user;
	bool admin;
	const char *csrf;
};

/* Every function appends the whole page to b (b->err set when it failed). */
void web_page_message(struct buf *b, const struct web_nav *nav, const char *title, const char *text,
                      const char *back, const char *back_text, bool error);
void web_page_home(struct buf *b, const struct web_nav *nav, bool signup);
void web_page_login(struct buf *b, const char *csrf, const char *username, const char *error,
                    bool signup);
/* The public abuse report form (GET/POST /abuse), with what was typed and an error. */
void web_page_abuse(struct buf *b, const char *csrf, const char *hostname, const char *evidence,
                    const char *contact, const char *error);
/* mode: [accounts] signup ("open" or "invite"). */
void web_page_signup(struct buf *b, const char *csrf, const char *mode, const char *username,
                     const char *email, const char *error);
void web_page_confirm(struct buf *b, const char *csrf, const char *code);
/* hosts: GET /hosts's answer; zones: the zones' names, comma separated. */
void web_page_hosts(struct buf *b, const struct web_nav *nav, const json_t *hosts,
                    const char *zones);
/* host: GET /hosts/FQDN's answer; history: GET /hosts/FQDN/history's; audit: GET
 * /hosts/FQDN/audit's (NULL: none shown); abuse: GET /hosts/FQDN/abuse's (NULL, or ok
 * without a log: not shown). */
void web_page_host(struct buf *b, const struct web_nav *nav, const json_t *host,
                   const json_t *history, const json_t *audit, const json_t *abuse);
/* token: POST /tokens's answer (with the secret); base: the server's URL
 * ("http://host:port"), user: the account. */
void web_page_settings(struct buf *b, const struct web_nav *nav, const json_t *token,
                       const char *fqdn, const char *base, const char *user);
/* tokens: GET /tokens's answer (sign-ins are left out). */
void web_page_tokens(struct buf *b, const struct web_nav *nav, const json_t *tokens);
void web_page_token_made(struct buf *b, const struct web_nav *nav, const json_t *token);
/* A TSIG key just made: its key file (shown once) and how to use it. */
void web_page_tsig_made(struct buf *b, const struct web_nav *nav, const json_t *key);
/* account: GET /account's; totp: GET /account/totp's (qr: its URI's QR code as SVG, or
 * NULL); tokens: GET /tokens's (the sign-ins are shown). */
void web_page_account(struct buf *b, const struct web_nav *nav, const json_t *account,
                      const json_t *totp, const char *qr, const json_t *tokens);
/* users: GET /admin/users's answer. */
void web_page_admin(struct buf *b, const struct web_nav *nav, const json_t *users);
/* tickets: GET /api/v1/admin/tickets's answer; t: GET /api/v1/admin/tickets/ID's. */
void web_page_tickets(struct buf *b, const struct web_nav *nav, const json_t *tickets);
void web_page_ticket(struct buf *b, const struct web_nav *nav, const json_t *t);

/* A policy in words ("names a.example.org; types A, AAAA; ..."), into out. */
void web_policy_text(const json_t *policy, char *out, size_t len);

#endif
