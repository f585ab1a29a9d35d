# SPDX-License-Identifier: MIT
# RFC 2136 UPDATE on nameplated with TSIG keys that are an account's credentials: keys made
# by `nameplatectl tsig add` work as printed with BIND's nsupdate (-k FILE) and Knot's
# knsupdate (-y), the key's policy decides names and types, every failure has its RFC
# rcode and changes nothing, prerequisites are evaluated against the data they guard, and
# the answer is signed (dnspython checks every signature it receives).

import base64
import os
import re
import socket
import sqlite3
import struct
import subprocess
import threading
import time

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TSIG
import dns.tsig
import dns.tsigkeyring
import dns.update
import pytest

from conftest import ZONE, wait_for

HOME = "home." + ZONE
OTHER = "other." + ZONE


def add_key(n, keyname, *args):
    """nameplatectl tsig add: (BIND key file text, algorithm, secret)."""
    r = n.ctl("tsig", "add", keyname, *args)
    m = re.search(r'key "([^"]+)" \{\n\talgorithm (\S+);\n\tsecret "([^"]+)";\n\};\n', r.stdout)
    assert m, "tsig add printed %r" % r.stdout
    assert m.group(1) == keyname.lower().rstrip(".")
    one = re.search(r"^# knsupdate -y / nsupdate -y: (\S+)$", r.stdout, re.M)
    assert one and one.group(1) == "%s:%s:%s" % (m.group(2), m.group(1), m.group(3))
    return r.stdout, m.group(2), m.group(3)


def N(name):
    """An absolute name: dnspython reads text names relative to the update's zone."""
    return dns.name.from_text(name)


def keyring(keyname, secret, alg="hmac-sha256"):
    return dns.tsig.Key(keyname, secret, alg)


def send(n, msg, tcp=False):
    if tcp:
        return dns.query.tcp(msg, "127.0.0.1", port=n.dns_port, timeout=5)
    return dns.query.udp(msg, "127.0.0.1", port=n.dns_port, timeout=5)


def upd(key=None, zone=ZONE):
    u = dns.update.UpdateMessage(zone)
    if key is not None:
        u.use_tsig(key)
    return u


def sign_raw(wire, key, time_signed=None):
    """wire with a TSIG record appended by hand (for messages dnspython would not build)."""
    msg_id = struct.unpack("!H", wire[:2])[0]
    rd = dns.rdtypes.ANY.TSIG.TSIG(dns.rdataclass.ANY, dns.rdatatype.TSIG, key.algorithm,
                                   0, 300, b"", msg_id, 0, b"")
    when = int(time.time()) if time_signed is None else time_signed
    rd, _ = dns.tsig.sign(bytes(wire), key, rd, time=when)
    rdata = rd.to_digestable()
    rr = key.name.to_wire() + struct.pack("!HHIH", dns.rdatatype.TSIG, dns.rdataclass.ANY, 0,
                                         len(rdata)) + rdata
    out = bytearray(wire) + rr
    struct.pack_into("!H", out, 10, struct.unpack("!H", wire[10:12])[0] + 1)
    return bytes(out)


