# SPDX-License-Identifier: MIT
# ACME DNS-01 on nameplated: TXT values at _acme-challenge.HOST (several at once, short TTL,
# the SOA lookup answered while there are none) set through three doors with a credential
# scoped to exactly that name and type: RFC 2136 UPDATE, acme-dns's POST /update and lego's
# httpreq POST /present and /cleanup. Then the real clients against Debian's pebble as the
# ACME server (validating DNS-01 against nameplated): lego (rfc2136 and httpreq) and certbot
# (dns-rfc2136) each obtain a certificate, and the values are gone afterwards.

import base64
import datetime
import http.client
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import time

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.update
import pytest

from conftest import ZONE, free_port, wait_for

HOME = "home." + ZONE
WWW = "www." + ZONE
OTHER = "other." + ZONE
CH = "_acme-challenge." + HOME
V1 = "a" * 43
V2 = "b" * 43
V3 = "c" * 43


def token_add(n, user, *opts):
    r = n.ctl("token", "add", user, *opts)
    secret = n.last_line(r.stdout)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", secret), r.stdout
    return secret


def key_add(n, keyname, *opts):
    """nameplatectl tsig add: (algorithm, secret)."""
    r = n.ctl("tsig", "add", keyname, *opts)
    m = re.search(r'algorithm (\S+);\n\tsecret "([^"]+)";', r.stdout)
    assert m, r.stdout
    return m.group(1), m.group(2)


def txt(n, name=CH):
    """(rcode, set of TXT strings, TTLs) of the answer for name/TXT."""
    r = n.query(name + ".", "TXT")
    vals, ttls = set(), set()
    for rrset in r.answer:
        ttls.add(rrset.ttl)
        for rd in rrset:
            vals |= {s.decode() for s in rd.strings}
    return r.rcode(), vals, ttls


def negative_with_soa(r):
    return (r.rcode() == dns.rcode.NXDOMAIN and not r.answer and
            any(rr.rdtype == dns.rdatatype.SOA and rr.name == dns.name.from_text(ZONE)
                for rr in r.authority))


def upd(key):
    u = dns.update.UpdateMessage(ZONE)
    u.use_tsig(key)
    return u


def send(n, msg):
    return dns.query.tcp(msg, "127.0.0.1", port=n.dns_port, timeout=5).rcode()


def post(n, path, body, headers=None, raw=None):
    """POST PATH with a JSON body (or raw bytes); (status, parsed JSON or text)."""
    c = http.client.HTTPConnection("127.0.0.1", n.http_port, timeout=30)
    try:
        data = raw if raw is not None else json.dumps(body).encode()
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        c.request("POST", path, body=data, headers=h)
        r = c.getresponse()
        text = r.read().decode("utf-8", "replace")
        try:
            return r.status, json.loads(text)
        except ValueError:
            return r.status, text
    finally:
        c.close()


def acmedns(n, user, key, subdomain, value, raw=None):
    return post(n, "/update", {"subdomain": subdomain, "txt": value},
                {"X-Api-User": user, "X-Api-Key": key}, raw=raw)


def basic(user, secret):
    return {"Authorization": "Basic " +
            base64.b64encode(("%s:%s" % (user, secret)).encode()).decode()}


def history(n, fqdn):
    db = sqlite3.connect(os.path.join(n.data_dir, "nameplate.db"))
    try:
        return db.execute("SELECT protocol, new FROM history WHERE fqdn = ? ORDER BY id",
                          (fqdn,)).fetchall()
    finally:
        db.close()


@pytest.fixture
def srv(np_factory):
    n = np_factory()
    n.write_config(abuse={})  # the abuse protection's defaults: budgets on, as deployed
    n.init()
    n.add_user("alice")
    n.add_user("bob")
    n.add_host(HOME, "alice")
    n.add_host(WWW, "alice")
    n.add_host(OTHER, "bob")
    n.start()
    return n


