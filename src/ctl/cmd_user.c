/* SPDX-License-Identifier: MIT */
/* nameplatectl user ...: accounts. Each change runs in one transaction. A password is read
 * from standard input only (never from the command line, where ps and the shell's history
 * would show it), checked with password_acceptable and kept as its argon2id hash; the slow
 * hashing happens before the transaction, so the store's write lock is held briefly. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "account/password.h"
#include "common/clock.h"
#include "common/secret.h"
#include "common/str.h"
#include "ctl/ctl.h"
#include "store/abuse.h"

#define USER_USAGE                                                                                 \
	"user add NAME [--email ADDR] [--password-stdin] [--admin] | user list | "                 \
	"user email NAME ADDRESS | user password NAME --password-stdin | "                         \
	"user admin NAME on|off | user lock|unlock|suspend|del NAME"

static bool user_name_ok(const char *name)
{
	if (name_ok(name, strlen(name)))
		return true;
	ctl_err("bad user name '%s': use [a-z0-9][a-z0-9._-]{0,62}", name);
	return false;
}

/* Reads one line of standard input (its line end dropped) into pw, at most PASSWORD_MAX + 1
 * bytes so that a longer one is seen as too long; *len is its length. On a terminal it asks
 * and does not echo the typing. false (with a message) when there is no line. */
static bool read_password(char pw[PASSWORD_MAX + 2], size_t *len)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	if (tty) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		fputs("password: ", stderr);
	}
	/* Byte by byte with read(2): no stdio buffer keeps a copy, and nothing after the line
	 * is consumed. */
	size_t n = 0;
	bool line = false, failed = false;
	for (;;) {
		char ch;
		ssize_t r = read(STDIN_FILENO, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			failed = true;
		if (r <= 0)
			break;
		if (ch == '\n') {
			line = true;
			break;
		}
		if (n == PASSWORD_MAX + 1)
			continue; /* too long already; read on to the line end */
		pw[n++] = ch;
	}
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (n > 0 && pw[n - 1] == '\r')
		n--; /* a line typed or written on Windows */
	pw[n] = '\0';
	*len = n;
	if (failed || (n == 0 && !line)) {
		ctl_err("no password on standard input (--password-stdin reads one line)");
		return false;
	}
	return true;
}

/* Reads, checks and hashes the password from standard input into hash. */
static bool password_from_stdin(char hash[STORE_PWHASH_MAX])
{
	char pw[PASSWORD_MAX + 2], err[128];
	size_t len;
	bool ok = read_password(pw, &len);
	if (ok && !password_acceptable(pw, len, err, sizeof(err))) {
		ctl_err("password refused: %s", err);
		ok = false;
	}
	if (ok && secret_lib_init() != NP_OK) {
		ctl_err("cannot initialise libsodium");
		ok = false;
	}
	if (ok) {
		int ret = password_hash(pw, len, hash);
		if (ret != NP_OK) {
			ctl_err("cannot hash the password: %s", np_strerror(ret));
			ok = false;
		}
	}
	explicit_bzero(pw, sizeof(pw));
	return ok;
}

/* ---- user add ---- */

static int user_add(struct ctl *c, int argc, char **argv)
{
	const char *name = NULL, *email = "";
	bool with_password = false, admin = false;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--email") == 0 && i + 1 < argc)
			email = argv[++i];
		else if (strcmp(argv[i], "--password-stdin") == 0)
			with_password = true;
		else if (strcmp(argv[i], "--admin") == 0)
			admin = true;
		else if (argv[i][0] != '-' && name == NULL)
			name = argv[i];
		else
			return ctl_usage(
			    "user add NAME [--email ADDR] [--password-stdin] [--admin]");
	}
	if (name == NULL)
		return ctl_usage("user add NAME [--email ADDR] [--password-stdin] [--admin]");
	if (!user_name_ok(name))
		return CTL_FAIL;
	if (email[0] != '\0' && !config_mail_check(email)) {
		ctl_err("bad mail address '%s'", email);
		return CTL_FAIL;
	}
	char hash[STORE_PWHASH_MAX] = "";
	if (with_password && !password_from_stdin(hash))
		return CTL_FAIL;
	if (ctl_open(c) != CTL_OK)
		return CTL_FAIL;
	int64_t id;
	int ret = store_begin(c->st);
	if (ret == NP_OK)
		ret = store_user_add(c->st, name, &id);
	if (ret == NP_OK && email[0] != '\0')
		ret = store_user_set_email(c->st, id, email);
	if (ret == NP_OK && hash[0] != '\0')
		ret = store_user_set_password(c->st, id, hash);
	if (ret == NP_OK && admin)
		ret = store_user_set_role(c->st, id, STORE_ROLE_ADMIN);
	if (ret == NP_OK)
		ret = store_commit(c->st);
	explicit_bzero(hash, sizeof(hash));
	if (ret != NP_OK) {
		store_rollback(c->st);
		if (ret == NP_EEXIST)
			ctl_err("user %s exists", name);
		else
			ctl_err("user add: %s", np_strerror(ret));
		return CTL_FAIL;
	}
	printf("user %s added%s\n", name, admin ? " (admin)" : "");
	if (!with_password)
		printf("no password: it signs in to the web UI and API only once 'user password %s "
		       "--password-stdin' sets one; tokens work without\n",
		       name);
	return CTL_OK;
}

