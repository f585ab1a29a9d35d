/* SPDX-License-Identifier: MIT */
/* The mail thread: sends the outbox through the SMTP relay with libcurl, one mail at a
 * time, and records each outcome through the writer (sent: the row goes; failed: attempts
 * + 1 and the next try after a doubling back-off). Delivery is at least once: a crash
 * between the relay's acceptance and the commit of "sent" sends that mail again. */
#include "core/mailer.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/secret.h"

/* Longest wait between looks at the outbox (a mail added by another process, e.g. the
 * owners' job, is picked up at least this often even without a poke). */
#define MAIL_POLL_MAX 60
/* Mails fetched per look: the rest wait for the next round. */
#define MAIL_BATCH 16
/* How often expired checks are purged (from this thread's loop). */
#define MAIL_EXPIRE_EVERY    60
/* How often the outbox's size and age are logged (at start, then while mail waits). */
#define MAIL_STATS_EVERY 3600
#define MAIL_CONNECT_TIMEOUT 10
#define MAIL_TOTAL_TIMEOUT   60
/* On stop, a mail being sent gets this long to finish; then the transfer is aborted and
 * the mail stays due in the outbox, so a silent relay cannot hold up shutdown. */
#define MAIL_STOP_GRACE_MS 2000
/* A password file longer than this is refused. */
#define MAIL_PASSWORD_MAX 512

struct mailer {
	const struct config *cfg;
	struct writer *w;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond; /* pokes and stop */
	bool poked, stopping;
	int64_t stop_at_ms; /* monotonic time of the stop request, under mu */
	char password[MAIL_PASSWORD_MAX + 1];
	bool has_password;
	int64_t last_expire;
	int64_t last_stats; /* 0: not logged yet */
};

/* ---- writer operations, run synchronously from the mail thread ---- */

enum mail_op_kind { OP_NEXT, OP_DUE, OP_SENT, OP_RETRY };

struct mail_op {
	struct writer_op op;
	enum mail_op_kind kind;
	int64_t now;
	bool expire;
	/* OP_NEXT */
	bool have_next;
	int64_t next;
	bool stats; /* also read the outbox's size and oldest row */
	unsigned outbox;
	int64_t oldest;
	/* OP_DUE: copies of the due rows */
	struct store_mail rows[MAIL_BATCH];
	size_t n;
	/* OP_SENT, OP_RETRY */
	int64_t id;
	unsigned attempts;
	int64_t next_try;
	const char *error;
};

static int copy_row(const struct store_mail *row, void *ctx)
{
	struct mail_op *o = ctx;
	if (o->n == MAIL_BATCH)
		return 1;
	struct store_mail *m = &o->rows[o->n];
	*m = *row;
	m->subject = strdup(row->subject);
	m->body = strdup(row->body);
	if (m->subject == NULL || m->body == NULL) {
		store_mail_free(m);
		return NP_ENOMEM;
	}
	o->n++;
	return 0;
}

static int op_apply(struct writer_op *op, struct writer_txn *txn)
{
	struct mail_op *o = container_of(op, struct mail_op, op);
	struct store *st = writer_txn_store(txn);
	int ret = NP_OK;
	switch (o->kind) {
	case OP_NEXT:
		if (o->expire)
			ret = store_check_expire(st, o->now);
		if (ret == NP_OK) {
			ret = store_mail_next(st, &o->next);
			o->have_next = ret == NP_OK;
			if (ret == NP_ENOTFOUND)
				ret = NP_OK;
		}
		if (ret == NP_OK && o->stats)
			ret = store_mail_stats(st, &o->outbox, &o->oldest);
		break;
	case OP_DUE:
		ret = store_mail_due(st, o->now, MAIL_BATCH, copy_row, o);
		if (ret == 1)
			ret = NP_OK;
		break;
	case OP_SENT:
		ret = store_mail_sent(st, o->id);
		if (ret == NP_ENOTFOUND)
			ret = NP_OK; /* gone already: nothing to undo */
		break;
	case OP_RETRY:
		ret = store_mail_retry(st, o->id, o->attempts, o->next_try, o->error);
		if (ret == NP_ENOTFOUND)
			ret = NP_OK;
		break;
	}
	return ret;
}

