# SPDX-License-Identifier: MIT
"""Sign-up through the REST API against the real nameplated, with the confirmation mail
caught by an SMTP relay on loopback (aiosmtpd):
- [accounts] signup = closed (the default) refuses; open without a mail relay is 503;
- open: the account waits unconfirmed (its correct password gets 403, never a session),
  the mail's link confirms it once, then it signs in and makes a host;
- taken names, weak passwords, bad addresses and the limits per network and per hour.
"""
import json
import re

from conftest import ZONE
from test_check import Relay, mail_extra  # the relay on loopback and its [mail] lines

CODE_RE = re.compile(r"/confirm\?code=([A-Za-z0-9_-]{43})")
PASSWORD = "a long enough passphrase"


def api(n, method, path, body=None, token=None):
    h = {}
    data = None
    if body is not None:
        data = json.dumps(body)
        h["Content-Type"] = "application/json"
    if token is not None:
        h["Authorization"] = "Token " + token
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", n.http_port, timeout=15)
    try:
        c.request(method, "/api/v1" + path, body=data, headers=h)
        r = c.getresponse()
        text = r.read().decode()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, \
            (json.loads(text) if text else None)
    finally:
        c.close()


def start(np_factory, accounts, relay=None):
    n = np_factory()
    extra = mail_extra(relay.port) if relay is not None else ""
    extra += "\n[accounts]\n" + "".join("%s = %s\n" % kv for kv in accounts.items())
    n.write_config(extra=extra)
    n.init()
    n.start()
    return n


def test_closed_by_default(np):
    st, _, body = api(np, "POST", "/auth/signup",
                      {"user": "eve", "email": "eve@example.org", "password": PASSWORD})
    assert (st, body["error"]["code"]) == (403, "signup_closed")


def test_open_needs_mail(np_factory):
    n = start(np_factory, {"signup": "open"})
    st, hdrs, body = api(n, "POST", "/auth/signup",
                         {"user": "eve", "email": "eve@example.org", "password": PASSWORD})
    assert (st, body["error"]["code"]) == (503, "no_mail")
    assert "retry-after" in hdrs


def test_open_confirm_then_sign_in(np_factory):
    relay = Relay().start()
    try:
        n = start(np_factory, {"signup": "open"}, relay)
        st, _, body = api(n, "POST", "/auth/signup",
                          {"user": "bob", "email": "bob@example.org", "password": PASSWORD})
        assert (st, body) == (201, {"user": "bob", "state": "unconfirmed"})
        # Unconfirmed: the right password is told why, and gets no session.
        st, _, body = api(n, "POST", "/auth/login", {"user": "bob", "password": PASSWORD})
        assert (st, body["error"]["code"]) == (403, "account_inactive")
        # A wrong one learns nothing.
        st, _, body = api(n, "POST", "/auth/login", {"user": "bob", "password": PASSWORD + "x"})
        assert st == 401
        msg = relay.wait_mail("bob@example.org")
        text = msg[3].get_content()
        code = CODE_RE.search(text).group(1)
        assert "bob" in text
        st, _, body = api(n, "POST", "/auth/confirm", {"code": "x" * 43})
        assert (st, body["error"]["code"]) == (404, "not_found")
        st, _, body = api(n, "POST", "/auth/confirm", {"code": code})
        assert (st, body) == (200, {"user": "bob", "state": "active"})
        st, _, body = api(n, "POST", "/auth/confirm", {"code": code})  # once only
        assert st == 404
        st, _, body = api(n, "POST", "/auth/login", {"user": "bob", "password": PASSWORD})
        assert st == 200
        token = body["token"]
        st, _, body = api(n, "POST", "/hosts", {"fqdn": "bob.%s" % ZONE}, token=token)
        assert st == 201, body
        st, _, body = api(n, "GET", "/account", token=token)
        assert body["email"] == "bob@example.org" and body["email_confirmed"] is True
        # The name is taken now, whatever the case of the request.
        st, _, body = api(n, "POST", "/auth/signup",
                          {"user": "bob", "email": "b2@example.org", "password": PASSWORD})
        assert (st, body["error"]["code"]) == (409, "exists")
    finally:
        relay.stop()


def test_bad_input_changes_nothing(np_factory):
    relay = Relay().start()
    try:
        n = start(np_factory, {"signup": "open"}, relay)
        cases = [
            ({"user": "Bad Name", "email": "x@example.org", "password": PASSWORD}, 422),
            ({"user": "", "email": "x@example.org", "password": PASSWORD}, 422),
            ({"user": "a" * 64, "email": "x@example.org", "password": PASSWORD}, 400),
            ({"user": "carol", "email": "not an address", "password": PASSWORD}, 422),
            ({"user": "carol", "password": PASSWORD}, 422),
            ({"user": "carol", "email": "c@example.org", "password": "short"}, 422),
            ({"user": "carol", "email": "c@example.org", "password": "x" * 257}, 400),
            ({"user": "carol", "email": "c@example.org", "password": "ok\u0000ok ok ok ok"},
             400),
            ({"user": "carol", "email": "c@example.org", "password": PASSWORD, "admin": True},
             400),
        ]
        for body, want in cases:
            st, _, answer = api(n, "POST", "/auth/signup", body)
            assert st == want, (body, answer)
        assert relay.sink.count() == 0
        st, _, _ = api(n, "POST", "/auth/login", {"user": "carol", "password": PASSWORD})
        assert st == 401
    finally:
        relay.stop()


def test_limits(np_factory):
    relay = Relay().start()
    try:
        n = start(np_factory, {"signup": "open", "signup_per_net_day": 2,
                               "signup_per_hour": 5}, relay)
        for i in range(2):
            st, _, body = api(n, "POST", "/auth/signup", {"user": "u%d" % i, "email":
                              "u%d@example.org" % i, "password": PASSWORD})
            assert st == 201, body
        st, hdrs, body = api(n, "POST", "/auth/signup", {"user": "u9", "email":
                             "u9@example.org", "password": PASSWORD})
        assert (st, body["error"]["code"]) == (429, "throttled")
        assert int(hdrs["retry-after"]) > 0
        relay.wait_mail("u1@example.org")
        assert relay.sink.count() == 2
    finally:
        relay.stop()
