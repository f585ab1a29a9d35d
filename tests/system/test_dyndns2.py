# SPDX-License-Identifier: MIT
# dyndns2 updates over real HTTP: every return code, every myip form, X-Forwarded-For from
# trusted proxies only, per-host secrets, multi-host lines and the checkip pages. Each
# acknowledged update must be visible in DNS at once (the writer publishes before it acks).

import concurrent.futures
import threading

import dns.rcode
import pytest

from conftest import ZONE, wait_for

HOME = "home." + ZONE


def good(np, ip, host=HOME, **kw):
    st, hdrs, lines = np.update(host, ip, user=kw.pop("user", "alice"),
                                secret=kw.pop("secret", np.secret), **kw)
    assert st == 200, (st, lines)
    return hdrs, lines


def test_good_then_nochg(np):
    hdrs, lines = good(np, "198.51.100.1")
    assert lines == ["good 198.51.100.1"]
    assert hdrs["content-type"].startswith("text/plain")
    # acknowledged means published: no waiting
    assert np.addrs(HOME) == {"198.51.100.1"}
    _, lines = good(np, "198.51.100.1")
    assert lines == ["nochg 198.51.100.1"]
    _, lines = good(np, "198.51.100.3")
    assert lines == ["good 198.51.100.3"]
    assert np.addrs(HOME) == {"198.51.100.3"}


def test_good_v6(np):
    _, lines = good(np, "2001:db8::10")
    assert lines == ["good 2001:db8::10"]
    assert np.addrs(HOME, "AAAA") == {"2001:db8::10"}
    r = np.query(HOME, "AAAA")
    assert r.answer[0].ttl == 60


def test_good_v6_normalised(np):
    _, lines = good(np, "2001:DB8:0:0::11")
    assert lines[0].startswith("good ")
    assert np.addrs(HOME, "AAAA") == {"2001:db8::11"}


def test_dual_stack_myip(np):
    _, lines = good(np, "198.51.100.2,2001:db8::2")
    assert lines == ["good 198.51.100.2,2001:db8::2"]
    assert np.addrs(HOME) == {"198.51.100.2"}
    assert np.addrs(HOME, "AAAA") == {"2001:db8::2"}
    _, lines = good(np, "198.51.100.2,2001:db8::2")
    assert lines == ["nochg 198.51.100.2,2001:db8::2"]


def test_myipv4_myipv6(np):
    st, _, lines = np.update(HOME, user="alice", secret=np.secret,
                             params={"myipv4": "198.51.100.4", "myipv6": "2001:db8::4"})
    assert st == 200
    assert len(lines) == 1 and lines[0].startswith("good ")
    assert "198.51.100.4" in lines[0] and "2001:db8::4" in lines[0]
    assert np.addrs(HOME) == {"198.51.100.4"}
    assert np.addrs(HOME, "AAAA") == {"2001:db8::4"}


def test_myipv6_only(np):
    st, _, lines = np.update(HOME, user="alice", secret=np.secret,
                             params={"myipv6": "2001:db8::6"})
    assert (st, lines) == (200, ["good 2001:db8::6"])
    assert np.addrs(HOME, "AAAA") == {"2001:db8::6"}


@pytest.mark.parametrize("myip", [None, ""])
def test_myip_absent_uses_source(np, myip):
    st, _, lines = np.update(HOME, myip, user="alice", secret=np.secret)
    assert (st, lines) == (200, ["good 127.0.0.1"])
    assert np.addrs(HOME) == {"127.0.0.1"}


def test_username_may_be_fqdn(np):
    st, _, lines = np.update(HOME, "198.51.100.5", user=HOME, secret=np.secret)
    assert (st, lines) == (200, ["good 198.51.100.5"])
    assert np.addrs(HOME) == {"198.51.100.5"}


def test_badauth_wrong_secret(np):
    good(np, "198.51.100.6")
    st, _, lines = np.update(HOME, "198.51.100.66", user="alice", secret=np.secret + "x")
    assert (st, lines) == (200, ["badauth"])
    st, _, lines = np.update(HOME, "198.51.100.66", user="bob", secret=np.secret)
    assert (st, lines) == (200, ["badauth"])
    st, _, lines = np.update(HOME, "198.51.100.66", user="alice", secret="")
    assert (st, lines) == (200, ["badauth"])
    assert np.addrs(HOME) == {"198.51.100.6"}


def test_other_users_secret_is_badauth(np):
    np.add_user("bob")
    bob_secret = np.add_host("bob." + ZONE, "bob")
    good(np, "198.51.100.7")
    # Bob's secret proves Bob's account, so for alice's host he hears "nohost" (not in
    # this account); as alice or as the host itself that secret proves nothing.
    expected = {"alice": ["badauth"], "bob": ["nohost"], HOME: ["badauth"]}
    for user, want in expected.items():
        st, _, lines = np.update(HOME, "198.51.100.77", user=user, secret=bob_secret)
        assert (st, lines) == (200, want), user
    assert np.addrs(HOME) == {"198.51.100.7"}


