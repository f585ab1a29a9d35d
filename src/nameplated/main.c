/* SPDX-License-Identifier: MIT */
/* nameplated: authoritative DNS and dyndns2 updates over one durable writer. */
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "abuse/abuse.h"
#include "common/config.h"
#include "common/log.h"
#include "common/privs.h"
#include "common/secret.h"
#include "core/mailer.h"
#include "core/notify.h"
#include "core/observer.h"
#include "core/owners.h"
#include "core/publish.h"
#include "core/writer.h"
#include "http/http.h"
#include "http/metrics.h"
#include "server/server.h"
#include "store/store.h"
#include "update/update.h"

/* data_dir/nameplated.pid, for nameplatectl feed reload (SIGHUP); written after the
 * privileges are dropped, so the user nameplated runs as can remove it at exit. */
static bool write_pid_file(const struct config *cfg, char *path, size_t len)
{
	int n = snprintf(path, len, "%s/%s", cfg->data_dir, NAMEPLATED_PID_FILE);
	if (n < 0 || (size_t)n >= len)
		return false;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		log_warn("cannot write %s: %m (nameplatectl feed reload cannot signal this server)",
		         path);
		return false;
	}
	char text[32];
	int tl = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	bool ok = write(fd, text, (size_t)tl) == tl;
	close(fd);
	return ok;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: nameplated -c FILE [-f]\n"
		     "  -c FILE  configuration file\n"
		     "  -f       stay in the foreground and log to stderr\n"
		     "Signals: SIGTERM/SIGINT stop cleanly, SIGHUP reloads the configuration.\n");
}

/* Drops to cfg->user once every socket is bound (common/privs.h). */
static int drop_privileges(const struct config *cfg)
{
	if (cfg->user[0] == '\0') {
		if (geteuid() == 0)
			log_warn("running as root: set [server] user to drop privileges");
		return NP_OK;
	}
	struct passwd *pw = getpwnam(cfg->user);
	if (pw == NULL) {
		log_err("no such user: %s", cfg->user);
		return NP_EINVAL;
	}
	/* The store must stay writable after the drop: refuse to start rather than fail on
	 * the first update. */
	struct stat sb;
	if (stat(cfg->data_dir, &sb) != 0 || sb.st_uid != pw->pw_uid) {
		log_err("%s must be owned by %s (chown -R %s %s)", cfg->data_dir, cfg->user,
			cfg->user, cfg->data_dir);
		return NP_EDENIED;
	}
	return privs_drop(cfg->user, pw->pw_uid, pw->pw_gid);
}

/* Every connection is a descriptor: max_connections HTTP connections per listen address,
 * the DNS TCP connections, the sockets and the store. The usual soft limit (1024) is below
 * that, so it is raised to the hard limit, which needs no privilege. */
static void raise_fd_limit(const struct config *cfg)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	rlim_t want = (rlim_t)cfg->http_max_connections * cfg->n_http_listen +
	              cfg->tcp_max_connections + 256;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
		log_warn("only %llu file descriptors (ulimit -n) for up to %llu connections: raise "
		         "the limit (LimitNOFILE= in the unit) or lower max_connections",
		         (unsigned long long)rl.rlim_cur, (unsigned long long)want);
}

/* The store's side of a reloaded [abuse] section, on the writer's connection. */
struct fit_op {
	struct writer_op op; /* first: the writer hands it back */
	const struct config *cfg;
};

static int fit_apply(struct writer_op *op, struct writer_txn *txn)
{
	return abuse_fit_store(writer_txn_store(txn), ((struct fit_op *)op)->cfg);
}

/* A reload that turns the flux judgement on makes the index of addresses before any update
 * is judged with it; one that turns it off drops the index after (abuse_fit_store). */
static void reload_abuse(struct writer *w, struct abuse *abuse, const struct config *next)
{
	struct fit_op f = {.op = {.apply = fit_apply, .reads_widely = true}, .cfg = next};
	bool on = abuse_flux_on(next);
	if (!on)
		abuse_reload(abuse, next);
	int ret = writer_run(w, &f.op, 5000);
	if (ret != NP_OK)
		log_warn("reload: the store keeps its index of addresses as it was: %s",
		         np_strerror(ret));
	if (on)
		abuse_reload(abuse, next);
}

