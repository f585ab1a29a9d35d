/* SPDX-License-Identifier: MIT */
/* The DDNS owners' watch: a thread that, every [check] owner_interval, walks the owned hosts
 * in pages (one writer operation each), rebuilds from the update history which address
 * each host held when in the last 24 hours, asks the observation index for the verdict over
 * each of those intervals, and keeps the incidents table in step: open (and mail the owner
 * once), update, or close. */
#include "core/owners.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/str.h"
#include "observe/codec.h"
#include "store/incident.h"

/* Hosts per writer operation, and how long one may hold the writer: an op stops at
 * whichever comes first and the next one goes on from there. */
#define OWNERS_PAGE      1000
#define OWNERS_BUDGET_MS 200
/* Pages per scan: with OWNERS_PAGE hosts each, a bound far above any real deployment. */
#define OWNERS_MAX_PAGES 100000
/* The first scan runs this long after start (or after owner_interval when shorter). */
#define OWNERS_FIRST_S 5
/* Per host: history rows read for one day, addresses held at once, intervals kept, and open
 * incidents looked at in one run. Beyond these a host's data is cut (and logged); a host
 * that changes address thousands of times a day is not a home connection. */
#define OWNERS_HISTORY_ROWS 4096
#define OWNERS_HELD_MAX     16
#define OWNERS_INTERVALS    128
#define OWNERS_OPEN_MAX     64

struct interval {
	struct np_addr a;
	int64_t from, to;
};

/* One address a host held that the index flags, with the interval that decided. */
struct flagged {
	struct np_addr a;
	char text[INET6_ADDRSTRLEN];
	int64_t from, to;
	struct obs_verdict v;
};

/* The working state of one host, reused (it is large) by the one op in flight. */
struct host_scan {
	int64_t wstart, now;
	struct {
		struct np_addr a;
		int64_t since;
	} held[OWNERS_HELD_MAX];
	size_t n_held;
	struct interval iv[OWNERS_INTERVALS];
	size_t n_iv;
	bool cut;
	struct flagged flag[OWNERS_INTERVALS];
	size_t n_flag;
	struct store_rr rrs[ZONE_MAX_RRS_PER_NODE];
	struct store_incident open[OWNERS_OPEN_MAX];
	size_t n_open;
};

struct owners {
	const struct config *cfg;
	struct writer *w;
	struct observer *obs;
	struct mailer *mail;

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* stopping */
	bool stopping, started;

	/* The op in flight and what it reports (written by its apply on the writer thread). */
	struct writer_op op;
	int64_t cursor;  /* the last host id handled */
	bool more;       /* the page or the budget ended before the hosts did */
	unsigned mailed; /* mails added by the op */
	unsigned opened, closed;
	struct store_owned_host page[OWNERS_PAGE];
	struct host_scan scan;
};

/* ---- intervals from the history ---- */

static void emit(struct host_scan *s, const struct np_addr *a, int64_t since, int64_t until)
{
	int64_t from = since > s->wstart ? since : s->wstart;
	if (until < from)
		return; /* held and given up before the window */
	if (s->n_iv == OWNERS_INTERVALS) {
		s->cut = true;
		return;
	}
	s->iv[s->n_iv++] = (struct interval){*a, from, until};
}

/* Parses a "v4,v6" list; bad items are skipped (history text is informative). */
static size_t parse_list(const char *text, struct np_addr *out, size_t max)
{
	size_t n = 0;
	while (*text != '\0' && n < max) {
		size_t len = strcspn(text, ",");
		char buf[INET6_ADDRSTRLEN];
		if (len > 0 && len < sizeof(buf)) {
			memcpy(buf, text, len);
			buf[len] = '\0';
			if (addr_parse(buf, &out[n]) == NP_OK)
				n++;
		}
		text += len;
		if (*text == ',')
			text++;
	}
	return n;
}

/* The host now holds exactly set[0..n) from time t: what it gave up ends there, what is
 * new starts there. */