def test_no_authorization_is_401(np):
    st, hdrs, lines = np.update(HOME, "198.51.100.8", auth=False)
    assert st == 401
    assert hdrs.get("www-authenticate", "").lower().startswith("basic")
    assert np.query(HOME, "A").answer == []


def test_notfqdn(np):
    st, _, lines = np.update(None, "198.51.100.9", user="alice", secret=np.secret)
    assert (st, lines) == (200, ["notfqdn"])
    st, _, lines = np.update("home", "198.51.100.9", user="alice", secret=np.secret)
    assert (st, lines) == (200, ["notfqdn"])
    st, _, lines = np.update("", "198.51.100.9", user="alice", secret=np.secret)
    assert (st, lines) == (200, ["notfqdn"])


def test_nohost(np):
    st, _, lines = np.update("nothere." + ZONE, "198.51.100.10", user="alice",
                             secret=np.secret)
    assert (st, lines) == (200, ["nohost"])
    assert np.query("nothere." + ZONE, "A").rcode() == dns.rcode.NXDOMAIN


def test_numhost(np):
    names = [HOME] + ["h%d.%s" % (i, ZONE) for i in range(20)]
    st, _, lines = np.update(",".join(names), "198.51.100.11", user="alice", secret=np.secret)
    assert (st, lines) == (200, ["numhost"])
    assert np.query(HOME, "A").answer == [], "numhost must change nothing"


def test_twenty_hosts_is_not_numhost(np):
    names = [HOME] + ["h%d.%s" % (i, ZONE) for i in range(19)]
    st, _, lines = np.update(",".join(names), "198.51.100.12", user="alice", secret=np.secret)
    assert st == 200 and len(lines) == 20
    assert lines[0] == "good 198.51.100.12"
    assert "numhost" not in lines


def test_abuse_blocked_host(np):
    good(np, "198.51.100.13")
    np.ctl("host", "block", HOME)

    def blocked():
        return np.update(HOME, "198.51.100.14", user="alice", secret=np.secret)[2] == ["abuse"]
    assert wait_for(blocked, 1.5), "blocked host not answered 'abuse' within 1 s"
    assert np.addrs(HOME) == {"198.51.100.13"}
    np.ctl("host", "unblock", HOME)

    def unblocked():
        return np.update(HOME, "198.51.100.15", user="alice",
                         secret=np.secret)[2] == ["good 198.51.100.15"]
    assert wait_for(unblocked, 1.5), "unblocked host still refused after 1 s"
    assert np.addrs(HOME) == {"198.51.100.15"}


def test_badagent(np):
    st, _, lines = np.update(HOME, "198.51.100.16", user="alice", secret=np.secret, ua=None)
    assert (st, lines) == (200, ["badagent"])
    st, _, lines = np.update(HOME, "198.51.100.16", user="alice", secret=np.secret, ua="")
    assert (st, lines) == (200, ["badagent"])
    assert np.query(HOME, "A").answer == []


@pytest.mark.parametrize("myip", ["999.1.1.1", "abc", "198.51.100", "1.2.3.4.5",
                                  "2001:db8::zz", "198.51.100.1,198.51.100.2,2001:db8::1"])
def test_bad_myip_changes_nothing(np, myip):
    good(np, "198.51.100.17")
    st, _, lines = np.update(HOME, myip, user="alice", secret=np.secret)
    assert not any(ln.startswith(("good", "nochg")) for ln in lines), (myip, lines)
    assert np.addrs(HOME) == {"198.51.100.17"}
    assert np.addrs(HOME, "AAAA") == set()


def test_xff_from_trusted_proxy(np):
    st, _, lines = np.update(HOME, user="alice", secret=np.secret, source="127.0.0.2",
                             headers={"X-Forwarded-For": "198.51.100.50"})
    assert (st, lines) == (200, ["good 198.51.100.50"])
    assert np.addrs(HOME) == {"198.51.100.50"}


def test_xff_from_untrusted_peer_ignored(np):
    st, _, lines = np.update(HOME, user="alice", secret=np.secret, source="127.0.0.1",
                             headers={"X-Forwarded-For": "198.51.100.51"})
    assert (st, lines) == (200, ["good 127.0.0.1"])
    assert np.addrs(HOME) == {"127.0.0.1"}
    st, _, lines = np.update(HOME, user="alice", secret=np.secret, source="127.0.0.3",
                             headers={"X-Forwarded-For": "198.51.100.52"})
    assert (st, lines) == (200, ["good 127.0.0.3"])


def test_xff_chain_uses_address_the_proxy_saw(np):
    # a client can prepend anything; the trusted proxy appends the peer it saw
    st, _, lines = np.update(HOME, user="alice", secret=np.secret, source="127.0.0.2",
                             headers={"X-Forwarded-For": "203.0.113.66, 198.51.100.53"})
    assert (st, lines) == (200, ["good 198.51.100.53"])


def test_explicit_myip_wins_over_xff(np):
    st, _, lines = np.update(HOME, "198.51.100.54", user="alice", secret=np.secret,
                             source="127.0.0.2",
                             headers={"X-Forwarded-For": "198.51.100.55"})
    assert (st, lines) == (200, ["good 198.51.100.54"])


