/* SPDX-License-Identifier: MIT */
/* Per-host client state: one small JSON file per host in state_dir, replaced atomically so
 * that a crash or power cut leaves either the old or the new state, never a torn one. */
#include "client/client.h"
#include "common/log.h"
#include "common/macros.h"
#include "common/str.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_VERSION  1
#define STATE_FILE_MAX 8192 /* a state file is a few hundred bytes; refuse anything huge */

static const char *const class_names[] = {
    [RESULT_NONE] = "none",
    [RESULT_OK] = "ok",
    [RESULT_FATAL] = "fatal",
    [RESULT_TRANSIENT] = "transient",
};

static int state_path(const char *state_dir, const char *fqdn, char *out, size_t len)
{
	/* fqdn was checked by the config parser (LDH labels): no '/' and no leading dot. */
	if (fqdn[0] == '\0' || fqdn[0] == '.' || strchr(fqdn, '/') != NULL)
		return NP_EINVAL;
	int n = snprintf(out, len, "%s/%s.state", state_dir, fqdn);
	return n < 0 || (size_t)n >= len ? NP_ETOOBIG : NP_OK;
}

static void hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hex_decode(const char *s, uint8_t *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return NP_EMALFORMED;
	for (size_t i = 0; i < 2 * n; i++) {
		char ch = s[i];
		int v = ch >= '0' && ch <= '9'   ? ch - '0'
		        : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
		                                 : -1;
		if (v < 0)
			return NP_EMALFORMED;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(v << 4);
		else
			out[i / 2] |= (uint8_t)v;
	}
	return NP_OK;
}

/* Reads an optional address member: null or absent means none. */
static int get_addr(json_t *root, const char *key, int family, struct np_addr *out)
{
	memset(out, 0, sizeof(*out));
	json_t *v = json_object_get(root, key);
	if (v == NULL || json_is_null(v))
		return NP_OK;
	if (!json_is_string(v) || addr_parse(json_string_value(v), out) != NP_OK ||
	    out->family != family)
		return NP_EMALFORMED;
	return NP_OK;
}

static int get_int(json_t *root, const char *key, int64_t *out)
{
	json_t *v = json_object_get(root, key);
	if (v == NULL) {
		*out = 0;
		return NP_OK;
	}
	if (!json_is_integer(v))
		return NP_EMALFORMED;
	*out = (int64_t)json_integer_value(v);
	return NP_OK;
}

static int get_str(json_t *root, const char *key, char *out, size_t len)
{
	json_t *v = json_object_get(root, key);
	out[0] = '\0';
	if (v == NULL)
		return NP_OK;
	if (!json_is_string(v))
		return NP_EMALFORMED;
	np_strlcpy(out, json_string_value(v), len);
	return NP_OK;
}

static int get_digest(json_t *root, const char *key, uint8_t out[32])
{
	json_t *v = json_object_get(root, key);
	memset(out, 0, 32);
	if (v == NULL || json_is_null(v))
		return NP_OK;
	if (!json_is_string(v))
		return NP_EMALFORMED;
	return hex_decode(json_string_value(v), out, 32);
}

/* A missing file is a host never attempted: a zeroed state and NP_OK. A file that does not
 * parse is NP_EMALFORMED (the caller decides; st is zeroed). */
int state_load(const char *state_dir, const char *fqdn, struct host_state *st)
{
	char path[PATH_MAX];
	memset(st, 0, sizeof(*st));
	int ret = state_path(state_dir, fqdn, path, sizeof(path));
	if (ret != NP_OK)
		return ret;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? NP_OK : -errno;

	char buf[STATE_FILE_MAX];
	size_t n = 0;
	ret = NP_EMALFORMED;
	json_t *root = NULL;
	while (n < sizeof(buf)) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - n);
		if (r < 0) {
			ret = -errno;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n == sizeof(buf)) {
		ret = NP_ETOOBIG;
		goto out;
	}
	root = json_loadb(buf, n, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(root))
		goto out;
	int64_t version = 0, cls, latched, failures = 0;
	char cls_name[16];
	int e = 0;
	e |= get_int(root, "version", &version);
	e |= get_addr(root, "ipv4", AF_INET, &st->v4);
	e |= get_addr(root, "ipv6", AF_INET6, &st->v6);
	e |= get_str(root, "last_class", cls_name, sizeof(cls_name));
	e |= get_str(root, "last_code", st->last_code, sizeof(st->last_code));
	e |= get_str(root, "last_message", st->last_message, sizeof(st->last_message));
	e |= get_int(root, "last_attempt", &st->last_attempt);
	e |= get_int(root, "last_success", &st->last_success);
	e |= get_int(root, "failures", &failures);
	e |= get_int(root, "next_attempt", &st->next_attempt);
	e |= get_digest(root, "latch_digest", st->latch_digest);
	e |= get_digest(root, "ok_digest", st->ok_digest);
	json_t *l = json_object_get(root, "latched");
	if (e != 0 || version != STATE_VERSION || (l != NULL && !json_is_boolean(l)) ||
	    failures < 0 || failures > 1000)
		goto out;
	latched = l != NULL && json_is_true(l);
	st->latched = latched != 0;
	st->failures = (unsigned)failures;
	for (cls = 0; cls < (int64_t)ARRAY_SIZE(class_names); cls++)
		if (strcmp(cls_name, class_names[cls]) == 0)
			break;
	if (cls == (int64_t)ARRAY_SIZE(class_names)) {
		if (cls_name[0] != '\0')
			goto out;
		cls = RESULT_NONE;
	}
	st->last_class = (enum result_class)cls;
	ret = NP_OK;
