# SPDX-License-Identifier: MIT
"""Input an attacker or a broken client sends, against the real nameplated: each case once
got a wrong answer, and each must be refused with a clear error that changes nothing.

- A Basic-auth password (or user) with a NUL byte and junk after the secret is badauth: the
  comparison covers the whole decoded credential.
- dyndns2: a hostname list with empty elements is notfqdn; an address with stray
  whitespace, an IPv4-mapped IPv6 address, an unspecified, multicast or broadcast address is
  badip; a loopback address is taken only from a client on the server's own machine.
- A method the server does not know gets 501, one it knows but a route does not take 405.
"""
import base64
import socket

import pytest

from conftest import ZONE

HOME = "home." + ZONE


def basic(user, password):
    return "Basic " + base64.b64encode(user + b":" + password).decode()


def raw_update(np, auth, path="/nic/update?hostname=%s&myip=198.51.100.9" % HOME):
    return np.http(path, headers={"Authorization": auth, "User-Agent": "t/1"})


def test_good_baseline(np):
    st, _, body = raw_update(np, basic(b"alice", np.secret.encode()))
    assert (st, body.split()) == (200, ["good", "198.51.100.9"])


@pytest.mark.parametrize("user,junk", [(b"alice", b"\x00junk"), (b"alice", b"\x00"),
                                       (HOME.encode(), b"\x00junk")])
def test_secret_then_nul_is_badauth(np, user, junk):
    st, _, body = raw_update(np, basic(user, np.secret.encode() + junk))
    assert body.split() == ["badauth"], (st, body)
    assert np.addrs(HOME) == set()


def test_user_with_nul_is_badauth(np):
    st, _, body = raw_update(np, basic(b"alice\x00junk", np.secret.encode()))
    assert body.split() == ["badauth"], (st, body)
    assert np.addrs(HOME) == set()


def raw(np, request, timeout=5):
    s = socket.create_connection(("127.0.0.1", np.http_port), timeout=timeout)
    try:
        s.sendall(request)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    finally:
        s.close()


@pytest.mark.parametrize("hostname", [",%s" % HOME, "%s," % HOME, ",,,%s,,," % HOME,
                                      "%s,,%s" % (HOME, HOME), ","])
def test_hostname_list_with_empty_elements_is_notfqdn(np, hostname):
    st, _, lines = np.update(hostname, "198.51.100.10", user="alice", secret=np.secret)
    assert lines == ["notfqdn"], (hostname, st, lines)
    assert np.addrs(HOME) == set()


def test_thousand_commas_is_notfqdn(np):
    st, _, lines = np.update("," * 500 + HOME + "," * 500, "198.51.100.10", user="alice",
                             secret=np.secret)
    assert lines == ["notfqdn"], (st, lines)
    assert np.addrs(HOME) == set()


@pytest.mark.parametrize("myip", ["198.51.100.11%20", "%20198.51.100.11", "198.51.100.11%09",
                                  "198.51.100.11,%202001:db8::1", "::ffff:198.51.100.11",
                                  "::ffff:c633:640b", "0.0.0.0", "::", "224.0.0.1",
                                  "255.255.255.255", "ff02::1"])
def test_addresses_no_router_means_are_badip(np, myip):
    st, _, lines = np.update(HOME, myip, user="alice", secret=np.secret)
    assert (st, lines[0].split(":")[0]) == (400, "badip"), (myip, st, lines)
    assert np.addrs(HOME) == set() and np.addrs(HOME, "AAAA") == set()


def test_loopback_only_from_the_servers_own_machine(np):
    # A client on the server's machine (ddclient with checkip on loopback) may publish it.
    st, _, lines = np.update(HOME, "127.0.0.1", user="alice", secret=np.secret)
    assert (st, lines) == (200, ["good 127.0.0.1"])
    # From anywhere else it is a mistake: a trusted proxy forwards a remote client.
    for myip in ("127.0.0.2", "::1"):
        st, _, lines = np.update(HOME, myip, user="alice", secret=np.secret,
                                 source="127.0.0.2", headers={"X-Forwarded-For": "198.51.100.99"})
        assert (st, lines[0].split(":")[0]) == (400, "badip"), (myip, st, lines)
    assert np.addrs(HOME) == {"127.0.0.1"}


@pytest.mark.parametrize("method", [b"FOO", b"PROPFIND", b"BREW"])
def test_unknown_method_is_501(np, method):
    out = raw(np, method + b" /nic/update HTTP/1.1\r\nHost: x\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 501 "), out


@pytest.mark.parametrize("method,path", [(b"PUT", b"/nic/update"), (b"DELETE", b"/checkip"),
                                         (b"POST", b"/nic/update")])
def test_known_method_on_a_route_that_does_not_take_it_is_405(np, method, path):
    out = raw(np, method + b" " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 405 "), out
    assert b"\r\nAllow: " in out, out