# ---- the challenge name in DNS, set with RFC 2136 UPDATE ----

def test_update_sets_two_values_soa_lookup_answered(srv):
    # No values: the name does not exist, and the answer carries the zone's SOA, which
    # is how ACME clients find the zone to update.
    for rdtype in ("SOA", "TXT"):
        assert negative_with_soa(srv.query(CH + ".", rdtype)), rdtype
    alg, secret = key_add(srv, "acme-home", "--user", "alice", "--name", CH, "--type", "TXT")
    key = dns.tsig.Key("acme-home.", secret, alg)
    serial = srv.serial()
    u = upd(key)
    u.add(dns.name.from_text(CH), 600, "TXT", V1)
    u.add(dns.name.from_text(CH), 600, "TXT", V2)  # base and wildcard certificate at once
    assert send(srv, u) == dns.rcode.NOERROR
    rcode, vals, ttls = txt(srv)
    assert rcode == dns.rcode.NOERROR and vals == {V1, V2}
    assert ttls and max(ttls) <= 60  # short, whatever the client asked for
    assert srv.serial() != serial
    # The name exists now: an SOA query is a NODATA answer with the zone's SOA.
    r = srv.query(CH + ".", "SOA")
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    assert any(rr.rdtype == dns.rdatatype.SOA for rr in r.authority)
    # The host itself is untouched.
    assert txt(srv, HOME)[1] == set()
    u = upd(key)
    u.delete(dns.name.from_text(CH), "TXT", V1)
    assert send(srv, u) == dns.rcode.NOERROR
    assert txt(srv)[1] == {V2}
    u = upd(key)
    u.delete(dns.name.from_text(CH), "TXT")
    assert send(srv, u) == dns.rcode.NOERROR
    assert negative_with_soa(srv.query(CH + ".", "TXT"))
    rows = history(srv, CH)
    assert [p for p, _ in rows] == ["rfc2136"] * 3
    assert V1 in rows[0][1] and V2 in rows[0][1] and rows[-1][1] == ""
    # Rows of the challenge name, not of the host's id: those list the host's addresses,
    # which the owners' watch and the flux score read.
    db = sqlite3.connect(os.path.join(srv.data_dir, "nameplate.db"))
    try:
        assert db.execute("SELECT count(*) FROM history WHERE fqdn = ? AND host_id IS NOT NULL",
                          (CH,)).fetchone()[0] == 0
    finally:
        db.close()


def test_signed_soa_query_is_answered_and_signed(srv):
    """certbot's dns-rfc2136 signs the SOA queries it finds the zone with: a query signed
    with a valid key is answered like any other, and signed (dnspython checks the MAC)."""
    alg, secret = key_add(srv, "acme-home", "--user", "alice", "--name", CH, "--type", "TXT")
    key = dns.tsig.Key("acme-home.", secret, alg)
    for name, rcode, in_answer in ((ZONE, dns.rcode.NOERROR, True),
                                   (CH, dns.rcode.NXDOMAIN, False)):
        for tcp in (False, True):
            q = dns.message.make_query(name + ".", "SOA")
            q.use_tsig(key)
            query = dns.query.tcp if tcp else dns.query.udp
            r = query(q, "127.0.0.1", port=srv.dns_port, timeout=5)
            assert r.had_tsig and r.rcode() == rcode, (name, tcp, r)
            assert bool(r.answer) == in_answer and (r.flags & dns.flags.AA)
    # Another key's secret under this name is refused, unsigned; guessing is throttled
    # as for UPDATE: after a few failures, that address gets no signed answer even with
    # the right key, while another address does.
    def ask(k, source):
        q = dns.message.make_query(ZONE + ".", "SOA")
        q.use_tsig(k)
        return dns.query.udp(q, "127.0.0.1", port=srv.dns_port, timeout=5, source=source)
    wrong = dns.tsig.Key("acme-home.", base64.b64encode(b"y" * 32).decode(), alg)
    for _ in range(15):
        with pytest.raises(dns.tsig.PeerBadKey):
            ask(wrong, "127.0.0.3")
    with pytest.raises(dns.tsig.PeerBadKey):
        ask(key, "127.0.0.3")
    assert ask(key, "127.0.0.4").had_tsig