/* ---- user list ---- */

static const char *role_name(enum store_user_role r)
{
	return r == STORE_ROLE_ADMIN ? "admin" : "user";
}

static int print_user(const struct store_user *u, void *ctx)
{
	(void)ctx;
	char when[32];
	ctl_time(u->created, when, sizeof(when));
	printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u->name, when, role_name(u->role),
	       store_user_state_name(u->state), u->password_hash[0] != '\0' ? "password" : "-",
	       u->totp_len > 0 ? "totp" : "-", u->email[0] != '\0' ? u->email : "-");
	return 0;
}

/* ---- user email ---- */

/* user email NAME ADDRESS: where the owners' alerts for NAME's hosts go; "" clears it (no
 * mail, incidents are still recorded). The address ends up in SMTP commands and headers,
 * so config_mail_check's narrow syntax is the gate. */
static int user_email(struct ctl *c, int argc, char **argv)
{
	if (argc != 2)
		return ctl_usage("user email NAME ADDRESS (\"\" clears it)");
	const char *name = argv[0], *email = argv[1];
	if (email[0] != '\0' && !config_mail_check(email)) {
		ctl_err("bad mail address '%s'", email);
		return CTL_FAIL;
	}
	if (ctl_open(c) != CTL_OK)
		return CTL_FAIL;
	int64_t id;
	int ret = store_begin(c->st);
	if (ret == NP_OK)
		ret = store_user_id(c->st, name, &id);
	if (ret == NP_OK)
		ret = store_user_set_email(c->st, id, email);
	if (ret == NP_OK)
		ret = store_commit(c->st);
	if (ret != NP_OK) {
		store_rollback(c->st);
		if (ret == NP_ENOTFOUND)
			ctl_err("no user %s", name);
		else
			ctl_err("user email: %s", np_strerror(ret));
		return CTL_FAIL;
	}
	if (email[0] == '\0')
		printf("user %s: no mail address (alerts are not mailed)\n", name);
	else
		printf("user %s: alerts go to %s\n", name, email);
	return CTL_OK;
}

/* ---- changes to one existing account ---- */

enum user_op { OP_PASSWORD, OP_ADMIN, OP_NOADMIN, OP_LOCK, OP_UNLOCK, OP_SUSPEND, OP_DEL };

/* The account's sign-ins (session tokens), gathered a batch at a time so that none is
 * deleted while the list is being read. */
struct sessions {
	char id[64][STORE_TOKEN_ID_MAX];
	unsigned n;
};

static int gather_session(const struct store_token *t, void *ctx)
{
	struct sessions *s = ctx;
	np_strlcpy(s->id[s->n++], t->id, sizeof(s->id[0]));
	return s->n == 64 ? 1 : 0; /* full: stop here, delete these, read again */
}

/* Ends the account's sign-ins: a new password must not leave an old sign-in standing,
 * whoever made it. */
static int end_sessions(struct ctl *c, int64_t user_id)
{
	static struct sessions s;
	int ret;
	do {
		s.n = 0;
		ret = store_token_list(c->st, user_id, STORE_TOKEN_SESSION, gather_session, &s);
		if (ret > 0)
			ret = NP_OK;
		for (unsigned i = 0; i < s.n && ret == NP_OK; i++)
			ret = store_token_del(c->st, s.id[i]);
	} while (ret == NP_OK && s.n == 64);
	return ret;
}

/* An account's state, inside the caller's transaction: suspending or lifting a suspension
 * goes to the abuse log and DNS like `abuse suspend` and `abuse restore --user`. */
static int user_state(struct ctl *c, int64_t id, enum store_user_state state, const char *cmd)
{
	char actor[STORE_ABUSE_ACTOR_MAX], reason[64];
	ctl_actor(actor, sizeof(actor));
	snprintf(reason, sizeof(reason), "nameplatectl %s", cmd);
	return store_abuse_account_state(c->st, id, state, actor, reason, time_now(),
	                                 ctl_host_touch, c, NULL);
}