static void wait_until(struct mailer *m, int64_t mono_ms)
{
	struct timespec ts = {.tv_sec = mono_ms / 1000, .tv_nsec = (mono_ms % 1000) * 1000000};
	pthread_cond_timedwait(&m->cond, &m->mu, &ts);
}

/* Runs o on the writer and waits for its outcome; a full queue is retried for up to 30 s. */
static int run_op(struct mailer *m, struct mail_op *o)
{
	o->op.apply = op_apply;
	return writer_run(m->w, &o->op, 30000);
}

/* ---- the message ---- */

struct msg {
	char *p;
	size_t len, cap, off;
	bool err;
};

static void msg_add(struct msg *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap > 0 ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->err = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void msg_puts(struct msg *b, const char *s)
{
	msg_add(b, s, strlen(s));
}

/* A header value on one line: control characters (CR, LF, ...) become spaces. */
static void msg_header(struct msg *b, const char *name, const char *value)
{
	msg_puts(b, name);
	msg_puts(b, ": ");
	for (const char *p = value; *p != '\0'; p++) {
		char c = (unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p;
		msg_add(b, &c, 1);
	}
	msg_puts(b, "\r\n");
}

static bool is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* Subject as RFC 2047 encoded words ("=?UTF-8?B?...?="), each at most 45 bytes of text so
 * that a folded line stays under 78 characters, cut only between UTF-8 characters. */
static void msg_subject(struct msg *b, const char *subject)
{
	if (is_ascii(subject)) {
		msg_header(b, "Subject", subject);
		return;
	}
	msg_puts(b, "Subject:");
	size_t len = strlen(subject), i = 0;
	while (i < len) {
		size_t n = len - i > 45 ? 45 : len - i;
		while (n > 1 && i + n < len && ((unsigned char)subject[i + n] & 0xc0) == 0x80)
			n--;
		char enc[64 + 4];
		sodium_bin2base64(enc, sizeof(enc), (const unsigned char *)subject + i, n,
		                  sodium_base64_VARIANT_ORIGINAL);
		msg_puts(b, i == 0 ? " =?UTF-8?B?" : "\r\n =?UTF-8?B?");
		msg_puts(b, enc);
		msg_puts(b, "?=");
		i += n;
	}
	msg_puts(b, "\r\n");
}

/* RFC 5322 date in UTC, with English names whatever the locale. */
static void rfc5322_date(int64_t t, char *out, size_t len)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	time_t tt = (time_t)t;
	if (gmtime_r(&tt, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(out, len, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7],
	         tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	         tm.tm_sec);
}

/* The whole message: headers, a blank line, the body with CRLF line ends. */
static int build_message(const struct config *cfg, const struct store_mail *ml, struct msg *b)
{
	char date[64], mid[128], rnd[33];
	uint8_t raw[16];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(rnd, sizeof(rnd), raw, sizeof(raw));
	const char *at = strchr(cfg->mail_from, '@');
	snprintf(mid, sizeof(mid), "<%s@%s>", rnd, at != NULL ? at + 1 : "nameplate.invalid");
	rfc5322_date(time_now(), date, sizeof(date));

	msg_header(b, "From", cfg->mail_from);
	msg_header(b, "To", ml->rcpt);
	msg_subject(b, ml->subject);
	msg_header(b, "Date", date);
	msg_header(b, "Message-ID", mid);
	msg_header(b, "MIME-Version", "1.0");
	msg_header(b, "Content-Type", "text/plain; charset=utf-8");
	msg_header(b, "Content-Transfer-Encoding", "8bit");
	msg_header(b, "Auto-Submitted", "auto-generated");
	msg_puts(b, "\r\n");
	/* Line ends become CRLF; a stray CR is dropped. curl does the dot-stuffing. */
	const char *p = ml->body;
	while (*p != '\0') {
		size_t n = strcspn(p, "\r\n");
		msg_add(b, p, n);
		p += n;
		if (*p == '\r') {
			p++;
			continue;
		}
		if (*p == '\n') {
			msg_puts(b, "\r\n");
			p++;
		}
	}
	if (b->len < 2 || memcmp(b->p + b->len - 2, "\r\n", 2) != 0)
		msg_puts(b, "\r\n");
	return b->err ? NP_ENOMEM : NP_OK;
}

static size_t read_msg(char *buf, size_t size, size_t nitems, void *ctx)
{
	struct msg *b = ctx;
	size_t n = size * nitems;
	if (n > b->len - b->off)
		n = b->len - b->off;
	memcpy(buf, b->p + b->off, n);
	b->off += n;
	return n;
}

static bool stopping(struct mailer *m)
{
	pthread_mutex_lock(&m->mu);
	bool s = m->stopping;
	pthread_mutex_unlock(&m->mu);
	return s;
}

/* libcurl calls this at least once a second during a transfer; nonzero aborts it. */
static int abort_on_stop(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                         curl_off_t ulnow)
{
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	struct mailer *m = ctx;
	pthread_mutex_lock(&m->mu);
	bool cut = m->stopping && time_mono_ms() - m->stop_at_ms >= MAIL_STOP_GRACE_MS;
	pthread_mutex_unlock(&m->mu);
	return cut;
}

/* Sends one mail. NP_OK when the relay accepted it, NP_ECANCELED when stopping cut it
 * short; otherwise err says why. */
static int send_mail(struct mailer *m, const struct store_mail *ml, char *err, size_t errlen)
{
	const struct config *cfg = m->cfg;
	struct msg b = {0};
	struct curl_slist *rcpt = NULL;
	CURL *h = NULL;
	char from[sizeof(cfg->mail_from) + 2], to[STORE_MAIL_RCPT_MAX + 2];
	char cerr[CURL_ERROR_SIZE] = "";
	int ret = NP_ENOMEM;
	err[0] = '\0';

	if (build_message(cfg, ml, &b) != NP_OK)
		goto fail;
	snprintf(from, sizeof(from), "<%s>", cfg->mail_from);
	snprintf(to, sizeof(to), "<%s>", ml->rcpt);
	rcpt = curl_slist_append(NULL, to);
	h = curl_easy_init();
	if (rcpt == NULL || h == NULL)
		goto fail;
	long ssl = strcmp(cfg->mail_tls, "require") == 0 ? (long)CURLUSESSL_ALL
	           : strcmp(cfg->mail_tls, "none") == 0  ? (long)CURLUSESSL_NONE
	                                                 : (long)CURLUSESSL_TRY;
	CURLcode rc = CURLE_OK;
	rc |= curl_easy_setopt(h, CURLOPT_URL, cfg->mail_relay);
	rc |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	rc |= curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
	rc |= curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	rc |= curl_easy_setopt(h, CURLOPT_READFUNCTION, read_msg);
	rc |= curl_easy_setopt(h, CURLOPT_READDATA, &b);
	rc |= curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	rc |= curl_easy_setopt(h, CURLOPT_USE_SSL, ssl);
	rc |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)MAIL_CONNECT_TIMEOUT);
	rc |= curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)MAIL_TOTAL_TIMEOUT);
	rc |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	rc |= curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, abort_on_stop);
	rc |= curl_easy_setopt(h, CURLOPT_XFERINFODATA, m);
	rc |= curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	if (cfg->mail_username[0] != '\0') {
		rc |= curl_easy_setopt(h, CURLOPT_USERNAME, cfg->mail_username);
		if (m->has_password)
			rc |= curl_easy_setopt(h, CURLOPT_PASSWORD, m->password);
	}
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "cannot set up libcurl");
		ret = NP_EFAILED;
		goto fail;
	}
	rc = curl_easy_perform(h);
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		snprintf(err, errlen, "stopped while sending");
		ret = NP_ECANCELED;
		goto fail;
	}
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s", cerr[0] != '\0' ? cerr : curl_easy_strerror(rc));
		ret = NP_EIO;
		goto fail;
	}
	ret = NP_OK;