def test_signed_query_answers_what_a_query_does(srv):
    """A signed TXT query for a challenge name holding all 8 values gets them all over TCP,
    signed, as an unsigned query does."""
    alg, secret = key_add(srv, "acme-home", "--user", "alice", "--name", CH, "--type", "TXT")
    key = dns.tsig.Key("acme-home.", secret, alg)
    u = upd(key)
    values = {("%d" % i) * 43 for i in range(8)}
    for v in values:
        u.add(dns.name.from_text(CH), 60, "TXT", v)
    assert send(srv, u) == dns.rcode.NOERROR
    q = dns.message.make_query(CH + ".", "TXT")
    q.use_tsig(key)
    r = dns.query.tcp(q, "127.0.0.1", port=srv.dns_port, timeout=5)
    assert r.had_tsig and not (r.flags & dns.flags.TC)
    assert {s.decode() for rrset in r.answer for rd in rrset for s in rd.strings} == values
    assert txt(srv)[1] == values


def test_update_prerequisites_see_the_challenge_values(srv):
    alg, secret = key_add(srv, "acme-home", "--user", "alice", "--name", CH, "--type", "TXT")
    key = dns.tsig.Key("acme-home.", secret, alg)
    u = upd(key)
    u.present(dns.name.from_text(CH), "TXT")
    u.add(dns.name.from_text(CH), 60, "TXT", V1)
    assert send(srv, u) == dns.rcode.NXRRSET
    u = upd(key)
    u.absent(dns.name.from_text(CH))
    u.add(dns.name.from_text(CH), 60, "TXT", V1)
    assert send(srv, u) == dns.rcode.NOERROR
    u = upd(key)
    u.absent(dns.name.from_text(CH))
    u.add(dns.name.from_text(CH), 60, "TXT", V2)
    assert send(srv, u) == dns.rcode.YXDOMAIN
    assert txt(srv)[1] == {V1}


def test_update_refuses_what_a_challenge_name_cannot_hold(srv):
    alg, secret = key_add(srv, "acme-home", "--user", "alice", "--name", CH, "--type", "TXT")
    key = dns.tsig.Key("acme-home.", secret, alg)
    name = dns.name.from_text(CH)
    bad = [("A", "192.0.2.1"),                # TXT alone lives there
           ("TXT", '"two" "strings"'),         # one string
           ("TXT", '"with space"'),
           ("TXT", '"quote\\""'),
           ("TXT", '"nul\\000byte"'),
           ("TXT", '"%s"' % ("x" * 256)[:255] + ' "y"')]
    for rdtype, value in bad:
        u = upd(key)
        u.add(name, 60, rdtype, value)
        assert send(srv, u) == dns.rcode.REFUSED, (rdtype, value)
    # At most 8 values at once; the ninth is refused and nothing of its message is kept.
    u = upd(key)
    for i in range(8):
        u.add(name, 60, "TXT", "v%d" % i)
    assert send(srv, u) == dns.rcode.NOERROR
    u = upd(key)
    u.delete(name, "TXT", "v0")
    u.add(name, 60, "TXT", "v8")
    u.add(name, 60, "TXT", "v9")
    assert send(srv, u) == dns.rcode.REFUSED
    assert txt(srv)[1] == {"v%d" % i for i in range(8)}
    # A name below a host that is not its challenge name, another account's challenge
    # name, and one with a wrong key are refused too.
    for other in ("_acme-challenge.x." + HOME, "_acme-challenge." + OTHER, "_foo." + HOME):
        u = upd(key)
        u.add(dns.name.from_text(other), 60, "TXT", V1)
        assert send(srv, u) == dns.rcode.REFUSED, other
    wrong = dns.tsig.Key("acme-home.", base64.b64encode(b"x" * 32).decode(), alg)
    u = upd(wrong)
    u.delete(name, "TXT")
    with pytest.raises(dns.tsig.PeerBadSignature):
        send(srv, u)
    assert len(txt(srv)[1]) == 8


