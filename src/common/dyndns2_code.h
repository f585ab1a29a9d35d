/* SPDX-License-Identifier: MIT */
/* The dyndns2 protocol's answer codes (the first word of each result line of /nic/update),
 * one table for both sides: the server writes them (http/dyndns2.c), the client reads them
 * (client/dyndns2.c). Each code has its text, what it means in plain words, what a client
 * does about it (docs/client.md, "Result codes"), and the HTTP status this server sends it
 * under. */
#ifndef NP_COMMON_DYNDNS2_CODE_H
#define NP_COMMON_DYNDNS2_CODE_H

#include <stdbool.h>
#include <stddef.h>

enum dyndns2_code {
	/* Answers this server gives (in this order: the values are stable). */
	DYNDNS2_GOOD,
	DYNDNS2_NOCHG,
	DYNDNS2_BADAUTH,
	DYNDNS2_NOTFQDN,
	DYNDNS2_NOHOST,
	DYNDNS2_NUMHOST,
	DYNDNS2_ABUSE,
	DYNDNS2_BADAGENT,
	DYNDNS2_DNSERR,
	DYNDNS2_911,
	/* Answers of other providers, which the client understands. */
	DYNDNS2_DONATOR,     /* "!donator" */
	DYNDNS2_BADSYS,      /* "badsys" */
	DYNDNS2_NOTYOURS,    /* "!yours" */
	DYNDNS2_NOTACTIVE,   /* "!active" */
	DYNDNS2_SERVERERROR, /* "servererror" */
	DYNDNS2_CODE_COUNT
};

/* What a client does about an answer. */
enum dyndns2_class {
	DYNDNS2_CLASS_OK,        /* the address is published */
	DYNDNS2_CLASS_FATAL,     /* stop the host until the user acts (the protocol's rule) */
	DYNDNS2_CLASS_TRANSIENT, /* retry later with back-off */
};

struct dyndns2_code_info {
	const char *text;       /* as on the wire: "good", "!donator", "911" ... */
	enum dyndns2_class cls; /* for clients */
	const char *meaning;    /* what the client tells the user ("HOST": the host) */
	unsigned http_status;   /* this server's status with it: 200 (a request without any
	                           * Authorization header gets 401 and "badauth"); 0: never
	                           * given by this server */
};

/* The table's entry of code; NULL for a value outside the enum. */
const struct dyndns2_code_info *dyndns2_code_info(enum dyndns2_code code);

/* The protocol text of a code ("good", "911", ...); never NULL: a value outside the enum
 * reads "911" (the answer that promises nothing: retry later). */
const char *dyndns2_code_str(enum dyndns2_code code);

/* The code whose text is exactly text[0..len) (case matters: "BADAUTH" is none). */
bool dyndns2_code_parse(const char *text, size_t len, enum dyndns2_code *out);

#endif
