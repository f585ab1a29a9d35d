/* SPDX-License-Identifier: MIT */
/* The dyndns2 provider: one GET /nic/update through libcurl, and the classification of the
 * answer into success, fatal (latched until the user acts) or transient (back-off). */
#include "client/client.h"
#include "common/dyndns2_code.h"
#include "common/log.h"
#include "common/str.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DYNDNS2_BODY_MAX 4096 /* an answer is one short line per host; more is not dyndns2 */

/* What the client does about each result code (common/dyndns2_code.h). */
static enum result_class class_of(enum dyndns2_class cls)
{
	switch (cls) {
	case DYNDNS2_CLASS_OK:
		return RESULT_OK;
	case DYNDNS2_CLASS_FATAL:
		return RESULT_FATAL;
	case DYNDNS2_CLASS_TRANSIENT:
		break;
	}
	return RESULT_TRANSIENT;
}

static void set(struct publish_result *out, enum result_class cls, const char *code,
                const char *message)
{
	out->cls = cls;
	np_strlcpy(out->code, code, sizeof(out->code));
	np_strlcpy(out->message, message, sizeof(out->message));
}

void dyndns2_classify(long http_status, const char *body, struct publish_result *out)
{
	char code[32];
	memset(out, 0, sizeof(*out));
	if (http_status == 401) {
		/* Servers answer 401 with or without a body; either way the credentials failed. */
		set(out, RESULT_FATAL, dyndns2_code_str(DYNDNS2_BADAUTH),
		    dyndns2_code_info(DYNDNS2_BADAUTH)->meaning);
		return;
	}
	if (http_status == 429) {
		set(out, RESULT_TRANSIENT, "http 429",
		    "the server is rate-limiting this client; waiting at least as long as it "
		    "asked");
		return;
	}
	if (http_status >= 500 && http_status <= 599) {
		snprintf(code, sizeof(code), "http %ld", http_status);
		set(out, RESULT_TRANSIENT, code, "");
		snprintf(out->message, sizeof(out->message),
		         "the server failed (HTTP %ld); retrying later with back-off", http_status);
		return;
	}
	if (http_status >= 300 && http_status <= 399) {
		snprintf(code, sizeof(code), "http %ld", http_status);
		set(out, RESULT_TRANSIENT, code,
		    "the server redirects the update URL elsewhere; the client does not follow "
		    "redirects: put the final URL in 'server'");
		return;
	}

	/* The first line: "CODE" or "CODE ADDR[,ADDR]". Only one host is ever asked for. */
	const char *p = body != NULL ? body : "";
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	size_t tlen = strcspn(p, " \t\r\n");
	enum dyndns2_code dc;
	if (dyndns2_code_parse(p, tlen, &dc)) {
		const struct dyndns2_code_info *info = dyndns2_code_info(dc);
		set(out, class_of(info->cls), info->text, info->meaning);
		if (info->cls != DYNDNS2_CLASS_OK)
			return;
		const char *a = p + tlen;
		while (*a == ' ' || *a == '\t')
			a++;
		char text[INET6_ADDRSTRLEN + 1];
		size_t alen = strcspn(a, ", \t\r\n");
		if (alen > 0 && alen < sizeof(text)) {
			memcpy(text, a, alen);
			text[alen] = '\0';
			if (addr_parse(text, &out->seen) != NP_OK)
				memset(&out->seen, 0, sizeof(out->seen));
		}
		/* "good 127.0.0.1" is how Dyn says it ignored a misbehaving client: a failure. */
		if (dc == DYNDNS2_GOOD && out->seen.family == AF_INET &&
		    out->seen.bytes[0] == 127 && out->seen.bytes[1] == 0 &&
		    out->seen.bytes[2] == 0 && out->seen.bytes[3] == 1) {
			set(out, RESULT_FATAL, "good 127.0.0.1",
			    "the server ignored the request (it answered 'good 127.0.0.1'); check "
			    "the "
			    "server URL and the account, then run 'nameplate reset HOST'");
		}
		return;
	}

	char shown[48];
	log_escape(shown, sizeof(shown), p, strcspn(p, "\r\n"));
	if (http_status >= 200 && http_status <= 299) {
		set(out, RESULT_TRANSIENT, "unexpected", "");
		snprintf(out->message, sizeof(out->message),
		         "the server's answer is not a dyndns2 result code ('%s'); retrying later "
		         "with back-off",
		         shown);
	} else {
		snprintf(code, sizeof(code), "http %ld", http_status);
		set(out, RESULT_TRANSIENT, code, "");
		snprintf(
		    out->message, sizeof(out->message),
		    "the server answered HTTP %ld ('%s'); check the server URL; retrying later "
		    "with back-off",
		    http_status, shown);
	}
}

struct body {
	char data[DYNDNS2_BODY_MAX + 1];
	size_t len;
	bool overflow;
};