def test_challenge_credential_cannot_change_the_host(srv):
    """A token or key scoped to the challenge name changes nothing else: not the host's
    address through dyndns2, the REST API or UPDATE, nor the host's own TXT."""
    token = token_add(srv, "alice", "--names", CH, "--types", "TXT")
    alg, secret = key_add(srv, "acme-home", "--user", "alice", "--name", CH, "--type", "TXT")
    key = dns.tsig.Key("acme-home.", secret, alg)
    serial = srv.serial()
    status, _, lines = srv.update(hostname=HOME, myip="192.0.2.66", user="alice",
                                  secret=token)
    assert lines == ["badauth"], lines
    c = http.client.HTTPConnection("127.0.0.1", srv.http_port, timeout=10)
    c.request("PUT", "/api/v1/hosts/%s/records/A" % HOME,
              body=json.dumps({"records": ["192.0.2.66"]}),
              headers={"Authorization": "Token " + token, "Content-Type": "application/json"})
    r = c.getresponse()
    # A name outside the token's names answers like one outside the account.
    assert r.status == 404, (r.status, r.read())
    c.close()
    for rdtype, value in (("A", "192.0.2.66"), ("TXT", V1)):
        u = upd(key)
        u.add(dns.name.from_text(HOME), 60, rdtype, value)
        assert send(srv, u) == dns.rcode.REFUSED
    assert srv.addrs(HOME) == set() and txt(srv, HOME)[1] == set()
    assert srv.serial() == serial
    # And the same token does what it is for.
    assert acmedns(srv, "alice", token, HOME, V1)[0] == 200


# ---- acme-dns: POST /update ----

def test_acmedns_update_keeps_the_two_newest(srv):
    token = token_add(srv, "alice", "--names", CH, "--types", "TXT")
    status, body = acmedns(srv, "alice", token, HOME, V1)
    # Answered after the commit: the value is published when the answer arrives.
    assert (status, body) == (200, {"txt": V1})
    assert txt(srv)[1] == {V1}
    assert acmedns(srv, "alice", token, CH + ".", V2) == (200, {"txt": V2})
    assert txt(srv)[1] == {V1, V2}
    assert acmedns(srv, "alice", token, HOME.upper(), V3) == (200, {"txt": V3})
    assert txt(srv)[1] == {V2, V3}
    assert [p for p, _ in history(srv, CH)] == ["acme-dns"] * 3


def test_acmedns_bad_input_changes_nothing(srv):
    token = token_add(srv, "alice", "--names", CH, "--types", "TXT")
    assert acmedns(srv, "alice", token, HOME, V1)[0] == 200
    serial = srv.serial()
    cases = [
        (("alice", token, HOME, "x" * 256), 400, "bad_request"),        # oversize
        (("alice", token, HOME, "ab\u0000cd"), 400, "bad_json"),       # a NUL byte
        (("alice", token, HOME, "with space"), 400, "bad_txt"),
        (("alice", token, HOME, ""), 400, "bad_txt"),
        (("alice", token, "not a name", V2), 400, "bad_subdomain"),
        (("alice", token, WWW, V2), 404, "not_found"),                  # not its name
        (("alice", token, OTHER, V2), 404, "not_found"),                # bob's host
        (("alice", token, "nohost." + ZONE, V2), 404, "not_found"),
        (("alice", "x" * 43, HOME, V2), 401, "unauthorized"),           # wrong key
        (("bob", token, HOME, V2), 401, "unauthorized"),                # wrong user
    ]
    for args, status, code in cases:
        got, body = acmedns(srv, *args)
        assert got == status and body["error"]["code"] == code, (args, got, body)
    got, body = acmedns(srv, "alice", token, HOME, V2, raw=b"subdomain=x&txt=y")
    assert got == 400 and body["error"]["code"] == "bad_json"
    got, body = post(srv, "/update", {"subdomain": HOME, "txt": V2})  # no credentials
    assert got == 401
    got, body = post(srv, "/update", {"subdomain": HOME, "txt": V2, "extra": 1},
                     {"X-Api-User": "alice", "X-Api-Key": token})
    assert got == 400
    assert txt(srv)[1] == {V1} and srv.serial() == serial
    # GET is not a way in.
    assert srv.http("/update")[0] == 405


