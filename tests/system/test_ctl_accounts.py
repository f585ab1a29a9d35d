# SPDX-License-Identifier: MIT
# nameplatectl's account and token commands against a real store: each command's success and
# failure paths (bad names, unknown users, weak passwords, deleting an account that owns
# hosts), and end to end with a running nameplated: a token's policy (names, types, sources,
# expiry), its revocation and the account's lock as dyndns2 answers them.

import ctypes
import ctypes.util
import os
import re
import sqlite3
import subprocess
import time

import pytest

from conftest import NAMEPLATECTL, ZONE, check_sanitizers

HOME = "home." + ZONE
OTHER = "other." + ZONE
PASSWORD = "Tr0ub4dor&3 correct horse"


@pytest.fixture
def fresh(np_factory):
    n = np_factory()
    n.write_config()
    n.init()
    return n


def ctl_bytes(n, *args, stdin=b""):
    """nameplatectl with raw bytes on standard input (for passwords that are not text)."""
    r = subprocess.run([NAMEPLATECTL, "-c", n.conf] + list(args), input=stdin,
                       capture_output=True, timeout=30)
    check_sanitizers(r.stderr.decode("utf-8", "replace"), "nameplatectl %s" % " ".join(args))
    return r


def users(n):
    """{name: [created, role, state, password, totp, email]} from user list."""
    out = {}
    for line in n.ctl("user", "list").stdout.splitlines():
        f = line.split("\t")
        assert len(f) == 7, "user list line %r" % line
        out[f[0]] = f[1:]
    return out


def tokens(n, user):
    """[[id, kind, label, policy, expires, last used]] from token list."""
    rows = []
    for line in n.ctl("token", "list", user).stdout.splitlines():
        f = line.split("\t")
        assert len(f) == 6, "token list line %r" % line
        rows.append(f)
    return rows


def db(n, sql, *params):
    c = sqlite3.connect(os.path.join(n.data_dir, "nameplate.db"))
    try:
        rows = c.execute(sql, params).fetchall()
        c.commit()
        return rows
    finally:
        c.close()


def pwhash(n, user):
    return db(n, "SELECT password_hash FROM users WHERE name = ?", user)[0][0]


_sodium = None


def argon2_verify(hash_text, password):
    """libsodium's own check of an argon2id string (the library nameplated uses)."""
    global _sodium
    if _sodium is None:
        _sodium = ctypes.CDLL(ctypes.util.find_library("sodium"))
        assert _sodium.sodium_init() >= 0
    pw = password.encode()
    return _sodium.crypto_pwhash_str_verify(hash_text.encode(), pw,
                                            ctypes.c_ulonglong(len(pw))) == 0


def token_add(n, user, *opts):
    """token add; returns (id, secret)."""
    r = n.ctl("token", "add", user, *opts)
    m = re.search(r"^token ([0-9a-f]+) added for user %s" % user, r.stdout, re.M)
    assert m, r.stdout
    secret = n.last_line(r.stdout)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", secret), r.stdout
    return m.group(1), secret


# ---- user add, list, password ----