static void hold(struct host_scan *s, const struct np_addr *set, size_t n, int64_t t)
{
	for (size_t i = 0; i < s->n_held;) {
		bool kept = false;
		for (size_t j = 0; j < n && !kept; j++)
			kept = addr_equal(&s->held[i].a, &set[j]);
		if (kept) {
			i++;
			continue;
		}
		emit(s, &s->held[i].a, s->held[i].since, t);
		s->held[i] = s->held[--s->n_held];
	}
	for (size_t j = 0; j < n; j++) {
		bool have = false;
		for (size_t i = 0; i < s->n_held && !have; i++)
			have = addr_equal(&s->held[i].a, &set[j]);
		if (have)
			continue;
		if (s->n_held == OWNERS_HELD_MAX) {
			s->cut = true;
			continue;
		}
		s->held[s->n_held].a = set[j];
		s->held[s->n_held++].since = t;
	}
}

static int history_row(int64_t t, const char *new_addr, void *ctx)
{
	struct host_scan *s = ctx;
	struct np_addr set[OWNERS_HELD_MAX];
	size_t n = parse_list(new_addr, set, ARRAY_SIZE(set));
	hold(s, set, n, t);
	return 0;
}

/* The host's current A/AAAA records into set; they are the truth about "now". */
static int current_addrs(struct store *st, struct host_scan *s, int64_t host_id,
                         struct np_addr *set, size_t max, size_t *n)
{
	size_t nrr;
	*n = 0;
	int ret = store_records_get(st, host_id, s->rrs, ARRAY_SIZE(s->rrs), &nrr);
	if (ret != NP_OK)
		return ret;
	for (size_t i = 0; i < nrr && *n < max; i++) {
		if (store_rr_addr(&s->rrs[i], &set[*n]))
			(*n)++;
	}
	return NP_OK;
}

/* Fills s->iv with every (address, [from, to]) the host held inside [wstart, now]. */
static int build_intervals(struct store *st, struct host_scan *s, int64_t host_id)
{
	s->n_held = s->n_iv = 0;
	s->cut = false;
	int ret = store_history_since(st, host_id, s->wstart, OWNERS_HISTORY_ROWS, history_row, s);
	if (ret != NP_OK)
		return ret;
	/* An address in the records that the history does not show as held (an imported host,
	 * a change made without history) counts as held for the whole window: the owner
	 * rather hears of it. */
	struct np_addr set[OWNERS_HELD_MAX];
	size_t n;
	ret = current_addrs(st, s, host_id, set, ARRAY_SIZE(set), &n);
	if (ret != NP_OK)
		return ret;
	for (size_t j = 0; j < n; j++) {
		bool have = false;
		for (size_t i = 0; i < s->n_held && !have; i++)
			have = addr_equal(&s->held[i].a, &set[j]);
		if (!have && s->n_held < OWNERS_HELD_MAX) {
			s->held[s->n_held].a = set[j];
			s->held[s->n_held++].since = s->wstart;
		}
	}
	hold(s, set, n, s->now);
	for (size_t i = 0; i < s->n_held; i++)
		emit(s, &s->held[i].a, s->held[i].since, s->now);
	return NP_OK;
}

/* ---- verdicts ---- */

static bool stronger(const struct obs_verdict *a, const struct obs_verdict *b)
{
	if (a->verdict != b->verdict)
		return a->verdict > b->verdict;
	return a->packets > b->packets;
}

/* One flag per address: the strongest verdict over the intervals it was held. */
static void judge(struct host_scan *s, const struct obs_index *ix)
{
	s->n_flag = 0;
	for (size_t i = 0; i < s->n_iv; i++) {
		const struct interval *iv = &s->iv[i];
		struct obs_verdict v;
		if (obs_index_verdict_range(ix, &iv->a, iv->from, iv->to, &v) != NP_OK ||
		    v.verdict == OBS_NOT_OBSERVED)
			continue;
		struct flagged *f = NULL;
		for (size_t k = 0; k < s->n_flag && f == NULL; k++)
			if (addr_equal(&s->flag[k].a, &iv->a))
				f = &s->flag[k];
		if (f != NULL && !stronger(&v, &f->v))
			continue;
		if (f == NULL)
			f = &s->flag[s->n_flag++]; /* n_flag <= n_iv <= OWNERS_INTERVALS */
		f->a = iv->a;
		addr_format(&iv->a, f->text, sizeof(f->text));
		f->from = iv->from;
		f->to = iv->to;
		f->v = v;
	}
}