fail:
	if (ret == NP_ENOMEM && err[0] == '\0')
		snprintf(err, errlen, "out of memory");
	curl_easy_cleanup(h);
	curl_slist_free_all(rcpt);
	if (b.p != NULL)
		sodium_memzero(b.p, b.cap);
	free(b.p);
	return ret;
}

/* ---- the thread ---- */

static int64_t backoff(const struct config *cfg, unsigned attempts)
{
	uint64_t d = cfg->mail_retry_min;
	for (unsigned i = 0; i < attempts && d < cfg->mail_retry_max; i++)
		d *= 2;
	return (int64_t)(d < cfg->mail_retry_max ? d : cfg->mail_retry_max);
}

/* Sends what is due now; returns whether a full batch was taken (more may be due). */
static bool send_due(struct mailer *m, int64_t now)
{
	struct mail_op due = {.kind = OP_DUE, .now = now};
	int ret = run_op(m, &due);
	if (ret != NP_OK) {
		log_warn("mail: cannot read the outbox: %s", np_strerror(ret));
		for (size_t i = 0; i < due.n; i++)
			store_mail_free(&due.rows[i]);
		return false;
	}
	for (size_t i = 0; i < due.n; i++) {
		struct store_mail *ml = &due.rows[i];
		char err[CURL_ERROR_SIZE + 64];
		/* Finish the current mail on stop (within MAIL_STOP_GRACE_MS), start no new one. */
		if (stopping(m)) {
			store_mail_free(ml);
			continue;
		}
		struct mail_op res = {.id = ml->id};
		bool rcpt_ok = config_mail_check(ml->rcpt);
		int sent = rcpt_ok ? send_mail(m, ml, err, sizeof(err)) : NP_EINVAL;
		if (sent == NP_ECANCELED) {
			/* Not a failed attempt: the mail stays due as it was, for the next start. */
			log_info("mail: mail %lld left in the outbox for the next start",
			         (long long)ml->id);
			store_mail_free(ml);
			continue;
		}
		if (!rcpt_ok) {
			/* Cannot ever be sent: drop it rather than retry forever. */
			log_err("mail: dropping mail %lld: bad recipient address",
			        (long long)ml->id);
			res.kind = OP_SENT;
		} else if (sent == NP_OK) {
			log_info("mail: sent mail %lld (attempt %u)", (long long)ml->id,
			         ml->attempts + 1);
			res.kind = OP_SENT;
		} else {
			res.kind = OP_RETRY;
			res.attempts = ml->attempts + 1;
			res.next_try = time_now() + backoff(m->cfg, ml->attempts);
			res.error = err;
			char esc[sizeof(err) * 2];
			log_warn("mail: mail %lld not accepted (attempt %u, next in %llds): %s",
			         (long long)ml->id, res.attempts,
			         (long long)(res.next_try - time_now()),
			         log_escape(esc, sizeof(esc), err, strlen(err)));
		}
		ret = run_op(m, &res);
		if (ret != NP_OK)
			log_err("mail: cannot record the outcome of mail %lld: %s (it may be sent "
			        "again)",
			        (long long)ml->id, np_strerror(ret));
		store_mail_free(ml);
	}
	return due.n == MAIL_BATCH;
}