def test_acme_sh_dns_acmedns_request(srv):
    """The request acme.sh's dns_acmedns sends (acme.sh is not packaged in Debian): curl
    with its two headers and its JSON text as a form post; it greps the answer for the
    value in quotes. Its dns_acmedns_rm does nothing."""
    token = token_add(srv, "alice", "--names", CH, "--types", "TXT")
    for value in (V1, V2, V3):
        data = '{"subdomain":"%s", "txt": "%s"}' % (HOME, value)
        out = subprocess.run(["curl", "-sS", "-X", "POST", "-H", "X-Api-User: alice",
                              "-H", "X-Api-Key: " + token, "--data", data,
                              "http://127.0.0.1:%d/update" % srv.http_port],
                             capture_output=True, text=True, timeout=30).stdout
        assert '"%s"' % value in out, out
    assert txt(srv)[1] == {V2, V3}


def test_wrong_keys_are_throttled(srv):
    token = token_add(srv, "alice", "--names", CH, "--types", "TXT")
    statuses = [acmedns(srv, "alice", "wrong-%02d" % i + "x" * 30, HOME, V1)[0]
                for i in range(30)]
    assert statuses[0] == 401 and 429 in statuses, statuses
    # Throttled means not even the right key gets through from there for a while.
    assert acmedns(srv, "alice", token, HOME, V1)[0] == 429
    assert txt(srv)[1] == set()


# ---- lego httpreq: POST /present, POST /cleanup ----

def test_httpreq_present_and_cleanup(srv):
    token = token_add(srv, "alice", "--names", CH, "--types", "TXT")
    auth = basic("alice", token)
    assert post(srv, "/present", {"fqdn": CH + ".", "value": V1}, auth) == \
        (200, {"fqdn": CH, "value": V1})
    assert post(srv, "/present", {"fqdn": CH + ".", "value": V2}, auth)[0] == 200
    assert post(srv, "/present", {"fqdn": CH + ".", "value": V2}, auth)[0] == 200  # again
    assert txt(srv)[1] == {V1, V2}
    assert post(srv, "/cleanup", {"fqdn": CH + ".", "value": V1}, auth)[0] == 200
    assert txt(srv)[1] == {V2}
    # A host's own name is not a challenge name for httpreq.
    got, body = post(srv, "/present", {"fqdn": HOME + ".", "value": V3}, auth)
    assert got == 400 and body["error"]["code"] == "bad_fqdn"
    got, body = post(srv, "/present", {"fqdn": CH, "value": V3}, basic("alice", "nope"))
    assert got == 401
    got, body = post(srv, "/present", {"fqdn": CH, "value": "v\u0000"}, auth)
    assert got == 400
    assert post(srv, "/cleanup", {"fqdn": CH + ".", "value": V2}, auth)[0] == 200
    assert post(srv, "/cleanup", {"fqdn": CH + ".", "value": V2}, auth)[0] == 200  # gone
    assert negative_with_soa(srv.query(CH + ".", "TXT"))
    assert {p for p, _ in history(srv, CH)} == {"httpreq"}


