# SPDX-License-Identifier: MIT
# Accounts and tokens through the real binaries: the store's migration of old host secrets,
# nameplatectl's account commands, and how every interface honours a token's policy.

import gzip
import os
import shutil
import sqlite3

from conftest import ZONE

# tests/system/data/store-v3.db.gz: a store written by the release before tokens (schema 3):
# user alice, hosts router.dyn.example (A 192.0.2.10) and other.dyn.example, each with the
# update secret nameplatectl printed then. The first one is this:
V3_ROUTER_SECRET = "35wKGvehWqQTs79gC-E6mPzRvbP-0nIC7dnJMlZ5iQU"
DATA = os.path.join(os.path.dirname(__file__), "data")


def test_migration_keeps_old_router_secrets(np_factory):
    n = np_factory()
    os.makedirs(n.data_dir, mode=0o700)
    with gzip.open(os.path.join(DATA, "store-v3.db.gz")) as src, \
            open(os.path.join(n.data_dir, "nameplate.db"), "wb") as dst:
        shutil.copyfileobj(src, dst)
    n.write_config()
    n.start()
    # What DNS served before is still served.
    assert n.addrs("router.%s" % ZONE) == {"192.0.2.10"}
    # The router's old secret still updates its host, as the host itself or as the account.
    st, _, lines = n.update(user="router.%s" % ZONE, secret=V3_ROUTER_SECRET,
                            myip="192.0.2.11")
    assert (st, lines) == (200, ["good 192.0.2.11"])
    st, _, lines = n.update(hostname="router.%s" % ZONE, user="alice",
                            secret=V3_ROUTER_SECRET, myip="192.0.2.12")
    assert (st, lines) == (200, ["good 192.0.2.12"])
    assert n.addrs("router.%s" % ZONE) == {"192.0.2.12"}
    # It became a token scoped to its host: the account's other host is out of its reach.
    st, _, lines = n.update(hostname="other.%s" % ZONE, user="alice",
                            secret=V3_ROUTER_SECRET, myip="192.0.2.13")
    assert (st, lines) == (200, ["badauth"])
    assert n.addrs("other.%s" % ZONE) == set()
    n.stop()
    db = sqlite3.connect(os.path.join(n.data_dir, "nameplate.db"))
    try:
        version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        assert int(version[0]) >= 4
        rows = db.execute("SELECT names, kind FROM tokens ORDER BY names").fetchall()
        assert rows == [("other.%s" % ZONE, 2), ("router.%s" % ZONE, 2)]
        cols = [r[1] for r in db.execute("PRAGMA table_info(hosts)")]
        assert "secret_hash" not in cols  # no secret is left outside the tokens table
        hist = db.execute("SELECT protocol, token_id FROM history WHERE fqdn = ?"
                          " ORDER BY id DESC LIMIT 1", ("router.%s" % ZONE,)).fetchone()
        assert hist[0] == "dyndns2" and len(hist[1]) == 12
    finally:
        db.close()


def test_dyndns2_prefix_moves_the_accounts_aaaa(np):
    """myipv6prefix= (a FRITZ!Box's <ip6lanprefix>): every AAAA of the account's hosts
    moves into the new prefix with its interface identifier; a host the request gives an
    IPv6 address keeps that one; another account's hosts stay."""
    np.add_user("bob")
    np.add_host("nas.%s" % ZONE, "alice")
    np.add_host("bobs.%s" % ZONE, "bob")
    np.ctl("host", "set", "home.%s" % ZONE, "AAAA", "2001:db8:1:0:aa::10")
    np.ctl("host", "set", "nas.%s" % ZONE, "AAAA", "2001:db8:1:5::20", "2001:db8:9::21")
    np.ctl("host", "set", "bobs.%s" % ZONE, "AAAA", "2001:db8:1::30")
    token = np.ctl("token", "add", "alice").stdout.strip().splitlines()[-1]
    st, _, lines = np.update(hostname="home.%s" % ZONE, user="alice", secret=token,
                             myip="192.0.2.7", params={"myipv6prefix": "2001:db8:2:100::/56"})
    assert (st, lines) == (200, ["good 192.0.2.7"])
    assert np.addrs("home.%s" % ZONE, "AAAA") == {"2001:db8:2:100:aa::10"}
    assert np.addrs("nas.%s" % ZONE, "AAAA") == {"2001:db8:2:105::20", "2001:db8:2:100::21"}
    assert np.addrs("bobs.%s" % ZONE, "AAAA") == {"2001:db8:1::30"}
    # A /48 keeps the subnet bits below it; an explicit address wins for its host.
    st, _, lines = np.update(hostname="home.%s" % ZONE, user="alice", secret=token,
                             params={"myipv6": "2001:db8:7::1",
                                     "myipv6prefix": "2001:db8:3::/48"})
    assert (st, lines) == (200, ["good 2001:db8:7::1"])
    assert np.addrs("home.%s" % ZONE, "AAAA") == {"2001:db8:7::1"}
    assert np.addrs("nas.%s" % ZONE, "AAAA") == {"2001:db8:3:105::20", "2001:db8:3:100::21"}
    # Not a /48../64 IPv6 prefix: refused, nothing changes.
    for bad in ("2001:db8::/32", "2001:db8::/65", "192.0.2.0/24", "2001:db8::", "x"):
        st, _, body = np.update(hostname="home.%s" % ZONE, user="alice", secret=token,
                                params={"myipv6prefix": bad})
        assert st == 400, bad
    assert np.addrs("nas.%s" % ZONE, "AAAA") == {"2001:db8:3:105::20", "2001:db8:3:100::21"}
    # A host token cannot move its account's other hosts.
    st, _, lines = np.update(hostname="home.%s" % ZONE, user="alice", secret=np.secret,
                             myip="192.0.2.8", params={"myipv6prefix": "2001:db8:4::/48"})
    assert (st, lines) == (200, ["good 192.0.2.8"])
    assert np.addrs("home.%s" % ZONE, "AAAA") == {"2001:db8:4::1"}
    assert np.addrs("nas.%s" % ZONE, "AAAA") == {"2001:db8:3:105::20", "2001:db8:3:100::21"}
