/* SPDX-License-Identifier: MIT */
/* The batch spool: every batch is on disk (written atomically and fsynced) before it is
 * pushed, so a crash, a restart or a down server loses nothing but what the size cap drops. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "observe/codec.h"
#include "sensor/sensor.h"

/* Batch files: "b<ms since the epoch, 15 digits>-<sequence, 6 digits>-<id>.json", so name
 * order is write order. Temporary files start with ".tmp-" and are removed at start. */
static bool batch_name(const char *n)
{
	size_t len = strlen(n);
	return n[0] == 'b' && len > 6 && len < SENSOR_SPOOL_NAME_MAX &&
	       strcmp(n + len - 5, ".json") == 0 && strchr(n, '/') == NULL;
}

/* The only ownership change made as root: on the descriptor of the directory itself, opened
 * with O_NOFOLLOW|O_DIRECTORY, so neither a symlink nor a swapped entry redirects it (and a
 * directory cannot be hard-linked). The files inside are never touched as root: see
 * sensor_spool_scan(). */
static int open_dir(int at, const char *path, uid_t uid, gid_t gid)
{
	if (mkdirat(at, path, 0700) != 0 && errno != EEXIST) {
		log_err("cannot create %s: %m", path);
		return -1;
	}
	int fd = openat(at, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		log_err("cannot open %s: %m", path);
		return -1;
	}
	struct stat sb;
	if (fstat(fd, &sb) != 0 || (sb.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		log_err("%s is writable by group or others (chmod 700)", path);
		close(fd);
		return -1;
	}
	if (uid != (uid_t)-1 && (sb.st_uid != uid || sb.st_gid != gid) &&
	    fchown(fd, uid, gid) != 0) {
		log_err("cannot chown %s: %m", path);
		close(fd);
		return -1;
	}
	return fd;
}

int sensor_spool_open(struct sensor_spool *s, const char *dir, uint64_t max_bytes, uid_t uid,
                      gid_t gid)
{
	memset(s, 0, sizeof(*s));
	s->dirfd = s->rejfd = -1;
	s->max_bytes = max_bytes;
	s->dirfd = open_dir(AT_FDCWD, dir, uid, gid);
	if (s->dirfd < 0)
		goto fail;
	s->rejfd = open_dir(s->dirfd, "rejected", uid, gid);
	if (s->rejfd < 0)
		goto fail;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->changed, NULL);
	return NP_OK;
fail:
	if (s->rejfd >= 0)
		close(s->rejfd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	s->dirfd = s->rejfd = -1;
	return NP_EIO;
}

void sensor_spool_close(struct sensor_spool *s)
{
	if (s->dirfd < 0)
		return;
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->changed);
	close(s->rejfd);
	close(s->dirfd);
	s->dirfd = s->rejfd = -1;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The batch names in dirfd, sorted. Caller holds no lock (readdir is on a private dup). */
static int list_dir(int dirfd, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return NP_EIO;
	}
	int ret = NP_OK;
	size_t cap = 0;
	char **v = NULL;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!batch_name(de->d_name))
			continue;
		if (*n == cap) {
			size_t nc = cap == 0 ? 64 : cap * 2;
			char **nv = realloc(v, nc * sizeof(*nv));
			if (nv == NULL) {
				ret = NP_ENOMEM;
				break;
			}
			v = nv;
			cap = nc;
		}
		v[*n] = strdup(de->d_name);
		if (v[*n] == NULL) {
			ret = NP_ENOMEM;
			break;
		}
		(*n)++;
	}
	closedir(d);
	if (ret != NP_OK) {
		sensor_spool_list_free(v, *n);
		*n = 0;
		return ret;
	}
	if (*n > 0)
		qsort(v, *n, sizeof(*v), cmp_names);
	*names = v;
	return NP_OK;
}

int sensor_spool_list(struct sensor_spool *s, char ***names, size_t *n)
{
	return list_dir(s->dirfd, names, n);
}

void sensor_spool_list_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Removes name from dirfd and subtracts its size when it is a spooled batch. */
static void remove_locked(struct sensor_spool *s, int dirfd, const char *name)
{
	struct stat sb;
	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
		return;
	if (unlinkat(dirfd, name, 0) != 0)
		return;
	if (dirfd == s->dirfd)
		s->bytes = s->bytes > (uint64_t)sb.st_size ? s->bytes - (uint64_t)sb.st_size : 0;
}

/* Drops the oldest batches while the spool is over its cap; s->lock held. */
static void enforce_cap(struct sensor_spool *s)
{
	if (s->bytes <= s->max_bytes)
		return;
	char **names;
	size_t n;
	if (list_dir(s->dirfd, &names, &n) != NP_OK)
		return;
	/* The newest batch (the one just written) is always kept. */
	for (size_t i = 0; i + 1 < n && s->bytes > s->max_bytes; i++) {
		log_warn("spool over %" PRIu64 " MB: dropping the oldest batch %s",
		         s->max_bytes >> 20, names[i]);
		remove_locked(s, s->dirfd, names[i]);
	}
	sensor_spool_list_free(names, n);
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return NP_EIO;
		p += w;
		len -= (size_t)w;
	}
	return NP_OK;
}

