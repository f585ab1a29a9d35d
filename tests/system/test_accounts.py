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