def test_stale_values_are_swept(srv):
    """A value older than a day (its client died before cleaning up) is removed soon after
    start and then hourly, with a history row; fresh ones stay."""
    token = token_add(srv, "alice", "--names", CH, "--types", "TXT")
    assert post(srv, "/present", {"fqdn": CH, "value": V1}, basic("alice", token))[0] == 200
    srv.stop()
    db = sqlite3.connect(os.path.join(srv.data_dir, "nameplate.db"))
    with db:
        host_id = db.execute("SELECT id FROM hosts WHERE fqdn = ?", (HOME,)).fetchone()[0]
        db.execute("INSERT INTO acme_txt(host_id, value, created) VALUES (?, ?, ?)",
                   (host_id, V2, int(time.time()) - 2 * 86400))
    db.close()
    srv.start()
    wait_for(lambda: txt(srv)[1] == {V1}, 10)
    rows = history(srv, CH)
    assert rows[-1][0] == "expiry" and V2 not in rows[-1][1] and V1 in rows[-1][1], rows


def test_values_survive_restart_and_go_with_the_host(srv):
    token = token_add(srv, "alice", "--names", CH, "--types", "TXT")
    full = token_add(srv, "alice")
    auth = basic("alice", token)
    for v in (V1, V2):
        assert post(srv, "/present", {"fqdn": CH, "value": v}, auth)[0] == 200
    srv.restart()  # the full zone build renders the challenge name too
    assert txt(srv)[1] == {V1, V2}
    # A host deleted through the server: its challenge name goes in the same publication.
    c = http.client.HTTPConnection("127.0.0.1", srv.http_port, timeout=10)
    c.request("DELETE", "/api/v1/hosts/" + HOME, headers={"Authorization": "Token " + full})
    assert c.getresponse().status == 204
    c.close()
    assert negative_with_soa(srv.query(CH + ".", "TXT"))
    assert negative_with_soa(srv.query(HOME + ".", "A"))
    # And through nameplatectl (the server rebuilds the zone from the store).
    assert post(srv, "/present", {"fqdn": "_acme-challenge." + WWW, "value": V1},
                basic("alice", full))[0] == 200
    srv.ctl("host", "del", WWW)
    wait_for(lambda: txt(srv, "_acme-challenge." + WWW)[0] == dns.rcode.NXDOMAIN, 5)


# ---- end to end: pebble as the ACME server, lego and certbot as clients ----

