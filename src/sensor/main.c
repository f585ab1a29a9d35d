/* SPDX-License-Identifier: MIT */
/* nameplate-sensor: opens the honeypot listeners, the darknet capture and the spool, drops
 * privileges, then batches observations to disk and pushes them to nameplated. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/privs.h"
#include "observe/codec.h"
#include "sensor/sensor.h"

#define FINAL_PUSH_MS 2000

static void usage(FILE *out)
{
	fprintf(out, "usage: nameplate-sensor -c FILE [--check-config]\n"
	             "  -c FILE         configuration file (docs/sensor.md)\n"
	             "  --check-config  read and check FILE and the token file, then exit\n"
	             "Signals: SIGTERM/SIGINT flush pending events to the spool and stop.\n");
}

static void batch_id(char out[33])
{
	uint8_t b[16];
	size_t got = 0;
	while (got < sizeof(b)) {
		ssize_t r = getrandom(b + got, sizeof(b) - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			abort(); /* the kernel's random source failed: nothing sane to do */
		got += (size_t)r;
	}
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < sizeof(b); i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[32] = '\0';
}

/* Spools events as one batch, or as halves when its JSON would exceed what the server
 * takes (long credentials make events larger than the average). */
static void spool_events(struct sensor *s, const struct obs_event *ev, size_t n)
{
	char id[33];
	char *json = NULL;
	size_t len = 0;
	batch_id(id);
	int r = obs_batch_encode(id, ev, n, &json, &len);
	if (r == NP_OK && len > OBS_BATCH_MAX_BYTES && n > 1) {
		free(json);
		spool_events(s, ev, n / 2);
		spool_events(s, ev + n / 2, n - n / 2);
		return;
	}
	if (r != NP_OK) {
		log_err("cannot encode a batch of %zu events: %s", n, np_strerror(r));
		return;
	}
	r = sensor_spool_write(&s->spool, id, json, len);
	if (r == NP_OK)
		log_debug("spooled batch %s: %zu events, %zu bytes", id, n, len);
	else
		log_err("cannot spool batch %s (%zu events lost): %s", id, n, np_strerror(r));
	free(json);
}

static void flush(struct sensor *s)
{
	const struct obs_event *ev;
	uint64_t dropped;
	size_t n = sensor_queue_take(&s->queue, &ev, &dropped);
	if (dropped > 0)
		log_warn("%" PRIu64 " events dropped: more than batch_max (%u) distinct events "
		         "in one batch interval",
		         dropped, s->cfg->batch_max);
	if (n > 0)
		spool_events(s, ev, n);
}

/* Reads the command line. Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, const char **path, bool *check_only)
{
	static const struct option longopts[] = {{"check-config", no_argument, NULL, 'C'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	int opt;
	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			*path = optarg;
			break;
		case 'C':
			*check_only = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (*path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/* What main started, so that stopping undoes exactly that. */
struct started {
	pthread_t th_hp, th_cap, th_push;
	bool hp, cap, push, queue, curl;
};

/* The user to run as: uid and gid stay -1 when none is configured. False (logged) when
 * the user does not exist, cannot be switched to, or is none while running as root. */
static bool resolve_user(const char *path, const struct sensor_cfg *cfg, uid_t *uid, gid_t *gid)
{
	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (cfg->user[0] != '\0') {
		struct passwd *pw = getpwnam(cfg->user);
		if (pw == NULL) {
			log_err("%s: no such user: %s", path, cfg->user);
			return false;
		}
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
		if (geteuid() != 0 && getuid() != *uid) {
			log_err("%s: cannot switch to user %s without root (run as %s, or set "
			        "user = \"\")",
			        path, cfg->user, cfg->user);
			return false;
		}
	} else if (geteuid() == 0) {
		/* The sensor parses whatever the internet sends it: never as root. */
		log_err("%s: refusing to run as root: set 'user' in [sensor] (e.g. nobody)", path);
		return false;
	}
	return true;
}

/* Opens everything the sensor needs, the privileged parts (spool owned by the user,
 * listeners on low ports, the capture) before dropping to the user, then scans the spool. */
static bool open_and_drop(struct sensor *s, struct started *st, uid_t uid, gid_t gid)
{
	const struct sensor_cfg *cfg = s->cfg;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_err("cannot initialise libcurl");
		return false;
	}
	st->curl = true;
	if (sensor_queue_init(&s->queue, cfg->batch_max) != NP_OK) {
		log_err("out of memory");
		return false;
	}
	st->queue = true;
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->stop_fd < 0) {
		log_err("eventfd: %m");
		return false;
	}
	/* Everything privileged happens here, before the drop. */
	bool as_root = geteuid() == 0;
	if (sensor_spool_open(&s->spool, cfg->spool_dir, (uint64_t)cfg->spool_max_mb << 20,
	                      as_root ? uid : (uid_t)-1, as_root ? gid : (gid_t)-1) != NP_OK)
		return false;
	if (sensor_honeypot_open(s) != NP_OK || sensor_capture_open(s) != NP_OK)
		return false;
	if (privs_drop(cfg->user, uid, gid) != NP_OK)
		return false;
	/* The spool's files belong to the unprivileged side: looked at only after the drop. */
	if (sensor_spool_scan(&s->spool) != NP_OK) {
		log_err("cannot read %s: %m", cfg->spool_dir);
		return false;
	}
	return true;
}

