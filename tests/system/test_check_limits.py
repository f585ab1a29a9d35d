# SPDX-License-Identifier: MIT
"""The check service's bounds as a mail-sending service, against the real nameplated and an
SMTP relay on loopback (helpers from test_check):

- per network: an IPv4 /24 (clients bound to different 127.0.0.N sources) and an IPv6 /56
  and /48 (sources forwarded by the trusted proxy 127.0.0.2), each with its own hourly limit
  on top of per_address_hour: 429, and no mail;
- everyone together (global_per_hour) and the unsent mail (outbox_max): 503 with
  Retry-After and a message, and nothing stored (no check row, no outbox row, no mail);
- with the defaults, a household (several checks from one address, and a neighbour in the
  same /24) is never refused.
"""
import http.client
import os
import sqlite3
import time

from conftest import free_port, wait_for
from test_check import Browser, Relay, relay, server  # noqa: F401 (relay: a fixture)

TRUSTED_PROXY = "127.0.0.2"  # conftest's default [http] trusted_proxies


class From(Browser):
    """A browser whose requests come from source (a 127.0.0.N on loopback), or, through the
    trusted proxy, from the forwarded address xff."""

    def __init__(self, np, source="127.0.0.1", xff=None):
        super().__init__("127.0.0.1", np.http_port)
        self.source = TRUSTED_PROXY if xff else source
        self.xff = xff

    def _conn(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=10,
                                          source_address=(self.source, 0))

    def request(self, method, path, headers=None, **kw):
        h = dict(headers or {})
        if self.xff:
            h["X-Forwarded-For"] = self.xff
        return super().request(method, path, headers=h, **kw)


def rows(np, table):
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(np.data_dir, "nameplate.db"),
                         uri=True, timeout=5)
    try:
        return db.execute("SELECT count(*) FROM %s" % table).fetchone()[0]
    finally:
        db.close()


def test_household_with_the_defaults(np_factory, relay):
    np = server(np_factory, relay.port)
    for i in range(3):
        From(np, "127.0.0.1").start_check("family%d@example.org" % i)
    # A neighbour in the same /24.
    for i in range(3):
        From(np, "127.0.0.3").start_check("neighbour%d@example.org" % i)
    for i in range(3):
        relay.wait_mail("family%d@example.org" % i)
        relay.wait_mail("neighbour%d@example.org" % i)


def test_per_ipv4_24(np_factory, relay):
    np = server(np_factory, relay.port,
                check={"per_address_hour": 10, "per_net24_hour": 3})
    for n in (3, 4, 5):
        From(np, "127.0.0.%d" % n).start_check("v4-%d@example.org" % n)
    st, hdrs, page = From(np, "127.0.0.6").start_check("v4-6@example.org", expect=429)
    assert "network" in page and int(hdrs["retry-after"]) > 0
    relay.wait_mail("v4-5@example.org")
    time.sleep(1)
    assert relay.sink.to("v4-6@example.org") == [] and relay.sink.count() == 3
    assert rows(np, "checks") == 3


def test_per_ipv6_56_and_48(np_factory, relay):
    np = server(np_factory, relay.port,
                check={"per_address_hour": 10, "per_net56_hour": 2, "per_net48_hour": 3})
    # Two /64s of one /56: the /56 is then full.
    From(np, xff="2001:db8:0:100::1").start_check("a@example.org")
    From(np, xff="2001:db8:0:1ff::1").start_check("b@example.org")
    st, _, page = From(np, xff="2001:db8:0:1aa::1").start_check("c@example.org", expect=429)
    assert "network" in page
    # Another /56 of the same /48: one more, then the /48 is full.
    From(np, xff="2001:db8:0:200::1").start_check("d@example.org")
    From(np, xff="2001:db8:0:300::1").start_check("e@example.org", expect=429)
    # Another /48 is not affected.
    From(np, xff="2001:db8:1::1").start_check("f@example.org")
    for rcpt in ("a", "b", "d", "f"):
        relay.wait_mail(rcpt + "@example.org")
    time.sleep(1)
    assert relay.sink.count() == 4
    assert rows(np, "checks") == 4


def test_global_rate_is_503_and_stores_nothing(np_factory, relay):
    np = server(np_factory, relay.port, check={"global_per_hour": 2})
    From(np, "127.0.0.3").start_check("g1@example.org")
    From(np, xff="2001:db8:5::1").start_check("g2@example.org")
    relay.wait_mail("g2@example.org")
    before = (rows(np, "checks"), rows(np, "outbox"))
    st, hdrs, page = From(np, "127.0.0.4").start_check("g3@example.org", expect=503)
    assert 0 < int(hdrs["retry-after"]) <= 3600
    assert "try again later" in page
    assert (rows(np, "checks"), rows(np, "outbox")) == before == (2, 0)
    time.sleep(1)
    assert relay.sink.to("g3@example.org") == [] and relay.sink.count() == 2
    assert wait_for(lambda: "checks in the last hour (global_per_hour)" in np.stderr(), 5)


def test_outbox_cap_is_503_while_the_relay_is_down(np_factory):
    np = server(np_factory, free_port(), check={"outbox_max": 2})
    assert wait_for(lambda: "mail: outbox: 0 unsent mails" in np.stderr(), 5), np.stderr()
    From(np, "127.0.0.3").start_check("o1@example.org")
    From(np, "127.0.0.4").start_check("o2@example.org")
    assert wait_for(lambda: "not accepted" in np.stderr(), 10), np.stderr()
    st, hdrs, page = From(np, "127.0.0.5").start_check("o3@example.org", expect=503)
    assert int(hdrs["retry-after"]) > 0 and "Mail is delayed" in page
    assert rows(np, "checks") == 2 and rows(np, "outbox") == 2
    log = np.stderr()
    assert "the outbox is full (outbox_max)" in log and "2 unsent mails" in log, log
    # The refusal is logged once a minute, not per request.
    From(np, "127.0.0.6").start_check("o4@example.org", expect=503)
    assert np.stderr().count("the outbox is full") == 1
