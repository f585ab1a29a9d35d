# SPDX-License-Identifier: MIT
"""Sensor batches into nameplated: POST /api/v1/sensor/batch, the inbox, the checkpoint.

An acknowledged batch is in the store before the 200 (kill -9 right after loses nothing),
a retried batch counts once, bad tokens and bad batches change nothing."""
import http.client
import json
import os
import socket
import sqlite3
import time

import pytest

from conftest import wait_for
from sensorapi import add_sensor, batch, post, syn

SENSOR = "s1"


def db_rows(np, sql):
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(np.data_dir, "nameplate.db"),
                         uri=True, timeout=5)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def observed(np, addr):
    r = np.ctl("observe", "show", addr, "--json")
    return json.loads(r.stdout)


def server(np_factory, checkpoint):
    np = np_factory()
    np.write_config(extra="[observe]\ncheckpoint_interval = %d\n" % checkpoint)
    np.init()
    np.start()
    np.token = add_sensor(np)
    return np


@pytest.fixture
def srv(np_factory):
    return server(np_factory, 2)


def test_batch_accepted_and_counted_once(srv):
    body = batch("b-1", [syn("192.0.2.10", 23), syn("192.0.2.10", 2323, n=4)])
    st, text = post(srv, body, srv.token)
    assert st == 200, text
    assert json.loads(text) == {"accepted": 2, "duplicate": False}
    # The sensor's retry of the same batch is acknowledged, not counted again.
    st, text = post(srv, body, srv.token)
    assert st == 200 and json.loads(text)["duplicate"] is True, text
    v = wait_for(lambda: (lambda o: o if o["evidence"]["fingerprint_hits"] else None)(
        observed(srv, "192.0.2.10")), 10)
    assert v["verdict"] == "infected"
    assert v["evidence"]["fingerprint_hits"] == 5
    assert {p["port"] for p in v["evidence"]["ports"]} == {23, 2323}


def test_checkpoint_moves_inbox_to_observations(srv):
    st, text = post(srv, batch("b-2", [syn("192.0.2.20")]), srv.token)
    assert st == 200, text
    wait_for(lambda: db_rows(srv, "SELECT count(*) FROM observations")[0][0] == 1 and
             db_rows(srv, "SELECT count(*) FROM obs_inbox")[0][0] == 0, 15)
    srv.restart()
    v = observed(srv, "192.0.2.20")
    assert v["evidence"]["fingerprint_hits"] == 1 and v["verdict"] == "suspicious"


def test_kill9_after_ack_loses_nothing(np_factory):
    # A long checkpoint interval: what was acknowledged lives only in the inbox.
    np = server(np_factory, 3600)
    token = np.token
    for i in range(5):
        st, text = post(np, batch("k-%d" % i, [syn("198.51.100.%d" % (i + 1), n=3)]), token)
        assert st == 200, text
    np.kill9()
    np.start()
    for i in range(5):
        v = observed(np, "198.51.100.%d" % (i + 1))
        assert v["verdict"] == "infected" and v["evidence"]["fingerprint_hits"] == 3


@pytest.mark.parametrize("token", [None, "s1:wrong-secret", "nosuch:abc", "s1", "Basic x"])
def test_bad_token_is_refused_and_changes_nothing(srv, token):
    tok = token
    if token == "Basic x":
        st, text = post(srv, batch("t", [syn("192.0.2.30")]),
                        headers={"Authorization": "Basic eDp5"})
    else:
        st, text = post(srv, batch("t", [syn("192.0.2.30")]), tok)
    assert st == 401, text
    assert db_rows(srv, "SELECT count(*) FROM obs_inbox")[0][0] == 0
    assert db_rows(srv, "SELECT count(*) FROM sensor_batches")[0][0] == 0


@pytest.mark.parametrize("body,why", [
    ("", "no body"),
    ("{", "bad batch"),
    ('{"batch": "x", "events": [{"src": "300.1.1.1", "t": 1, "kind": "scan"}]}', "event 0"),
    ('{"batch": "x", "events": [{"src": "192.0.2.1", "t": 1, "kind": "nope"}]}', "event 0"),
    ('{"batch": "x y", "events": []}', "bad batch"),
    ('{"batch": "x", "events": [], "extra": 1}', "bad batch"),
])
def test_bad_batch_gets_400_with_reason(srv, body, why):
    st, text = post(srv, body, srv.token)
    assert st == 400 and why in text, text
    assert db_rows(srv, "SELECT count(*) FROM obs_inbox")[0][0] == 0


def test_future_times_are_refused(srv):
    st, text = post(srv, batch("f", [syn("192.0.2.40", t=time.time() + 3600)]), srv.token)
    assert st == 400 and "future" in text, text


def test_body_limits(srv):
    big = "x" * (5 << 20)
    # A Content-Length over the limit is refused before any of the body is read.
    c = http.client.HTTPConnection("127.0.0.1", srv.http_port, timeout=10)
    c.putrequest("POST", "/api/v1/sensor/batch")
    c.putheader("Authorization", "Bearer " + srv.token)
    c.putheader("Content-Length", str(len(big)))
    c.endheaders()
    r = c.getresponse()
    assert r.status == 413, r.read()
    c.close()
    # Without a Content-Length (chunked) the limit holds as the data comes.
    st, text = post(srv, big, srv.token, chunked=True)
    assert st == 413, text
    # A chunked batch of fine size is taken.
    st, text = post(srv, batch("c-1", [syn("192.0.2.50")]), srv.token, chunked=True)
    assert st == 200, text


