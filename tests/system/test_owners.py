# SPDX-License-Identifier: MIT
"""DDNS owners' alerts, the status API and the client's `check` and `status` incidents.

The owners' watch (every [check] owner_interval) checks each owned host's addresses of the
last 24 hours against the observation index: an address seen infected opens one incident
and one mail to the owner (aiosmtpd on loopback is the relay), never more while it stays
open; GET /api/v1/status and `nameplate status` show it. `nameplate check` asks the real
server's /api/v1/check about the address it sees (127.0.0.1 here)."""
import base64
import email
import email.policy
import json
import os
import sqlite3
import subprocess
import threading
import time

import pytest
from aiosmtpd.controller import Controller

from conftest import BUILD, ZONE, check_sanitizers, free_port, wait_for
from sensorapi import add_sensor, batch, post, syn

NAMEPLATE = os.path.join(BUILD, "nameplate")
HOST = "h." + ZONE
INFECTED = "192.0.2.77"


class Inbox:
    """An SMTP relay on 127.0.0.1 that keeps every message it is given."""

    def __init__(self):
        self.lock = threading.Lock()
        self.mails = []
        self.port = free_port()
        self.ctl = Controller(self, hostname="127.0.0.1", port=self.port)
        self.ctl.start()

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = msg.get_body(("plain",)) if msg.is_multipart() else msg
        with self.lock:
            self.mails.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                               "subject": str(msg["Subject"] or ""),
                               "body": body.get_content() if body is not None else ""})
        return "250 OK"

    def to(self, rcpt):
        with self.lock:
            return [m for m in self.mails if rcpt in m["to"]]

    def all(self):
        with self.lock:
            return list(self.mails)

    def close(self):
        self.ctl.stop()


@pytest.fixture
def smtp():
    box = Inbox()
    yield box
    box.close()


def db(np, sql, args=(), write=False):
    path = os.path.join(np.data_dir, "nameplate.db")
    conn = sqlite3.connect(path if write else "file:%s?mode=ro" % path, uri=not write,
                           timeout=10)
    try:
        rows = conn.execute(sql, args).fetchall()
        if write:
            conn.commit()
        return rows
    finally:
        conn.close()


def status_api(np, user, secret):
    cred = base64.b64encode(("%s:%s" % (user, secret)).encode()).decode()
    st, _, body = np.http("/api/v1/status", headers={"Authorization": "Basic " + cred})
    return st, (json.loads(body) if st == 200 else body)


def incidents(np, user, secret, fqdn):
    st, doc = status_api(np, user, secret)
    assert st == 200, doc
    hosts = {h["fqdn"]: h for h in doc["hosts"]}
    assert fqdn in hosts, doc
    return hosts[fqdn]["incidents"]


def server(np_factory, smtp=None, interval=1):
    np = np_factory()
    extra = "[check]\nowner_interval = %d\nper_address_hour = 100\n" % interval
    if smtp is not None:
        extra += ("[mail]\nrelay = smtp://127.0.0.1:%d\nfrom = nameplate@%s\nretry_min = 1\n"
                  "tls = none\n" % (smtp.port, ZONE))
    np.write_config(extra=extra)
    np.init()
    np.start()
    np.token = add_sensor(np)
    return np


def update(np, fqdn, user, secret, addr):
    st, _, lines = np.update(hostname=fqdn, myip=addr, user=user, secret=secret)
    assert st == 200 and lines and lines[0].split()[0] in ("good", "nochg"), lines


def mirai(np, bid, src, n=5, t=None):
    st, text = post(np, batch(bid, [syn(src, 23, t=t, n=n), syn(src, 2323, t=t)]), np.token)
    assert st == 200, text


