# SPDX-License-Identifier: MIT
"""The "am I infected?" check against the real nameplated: the pages under /check, the JSON
API under /api/v1/check, the mail through an SMTP relay (aiosmtpd on loopback) and its
durable outbox.

- GET /check shows the requester's address and the form (CSRF double submit, CSP); bad
  posts get 400, a foreign Origin or Sec-Fetch-Site 403, a named address 400; a valid one 200 and a cookie;
  the mail arrives; its link opens with that cookie only (403 without, 404 for a wrong
  token), and the JSON API says not_observed when nothing was seen.
- Observations (a sensor batch with Mirai SYNs and a default-password login) make the
  result infected, with ports and the credential pair (HTML-escaped) as evidence.
- per_address_hour = 2: the third check gets 429; "check again" counts too.
- The relay is down while a check is accepted; nameplated is killed (-9) and restarted; the
  relay comes up; the mail arrives exactly once.
- End to end in network namespaces: a "bot" sends Mirai-fingerprint SYNs into a darknet
  watched by the real nameplate-sensor; "bot" and "clean" then use the check page over
  real HTTP: infected (fingerprint, ports 23/2323) for bot, not_observed for clean.
"""
import base64
import email
import email.policy
import html
import http.client
import json
import os
import re
import socket
import subprocess
import threading
import time
import urllib.parse

import pytest
from aiosmtpd.controller import Controller

from conftest import BUILD, ZONE, free_port, wait_for
import netns
from packets import mirai_syn
import sensorapi

SENSOR_BIN = os.path.join(BUILD, "nameplate-sensor")
MAIL_FROM = "check@dyn.example"
# No script at all, and styles only from our own /static/ (no inline style either).
CSP = "default-src 'none'; style-src 'self'; form-action 'self'"
LINK_RE = re.compile(r"(https?://[^\s/]+)(/check/([A-Za-z0-9_-]{43}))")


# ---- an SMTP relay on loopback ------------------------------------------------------------