def test_methods(srv):
    st, hdrs, _ = srv.http("/api/v1/sensor/batch")
    assert st == 405 and hdrs["allow"] == "POST"
    st, text = post(srv, "x=1", path="/nic/update")
    assert st == 405, text
    st, text = post(srv, "x=1", path="/checkip")
    assert st == 405, text


def test_sensor_del_revokes(srv):
    srv.ctl("sensor", "del", SENSOR)
    st, text = post(srv, batch("r", [syn("192.0.2.60")]), srv.token)
    assert st == 401, text


def _raw_post_head(np, token, length, first):
    """Sends the headers of a POST declaring length bytes and only `first` of them; returns
    the raw answer read within 5 s (b"" when the server said nothing)."""
    s = socket.create_connection(("127.0.0.1", np.http_port), timeout=5)
    try:
        s.sendall(("POST /api/v1/sensor/batch HTTP/1.1\r\nHost: x\r\n"
                   "Content-Type: application/json\r\nAuthorization: Bearer %s\r\n"
                   "Content-Length: %d\r\n\r\n" % (token, length)).encode() + first)
        got = b""
        deadline = time.monotonic() + 5
        while b"\r\n\r\n" not in got and time.monotonic() < deadline:
            try:
                part = s.recv(4096)
            except socket.timeout:
                break
            if not part:
                break
            got += part
        return got
    finally:
        s.close()


def _raw_post_whole(np, token, body):
    """POSTs all of body, whatever the server does meanwhile; returns what it answered
    (b"" when the connection was reset before anything could be read)."""
    s = socket.create_connection(("127.0.0.1", np.http_port), timeout=5)
    got = b""
    try:
        s.sendall(("POST /api/v1/sensor/batch HTTP/1.1\r\nHost: x\r\n"
                   "Content-Type: application/json\r\nAuthorization: Bearer %s\r\n"
                   "Content-Length: %d\r\n\r\n" % (token, len(body))).encode())
        for i in range(0, len(body), 65536):
            s.sendall(body[i:i + 65536])
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        while b"\r\n\r\n" not in got:
            part = s.recv(4096)
            if not part:
                break
            got += part
    except (ConnectionResetError, socket.timeout):
        pass
    finally:
        s.close()
    return got


@pytest.mark.parametrize("token", ["nobody:wrong", "s1:wrong-secret"])
def test_stranger_body_is_not_read(srv, token):
    """A wrong token is answered with the headers alone: a 1.6 MB body (20,000 events) is
    declared, only its first KB is sent, and the 401 comes at once."""
    big = batch("big", [syn("192.0.2.%d" % (i % 250 + 1), 23) for i in range(20000)])
    assert len(big) > 1_500_000
    t0 = time.monotonic()
    got = _raw_post_head(srv, token, len(big), big[:1024].encode())
    took = time.monotonic() - t0
    assert got.startswith(b"HTTP/1.1 401"), got[:200]
    assert took < 2, took
    assert b"bad sensor token" in got
    # A client that sends the whole body regardless: the server answers and closes without
    # reading it, so the client may see its send fail (a reset can even discard the answer
    # before it is read); whatever it sees is that 401, and nothing is stored.
    got = _raw_post_whole(srv, token, big.encode())
    assert got == b"" or got.startswith(b"HTTP/1.1 401"), got[:200]
    assert db_rows(srv, "SELECT count(*) FROM obs_inbox")[0][0] == 0


@pytest.mark.parametrize("body", ["{", '{"batch": "x y", "events": []}', "",
                                  batch("t", [syn("192.0.2.30", t=time.time() + 86400)])],
                         ids=["brace", "bad-batch", "empty", "future-event"])
def test_stranger_learns_nothing_about_the_body(srv, body):
    """Wrong token: a malformed body gets the very 401 a valid one gets (no parse, no 400)."""
    good = post(srv, batch("t", [syn("192.0.2.30")]), "nobody:wrong")
    bad = post(srv, body, "nobody:wrong")
    assert good[0] == 401 and bad == good, (good, bad)
    assert post(srv, body, "s1:wrong-secret") == good
    # The right token still gets the reason.
    st, text = post(srv, body, srv.token)
    assert st == 400 and "bad batch" in text, text


def test_valid_token_after_header_check_still_rechecked(srv):
    """A sensor deleted while its batch is under way commits nothing: the writer checks the
    token again (here: a slow upload, the sensor deleted between headers and body)."""
    body = batch("late", [syn("192.0.2.70")]).encode()
    s = socket.create_connection(("127.0.0.1", srv.http_port), timeout=10)
    try:
        s.sendall(("POST /api/v1/sensor/batch HTTP/1.1\r\nHost: x\r\n"
                   "Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n"
                   % (srv.token, len(body))).encode() + body[:10])
        time.sleep(0.5)
        srv.ctl("sensor", "del", SENSOR)
        s.sendall(body[10:])
        got = b""
        while b"\r\n\r\n" not in got:
            part = s.recv(4096)
            if not part:
                break
            got += part
    finally:
        s.close()
    assert got.startswith(b"HTTP/1.1 401"), got[:200]
    assert db_rows(srv, "SELECT count(*) FROM obs_inbox")[0][0] == 0