/* ---- the mail ---- */

static const char *fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t <= 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		np_strlcpy(buf, "-", len);
	return buf;
}

static const char *rule_text(enum obs_rule r)
{
	switch (r) {
	case OBS_RULE_MIRAI_SYN:
		return "scan packets carrying the Mirai botnet's fingerprint";
	case OBS_RULE_DOWNLOAD:
		return "a malware download command typed into a honeypot";
	case OBS_RULE_DEFAULT_CRED:
		return "a honeypot login with a default password botnets use";
	case OBS_RULE_BRUTE_FORCE:
		return "repeated password guessing on a honeypot";
	case OBS_RULE_IOT_SCAN:
		return "scans of ports where IoT devices are attacked";
	case OBS_RULE_FEW_SIGNS:
		return "a few signs of a bot, not enough to be sure";
	case OBS_RULE_NONE:
		break;
	}
	return "no rule";
}

/* Credential text from a honeypot: printable ASCII only, so the mail stays plain. */
static void plain(const char *in, char *out, size_t len)
{
	size_t i = 0;
	for (; in[i] != '\0' && i + 1 < len; i++) {
		unsigned char c = (unsigned char)in[i];
		out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[i] = '\0';
}

/* The remedies, the same list as the check page's. */
static const char remedies[] =
    "What to do:\n"
    "  - Update the firmware of every device on that connection (router, cameras, video\n"
    "    recorders, NAS, smart TVs, printers) and turn on automatic updates.\n"
    "  - Replace default passwords with long, unique ones.\n"
    "  - Power off devices you do not use.\n"
    "  - Replace devices the maker no longer supports with updates.\n"
    "  - On the router: turn UPnP off, keep the fewest port forwards, and use a VPN\n"
    "    instead of services open to the internet.\n"
    "A device that was taken over usually needs a restart to drop the bot, then the\n"
    "password change and the update to keep it from being taken over again.\n";

static const char caveat[] =
    "The verdict is about the connection's address, not one device: an apartment\n"
    "building's shared uplink or carrier-grade NAT can put a neighbour behind the same\n"
    "address, and a device behind another NAT is not seen at all. Our sensors only see\n"
    "what reached them; \"not observed\" never means \"clean\".\n";

/* The alert as text (malloc'd into *subject and *body). */
static int compose(const struct owners *ow, const char *fqdn, const struct flagged *f, int64_t now,
                   char **subject, char **body)
{
	char t1[40], t2[40], t3[40], t4[40];
	const struct obs_verdict *v = &f->v;
	const char *word = v->verdict == OBS_INFECTED ? "infected" : "suspicious";
	size_t len = 0;
	*subject = NULL;
	*body = NULL;
	if (asprintf(subject, "Nameplate: %s (%s) looks %s", fqdn, f->text, word) < 0) {
		*subject = NULL;
		return NP_ENOMEM;
	}
	/* The interval ends at the scan's now while the host still holds the address. */
	bool still = f->to >= now;
	char held_to[48];
	snprintf(held_to, sizeof(held_to), "to %s", fmt_time(f->to, t2, sizeof(t2)));
	FILE *m = open_memstream(body, &len);
	if (m == NULL)
		goto fail;
	fprintf(
	    m,
	    "Hello,\n\n"
	    "Nameplate compares the addresses your dynamic DNS hosts held with what its\n"
	    "honeypots and darknet sensors saw. One of them was seen sending attack traffic:\n\n"
	    "  host:     %s\n"
	    "  address:  %s\n"
	    "  held:     %s %s %s (of the last 24 hours)\n"
	    "  verdict:  %s, because of %s (rule %s)\n\n",
	    fqdn, f->text, still ? "since" : "from", fmt_time(f->from, t1, sizeof(t1)),
	    still ? "and still now" : held_to, word, rule_text(v->rule), obs_rule_name(v->rule));
	fprintf(m,
	        "Evidence while the host held the address:\n"
	        "  first seen:        %s\n"
	        "  last seen:         %s\n"
	        "  attack events:     %llu\n"
	        "  fingerprint SYNs:  %llu\n"
	        "  login attempts:    %llu\n"
	        "  download commands: %llu\n",
	        fmt_time(v->first_seen, t3, sizeof(t3)), fmt_time(v->last_seen, t4, sizeof(t4)),
	        (unsigned long long)v->packets, (unsigned long long)v->fingerprint_hits,
	        (unsigned long long)v->login_attempts, (unsigned long long)v->downloads);
	if (v->n_ports > 0) {
		fprintf(m, "  ports targeted:   ");
		for (size_t i = 0; i < v->n_ports && i < OBS_VERDICT_PORTS; i++)
			fprintf(m, " %u (%llu)", v->ports[i].port,
			        (unsigned long long)v->ports[i].count);
		if (v->other_ports > 0)
			fprintf(m, " and %llu to other ports", (unsigned long long)v->other_ports);
		fprintf(m, "\n");
	}
	for (size_t i = 0; i < v->n_creds && i < OBS_MAX_CREDS; i++) {
		char u[40], p[40];
		plain(v->creds[i].user, u, sizeof(u));
		plain(v->creds[i].pass, p, sizeof(p));
		fprintf(m, "  password tried:    %s / %s (%u times%s)\n", u, p, v->creds[i].count,
		        v->creds[i].is_default ? ", a botnet default" : "");
	}
	fprintf(m, "\n%s\n%s\n", caveat, remedies);
	fprintf(m,
	        "Afterwards, check again from behind that connection: run `nameplate check` on a\n"
	        "machine there (it asks about the address the server sees)%s%s%s.\n\n"
	        "You get one mail per incident; `nameplate status` shows open incidents.\n",
	        ow->cfg->check_public_url[0] != '\0' ? ", or open " : "", ow->cfg->check_public_url,
	        ow->cfg->check_public_url[0] != '\0' ? "/check" : "");
	bool bad = ferror(m) != 0;
	if (fclose(m) != 0 || bad)
		goto fail;
	return NP_OK;
fail:
	free(*subject);
	free(*body);
	*subject = *body = NULL;
	return NP_ENOMEM;
}

/* ---- one host (writer thread) ---- */

static int collect_open(const struct store_incident *inc, void *ctx)
{
	struct host_scan *s = ctx;
	if (s->n_open == OWNERS_OPEN_MAX)
		return 1; /* the rest wait for the next run */
	s->open[s->n_open] = *inc;
	s->open[s->n_open++].evidence = NULL;
	return 0;
}

static int open_incident(struct owners *ow, struct store *st, const struct store_owned_host *h,
                         const struct flagged *f, const char *verdict, const char *evidence)
{
	int64_t id;
	struct host_scan *s = &ow->scan;
	int ret = store_incident_add(st, h->id, f->text, verdict, evidence, s->now, &id);
	if (ret != NP_OK)
		return ret;
	ow->opened++;
	log_info("owners: %s (%s) looks %s: incident %lld opened", h->fqdn, f->text, verdict,
	         (long long)id);
	if (ow->mail == NULL)
		return NP_OK; /* no relay: shown by the status API only */
	char email[STORE_MAIL_RCPT_MAX];
	ret = store_user_email(st, h->user_id, email, sizeof(email));
	if (ret == NP_ENOTFOUND || (ret == NP_OK && email[0] == '\0'))
		return NP_OK;
	if (ret != NP_OK)
		return ret;
	char *subject, *body;
	ret = compose(ow, h->fqdn, f, s->now, &subject, &body);
	if (ret != NP_OK)
		return ret;
	ret = store_mail_add(st, email, subject, body, s->now, NULL);
	free(subject);
	free(body);
	if (ret == NP_OK)
		ret = store_incident_set_notified(st, id);
	if (ret == NP_OK)
		ow->mailed++;
	return ret;
}

static int check_host(struct owners *ow, struct store *st, const struct obs_index *ix,
                      const struct store_owned_host *h)
{
	struct host_scan *s = &ow->scan;
	int ret = build_intervals(st, s, h->id);
	if (ret != NP_OK)
		return ret;
	if (s->cut)
		log_warn("owners: %s changed address too often to follow in full", h->fqdn);
	judge(s, ix);

	for (size_t i = 0; i < s->n_flag && ret == NP_OK; i++) {
		const struct flagged *f = &s->flag[i];
		const char *verdict = obs_verdict_name(f->v.verdict);
		json_t *j = obs_verdict_json(&f->a, &f->v);
		if (j != NULL)
			json_object_set_new(j, "held",
			                    json_pack("{s:I, s:I}", "from", (json_int_t)f->from,
			                              "to", (json_int_t)f->to));
		char *evidence = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		if (evidence == NULL)
			return NP_ENOMEM;
		struct store_incident inc;
		ret = store_incident_find_open(st, h->id, f->text, &inc);
		if (ret == NP_OK)
			ret = store_incident_update(st, inc.id, verdict, evidence, s->now);
		else if (ret == NP_ENOTFOUND)
			ret = open_incident(ow, st, h, f, verdict, evidence);
		free(evidence);
	}
	if (ret != NP_OK)
		return ret;

	/* Open incidents whose address is no longer flagged are over. */
	s->n_open = 0;
	ret = store_incident_foreach_open(st, h->id, collect_open, s);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < s->n_open && ret >= 0; i++) {
		bool flagged = false;
		for (size_t k = 0; k < s->n_flag && !flagged; k++)
			flagged = strcmp(s->flag[k].text, s->open[i].addr) == 0;
		if (flagged)
			continue;
		ret = store_incident_close(st, s->open[i].id, s->now);
		if (ret == NP_OK) {
			ow->closed++;
			log_info("owners: %s (%s): incident %lld closed", h->fqdn, s->open[i].addr,
			         (long long)s->open[i].id);
		}
	}
	return ret < 0 ? ret : NP_OK;
}