def make_pebble_tls(d):
    """A CA and a certificate for 127.0.0.1 signed by it, for pebble's HTTPS; the CA is
    what the clients are told to trust (pebble ships no certificates in Debian)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nameplate test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                 x509.DNSName("localhost")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = {k: os.path.join(d, k + ".pem") for k in ("ca", "cert", "key")}
    with open(paths["ca"], "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths["cert"], "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths["key"], "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.TraditionalOpenSSL,
                                  serialization.NoEncryption()))
    return paths


class Pebble:
    def __init__(self, tmp, dns_port):
        self.dir = os.path.join(str(tmp), "pebble")
        os.makedirs(self.dir)
        self.tls = make_pebble_tls(self.dir)
        self.port = free_port()
        conf = {"pebble": {
            "listenAddress": "127.0.0.1:%d" % self.port,
            "managementListenAddress": "127.0.0.1:%d" % free_port(),
            "certificate": self.tls["cert"], "privateKey": self.tls["key"],
            # DNS-01 only: nothing listens there and pebble never connects to them.
            "httpPort": free_port(), "tlsPort": free_port(),
            "ocspResponderURL": "", "externalAccountBindingRequired": False}}
        cfg = os.path.join(self.dir, "pebble.json")
        with open(cfg, "w") as f:
            json.dump(conf, f)
        env = dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0",
                   PEBBLE_AUTHZREUSE="0")
        env.pop("PEBBLE_VA_ALWAYS_VALID", None)
        self.log = open(os.path.join(self.dir, "pebble.log"), "w")
        self.proc = subprocess.Popen(["pebble", "-config", cfg,
                                      "-dnsserver", "127.0.0.1:%d" % dns_port],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     stdin=subprocess.DEVNULL)
        self.url = "https://127.0.0.1:%d/dir" % self.port
        wait_for(self.listening, 20)

    def listening(self):
        assert self.proc.poll() is None, self.text()
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def text(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def acme(srv, tmp_path):
    for tool in ("pebble", "lego", "certbot"):
        assert shutil.which(tool), "%s is not installed (scripts/deps.sh)" % tool
    p = Pebble(tmp_path, srv.dns_port)
    yield p
    p.stop()


def run(cmd, env, what, pebble, timeout=90):
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, "%s failed (%d):\n%s\n%s\n---- pebble ----\n%s" % (
        what, r.returncode, r.stdout[-5000:], r.stderr[-5000:], pebble.text()[-5000:])
    if os.environ.get("ACME_DEBUG"):
        print(r.stdout, r.stderr, pebble.text())
    return r


def cert_names(path):
    from cryptography import x509
    with open(path, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(san.get_values_for_type(x509.DNSName))


def lego_env(acme, tmp_path, **extra):
    env = dict(os.environ, LEGO_CA_CERTIFICATES=acme.tls["ca"])
    env.update(extra)
    return env


def lego_cmd(acme, tmp_path, provider, srv, domains):
    cmd = ["lego", "--accept-tos", "--email", "acme@example.org", "--server", acme.url,
           "--path", str(tmp_path / ("lego-" + provider)), "--dns", provider,
           # The zone is found with an SOA query to nameplated itself; propagation
           # checks would ask the zone's NS names on port 53, which are not ours here.
           "--dns.resolvers", "127.0.0.1:%d" % srv.dns_port, "--dns.disable-cp"]
    for d in domains:
        cmd += ["--domains", d]
    return cmd + ["run"]


def test_lego_rfc2136_base_and_wildcard(srv, acme, tmp_path):
    alg, secret = key_add(srv, "acme-home", "--user", "alice", "--name", CH, "--type", "TXT")
    env = lego_env(acme, tmp_path, RFC2136_NAMESERVER="127.0.0.1:%d" % srv.dns_port,
                   RFC2136_TSIG_KEY="acme-home.", RFC2136_TSIG_ALGORITHM=alg + ".",
                   RFC2136_TSIG_SECRET=secret, RFC2136_PROPAGATION_TIMEOUT="30",
                   RFC2136_POLLING_INTERVAL="1",
                   # lego solves this provider's challenges one after the other, 60 s
                   # apart by default.
                   RFC2136_SEQUENCE_INTERVAL="1")
    run(lego_cmd(acme, tmp_path, "rfc2136", srv, [HOME, "*." + HOME]), env, "lego rfc2136",
        acme)
    crt = tmp_path / "lego-rfc2136" / "certificates" / (HOME + ".crt")
    assert cert_names(crt) == {HOME, "*." + HOME}
    assert negative_with_soa(srv.query(CH + ".", "TXT"))
    rows = history(srv, CH)
    assert len(rows) == 4 and {p for p, _ in rows} == {"rfc2136"} and rows[-1][1] == ""


def test_lego_httpreq(srv, acme, tmp_path):
    token = token_add(srv, "alice", "--names", CH, "--types", "TXT")
    env = lego_env(acme, tmp_path, HTTPREQ_ENDPOINT="http://127.0.0.1:%d" % srv.http_port,
                   HTTPREQ_USERNAME="alice", HTTPREQ_PASSWORD=token,
                   HTTPREQ_PROPAGATION_TIMEOUT="30", HTTPREQ_POLLING_INTERVAL="1")
    run(lego_cmd(acme, tmp_path, "httpreq", srv, [HOME]), env, "lego httpreq", acme)
    crt = tmp_path / "lego-httpreq" / "certificates" / (HOME + ".crt")
    assert cert_names(crt) == {HOME}
    assert negative_with_soa(srv.query(CH + ".", "TXT"))
    assert {p for p, _ in history(srv, CH)} == {"httpreq"}


def test_certbot_dns_rfc2136(srv, acme, tmp_path):
    ch = "_acme-challenge." + WWW
    alg, secret = key_add(srv, "certbot-www", "--user", "alice", "--name", ch, "--type", "TXT")
    ini = tmp_path / "rfc2136.ini"
    ini.write_text("dns_rfc2136_server = 127.0.0.1\n"
                   "dns_rfc2136_port = %d\n"
                   "dns_rfc2136_name = certbot-www\n"
                   "dns_rfc2136_secret = %s\n"
                   "dns_rfc2136_algorithm = %s\n" % (srv.dns_port, secret, alg.upper()))
    os.chmod(ini, 0o600)
    d = tmp_path / "certbot"
    env = dict(os.environ, REQUESTS_CA_BUNDLE=acme.tls["ca"])
    run(["certbot", "certonly", "--non-interactive", "--agree-tos",
         "--register-unsafely-without-email", "--server", acme.url,
         "--config-dir", str(d / "config"), "--work-dir", str(d / "work"),
         "--logs-dir", str(d / "logs"),
         "--dns-rfc2136", "--dns-rfc2136-credentials", str(ini),
         "--dns-rfc2136-propagation-seconds", "0", "-d", WWW, "-d", "*." + WWW], env,
        "certbot", acme)
    assert cert_names(d / "config" / "live" / WWW / "cert.pem") == {WWW, "*." + WWW}
    assert negative_with_soa(srv.query(ch + ".", "TXT"))
    rows = history(srv, ch)
    assert {p for p, _ in rows} == {"rfc2136"} and rows[-1][1] == ""
    # certbot sets up every challenge before it answers any: the base and the wildcard
    # certificate's values were at the name at once.
    assert any(n.count("TXT") == 2 for _, n in rows), rows


def ixfr_sections(n, serial):
    """(deleted, added) (name, type, text) sets of a condensed IXFR from serial."""
    rrs = []
    for m in dns.query.xfr("127.0.0.1", ZONE, rdtype=dns.rdatatype.IXFR, serial=serial,
                           port=n.dns_port, lifetime=10, relativize=False):
        for rrset in m.answer:
            for rd in rrset:
                rrs.append((rrset.name.to_text(), dns.rdatatype.to_text(rrset.rdtype),
                            rd.to_text()))
    soas = [i for i, r in enumerate(rrs) if r[1] == "SOA"]
    assert len(soas) == 4, rrs  # new, old ... new ... new: one condensed difference
    return set(rrs[soas[1] + 1:soas[2]]), set(rrs[soas[2] + 1:soas[3]])


def test_challenge_names_reach_secondaries_by_ixfr(np_factory):
    """A challenge name is in the zone's journal like a host: IXFR carries its values to
    secondaries, and its removal with the host's."""
    n = np_factory()
    n.write_config(zone={"allow_transfer": "127.0.0.1"})
    n.init()
    n.add_user("alice")
    n.add_host(HOME, "alice")
    n.start()
    full = token_add(n, "alice")
    s0 = n.serial()
    assert post(n, "/present", {"fqdn": CH, "value": V1}, basic("alice", full))[0] == 200
    s1 = n.serial()
    deleted, added = ixfr_sections(n, s0)
    assert (CH + ".", "TXT", '"%s"' % V1) in added and not deleted, (deleted, added)
    c = http.client.HTTPConnection("127.0.0.1", n.http_port, timeout=10)
    c.request("DELETE", "/api/v1/hosts/" + HOME, headers={"Authorization": "Token " + full})
    assert c.getresponse().status == 204
    c.close()
    deleted, added = ixfr_sections(n, s1)
    assert (CH + ".", "TXT", '"%s"' % V1) in deleted and not added, (deleted, added)