def test_multi_host_lines_in_order(np):
    second_secret = np.add_host("second." + ZONE, "alice")
    st, _, lines = np.update("second." + ZONE, "198.51.100.60", user="alice",
                             secret=second_secret)
    assert lines == ["good 198.51.100.60"]
    hosts = ",".join([HOME, "second." + ZONE, "nothere." + ZONE])
    st, _, lines = np.update(hosts, "198.51.100.61", user="alice", secret=np.secret)
    assert st == 200
    assert lines == ["good 198.51.100.61", "badauth", "nohost"]
    assert np.addrs(HOME) == {"198.51.100.61"}
    assert np.addrs("second." + ZONE) == {"198.51.100.60"}, \
        "home's secret must not change second"


def test_multi_host_all_good(np):
    # the same host twice is two lines: good then nochg
    st, _, lines = np.update(HOME + "," + HOME, "198.51.100.62", user="alice",
                             secret=np.secret)
    assert st == 200 and len(lines) == 2
    assert lines[0] == "good 198.51.100.62"
    assert lines[1] in ("good 198.51.100.62", "nochg 198.51.100.62")


def test_hostname_case_insensitive_trailing_dot(np):
    st, _, lines = np.update("HoMe.DYN.example", "198.51.100.63", user="alice",
                             secret=np.secret)
    assert (st, lines) == (200, ["good 198.51.100.63"])
    assert np.addrs(HOME) == {"198.51.100.63"}


def test_ignores_unknown_parameters(np):
    # ddclient sends system=dyndns; others send offline, backmx, mx=NOCHG
    st, _, lines = np.update(HOME, "198.51.100.64", user="alice", secret=np.secret,
                             params={"system": "dyndns", "backmx": "NO", "mx": "NOCHG",
                                     "foo": "bar"})
    assert (st, lines) == (200, ["good 198.51.100.64"])


def test_nic_checkip(np):
    st, hdrs, body = np.http("/nic/checkip", headers={"User-Agent": "t"})
    assert st == 200
    assert hdrs["content-type"].startswith("text/html")
    assert "Current IP Address: 127.0.0.1" in body
    st, hdrs, body = np.http("/nic/checkip", headers={"User-Agent": "t"}, source="127.0.0.3")
    assert "Current IP Address: 127.0.0.3" in body


def test_checkip_plain(np):
    st, hdrs, body = np.http("/checkip", headers={"User-Agent": "t"})
    assert st == 200
    assert hdrs["content-type"].startswith("text/plain")
    assert body.strip() == "127.0.0.1"


def test_checkip_via_trusted_proxy(np):
    st, _, body = np.http("/checkip", headers={"X-Forwarded-For": "198.51.100.70"},
                          source="127.0.0.2")
    assert (st, body.strip()) == (200, "198.51.100.70")
    st, _, body = np.http("/checkip", headers={"X-Forwarded-For": "198.51.100.70"},
                          source="127.0.0.1")
    assert (st, body.strip()) == (200, "127.0.0.1")


def test_unknown_path_404(np):
    st, _, _ = np.http("/nope", headers={"User-Agent": "t"})
    assert st == 404


def test_secret_not_logged(np):
    good(np, "198.51.100.71")
    np.update(HOME, "198.51.100.72", user="alice", secret=np.secret + "wrong")
    np.stop()
    log = np.logs[-1]
    assert np.secret not in log
    assert (np.secret + "wrong") not in log


def test_concurrent_updates_all_committed(np):
    # many clients at once: the writer batches them; every one is acknowledged and served
    secrets = {}
    for i in range(16):
        secrets["p%d.%s" % (i, ZONE)] = np.add_host("p%d.%s" % (i, ZONE), "alice")

    def upd(item):
        h, s = item
        ip = "198.18.1.%d" % (int(h.split(".")[0][1:]) + 1)
        return h, ip, np.update(h, ip, user="alice", secret=s)

    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        results = list(ex.map(upd, secrets.items()))
    for h, ip, (st, _, lines) in results:
        assert (st, lines) == (200, ["good " + ip]), h
        assert np.addrs(h) == {ip}


def test_queries_never_fail_during_updates(np):
    stop = threading.Event()
    errors = []

    def updater():
        i = 0
        while not stop.is_set() and i < 200:
            ip = "198.18.2.%d" % (i % 250 + 1)
            try:
                st, _, lines = np.update(HOME, ip, user="alice", secret=np.secret)
                if st != 200 or lines not in (["good " + ip], ["nochg " + ip]):
                    errors.append((ip, st, lines))
            except OSError as e:
                errors.append((ip, e))
            i += 1

    assert np.update(HOME, "198.18.2.250", user="alice", secret=np.secret)[2] == \
        ["good 198.18.2.250"]
    t = threading.Thread(target=updater)
    t.start()
    try:
        for _ in range(300):
            r = np.query(HOME, "A", timeout=1)
            assert r.rcode() == dns.rcode.NOERROR
            assert len(r.answer) == 1 and len(r.answer[0]) == 1, r
            assert r.answer[0][0].address.startswith("198.18.2.")
    finally:
        stop.set()
        t.join(60)
    assert not errors, errors[:5]
