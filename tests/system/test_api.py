# SPDX-License-Identifier: MIT
# The REST API under /api/v1 through the real nameplated over loopback: every route of
# src/http/api.c, every error it answers with, what DNS serves after each change, and that
# static/openapi.json describes exactly the routes the server has.

import http.client
import json
import os
import re
import socket
import time

import dns.rcode
import jsonschema
import pytest

import accounts
from conftest import ROOT, ZONE

HOME = "home.%s" % ZONE
BOB_HOST = "bob.%s" % ZONE
PW = {"alice": "alice's long password", "bob": "bob's long password",
      "root": "the admin's password"}
OPENAPI = os.path.join(ROOT, "static", "openapi.json")
API_C = os.path.join(ROOT, "src", "http", "api.c")


class Resp:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw
        try:
            self.json = json.loads(raw) if raw else None
        except ValueError:
            self.json = None

    @property
    def code(self):
        return (self.json or {}).get("error", {}).get("code")

    def __repr__(self):
        return "<%d %r>" % (self.status, self.raw[:300])


def call(n, method, path, body=None, token=None, headers=None, source=None,
         content_type="application/json", raw_path=False):
    """One request to /api/v1/PATH; body is JSON-encoded unless it is bytes."""
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = "Token " + token
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        if content_type is not None:
            h["Content-Type"] = content_type
    c = http.client.HTTPConnection("127.0.0.1", n.http_port, timeout=30,
                                   source_address=(source, 0) if source else None)
    try:
        c.request(method, path if raw_path else "/api/v1/" + path, body=data, headers=h)
        r = c.getresponse()
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        c.close()


def ok(r, status=200):
    assert r.status == status, r
    return r.json


def err(r, status, code=None):
    assert r.status == status, r
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    assert set(r.json) == {"error"} and set(r.json["error"]) == {"code", "message"}, r
    if code is not None:
        assert r.code == code, r
    return r.json["error"]["message"]


def login(n, user, password=None, source=None):
    r = call(n, "POST", "auth/login", {"user": user, "password": password or PW[user]},
             source=source)
    return ok(r)["token"]


def make_token(n, token, policy=None, name="t"):
    body = {"name": name}
    if policy is not None:
        body["policy"] = policy
    return ok(call(n, "POST", "tokens", body, token=token), 201)


@pytest.fixture
def api(np_factory):
    """As conftest's np (alice with home.dyn.example, np.secret its host token), plus
    passwords for alice, bob (host bob.dyn.example) and the administrator root, and small
    account limits; n.session is a sign-in of alice."""
    n = np_factory()
    n.write_config(extra="[accounts]\nmax_hosts = 4\nmax_tokens = 5\n")
    n.init()
    for u in ("alice", "bob", "root"):
        n.add_user(u)
    n.secret = n.add_host(HOME, "alice")
    n.bob_secret = n.add_host(BOB_HOST, "bob")
    for u, pw in PW.items():
        accounts.set_password(n, u, pw)
    accounts.set_role(n, "root", "admin")
    n.start()
    n.session = login(n, "alice")
    return n


# ---- authentication ----

def test_no_unknown_and_expired_tokens_are_401(api):
    m = err(call(api, "GET", "hosts"), 401, "unauthorized")
    assert "Token" in m
    r = call(api, "GET", "hosts", token="not-a-token")
    err(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == 'Token realm="nameplate"'
    err(call(api, "GET", "hosts", headers={"Authorization": "Basic YTpi"}), 401)
    err(call(api, "GET", "hosts", token="x" * 300), 401)
    # A token that expires in two seconds works, then is refused.
    t = make_token(api, api.session, {"expires": int(time.time()) + 2})
    ok(call(api, "GET", "hosts", token=t["token"]))
    time.sleep(3.1)
    assert "expired" in err(call(api, "GET", "hosts", token=t["token"]), 401, "unauthorized")
    # Bearer is taken as well as Token.
    ok(call(api, "GET", "hosts", headers={"Authorization": "Bearer " + api.secret}))


def test_repeated_wrong_tokens_get_429_with_retry_after(api):
    src = "127.0.0.9"
    statuses = [call(api, "GET", "hosts", token="wrong%d" % i, source=src).status
                for i in range(10)]
    assert statuses == [401] * 10
    r = call(api, "GET", "hosts", token=api.secret, source=src)
    err(r, 429, "throttled")
    assert 1 <= int(r.headers["retry-after"]) <= 900
    # Another address is not held up.
    ok(call(api, "GET", "hosts", token=api.secret, source="127.0.0.10"))


def test_session_cookie_needs_same_origin_for_changes(api):
    cookie = {"Cookie": "np_session=" + api.session}
    ok(call(api, "GET", "account", headers=cookie))
    body = {"records": ["192.0.2.7"]}
    path = "hosts/%s/records/A" % HOME
    for bad in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                {"Sec-Fetch-Site": "same-site"}):
        m = err(call(api, "PUT", path, body, headers=dict(cookie, **bad)), 403, "forbidden")
        assert "another site" in m
    assert api.addrs(HOME) == set()
    origin = {"Origin": "http://127.0.0.1:%d" % api.http_port, "Sec-Fetch-Site": "same-origin"}
    ok(call(api, "PUT", path, body, headers=dict(cookie, **origin)))
    assert api.addrs(HOME) == {"192.0.2.7"}
    # A made-up cookie is an unknown token.
    err(call(api, "GET", "account", headers={"Cookie": "np_session=nope"}), 401)


# ---- bodies and paths ----

