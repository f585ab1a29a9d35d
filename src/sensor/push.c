/* SPDX-License-Identifier: MIT */
/* The pusher: POSTs spooled batches to nameplated with libcurl, oldest first, deletes each
 * one the server took, sets aside the ones it refused, and backs off while it is away. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/macros.h"
#include "sensor/sensor.h"

#define PUSH_CONNECT_MS 5000L
#define PUSH_TIMEOUT_MS 30000L
#define BACKOFF_MIN_S   1
#define BACKOFF_MAX_S   60

struct answer {
	char text[256]; /* the start of the response body, for the log */
	size_t len;
};

static size_t body_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct answer *a = ud;
	size_t n = size * nmemb;
	size_t room = sizeof(a->text) - 1 - a->len;
	size_t take = n < room ? n : room;
	memcpy(a->text + a->len, ptr, take);
	a->len += take;
	a->text[a->len] = '\0';
	return n;
}

static int progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                    curl_off_t ulnow)
{
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	const volatile sig_atomic_t *stop = ud;
	return stop != NULL && *stop ? 1 : 0; /* non-zero aborts the transfer */
}

enum sensor_push_result sensor_push(const char *url, const char *token, const char *body,
                                    size_t len, long timeout_ms, const volatile sig_atomic_t *stop,
                                    long *status)
{
	enum sensor_push_result res = PUSH_RETRY;
	struct curl_slist *hdrs = NULL, *h;
	char auth[SENSOR_TOKEN_MAX + 32];
	char errbuf[CURL_ERROR_SIZE] = "";
	struct answer ans = {.len = 0};
	*status = 0;

	CURL *curl = curl_easy_init();
	if (curl == NULL)
		return PUSH_RETRY;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	const char *const headers[] = {auth, "Content-Type: application/json", "Expect:"};
	for (size_t i = 0; i < ARRAY_SIZE(headers); i++) {
		h = curl_slist_append(hdrs, headers[i]);
		if (h == NULL)
			goto out;
		hdrs = h;
	}
	long connect_ms = timeout_ms < PUSH_CONNECT_MS ? timeout_ms : PUSH_CONNECT_MS;
	CURLcode rc = CURLE_OK;
	rc |= curl_easy_setopt(curl, CURLOPT_URL, url);
	rc |= curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	rc |= curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	rc |= curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	rc |= curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	rc |= curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	rc |= curl_easy_setopt(curl, CURLOPT_POST, 1L);
	rc |= curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	rc |= curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	rc |= curl_easy_setopt(curl, CURLOPT_USERAGENT, "nameplate-sensor/1");
	rc |= curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, body_write);
	rc |= curl_easy_setopt(curl, CURLOPT_WRITEDATA, &ans);
	rc |= curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	rc |= curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	rc |= curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, progress);
	rc |= curl_easy_setopt(curl, CURLOPT_XFERINFODATA, (void *)stop);
	if (rc != CURLE_OK) {
		log_err("push: libcurl refused an option");
		goto out;
	}
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK) {
		log_warn("push to %s failed: %s", url,
		         errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
	char esc[sizeof(ans.text)];
	log_escape(esc, sizeof(esc), ans.text, ans.len);
	if (*status >= 200 && *status < 300) {
		res = PUSH_OK;
		log_debug("push: %ld %s", *status, esc);
	} else if (*status == 400 || *status == 401 || *status == 403 || *status == 413) {
		res = PUSH_REJECT;
		log_err("push: the server refused the batch (%ld): %s", *status, esc);
	} else {
		log_warn("push: the server answered %ld: %s", *status, esc);
	}
out:
	memset(auth, 0, sizeof(auth));
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(curl);
	return res;
}

/* Pushes one spooled batch; PUSH_OK also when it vanished (the size cap dropped it). */
static enum sensor_push_result push_file(struct sensor *s, const char *name, long timeout_ms,
                                         const volatile sig_atomic_t *stop)
{
	char *data;
	size_t len;
	int r = sensor_spool_read(&s->spool, name, &data, &len);
	if (r == NP_ENOTFOUND)
		return PUSH_OK;
	if (r != NP_OK) {
		log_err("spool: cannot read %s: %s; setting it aside", name, np_strerror(r));
		sensor_spool_reject(&s->spool, name);
		return PUSH_REJECT;
	}
	long status;
	enum sensor_push_result res =
	    sensor_push(s->cfg->url, s->cfg->token, data, len, timeout_ms, stop, &status);
	free(data);
	if (res == PUSH_OK) {
		log_info("pushed %s", name);
		sensor_spool_done(&s->spool, name);
	} else if (res == PUSH_REJECT) {
		log_err("batch %s moved to rejected/ (HTTP %ld): it is never retried", name,
		        status);
		sensor_spool_reject(&s->spool, name);
	}
	return res;
}

/* Sleeps up to seconds, waking early when the pusher is told to stop. */
static void nap(struct sensor *s, unsigned seconds)
{
	for (unsigned i = 0; i < seconds * 10 && !s->stop_push; i++) {
		struct timespec ts = {0, 100000000L};
		nanosleep(&ts, NULL);
	}
}

void *sensor_pusher_run(void *arg)
{
	struct sensor *s = arg;
	unsigned backoff = 0;
	char **names = NULL;
	size_t n = 0, next = 0;

	while (!s->stop_push) {
		if (next >= n) {
			sensor_spool_list_free(names, n);
			names = NULL;
			n = next = 0;
			unsigned seq = sensor_spool_seq(&s->spool);
			if (sensor_spool_list(&s->spool, &names, &n) != NP_OK) {
				nap(s, 1);
				continue;
			}
			if (n == 0) {
				sensor_spool_wait(&s->spool, seq, 500);
				continue;
			}
		}
		enum sensor_push_result r =
		    push_file(s, names[next], PUSH_TIMEOUT_MS, &s->stop_push);
		if (r == PUSH_RETRY) {
			if (s->stop_push)
				break;
			backoff = backoff == 0
			              ? BACKOFF_MIN_S
			              : (backoff * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : backoff * 2);
			log_info("push: retrying in %u s", backoff);
			nap(s, backoff);
			continue;
		}
		backoff = 0;
		next++;
	}
	sensor_spool_list_free(names, n);
	return NULL;
}

void sensor_push_final(struct sensor *s, long budget_ms)
{
	int64_t deadline = time_mono_ms() + budget_ms;
	char **names;
	size_t n, sent = 0;
	if (sensor_spool_list(&s->spool, &names, &n) != NP_OK)
		return;
	for (; sent < n; sent++) {
		long left = (long)(deadline - time_mono_ms());
		if (left <= 0 || push_file(s, names[sent], left, NULL) == PUSH_RETRY)
			break;
	}
	sensor_spool_list_free(names, n);
	if (sent < n)
		log_info("stopping with %zu batches in the spool %s (sent at the next start)",
		         n - sent, s->cfg->spool_dir);
}