static void *mail_main(void *arg)
{
	struct mailer *m = arg;
	/* Bounded by the stop flag; each round waits at most MAIL_POLL_MAX seconds. */
	while (!stopping(m)) {
		pthread_mutex_lock(&m->mu);
		m->poked = false;
		pthread_mutex_unlock(&m->mu);

		int64_t now = time_now();
		struct mail_op next = {.kind = OP_NEXT, .now = now};
		next.expire = now - m->last_expire >= MAIL_EXPIRE_EVERY;
		next.stats = m->last_stats == 0 || now - m->last_stats >= MAIL_STATS_EVERY;
		int ret = run_op(m, &next);
		if (ret == NP_OK && next.expire)
			m->last_expire = now;
		if (ret == NP_OK && next.stats) {
			/* Once at start, then hourly while mail waits: a relay that takes nothing
			 * shows in the log long before the outbox reaches [check] outbox_max. */
			if (m->last_stats == 0 || next.outbox > 0)
				log_info("mail: outbox: %u unsent mails, the oldest %llds old",
				         next.outbox,
				         next.outbox > 0 ? (long long)(now - next.oldest) : 0LL);
			m->last_stats = now;
		}
		int64_t wait_s = MAIL_POLL_MAX;
		if (ret != NP_OK) {
			log_warn("mail: cannot read the outbox: %s", np_strerror(ret));
		} else if (next.have_next && next.next <= now) {
			if (send_due(m, now))
				continue;
			/* Not at once: if recording an outcome failed, the same mail is still
			 * due, and the relay must not be hammered. A poke still wakes it. */
			wait_s = 1;
		} else if (next.have_next && next.next - now < wait_s) {
			wait_s = next.next - now;
		}
		int64_t deadline = time_mono_ms() + wait_s * 1000;
		pthread_mutex_lock(&m->mu);
		while (!m->poked && !m->stopping && time_mono_ms() < deadline)
			wait_until(m, deadline);
		pthread_mutex_unlock(&m->mu);
	}
	return NULL;
}

