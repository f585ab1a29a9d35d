/* SPDX-License-Identifier: MIT */
/* nameplate-sensor internals: its configuration, the honeypot protocol parsers, the pending
 * event queue, the on-disk spool, the pusher and the listener / capture threads.
 *
 * Data flow: honeypot and capture threads -> sensor_queue (aggregated, bounded) -> the main
 * thread turns it into a batch every batch_interval -> sensor_spool (durable, before any
 * push) -> the pusher thread POSTs spooled batches oldest first and deletes each on 200. */
#ifndef NP_SENSOR_SENSOR_H
#define NP_SENSOR_SENSOR_H

#include <limits.h>
#include <net/if.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "common/addr.h"
#include "common/config.h"
#include "common/err.h"
#include "observe/observe.h"

/* ---- configuration (config.c) ---- */

#define SENSOR_MAX_LISTEN 16
#define SENSOR_MAX_NETS   64
#define SENSOR_TOKEN_MAX  160 /* "NAME:SECRET": a 63-character name, ':', a secret */

enum sensor_svc { SVC_TELNET, SVC_HTTP, SVC_PLAIN, SVC_COUNT };

struct sensor_cfg {
	char path[PATH_MAX];

	/* [sensor] */
	char server[CFG_URL_MAX];     /* "server": base URL of nameplated; required */
	char url[CFG_URL_MAX + 32];   /* server + "/api/v1/sensor/batch" */
	char token_file[PATH_MAX];    /* "token_file": required, mode 0600 or stricter */
	char token[SENSOR_TOKEN_MAX]; /* its content, "NAME:SECRET" */
	char spool_dir[PATH_MAX];     /* "spool_dir": /var/lib/nameplate-sensor */
	char user[64];                /* "user": drop to this user; "" = stay */
	unsigned batch_interval;      /* "batch_interval" seconds: 2 */
	unsigned batch_max;           /* "batch_max" events: 5000 */
	unsigned spool_max_mb;        /* "spool_max_mb": 256 */
	struct np_cidr research[CFG_MAX_RESEARCH]; /* "research", repeatable lists */
	unsigned n_research;
	int log_level; /* "log_level": info */

	/* [telnet], [http], [plain]: "listen" ADDR:PORT, repeatable */
	struct cfg_listen listen[SVC_COUNT][SENSOR_MAX_LISTEN];
	unsigned n_listen[SVC_COUNT];

	/* [darknet] */
	char interface[IFNAMSIZ];                  /* "interface": "" = no capture */
	struct np_cidr addresses[SENSOR_MAX_NETS]; /* "addresses": only these destinations */
	unsigned n_addresses;
};

/* Reads path into *cfg (overwritten; defaults first) and reads the token file. Strict:
 * unknown sections and keys, duplicates and bad values fail with "file:line: message" in
 * err. The token file must be a regular file that group and others cannot read. */
int sensor_config_load(const char *path, struct sensor_cfg *cfg, char *err,
                       size_t errlen) np_mustcheck;


/* ---- honeypot protocol helpers (proto.c; pure, unit-tested) ---- */

#define SENSOR_LINE_MAX  128 /* telnet input line kept; the rest of a longer line is dropped */
#define SENSOR_CRED_MAX  32  /* user / password as recorded (obs_event user[33]) */
#define SENSOR_HTTP_HEAD 8192

/* A telnet input decoder: strips IAC commands and option negotiation (IAC IAC is a data
 * 0xff), ends lines at CR, LF, CR LF or CR NUL. */
struct sensor_telnet {
	int state;
	char line[SENSOR_LINE_MAX + 1];
	size_t len;
	bool have_line; /* line was handed out: the next feed starts a new one */
};

void sensor_telnet_init(struct sensor_telnet *t);
/* Consumes buf[0..n) until a line is complete. Returns true when t->line (NUL-terminated,
 * at most SENSOR_LINE_MAX bytes) holds one; *used says how much of buf was consumed, so the
 * caller calls again with the rest after handling the line (which the next call clears). */
bool sensor_telnet_feed(struct sensor_telnet *t, const uint8_t *buf, size_t n, size_t *used);

/* Copies a credential as recorded: control characters dropped, bytes outside printable
 * ASCII become '?', at most SENSOR_CRED_MAX bytes. out has SENSOR_CRED_MAX + 1 bytes. */
void sensor_cred_clean(char *out, const char *in, size_t len);

struct sensor_http_req {
	char method[16];
	char target[256]; /* request target as sent (truncated), printable ASCII */
	char agent[128];  /* User-Agent or "" */
	size_t head_len;  /* bytes of the head including the blank line */
	size_t content_length;
};

/* Parses an HTTP/1.x request head in buf[0..len). NP_OK when complete (*out filled);
 * NP_EAGAIN when more bytes are needed; NP_EMALFORMED when it is no request head. */
int sensor_http_parse(const char *buf, size_t len, struct sensor_http_req *out) np_mustcheck;

/* The known IoT exploit path that target contains, or NULL. */
const char *sensor_exploit_match(const char *target);
/* Whether text (a request target or body) carries a shell download command (wget, curl,
 * tftp, ftpget followed by an address), i.e. a malware fetch. */
bool sensor_download_match(const char *text, size_t len);

/* ---- pending events (queue.c) ---- */

/* Events waiting for the next batch. Identical events (source, kind, protocol, port, hour,
 * credentials) within one batch become one event with a count, so a flood cannot grow a
 * batch beyond its distinct events; once max distinct events wait, more are dropped and
 * counted until the main thread takes the batch. */