static int op_apply(struct writer_op *op, struct writer_txn *txn)
{
	struct owners *ow = container_of(op, struct owners, op);
	struct store *st = writer_txn_store(txn);
	const struct obs_index *ix = observer_index(ow->obs);
	int64_t t0 = time_mono_ms();
	size_t n;
	ow->more = false;
	ow->mailed = ow->opened = ow->closed = 0;
	int ret = store_owned_hosts_page(st, ow->cursor, ow->page, OWNERS_PAGE, &n);
	if (ret != NP_OK)
		return ret;
	ow->scan.now = time_now();
	ow->scan.wstart = ow->scan.now - OBS_WINDOW;
	int64_t cursor = ow->cursor;
	for (size_t i = 0; i < n; i++) {
		ret = check_host(ow, st, ix, &ow->page[i]);
		if (ret != NP_OK)
			return ret; /* the savepoint undoes the page; the next run tries again */
		cursor = ow->page[i].id;
		if (time_mono_ms() - t0 >= OWNERS_BUDGET_MS && i + 1 < n) {
			ow->more = true;
			break;
		}
	}
	if (n == OWNERS_PAGE)
		ow->more = true;
	ow->cursor = cursor;
	return NP_OK;
}

/* ---- the thread ---- */

/* Runs the op once and waits for it; a full writer queue is retried for up to 5 s. */
static int run_op(struct owners *ow)
{
	ow->op = (struct writer_op){.apply = op_apply, .reads_widely = true};
	return writer_run(ow->w, &ow->op, 5000);
}

