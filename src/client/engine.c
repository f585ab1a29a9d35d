/* SPDX-License-Identifier: MIT */
/* The client's engine: per host detect -> decide -> publish -> record -> hooks, the daemon loop
 * that runs it on netlink events, polls and back-off deadlines, and status and reset. */
#include "client/client.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/str.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define NETLINK_SETTLE_MS     100 /* coalesces a burst of address events into one check */
#define CHECKIP_THIRD_PARTY_S 60  /* never poll somebody else's checkip more often */
#define HOOK_ENV_MAX          256 /* inherited environment entries passed to a hook */

/* What the daemon keeps per host in memory; nothing here needs to survive a restart. */
struct host_rt {
	int64_t due_ms;   /* monotonic time of the next check */
	int64_t retry_ms; /* monotonic time before which no request is sent (back-off); 0 none */
	bool start_sent;  /* the one update at start (the protocol's allowed nochg) went out */
};

static bool same_addr(const struct np_addr *a, const struct np_addr *b)
{
	if (a->family != b->family)
		return false;
	return a->family == 0 || addr_equal(a, b);
}

/* Replaces "HOST'" in a recorded message with the host name, so that status can print a
 * command the user can paste ("run 'nameplate reset home.dyn.example'"). */
static void fill_host(char *msg, size_t len, const char *fqdn)
{
	char *p = strstr(msg, "reset HOST'");
	if (p == NULL)
		return;
	char out[512];
	snprintf(out, sizeof(out), "%.*sreset %s%s", (int)(p - msg), msg, fqdn, p + 10);
	np_strlcpy(msg, out, len);
}

/* Runs a hook through /bin/sh -c with the details in the environment, never on the command
 * line, so nothing a server says can be interpreted by the shell. Returns the child or -1. */
static pid_t run_hook(const char *cmd, const struct host_cfg *h, const struct np_addr *v4,
                      const struct np_addr *v6, const char *code, const char *message)
{
	char e_host[CFG_NAME_MAX + 32], e_v4[64], e_v6[80], e_res[64], e_msg[300];
	char a4[INET6_ADDRSTRLEN] = "", a6[INET6_ADDRSTRLEN] = "";
	char *envp[HOOK_ENV_MAX + 6];
	size_t n = 0;
	if (v4->family == AF_INET)
		addr_format(v4, a4, sizeof(a4));
	if (v6->family == AF_INET6)
		addr_format(v6, a6, sizeof(a6));
	snprintf(e_host, sizeof(e_host), "NAMEPLATE_HOST=%s", h->fqdn);
	snprintf(e_v4, sizeof(e_v4), "NAMEPLATE_IPV4=%s", a4);
	snprintf(e_v6, sizeof(e_v6), "NAMEPLATE_IPV6=%s", a6);
	snprintf(e_res, sizeof(e_res), "NAMEPLATE_RESULT=%s", code);
	snprintf(e_msg, sizeof(e_msg), "NAMEPLATE_MESSAGE=%s", message);
	for (char **e = environ; e != NULL && *e != NULL && n < HOOK_ENV_MAX; e++)
		if (strncmp(*e, "NAMEPLATE_", 10) != 0)
			envp[n++] = *e;
	envp[n++] = e_host;
	envp[n++] = e_v4;
	envp[n++] = e_v6;
	envp[n++] = e_res;
	envp[n++] = e_msg;
	envp[n] = NULL;

	char *argv[] = {"sh", "-c", (char *)cmd, NULL};
	posix_spawnattr_t attr;
	posix_spawn_file_actions_t fa;
	sigset_t none, defaults;
	pid_t pid = -1;
	sigemptyset(&none);
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGTERM);
	sigaddset(&defaults, SIGINT);
	sigaddset(&defaults, SIGHUP);
	sigaddset(&defaults, SIGCHLD);
	sigaddset(&defaults, SIGPIPE);
	if (posix_spawnattr_init(&attr) != 0)
		return -1;
	if (posix_spawn_file_actions_init(&fa) != 0) {
		posix_spawnattr_destroy(&attr);
		return -1;
	}
	/* The daemon blocks its signals for signalfd; the hook must start with a clean slate. */
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	int rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc != 0) {
		errno = rc;
		log_warn("%s: cannot run hook: %m", h->fqdn);
		return -1;
	}
	return pid;
}