def test_body_errors(api):
    T = api.secret
    err(call(api, "POST", "hosts", b"{", token=T), 400, "bad_json")
    err(call(api, "POST", "hosts", b"[]", token=T), 400, "bad_json")
    err(call(api, "POST", "hosts", {"fqdn": "x." + ZONE, "extra": 1}, token=T), 400,
        "bad_request")
    err(call(api, "POST", "hosts", {"fqdn": 5}, token=T), 400, "bad_request")
    err(call(api, "PATCH", "hosts/" + HOME, {"wildcard": "yes"}, token=T), 400, "bad_request")
    err(call(api, "PATCH", "hosts/" + HOME, token=T), 400, "bad_request")
    err(call(api, "PUT", "hosts/%s/records/A" % HOME, {"records": "192.0.2.1"}, token=T),
        400, "bad_request")
    err(call(api, "PUT", "hosts/%s/records/A" % HOME, {"records": [1]}, token=T), 400)
    # NUL, invalid UTF-8, duplicate keys, deep nesting: refused by the parser.
    err(call(api, "POST", "hosts", b'{"fqdn": "a\\u0000b.dyn.example"}', token=T), 400,
        "bad_json")
    err(call(api, "POST", "hosts", b'{"fqdn": "a\xff\xfeb.dyn.example"}', token=T), 400,
        "bad_json")
    err(call(api, "POST", "hosts", b'{"fqdn": "a.dyn.example", "fqdn": "b.dyn.example"}',
             token=T), 400, "bad_json")
    err(call(api, "POST", "hosts", b"[" * 20000 + b"]" * 20000, token=T), 400, "bad_json")
    # An unknown member's name is shown escaped.
    m = err(call(api, "POST", "hosts", '{"a\\u001bb": 1}'.encode(), token=T), 400)
    assert "\x1b" not in m
    # Media type and size.
    err(call(api, "POST", "hosts", {"fqdn": "x." + ZONE}, token=T, content_type="text/plain"),
        415, "unsupported_media_type")
    err(call(api, "POST", "hosts", {"fqdn": "x." + ZONE}, token=T, content_type=None), 415)
    ok(call(api, "POST", "hosts", {"fqdn": "ct." + ZONE}, token=api.session,
            content_type="Application/JSON; charset=utf-8"), 201)
    big = {"fqdn": "x." + ZONE, "pad": "a" * (64 * 1024)}
    assert send_big(api, json.dumps(big).encode()).startswith(b"HTTP/1.1 413")
    assert send_big(api, b'{"x":"' + b"a" * (2 << 20) + b'"}').startswith(b"HTTP/1.1 413")
    # A body on a GET is refused before anything.
    assert call(api, "GET", "hosts", b"{}", token=T).status == 413
    # Nothing was made.
    names = {h["fqdn"] for h in ok(call(api, "GET", "hosts", token=api.session))["hosts"]}
    assert names == {HOME, "ct." + ZONE}


