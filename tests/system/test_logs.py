# SPDX-License-Identifier: MIT
# Logs: one line per event, and the events an operator watches (start and stop, updates,
# failed authentication, abuse decisions, rate limiting) carry key=value fields. With
# log_format = kv every line is key=value from end to end; a value with a blank, a quote or a
# control character is quoted and escaped, so a user name sent by a stranger can neither
# add a field nor start a line. Each line is parsed here as a log tool would.

import re
import signal
import socket

import dns.message

from conftest import ZONE, wait_for

HOST = "home." + ZONE
# What an attacker would send to forge a field and a whole line.
# (no ':' in it: a Basic-auth user name ends at the first one)
EVIL = 'bob" x=1\nts=2000-01-01T00.00.00.000Z level=error event=forged'

# logfmt: key=value pairs separated by one space; a value plain or in double quotes with
# backslash escapes.
PAIR = re.compile(r'([a-z_]+)=("(?:[^"\\]|\\.)*"|[A-Za-z0-9\-._:/@+,%]*)(?: |$)')


def unescape(v):
    if not v.startswith('"'):
        return v
    out, i, body = [], 0, v[1:-1]
    simple = {'"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t"}
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
        elif body[i + 1] == "x":
            out.append(chr(int(body[i + 2:i + 4], 16)))
            i += 4
        else:
            out.append(simple[body[i + 1]])
            i += 2
    return "".join(out)


def parse_kv(line):
    """The fields of a key=value line, in order; fails unless the whole line parses."""
    fields, pos = [], 0
    while pos < len(line):
        m = PAIR.match(line, pos)
        assert m, "not key=value at %d: %r" % (pos, line)
        fields.append((m.group(1), unescape(m.group(2))))
        pos = m.end()
    return fields


def events(text, name):
    out = []
    for line in text.splitlines():
        f = parse_kv(line)
        if dict(f).get("event") == name:
            out.append(dict(f))
    return out


def start(np_factory, fmt):
    n = np_factory()
    n.write_config(server={"log_format": fmt}, dns={"rrl_rate": 5, "rrl_slip": 2})
    n.init()
    n.add_user("alice")
    n.secret = n.add_host(HOST, "alice")
    n.start()
    return n


def test_kv_lines_parse_and_carry_the_events(np_factory):
    n = start(np_factory, "kv")
    assert n.update(HOST, "192.0.2.44", user="alice", secret=n.secret)[2] == ["good 192.0.2.44"]
    assert n.update(HOST, "192.0.2.44", user=EVIL, secret="wrong")[2] == ["badauth"]
    # Rate limiting: far more than 5 answers a second to one name for one network.
    wire = dns.message.make_query(HOST, "A").to_wire()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _ in range(40):
            s.sendto(wire, ("127.0.0.1", n.dns_port))
    assert n.stop() == 0
    log = n.logs[-1]
    lines = log.splitlines()
    # Every line parses whole and starts with the time and the level.
    for line in lines:
        f = parse_kv(line)
        assert [k for k, _ in f[:2]] == ["ts", "level"], line
        assert "x" not in dict(f) and dict(f).get("event") != "forged", line

    assert len(events(log, "start")) == 1 and events(log, "start")[0]["level"] == "info"
    assert len(events(log, "stop")) == 1
    up = events(log, "update")
    assert len(up) == 1, log
    assert (up[0]["interface"], up[0]["host"], up[0]["ip"], up[0]["result"],
            up[0]["source"], up[0]["user"]) == ("dyndns2", HOST, "192.0.2.44", "good",
                                                "127.0.0.1", "alice")
    fail = events(log, "auth_failure")
    assert len(fail) == 1, log
    # The attacker's text is one value, exactly as sent.
    assert fail[0]["user"] == EVIL and fail[0]["source"] == "127.0.0.1", fail
    assert fail[0]["interface"] == "dyndns2" and fail[0]["level"] == "info"
    rrl = events(log, "rrl")
    assert len(rrl) == 1, log   # one line, not one per limited answer
    assert (rrl[0]["action"], rrl[0]["network"], rrl[0]["kind"], rrl[0]["rate"]) == \
        ("limit", "127.0.0.0/24", "answer", "5"), rrl
    assert n.secret not in log


def test_text_lines_keep_events_as_fields_on_one_line(np_factory):
    n = start(np_factory, "text")
    assert n.update(HOST, "192.0.2.45", user=EVIL, secret="wrong")[2] == ["badauth"]
    assert n.stop() == 0
    log = n.logs[-1]
    # TIME LEVEL: EVENT: FIELDS; the attacker's new line did not start one.
    fails = [ln for ln in log.splitlines() if " auth_failure: " in ln]
    assert len(fails) == 1, log
    m = re.fullmatch(r"\S+Z info: auth_failure: (.*)", fails[0])
    assert m, fails[0]
    assert dict(parse_kv(m.group(1)))["user"] == EVIL
    assert not any(ln.startswith("ts=2000") for ln in log.splitlines()), log
    assert re.search(r"^\S+Z info: start: zones=1 ", log, re.M), log
    assert re.search(r"^\S+Z info: stop: signal=15$", log, re.M), log


def test_log_format_changes_on_sighup_and_is_checked(np_factory):
    n = start(np_factory, "text")
    n.write_config(server={"log_format": "kv"}, dns={"rrl_rate": 5, "rrl_slip": 2})
    n.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "event=reload " in n.stderr(), 5), n.stderr()
    assert n.update(HOST, "192.0.2.46", user="alice", secret=n.secret)[2] == ["good 192.0.2.46"]
    assert wait_for(lambda: "event=update " in n.stderr(), 5), n.stderr()
    # From the reload's own line on, every line is key=value.
    up = events("ts=" + n.stderr().split("\nts=", 1)[1], "update")
    assert up and up[0]["ip"] == "192.0.2.46", n.stderr()
    assert n.stop() == 0
    # A value that is neither is refused with the file and line.
    n.write_config(server={"log_format": "json"})
    n.start(wait=False)
    assert n.proc.wait(10) != 0
    assert re.search(re.escape(n.conf) + r":\d+: bad value for 'log_format': must be text or kv",
                     n.stderr()), n.stderr()


def test_library_messages_are_bounded(np_factory):
    # Each malformed request makes libmicrohttpd write two messages: a stranger must not be
    # able to fill the log with them.
    n = start(np_factory, "kv")
    for _ in range(40):
        with socket.create_connection(("127.0.0.1", n.http_port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n")
            while s.recv(65536):
                pass
    assert n.stop() == 0
    lib = events(n.logs[-1], "http_library")
    assert len(lib) == 30, n.logs[-1]
    assert "Content-Length" in lib[0]["msg"], lib[0]


def test_bad_sensor_tokens_are_logged_at_a_bounded_rate(np_factory):
    n = start(np_factory, "kv")
    for i in range(40):
        with socket.create_connection(("127.0.0.1", n.http_port), timeout=5) as s:
            s.sendall(b"POST /api/v1/sensor/batch HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: application/json\r\n"
                      b"Authorization: Bearer ghost\"x=1:secret-%d\r\n"
                      b"Content-Length: 2\r\n\r\n{}" % i)
            assert s.recv(4096).startswith(b"HTTP/1.1 401 ")
    assert n.stop() == 0
    fails = [e for e in events(n.logs[-1], "auth_failure") if e["interface"] == "ingest"]
    assert len(fails) == 30, n.logs[-1]
    assert fails[0]["source"] == "127.0.0.1" and fails[0]["sensor"] == 'ghost"x=1', fails[0]