static void hook(const char *cmd, bool wait, const struct host_cfg *h, const struct np_addr *v4,
                 const struct np_addr *v6, const char *code, const char *message)
{
	if (cmd[0] == '\0')
		return;
	pid_t pid = run_hook(cmd, h, v4, v6, code, message);
	if (pid > 0 && wait) {
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	/* The daemon reaps its hooks on SIGCHLD instead of waiting for them. */
}

/* Reads one family. A source that fails (not "no address") keeps the last published value,
 * so a passing checkip outage is not mistaken for a change. */
static void read_family(const struct client_cfg *cfg, const struct host_cfg *h, int family,
                        const struct source_cfg *src, const struct np_addr *last,
                        struct np_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (src->kind == SOURCE_NONE)
		return;
	int ret = source_read(cfg, h, family, src, out);
	if (ret == NP_OK && out->family == family)
		return;
	memset(out, 0, sizeof(*out));
	if (ret == NP_ENOTFOUND) {
		log_debug("%s: no usable IPv%c address", h->fqdn, family == AF_INET ? '4' : '6');
		return;
	}
	log_warn("%s: cannot read the IPv%c address: %s", h->fqdn, family == AF_INET ? '4' : '6',
	         np_strerror(ret));
	*out = *last;
}

/* min(retry_base * 2^(n-1), retry_max) with +/-20% jitter, never sooner than Retry-After. */
static int64_t backoff_ms(const struct client_cfg *cfg, unsigned failures, int64_t retry_after)
{
	unsigned shift = failures > 0 ? failures - 1 : 0;
	if (shift > 30)
		shift = 30;
	int64_t d = (int64_t)cfg->retry_base * 1000 * ((int64_t)1 << shift);
	if (d > (int64_t)cfg->retry_max * 1000 || d <= 0)
		d = (int64_t)cfg->retry_max * 1000;
	d = d * (800 + (int64_t)randombytes_uniform(401)) / 1000;
	if (d < retry_after * 1000)
		d = retry_after * 1000;
	return d;
}

static void fmt_addrs(const struct np_addr *v4, const struct np_addr *v6, char *out, size_t len)
{
	char a4[INET6_ADDRSTRLEN] = "", a6[INET6_ADDRSTRLEN] = "";
	if (v4->family == AF_INET)
		addr_format(v4, a4, sizeof(a4));
	if (v6->family == AF_INET6)
		addr_format(v6, a6, sizeof(a6));
	snprintf(out, len, "%s%s%s", a4, a4[0] != '\0' && a6[0] != '\0' ? " " : "", a6);
}

/* Loads the host's state (a fresh one when unreadable) and clears a stop after a fatal
 * answer once the host's configuration changed. False while the stop holds. */
static bool load_state(const struct client_cfg *cfg, const struct host_cfg *h,
                       struct host_state *st, bool *dirty)
{
	int ret = state_load(cfg->state_dir, h->fqdn, st);
	if (ret != NP_OK)
		log_warn("%s: state file unreadable (%s): starting afresh", h->fqdn,
		         np_strerror(ret));

	if (st->latched) {
		if (memcmp(st->latch_digest, h->digest, sizeof(h->digest)) == 0) {
			log_debug("%s: stopped after '%s' until 'nameplate reset %s'", h->fqdn,
			          st->last_code, h->fqdn);
			return false;
		}
		log_info("%s: its configuration changed: clearing the stop after '%s'", h->fqdn,
		         st->last_code);
		st->latched = false;
		st->failures = 0;
		st->next_attempt = 0;
		st->last_class = RESULT_NONE;
		*dirty = true;
	}
	return true;
}

/* What update_host does with the addresses it read. */
enum update_step {
	STEP_PUBLISH,    /* send them */
	STEP_UP_TO_DATE, /* the server has them already */
	STEP_WAIT,       /* nothing to send, or backing off after a transient failure */
};

/* Reads both families and decides whether to publish them now. */
static enum update_step decide(const struct client_cfg *cfg, const struct host_cfg *h, bool force,
                               struct host_rt *rt, const struct host_state *st, struct np_addr *v4,
                               struct np_addr *v6)
{
	read_family(cfg, h, AF_INET, &h->ipv4, &st->v4, v4);
	read_family(cfg, h, AF_INET6, &h->ipv6, &st->v6, v6);
	if (v4->family == 0 && v6->family == 0) {
		log_warn("%s: no address to publish", h->fqdn);
		return STEP_WAIT;
	}
	bool unchanged = same_addr(v4, &st->v4) && same_addr(v6, &st->v6);
	/* The daemon sends once at start even when nothing changed: the server may hold
	 * something else by now, and a nochg at start-up is what the protocol allows. */
	bool start_pass = rt != NULL && !rt->start_sent;
	if (!force && !start_pass && unchanged && st->last_class == RESULT_OK &&
	    memcmp(st->ok_digest, h->digest, sizeof(h->digest)) == 0)
		return STEP_UP_TO_DATE;
	/* The server's own limit (429 with Retry-After) is not the client's back-off to skip:
	 * even --force sends nothing before the time it asked for. */
	if (force && st->last_class == RESULT_TRANSIENT && strcmp(st->last_code, "http 429") == 0 &&
	    st->next_attempt > time_now()) {
		log_warn("%s: the server asked for no update before %lld s from now (HTTP 429)",
		         h->fqdn, (long long)(st->next_attempt - time_now()));
		return STEP_WAIT;
	}
	if (!force && st->last_class == RESULT_TRANSIENT) {
		int64_t now_ms = time_mono_ms();
		if (rt != NULL && rt->retry_ms == 0 && st->next_attempt > time_now())
			rt->retry_ms = now_ms + (st->next_attempt - time_now()) * 1000;
		bool due = rt != NULL && rt->retry_ms != 0 ? now_ms >= rt->retry_ms
		                                           : time_now() >= st->next_attempt;
		if (!due) {
			log_debug("%s: backing off after '%s'", h->fqdn, st->last_code);
			return STEP_WAIT;
		}
	}
	return STEP_PUBLISH;
}

/* Sends the addresses with the host's protocol. */
static void publish(const struct client_cfg *cfg, const struct host_cfg *h, struct host_rt *rt,
                    const struct np_addr *v4, const struct np_addr *v6, struct publish_result *r)
{
	char text[2 * INET6_ADDRSTRLEN + 2];
	fmt_addrs(v4, v6, text, sizeof(text));
	log_info("%s: publishing %s", h->fqdn, text);
	if (rt != NULL)
		rt->start_sent = true;
	if (h->protocol == PROTO_RFC2136)
		provider_rfc2136(cfg, h, v4, v6, r);
	else
		provider_dyndns2(cfg, h, v4, v6, r);
	fill_host(r->message, sizeof(r->message), h->fqdn);
}

/* Records the server's answer in the state: the addresses on success, the stop on a
 * fatal answer, else the next back-off deadline. Returns true when the host is up to date. */
static bool record_result(const struct client_cfg *cfg, const struct host_cfg *h,
                          struct host_rt *rt, const struct publish_result *r,
                          const struct np_addr *v4, const struct np_addr *v6, struct host_state *st)
{
	bool up_to_date = false;
	int64_t now = time_now();
	st->last_attempt = now;
	st->last_class = r->cls;
	np_strlcpy(st->last_code, r->code, sizeof(st->last_code));
	np_strlcpy(st->last_message, r->message, sizeof(st->last_message));
	if (rt != NULL)
		rt->retry_ms = 0;
	switch (r->cls) {
	case RESULT_OK:
		st->v4 = *v4;
		st->v6 = *v6;
		st->last_success = now;
		st->failures = 0;
		st->next_attempt = 0;
		memcpy(st->ok_digest, h->digest, sizeof(h->digest));
		up_to_date = true;
		log_info("%s: %s: %s", h->fqdn, r->code, r->message);
		break;
	case RESULT_FATAL:
		st->latched = true;
		memcpy(st->latch_digest, h->digest, sizeof(h->digest));
		st->failures = 0;
		st->next_attempt = 0;
		log_err("%s: %s: %s", h->fqdn, r->code, r->message);
		break;
	default: {
		st->last_class = RESULT_TRANSIENT;
		if (st->failures < 1000)
			st->failures++;
		int64_t d = backoff_ms(cfg, st->failures, r->retry_after);
		st->next_attempt = now + (d + 999) / 1000;
		if (rt != NULL)
			rt->retry_ms = time_mono_ms() + d;
		log_warn("%s: %s: %s (next attempt in %.1f s)", h->fqdn, r->code, r->message,
		         (double)d / 1000.0);
		break;
	}
	}
	return up_to_date;
}

static void save_state(const struct client_cfg *cfg, const struct host_cfg *h,
                       const struct host_state *st)
{
	int ret = state_save(cfg->state_dir, h->fqdn, st);
	if (ret != NP_OK)
		log_err("%s: cannot write the state file in %s: %s", h->fqdn, cfg->state_dir,
		        np_strerror(ret));
}

/* One host: returns true when it is up to date. rt is NULL outside the daemon (then hooks
 * are waited for and back-off deadlines come from the state file alone). */
static bool update_host(const struct client_cfg *cfg, const struct host_cfg *h, bool force,
                        struct host_rt *rt)
{
	struct host_state st;
	bool dirty = false;
	if (!load_state(cfg, h, &st, &dirty))
		return false;

	struct np_addr v4, v6;
	enum update_step step = decide(cfg, h, force, rt, &st, &v4, &v6);
	if (step != STEP_PUBLISH) {
		if (dirty)
			save_state(cfg, h, &st);
		return step == STEP_UP_TO_DATE;
	}

	struct publish_result r;
	publish(cfg, h, rt, &v4, &v6, &r);
	struct np_addr prev4 = st.v4, prev6 = st.v6;
	bool up_to_date = record_result(cfg, h, rt, &r, &v4, &v6, &st);
	save_state(cfg, h, &st);
	if (r.cls == RESULT_OK) {
		if (!same_addr(&prev4, &v4) || !same_addr(&prev6, &v6))
			hook(h->on_change, rt == NULL, h, &v4, &v6, r.code, r.message);
	} else {
		hook(h->on_error, rt == NULL, h, &v4, &v6, r.code, r.message);
	}
	return up_to_date;
}

bool client_update_all(const struct client_cfg *cfg, bool force)
{
	bool all = true;
	for (unsigned i = 0; i < cfg->n_hosts; i++)
		if (!update_host(cfg, &cfg->hosts[i], force, NULL))
			all = false;
	return all;
}

/* ---- the daemon ---- */

static bool uses_interface(const struct host_cfg *h)
{
	return h->ipv4.kind == SOURCE_INTERFACE || h->ipv6.kind == SOURCE_INTERFACE;
}

/* The poll period of a host: the configured interval, but at least a minute against a
 * checkip service that is not the update server's own. */
static int64_t poll_ms(const struct client_cfg *cfg, const struct host_cfg *h)
{
	int64_t p = (int64_t)cfg->interval * 1000;
	bool third = (h->ipv4.kind == SOURCE_CHECKIP && h->ipv4.arg[0] != '\0') ||
	             (h->ipv6.kind == SOURCE_CHECKIP && h->ipv6.arg[0] != '\0');
	if (third && p < CHECKIP_THIRD_PARTY_S * 1000)
		p = CHECKIP_THIRD_PARTY_S * 1000;
	return p;
}

static unsigned collect_ifnames(const struct client_cfg *cfg, const char **names, unsigned max)
{
	unsigned n = 0;
	for (unsigned i = 0; i < cfg->n_hosts; i++) {
		const struct source_cfg *s[2] = {&cfg->hosts[i].ipv4, &cfg->hosts[i].ipv6};
		for (unsigned k = 0; k < 2 && n < max; k++)
			if (s[k]->kind == SOURCE_INTERFACE)
				names[n++] = s[k]->arg;
	}
	return n;
}

static int epoll_add(int ep, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0 ? NP_OK : -errno;
}

/* Opens the netlink socket when some host follows an interface (once; kept across reloads). */
static void ensure_netlink(const struct client_cfg *cfg, int ep, int *nl)
{
	bool need = false;
	for (unsigned i = 0; i < cfg->n_hosts; i++)
		need = need || uses_interface(&cfg->hosts[i]);
	if (!need || *nl >= 0)
		return;
	int fd = netlink_open();
	if (fd < 0) {
		log_warn("cannot follow address changes through netlink (%s): polling every %u s",
		         np_strerror(fd), cfg->interval);
		return;
	}
	if (epoll_add(ep, fd) != NP_OK) {
		close(fd);
		return;
	}
	*nl = fd;
}

int client_run(const char *path, struct client_cfg *cfg)
{
	struct client_cfg *owned = NULL;
	struct host_rt rt[CLIENT_MAX_HOSTS];
	struct epoll_event evs[4];
	int ret = NP_EIO, ep = -1, sfd = -1, nl = -1;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		goto out;
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || ep < 0 || epoll_add(ep, sfd) != NP_OK) {
		log_err("cannot set up the event loop: %m");
		goto out;
	}
	ensure_netlink(cfg, ep, &nl);

	int64_t now = time_mono_ms();
	for (unsigned i = 0; i < CLIENT_MAX_HOSTS; i++)
		rt[i] = (struct host_rt){.due_ms = now, .retry_ms = 0, .start_sent = false};
	log_info("running with %u host%s", cfg->n_hosts, cfg->n_hosts == 1 ? "" : "s");

	bool stop = false;
	while (!stop) {
		now = time_mono_ms();
		int64_t next = now + 3600 * 1000;
		for (unsigned i = 0; i < cfg->n_hosts; i++) {
			const struct host_cfg *h = &cfg->hosts[i];
			if (rt[i].due_ms <= now) {
				update_host(cfg, h, false, &rt[i]);
				int64_t t = time_mono_ms();
				rt[i].due_ms = t + poll_ms(cfg, h);
				if (rt[i].retry_ms != 0 && rt[i].retry_ms < rt[i].due_ms)
					rt[i].due_ms = rt[i].retry_ms;
			}
			if (rt[i].due_ms < next)
				next = rt[i].due_ms;
		}
		now = time_mono_ms();
		int timeout = next > now ? (int)(next - now) : 0;
		int n = epoll_wait(ep, evs, (int)ARRAY_SIZE(evs), timeout);
		if (n < 0 && errno != EINTR) {
			log_err("epoll_wait: %m");
			goto out;
		}
		for (int e = 0; e < n; e++) {
			if (evs[e].data.fd == nl) {
				const char *names[2 * CLIENT_MAX_HOSTS];
				unsigned nn = collect_ifnames(cfg, names, ARRAY_SIZE(names));
				if (!netlink_drain(nl, names, nn))
					continue;
				int64_t soon = time_mono_ms() + NETLINK_SETTLE_MS;
				for (unsigned i = 0; i < cfg->n_hosts; i++)
					if (uses_interface(&cfg->hosts[i]) && rt[i].due_ms > soon)
						rt[i].due_ms = soon;
				continue;
			}
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
					log_info("stopping on signal %u", si.ssi_signo);
					stop = true;
				} else if (si.ssi_signo == SIGCHLD) {
					while (waitpid(-1, NULL, WNOHANG) > 0)
						;
				} else if (si.ssi_signo == SIGHUP) {
					char err[1024];
					struct client_cfg *fresh = malloc(sizeof(*fresh));
					if (fresh == NULL ||
					    client_config_load(path, fresh, err, sizeof(err)) !=
					        NP_OK) {
						log_err("reload failed, keeping the old "
						        "configuration: %s",
						        fresh == NULL ? "out of memory" : err);
						free(fresh);
						continue;
					}
					log_set_level(fresh->log_level);
					if (owned != NULL) {
						sodium_memzero(owned, sizeof(*owned));
						free(owned);
					}
					owned = cfg = fresh;
					now = time_mono_ms();
					for (unsigned i = 0; i < CLIENT_MAX_HOSTS; i++)
						rt[i] =
						    (struct host_rt){.due_ms = now, .retry_ms = 0};
					ensure_netlink(cfg, ep, &nl);
					log_info("configuration reloaded: %u host%s", cfg->n_hosts,
					         cfg->n_hosts == 1 ? "" : "s");
				}
			}
		}
	}
	ret = NP_OK;