static struct config *load_config(const char *path)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	char err[512];
	if (cfg == NULL)
		return NULL;
	if (config_load(path, cfg, err, sizeof(err)) != NP_OK) {
		log_err("%s", err);
		free(cfg);
		return NULL;
	}
	return cfg;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	bool foreground = false;
	int opt;
	while ((opt = getopt(argc, argv, "c:fh")) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	log_init("nameplated", true, LOG_INFO);
	struct config *cfg = load_config(path);
	if (cfg == NULL)
		return 1;
	log_set_level(cfg->log_level);
	log_set_format((enum log_format)cfg->log_format);
	if (secret_lib_init() != NP_OK) {
		log_err("libsodium cannot start");
		return 1;
	}

	/* Signals are taken synchronously by the main thread (sigwait); every thread inherits
	 * the blocked mask, so no handler runs anywhere. Blocked before the first thread
	 * starts: a SIGTERM given to a thread that does not block it would kill the process. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Before the store is opened and any thread started: a fork keeps neither threads
	 * nor the file locks SQLite holds, so both must be made by the process that stays. */
	if (!foreground) {
		if (daemon(0, 0) != 0) {
			log_err("cannot daemonize: %m");
			return 1;
		}
		log_init("nameplated", false, cfg->log_level);
	}

	struct store *st = NULL;
	int ret = store_open(cfg->data_dir, false, &st);
	if (ret == NP_ENOTFOUND || (ret == NP_OK && !store_admin_is_set(st))) {
		log_err("no store in %s: run 'nameplatectl -c %s init' first", cfg->data_dir, path);
		store_close(st);
		return 1;
	}
	if (ret == NP_OK)
		ret = store_checkpoint_background(st); /* off the writer's commits */
	if (ret == NP_OK)
		ret = abuse_fit_store(st, cfg);
	if (ret != NP_OK) {
		log_err("cannot open the store in %s: %s", cfg->data_dir, np_strerror(ret));
		store_close(st);
		return 1;
	}

	struct dns_server dns = {0};
	struct publisher *pub = NULL;
	struct writer *w = NULL;
	struct http_server *http = NULL;
	struct observer *obs = NULL;
	struct mailer *mail = NULL;
	struct owners *owners = NULL;
	struct notifier *notifier = NULL;
	struct update_service *upd = NULL;
	struct metrics_http *metrics = NULL;
	struct xfr_tsig *xfr_keys = NULL;
	struct abuse *abuse = NULL;
	struct config *reloaded = NULL; /* the writer's config after a SIGHUP */
	int status = 1;
	raise_fd_limit(cfg);
	if (dns_server_bind(&dns, cfg) != NP_OK)
		goto out;
	ret = publish_start(&pub, cfg, st, &dns.db);
	if (ret != NP_OK) {
		log_err("cannot load the zones: %s", np_strerror(ret));
		goto out;
	}
	/* Transfers pin what they stream from; each new serial is notified to secondaries. */
	if (notifier_start(&notifier) != NP_OK) {
		log_err("cannot start the NOTIFY thread");
		goto out;
	}
	publish_attach(pub, &dns.pins, notifier_zone, notifier);
	struct writer_hooks hooks;
	publish_hooks(pub, &hooks);
	ret = writer_start(&w, cfg, st, &hooks);
	st = NULL; /* the writer owns it now */
	if (ret != NP_OK) {
		log_err("cannot start the writer: %s", np_strerror(ret));
		goto out;
	}
	if (observer_start(&obs, cfg, w) != NP_OK || mailer_start(&mail, cfg, w) != NP_OK ||
	    owners_start(&owners, cfg, w, obs, mail) != NP_OK)
		goto out;
	/* Abuse protection: shared by dyndns2, the REST API and RFC 2136 UPDATE. */
	if (abuse_new(&abuse, cfg) != NP_OK)
		goto out;
	if (cfg->n_http_listen > 0 && http_start(&http, cfg, w, obs, mail, abuse) != NP_OK)
		goto out;
	ret = update_service_start(&upd, cfg, w, abuse, &dns.db);
	if (ret != NP_OK) {
		log_err("cannot start RFC 2136 UPDATE: %s", np_strerror(ret));
		goto out;
	}
	dns.update_submit = update_service_submit;
	dns.update_ctx = upd;
	ret = update_xfr_hooks(&xfr_keys, cfg, &dns.xfr_hooks);
	if (ret != NP_OK) {
		log_err("cannot start TSIG for zone transfers: %s", np_strerror(ret));
		goto out;
	}
	if (metrics_http_start(&metrics, cfg) != NP_OK)
		goto out;
	if (drop_privileges(cfg) != NP_OK || dns_server_start(&dns) != NP_OK)
		goto out;
	log_event(LOG_INFO, "start", "zones=%u pid=%ld config=%s", cfg->n_zones, (long)getpid(),
	          path);
	char pid_path[PATH_MAX + 32];
	bool pid_written = write_pid_file(cfg, pid_path, sizeof(pid_path));

	/* The start-up config stays for the transports (listen addresses and limits change
	 * only with a restart); a reload hands the writer a new one for the zones. */
	int sig = 0;
	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig != SIGHUP)
			break;
		struct config *next = load_config(path);
		if (next == NULL) {
			log_event(LOG_ERR, "reload", "config=%s result=failed keeping=running",
			          path);
			continue;
		}
		/* The new level and format first: the reload's own lines are written in them. */
		log_set_level(next->log_level);
		log_set_format((enum log_format)next->log_format);
		log_event(LOG_INFO, "reload", "config=%s result=ok zones=%u", path, next->n_zones);
		writer_reload(w, next);
		reload_abuse(w, abuse, next);
		if (http != NULL)
			http_reload(http, next);
		free(reloaded);
		reloaded = next;
	}
	log_event(LOG_INFO, "stop", "signal=%d", sig);
	if (pid_written)
		unlink(pid_path);
	status = 0;
out:
	/* Updates stop first, then queries; the writer finishes what is queued last.
	 * dns_server_stop copes with a server that was never bound or only partly. */
	metrics_http_stop(metrics);
	if (http != NULL)
		http_stop(http);
	/* Before the transports: its answers go out through their sockets. */
	update_service_stop(upd);
	dns_server_stop(&dns);
	update_xfr_hooks_free(xfr_keys); /* the TCP threads that used it have stopped */
	/* They use the writer: stopped before it (the observer writes a last checkpoint). */
	owners_stop(owners);
	mailer_stop(mail);
	observer_stop(obs);
	if (w != NULL)
		writer_stop(w);
	/* After the writer, whose hooks it is; the DNS workers have stopped reading. */
	publish_stop(pub);
	abuse_free(abuse); /* after everything that took updates */
	notifier_stop(notifier);
	free(reloaded);
	if (st != NULL)
		store_close(st);
	free(cfg);
	return status;
}