static bool stopping(struct owners *ow)
{
	pthread_mutex_lock(&ow->lock);
	bool s = ow->stopping;
	pthread_mutex_unlock(&ow->lock);
	return s;
}

/* One pass over every owned host. */
static void scan_all(struct owners *ow)
{
	unsigned mailed = 0, opened = 0, closed = 0;
	int64_t t0 = time_mono_ms();
	ow->cursor = 0;
	for (unsigned page = 0; page < OWNERS_MAX_PAGES && !stopping(ow); page++) {
		int ret = run_op(ow);
		if (ret != NP_OK) {
			log_warn("owners: scan stopped: %s", np_strerror(ret));
			break;
		}
		mailed += ow->mailed;
		opened += ow->opened;
		closed += ow->closed;
		/* Mail waits no longer than the page that added it. */
		if (ow->mailed > 0 && ow->mail != NULL)
			mailer_poke(ow->mail);
		if (!ow->more)
			break;
	}
	log_msg(opened > 0 || closed > 0 ? LOG_INFO : LOG_DEBUG,
	        "owners: scan in %lld ms: %u incident%s opened (%u mailed), %u closed",
	        (long long)(time_mono_ms() - t0), opened, opened == 1 ? "" : "s", mailed, closed);
}

static void *run(void *arg)
{
	struct owners *ow = arg;
	unsigned interval = ow->cfg->check_owner_interval > 0 ? ow->cfg->check_owner_interval : 900;
	int64_t next = time_mono_ms() +
	               (int64_t)(interval < OWNERS_FIRST_S ? interval : OWNERS_FIRST_S) * 1000;
	for (;;) {
		pthread_mutex_lock(&ow->lock);
		while (!ow->stopping && time_mono_ms() < next) {
			/* Slices of at most a second: the monotonic deadline rules, not the wall
			 * clock the condition variable uses. */
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			int64_t left = next - time_mono_ms();
			if (left > 1000)
				left = 1000;
			if (left < 1)
				left = 1;
			until.tv_sec += left / 1000;
			until.tv_nsec += (left % 1000) * 1000000;
			if (until.tv_nsec >= 1000000000) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&ow->cond, &ow->lock, &until);
		}
		bool stop = ow->stopping;
		pthread_mutex_unlock(&ow->lock);
		if (stop)
			break;
		scan_all(ow);
		next = time_mono_ms() + (int64_t)interval * 1000;
	}
	return NULL;
}