out:
	json_decref(root);
	close(fd);
	if (ret != NP_OK)
		memset(st, 0, sizeof(*st));
	return ret;
}

/* Creates state_dir (and missing parents) with mode 0700: the directory tells which names a
 * machine updates and when, which is nobody else's business. */
static int make_dir(const char *dir)
{
	char tmp[PATH_MAX];
	if (np_strlcpy(tmp, dir, sizeof(tmp)) >= sizeof(tmp))
		return NP_ETOOBIG;
	for (char *p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
		return -errno;
	return NP_OK;
}

static json_t *addr_json(const struct np_addr *a)
{
	char text[INET6_ADDRSTRLEN];
	if (a->family == 0)
		return json_null();
	return json_string(addr_format(a, text, sizeof(text)));
}

int state_save(const char *state_dir, const char *fqdn, const struct host_state *st)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	int ret = state_path(state_dir, fqdn, path, sizeof(path));
	if (ret != NP_OK)
		return ret;
	ret = make_dir(state_dir);
	if (ret != NP_OK)
		return ret;
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);

	char latch[65], okd[65];
	hex_encode(st->latch_digest, 32, latch);
	hex_encode(st->ok_digest, 32, okd);
	int fd = -1, dfd = -1;
	char *text = NULL;
	json_t *root = json_object();
	ret = NP_ENOMEM;
	if (root == NULL)
		goto out;
	unsigned cls = st->last_class < ARRAY_SIZE(class_names) ? st->last_class : RESULT_NONE;
	int e = 0;
	e |= json_object_set_new(root, "version", json_integer(STATE_VERSION));
	e |= json_object_set_new(root, "ipv4", addr_json(&st->v4));
	e |= json_object_set_new(root, "ipv6", addr_json(&st->v6));
	e |= json_object_set_new(root, "last_class", json_string(class_names[cls]));
	/* Codes and messages may come from a server: jansson refuses invalid UTF-8, so they are
	 * stored escaped to printable ASCII. */
	char code[sizeof(st->last_code)], msg[sizeof(st->last_message)];
	log_escape(code, sizeof(code), st->last_code, strlen(st->last_code));
	log_escape(msg, sizeof(msg), st->last_message, strlen(st->last_message));
	e |= json_object_set_new(root, "last_code", json_string(code));
	e |= json_object_set_new(root, "last_message", json_string(msg));
	e |= json_object_set_new(root, "last_attempt", json_integer(st->last_attempt));
	e |= json_object_set_new(root, "last_success", json_integer(st->last_success));
	e |= json_object_set_new(root, "latched", json_boolean(st->latched));
	e |= json_object_set_new(root, "latch_digest", json_string(latch));
	e |= json_object_set_new(root, "ok_digest", json_string(okd));
	e |= json_object_set_new(root, "failures", json_integer(st->failures));
	e |= json_object_set_new(root, "next_attempt", json_integer(st->next_attempt));
	if (e != 0)
		goto out;
	text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (text == NULL)
		goto out;

	fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out_unlink;
		}
		off += (size_t)w;
	}
	if (write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
		ret = NP_EIO;
		goto out_unlink;
	}
	if (close(fd) != 0) {
		fd = -1;
		ret = NP_EIO;
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		ret = -errno;
		goto out_unlink;
	}
	/* The rename is durable only once the directory entry is on disk. */
	dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) != 0) {
		ret = NP_EIO;
		goto out;
	}
	ret = NP_OK;
	goto out;
out_unlink:
	unlink(tmp);
out:
	if (dfd >= 0)
		close(dfd);
	if (fd >= 0)
		close(fd);
	free(text);
	json_decref(root);
	return ret;
}