static size_t body_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct body *b = userdata;
	size_t n = size * nmemb;
	if (n > DYNDNS2_BODY_MAX - b->len) {
		b->overflow = true;
		return 0; /* makes curl stop with CURLE_WRITE_ERROR */
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* What a failed transfer means for the user. All of them are transient. */
static void transfer_failed(CURLcode rc, const struct body *b, const char *errbuf,
                            struct publish_result *out)
{
	const char *code = "connect";
	const char *what = "the request failed";
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		code = "timeout";
		what = "the server did not answer in time";
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		code = "resolve";
		what = "the server's name does not resolve";
		break;
	case CURLE_COULDNT_CONNECT:
		what = "the server refused the connection or cannot be reached";
		break;
	case CURLE_WRITE_ERROR:
		if (b->overflow) {
			code = "toolarge";
			what = "the server's answer is larger than 4 KiB, so it is not dyndns2";
		}
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
		code = "tls";
		what = "the TLS connection to the server failed (certificate or handshake)";
		break;
	default:
		break;
	}
	out->cls = RESULT_TRANSIENT;
	np_strlcpy(out->code, code, sizeof(out->code));
	char detail[128];
	log_escape(detail, sizeof(detail), errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc),
	           strlen(errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc)));
	snprintf(out->message, sizeof(out->message), "%s (%s); retrying later with back-off", what,
	         detail);
}

void provider_dyndns2(const struct client_cfg *cfg, const struct host_cfg *h,
                      const struct np_addr *v4, const struct np_addr *v6,
                      struct publish_result *out)
{
	char a4[INET6_ADDRSTRLEN] = "", a6[INET6_ADDRSTRLEN] = "";
	char myip[2 * INET6_ADDRSTRLEN + 2];
	char url[CLIENT_URL_MAX + 3 * (CFG_NAME_MAX + sizeof(myip)) + 32];
	char errbuf[CURL_ERROR_SIZE] = "";
	struct body *b = NULL;
	char *ehost = NULL, *eip = NULL;
	CURL *curl = NULL;

	memset(out, 0, sizeof(*out));
	if (v4 != NULL && v4->family == AF_INET)
		addr_format(v4, a4, sizeof(a4));
	if (v6 != NULL && v6->family == AF_INET6)
		addr_format(v6, a6, sizeof(a6));
	/* Both families go explicitly in myip: a server must never fill a family in from the
	 * connection's source address, which an on-path party could choose. */
	snprintf(myip, sizeof(myip), "%s%s%s", a4, a4[0] != '\0' && a6[0] != '\0' ? "," : "", a6);
	if (myip[0] == '\0') {
		set(out, RESULT_TRANSIENT, "noaddr", "no address to publish");
		return;
	}

	b = calloc(1, sizeof(*b));
	curl = curl_easy_init();
	if (b == NULL || curl == NULL)
		goto nomem;
	ehost = curl_easy_escape(curl, h->fqdn, 0);
	eip = curl_easy_escape(curl, myip, 0);
	if (ehost == NULL || eip == NULL)
		goto nomem;
	int n = snprintf(url, sizeof(url), "%s%shostname=%s&myip=%s", h->server,
	                 strchr(h->server, '?') != NULL ? "&" : "?", ehost, eip);
	if (n < 0 || (size_t)n >= sizeof(url)) {
		set(out, RESULT_TRANSIENT, "config", "the update URL is too long");
		goto out;
	}

	long timeout = cfg->timeout > 0 ? (long)cfg->timeout : 15;
	CURLcode rc = CURLE_OK;
	rc |= curl_easy_setopt(curl, CURLOPT_URL, url);
	rc |= curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	/* Redirects are not followed: the credentials must reach only the configured server. */
	rc |= curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	rc |= curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout);
	rc |= curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, timeout);
	rc |= curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	rc |= curl_easy_setopt(curl, CURLOPT_USERNAME, h->user);
	rc |= curl_easy_setopt(curl, CURLOPT_PASSWORD, h->secret);
	rc |= curl_easy_setopt(curl, CURLOPT_USERAGENT, CLIENT_USER_AGENT);
	rc |= curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
	rc |= curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, body_write);
	rc |= curl_easy_setopt(curl, CURLOPT_WRITEDATA, b);
	rc |= curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	if (rc != CURLE_OK) {
		set(out, RESULT_TRANSIENT, "internal", "libcurl refused an option");
		goto out;
	}
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK) {
		transfer_failed(rc, b, errbuf, out);
		goto out;
	}
	long status = 0;
	curl_off_t retry_after = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	/* libcurl reads Retry-After in both forms: delta seconds and an HTTP date. */
	if (curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &retry_after) != CURLE_OK)
		retry_after = 0;
	dyndns2_classify(status, b->data, out);
	/* "good 127.0.0.1" means "ignored" only when we asked for another address: a host
	 * that really publishes 127.0.0.1 (a test, a loopback set-up) succeeded. */
	if (out->cls == RESULT_FATAL && strcmp(out->code, "good 127.0.0.1") == 0 &&
	    v4 != NULL && addr_equal(v4, &out->seen)) {
		set(out, RESULT_OK, dyndns2_code_str(DYNDNS2_GOOD),
		    dyndns2_code_info(DYNDNS2_GOOD)->meaning);
	}
	if (retry_after > 0)
		out->retry_after = retry_after > 30 * 86400 ? 30 * 86400 : (int64_t)retry_after;
	goto out;
nomem:
	set(out, RESULT_TRANSIENT, "internal", "out of memory");
out:
	curl_free(ehost);
	curl_free(eip);
	curl_easy_cleanup(curl);
	free(b);
}