class ClientConf:
    """A client config for one host of the server, for `nameplate check` and `status`."""

    def __init__(self, tmp, np, fqdn, user, secret):
        self.dir = str(tmp)
        os.makedirs(self.dir, exist_ok=True)
        self.conf = os.path.join(self.dir, "client.conf")
        secret_file = os.path.join(self.dir, "host.secret")
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secret + "\n")
        text = ("[client]\nstate_dir = %s\ntimeout = 5\n\n[host %s]\n"
                "server = http://127.0.0.1:%d/nic/update\nuser = %s\nsecret_file = %s\n"
                "ipv4 = static:%s\n" % (os.path.join(self.dir, "state"), fqdn, np.http_port,
                                        user, secret_file, INFECTED))
        fd = os.open(self.conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)

    def run(self, *args, timeout=30):
        r = subprocess.run([NAMEPLATE, "-c", self.conf] + list(args), capture_output=True,
                           text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        check_sanitizers(r.stderr, "nameplate %s" % " ".join(args))
        return r


@pytest.fixture
def owned(np_factory, smtp, tmp_path):
    """alice (mail) owns h (the infected address), carol (mail) owns a clean host, bob (no
    mail) owns another infected one."""
    np = server(np_factory, smtp)
    np.ctl("user", "add", "alice")
    np.ctl("user", "email", "alice", "alice@example.org")
    np.ctl("user", "add", "carol")
    np.ctl("user", "email", "carol", "carol@example.org")
    np.ctl("user", "add", "bob")
    np.alice = np.add_host(HOST, "alice")
    np.carol = np.add_host("clean." + ZONE, "carol")
    np.bob = np.add_host("bob." + ZONE, "bob")
    update(np, HOST, "alice", np.alice, INFECTED)
    update(np, "clean." + ZONE, "carol", np.carol, "192.0.2.10")
    update(np, "bob." + ZONE, "bob", np.bob, "192.0.2.78")
    return np


def test_user_email_command(np_factory):
    np = np_factory()
    np.write_config()
    np.init()
    np.add_user("alice")
    np.ctl("user", "email", "alice", "alice@example.org")
    assert db(np, "SELECT email FROM users WHERE name = 'alice'") == [("alice@example.org",)]
    r = np.ctl("user", "email", "alice", "not an address", check=False)
    assert r.returncode != 0 and "bad mail address" in r.stderr
    r = np.ctl("user", "email", "nobody", "x@example.org", check=False)
    assert r.returncode != 0 and "no user nobody" in r.stderr
    np.ctl("user", "email", "alice", "")
    assert db(np, "SELECT email FROM users WHERE name = 'alice'") == [("",)]


def test_infected_host_mails_its_owner_once(owned, smtp, tmp_path):
    np = owned
    mirai(np, "b1", INFECTED)
    mirai(np, "b2", "192.0.2.78")
    mails = wait_for(lambda: smtp.to("alice@example.org"), 20, 0.2)
    assert len(mails) == 1, smtp.all()
    print(mails[0]["subject"] + "\n" + mails[0]["body"])
    assert mails[0]["subject"] == "Nameplate: %s (%s) looks infected" % (HOST, INFECTED)
    text = " ".join(mails[0]["body"].split())
    for words in (HOST, INFECTED, "mirai_syn", "firmware", "automatic updates", "UPnP", "VPN",
                  "default passwords", "Power off", "carrier-grade NAT", "nameplate check",
                  " 23 (5)"):
        assert words in text, (words, text)

    # Several more intervals: the incident stays open and is not mailed again; the clean
    # host's owner hears nothing; bob (no mail address) gets an incident without mail.
    time.sleep(4)
    assert len(smtp.to("alice@example.org")) == 1
    assert smtp.to("carol@example.org") == []
    assert len(smtp.all()) == 1, smtp.all()
    assert db(np, "SELECT count(*) FROM outbox")[0][0] == 0

    inc = incidents(np, "alice", np.alice, HOST)
    assert len(inc) == 1, inc
    assert inc[0]["address"] == INFECTED and inc[0]["verdict"] == "infected"
    assert inc[0]["closed"] is None and inc[0]["notified"] is True
    assert inc[0]["opened"] <= inc[0]["updated"] <= time.time() + 1
    assert inc[0]["evidence"]["fingerprint_hits"] == 6
    assert {p["port"] for p in inc[0]["evidence"]["ports"]} == {23, 2323}
    assert incidents(np, "carol", np.carol, "clean." + ZONE) == []
    bob = incidents(np, "bob", np.bob, "bob." + ZONE)
    assert len(bob) == 1 and bob[0]["verdict"] == "infected" and bob[0]["notified"] is False

    # The status API proves the account like /nic/update does.
    st, _ = status_api(np, "alice", "wrong-secret")
    assert st == 401
    st, _ = status_api(np, "alice", np.carol)
    assert st == 401
    st, _, _ = np.http("/api/v1/status")
    assert st == 401

    # nameplate status shows it after its own output, text and JSON.
    client = ClientConf(tmp_path / "client", np, HOST, "alice", np.alice)
    r = client.run("status")
    print(r.stdout)
    assert r.returncode == 0, r.stderr
    assert "%s: incident: %s infected since" % (HOST, INFECTED) in r.stdout, r.stdout
    r = client.run("status", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["hosts"][0]["incidents"][0]["address"] == INFECTED
    assert doc["incident_sources"][0]["ok"] is True


def test_closed_incident_then_new_flag_mails_again(owned, smtp):
    np = owned
    mirai(np, "c1", INFECTED)
    assert wait_for(lambda: len(smtp.to("alice@example.org")) == 1, 20, 0.2), smtp.all()

    # The host moves on, and (history rewritten) it held the address only before the last
    # 24 hours: the address is no longer its concern, so the incident closes.
    update(np, HOST, "alice", np.alice, "192.0.2.99")
    now = int(time.time())
    db(np, "UPDATE history SET time = ? WHERE fqdn = ? AND new = ?",
       (now - 2 * 86400, HOST, INFECTED), write=True)
    db(np, "UPDATE history SET time = ? WHERE fqdn = ? AND new = ?",
       (now - 25 * 3600, HOST, "192.0.2.99"), write=True)

    def closed():
        inc = incidents(np, "alice", np.alice, HOST)
        return inc if inc and inc[0]["closed"] is not None else None
    inc = wait_for(closed, 15, 0.2)
    assert inc, incidents(np, "alice", np.alice, HOST)
    assert len(inc) == 1  # closed within 7 days: still listed

    # The host takes the address again and it is seen again: a new incident, a new mail.
    update(np, HOST, "alice", np.alice, INFECTED)
    mirai(np, "c2", INFECTED)
    assert wait_for(lambda: len(smtp.to("alice@example.org")) == 2, 20, 0.2), smtp.all()
    inc = incidents(np, "alice", np.alice, HOST)
    assert len(inc) == 2, inc
    assert [i["closed"] is None for i in inc] == [True, False]
    time.sleep(3)
    assert len(smtp.to("alice@example.org")) == 2


def test_incidents_without_relay_are_recorded(np_factory):
    np = server(np_factory)
    np.ctl("user", "add", "alice")
    np.ctl("user", "email", "alice", "alice@example.org")
    secret = np.add_host(HOST, "alice")
    update(np, HOST, "alice", secret, INFECTED)
    mirai(np, "n1", INFECTED)
    inc = wait_for(lambda: incidents(np, "alice", secret, HOST), 15, 0.2)
    assert inc and inc[0]["verdict"] == "infected" and inc[0]["notified"] is False
    assert db(np, "SELECT count(*) FROM outbox")[0][0] == 0


def test_status_unreachable_never_fails(tmp_path, np_factory):
    np = np_factory()  # never started: its port refuses connections
    client = ClientConf(tmp_path / "client", np, HOST, "alice", "x" * 20)
    r = client.run("status")
    assert r.returncode == 0, r.stderr
    assert "server unreachable" in r.stdout, r.stdout
    r = client.run("status", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["incident_sources"][0]["ok"] is False
    assert "incidents" not in doc["hosts"][0]


# ---- nameplate check ----

def test_client_check_against_server(np_factory, tmp_path):
    np = server(np_factory)
    np.ctl("user", "add", "alice")
    secret = np.add_host(HOST, "alice")
    client = ClientConf(tmp_path / "client", np, HOST, "alice", secret)

    r = client.run("check")
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "not observed" in r.stdout and "127.0.0.1" in r.stdout, r.stdout

    mirai(np, "k1", "127.0.0.1")

    def infected():
        out = client.run("check", "--json")
        return out if out.returncode == 1 else None
    r = wait_for(infected, 10, 0.5)
    assert r, "check never said infected"
    doc = json.loads(r.stdout)
    assert doc["verdict"] == "infected" and doc["rule"] == "mirai_syn"
    assert doc["address"] == "127.0.0.1"

    r = client.run("check", HOST)
    print(r.stdout)
    assert r.returncode == 1, r.stderr
    out = r.stdout
    assert "verdict: infected" in out and "mirai_syn" in out
    assert "fingerprint SYNs:  6" in out and " 23 (5)" in out
    assert "carrier-grade NAT" in out and "UPnP" in out and "firmware" in out

    # Wrong secret: the auth status with a message; no such host and bad arguments: usage.
    bad = ClientConf(tmp_path / "bad", np, HOST, "alice", "wrong-secret-123456")
    r = bad.run("check")
    assert r.returncode == 4 and "refused the credentials" in r.stderr, (r.stdout, r.stderr)
    r = client.run("check", "nosuch." + ZONE)
    assert r.returncode == 2 and "no [host" in r.stderr
    r = client.run("check", "--bogus")
    assert r.returncode == 2


def test_client_check_unreachable(np_factory, tmp_path):
    np = np_factory()  # not running
    client = ClientConf(tmp_path / "client", np, HOST, "alice", "x" * 20)
    r = client.run("check")
    assert r.returncode == 3 and "cannot reach" in r.stderr, (r.stdout, r.stderr)
