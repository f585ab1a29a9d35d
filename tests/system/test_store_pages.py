# SPDX-License-Identifier: MIT
# The store's layout for cheap updates: 1 KiB pages (a store made with 4 KiB pages is
# rebuilt once when opened alone), no history(fqdn) index, and a host's updated time taken
# from its history instead of a rewrite of its row.

import sqlite3
import time

from conftest import ZONE
from test_api import HOME, api, call, ok  # noqa: F401 (api is a fixture)


def store_path(n):
    return n.data_dir + "/nameplate.db"


def pragma(path, name):
    c = sqlite3.connect(path)
    try:
        return c.execute("PRAGMA " + name).fetchone()[0]
    finally:
        c.close()


def make_old_store(path):
    """What an earlier release left: 4 KiB pages, schema 13 with history(fqdn)."""
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA journal_mode = DELETE")
    c.execute("PRAGMA page_size = 4096")
    c.execute("VACUUM")
    c.execute("CREATE INDEX history_fqdn ON history(fqdn, time)")
    c.execute("UPDATE meta SET value = 13 WHERE key = 'schema_version'")
    assert c.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
    c.close()
    assert pragma(path, "page_size") == 4096


def test_new_store_has_small_pages(np):
    assert pragma(store_path(np), "page_size") == 1024


def test_old_store_is_rebuilt_once_and_keeps_its_data(np_factory):
    n = np_factory()
    n.write_config()
    n.init()
    n.add_user("alice")
    secret = n.add_host(HOME, "alice")
    n.start()
    assert n.update(HOME, "192.0.2.7", user=HOME, secret=secret)[2] == ["good 192.0.2.7"]
    n.stop()
    path = store_path(n)
    make_old_store(path)

    # Opened while another connection has the store: left as it is, and not waited for.
    other = sqlite3.connect(path)
    other.execute("SELECT count(*) FROM hosts").fetchone()
    t0 = time.monotonic()
    n.ctl("host", "list")
    assert time.monotonic() - t0 < 3
    other.close()
    assert pragma(path, "page_size") == 4096

    n.start()
    assert pragma(path, "page_size") == 1024
    assert pragma(path, "journal_mode") == "wal"
    assert pragma(path, "integrity_check") == "ok"
    c = sqlite3.connect(path)
    idx = {r[0] for r in c.execute("SELECT name FROM sqlite_schema WHERE type = 'index'")}
    c.close()
    assert "history_fqdn" not in idx and "history_host" in idx
    assert n.addrs(HOME) == {"192.0.2.7"}
    assert n.update(HOME, "192.0.2.8", user=HOME, secret=secret)[2] == ["good 192.0.2.8"]
    n.kill9()
    n.start()
    assert n.addrs(HOME) == {"192.0.2.8"}


def test_updated_time_and_history_of_a_name_added_again(api):  # noqa: F811
    S = api.session
    before = ok(call(api, "GET", "hosts/" + HOME, token=S))["updated"]
    deadline = time.monotonic() + 3
    while int(time.time()) <= before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert api.update(HOME, "192.0.2.9", user=HOME, secret=api.secret)[2] == ["good 192.0.2.9"]
    h = ok(call(api, "GET", "hosts/" + HOME, token=S))
    hist = ok(call(api, "GET", "hosts/%s/history" % HOME, token=S))["history"]
    assert hist[0]["new"] == "192.0.2.9"
    assert h["updated"] == hist[0]["time"] > before

    # Deleted and added again, the name is another host: the old rows are not its history.
    api.ctl("host", "del", HOME)
    api.add_host(HOME, "alice")
    hist = ok(call(api, "GET", "hosts/%s/history" % HOME, token=S))["history"]
    assert all("192.0.2.9" not in r["new"] + r["old"] for r in hist), hist