static int user_change(struct ctl *c, enum user_op op, const char *name)
{
	if (!user_name_ok(name))
		return CTL_FAIL;
	char hash[STORE_PWHASH_MAX] = "";
	if (op == OP_PASSWORD && !password_from_stdin(hash))
		return CTL_FAIL;
	if (ctl_open(c) != CTL_OK)
		return CTL_FAIL;
	struct store_user u;
	unsigned hosts = 0;
	int ret = store_begin(c->st);
	if (ret == NP_OK)
		ret = store_user_get(c->st, name, &u);
	if (ret == NP_ENOTFOUND) {
		store_rollback(c->st);
		explicit_bzero(hash, sizeof(hash));
		ctl_err("no user %s", name);
		return CTL_FAIL;
	}
	if (ret == NP_OK) {
		switch (op) {
		case OP_PASSWORD:
			ret = store_user_set_password(c->st, u.id, hash);
			if (ret == NP_OK)
				ret = end_sessions(c, u.id);
			break;
		case OP_ADMIN:
		case OP_NOADMIN:
			ret = store_user_set_role(
			    c->st, u.id, op == OP_ADMIN ? STORE_ROLE_ADMIN : STORE_ROLE_USER);
			break;
		case OP_LOCK:
			ret = user_state(c, u.id, STORE_USER_LOCKED, "user lock");
			break;
		case OP_UNLOCK:
			ret = user_state(c, u.id, STORE_USER_ACTIVE, "user unlock");
			break;
		case OP_SUSPEND:
			ret = user_state(c, u.id, STORE_USER_SUSPENDED, "user suspend");
			break;
		case OP_DEL:
			ret = store_user_del(c->st, u.id);
			if (ret == NP_EDENIED &&
			    store_user_host_count(c->st, u.id, &hosts) != NP_OK)
				hosts = 0;
			break;
		}
	}
	explicit_bzero(&u, sizeof(u));
	explicit_bzero(hash, sizeof(hash));
	if (ret == NP_OK)
		ret = store_commit(c->st);
	if (ret != NP_OK) {
		store_rollback(c->st);
		if (ret == NP_EDENIED)
			ctl_err("user %s still owns %u host%s: delete %s first (host list, host "
			        "del)",
			        name, hosts, hosts == 1 ? "" : "s", hosts == 1 ? "it" : "them");
		else
			ctl_err("user %s: %s", name, np_strerror(ret));
		return CTL_FAIL;
	}
	switch (op) {
	case OP_PASSWORD:
		printf("user %s: password set (earlier sign-ins ended)\n", name);
		break;
	case OP_ADMIN:
		printf("user %s: admin\n", name);
		break;
	case OP_NOADMIN:
		printf("user %s: no longer admin\n", name);
		break;
	case OP_LOCK:
		printf("user %s locked: it cannot sign in and its tokens are refused\n", name);
		break;
	case OP_UNLOCK:
		printf("user %s active\n", name);
		break;
	case OP_SUSPEND:
		printf("user %s suspended: it cannot sign in and its tokens are refused\n", name);
		break;
	case OP_DEL:
		printf("user %s deleted with its tokens\n", name);
		break;
	}
	return CTL_OK;
}

int ctl_cmd_user(struct ctl *c, int argc, char **argv)
{
	if (argc < 1)
		return ctl_usage(USER_USAGE);
	const char *sub = argv[0];
	if (strcmp(sub, "add") == 0)
		return user_add(c, argc - 1, argv + 1);
	if (strcmp(sub, "email") == 0)
		return user_email(c, argc - 1, argv + 1);
	if (strcmp(sub, "list") == 0) {
		if (argc != 1)
			return ctl_usage("user list");
		if (ctl_open(c) != CTL_OK)
			return CTL_FAIL;
		int ret = store_user_list_full(c->st, print_user, NULL);
		if (ret != NP_OK) {
			ctl_err("user list: %s", np_strerror(ret));
			return CTL_FAIL;
		}
		return CTL_OK;
	}
	if (strcmp(sub, "password") == 0) {
		if (argc != 3 || strcmp(argv[2], "--password-stdin") != 0)
			return ctl_usage("user password NAME --password-stdin (the password is one "
			                 "line of standard input)");
		return user_change(c, OP_PASSWORD, argv[1]);
	}
	if (strcmp(sub, "admin") == 0) {
		if (argc != 3 || (strcmp(argv[2], "on") != 0 && strcmp(argv[2], "off") != 0))
			return ctl_usage("user admin NAME on|off");
		return user_change(c, strcmp(argv[2], "on") == 0 ? OP_ADMIN : OP_NOADMIN, argv[1]);
	}
	static const struct {
		const char *name;
		enum user_op op;
	} ops[] = {
	    {"lock", OP_LOCK}, {"unlock", OP_UNLOCK}, {"suspend", OP_SUSPEND}, {"del", OP_DEL}};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(sub, ops[i].name) != 0)
			continue;
		if (argc != 2)
			return ctl_usage("user %s NAME", sub);
		return user_change(c, ops[i].op, argv[1]);
	}
	return ctl_usage("unknown user command '%s'", sub);
}