class Sink:
    """aiosmtpd handler: keeps every accepted message."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                                  envelope.content, msg))
        return "250 OK"

    def count(self):
        with self.lock:
            return len(self.messages)

    def to(self, rcpt):
        with self.lock:
            return [m for m in self.messages if rcpt in m[1]]


class Relay:
    def __init__(self, port=None):
        self.port = port or free_port()
        self.sink = Sink()
        self.ctl = None

    def start(self):
        self.ctl = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self.ctl.start()
        return self

    def stop(self):
        if self.ctl is not None:
            self.ctl.stop()
            self.ctl = None

    def wait_mail(self, rcpt, n=1, timeout=15):
        assert wait_for(lambda: len(self.sink.to(rcpt)) >= n, timeout), \
            "no mail to %s within %ds" % (rcpt, timeout)
        return self.sink.to(rcpt)[n - 1]


@pytest.fixture
def relay():
    r = Relay().start()
    yield r
    r.stop()


def mail_extra(port, check=None, retry_min=1, retry_max=2):
    lines = ["[mail]", "relay = smtp://127.0.0.1:%d" % port, "from = %s" % MAIL_FROM,
             "tls = none", "retry_min = %d" % retry_min, "retry_max = %d" % retry_max, "",
             "[check]"]
    for k, v in (check or {}).items():
        lines.append("%s = %s" % (k, v))
    return "\n".join(lines) + "\n"


def server(np_factory, relay_port, check=None, http=None):
    n = np_factory()
    n.write_config(extra=mail_extra(relay_port, check), http=http)
    n.init()
    n.add_user("alice")
    n.secret = n.add_host("home.%s" % ZONE, "alice")
    n.start()
    return n


# ---- a browser with cookies ----------------------------------------------------------------

class Browser:
    """HTTP with a cookie jar (name -> value) against one host:port, optionally from a
    network namespace (by running each request in a thread that joined it)."""

    def __init__(self, host, port, ns=None):
        self.host, self.port, self.ns = host, port, ns
        self.cookies = {}
        self.set_cookie_headers = []

    def _conn(self):
        if self.ns is None:
            return http.client.HTTPConnection(self.host, self.port, timeout=10)
        s = self.ns.socket(type=socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect((self.host, self.port))
        c = http.client.HTTPConnection(self.host, self.port, timeout=10)
        c.sock = s
        return c

    def request(self, method, path, fields=None, headers=None, cookies=True, raw_body=None):
        h = dict(headers or {})
        body = raw_body
        if fields is not None:
            body = urllib.parse.urlencode(fields)
        if body is not None:
            h["Content-Type"] = "application/x-www-form-urlencoded"
        if cookies and self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        c = self._conn()
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            text = r.read().decode("utf-8", "replace")
            for k, v in r.getheaders():
                if k.lower() == "set-cookie":
                    self.set_cookie_headers.append(v)
                    name, _, rest = v.partition("=")
                    self.cookies[name.strip()] = rest.split(";")[0]
            return r.status, {k.lower(): v for k, v in r.getheaders()}, text
        finally:
            c.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, fields, **kw):
        return self.request("POST", path, fields=fields, **kw)

    def csrf(self, page):
        m = re.search(r'name="csrf" value="([^"]+)"', page)
        assert m, "no csrf field in the page:\n" + page
        return m.group(1)

    def start_check(self, addr_email, expect=200):
        st, _, page = self.get("/check")
        assert st == 200, page
        st, hdrs, page = self.post("/check", {"email": addr_email, "consent": "yes",
                                              "csrf": self.csrf(page)})
        assert st == expect, (st, page)
        return st, hdrs, page


def mail_link(msg):
    body = msg.get_body(preferencelist=("plain",)).get_content()
    m = LINK_RE.search(body)
    assert m, "no result link in the mail:\n" + body
    return m.group(1), m.group(2), body


# ---- sensor batches ------------------------------------------------------------------------

def api_self(np, user, secret):
    cred = base64.b64encode(("%s:%s" % (user, secret)).encode()).decode()
    st, _, body = np.http("/api/v1/check", headers={"Authorization": "Basic " + cred})
    return st, body


# ---- tests ---------------------------------------------------------------------------------

def test_page_form_validation_mail_and_link(np_factory, relay):
    np = server(np_factory, relay.port)
    b = Browser("127.0.0.1", np.http_port)
    st, hdrs, page = b.get("/check")
    assert st == 200
    assert hdrs["content-security-policy"] == CSP
    assert hdrs["content-type"].startswith("text/html")
    assert hdrs.get("x-frame-options") == "DENY"
    # No Referer leaves for other sites, and our own forms carry a real Origin.
    assert hdrs.get("referrer-policy") == "same-origin"
    assert "127.0.0.1" in page and 'name="email"' in page and 'name="consent"' in page
    assert "never means clean" in page
    assert "<style" not in page and "<script" not in page
    # The stylesheet the page links is there, cacheable for good under that URL.
    css = re.search(r'<link rel="stylesheet" href="([^"]+)"', page).group(1)
    css = html.unescape(css)
    assert css.startswith("/static/style.css?v=")
    st, hdrs, _ = np.http(css)
    assert st == 200 and hdrs["content-type"] == "text/css; charset=utf-8"
    assert "immutable" in hdrs["cache-control"]
    assert "np_csrf" in b.cookies
    sc = [h for h in b.set_cookie_headers if h.startswith("np_csrf=")][0]
    assert "SameSite=Strict" in sc and "HttpOnly" in sc
    csrf = b.csrf(page)
    assert csrf == b.cookies["np_csrf"]

    good = {"email": "user@example.org", "consent": "yes", "csrf": csrf}
    for fields in ({k: v for k, v in good.items() if k != "csrf"},
                   dict(good, csrf="A" * 43),
                   {k: v for k, v in good.items() if k != "consent"},
                   dict(good, consent="no"),
                   {k: v for k, v in good.items() if k != "email"},
                   dict(good, email="not-an-address"),
                   dict(good, email="a@b@example.org"),
                   dict(good, email="user@example.org\r\nBcc: x@example.org"),
                   dict(good, addr="198.51.100.7"),
                   dict(good, ip="198.51.100.7")):
        st, _, body = b.post("/check", fields)
        assert st == 400, (fields, st, body)
    # The CSRF cookie is needed, not only the field.
    st, _, _ = b.post("/check", good, cookies=False)
    assert st == 400
    # Nobody can name an address, not even in the query.
    st, _, _ = b.post("/check?addr=198.51.100.7", good)
    assert st == 400
    st, _, _ = b.get("/check?addr=198.51.100.7")
    assert st == 400
    # A foreign Origin is refused; the server's own is fine (below).
    st, _, _ = b.post("/check", good, headers={"Origin": "https://evil.example"})
    assert st == 403
    # So is whatever else a browser says of a form sent from elsewhere: a hidden origin,
    # another port of the same site, another site, or no page at all.
    ours = "http://127.0.0.1:%d" % np.http_port
    for h in ({"Origin": "null"},
              {"Origin": ours + ".evil.example"},
              {"Sec-Fetch-Site": "same-site"},
              {"Sec-Fetch-Site": "cross-site"},
              {"Sec-Fetch-Site": "none"},
              {"Sec-Fetch-Site": "same-site", "Origin": ours},
              {"Sec-Fetch-Site": "same-origin", "Origin": "http://127.0.0.1:1"}):
        st, _, _ = b.post("/check", good, headers=h)
        assert st == 403, h
    assert relay.sink.count() == 0

    st, hdrs, body = b.post("/check", good,
                            headers={"Origin": ours, "Sec-Fetch-Site": "same-origin"})
    assert st == 200, body
    assert "user@example.org" in body and "on its way" in body
    sc = [h for h in b.set_cookie_headers if h.startswith("np_check=")][0]
    assert "HttpOnly" in sc and "SameSite=Lax" in sc and "Max-Age=259200" in sc
    assert "Secure" not in sc  # public_url is http here

    frm, rcpts, raw, msg = relay.wait_mail("user@example.org")
    assert frm == MAIL_FROM
    assert msg["Subject"] == "Nameplate check for 127.0.0.1: not observed"
    assert msg["From"] == MAIL_FROM and msg["To"] == "user@example.org"
    assert msg["Date"] and msg["Message-ID"]
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "utf-8"
    assert b"\r\n\r\n" in raw
    base, path, body = mail_link(msg)
    assert base == "http://127.0.0.1:%d" % np.http_port
    assert "127.0.0.1" in body and "not observed" in body
    token = path.rsplit("/", 1)[1]

    st, hdrs, page = b.get(path)
    assert st == 200, page
    assert hdrs["content-security-policy"] == CSP
    assert "not observed" in page and "127.0.0.1" in page
    assert "carrier-grade NAT" in page and "UPnP" in page and "firmware" in page
    assert 'action="/check/%s"' % token in page

    other = Browser("127.0.0.1", np.http_port)
    st, _, page = other.get(path)
    assert st == 403 and "browser" in page
    st, _, _ = b.get("/check/" + "B" * 43)
    assert st == 404
    st, _, _ = b.get("/check/short")
    assert st == 404

    st, hdrs, body = b.get("/api/v1/check/" + token)
    assert st == 200, body
    assert hdrs["content-type"].startswith("application/json")
    j = json.loads(body)
    assert j["verdict"] == "not_observed" and j["address"] == "127.0.0.1"
    assert j["token_expires"] > time.time() + 3600 and abs(j["checked_at"] - time.time()) < 60
    assert "evidence" in j
    st, _, _ = other.get("/api/v1/check/" + token)
    assert st == 403

    # The own-address API with a DDNS account's credentials.
    st, body = api_self(np, "alice", np.secret)
    assert st == 200, body
    j = json.loads(body)
    assert j["verdict"] == "not_observed" and j["address"] == "127.0.0.1"
    assert api_self(np, "alice", "wrong-secret")[0] == 401
    st, _, _ = np.http("/api/v1/check")
    assert st == 401

    # Check again: 303 back to the page.
    st, _, page = b.get(path)
    st, hdrs, _ = b.post(path, {"csrf": b.csrf(page)})
    assert st == 303 and hdrs["location"] == path
    st, _, _ = b.post(path, {"csrf": "C" * 43})
    assert st == 400
    time.sleep(0.5)
    assert relay.sink.count() == 1



def test_observed_mapped_source_is_the_ipv4_requester(np):
    """A sensor on a dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; the server
    files them under a.b.c.d, so the IPv4 requester sees them (not ::/64's not_observed)."""
    tok = sensorapi.add_sensor(np)
    now = int(time.time())
    events = [sensorapi.syn("::ffff:127.0.0.1", port=p, t=now - 60) for p in (23, 2323, 23, 23)]
    st, body = sensorapi.post(np, sensorapi.batch("mapped-1", events), tok)
    assert st == 200, body

    seen = []

    def infected():
        st, body = api_self(np, "alice", np.secret)
        seen.append((st, body))
        return st == 200 and json.loads(body)["verdict"] == "infected" and json.loads(body)

    j = wait_for(infected, 5, 1)   # per_address_hour (6) limits the tries
    assert j, "the API never said infected; first answer: %s" % (seen[0],)
    assert j["address"] == "127.0.0.1" and "mirai_syn" in j["rules"]
    assert j["evidence"]["fingerprint_hits"] == 4
    r = np.ctl("observe", "show", "127.0.0.1", "--json")
    assert json.loads(r.stdout)["verdict"] == "infected", r.stdout

def test_no_relay_is_503(np):
    b = Browser("127.0.0.1", np.http_port)
    st, _, page = b.get("/check")
    assert st == 200
    st, _, page = b.post("/check", {"email": "u@example.org", "consent": "yes",
                                    "csrf": b.csrf(page)})
    assert st == 503, page


def test_observed_infected_with_evidence(np_factory, relay):
    np = server(np_factory, relay.port)
    # A name long enough that the mail's random link cannot contain it by chance.
    tok = sensorapi.add_sensor(np, "honeypot-east")
    now = int(time.time())
    events = [{"src": "127.0.0.1", "t": now - 60, "kind": "mirai_syn", "proto": 6,
               "port": p} for p in (23, 2323, 23, 23)]
    events += [{"src": "127.0.0.1", "t": now - 30, "kind": "login", "proto": 6, "port": 23,
                "user": "root", "pass": "xc3511"},
               {"src": "127.0.0.1", "t": now - 20, "kind": "login", "proto": 6, "port": 23,
                "user": "<b>admin", "pass": "p&\"'<script>"},
               {"src": "127.0.0.1", "t": now - 10, "kind": "backscatter", "proto": 6,
                "port": 80}]
    st, body = sensorapi.post(np, sensorapi.batch("b1", events), tok)
    assert st == 200, body

    def infected():
        st, body = api_self(np, "alice", np.secret)
        return st == 200 and json.loads(body)["verdict"] == "infected" and json.loads(body)

    j = wait_for(infected, 10, 0.2)
    assert j, "the API never said infected"
    assert "mirai_syn" in j["rules"]
    assert {p["port"] for p in j["evidence"]["ports"]} >= {23, 2323}

    b = Browser("127.0.0.1", np.http_port)
    b.start_check("victim@example.org")
    _, _, _, msg = relay.wait_mail("victim@example.org")
    assert msg["Subject"] == "Nameplate check for 127.0.0.1: infected"
    base, path, body = mail_link(msg)
    assert "infected" in body and "Mirai" in body
    # Nothing about the sensors themselves (their name, token) is in the mail.
    assert "honeypot-east" not in body and tok.split(":")[1] not in body
    st, _, page = b.get(path)
    assert st == 200
    assert "infected" in page and "Mirai" in page
    assert "<td>23</td>" in page and "<td>2323</td>" in page
    assert "xc3511" in page and "root" in page
    # Attacker-chosen credentials are escaped, never markup.
    assert "<script>" not in page and "<b>admin" not in page
    assert html.escape("<b>admin", quote=True) in page.replace("&#39;", "&#x27;") or \
        "&lt;b&gt;admin" in page
    assert "p&amp;&quot;&#39;&lt;script&gt;" in page
    st, _, body = b.get("/api/v1/check/" + path.rsplit("/", 1)[1])
    j = json.loads(body)
    assert j["verdict"] == "infected" and j["evidence"]["fingerprint_hits"] == 4
    assert any(c["user"] == "root" and c["pass"] == "xc3511" and c["default"]
               for c in j["evidence"]["credentials"])
    assert j["evidence"]["kinds"]["backscatter"] == 1


def test_rate_limit_per_address(np_factory, relay):
    np = server(np_factory, relay.port, check={"per_address_hour": 2})
    b = Browser("127.0.0.1", np.http_port)
    b.start_check("one@example.org")
    b.start_check("two@example.org")
    st, hdrs, page = b.start_check("three@example.org", expect=429)
    assert int(hdrs["retry-after"]) > 0
    relay.wait_mail("two@example.org")
    time.sleep(1)
    assert relay.sink.to("three@example.org") == []
    # The API's own-address verdict is limited the same way (in memory).
    assert api_self(np, "alice", np.secret)[0] == 200
    assert api_self(np, "alice", np.secret)[0] == 200
    assert api_self(np, "alice", np.secret)[0] == 429


def test_recheck_counts_against_the_limit(np_factory, relay):
    np = server(np_factory, relay.port, check={"per_address_hour": 2})
    b = Browser("127.0.0.1", np.http_port)
    b.start_check("r@example.org")
    _, _, _, msg = relay.wait_mail("r@example.org")
    _, path, _ = mail_link(msg)
    st, _, page = b.get(path)
    st, _, _ = b.post(path, {"csrf": b.csrf(page)})
    assert st == 303
    st, hdrs, _ = b.post(path, {"csrf": b.csrf(page)})
    assert st == 429 and "retry-after" in hdrs


def test_per_email_limit(np_factory, relay):
    np = server(np_factory, relay.port, check={"per_email_day": 1})
    b = Browser("127.0.0.1", np.http_port)
    b.start_check("same@example.org")
    b.start_check("SAME@example.org", expect=429)


def test_relay_down_restart_mail_arrives_once(np_factory):
    port = free_port()
    np = server(np_factory, port)
    b = Browser("127.0.0.1", np.http_port)
    b.start_check("later@example.org")
    # A few failed attempts (retry_min 1 s, retry_max 2 s), then a hard kill.
    assert wait_for(lambda: "not accepted" in np.stderr(), 10), np.stderr()
    np.kill9()
    np.start()
    relay = Relay(port).start()
    try:
        relay.wait_mail("later@example.org", timeout=15)
        time.sleep(4)  # two more retry periods: nothing is sent twice
        assert len(relay.sink.to("later@example.org")) == 1
        assert relay.sink.count() == 1
    finally:
        relay.stop()


def test_silent_relay_does_not_hold_up_stop(np_factory):
    """A relay that takes the connection but never greets: a stop still ends within a few
    seconds, the mail stays in the outbox and goes out once after the next start."""
    port = free_port()
    silent = socket.socket()
    silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    silent.bind(("127.0.0.1", port))
    silent.listen(8)  # never accepts: the kernel completes the handshake, nobody speaks
    try:
        np = server(np_factory, port)
        b = Browser("127.0.0.1", np.http_port)
        b.start_check("patient@example.org")
        time.sleep(1)  # the mail thread is now waiting for the greeting
        t0 = time.monotonic()
        assert np.stop(timeout=6) == 0
        took = time.monotonic() - t0
        assert took < 5, took
        assert "left in the outbox" in np.logs[-1], np.logs[-1]
    finally:
        silent.close()
    relay = Relay(port).start()
    try:
        np.start()
        relay.wait_mail("patient@example.org", timeout=15)
        time.sleep(2)
        assert relay.sink.count() == 1
    finally:
        relay.stop()


# ---- end to end in network namespaces ------------------------------------------------------

def _ip(*args, check=True):
    return netns.run(["ip"] + list(args), check=check)


BOT_GW, BOT_ADDR = "198.18.200.1", "198.18.200.2"
CLEAN_GW, CLEAN_ADDR = "198.18.200.5", "198.18.200.6"


@pytest.mark.skipif(not netns.have_root(), reason="needs root (network namespaces)")
def test_end_to_end_bot_and_clean_namespaces(np_factory, relay, tmp_path):
    assert os.access(SENSOR_BIN, os.X_OK), "nameplate-sensor is not built"
    # The root-side veth ends get addresses in the root namespace: they must not collide.
    used = _ip("-4", "-o", "addr", "show").stdout + _ip("-4", "route", "show").stdout
    assert "198.18.200." not in used, "198.18.200.0/29 is in use on this host"
    lab = netns.Lab(tmp_path)
    tag = "%d" % (os.getpid() % 100000)
    root_ifs = []
    sensor = None
    try:
        bot, clean = lab.ns("bot"), lab.ns("clean")
        # bot: 198.18.200.2/30 <-> root 198.18.200.1; clean: 198.18.200.6/30 <-> root
        # 198.18.200.5 (a benchmarking range, unlikely on a CI host; checked below).
        # The darknet 198.51.100.0/24 is routed from bot to the root side, where nothing
        # hosts it; the sensor captures on the root-side veth of bot.
        plan = ((bot, "npb" + tag, BOT_GW, BOT_ADDR),
                (clean, "npc" + tag, CLEAN_GW, CLEAN_ADDR))
        for ns, rif, raddr, naddr in plan:
            _ip("link", "add", rif, "type", "veth", "peer", "name", "eth0", "netns", ns.name)
            root_ifs.append(rif)
            # Packets for the darknet are captured, never forwarded anywhere.
            netns.run(["sysctl", "-q", "-w", "net.ipv4.conf.%s.forwarding=0" % rif])
            _ip("addr", "add", raddr + "/30", "dev", rif)
            _ip("link", "set", rif, "up")
            ns.ip("addr", "add", naddr + "/30", "dev", "eth0")
            ns.ip("link", "set", "eth0", "up")
            ns.ip("route", "add", "default", "via", raddr)

        np = np_factory()
        np.write_config(extra=mail_extra(relay.port))
        # nameplated listens on loopback (the tests) and on both root-side veth addresses.
        text = open(np.conf).read().replace(
            "[http]\nlisten = 127.0.0.1:%d" % np.http_port,
            "[http]\nlisten = 127.0.0.1:%d\nlisten = %s:%d\nlisten = %s:%d"
            % (np.http_port, BOT_GW, np.http_port, CLEAN_GW, np.http_port))
        with open(np.conf, "w") as f:
            f.write(text)
        np.init()
        np.start()
        token = sensorapi.add_sensor(np, "dark")

        sdir = tmp_path / "sensor"
        sdir.mkdir()
        tfile = sdir / "token"
        tfile.write_text(token + "\n")
        os.chmod(tfile, 0o600)
        scfg = sdir / "sensor.conf"
        scfg.write_text("[sensor]\nserver = http://127.0.0.1:%d\ntoken_file = %s\n"
                        "spool_dir = %s\nuser = nobody\nbatch_interval = 1\nlog_level = debug\n\n"
                        "[darknet]\ninterface = %s\naddresses = 198.51.100.0/24\n"
                        % (np.http_port, tfile, sdir / "spool", "npb" + tag))
        slog = open(sdir / "sensor.log", "w")
        sensor = subprocess.Popen([SENSOR_BIN, "-c", str(scfg)], stdin=subprocess.DEVNULL,
                                  stdout=slog, stderr=subprocess.STDOUT)
        time.sleep(1.0)  # the capture is active before the first packet
        assert sensor.poll() is None, open(sdir / "sensor.log").read()

        # The bot: Mirai SYNs to several darknet addresses on 23 and 2323 (raw socket, IP
        # ID neither ZMap's 54321 nor Masscan's derived one).
        sender = ("import socket,sys,struct\n"
                  "pkts=[bytes.fromhex(h) for h in sys.argv[1:]]\n"
                  "s=socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_RAW)\n"
                  "for p in pkts:\n"
                  "    s.sendto(p,(socket.inet_ntoa(p[16:20]),0))\n")
        pkts = []
        for i in range(6):
            dst = "198.51.100.%d" % (10 + i)
            port = 23 if i % 2 == 0 else 2323
            pkts.append(mirai_syn(BOT_ADDR, dst, 40000 + i, port, ip_id=1000 + 7 * i,
                                  window=14600).hex())
        bot.run([netns.PYTHON, "-c", sender] + pkts)

        # sensor -> batch -> nameplated's inbox -> the index (merged at once on commit).
        def pushed():
            log = open(sdir / "sensor.log").read()
            return re.search(r"spooled batch \S+: [1-9]\d* events", log) and "pushed" in log

        assert wait_for(pushed, 15, 0.2), open(sdir / "sensor.log").read()
        time.sleep(1.5)

        results = {}
        for ns, gw, mbox in ((bot, BOT_GW, "bot@example.org"),
                             (clean, CLEAN_GW, "clean@example.org")):
            br = Browser(gw, np.http_port, ns=ns)
            st, _, page = br.get("/check")
            assert st == 200, page
            assert (BOT_ADDR if ns is bot else CLEAN_ADDR) in page
            br.start_check(mbox)
            _, _, _, msg = relay.wait_mail(mbox)
            _, path, body = mail_link(msg)
            st, _, page = br.get(path)
            assert st == 200, page
            st, _, body = br.get("/api/v1/check/" + path.rsplit("/", 1)[1])
            assert st == 200, body
            results[ns.role] = (json.loads(body), page, msg)

        jb, page_b, msg_b = results["bot"]
        assert jb["address"] == BOT_ADDR
        assert jb["verdict"] == "infected", (jb, open(sdir / "sensor.log").read())
        assert "mirai_syn" in jb["rules"]
        assert jb["evidence"]["fingerprint_hits"] >= 6
        assert {p["port"] for p in jb["evidence"]["ports"]} == {23, 2323}
        assert msg_b["Subject"] == "Nameplate check for %s: infected" % BOT_ADDR
        assert "Mirai" in page_b and "<td>23</td>" in page_b and "<td>2323</td>" in page_b
        assert "198.51.100" not in page_b and "198.51.100" not in json.dumps(jb)

        jc, page_c, msg_c = results["clean"]
        assert jc["address"] == CLEAN_ADDR
        assert jc["verdict"] == "not_observed", jc
        assert msg_c["Subject"] == "Nameplate check for %s: not observed" % CLEAN_ADDR
        assert "not observed" in page_c
    finally:
        if sensor is not None and sensor.poll() is None:
            sensor.terminate()
            try:
                sensor.wait(5)
            except subprocess.TimeoutExpired:
                sensor.kill()
                sensor.wait(5)
        for rif in root_ifs:
            _ip("link", "del", rif, check=False)
        lab.close()