/* ---- start and stop ---- */

/* The relay's password, from a file that passes the rule of every secret file
 * (common/secret.h): the password is as good as the relay account. */
static int read_password(struct mailer *m, const char *path)
{
	/* Room for the longest password and a CRLF line end. */
	char buf[MAIL_PASSWORD_MAX + 3], why[PATH_MAX + 128];
	size_t n = 0;
	int ret = secret_file_read(path, "password_file", "the password on one line", buf,
	                           sizeof(buf), &n, why, sizeof(why));
	if (ret != NP_OK) {
		log_err("mail: %s", why);
	} else if (n > MAIL_PASSWORD_MAX) {
		log_err("mail: password_file %s: the password is too long", path);
		ret = NP_EINVAL;
	} else {
		memcpy(m->password, buf, n + 1);
		m->has_password = true;
	}
	sodium_memzero(buf, sizeof(buf));
	return ret;
}

int mailer_start(struct mailer **out, const struct config *cfg, struct writer *w)
{
	*out = NULL;
	if (cfg->mail_relay[0] == '\0')
		return NP_OK;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_err("mail: cannot initialise libcurl");
		return NP_EFAILED;
	}
	struct mailer *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NP_ENOMEM;
	m->cfg = cfg;
	m->w = w;
	int ret = NP_OK;
	if (cfg->mail_password_file[0] != '\0')
		ret = read_password(m, cfg->mail_password_file);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (ret == NP_OK && pthread_create(&m->thread, NULL, mail_main, m) != 0) {
		log_err("mail: cannot start the thread");
		ret = NP_EFAILED;
	}
	if (ret != NP_OK) {
		pthread_cond_destroy(&m->cond);
		pthread_mutex_destroy(&m->mu);
		sodium_memzero(m->password, sizeof(m->password));
		free(m);
		return ret;
	}
	log_info("mail: sending through %s", cfg->mail_relay);
	*out = m;
	return NP_OK;
}

void mailer_stop(struct mailer *m)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->mu);
	m->stopping = true;
	m->stop_at_ms = time_mono_ms();
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->mu);
	pthread_join(m->thread, NULL);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->mu);
	sodium_memzero(m->password, sizeof(m->password));
	free(m);
}

void mailer_poke(struct mailer *m)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->mu);
	m->poked = true;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->mu);
}
