/* SPDX-License-Identifier: MIT */
/* Secret generation, hashing and comparison with libsodium; the reader of secret files. */
#include "common/secret.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/str.h"

/* Domain separation: the same bytes hashed for another purpose give another value. */
static const unsigned char hash_key[crypto_generichash_KEYBYTES] = "nameplate update secret v1";

int secret_lib_init(void)
{
	return sodium_init() < 0 ? NP_EFAILED : NP_OK;
}

void secret_generate(char *out)
{
	unsigned char raw[32];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, SECRET_TEXT_LEN + 1, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

void secret_hash(const char *secret, size_t len, uint8_t out[SECRET_HASH_LEN])
{
	crypto_generichash(out, SECRET_HASH_LEN, (const unsigned char *)secret, len, hash_key,
			   sizeof(hash_key));
}

bool secret_hash_equal(const uint8_t a[SECRET_HASH_LEN], const uint8_t b[SECRET_HASH_LEN])
{
	return sodium_memcmp(a, b, SECRET_HASH_LEN) == 0;
}

void secret_fingerprint(const uint8_t hash[SECRET_HASH_LEN], char out[9])
{
	snprintf(out, 9, "%02x%02x%02x%02x", hash[0], hash[1], hash[2], hash[3]);
}

bool secret_file_private(const struct stat *sb)
{
	return (sb->st_mode & (S_IRWXG | S_IRWXO)) == 0 &&
	       (sb->st_uid == geteuid() || sb->st_uid == 0);
}

int secret_file_read(const char *path, const char *what, const char *form, char *out, size_t outlen,
                     size_t *outn, char *err, size_t errlen)
{
	/* O_NONBLOCK: a FIFO put in the file's place must not hang the start; it is refused
	 * below as not a regular file. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s %s: %m", what, path);
		return NP_EIO;
	}
	int ret = NP_EINVAL;
	size_t n = 0;
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s %s is not a regular file", what, path);
		goto out;
	}
	if ((sb.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, errlen, "%s %s is readable by others (chmod 600)", what, path);
		goto out;
	}
	if (!secret_file_private(&sb)) {
		snprintf(err, errlen,
		         "%s %s belongs to uid %u: it must belong to root or to the "
		         "user reading it",
		         what, path, (unsigned)sb.st_uid);
		goto out;
	}
	while (n < outlen) {
		ssize_t r = read(fd, out + n, outlen - n);
		if (r < 0) {
			snprintf(err, errlen, "cannot read %s %s: %m", what, path);
			ret = NP_EIO;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n == outlen) {
		snprintf(err, errlen, "%s %s holds more than %zu bytes", what, path, outlen - 1);
		goto out;
	}
	while (n > 0 && isspace((unsigned char)out[n - 1]))
		n--;
	out[n] = '\0';
	if (n == 0 || memchr(out, '\0', n) != NULL || str_has_ctl(out)) {
		snprintf(err, errlen, "%s %s must hold %s", what, path, form);
		goto out;
	}
	*outn = n;
	ret = NP_OK;
out:
	if (ret != NP_OK)
		sodium_memzero(out, outlen);
	close(fd);
	return ret;
}

/* The owner of the directory path is in: the data_dir, which the server's user owns. */
static bool dir_owner(const char *path, uid_t *uid, gid_t *gid)
{
	char dir[4096];
	struct stat sb;
	if (np_strlcpy(dir, path, sizeof(dir)) >= sizeof(dir) || stat(dirname(dir), &sb) != 0)
		return false;
	*uid = sb.st_uid;
	*gid = sb.st_gid;
	return true;
}

/* Root's nameplatectl makes the file in a data_dir that the server's user owns (the server
 * drops to it): the file goes to the directory's owner, as SQLite does with the journals it
 * makes as root, or the server could not read its own keys. */
static bool give_to_dir_owner(int fd, const char *path)
{
	uid_t uid;
	gid_t gid;
	if (geteuid() != 0)
		return true;
	if (!dir_owner(path, &uid, &gid))
		return false;
	return uid == 0 || fchown(fd, uid, gid) == 0;
}

static int read_key_file(int fd, const char *path, const char *what, uint8_t *key, size_t len)
{
	struct stat sb;
	uid_t uid;
	gid_t gid;
	/* Root reads one that belongs to the data_dir's owner too: that user could replace
	 * the whole store anyway, and root's nameplatectl made it theirs (give_to_dir_owner). */
	bool ours = fstat(fd, &sb) == 0 &&
	            (secret_file_private(&sb) ||
	             (geteuid() == 0 && (sb.st_mode & (S_IRWXG | S_IRWXO)) == 0 &&
	              dir_owner(path, &uid, &gid) && sb.st_uid == uid));
	if (!ours || !S_ISREG(sb.st_mode)) {
		log_err("%s: %s must be a regular file that only its owner can read (chmod 600)",
		        what, path);
		return NP_EIO;
	}
	ssize_t n = read(fd, key, len);
	if (n != (ssize_t)len) {
		log_err("%s: %s: not a sealing key (%zu bytes expected)", what, path, len);
		sodium_memzero(key, len);
		return NP_EIO;
	}
	return NP_OK;
}

int secret_key_file(const char *path, const char *what, bool create, uint8_t *key, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT && create) {
		/* O_EXCL: when two processes make it at once, one wins and the other reads it. */
		int wfd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (wfd >= 0) {
			uint8_t fresh[64];
			if (len > sizeof(fresh)) {
				close(wfd);
				unlink(path);
				return NP_EINVAL;
			}
			randombytes_buf(fresh, len);
			bool ok = give_to_dir_owner(wfd, path) &&
			          write(wfd, fresh, len) == (ssize_t)len && fsync(wfd) == 0;
			sodium_memzero(fresh, sizeof(fresh));
			if (close(wfd) != 0 || !ok) {
				log_err("%s: cannot write %s: %s", what, path, strerror(errno));
				unlink(path);
				return NP_EIO;
			}
		} else if (errno != EEXIST) {
			log_err("%s: cannot create %s: %s", what, path, strerror(errno));
			return NP_EIO;
		}
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0) {
		log_err("%s: cannot open %s: %s", what, path, strerror(errno));
		return NP_EIO;
	}
	int ret = read_key_file(fd, path, what, key, len);
	close(fd);
	return ret;
}