def raw_answer(n, wire):
    """(rcode, TSIG error or None, whether the TSIG has a MAC) of the answer to wire."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(wire, ("127.0.0.1", n.dns_port))
        ans = s.recv(65535)
    rcode = ans[3] & 0xF
    if struct.unpack("!H", ans[10:12])[0] == 0:
        return rcode, None, False
    # Past the zone section to the TSIG record: owner, type, class, TTL, rdlength, then
    # algorithm, time (6), fudge, MAC size, MAC, original ID, error, other.
    pos = 12
    for skip in (4, 10, 8):
        _, used = dns.name.from_wire(ans, pos)
        pos += used + skip
    mac_size = struct.unpack("!H", ans[pos:pos + 2])[0]
    pos += 2 + mac_size + 2
    error = struct.unpack("!H", ans[pos:pos + 2])[0]
    return rcode, error, mac_size > 0


def history(n, fqdn):
    db = sqlite3.connect(os.path.join(n.data_dir, "nameplate.db"))
    try:
        return db.execute("SELECT protocol, token_id, old, new FROM history WHERE fqdn = ?"
                          " ORDER BY id", (fqdn,)).fetchall()
    finally:
        db.close()


@pytest.fixture
def srv(np_factory):
    n = np_factory()
    n.write_config()
    n.init()
    n.add_user("alice")
    n.add_user("bob")
    n.add_host(HOME, "alice")
    n.add_host(OTHER, "bob")
    n.start()
    return n


def test_nsupdate_with_the_printed_key_file(srv, tmp_path):
    text, alg, secret = add_key(srv, "home-key", "--user", "alice", "--name", HOME)
    keyfile = tmp_path / "home.key"
    keyfile.write_text(text)
    serial = srv.serial()
    # No zone line: nsupdate finds the zone with an SOA query for the name.
    script = ("server 127.0.0.1 %d\nupdate delete %s A\nupdate add %s 60 A 192.0.2.7\nsend\n"
              % (srv.dns_port, HOME, HOME))
    p = subprocess.run(["nsupdate", "-k", str(keyfile)], input=script, text=True,
                       capture_output=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    assert srv.addrs(HOME) == {"192.0.2.7"}
    assert srv.serial() != serial
    rows = history(srv, HOME)
    assert rows[-1][0] == "rfc2136" and rows[-1][1] != "" and "192.0.2.7" in rows[-1][3]
    listed = srv.ctl("tsig", "list", "alice").stdout
    assert re.search(r"^home-key\t.*\tnever\t\S+ from 127\.0\.0\.1$", listed, re.M), listed
    # The secret is kept sealed: the database never holds it.
    raw = open(os.path.join(srv.data_dir, "nameplate.db"), "rb").read()
    assert base64.b64decode(secret) not in raw and secret.encode() not in raw


def test_knsupdate_with_the_one_line_form_and_sha512(srv):
    text, alg, secret = add_key(srv, "Home512.Keys.", "--user", "alice",
                                "--algorithm", "hmac-sha512")
    assert alg == "hmac-sha512"
    script = ("server 127.0.0.1 %d\nzone %s\nupdate add %s 60 AAAA 2001:db8::7\nsend\nanswer\n"
              % (srv.dns_port, ZONE, HOME))
    p = subprocess.run(["knsupdate", "-y", "%s:home512.keys:%s" % (alg, secret)], input=script,
                       text=True, capture_output=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    assert srv.addrs(HOME, "AAAA") == {"2001:db8::7"}


def test_tcp_and_udp_answer_signed(srv):
    _, alg, secret = add_key(srv, "k1", "--user", "alice")
    key = keyring("k1.", secret, alg)
    for tcp in (False, True):
        u = upd(key)
        addr = "192.0.2.%d" % (20 + tcp)
        u.replace(N(HOME), 60, "A", addr)
        r = send(srv, u, tcp=tcp)  # dnspython raises when the answer's TSIG is wrong
        assert r.rcode() == dns.rcode.NOERROR and r.had_tsig
        assert srv.addrs(HOME) == {addr}


def test_policy_names_and_types(srv):
    _, alg, secret = add_key(srv, "txt-only", "--user", "alice", "--name", HOME,
                             "--type", "TXT")
    key = keyring("txt-only.", secret, alg)
    u = upd(key)
    u.replace(N(HOME), 60, "A", "192.0.2.99")
    assert send(srv, u).rcode() == dns.rcode.REFUSED
    u = upd(key)
    u.add(N(HOME), 60, "TXT", '"token-1"')
    u.add(N(HOME), 60, "TXT", '"token-2"')
    assert send(srv, u).rcode() == dns.rcode.NOERROR
    r = srv.query(HOME, "TXT")
    assert sorted(rr.to_text() for rs in r.answer for rr in rs) == ['"token-1"', '"token-2"']
    # "delete every RRset of the name" would take the A records too: not with this key.
    u = upd(key)
    u.delete(N(HOME))
    assert send(srv, u).rcode() == dns.rcode.REFUSED
    # Another account's host, and a name no host has: REFUSED, nothing changes.
    _, alg, secret = add_key(srv, "alice-all", "--user", "alice")
    key = keyring("alice-all.", secret, alg)
    for name in (OTHER, "nohost." + ZONE):
        u = upd(key)
        u.add(N(name), 60, "A", "192.0.2.66")
        assert send(srv, u).rcode() == dns.rcode.REFUSED
    assert srv.addrs(OTHER) == set()
    # One refused name in a message refuses all of it.
    u = upd(key)
    u.replace(N(HOME), 60, "A", "192.0.2.50")
    u.replace(N(OTHER), 60, "A", "192.0.2.50")
    assert send(srv, u).rcode() == dns.rcode.REFUSED
    assert srv.addrs(HOME) == set()
    # Types a host does not hold are refused.
    u = upd(key)
    u.add(N(HOME), 60, "CNAME", "elsewhere.example.")
    assert send(srv, u).rcode() == dns.rcode.REFUSED


def test_source_prefix_and_deleted_key(srv):
    _, alg, secret = add_key(srv, "far", "--user", "alice", "--sources", "192.0.2.0/24")
    u = upd(keyring("far.", secret, alg))
    u.replace(N(HOME), 60, "A", "192.0.2.1")
    assert send(srv, u).rcode() == dns.rcode.REFUSED
    _, alg, secret = add_key(srv, "gone", "--user", "alice")
    key = keyring("gone.", secret, alg)
    u = upd(key)
    u.replace(N(HOME), 60, "A", "192.0.2.2")
    assert send(srv, u).rcode() == dns.rcode.NOERROR
    srv.ctl("tsig", "del", "gone")
    u = upd(key)
    u.replace(N(HOME), 60, "A", "192.0.2.3")
    with pytest.raises(dns.tsig.PeerBadKey):
        send(srv, u)
    assert srv.addrs(HOME) == {"192.0.2.2"}


def test_remembered_keys_follow_every_change(srv):
    """The update service keeps keys it verified unsealed, for as long as no credential
    changed in the store: a key replaced under the same name, an account locked or a key
    deleted by another process count from the very next message, for UPDATEs and signed
    queries alike."""
    _, alg, old = add_key(srv, "swap", "--user", "alice")
    key = keyring("swap.", old, alg)

    def update(k, addr):
        u = upd(k)
        u.replace(N(HOME), 60, "A", addr)
        return send(srv, u).rcode()

    def signed_query(k):
        q = dns.message.make_query(HOME + ".", "A")
        q.use_tsig(k)
        return dns.query.udp(q, "127.0.0.1", port=srv.dns_port, timeout=5)

    for i in range(3):  # remembered after the first
        assert update(key, "192.0.2.%d" % (30 + i)) == dns.rcode.NOERROR
    assert signed_query(key).had_tsig
    # Replaced under the same name: the new secret works at once, the old one is wrong.
    srv.ctl("tsig", "del", "swap")
    _, alg, new = add_key(srv, "swap", "--user", "alice")
    assert update(keyring("swap.", new, alg), "192.0.2.40") == dns.rcode.NOERROR
    with pytest.raises(dns.tsig.PeerBadSignature):
        update(key, "192.0.2.41")
    key = keyring("swap.", new, alg)
    # The account locked, then unlocked: REFUSED in between, nothing changed.
    srv.ctl("user", "lock", "alice")
    assert update(key, "192.0.2.42") == dns.rcode.REFUSED
    srv.ctl("user", "unlock", "alice")
    assert update(key, "192.0.2.43") == dns.rcode.NOERROR
    # Deleted: BADKEY for the next UPDATE and the next signed query.
    srv.ctl("tsig", "del", "swap")
    with pytest.raises(dns.tsig.PeerBadKey):
        update(key, "192.0.2.44")
    with pytest.raises(dns.tsig.PeerBadKey):
        signed_query(key)
    assert srv.addrs(HOME) == {"192.0.2.43"}


def test_key_deleted_under_load_is_refused_from_the_next_message(srv):
    """Under a stream of UPDATEs from eight senders at once, the key deleted by another
    process: no UPDATE sent after the deletion returned is verified with it (BADKEY, or
    the unsigned REFUSED of the failed-signature throttle once those pile up; a signed
    answer would mean a remembered copy of the key was used) and none changes anything.
    (The service thread reads the credentials' count of changes once for all the messages
    it takes off its queue together, after every one of them arrived.)"""
    _, alg, secret = add_key(srv, "burst", "--user", "alice")
    key = keyring("burst.", secret, alg)
    stop = threading.Event()
    lock = threading.Lock()
    results = []  # (monotonic time sent, outcome, address)

    def sender(i):
        for n in range(3000):  # bounded: about a second of load at most rates
            if stop.is_set():
                break
            addr = "10.%d.%d.%d" % (i, n // 256, n % 256)
            u = upd(key)
            u.replace(N(HOME), 60, "A", addr)
            sent = time.monotonic()
            try:
                r = send(srv, u)
                out = dns.rcode.to_text(r.rcode()) + (" signed" if r.had_tsig else "")
            except dns.tsig.PeerBadKey:
                out = "BADKEY"
            except dns.exception.Timeout:
                out = "timeout"
            with lock:
                results.append((sent, out, addr))

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        before_del = time.monotonic()
        srv.ctl("tsig", "del", "burst")
        deleted = time.monotonic()
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    acked = [a for s, o, a in results if o == "NOERROR signed"]
    early = [o for s, o, _ in results if s < before_del]
    late = [o for s, o, _ in results if s > deleted]
    print("UPDATEs before the deletion: %s; after: %s" %
          ({o: early.count(o) for o in set(early)}, {o: late.count(o) for o in set(late)}))
    assert early.count("NOERROR signed") >= 50, "too little load to mean anything"
    assert late and set(late) <= {"BADKEY", "REFUSED"}, "after the deletion: %s" % set(late)
    assert "BADKEY" in late or "BADKEY" in [o for s, o, _ in results if s >= before_del]
    assert srv.addrs(HOME) <= set(acked)


def test_tsig_failures(srv):
    _, alg, secret = add_key(srv, "k", "--user", "alice")
    wrong = keyring("k.", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", alg)
    u = upd(wrong)
    u.replace(N(HOME), 60, "A", "192.0.2.9")
    with pytest.raises(dns.tsig.PeerBadSignature):
        send(srv, u)
    u = upd(keyring("nosuch.", secret, alg))
    u.replace(N(HOME), 60, "A", "192.0.2.9")
    with pytest.raises(dns.tsig.PeerBadKey):
        send(srv, u)
    # The right secret under the other algorithm is another key.
    u = upd(keyring("k.", secret, "hmac-sha512"))
    u.replace(N(HOME), 60, "A", "192.0.2.9")
    with pytest.raises(dns.tsig.PeerBadKey):
        send(srv, u)
    # Signed 20 minutes ago: NOTAUTH with BADTIME, nothing changes.
    u = upd()
    u.replace(N(HOME), 60, "A", "192.0.2.9")
    rcode, err, _ = raw_answer(srv, sign_raw(u.to_wire(), keyring("k.", secret, alg),
                                             int(time.time()) - 1200))
    assert (rcode, err) == (dns.rcode.NOTAUTH, 18)
    # A correct signature over a changed message: BADSIG.
    signed = bytearray(sign_raw(u.to_wire(), keyring("k.", secret, alg)))
    signed[len(u.to_wire()) - 1] ^= 1  # the last byte of the address
    rcode, err, _ = raw_answer(srv, bytes(signed))
    assert (rcode, err) == (dns.rcode.NOTAUTH, 16)
    # Unsigned: REFUSED.
    u = upd()
    u.replace(N(HOME), 60, "A", "192.0.2.9")
    assert send(srv, u).rcode() == dns.rcode.REFUSED
    assert srv.addrs(HOME) == set()


def test_zone_and_name_checks(srv):
    _, alg, secret = add_key(srv, "k", "--user", "alice")
    key = keyring("k.", secret, alg)
    u = upd(key, zone="not-ours.example")
    u.add(N("a.not-ours.example"), 60, "A", "192.0.2.1")
    assert send(srv, u).rcode() == dns.rcode.NOTAUTH
    u = upd(key)
    u.add(N("home.elsewhere.example"), 60, "A", "192.0.2.1")
    assert send(srv, u).rcode() == dns.rcode.NOTZONE
    # A malformed A record (3 bytes of rdata), correctly signed: FORMERR, nothing changes.
    u = upd()
    u.add(N(HOME), 60, "A", "192.0.2.1")
    wire = bytearray(u.to_wire())
    assert wire[-6:-4] == b"\x00\x04"
    bad = bytes(wire[:-6]) + b"\x00\x03" + bytes(wire[-4:-1])
    rcode, err, signed = raw_answer(srv, sign_raw(bad, key))
    assert rcode == dns.rcode.FORMERR and signed and err == 0
    # NUL bytes in a TXT value are data: stored and served as sent.
    u = upd(key)
    u.add(N(HOME), 60, "TXT", '"a\\000b"')
    assert send(srv, u).rcode() == dns.rcode.NOERROR
    assert srv.addrs(HOME) == set()


def test_prerequisites(srv):
    _, alg, secret = add_key(srv, "k", "--user", "alice")
    key = keyring("k.", secret, alg)

    def run(prep):
        u = upd(key)
        prep(u)
        return send(srv, u).rcode()

    # RRset does not exist yet: "present" fails with NXRRSET, nothing changes.
    assert run(lambda u: (u.present(N(HOME), "A"), u.add(N(HOME), 60, "A", "192.0.2.1"))) == \
        dns.rcode.NXRRSET
    assert srv.addrs(HOME) == set()
    # "absent" holds: the add goes through.
    assert run(lambda u: (u.absent(N(HOME), "A"), u.add(N(HOME), 60, "A", "192.0.2.1"))) == \
        dns.rcode.NOERROR
    assert run(lambda u: (u.absent(N(HOME), "A"), u.add(N(HOME), 60, "A", "192.0.2.2"))) == \
        dns.rcode.YXRRSET
    # Value-dependent: only when the RRset is exactly {192.0.2.1} (compare-and-swap).
    assert run(lambda u: (u.present(N(HOME), "A", "192.0.2.5"),
                          u.replace(N(HOME), 60, "A", "192.0.2.6"))) == dns.rcode.NXRRSET
    assert run(lambda u: (u.present(N(HOME), "A", "192.0.2.1"),
                          u.replace(N(HOME), 60, "A", "192.0.2.6"))) == dns.rcode.NOERROR
    assert srv.addrs(HOME) == {"192.0.2.6"}
    # Name in use / not in use.
    assert run(lambda u: (u.absent(N(HOME)), u.add(N(HOME), 60, "TXT", '"x"'))) == dns.rcode.YXDOMAIN
    assert run(lambda u: (u.present(N("free." + ZONE)), u.add(N(HOME), 60, "TXT", '"x"'))) == \
        dns.rcode.NXDOMAIN
    assert run(lambda u: u.present(N(ZONE), "SOA")) == dns.rcode.NOERROR
    assert srv.addrs(HOME) == {"192.0.2.6"}
    r = srv.query(HOME, "TXT")
    assert r.answer == []


def test_deletes(srv):
    _, alg, secret = add_key(srv, "k", "--user", "alice")
    key = keyring("k.", secret, alg)
    u = upd(key)
    u.add(N(HOME), 60, "A", "192.0.2.1")
    u.add(N(HOME), 60, "A", "192.0.2.2")
    u.add(N(HOME), 60, "TXT", '"t"')
    assert send(srv, u).rcode() == dns.rcode.NOERROR
    assert sorted(srv.addrs(HOME)) == ["192.0.2.1", "192.0.2.2"]
    u = upd(key)
    u.delete(N(HOME), "A", "192.0.2.1")
    assert send(srv, u).rcode() == dns.rcode.NOERROR
    assert srv.addrs(HOME) == {"192.0.2.2"}
    serial = srv.serial()
    u = upd(key)
    u.delete(N(HOME), "A", "192.0.2.77")  # not there: no change, no new serial
    assert send(srv, u).rcode() == dns.rcode.NOERROR
    assert srv.serial() == serial
    u = upd(key)
    u.delete(N(HOME))
    assert send(srv, u).rcode() == dns.rcode.NOERROR
    assert srv.addrs(HOME) == set() and srv.query(HOME, "TXT").answer == []


def test_limits_and_garbage(srv):
    _, alg, secret = add_key(srv, "k", "--user", "alice")
    key = keyring("k.", secret, alg)
    # More records of one type than a name may hold: REFUSED, nothing changes.
    u = upd(key)
    for i in range(17):
        u.add(N(HOME), 60, "A", "192.0.2.%d" % (i + 1))
    assert send(srv, u).rcode() == dns.rcode.REFUSED
    assert srv.addrs(HOME) == set()
    # More than 64 records in one message: FORMERR before any work.
    u = upd(key)
    for i in range(65):
        u.delete(N(HOME), "A", "192.0.2.%d" % (i + 1))
    assert send(srv, u).rcode() == dns.rcode.FORMERR
    # Bytes that are no message at all, and a truncated one: no crash, the server answers.
    for raw in (b"\x00\x01\x28\x00" + b"\x00" * 8, b"\x12\x34\x28\x00\x00\x01",
                b"\x12\x34\x28\x00" + b"\xff" * 300):
        srv.udp_raw(raw, timeout=0.3)
    u = upd(key)
    u.replace(N(HOME), 60, "A", "192.0.2.1")
    assert send(srv, u).rcode() == dns.rcode.NOERROR


def test_ctl_tsig_list_and_errors(srv):
    add_key(srv, "k-list", "--user", "alice", "--name", HOME, "--type", "A,AAAA")
    out = srv.ctl("tsig", "list", "alice").stdout
    assert re.search(r"^k-list\thmac-sha256\t[0-9a-f]+\tnames=%s types=A,AAAA" % re.escape(HOME),
                     out, re.M), out
    assert "secret" not in out
    for args, msg in ((["bad key!", "--user", "alice"], "bad key name"),
                      (["k2", "--user", "nobody"], "no user"),
                      (["k2", "--user", "alice", "--algorithm", "hmac-md5"], "algorithm"),
                      (["k-list", "--user", "alice"], "exists already"),
                      (["k2", "--user", "alice", "--type", "CNAME"], "bad policy")):
        r = srv.ctl("tsig", "add", *args, check=False)
        assert r.returncode != 0 and msg in r.stderr, (args, r.stderr)
    r = srv.ctl("tsig", "del", "nosuch", check=False)
    assert r.returncode != 0 and "no key" in r.stderr
    # The sealing key file is private.
    st = os.stat(os.path.join(srv.data_dir, "tsig-seal.key"))
    assert st.st_mode & 0o077 == 0


def test_tcp_pipelined_update_then_query_in_order(srv):
    """An UPDATE and a query sent back to back on one TCP connection: the UPDATE's answer
    comes first, and the query already sees its change."""
    _, alg, secret = add_key(srv, "k", "--user", "alice")
    u = upd(keyring("k.", secret, alg))
    u.replace(N(HOME), 60, "A", "192.0.2.44")
    q = dns.message.make_query(HOME, "A")
    w1, w2 = u.to_wire(), q.to_wire()
    with srv.tcp_connect() as s:
        s.sendall(struct.pack("!H", len(w1)) + w1 + struct.pack("!H", len(w2)) + w2)
        answers = []
        buf = b""
        while len(answers) < 2:
            chunk = s.recv(65535)
            assert chunk, "connection closed after %d answers" % len(answers)
            buf += chunk
            while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                n = struct.unpack("!H", buf[:2])[0]
                answers.append(buf[2:2 + n])
                buf = buf[2 + n:]
    assert answers[0][:2] == w1[:2] and (answers[0][3] & 0xF) == 0
    second = dns.message.from_wire(answers[1])
    assert second.id == q.id
    assert [rr.to_text() for rs in second.answer for rr in rs] == ["192.0.2.44"]


def test_api_makes_lists_and_deletes_keys(srv, tmp_path):
    """The same keys through the REST API: made with a session, answered once with the
    secret and a key file nsupdate takes, listed without the secret, scoped, deleted."""
    from test_api import call, err, login, ok
    for user in ("alice", "bob"):
        srv.ctl("user", "password", user, "--password-stdin", input="%s's long password\n" % user)
    session = login(srv, "alice", "alice's long password")
    body = {"name": "API-Key.", "algorithm": "hmac-sha512",
            "policy": {"names": [HOME], "types": ["A"]}}
    k = ok(call(srv, "POST", "tsig", body, token=session), 201)
    assert k["name"] == "api-key" and k["algorithm"] == "hmac-sha512"
    assert k["policy"]["names"] == [HOME] and k["policy"]["types"] == ["A"]
    keyfile = tmp_path / "api.key"
    keyfile.write_text(k["key_file"])
    script = ("server 127.0.0.1 %d\nzone %s\nupdate add %s 60 A 192.0.2.81\nsend\n"
              % (srv.dns_port, ZONE, HOME))
    p = subprocess.run(["nsupdate", "-k", str(keyfile)], input=script, text=True,
                       capture_output=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    assert srv.addrs(HOME) == {"192.0.2.81"}
    # The policy holds: TXT is not among its types.
    u = upd(keyring("api-key.", k["secret"], "hmac-sha512"))
    u.add(N(HOME), 60, "TXT", '"no"')
    assert send(srv, u).rcode() == dns.rcode.REFUSED
    listed = ok(call(srv, "GET", "tsig", token=session))["keys"]
    assert [x["name"] for x in listed] == ["api-key"] and "secret" not in listed[0]
    assert listed[0]["last_used"] > 0
    # Errors: a taken name, a bad name, an algorithm not offered, manage, no name.
    err(call(srv, "POST", "tsig", {"name": "api-key"}, token=session), 409, "exists")
    err(call(srv, "POST", "tsig", {"name": "bad key"}, token=session), 422, "bad_name")
    err(call(srv, "POST", "tsig", {"name": "k2", "algorithm": "hmac-md5"}, token=session), 422,
        "bad_algorithm")
    err(call(srv, "POST", "tsig", {"name": "k2", "policy": {"manage": True}}, token=session),
        422, "bad_policy")
    err(call(srv, "POST", "tsig", {}, token=session), 400)
    # Bob sees none of it and cannot delete it.
    bob = login(srv, "bob", "bob's long password")
    assert ok(call(srv, "GET", "tsig", token=bob))["keys"] == []
    err(call(srv, "DELETE", "tsig/api-key", token=bob), 404, "not_found")
    assert ok(call(srv, "DELETE", "tsig/api-key", token=session), 204) is None
    u = upd(keyring("api-key.", k["secret"], "hmac-sha512"))
    u.replace(N(HOME), 60, "A", "192.0.2.82")
    with pytest.raises(dns.tsig.PeerBadKey):
        send(srv, u)
    assert srv.addrs(HOME) == {"192.0.2.81"}


def test_wrong_secrets_by_the_thousand(srv):
    """Thousands of UPDATEs with a wrong secret or an unknown key from one address: after a
    few failures it gets REFUSED without a lookup, the owner updating from another address
    is not held up, and nothing changes."""
    _, alg, secret = add_key(srv, "k", "--user", "alice")
    good = keyring("k.", secret, alg)
    u = upd(good)
    u.replace(N(HOME), 60, "A", "192.0.2.1")
    assert dns.query.udp(u, "127.0.0.1", port=srv.dns_port, timeout=5,
                         source="127.0.0.2").rcode() == dns.rcode.NOERROR
    wrong = keyring("k.", base64.b64encode(b"w" * 32).decode(), alg)
    unknown = keyring("nosuch.", secret, alg)
    msgs = []
    for i in range(3000):
        m = upd(wrong if i % 2 else unknown)
        m.replace(N(HOME), 60, "A", "198.51.100.%d" % (i % 250 + 1))
        msgs.append(m.to_wire())
    answers = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(2)
        # Bursts of 100, each answered before the next: as fast as the server answers,
        # without filling its queue on a machine busy with other things.
        for i in range(0, len(msgs), 100):
            for w in msgs[i:i + 100]:
                s.sendto(w, ("127.0.0.1", srv.dns_port))
            for _ in range(100):
                try:
                    a = s.recv(65535)
                except socket.timeout:
                    break
                answers[a[3] & 0xF] = answers.get(a[3] & 0xF, 0) + 1
    # A handful of NOTAUTH (the free failures), then REFUSED for the rest.
    assert answers.get(dns.rcode.NOTAUTH, 0) <= 20, answers
    assert answers.get(dns.rcode.REFUSED, 0) >= 2900, answers
    u = upd(good)
    u.replace(N(HOME), 60, "A", "192.0.2.2")
    t = time.monotonic()
    assert dns.query.udp(u, "127.0.0.1", port=srv.dns_port, timeout=5,
                         source="127.0.0.2").rcode() == dns.rcode.NOERROR
    assert time.monotonic() - t < 5
    assert srv.addrs(HOME) == {"192.0.2.2"}
    # The log tells of it, at a bounded rate.
    assert srv.stderr().count("rfc2136") < 100
