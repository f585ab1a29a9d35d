# SPDX-License-Identifier: MIT
# Account set-up for system tests that nameplatectl cannot do yet: a user's password, role,
# state and mail address, written straight into the store while nameplated is stopped.
# The password is an argon2id string with src/account/password.h's parameters (t=3,
# m=64 MiB, p=1), which libsodium's crypto_pwhash_str_verify reads like its own.
# Each function has the signature its nameplatectl command will have, so a test does not
# change when these are swapped for `nameplatectl user add --password-stdin` and friends.

import contextlib
import os
import sqlite3

import argon2

_hasher = argon2.PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=1,
                                hash_len=32, salt_len=16, type=argon2.Type.ID)

ROLES = {"user": 0, "admin": 1}
STATES = {"active": 0, "locked": 1, "suspended": 2, "unconfirmed": 3}


def password_hash(password):
    """The argon2id string nameplated's password_hash would store for password."""
    return _hasher.hash(password)


def _db(n):
    assert n.proc is None or n.proc.poll() is not None, "stop nameplated first"
    return sqlite3.connect(os.path.join(n.data_dir, "nameplate.db"))


def _update(n, user, column, value):
    db = _db(n)
    try:
        with db:
            cur = db.execute("UPDATE users SET %s = ? WHERE name = ?" % column, (value, user))
        assert cur.rowcount == 1, "no user %r" % user
    finally:
        db.close()


def set_password(n, user, password):
    _update(n, user, "password_hash", password_hash(password))


def set_role(n, user, role):
    _update(n, user, "role", ROLES[role])


def set_state(n, user, state):
    _update(n, user, "state", STATES[state])


def set_email(n, user, email):
    _update(n, user, "email", email)


@contextlib.contextmanager
def stopped(n):
    """Stops n for the body of the with-block (if it runs) and starts it again after."""
    running = n.proc is not None and n.proc.poll() is None
    if running:
        n.stop()
    try:
        yield n
    finally:
        if running:
            n.start()