/* Blocks the stop signals (the threads inherit the mask, so only the main loop takes
 * them), then starts the pusher and, when configured, the honeypot and capture threads. */
static bool start_threads(struct sensor *s, struct started *st, sigset_t *set)
{
	const struct sensor_cfg *cfg = s->cfg;
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (pthread_create(&st->th_push, NULL, sensor_pusher_run, s) != 0)
		return false;
	st->push = true;
	if (cfg->n_listen[SVC_TELNET] + cfg->n_listen[SVC_HTTP] + cfg->n_listen[SVC_PLAIN] > 0) {
		if (pthread_create(&st->th_hp, NULL, sensor_honeypot_run, s) != 0)
			return false;
		st->hp = true;
	}
	if (s->pcap != NULL) {
		if (pthread_create(&st->th_cap, NULL, sensor_capture_run, s) != 0)
			return false;
		st->cap = true;
	}
	return true;
}

/* Spools a batch every batch_interval (or when the queue fills) until a stop signal or a
 * lost capture. Returns the exit status. */
static int run_loop(struct sensor *s, const sigset_t *set)
{
	const struct sensor_cfg *cfg = s->cfg;
	int64_t next = time_mono_ms() + (int64_t)cfg->batch_interval * 1000;
	for (;;) {
		struct timespec to = {0, 100000000L};
		int sig = sigtimedwait(set, NULL, &to);
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("stopping on signal %d", sig);
			break;
		}
		/* The capture cannot be reopened without the privileges given up at start, so a
		 * sensor that lost it stops (saving what it has) and exits 3: its service manager
		 * starts it again, once the interface is back. */
		if (s->capture_failed) {
			log_err("darknet capture lost: stopping, exit status 3");
			break;
		}
		if (time_mono_ms() >= next || sensor_queue_full(&s->queue)) {
			flush(s);
			next = time_mono_ms() + (int64_t)cfg->batch_interval * 1000;
		}
	}
	return s->capture_failed ? 3 : 0;
}

/* Stops what was started: the listeners and the capture first, then spools what they saw
 * last, then lets the pusher make a last attempt before closing everything. */
static void stop_all(struct sensor *s, struct started *st)
{
	s->stop_io = 1;
	if (s->stop_fd >= 0) {
		uint64_t one = 1;
		ssize_t w = write(s->stop_fd, &one, sizeof(one));
		(void)w;
	}
	if (st->hp)
		pthread_join(st->th_hp, NULL);
	if (st->cap)
		pthread_join(st->th_cap, NULL);
	if (st->queue && s->spool.dirfd >= 0)
		flush(s); /* what the listeners and capture saw last */
	s->stop_push = 1;
	if (st->push) {
		pthread_join(st->th_push, NULL);
		sensor_push_final(s, FINAL_PUSH_MS);
	}
	sensor_capture_close(s);
	sensor_honeypot_close(s);
	sensor_spool_close(&s->spool);
	if (st->queue)
		sensor_queue_deinit(&s->queue);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	if (st->curl)
		curl_global_cleanup();
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	bool check_only = false;
	int ret = parse_args(argc, argv, &path, &check_only);
	if (ret >= 0)
		return ret;
	log_init("nameplate-sensor", true, LOG_INFO);

	ret = 1;
	struct sensor s;
	memset(&s, 0, sizeof(s));
	s.stop_fd = -1;
	s.spool.dirfd = s.spool.rejfd = -1;
	struct started st = {0};
	for (int v = 0; v < SVC_COUNT; v++)
		for (unsigned i = 0; i < SENSOR_MAX_LISTEN; i++)
			s.listen_fd[v][i] = -1;

	struct sensor_cfg *cfg = calloc(1, sizeof(*cfg));
	char err[1024];
	if (cfg == NULL) {
		log_err("out of memory");
		return 1;
	}
	s.cfg = cfg;
	if (sensor_config_load(path, cfg, err, sizeof(err)) != NP_OK) {
		log_err("%s", err);
		goto out;
	}
	log_set_level(cfg->log_level);

	uid_t uid;
	gid_t gid;
	if (!resolve_user(path, cfg, &uid, &gid))
		goto out;
	if (check_only) {
		printf("%s: ok\n", path);
		ret = 0;
		goto out;
	}

	sigset_t set;
	if (!open_and_drop(&s, &st, uid, gid) || !start_threads(&s, &st, &set))
		goto out;
	log_info("sensor running: batches every %u s to %s", cfg->batch_interval, cfg->url);
	ret = run_loop(&s, &set);
out:
	stop_all(&s, &st);
	memset(cfg->token, 0, sizeof(cfg->token));
	free(cfg);
	return ret;
}