def test_user_add_and_list_columns(fresh):
    fresh.ctl("user", "add", "alice")
    r = fresh.ctl("user", "add", "bob", "--email", "bob@example.net", "--password-stdin",
                  "--admin", input=PASSWORD + "\n")
    assert "bob added (admin)" in r.stdout
    u = users(fresh)
    assert set(u) == {"alice", "bob"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", u["alice"][0])
    assert u["alice"][1:] == ["user", "active", "-", "-", "-"]
    assert u["bob"][1:] == ["admin", "active", "password", "-", "bob@example.net"]
    # Kept as argon2id, the trailing newline not part of it.
    h = pwhash(fresh, "bob")
    assert h.startswith("$argon2id$v=19$m=65536,t=3,p=1$"), h
    assert argon2_verify(h, PASSWORD)
    assert not argon2_verify(h, PASSWORD + "\n")
    assert pwhash(fresh, "alice") == ""


def test_user_add_without_password_says_so(fresh):
    r = fresh.ctl("user", "add", "alice")
    assert "no password" in r.stdout and "user password alice" in r.stdout


def test_password_never_echoed_nor_stored_in_clear(fresh):
    r = fresh.ctl("user", "add", "alice", "--password-stdin", input=PASSWORD + "\n")
    assert PASSWORD not in r.stdout + r.stderr
    r = fresh.ctl("user", "password", "alice", "--password-stdin", input=PASSWORD + "2\n")
    assert PASSWORD not in r.stdout + r.stderr
    r = fresh.ctl("user", "list")
    assert PASSWORD not in r.stdout
    blob = b""
    for root, _, files in os.walk(fresh.data_dir):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                blob += fh.read()
    assert PASSWORD.encode() not in blob


@pytest.mark.parametrize("stdin,why", [
    (PASSWORD + "\r\n", None),           # a Windows line end is dropped too
    (PASSWORD, None),                    # no line end at all
    (PASSWORD + "\nsecond line\n", None),  # only the first line counts
])
def test_password_line_forms(fresh, stdin, why):
    fresh.ctl("user", "add", "alice", "--password-stdin", input=stdin)
    assert argon2_verify(pwhash(fresh, "alice"), PASSWORD)


@pytest.mark.parametrize("stdin,message", [
    (b"short\n", b"a password has 10 to 256 characters"),
    (b"123456789\n", b"a password has 10 to 256 characters"),
    (b"x" * 257 + b"\n", b"a password has 10 to 256 characters"),
    (b"x" * 5000, b"a password has 10 to 256 characters"),
    (b"tab\tinside password\n", b"control characters"),
    (b"nul\0inside password\n", b"control characters"),
    (b"del\x7finside password\n", b"control characters"),
    (b"latin-1 p\xe4ssword\n", b"UTF-8"),
    (b"overlong \xc0\xaf password\n", b"UTF-8"),
    (b"surrogate \xed\xa0\x80 password\n", b"UTF-8"),
    (b"\n", b"a password has 10 to 256 characters"),
    (b"", b"no password on standard input"),
])
def test_weak_password_refused(fresh, stdin, message):
    r = ctl_bytes(fresh, "user", "add", "alice", "--password-stdin", stdin=stdin)
    assert r.returncode == 1
    assert message in r.stderr, r.stderr
    assert stdin.strip() == b"" or stdin.strip() not in r.stdout + r.stderr
    assert "alice" not in users(fresh), "a refused password must add nothing"
    fresh.ctl("user", "add", "bob", "--password-stdin", input=PASSWORD)
    before = pwhash(fresh, "bob")
    r = ctl_bytes(fresh, "user", "password", "bob", "--password-stdin", stdin=stdin)
    assert r.returncode == 1 and message in r.stderr
    assert pwhash(fresh, "bob") == before


def test_password_256_bytes_ok(fresh):
    fresh.ctl("user", "add", "alice", "--password-stdin", input="p" * 256 + "\n")
    assert argon2_verify(pwhash(fresh, "alice"), "p" * 256)


def test_user_password_sets_and_ends_sessions(fresh):
    fresh.ctl("user", "add", "alice")
    uid = db(fresh, "SELECT id FROM users WHERE name = 'alice'")[0][0]
    # A sign-in session as the web UI makes one (kind 1), and an API token (kind 0).
    db(fresh, "INSERT INTO tokens(id, user_id, secret_hash, kind, expires, created)"
              " VALUES ('5e5510', ?, randomblob(32), 1, ?, ?)", uid, int(time.time()) + 3600,
       int(time.time()))
    tid, _ = token_add(fresh, "alice")
    r = fresh.ctl("user", "password", "alice", "--password-stdin", input=PASSWORD + "\n")
    assert "password set" in r.stdout
    assert users(fresh)["alice"][3] == "password"
    assert argon2_verify(pwhash(fresh, "alice"), PASSWORD)
    ids = [t[0] for t in tokens(fresh, "alice")]
    assert ids == [tid], "the session must end, the API token stay"
    r = fresh.ctl("user", "password", "alice", check=False)
    assert r.returncode == 2, "the password comes only from standard input"
    r = fresh.ctl("user", "password", "alice", PASSWORD, check=False)
    assert r.returncode == 2
    assert PASSWORD not in r.stdout


@pytest.mark.parametrize("name", ["", "Alice", "a b", "x" * 64, "bad:name", "ümlaut", ".dot"])
@pytest.mark.parametrize("cmd", [["add"], ["lock"], ["unlock"], ["suspend"], ["del"],
                                 ["admin", None, "on"]])
def test_user_bad_names(fresh, name, cmd):
    args = ["user"] + [name if a is None else a for a in cmd]
    if cmd[0] != "admin":
        args.append(name)
    r = fresh.ctl(*args, check=False)
    assert r.returncode == 1, r
    assert "bad user name" in r.stderr


@pytest.mark.parametrize("args", [
    ["user", "lock", "nosuch"], ["user", "unlock", "nosuch"], ["user", "suspend", "nosuch"],
    ["user", "del", "nosuch"], ["user", "admin", "nosuch", "on"],
    ["user", "email", "nosuch", "a@example.net"], ["token", "list", "nosuch"],
    ["token", "add", "nosuch"], ["user", "password", "nosuch", "--password-stdin"],
])
def test_unknown_user(fresh, args):
    fresh.ctl("user", "add", "alice")
    r = fresh.ctl(*args, check=False, input=PASSWORD + "\n")
    assert r.returncode == 1
    assert "no user nosuch" in r.stderr


@pytest.mark.parametrize("args", [
    ["user"], ["user", "frobnicate", "alice"], ["user", "add"], ["user", "add", "a", "b"],
    ["user", "add", "alice", "--email"], ["user", "add", "alice", "--bogus"],
    ["user", "lock"], ["user", "lock", "alice", "bob"], ["user", "admin", "alice"],
    ["user", "admin", "alice", "yes"], ["user", "list", "x"],
    ["token"], ["token", "add"], ["token", "add", "alice", "--names"],
    ["token", "add", "alice", "--frob"], ["token", "list"], ["token", "del"],
    ["token", "del", "a", "b"], ["token", "frob"],
])
def test_usage_errors(fresh, args):
    fresh.ctl("user", "add", "alice")
    r = fresh.ctl(*args, check=False)
    assert r.returncode == 2, (args, r.stdout, r.stderr)
    assert users(fresh)["alice"][1:] == ["user", "active", "-", "-", "-"]


def test_user_add_bad_email_and_duplicate(fresh):
    r = fresh.ctl("user", "add", "alice", "--email", "not an address", check=False)
    assert r.returncode == 1 and "bad mail address" in r.stderr
    assert "alice" not in users(fresh)
    fresh.ctl("user", "add", "alice", "--email", "alice@example.net")
    r = fresh.ctl("user", "add", "alice", "--password-stdin", input=PASSWORD, check=False)
    assert r.returncode == 1 and "exists" in r.stderr
    assert users(fresh)["alice"][3:] == ["-", "-", "alice@example.net"]
    fresh.ctl("user", "email", "alice", "new@example.net")
    assert users(fresh)["alice"][5] == "new@example.net"
    fresh.ctl("user", "email", "alice", "")
    assert users(fresh)["alice"][5] == "-"


def test_admin_toggle_and_states(fresh):
    fresh.ctl("user", "add", "alice")
    fresh.ctl("user", "admin", "alice", "on")
    assert users(fresh)["alice"][1] == "admin"
    fresh.ctl("user", "admin", "alice", "off")
    assert users(fresh)["alice"][1] == "user"
    for cmd, state in [("lock", "locked"), ("unlock", "active"), ("suspend", "suspended"),
                       ("unlock", "active")]:
        fresh.ctl("user", cmd, "alice")
        assert users(fresh)["alice"][2] == state, cmd
    # An unconfirmed account (signed up, mail not confirmed) is made active by unlock.
    db(fresh, "UPDATE users SET state = 3 WHERE name = 'alice'")
    assert users(fresh)["alice"][2] == "unconfirmed"
    fresh.ctl("user", "unlock", "alice")
    assert users(fresh)["alice"][2] == "active"


def test_user_del_refused_while_owning_hosts(fresh):
    fresh.ctl("user", "add", "alice")
    fresh.add_host(HOME, "alice")
    token_add(fresh, "alice")
    r = fresh.ctl("user", "del", "alice", check=False)
    assert r.returncode == 1
    assert "alice still owns 1 host" in r.stderr and "host del" in r.stderr
    assert "alice" in users(fresh) and len(tokens(fresh, "alice")) == 2
    fresh.ctl("host", "del", HOME)
    r = fresh.ctl("user", "del", "alice")
    assert "deleted" in r.stdout
    assert "alice" not in users(fresh)
    assert db(fresh, "SELECT count(*) FROM tokens")[0][0] == 0, "tokens go with the account"
    r = fresh.ctl("user", "del", "alice", check=False)
    assert r.returncode == 1 and "no user alice" in r.stderr


def test_no_default_account(fresh):
    assert users(fresh) == {}


# ---- tokens ----

def test_token_add_list_normalised(fresh):
    fresh.ctl("user", "add", "alice")
    tid, secret = token_add(fresh, "alice", "--name", "my router", "--names",
                            "Home.Dyn.Example.,*.LAN.dyn.example", "--types", "aaaa,a",
                            "--sources", "10.9.9.0/24,2001:DB8::/32,192.0.2.1", "--manage",
                            "--expires", "+3600")
    rows = tokens(fresh, "alice")
    assert len(rows) == 1
    rid, kind, label, policy, expires, used = rows[0]
    assert (rid, kind, label, used) == (tid, "api", "my router", "never")
    assert policy == ("names=home.dyn.example,*.lan.dyn.example types=A,AAAA "
                      "sources=10.9.9.0/24,2001:db8::/32,192.0.2.1/32 manage")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", expires)
    # The store holds the normal form, and only the secret's hash.
    row = db(fresh, "SELECT names, types, sources, manage, expires - created FROM tokens"
                    " WHERE id = ?", tid)[0]
    assert row[:4] == ("home.dyn.example,*.lan.dyn.example", "A,AAAA",
                       "10.9.9.0/24,2001:db8::/32,192.0.2.1/32", 1)
    assert 3599 <= row[4] <= 3601
    assert secret not in fresh.ctl("token", "list", "alice").stdout
    # An empty policy: everything of the account.
    tid2, _ = token_add(fresh, "alice")
    rows = {t[0]: t for t in tokens(fresh, "alice")}
    assert set(rows) == {tid, tid2}
    assert rows[tid2][1:5] == ["api", "-", "names=all types=all sources=any", "never"]
    # Host tokens (host add) are listed too.
    fresh.add_host(HOME, "alice")
    kinds = [t[1] for t in tokens(fresh, "alice")]
    assert sorted(kinds) == ["api", "api", "host"]


@pytest.mark.parametrize("opts,message", [
    (["--names", "a..b.dyn.example"], "not a domain name"),
    (["--names", "*foo.dyn.example"], "*.NAME"),
    (["--names", "*.*.dyn.example"], "'*' may only start"),
    (["--names", "example"], "not a domain name"),
    (["--names", "a.dyn.example,"], "empty element"),
    (["--names", ",".join("h%d.dyn.example" % i for i in range(17))], "at most 16 names"),
    (["--types", "CNAME"], "A, AAAA, TXT or MX"),
    (["--types", "A,,AAAA"], "empty element"),
    (["--sources", "10.0.0.0/33"], "not an address or prefix"),
    (["--sources", "::/129"], "not an address or prefix"),
    (["--sources", "somewhere"], "not an address or prefix"),
    (["--expires", "1"], "not in the future"),
    (["--expires", str(int(time.time()) - 10)], "not in the future"),
    (["--expires", "+0"], "bad --expires"),
    (["--expires", "soon"], "bad --expires"),
    (["--expires", "-5"], "bad --expires"),
    (["--name", "tab\there"], "bad --name"),
    (["--name", "x" * 64], "bad --name"),
])
def test_token_add_refused(fresh, opts, message):
    fresh.ctl("user", "add", "alice")
    r = fresh.ctl("token", "add", "alice", *opts, check=False)
    assert r.returncode == 1, r.stdout
    assert message in r.stderr, r.stderr
    assert "secret" not in r.stdout
    assert tokens(fresh, "alice") == []


def test_token_del(fresh):
    fresh.ctl("user", "add", "alice")
    tid, _ = token_add(fresh, "alice")
    r = fresh.ctl("token", "del", tid)
    assert "deleted" in r.stdout
    assert tokens(fresh, "alice") == []
    r = fresh.ctl("token", "del", tid, check=False)
    assert r.returncode == 1 and "no token %s" % tid in r.stderr
    for bad in ["", "XYZ", "0123456789abcdef0", "12'; --"]:
        r = fresh.ctl("token", "del", bad, check=False)
        assert r.returncode == 1 and "bad token id" in r.stderr, bad


# ---- end to end with nameplated ----

def good(np, host, ip, secret, user="alice", **kw):
    return np.update(host, ip, user=user, secret=secret, **kw)[2]


def test_token_policy_names_and_types(np):
    np.add_host(OTHER, "alice")
    _, secret = token_add(np, "alice", "--names", HOME, "--types", "A")
    assert good(np, HOME, "192.0.2.10", secret) == ["good 192.0.2.10"]
    assert np.addrs(HOME) == {"192.0.2.10"}
    # The host's name as the user works as well (the token may change it).
    assert good(np, HOME, "192.0.2.11", secret, user=HOME) == ["good 192.0.2.11"]
    # AAAA is not among its types; nothing changes.
    assert good(np, HOME, "2001:db8::1", secret) == ["badauth"]
    assert np.addrs(HOME, "AAAA") == set()
    # Another host of the account is not among its names; a name of nobody is no host.
    assert good(np, OTHER, "192.0.2.12", secret) == ["badauth"]
    assert np.addrs(OTHER) == set()
    assert good(np, "nosuch." + ZONE, "192.0.2.13", secret) == ["nohost"]
    # Last use is listed, with where from.
    row = [t for t in tokens(np, "alice") if t[1] == "api"][0]
    assert row[5].endswith("from 127.0.0.1"), row


def test_token_subtree(np):
    np.add_host("r1.lan." + ZONE, "alice")
    np.add_host("lan." + ZONE, "alice")
    _, secret = token_add(np, "alice", "--names", "*.lan." + ZONE)
    assert good(np, "r1.lan." + ZONE, "192.0.2.20", secret) == ["good 192.0.2.20"]
    assert good(np, "lan." + ZONE, "192.0.2.21", secret) == ["badauth"]
    assert good(np, HOME, "192.0.2.22", secret) == ["badauth"]


def test_token_sources(np):
    _, outside = token_add(np, "alice", "--sources", "10.9.9.0/24")
    _, inside = token_add(np, "alice", "--sources", "127.0.0.0/8,2001:db8::/32")
    assert good(np, HOME, "192.0.2.30", outside) == ["badauth"]
    assert np.addrs(HOME) == set()
    assert good(np, HOME, "192.0.2.31", inside) == ["good 192.0.2.31"]


def test_token_expiry(np):
    _, secret = token_add(np, "alice", "--expires", "+2")
    assert good(np, HOME, "192.0.2.40", secret) == ["good 192.0.2.40"]
    time.sleep(3)
    assert good(np, HOME, "192.0.2.41", secret) == ["badauth"]
    assert np.addrs(HOME) == {"192.0.2.40"}
    r = np.ctl("token", "add", "alice", "--expires", str(int(time.time()) - 1), check=False)
    assert r.returncode == 1


def test_token_del_revokes_at_once(np):
    tid, secret = token_add(np, "alice", "--names", HOME)
    assert good(np, HOME, "192.0.2.50", secret) == ["good 192.0.2.50"]
    np.ctl("token", "del", tid)
    assert good(np, HOME, "192.0.2.51", secret) == ["badauth"]
    assert np.addrs(HOME) == {"192.0.2.50"}
    # The host's own update secret is another token: untouched.
    assert good(np, HOME, "192.0.2.52", np.secret) == ["good 192.0.2.52"]


def test_lock_and_suspend_refuse_tokens(np):
    _, secret = token_add(np, "alice")
    assert good(np, HOME, "192.0.2.60", secret) == ["good 192.0.2.60"]
    np.ctl("user", "lock", "alice")
    assert good(np, HOME, "192.0.2.61", secret) == ["badauth"]
    assert good(np, HOME, "192.0.2.61", np.secret) == ["badauth"]
    np.ctl("user", "unlock", "alice")
    assert good(np, HOME, "192.0.2.62", secret) == ["good 192.0.2.62"]
    np.ctl("user", "suspend", "alice")
    # A suspension is for abuse (docs/abuse.md): the protocol's word for it.
    assert good(np, HOME, "192.0.2.63", np.secret) == ["abuse"]
    np.ctl("user", "unlock", "alice")
    assert good(np, HOME, "192.0.2.64", np.secret) == ["good 192.0.2.64"]
    assert np.addrs(HOME) == {"192.0.2.64"}