/* ---- public ---- */

int owners_start(struct owners **out, const struct config *cfg, struct writer *w,
                 struct observer *obs, struct mailer *mail)
{
	*out = NULL;
	if (obs == NULL)
		return NP_OK; /* nothing to check against */
	struct owners *ow = calloc(1, sizeof(*ow));
	if (ow == NULL)
		return NP_ENOMEM;
	ow->cfg = cfg;
	ow->w = w;
	ow->obs = obs;
	ow->mail = mail;
	pthread_mutex_init(&ow->lock, NULL);
	pthread_cond_init(&ow->cond, NULL);
	if (pthread_create(&ow->thread, NULL, run, ow) != 0) {
		pthread_cond_destroy(&ow->cond);
		pthread_mutex_destroy(&ow->lock);
		free(ow);
		return NP_ENOMEM;
	}
	ow->started = true;
	*out = ow;
	return NP_OK;
}

void owners_stop(struct owners *ow)
{
	if (ow == NULL)
		return;
	pthread_mutex_lock(&ow->lock);
	ow->stopping = true;
	pthread_cond_broadcast(&ow->cond);
	pthread_mutex_unlock(&ow->lock);
	if (ow->started)
		pthread_join(ow->thread, NULL);
	pthread_cond_destroy(&ow->cond);
	pthread_mutex_destroy(&ow->lock);
	free(ow);
}