def send_big(n, body):
    """POSTs body to /hosts with its Content-Length; the server may answer and close before
    it is all sent. Returns the start of the answer."""
    s = socket.create_connection(("127.0.0.1", n.http_port), timeout=10)
    try:
        s.sendall(("POST /api/v1/hosts HTTP/1.1\r\nHost: x\r\nAuthorization: Token %s\r\n"
                   "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                   % (n.secret, len(body))).encode())
        try:
            s.sendall(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return s.recv(4096)
    finally:
        s.close()


def test_chunked_body_over_limit_is_413(api):
    s = socket.create_connection(("127.0.0.1", api.http_port), timeout=10)
    try:
        s.sendall(("POST /api/v1/hosts HTTP/1.1\r\nHost: x\r\nAuthorization: Token %s\r\n"
                   "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                   % api.secret).encode())
        chunk = b"a" * 16384
        for _ in range(6):
            s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        s.sendall(b"0\r\n\r\n")
        head = s.recv(4096)
    finally:
        s.close()
    assert head.startswith(b"HTTP/1.1 413"), head


def test_paths_405_and_odd_segments(api):
    T = api.secret
    m = err(call(api, "GET", "nothing", token=T), 404, "not_found")
    assert m == "no such API path"
    r = call(api, "PUT", "hosts", {}, token=T)
    err(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "GET, POST"
    r = call(api, "POST", "hosts/" + HOME, {}, token=T)
    err(r, 405)
    assert r.headers["allow"] == "GET, PATCH, DELETE"
    r = call(api, "GET", "auth/login")
    err(r, 405)
    assert r.headers["allow"] == "POST"
    # A method no API path takes is the HTTP layer's (text/plain, Allow too).
    r = call(api, "OPTIONS", "hosts", token=T)
    assert r.status == 405 and "allow" in r.headers
    # HEAD is GET without a body.
    r = call(api, "HEAD", "hosts/" + HOME, token=T)
    assert r.status == 200 and r.raw == b""
    for path in ("hosts/", "hosts//records/A", "hosts/home%00.dyn.example/x",
                 "hosts/../tokens", "hosts/%2e%2e/records/A", "hosts/a%2Fb", "hosts/a b",
                 "a/b/c/d/e/f", "hosts/" + "a" * 300):
        r = call(api, "GET", path.replace(" ", "%20"), token=T)
        assert r.status == 404, (path, r)
    # %00 ends the path where it stands: never a host called "home".
    err(call(api, "GET", "hosts/home%00.dyn.example", token=T), 404)
    err(call(api, "GET", "hosts/..", token=T), 404, "not_found")
    # Names are case-insensitive, a trailing dot is fine.
    assert ok(call(api, "GET", "hosts/HOME.Dyn.Example.", token=T))["fqdn"] == HOME
    err(call(api, "GET", "hosts/%s/records/NS" % HOME, token=T), 404, "not_found")


# ---- hosts and records ----

def test_host_lifecycle_and_dns(api):
    S = api.session
    fqdn = "new." + ZONE
    h = ok(call(api, "POST", "hosts", {"fqdn": "New.%s." % ZONE}, token=S), 201)
    assert h["fqdn"] == fqdn and h["zone"] == ZONE
    assert h["records"] == {"A": [], "AAAA": [], "TXT": [], "MX": []}
    assert h["last_change"]["interface"] == "web"
    assert api.query(fqdn, "A").rcode() == dns.rcode.NOERROR
    err(call(api, "POST", "hosts", {"fqdn": fqdn}, token=S), 409, "exists")
    err(call(api, "POST", "hosts", {"fqdn": BOB_HOST}, token=S), 409, "exists")
    err(call(api, "POST", "hosts", {"fqdn": "x.other.example"}, token=S), 422, "bad_name")
    err(call(api, "POST", "hosts", {"fqdn": ZONE}, token=S), 422, "bad_name")
    err(call(api, "POST", "hosts", {"fqdn": "bad_name!." + ZONE}, token=S), 422, "bad_name")
    err(call(api, "POST", "hosts", {}, token=S), 400, "bad_request")

    t = make_token(api, S, {"names": [fqdn]})["token"]
    rs = ok(call(api, "PUT", "hosts/%s/records/A" % fqdn,
                 {"records": ["192.0.2.1", "192.0.2.2", "192.0.2.1"]}, token=t))
    assert rs == {"type": "A", "ttl": 60, "records": ["192.0.2.1", "192.0.2.2"]}
    assert api.addrs(fqdn) == {"192.0.2.1", "192.0.2.2"}
    ok(call(api, "PUT", "hosts/%s/records/aaaa" % fqdn, {"records": ["2001:db8::1"]}, token=t))
    assert api.addrs(fqdn, "AAAA") == {"2001:db8::1"}
    ok(call(api, "PUT", "hosts/%s/records/TXT" % fqdn,
            {"records": ["v=spf1 -all", "caf\u00e9 \u2603", "x" * 600]}, token=t))
    txt = api.addrs(fqdn, "TXT", use_edns=0, payload=4096)
    assert '"v=spf1 -all"' in txt and len(txt) == 3
    ok(call(api, "PUT", "hosts/%s/records/MX" % fqdn,
            {"records": ["10 mail.example.com", "20 mx2.example.com."]}, token=t))
    assert api.addrs(fqdn, "MX") == {"10 mail.example.com.", "20 mx2.example.com."}
    rs = ok(call(api, "GET", "hosts/%s/records/MX" % fqdn, token=t))
    assert rs["records"] == ["10 mail.example.com", "20 mx2.example.com"]
    h = ok(call(api, "GET", "hosts/" + fqdn, token=t))
    assert h["records"]["A"] == ["192.0.2.1", "192.0.2.2"]
    assert h["records"]["TXT"][0] == "v=spf1 -all"

    # The history names the interface and the token.
    hist = ok(call(api, "GET", "hosts/%s/history" % fqdn, token=t))
    assert hist["fqdn"] == fqdn
    rows = hist["history"]
    a_row = [r for r in rows if r["new"] == "192.0.2.1,192.0.2.2"][0]
    tid = ok(call(api, "GET", "tokens", token=S))["tokens"]
    tid = [x["id"] for x in tid if x["policy"]["names"] == [fqdn]][0]
    assert a_row["interface"] == "api" and a_row["token"] == tid
    assert a_row["source"] == "127.0.0.1" and a_row["old"] == ""
    assert rows[0]["time"] >= rows[-1]["time"]
    # The same records again change nothing and write no history.
    ok(call(api, "PUT", "hosts/%s/records/A" % fqdn, {"records": ["192.0.2.2", "192.0.2.1"]},
            token=t))
    assert len(ok(call(api, "GET", "hosts/%s/history" % fqdn, token=t))["history"]) == len(rows)

    # Wildcard and offline.
    h = ok(call(api, "PATCH", "hosts/" + fqdn, {"wildcard": True}, token=t))
    assert h["wildcard"] is True and h["offline"] is False
    assert api.addrs("any.thing." + fqdn) == {"192.0.2.1", "192.0.2.2"}
    h = ok(call(api, "PATCH", "hosts/" + fqdn, {"offline": True}, token=t))
    assert h["offline"] is True and h["records"]["A"] == [] and h["records"]["AAAA"] == []
    assert h["records"]["MX"] != []
    assert api.addrs(fqdn) == set() and api.addrs(fqdn, "AAAA") == set()
    h = ok(call(api, "PATCH", "hosts/" + fqdn, {"wildcard": False}, token=t))
    assert h["wildcard"] is False and h["offline"] is True
    # Addresses bring it back online.
    ok(call(api, "PUT", "hosts/%s/records/A" % fqdn, {"records": ["192.0.2.9"]}, token=t))
    assert ok(call(api, "GET", "hosts/" + fqdn, token=t))["offline"] is False
    assert api.addrs(fqdn) == {"192.0.2.9"}

    # Deleting records: DELETE, or PUT of an empty list.
    r = call(api, "DELETE", "hosts/%s/records/MX" % fqdn, token=t)
    assert r.status == 204 and r.raw == b""
    assert api.addrs(fqdn, "MX") == set()
    assert call(api, "PUT", "hosts/%s/records/TXT" % fqdn, {"records": []}, token=t).status == 204
    assert api.addrs(fqdn, "TXT") == set()
    assert ok(call(api, "GET", "hosts/%s/records/TXT" % fqdn, token=t))["records"] == []

    # Deleting the host: DNS says NXDOMAIN, the API 404.
    assert call(api, "DELETE", "hosts/" + fqdn, token=S).status == 204
    assert api.query(fqdn, "A").rcode() == dns.rcode.NXDOMAIN
    err(call(api, "GET", "hosts/" + fqdn, token=S), 404, "not_found")
    err(call(api, "DELETE", "hosts/" + fqdn, token=S), 404, "not_found")
    # The name is free again.
    ok(call(api, "POST", "hosts", {"fqdn": fqdn}, token=S), 201)


def test_record_values_refused_with_422(api):
    T = api.secret
    base = "hosts/%s/records/" % HOME
    for typ, value in (("A", "2001:db8::1"), ("A", "192.0.2.256"), ("A", "192.0.2.1/32"),
                       ("A", " 192.0.2.1"), ("A", ""), ("AAAA", "192.0.2.1"),
                       ("AAAA", "2001:db8::g"), ("MX", "mail.example.com"),
                       ("MX", "65536 mail.example.com"), ("MX", "-1 mail.example.com"),
                       ("MX", "10 "), ("MX", "10 a..b"), ("MX", "x mail.example.com"),
                       ("TXT", "a\tb"), ("TXT", "line\nbreak"), ("TXT", "del\x7f"),
                       ("TXT", "x" * 1021)):
        err(call(api, "PUT", base + typ, {"records": [value]}, token=T), 422, "bad_record")
    m = err(call(api, "PUT", base + "A",
                 {"records": ["192.0.2.%d" % i for i in range(17)]}, token=T), 422, "too_many")
    assert "16" in m
    ok(call(api, "PUT", base + "A", {"records": ["192.0.2.%d" % i for i in range(16)]},
            token=T))
    assert len(api.addrs(HOME)) == 16
    ok(call(api, "PUT", base + "TXT", {"records": ["x" * 1020]}, token=T))
    # Nothing of the refused ones was stored.
    h = ok(call(api, "GET", "hosts/" + HOME, token=T))
    assert h["records"]["AAAA"] == [] and h["records"]["MX"] == []


def test_host_limit(api):
    S = api.session
    for i in range(3):  # alice has one; max_hosts = 4
        ok(call(api, "POST", "hosts", {"fqdn": "h%d.%s" % (i, ZONE)}, token=S), 201)
    err(call(api, "POST", "hosts", {"fqdn": "h9." + ZONE}, token=S), 403, "limit")
    assert api.query("h9." + ZONE, "A").rcode() == dns.rcode.NXDOMAIN


def test_prefix_moves_aaaa_keeping_interface_ids(api):
    S = api.session
    ok(call(api, "POST", "hosts", {"fqdn": "nas." + ZONE}, token=S), 201)
    ok(call(api, "PUT", "hosts/%s/records/AAAA" % HOME,
            {"records": ["2001:db8:aa:1::10", "2001:db8:bb:2::20"]}, token=S))
    ok(call(api, "PUT", "hosts/nas.%s/records/AAAA" % ZONE,
            {"records": ["2001:db8:aa:5:1234:5678:9abc:def0"]}, token=S))
    ok(call(api, "PUT", "hosts/%s/records/A" % HOME, {"records": ["192.0.2.1"]}, token=S))
    # Only what lies in "old" moves.
    r = ok(call(api, "POST", "hosts/prefix",
                {"prefix": "2001:db8:cc:100::/56", "old": "2001:db8:aa::/56"}, token=S))
    changed = {c["fqdn"]: c for c in r["changed"]}
    assert set(changed) == {HOME, "nas." + ZONE}
    assert changed[HOME]["old"] == "2001:db8:aa:1::10,2001:db8:bb:2::20"
    assert api.addrs(HOME, "AAAA") == {"2001:db8:cc:101::10", "2001:db8:bb:2::20"}
    assert api.addrs("nas." + ZONE, "AAAA") == {"2001:db8:cc:105:1234:5678:9abc:def0"}
    assert api.addrs(HOME) == {"192.0.2.1"}
    hist = ok(call(api, "GET", "hosts/%s/history" % HOME, token=S))["history"][0]
    assert hist["new"] == "2001:db8:cc:101::10,2001:db8:bb:2::20"
    assert hist["interface"] == "web"
    # Nothing left to move: nothing changed.
    r = ok(call(api, "POST", "hosts/prefix",
                {"prefix": "2001:db8:cc:100::/56", "old": "2001:db8:aa::/56"}, token=S))
    assert r["changed"] == []
    # Without "old" everything moves; two addresses that become one are one record.
    ok(call(api, "PUT", "hosts/%s/records/AAAA" % HOME,
            {"records": ["2001:db8:aa:1::10", "2001:db8:bb:1::10"]}, token=S))
    r = ok(call(api, "POST", "hosts/prefix", {"prefix": "2001:db8:dd::/48"}, token=S))
    assert {c["fqdn"] for c in r["changed"]} == {HOME, "nas." + ZONE}
    rs = ok(call(api, "GET", "hosts/%s/records/AAAA" % HOME, token=S))
    assert rs["records"] == ["2001:db8:dd:1::10"]
    assert api.addrs(HOME, "AAAA") == {"2001:db8:dd:1::10"}
    # A token scoped to one name moves only that one.
    t = make_token(api, S, {"names": ["nas." + ZONE]})["token"]
    r = ok(call(api, "POST", "hosts/prefix", {"prefix": "2001:db8:ee::/48"}, token=t))
    assert [c["fqdn"] for c in r["changed"]] == ["nas." + ZONE]
    assert api.addrs(HOME, "AAAA") == {"2001:db8:dd:1::10"}
    for bad in ({"prefix": "2001:db8::/40"}, {"prefix": "2001:db8::/72"},
                {"prefix": "192.0.2.0/24"}, {"prefix": "2001:db8::"},
                {"prefix": "2001:db8::/56", "old": "nonsense"}):
        err(call(api, "POST", "hosts/prefix", bad, token=S), 422, "bad_prefix")
    err(call(api, "POST", "hosts/prefix", {}, token=S), 400, "bad_request")
    err(call(api, "POST", "hosts/prefix", {"prefix": 56}, token=S), 400, "bad_request")


# ---- policies ----

def test_policies_refuse_with_403(api):
    S = api.session
    ok(call(api, "POST", "hosts", {"fqdn": "two." + ZONE}, token=S), 201)
    # The host token of home cannot touch another host of the account; to it, that host
    # looks like none of the account's (it learns nothing of the account's other names).
    T = api.secret
    err(call(api, "PUT", "hosts/two.%s/records/A" % ZONE, {"records": ["192.0.2.1"]}, token=T),
        404, "not_found")
    err(call(api, "GET", "hosts/two." + ZONE, token=T), 404, "not_found")
    err(call(api, "DELETE", "hosts/two." + ZONE, token=T), 404)
    err(call(api, "POST", "hosts", {"fqdn": "three." + ZONE}, token=T), 403, "forbidden")
    assert [h["fqdn"] for h in ok(call(api, "GET", "hosts", token=T))["hosts"]] == [HOME]
    # Scoped to A: no TXT, no going offline (it withdraws AAAA too).
    a_only = make_token(api, S, {"names": [HOME], "types": ["A"]})["token"]
    ok(call(api, "PUT", "hosts/%s/records/A" % HOME, {"records": ["192.0.2.5"]}, token=a_only))
    err(call(api, "PUT", "hosts/%s/records/TXT" % HOME, {"records": ["x"]}, token=a_only),
        403, "forbidden")
    err(call(api, "DELETE", "hosts/%s/records/AAAA" % HOME, token=a_only), 403)
    err(call(api, "PATCH", "hosts/" + HOME, {"offline": True}, token=a_only), 403)
    assert api.addrs(HOME) == {"192.0.2.5"}
    # From one source prefix only: refused from 127.0.0.1, taken through the trusted proxy
    # from inside the prefix.
    src = make_token(api, S, {"sources": ["192.0.2.0/24"]})["token"]
    m = err(call(api, "GET", "hosts", token=src), 403, "forbidden")
    assert "address" in m or "source" in m
    ok(call(api, "GET", "hosts", token=src, source="127.0.0.2",
            headers={"X-Forwarded-For": "192.0.2.77"}))
    r = call(api, "GET", "hosts", token=src, source="127.0.0.2",
             headers={"X-Forwarded-For": "not an address"})
    err(r, 400)
    # Subtree names.
    sub = make_token(api, S, {"names": ["*." + HOME]})["token"]
    ok(call(api, "POST", "hosts", {"fqdn": "pc." + HOME}, token=sub), 201)
    # The subtree's parent is not in it: to this token it is no host of the account.
    err(call(api, "PUT", "hosts/%s/records/A" % HOME, {"records": ["192.0.2.1"]}, token=sub),
        404)


def test_other_accounts_host_looks_missing(api):
    S = api.session
    theirs = err(call(api, "GET", "hosts/" + BOB_HOST, token=S), 404, "not_found")
    missing = err(call(api, "GET", "hosts/nobody." + ZONE, token=S), 404, "not_found")
    assert theirs.replace(BOB_HOST, "X") == missing.replace("nobody." + ZONE, "X")
    for method, path, body in (("PUT", "records/A", {"records": ["192.0.2.66"]}),
                               ("DELETE", "records/A", None), ("GET", "records/A", None),
                               ("GET", "history", None), ("PATCH", "", {"offline": True}),
                               ("DELETE", "", None)):
        p = "hosts/" + BOB_HOST + ("/" + path if path else "")
        err(call(api, method, p, body, token=S), 404, "not_found")
    # bob's host is untouched.
    st, _, lines = api.update(user="bob", hostname=BOB_HOST, secret=api.bob_secret,
                              myip="192.0.2.44")
    assert lines == ["good 192.0.2.44"]
    assert api.addrs(BOB_HOST) == {"192.0.2.44"}


# ---- tokens ----

def test_tokens_create_list_patch_delete(api):
    S = api.session
    t = make_token(api, S, {"names": [HOME], "types": ["A", "AAAA"],
                            "sources": ["127.0.0.0/8", "::1/128"]}, name="router")
    secret, tid = t["token"], t["id"]
    assert re.fullmatch(r"[0-9a-f]{12}", tid) and len(secret) >= 40
    assert t["kind"] == "api" and t["name"] == "router" and t["current"] is False
    assert t["policy"] == {"names": [HOME], "types": ["A", "AAAA"],
                           "sources": ["127.0.0.0/8", "::1/128"], "expires": 0, "manage": False}
    # The secret is never shown again.
    lst = call(api, "GET", "tokens", token=S)
    assert secret.encode() not in lst.raw
    ids = {x["id"]: x for x in lst.json["tokens"]}
    assert ids[tid]["name"] == "router" and "token" not in ids[tid]
    assert {x["kind"] for x in lst.json["tokens"]} == {"api", "host", "session"}
    assert [x for x in lst.json["tokens"] if x["current"]][0]["kind"] == "session"
    one = call(api, "GET", "tokens/" + tid, token=S)
    assert ok(one)["id"] == tid and secret.encode() not in one.raw
    ok(call(api, "PUT", "hosts/%s/records/A" % HOME, {"records": ["192.0.2.3"]}, token=secret))
    # Patch: rename, then narrow to AAAA.
    p = ok(call(api, "PATCH", "tokens/" + tid, {"name": "renamed"}, token=S))
    assert p["name"] == "renamed" and p["policy"]["types"] == ["A", "AAAA"]
    p = ok(call(api, "PATCH", "tokens/" + tid, {"policy": {"types": ["AAAA"]}}, token=S))
    assert p["policy"]["types"] == ["AAAA"] and p["policy"]["names"] == []
    err(call(api, "PUT", "hosts/%s/records/A" % HOME, {"records": ["192.0.2.4"]},
             token=secret), 403)
    # Bad policies.
    for body, status in (({"policy": {"types": ["NS"]}}, 422), ({"policy": {"names": ["a b"]}}, 422),
                         ({"policy": {"sources": ["300.0.0.0/8"]}}, 422),
                         ({"policy": {"expires": 1}}, 422), ({"policy": {"expires": -5}}, 422),
                         ({"policy": {"expires": "soon"}}, 400), ({"policy": {"manage": 1}}, 400),
                         ({"policy": {"names": "x"}}, 400), ({"policy": {"names": [1]}}, 400),
                         ({"policy": {"what": 1}}, 400), ({"policy": []}, 400),
                         ({"name": "x" * 64}, 400), ({"name": "a\nb"}, 400)):
        r = call(api, "POST", "tokens", body, token=S)
        assert r.status == status and r.code in ("bad_policy", "bad_request"), (body, r)
    err(call(api, "GET", "tokens/000000000000", token=S), 404, "not_found")
    err(call(api, "PATCH", "tokens/000000000000", {"name": "x"}, token=S), 404)
    # A session's policy cannot be changed.
    sid = [x["id"] for x in lst.json["tokens"] if x["current"]][0]
    err(call(api, "PATCH", "tokens/" + sid, {"policy": {"types": ["A"]}}, token=S), 422,
        "bad_policy")
    # Bob cannot see or revoke alice's token.
    bob = login(api, "bob")
    err(call(api, "GET", "tokens/" + tid, token=bob), 404)
    err(call(api, "DELETE", "tokens/" + tid, token=bob), 404)
    # Revoked: refused at once.
    r = call(api, "DELETE", "tokens/" + tid, token=S)
    assert r.status == 204
    err(call(api, "GET", "hosts", token=secret), 401, "unauthorized")
    err(call(api, "DELETE", "tokens/" + tid, token=S), 404)


def test_token_limit_and_manage(api):
    S = api.session
    # A token without manage cannot reach the tokens.
    for method, path in (("GET", "tokens"), ("POST", "tokens"), ("GET", "tokens/x"),
                         ("PATCH", "tokens/x"), ("DELETE", "tokens/x")):
        m = err(call(api, method, path, {} if method in ("POST", "PATCH") else None,
                     token=api.secret), 403, "forbidden")
        assert "manage" in m
    mgr = make_token(api, S, {"names": [HOME, "*." + HOME], "types": ["A", "AAAA"],
                              "expires": int(time.time()) + 3600, "manage": True})["token"]
    ok(call(api, "GET", "tokens", token=mgr))
    # Within its own policy: fine. Wider in any way: 403.
    ok(call(api, "POST", "tokens", {"policy": {"names": ["pc." + HOME], "types": ["A"],
                                                "expires": int(time.time()) + 60}}, token=mgr), 201)
    soon, later = int(time.time()) + 60, int(time.time()) + 7200
    for wider in ({"names": [HOME], "types": ["A"]},                         # never expires
                  {"names": [HOME], "types": ["A"], "expires": later},       # expires later
                  {"names": ["two." + ZONE], "types": ["A"], "expires": soon},  # another name
                  {"types": ["A"], "expires": soon},                         # every name
                  {"names": [HOME], "types": ["TXT"], "expires": soon},      # another type
                  {"names": [HOME], "expires": soon},                        # every type
                  {"names": [HOME], "types": ["A"], "expires": soon,
                   "sources": ["127.0.0.0/8"]}):                             # fine: narrower
        r = call(api, "POST", "tokens", {"policy": wider}, token=mgr)
        if "sources" in wider:
            ok(r, 201)
        else:
            assert "policy" in err(r, 403, "forbidden"), wider
    # max_tokens = 5 api tokens (sessions and host tokens do not count).
    n = len([x for x in ok(call(api, "GET", "tokens", token=S))["tokens"] if x["kind"] == "api"])
    for _ in range(5 - n):
        make_token(api, S)
    err(call(api, "POST", "tokens", {}, token=S), 403, "limit")


# ---- sign-in, account ----

def test_login_logout(api):
    s = call(api, "POST", "auth/login", {"user": "alice", "password": PW["alice"]})
    j = ok(s)
    assert set(j) == {"token", "id", "expires"}
    assert j["expires"] - time.time() == pytest.approx(12 * 3600, abs=60)
    me = ok(call(api, "GET", "account", token=j["token"]))
    assert me["name"] == "alice" and me["password"] is True and me["role"] == "user"
    # Wrong password and unknown user: the same answer.
    a = call(api, "POST", "auth/login", {"user": "alice", "password": "wrong password!"})
    b = call(api, "POST", "auth/login", {"user": "nobody", "password": "wrong password!"})
    assert a.status == b.status == 401 and a.raw == b.raw
    err(a, 401, "unauthorized")
    for body in ({"user": "alice"}, {"password": "x"}, {"user": 1, "password": "x"},
                 {"user": "alice", "password": "x", "extra": 1},
                 {"user": "a" * 64, "password": "x"}, {"user": "alice", "password": "a\x01b"}):
        err(call(api, "POST", "auth/login", body), 400, "bad_request")
    err(call(api, "POST", "auth/login", b"nope"), 400, "bad_json")
    # A host token is no session: logout refuses it.
    err(call(api, "POST", "auth/logout", token=api.secret), 400, "not_a_session")
    r = call(api, "POST", "auth/logout", token=j["token"])
    assert r.status == 204
    err(call(api, "GET", "account", token=j["token"]), 401)
    ok(call(api, "GET", "account", token=api.session))


def test_login_throttled(api):
    src = "127.0.0.20"
    got = [call(api, "POST", "auth/login", {"user": "alice", "password": "wrong password!"},
                source=src).status for _ in range(10)]
    assert got == [401] * 10
    r = call(api, "POST", "auth/login", {"user": "alice", "password": PW["alice"]}, source=src)
    err(r, 429, "throttled")
    assert int(r.headers["retry-after"]) >= 1


def test_login_inactive_account(api):
    with accounts.stopped(api):
        accounts.set_state(api, "bob", "suspended")
    a = call(api, "POST", "auth/login", {"user": "bob", "password": "wrong password!"})
    err(a, 401)
    m = err(call(api, "POST", "auth/login", {"user": "bob", "password": PW["bob"]}), 403,
            "account_inactive")
    assert "suspended" in m


def test_account_patch_and_password_change(api):
    S = api.session
    u = ok(call(api, "PATCH", "account", {"email": "alice@example.org"}, token=S))
    assert u["email"] == "alice@example.org" and u["name"] == "alice"
    assert ok(call(api, "GET", "account", token=api.secret))["email"] == "alice@example.org"
    err(call(api, "PATCH", "account", {"email": "not a mail"}, token=S), 422, "bad_email")
    err(call(api, "PATCH", "account", {}, token=S), 400, "bad_request")
    err(call(api, "PATCH", "account", {"email": 3}, token=S), 400)
    # Only a session may.
    m = err(call(api, "PATCH", "account", {"email": "x@example.org"}, token=api.secret), 403)
    assert "session" in m
    new = "a new long password"
    err(call(api, "PATCH", "account", {"password": new}, token=S), 400, "bad_request")
    err(call(api, "PATCH", "account", {"password": "short", "current_password": PW["alice"]},
             token=S), 422, "weak_password")
    err(call(api, "PATCH", "account", {"password": new, "current_password": "wrong one!!"},
             token=S), 401, "unauthorized")
    ok(call(api, "PATCH", "account", {"password": new, "current_password": PW["alice"]},
            token=S))
    err(call(api, "POST", "auth/login", {"user": "alice", "password": PW["alice"]}), 401)
    assert login(api, "alice", new)


def test_account_delete(api):
    S = api.session
    ok(call(api, "PUT", "hosts/%s/records/A" % HOME, {"records": ["192.0.2.8"]}, token=S))
    assert api.addrs(HOME) == {"192.0.2.8"}
    err(call(api, "DELETE", "account", token=S), 400, "bad_request")
    err(call(api, "DELETE", "account", {"password": "wrong password!"}, token=S), 401)
    err(call(api, "DELETE", "account", {"password": PW["alice"]}, token=api.secret), 403)
    assert api.addrs(HOME) == {"192.0.2.8"}
    r = call(api, "DELETE", "account", {"password": PW["alice"]}, token=S)
    assert r.status == 204, r
    assert api.query(HOME, "A").rcode() == dns.rcode.NXDOMAIN
    err(call(api, "GET", "account", token=S), 401)
    err(call(api, "GET", "hosts", token=api.secret), 401)
    err(call(api, "POST", "auth/login", {"user": "alice", "password": PW["alice"]}), 401)
    # bob is untouched, and the name can be taken again.
    bob = login(api, "bob")
    ok(call(api, "POST", "hosts", {"fqdn": HOME}, token=bob), 201)


# ---- admin ----

def test_admin_users_and_states(api):
    root = login(api, "root")
    users = {u["name"]: u for u in ok(call(api, "GET", "admin/users", token=root))["users"]}
    assert set(users) == {"alice", "bob", "root"}
    assert users["root"]["role"] == "admin" and users["alice"]["hosts"] == 1
    # Not for others.
    err(call(api, "GET", "admin/users", token=api.session), 403, "forbidden")
    err(call(api, "POST", "admin/users/bob/lock", token=api.session), 403)
    bob = login(api, "bob")
    ok(call(api, "GET", "hosts", token=bob))
    u = ok(call(api, "POST", "admin/users/bob/lock", token=root))
    assert u["name"] == "bob" and u["state"] == "locked"
    # A locked user's tokens stop at once, updates too.
    err(call(api, "GET", "hosts", token=bob), 401, "unauthorized")
    err(call(api, "GET", "hosts", token=api.bob_secret), 401)
    assert api.update(user="bob", hostname=BOB_HOST, secret=api.bob_secret,
                      myip="192.0.2.3")[2] == ["badauth"]
    err(call(api, "POST", "auth/login", {"user": "bob", "password": PW["bob"]}), 403,
        "account_inactive")
    assert ok(call(api, "POST", "admin/users/bob/unlock", token=root))["state"] == "active"
    ok(call(api, "GET", "hosts", token=bob))
    assert ok(call(api, "POST", "admin/users/bob/suspend", token=root))["state"] == "suspended"
    err(call(api, "GET", "hosts", token=bob), 401)
    ok(call(api, "POST", "admin/users/bob/unlock", token=root))
    err(call(api, "POST", "admin/users/nobody/lock", token=root), 404, "not_found")
    err(call(api, "POST", "admin/users/bob/delete", token=root), 404, "not_found")
    err(call(api, "POST", "admin/users/root/lock", token=root), 409, "self")
    # A managing token of the admin works; one without manage does not.
    full = make_token(api, root, {"manage": True})["token"]
    ok(call(api, "GET", "admin/users", token=full))
    plain = make_token(api, root)["token"]
    err(call(api, "GET", "admin/users", token=plain), 403)


@pytest.mark.solo
def test_argon2_pool_answers_503_when_full(api):
    """Many sign-ins at once: each is answered; some may wait, the rest get 503 busy with
    Retry-After, none hangs (bounded: 48 requests, 60 s)."""
    import concurrent.futures

    def one(i):
        return call(api, "POST", "auth/login", {"user": "bob", "password": PW["bob"]},
                    source="127.0.1.%d" % (1 + i % 8))

    with concurrent.futures.ThreadPoolExecutor(max_workers=48) as ex:
        results = list(ex.map(one, range(48), timeout=60))
    statuses = {r.status for r in results}
    assert statuses <= {200, 503}, [r for r in results if r.status not in (200, 503)]
    assert 200 in statuses
    for r in results:
        if r.status == 503:
            err(r, 503, "busy")
            assert r.headers["retry-after"] == "5"


# ---- audits (nameplate audit's reports) ----

def finding(key, severity="high", fid=None, **extra):
    f = {"id": fid or key.split()[0], "key": key, "severity": severity, "layer": 1,
         "title": "t " + key, "evidence": {"protocol": "tcp", "port": 23, "service": "telnet"},
         "reachable_from_outside": True,
         "remedy": {"found": "f", "why": "w", "what_to_do": "d"}}
    f.update(extra)
    return f


def report(findings, grade=None):
    sev = ["info", "low", "medium", "high", "critical"]
    worst = max((sev.index(f["severity"]) for f in findings if f["severity"] in sev),
                default=0)
    return {"host": HOME, "grade": grade or "ABCDF"[worst], "server_seen": "192.0.2.7",
            "nat": "nat", "outside_view": True, "findings": findings}


def test_audit_kept_per_host_with_changes(api):
    assert ok(call(api, "GET", "hosts/%s/audit" % HOME, token=api.secret)) == \
        {"fqdn": HOME, "audit": None}
    first = report([finding("upnp-mapping tcp/23"), finding("port-open tcp/23"),
                    finding("upnp-enabled", "medium")])
    # The host's own secret (what the client sends its probes with) is the credential.
    a = ok(call(api, "POST", "hosts/%s/audit" % HOME, first, token=api.secret), 201)["audit"]
    assert a["grade"] == "D" and a["changes"] is None and a["source"] == "127.0.0.1"
    assert a["report"]["findings"] == first["findings"]
    t0 = a["time"]
    assert abs(t0 - time.time()) < 10
    second = report([finding("upnp-enabled", "medium"), finding("natpmp-enabled", "medium")])
    a = ok(call(api, "POST", "hosts/%s/audit" % HOME, second, token=api.secret), 201)["audit"]
    assert a["grade"] == "C"
    assert a["changes"] == {"previous": t0, "new": ["natpmp-enabled"],
                            "gone": ["upnp-mapping tcp/23", "port-open tcp/23"]}
    # GET (the session too) answers the last one, and it survives a restart.
    got = ok(call(api, "GET", "hosts/%s/audit" % HOME, token=api.session))
    assert got["audit"] == a
    api.restart()
    assert ok(call(api, "GET", "hosts/%s/audit" % HOME, token=api.secret)) == got
    # Another account's token: the host looks missing, and nothing is stored.
    err(call(api, "GET", "hosts/%s/audit" % HOME, token=api.bob_secret), 404, "not_found")
    err(call(api, "POST", "hosts/%s/audit" % HOME, first, token=api.bob_secret), 404,
        "not_found")
    err(call(api, "POST", "hosts/%s/audit" % HOME, first), 401, "unauthorized")
    assert ok(call(api, "GET", "hosts/%s/audit" % HOME, token=api.secret)) == got
    # Gone with its host.
    assert call(api, "DELETE", "hosts/" + HOME, token=api.session).status == 204
    ok(call(api, "POST", "hosts", {"fqdn": HOME}, token=api.session), 201)
    assert ok(call(api, "GET", "hosts/%s/audit" % HOME, token=api.session))["audit"] is None


def test_bad_audit_reports_are_refused_and_change_nothing(api):
    good = report([finding("upnp-mapping tcp/23")])
    ok(call(api, "POST", "hosts/%s/audit" % HOME, good, token=api.secret), 201)
    kept = ok(call(api, "GET", "hosts/%s/audit" % HOME, token=api.secret))

    def bad(body, status, code=None, **kw):
        r = call(api, "POST", "hosts/%s/audit" % HOME, body, token=api.secret, **kw)
        if status == 413:
            assert r.status == 413, r
        else:
            err(r, status, code)

    bad(report([finding("a", "high")], grade="E"), 422, "bad_report")
    bad(report([finding("a", "high")], grade="A"), 422, "bad_report")   # not the worst's
    bad(report([finding("a", "urgent")], grade="D"), 422, "bad_report")
    bad(report([finding("a", layer=4)]), 422, "bad_report")
    bad(report([finding("Bad id!", fid="Bad id!")]), 422, "bad_report")
    lean = finding("a")
    del lean["remedy"], lean["evidence"]
    bad(report([dict(lean, key="port-open tcp/%d" % p) for p in range(1, 258)]), 422,
        "too_many")
    # NUL, control characters, long texts, unknown or missing members, nested evidence
    bad(json.dumps(report([finding("a")])).replace('"t a"', '"t\\u0000a"').encode(),
        400, "bad_json")
    bad(report([finding("a", title="a\x01b")]), 400, "bad_request")
    bad(report([finding("a", title="x" * 257)]), 400, "bad_request")
    bad(report([finding("a", password="admin")]), 400, "bad_request")
    f = finding("a")
    del f["key"]
    bad(report([f]), 400, "bad_request")
    bad(report([finding("a", evidence={"deep": {"x": 1}})]), 400, "bad_request")
    bad(report([finding("a", evidence={"k%d" % i: i for i in range(17)})]), 422, "bad_report")
    bad(dict(report([]), extra=1), 400, "bad_request")
    bad({"grade": "A"}, 400, "bad_request")
    bad(b"[]", 400, "bad_json")
    long_remedy = {"found": "x" * 1000, "why": "y" * 1000, "what_to_do": "z" * 1000}
    big = report([finding("port-open tcp/%d" % p, remedy=long_remedy) for p in range(1, 30)])
    assert len(json.dumps(big)) > 64 * 1024
    bad(big, 413)                                   # over the API's 64 KiB
    bad(report([]), 415, "unsupported_media_type", content_type="text/plain")
    assert ok(call(api, "GET", "hosts/%s/audit" % HOME, token=api.secret)) == kept


def test_audit_reports_are_rate_limited_per_host(api):
    for i in range(12):
        ok(call(api, "POST", "hosts/%s/audit" % HOME, report([finding("port-open tcp/%d" % (i + 1))]),
                token=api.secret), 201)
    r = call(api, "POST", "hosts/%s/audit" % HOME, report([finding("port-open tcp/99")]),
             token=api.secret)
    err(r, 429, "throttled")
    assert 1 <= int(r.headers["retry-after"]) <= 3600
    got = ok(call(api, "GET", "hosts/%s/audit" % HOME, token=api.secret))["audit"]
    assert [f["key"] for f in got["report"]["findings"]] == ["port-open tcp/12"]
    # Another host of the account has its own window.
    ok(call(api, "POST", "hosts", {"fqdn": "nas." + ZONE}, token=api.session), 201)
    ok(call(api, "POST", "hosts/nas.%s/audit" % ZONE, report([]), token=api.session), 201)


# ---- the OpenAPI document ----

OPENAPI_MINI_SCHEMA = {
    "type": "object",
    "required": ["openapi", "info", "paths"],
    "properties": {
        "openapi": {"type": "string", "pattern": r"^3\.0\.\d+$"},
        "info": {"type": "object", "required": ["title", "version"],
                 "properties": {"title": {"type": "string"}, "version": {"type": "string"}}},
        "servers": {"type": "array", "items": {"type": "object", "required": ["url"]}},
        "paths": {
            "type": "object",
            "propertyNames": {"pattern": "^/"},
            "additionalProperties": {
                "type": "object",
                "propertyNames": {"enum": ["get", "put", "post", "delete", "patch", "head",
                                           "options", "parameters", "summary",
                                           "description"]},
                "additionalProperties": {"$ref": "#/$defs/operation"},
            },
        },
        "components": {"type": "object", "properties": {
            "schemas": {"type": "object"}, "responses": {"type": "object"},
            "securitySchemes": {"type": "object", "additionalProperties": {
                "type": "object", "required": ["type"],
                "properties": {"type": {"enum": ["apiKey", "http", "oauth2", "openIdConnect"]},
                               "in": {"enum": ["header", "query", "cookie"]}}}}}},
    },
    "$defs": {
        "operation": {
            "type": "object",
            "required": ["responses"],
            "properties": {
                "summary": {"type": "string"},
                "parameters": {"type": "array", "items": {
                    "type": "object", "required": ["name", "in"],
                    "properties": {"in": {"enum": ["path", "query", "header", "cookie"]}}}},
                "requestBody": {"type": "object", "required": ["content"]},
                "security": {"type": "array"},
                "responses": {
                    "type": "object", "minProperties": 1,
                    "propertyNames": {"pattern": "^([1-5][0-9][0-9]|default)$"},
                    "additionalProperties": {"type": "object", "anyOf": [
                        {"required": ["$ref"]}, {"required": ["description"]}]},
                },
            },
        },
    },
}


def load_openapi():
    with open(OPENAPI) as f:
        return json.load(f)


def c_routes():
    """(METHOD, path with * for segments) of the route table in src/http/api.c."""
    with open(API_C) as f:
        text = f.read()
    table = re.search(r"routes\[\] = \{(.*?)\n\};", text, re.S).group(1)
    routes = re.findall(r'\{"([A-Z]+)", "([^"]+)", API_[A-Z]+, api_\w+\}', table)
    assert len(routes) == table.count("API_"), "a route the pattern did not read"
    return {(m, "/" + p) for m, p in routes}


def test_openapi_document_is_valid_and_resolves():
    doc = load_openapi()
    jsonschema.validate(doc, OPENAPI_MINI_SCHEMA)
    # Every $ref points at something; every path parameter is declared.
    def refs(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k == "$ref":
                    yield v
                else:
                    yield from refs(v)
        elif isinstance(o, list):
            for v in o:
                yield from refs(v)
    for r in set(refs(doc)):
        node = doc
        assert r.startswith("#/")
        for part in r[2:].split("/"):
            assert part in node, "dangling $ref %s" % r
            node = node[part]
    for path, ops in doc["paths"].items():
        names = set(re.findall(r"\{(\w+)\}", path))
        for method, o in ops.items():
            declared = {p["name"] for p in o.get("parameters", []) if p["in"] == "path"}
            assert declared == names, (method, path)
            for sec in o.get("security", doc.get("security", [])):
                for scheme in sec:
                    assert scheme in doc["components"]["securitySchemes"]
    # Each error of the token API is the error object; a 405 names Allow, a 429 Retry-After.
    for path, ops in doc["paths"].items():
        for method, o in ops.items():
            if "legacy" in o.get("tags", []):
                continue
            for code, resp in o["responses"].items():
                if "$ref" in resp:
                    resp = doc["components"]["responses"][resp["$ref"].split("/")[-1]]
                if code in ("405", "429", "503"):
                    want = {"405": "Allow", "429": "Retry-After", "503": "Retry-After"}[code]
                    assert want in resp.get("headers", {}), (method, path, code)
                if code[0] in "45" and code != "413":
                    schema = resp["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, code)


def test_openapi_matches_the_route_table(api):
    doc = load_openapi()
    in_doc = set()
    for path, ops in doc["paths"].items():
        for method in ops:
            in_doc.add((method.upper(), re.sub(r"\{\w+\}", "*", path)))
    missing = c_routes() - in_doc
    assert not missing, "routes of api.c missing from static/openapi.json: %s" % sorted(missing)
    # Every path and method of the document is one the server has.
    sample = {"fqdn": HOME, "type": "A", "id": "000000000000", "name": "bob",
              "action": "unlock", "token": "a" * 22}
    for path, ops in doc["paths"].items():
        url = "/api/v1" + re.sub(r"\{(\w+)\}", lambda m: sample[m.group(1)], path)
        for method in ops:
            r = call(api, method.upper(), url, raw_path=True,
                     body={} if method in ("post", "put", "patch") else None)
            assert r.status != 405, (method, path, r)
            assert not (r.status == 404 and b"no such API path" in r.raw), (method, path, r)
            assert str(r.status) in ops[method]["responses"], (method, path, r)
    # And what is not in the document is not answered as a route.
    for method, url in (("GET", "/api/v1/hosts/%s/records" % HOME), ("GET", "/api/v1/auth"),
                        ("GET", "/api/v1/admin/users/bob")):
        r = call(api, method, url, raw_path=True, token=api.session)
        assert r.status == 404 and b"no such API path" in r.raw, (method, url, r)