int sensor_spool_write(struct sensor_spool *s, const char *id, const char *data, size_t len)
{
	char tmp[SENSOR_SPOOL_NAME_MAX], name[SENSOR_SPOOL_NAME_MAX];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	int ret = NP_EIO;
	int fd = -1;

	pthread_mutex_lock(&s->lock);
	unsigned seq = s->seq++ % 1000000;
	if ((size_t)snprintf(tmp, sizeof(tmp), ".tmp-%s", id) >= sizeof(tmp) ||
	    (size_t)snprintf(name, sizeof(name), "b%015" PRId64 "-%06u-%s.json", ms, seq, id) >=
	        sizeof(name)) {
		ret = NP_EINVAL;
		goto out;
	}
	fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		log_err("spool: cannot create %s: %m", tmp);
		goto out;
	}
	if (write_all(fd, data, len) != NP_OK || fsync(fd) != 0) {
		log_err("spool: cannot write %s: %m", tmp);
		goto out;
	}
	close(fd);
	fd = -1;
	if (renameat(s->dirfd, tmp, s->dirfd, name) != 0 || fsync(s->dirfd) != 0) {
		log_err("spool: cannot commit %s: %m", name);
		goto out;
	}
	s->bytes += len;
	enforce_cap(s);
	pthread_cond_broadcast(&s->changed);
	ret = NP_OK;
out:
	if (fd >= 0)
		close(fd);
	if (ret != NP_OK)
		unlinkat(s->dirfd, tmp, 0);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int sensor_spool_read(struct sensor_spool *s, const char *name, char **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	/* O_NONBLOCK: a FIFO planted under a batch name must not hang the pusher. */
	int fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? NP_ENOTFOUND : NP_EIO;
	int ret = NP_EIO;
	char *buf = NULL;
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
		goto out;
	if ((uint64_t)sb.st_size > OBS_BATCH_MAX_BYTES) {
		ret = NP_ETOOBIG;
		goto out;
	}
	size_t want = (size_t)sb.st_size;
	buf = malloc(want + 1);
	if (buf == NULL) {
		ret = NP_ENOMEM;
		goto out;
	}
	size_t got = 0;
	while (got < want) {
		ssize_t r = read(fd, buf + got, want - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto out;
		got += (size_t)r;
	}
	buf[got] = '\0';
	*data = buf;
	*len = got;
	buf = NULL;
	ret = NP_OK;
out:
	free(buf);
	close(fd);
	return ret;
}

void sensor_spool_done(struct sensor_spool *s, const char *name)
{
	pthread_mutex_lock(&s->lock);
	remove_locked(s, s->dirfd, name);
	pthread_mutex_unlock(&s->lock);
}

/* rejected/ is for a person to look at, not an archive: keeps the newest only. s->lock held. */
static void trim_rejected_locked(struct sensor_spool *s)
{
	char **names;
	size_t n;
	if (list_dir(s->rejfd, &names, &n) != NP_OK)
		return;
	for (size_t i = 0; n > SENSOR_REJECTED_MAX && i < n - SENSOR_REJECTED_MAX; i++)
		remove_locked(s, s->rejfd, names[i]);
	sensor_spool_list_free(names, n);
}

void sensor_spool_reject(struct sensor_spool *s, const char *name)
{
	pthread_mutex_lock(&s->lock);
	struct stat sb;
	if (fstatat(s->dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    renameat(s->dirfd, name, s->rejfd, name) == 0) {
		s->bytes = s->bytes > (uint64_t)sb.st_size ? s->bytes - (uint64_t)sb.st_size : 0;
		fsync(s->rejfd);
		fsync(s->dirfd);
	}
	trim_rejected_locked(s);
	pthread_mutex_unlock(&s->lock);
}

/* Runs after the privilege drop, as the user the spool belongs to. The sensor parses hostile
 * traffic, so the spool's contents are the unprivileged side's: a compromised sensor can
 * plant a hard link to a root-owned file, a symlink or a FIFO under a batch name, or swap an
 * entry between a check and a use. Root therefore never acts on an entry here (chowning a
 * foreign batch as root would hand such a link's target over). As the user, every entry
 * named like a batch that is not a regular file of this user is set aside into rejected/ and
 * logged; renaming it changes neither it nor what it points to. That includes genuine
 * batches left by a run under another user: chown them to this user and move them back to
 * have them sent. */
int sensor_spool_scan(struct sensor_spool *s)
{
	int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return NP_EIO;
	}
	uid_t me = geteuid();
	bool moved = false;
	struct dirent *de;
	pthread_mutex_lock(&s->lock);
	s->bytes = 0;
	while ((de = readdir(d)) != NULL) {
		struct stat sb;
		if (strncmp(de->d_name, ".tmp-", 5) == 0) {
			unlinkat(s->dirfd, de->d_name, 0); /* an interrupted write */
			continue;
		}
		if (!batch_name(de->d_name) ||
		    fstatat(s->dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (S_ISREG(sb.st_mode) && sb.st_uid == me) {
			s->bytes += (uint64_t)sb.st_size;
			continue;
		}
		const char *what =
		    !S_ISREG(sb.st_mode) ? "not a regular file" : "owned by another user";
		if (renameat(s->dirfd, de->d_name, s->rejfd, de->d_name) == 0) {
			log_warn("spool: %s is %s (uid %u): set aside in rejected/", de->d_name,
			         what, (unsigned)sb.st_uid);
			moved = true;
		} else {
			log_warn("spool: %s is %s (uid %u) and cannot be set aside: %m", de->d_name,
			         what, (unsigned)sb.st_uid);
		}
	}
	closedir(d);
	if (moved) {
		fsync(s->rejfd);
		fsync(s->dirfd);
		trim_rejected_locked(s);
	}
	pthread_mutex_unlock(&s->lock);
	return NP_OK;
}

void sensor_spool_wait(struct sensor_spool *s, unsigned seen_seq, int timeout_ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	if (s->seq == seen_seq)
		pthread_cond_timedwait(&s->changed, &s->lock, &ts);
	pthread_mutex_unlock(&s->lock);
}

unsigned sensor_spool_seq(struct sensor_spool *s)
{
	pthread_mutex_lock(&s->lock);
	unsigned seq = s->seq;
	pthread_mutex_unlock(&s->lock);
	return seq;
}