struct sensor_queue {
	pthread_mutex_t lock;
	struct obs_event *cur, *spare;
	uint32_t *slots; /* hash table of index + 1 into cur; 0 = empty */
	size_t nslots, n, max;
	uint64_t dropped, added;
};

int sensor_queue_init(struct sensor_queue *q, size_t max) np_mustcheck;
void sensor_queue_deinit(struct sensor_queue *q);
void sensor_queue_add(struct sensor_queue *q, const struct obs_event *e);
/* Whether max distinct events are waiting. */
bool sensor_queue_full(struct sensor_queue *q);
/* Takes the waiting events: *out points at them until the next take. Returns their count
 * and the events dropped since the last take in *dropped. */
size_t sensor_queue_take(struct sensor_queue *q, const struct obs_event **out, uint64_t *dropped);

/* ---- spool (spool.c) ---- */

/* Batches on disk, named so that name order is age order. All file operations are relative
 * to directory descriptors opened before the privilege drop, so the spool works even when
 * the unprivileged user cannot traverse the path to it. */
struct sensor_spool {
	int dirfd, rejfd;
	uint64_t max_bytes, bytes;
	unsigned seq;
	pthread_mutex_t lock;
	pthread_cond_t changed; /* signalled after a write */
};

#define SENSOR_SPOOL_NAME_MAX 128
#define SENSOR_REJECTED_MAX   256 /* files kept in rejected/; older ones are removed */

/* Creates dir (0700) and dir/rejected when missing, chowns both directories (never a file
 * in them) to uid/gid when uid is not (uid_t)-1, refuses a directory that group or others
 * can write. Runs before the privilege drop. */
int sensor_spool_open(struct sensor_spool *s, const char *dir, uint64_t max_bytes, uid_t uid,
                      gid_t gid) np_mustcheck;
/* Runs after the drop: removes leftovers of interrupted writes, sets aside into rejected/
 * (logged) every batch that is not a regular file of the running user, and sums the sizes
 * of the others. */
int sensor_spool_scan(struct sensor_spool *s) np_mustcheck;
void sensor_spool_close(struct sensor_spool *s);
/* Writes a batch: a temporary file, fsync, rename, fsync of the directory. Then drops the
 * oldest batches while the spool exceeds max_bytes (logged). */
int sensor_spool_write(struct sensor_spool *s, const char *id, const char *data,
                       size_t len) np_mustcheck;
/* The names of the spooled batches, oldest first (malloc'd array of malloc'd names; free
 * with sensor_spool_list_free). */
int sensor_spool_list(struct sensor_spool *s, char ***names, size_t *n) np_mustcheck;
void sensor_spool_list_free(char **names, size_t n);
/* Reads a batch (malloc'd). NP_ENOTFOUND when it is gone (dropped meanwhile). */
int sensor_spool_read(struct sensor_spool *s, const char *name, char **data,
                      size_t *len) np_mustcheck;
/* Deletes a batch the server took, or moves one it refused to rejected/. */
void sensor_spool_done(struct sensor_spool *s, const char *name);
void sensor_spool_reject(struct sensor_spool *s, const char *name);
/* A counter of writes; sensor_spool_wait returns once it differs from seen_seq (a write
 * happened since) or timeout_ms passed. */
unsigned sensor_spool_seq(struct sensor_spool *s);
void sensor_spool_wait(struct sensor_spool *s, unsigned seen_seq, int timeout_ms);

/* ---- push (push.c) ---- */

enum sensor_push_result {
	PUSH_OK,     /* 2xx: the server has it */
	PUSH_REJECT, /* 400/401/403/413: never retried */
	PUSH_RETRY,  /* 429, 5xx, anything else, or no answer: back off and retry */
};

/* POSTs body to url with "Authorization: Bearer token". timeout_ms bounds the whole
 * request (the connect phase at most 5 s of it); stop (may be NULL) aborts it when set.
 * *status gets the HTTP status (0 without an answer). */
enum sensor_push_result sensor_push(const char *url, const char *token, const char *body,
                                    size_t len, long timeout_ms, const volatile sig_atomic_t *stop,
                                    long *status);

/* ---- threads ---- */

struct sensor {
	struct sensor_cfg *cfg;
	struct sensor_queue queue;
	struct sensor_spool spool;
	volatile sig_atomic_t stop_io;        /* honeypot and capture threads */
	volatile sig_atomic_t stop_push;      /* the pusher */
	volatile sig_atomic_t capture_failed; /* set by the capture thread as it gives up */
	int stop_fd;                          /* eventfd: wakes the honeypot and capture loops */

	/* honeypot.c */
	int listen_fd[SVC_COUNT][SENSOR_MAX_LISTEN];
	uint16_t listen_port[SVC_COUNT][SENSOR_MAX_LISTEN];

	/* capture.c */
	void *pcap; /* pcap_t */
	int linktype;
};

/* Binds every configured listener (non-blocking). Called before the privilege drop. */
int sensor_honeypot_open(struct sensor *s) np_mustcheck;
void sensor_honeypot_close(struct sensor *s);
/* The honeypot thread: one epoll loop over listeners and connections until stop_io. */
void *sensor_honeypot_run(void *arg);

/* Opens, filters and activates the capture on [darknet] interface (when set). */
int sensor_capture_open(struct sensor *s) np_mustcheck;
void sensor_capture_close(struct sensor *s);
void *sensor_capture_run(void *arg);

/* The pusher thread: sends spooled batches oldest first until stop_push. */
void *sensor_pusher_run(void *arg);
/* One last pass at exit: pushes spooled batches until one fails or deadline_ms passes. */
void sensor_push_final(struct sensor *s, long budget_ms);

#endif