out:
	if (nl >= 0)
		close(nl);
	if (sfd >= 0)
		close(sfd);
	if (ep >= 0)
		close(ep);
	if (owned != NULL) {
		sodium_memzero(owned, sizeof(*owned));
		free(owned);
	}
	return ret;
}

/* ---- status and reset ---- */

static const char *fmt_time(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (t <= 0 || gmtime_r(&tt, &tm) == NULL) {
		np_strlcpy(buf, "never", len);
		return buf;
	}
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

static const char *class_name(enum result_class c)
{
	switch (c) {
	case RESULT_OK:
		return "ok";
	case RESULT_FATAL:
		return "fatal";
	case RESULT_TRANSIENT:
		return "transient";
	default:
		return "none";
	}
}

static json_t *json_addr(const struct np_addr *a)
{
	char t[INET6_ADDRSTRLEN];
	return a->family == 0 ? json_null() : json_string(addr_format(a, t, sizeof(t)));
}

/* When the next request may go out, for status: 0 = at the next change or check. */
static int64_t next_time(const struct host_state *st, bool latch_live)
{
	if (latch_live)
		return -1;
	if (st->last_class == RESULT_TRANSIENT)
		return st->next_attempt;
	return 0;
}

int client_status(const struct client_cfg *cfg, bool json)
{
	int ret = NP_OK;
	json_t *root = json ? json_object() : NULL;
	json_t *arr = json ? json_array() : NULL;
	if (json && (root == NULL || arr == NULL)) {
		json_decref(root);
		json_decref(arr);
		return NP_ENOMEM;
	}
	for (unsigned i = 0; i < cfg->n_hosts; i++) {
		const struct host_cfg *h = &cfg->hosts[i];
		struct host_state st;
		int r = state_load(cfg->state_dir, h->fqdn, &st);
		if (r != NP_OK) {
			fprintf(stderr, "%s: cannot read its state file: %s\n", h->fqdn,
			        np_strerror(r));
			ret = r;
		}
		bool config_changed =
		    st.latched && memcmp(st.latch_digest, h->digest, sizeof(h->digest)) != 0;
		bool latch_live = st.latched && !config_changed;
		int64_t nt = next_time(&st, latch_live);
		char a4[INET6_ADDRSTRLEN] = "none", a6[INET6_ADDRSTRLEN] = "none";
		char t1[32], t2[32], t3[32];
		if (st.v4.family != 0)
			addr_format(&st.v4, a4, sizeof(a4));
		if (st.v6.family != 0)
			addr_format(&st.v6, a6, sizeof(a6));
		if (json) {
			json_t *o = json_object();
			if (o == NULL || json_array_append_new(arr, o) != 0) {
				ret = NP_ENOMEM;
				break;
			}
			json_object_set_new(o, "host", json_string(h->fqdn));
			json_object_set_new(
			    o, "protocol",
			    json_string(h->protocol == PROTO_RFC2136 ? "rfc2136" : "dyndns2"));
			json_object_set_new(o, "ipv4", json_addr(&st.v4));
			json_object_set_new(o, "ipv6", json_addr(&st.v6));
			json_object_set_new(o, "last_class",
			                    json_string(class_name(st.last_class)));
			json_object_set_new(o, "last_code",
			                    st.last_code[0] != '\0' ? json_string(st.last_code)
			                                            : json_null());
			json_object_set_new(o, "last_message", json_string(st.last_message));
			json_object_set_new(o, "last_attempt", json_integer(st.last_attempt));
			json_object_set_new(o, "last_success", json_integer(st.last_success));
			json_object_set_new(o, "failures", json_integer(st.failures));
			json_object_set_new(o, "next_attempt",
			                    nt > 0 ? json_integer(nt) : json_null());
			json_object_set_new(o, "latched", json_boolean(latch_live));
			json_object_set_new(o, "latch_cleared_by_config_change",
			                    json_boolean(config_changed));
			continue;
		}
		printf("%s (%s)\n", h->fqdn, h->protocol == PROTO_RFC2136 ? "rfc2136" : "dyndns2");
		printf("  published:    IPv4 %s, IPv6 %s (last success %s)\n", a4, a6,
		       fmt_time(st.last_success, t1, sizeof(t1)));
		if (st.last_class == RESULT_NONE && st.last_code[0] == '\0')
			printf("  last result:  none yet\n");
		else
			printf("  last result:  %s: %s (%s)\n", st.last_code, st.last_message,
			       fmt_time(st.last_attempt, t2, sizeof(t2)));
		if (latch_live)
			printf("  next attempt: none: STOPPED after '%s' until the host's section "
			       "changes or 'nameplate reset %s'\n",
			       st.last_code, h->fqdn);
		else if (nt > 0)
			printf("  next attempt: not before %s (back-off after %u failure%s)\n",
			       fmt_time(nt, t3, sizeof(t3)), st.failures,
			       st.failures == 1 ? "" : "s");
		else if (config_changed)
			printf("  next attempt: at the next check (the section changed since '%s', "
			       "so the stop is lifted)\n",
			       st.last_code);
		else
			printf("  next attempt: when an address changes\n");
		printf("  latched:      %s\n", latch_live ? "yes" : "no");
	}
	if (!json)
		client_status_incidents(cfg, NULL);
	if (json) {
		json_object_set_new(root, "hosts", arr);
		client_status_incidents(cfg, root);
		char *text = json_dumps(root, JSON_INDENT(2));
		if (text != NULL) {
			printf("%s\n", text);
			free(text);
		} else {
			ret = NP_ENOMEM;
		}
		json_decref(root);
	}
	return ret;
}

int client_reset(const struct client_cfg *cfg, const char *fqdn)
{
	char name[CFG_NAME_MAX];
	if (np_strlcpy(name, fqdn, sizeof(name)) >= sizeof(name))
		return NP_ENOTFOUND;
	str_lower(name);
	size_t len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		name[len - 1] = '\0';
	const struct host_cfg *h = NULL;
	for (unsigned i = 0; i < cfg->n_hosts && h == NULL; i++)
		if (strcmp(cfg->hosts[i].fqdn, name) == 0)
			h = &cfg->hosts[i];
	if (h == NULL)
		return NP_ENOTFOUND;
	struct host_state st;
	int ret = state_load(cfg->state_dir, h->fqdn, &st);
	if (ret != NP_OK && ret != NP_EMALFORMED)
		return ret;
	bool was = st.latched;
	st.latched = false;
	memset(st.latch_digest, 0, sizeof(st.latch_digest));
	st.failures = 0;
	st.next_attempt = 0;
	if (st.last_class != RESULT_OK)
		st.last_class = RESULT_NONE;
	ret = state_save(cfg->state_dir, h->fqdn, &st);
	if (ret != NP_OK)
		return ret;
	log_info("%s: %s; the next check publishes again", h->fqdn,
	         was ? "stop cleared" : "back-off cleared (it was not stopped)");
	return NP_OK;
}
