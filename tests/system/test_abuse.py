# SPDX-License-Identifier: MIT
# Outbound abuse protection through the real nameplated, nameplatectl and nameplate client
# over loopback (docs/abuse.md): the update budgets (dyndns2 and the REST API, 429 with
# Retry-After, nothing changed), and the client that waits as long as the server asks.

import json
import os
import sqlite3
import subprocess
import time

import dns.rcode
import pytest

from conftest import BUILD, ZONE, check_sanitizers, wait_for

NAMEPLATE = os.path.join(BUILD, "nameplate")

HOME = "home.%s" % ZONE
UA = "nameplate-tests/1.0 abuse"
# The budgets off, for tests of other things.
NO_LIMITS = {"host_per_window": 0, "host_per_day": 0, "token_per_window": 0,
             "token_per_day": 0, "source_per_window": 0, "source_per_day": 0}


def start(np_factory, abuse=None, extra=None):
    """A running server with alice and HOME (n.secret); abuse={} = the [abuse] defaults."""
    n = np_factory()
    n.write_config(abuse={} if abuse is None else abuse, extra=extra)
    n.init()
    n.add_user("alice")
    n.secret = n.add_host(HOME, "alice")
    n.start()
    return n


def api(n, method, path, body=None, token=None):
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = "Token " + token
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", n.http_port, timeout=10)
    try:
        c.request(method, "/api/v1" + path, body=json.dumps(body) if body is not None else None,
                  headers=h)
        r = c.getresponse()
        raw = r.read().decode()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, (json.loads(raw) if raw else None)
    finally:
        c.close()


# ---- budgets ----------------------------------------------------------------------------


def test_third_dyndns2_update_in_two_minutes_is_refused(np_factory):
    n = start(np_factory)
    assert n.update(HOME, "192.0.2.1", user="alice", secret=n.secret)[2] == ["good 192.0.2.1"]
    assert n.update(HOME, "192.0.2.2", user="alice", secret=n.secret)[2] == ["good 192.0.2.2"]
    serial = n.serial()
    status, hdrs, body = n.update(HOME, "192.0.2.3", user="alice", secret=n.secret)
    assert status == 429 and body == ["911"]
    wait = int(hdrs["retry-after"])
    assert 100 <= wait <= 126, wait
    # Nothing changed: DNS still serves the second address, the serial did not move.
    assert n.addrs(HOME) == {"192.0.2.2"}
    assert n.serial() == serial


def test_nochg_repeats_are_counted(np_factory):
    n = start(np_factory)
    for _ in range(2):
        assert n.update(HOME, "192.0.2.1", user="alice", secret=n.secret)[2][0].split()[0] in (
            "good", "nochg")
    status, hdrs, body = n.update(HOME, "192.0.2.1", user="alice", secret=n.secret)
    assert status == 429 and body == ["911"] and "retry-after" in hdrs
    # Only the budget answers: no abuse state for repeating nochg.
    r = n.ctl("abuse", "list", "--json", check=False)
    if r.returncode == 0:
        assert all(h["state"] == "ok" for h in json.loads(r.stdout) if h["name"] == HOME)


def test_budget_per_source_and_token(np_factory):
    # Hosts each within their own budget; the token's budget of 3 per window is shared.
    n = start(np_factory, abuse={"token_per_window": 3})
    n.add_host("b.%s" % ZONE, "alice")
    tok = n.ctl("token", "add", "alice", check=False)
    names = [HOME, "b.%s" % ZONE]
    got = []
    for i in range(4):
        got.append(n.update(names[i % 2], "192.0.2.%d" % (10 + i), user="alice",
                            secret=n.secret)[0])
    # HOME's secret is a token of its own host; b is not its name: nohost, still counted.
    assert got[:3] == [200, 200, 200] and got[3] == 429, (got, tok.stdout)


def test_rest_api_budget(np_factory):
    n = start(np_factory)
    path = "/hosts/%s/records/A" % HOME
    for ip in ("192.0.2.21", "192.0.2.22"):
        s, _, j = api(n, "PUT", path, {"records": [ip]}, token=n.secret)
        assert s == 200, j
    s, h, j = api(n, "PUT", path, {"records": ["192.0.2.23"]}, token=n.secret)
    assert s == 429 and j["error"]["code"] == "rate_limited", j
    assert 1 <= int(h["retry-after"]) <= 126
    assert n.addrs(HOME) == {"192.0.2.22"}


def test_patch_offline_is_budgeted_like_an_update(np_factory):
    n = start(np_factory)
    path = "/hosts/%s/records/A" % HOME
    for ip in ("192.0.2.31", "192.0.2.32"):
        assert api(n, "PUT", path, {"records": [ip]}, token=n.secret)[0] == 200
    serial = n.serial()
    # Going offline withdraws the addresses: the third change in the window is refused.
    s, h, j = api(n, "PATCH", "/hosts/%s" % HOME, {"offline": True}, token=n.secret)
    assert s == 429 and j["error"]["code"] == "rate_limited", j
    assert 1 <= int(h["retry-after"]) <= 126
    assert n.addrs(HOME) == {"192.0.2.32"} and n.serial() == serial
    s, _, j = api(n, "GET", "/hosts/%s" % HOME, token=n.secret)
    assert j["offline"] is False, j
    # The wildcard alone changes no address: not budgeted.
    s, _, j = api(n, "PATCH", "/hosts/%s" % HOME, {"wildcard": True}, token=n.secret)
    assert s == 200 and j["wildcard"] is True, j


def test_prefix_move_is_budgeted_for_every_host_it_moves(np_factory):
    n = start(np_factory)
    nas = "nas.%s" % ZONE
    n.add_host(nas, "alice")
    n.ctl("host", "set", HOME, "AAAA", "2001:db8:1::10")
    n.ctl("host", "set", nas, "AAAA", "2001:db8:1:5::20")
    token = n.last_line(n.ctl("token", "add", "alice").stdout)
    # nas's two updates of the window: by the REST API, then by a prefix move of both.
    s, _, j = api(n, "PUT", "/hosts/%s/records/AAAA" % nas, {"records": ["2001:db8:1:5::21"]},
                  token=token)
    assert s == 200, j
    s, _, j = api(n, "POST", "/hosts/prefix", {"prefix": "2001:db8:2::/48"}, token=token)
    assert s == 200 and len(j["changed"]) == 2, j
    serial = n.serial()
    # The next move would change nas a third time: 429, and neither host moves.
    s, h, j = api(n, "POST", "/hosts/prefix", {"prefix": "2001:db8:3::/48"}, token=token)
    assert s == 429 and j["error"]["code"] == "rate_limited", j
    assert 1 <= int(h["retry-after"]) <= 126
    assert n.addrs(HOME, "AAAA") == {"2001:db8:2::10"}
    assert n.addrs(nas, "AAAA") == {"2001:db8:2:5::21"}
    assert n.serial() == serial
    # dyndns2's myipv6prefix the same: HOME named (within its budget), nas moved with it
    # over its own: 429 with Retry-After, body 911, and HOME's address does not change either.
    st, hdrs, body = n.update(HOME, "192.0.2.5", user="alice", secret=token,
                              params={"myipv6prefix": "2001:db8:4::/48"})
    assert st == 429 and body == ["911"] and 1 <= int(hdrs["retry-after"]) <= 126, (st, body)
    assert n.addrs(HOME) == set() and n.addrs(HOME, "AAAA") == {"2001:db8:2::10"}
    assert n.addrs(nas, "AAAA") == {"2001:db8:2:5::21"} and n.serial() == serial


# ---- the client -------------------------------------------------------------------------


class Client:
    def __init__(self, tmp, n, addr):
        self.dir = str(tmp)
        self.conf = os.path.join(self.dir, "client.conf")
        self.secret_file = os.path.join(self.dir, "home.secret")
        fd = os.open(self.secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(n.secret + "\n")
        self.n = n
        self.set_addr(addr)

    def set_addr(self, addr):
        lines = ["[client]", "state_dir = %s" % os.path.join(self.dir, "state"),
                 "retry_base = 1", "retry_max = 600", "timeout = 5", "",
                 "[host %s]" % HOME, "server = http://127.0.0.1:%d/nic/update" % self.n.http_port,
                 "user = alice", "secret_file = %s" % self.secret_file,
                 "ipv4 = static:%s" % addr]
        fd = os.open(self.conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")

    def run(self, *args):
        r = subprocess.run([NAMEPLATE, "-c", self.conf] + list(args), capture_output=True,
                           text=True, timeout=30, stdin=subprocess.DEVNULL)
        check_sanitizers(r.stderr, "nameplate")
        return r

    def status(self):
        r = self.run("status", "--json")
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)["hosts"][0]


def test_client_waits_as_long_as_the_server_asks(np_factory, tmp_path):
    # A short window so the test can wait it out: 2 updates per 8 s.
    n = start(np_factory, abuse={"window": 8})
    c = Client(tmp_path, n, "192.0.2.31")
    assert c.run("update", "--once").returncode == 0
    c.set_addr("192.0.2.32")
    assert c.run("update", "--once").returncode == 0
    c.set_addr("192.0.2.33")
    r = c.run("update", "--once")
    assert r.returncode == 1
    st = c.status()
    assert st["last_code"] == "http 429", st
    first = st["last_attempt"]
    assert st["next_attempt"] >= first + 7, st
    # Neither a plain run nor --force asks again before the time the server gave (a
    # second later, so that a request would show in last_attempt).
    time.sleep(1.1)
    assert c.run("update", "--once").returncode == 1
    r = c.run("update", "--once", "--force")
    assert r.returncode == 1 and "429" in r.stderr, r.stderr
    assert c.status()["last_attempt"] == first
    assert n.addrs(HOME) == {"192.0.2.32"}
    # After it, the update goes through.
    time.sleep(max(0, st["next_attempt"] - time.time()) + 0.5)
    r = c.run("update", "--once")
    assert r.returncode == 0, r.stderr
    assert wait_for(lambda: n.addrs(HOME) == {"192.0.2.33"}, 2)


# ---- abuse states -----------------------------------------------------------------------


def rcode(n, name, rdtype="A"):
    return n.query(name, rdtype).rcode()


def abuse_list(n):
    r = n.ctl("abuse", "list", "--json")
    return {h["name"]: h for h in json.loads(r.stdout)}


def test_hold_refuses_changes_and_serves_the_last_address(np_factory):
    n = start(np_factory, abuse=NO_LIMITS)
    assert n.update(HOME, "192.0.2.41", user="alice", secret=n.secret)[2] == ["good 192.0.2.41"]
    r = n.ctl("abuse", "hold", HOME, "--reason", "reported: phishing kit")
    assert "now hold" in r.stdout
    listed = abuse_list(n)[HOME]
    assert listed["state"] == "hold" and listed["reasons"] == "reported: phishing kit"
    assert set(listed) >= {"name", "state", "score", "reasons"}
    # The owner's update is refused with the dyndns2 code for it; DNS keeps the address.
    assert n.update(HOME, "192.0.2.42", user="alice", secret=n.secret)[2] == ["abuse"]
    s, _, j = api(n, "PUT", "/hosts/%s/records/A" % HOME, {"records": ["192.0.2.43"]},
                  token=n.secret)
    assert s == 403 and j["error"]["code"] == "blocked", j
    assert n.addrs(HOME) == {"192.0.2.41"}
    # Restored: updates go through again.
    n.ctl("abuse", "restore", HOME, "--reason", "owner cleaned the site")
    assert n.update(HOME, "192.0.2.44", user="alice", secret=n.secret)[2] == ["good 192.0.2.44"]
    assert HOME not in abuse_list(n)
    log = json.loads(n.ctl("abuse", "log", HOME, "--json").stdout)
    assert [(e["from"], e["to"], e["reason"]) for e in log] == [
        ("hold", "ok", "owner cleaned the site"), ("ok", "hold", "reported: phishing kit")]
    assert all(e["actor"].startswith("ctl:") and e["time"] > 0 for e in log)


def test_quarantine_is_nxdomain_within_a_second_and_survives_restart(np_factory):
    n = start(np_factory, abuse=NO_LIMITS)
    n.update(HOME, "192.0.2.51", user="alice", secret=n.secret)
    assert n.addrs(HOME) == {"192.0.2.51"}
    t0 = time.time()
    n.ctl("abuse", "quarantine", HOME, "--reason", "C2 server (ThreatFox)")
    assert wait_for(lambda: rcode(n, HOME) == dns.rcode.NXDOMAIN, 1.0), \
        "not NXDOMAIN a second after the quarantine"
    print("quarantine visible after %.2f s" % (time.time() - t0))
    assert n.update(HOME, "192.0.2.52", user="alice", secret=n.secret)[2] == ["abuse"]
    n.restart()
    assert rcode(n, HOME) == dns.rcode.NXDOMAIN
    assert abuse_list(n)[HOME]["state"] == "quarantined"
    n.ctl("abuse", "restore", HOME, "--reason", "false positive")
    assert wait_for(lambda: n.addrs(HOME) == {"192.0.2.51"}, 1.0)


def test_quarantine_parked(np_factory):
    n = start(np_factory, abuse=dict(NO_LIMITS, parked="192.0.2.250"))
    n.update(HOME, "192.0.2.61", user="alice", secret=n.secret)
    n.ctl("abuse", "quarantine", HOME, "--reason", "malware download")
    assert wait_for(lambda: n.addrs(HOME) == {"192.0.2.250"}, 1.0)
    assert n.query(HOME, "AAAA").rcode() == dns.rcode.NOERROR and not n.addrs(HOME, "AAAA")


def test_host_block_is_hold(np_factory):
    n = start(np_factory, abuse=NO_LIMITS)
    n.ctl("host", "block", HOME)
    assert abuse_list(n)[HOME]["state"] == "hold"
    assert n.update(HOME, "192.0.2.71", user="alice", secret=n.secret)[2] == ["abuse"]
    n.ctl("host", "unblock", HOME)
    assert n.update(HOME, "192.0.2.71", user="alice", secret=n.secret)[2] == ["good 192.0.2.71"]


def test_abuse_commands_refuse_bad_input(np_factory):
    n = start(np_factory, abuse=NO_LIMITS)
    r = n.ctl("abuse", "hold", HOME, check=False)
    assert r.returncode == 2 and "--reason" in r.stderr
    r = n.ctl("abuse", "hold", "nosuch.%s" % ZONE, "--reason", "x", check=False)
    assert r.returncode == 1 and "no host" in r.stderr
    assert HOME not in abuse_list(n)


# ---- threat feeds -----------------------------------------------------------------------


DROP = """; Spamhaus DROP List 2026/12/01 - (c) 2026 The Spamhaus Project SLU
; Last-Modified: Mon, 01 Dec 2026 00:00:00 GMT
; Expires: Mon, 01 Dec 2026 01:00:00 GMT
198.51.100.0/24 ; SBL000001
this is not a prefix
2001:db8:bad::/48 ; SBL000002
"""
DROP_JSON = """{"cidr":"203.0.113.0/25","sblid":"SBL000003","rir":"apnic"}
{"type":"metadata","timestamp":1764547200,"size":1,"records":1}
"""


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_update_into_a_listed_range_is_refused(np_factory, tmp_path):
    drop = write(tmp_path, "drop.txt", DROP)
    drop6 = write(tmp_path, "drop_v4.json", DROP_JSON)
    n = np_factory()
    n.write_config(abuse=NO_LIMITS)
    text = open(n.conf).read().replace("[abuse]\n", "[abuse]\nfeed = spamhaus-drop:%s\n"
                                       "feed = spamhaus-drop:%s\n" % (drop, drop6))
    open(n.conf, "w").write(text)
    n.init()
    n.add_user("alice")
    n.secret = n.add_host(HOME, "alice")
    n.start()
    # The malformed line is reported with its file and line; the rest loaded.
    assert wait_for(lambda: "%s:5: not a CIDR prefix" % drop in n.stderr(), 2), n.stderr()
    assert n.update(HOME, "192.0.2.80", user="alice", secret=n.secret)[2] == ["good 192.0.2.80"]
    for ip in ("198.51.100.7", "203.0.113.9", "2001:db8:bad::1"):
        assert n.update(HOME, ip, user="alice", secret=n.secret)[2] == ["abuse"], ip
    s, _, j = api(n, "PUT", "/hosts/%s/records/A" % HOME, {"records": ["198.51.100.8"]},
                  token=n.secret)
    assert s == 403 and j["error"]["code"] == "listed", j
    assert "spamhaus-drop 198.51.100.0/24 SBL000001" in j["error"]["message"]
    # Nothing changed.
    assert n.addrs(HOME) == {"192.0.2.80"}
    assert not n.addrs(HOME, "AAAA")
    # Not the host's fault: no abuse state for it.
    assert HOME not in abuse_list(n)


URLHAUS = """# abuse.ch URLhaus Host file
# Terms of Use: https://urlhaus.abuse.ch/api/
0.0.0.0 evil.%s
0.0.0.0 not_a name at all
0.0.0.0 elsewhere.example.net
""" % ZONE

THREATFOX = """################################################################
# ThreatFox IOCs: recent                                       #
# "first_seen_utc","ioc_id","ioc_value","ioc_type","threat_type","fk_malware","malware_alias","malware_printable","last_seen_utc","confidence_level","reference","tags","anonymous","reporter"
"2026-12-01 10:00:00", "100001", "c2.%s", "domain", "botnet_cc", "win.njrat", "None", "NjRAT", "", "100", "", "njrat", "0", "someone"
"2026-12-01 10:00:01", "100002", "http://drop.%s:8080/x.exe", "url", "payload_delivery", "elf.mirai", "None", "Mirai", "", "75", "", "", "0", "someone"
"2026-12-01 10:00:02", "100003", "192.0.2.99:443", "ip:port", "botnet_cc", "win.qakbot", "None", "QakBot", "", "100", "", "", "0", "someone"
this line is broken
""" % (ZONE, ZONE)


def test_hostname_feeds_quarantine_our_names(np_factory, tmp_path):
    hostfile = write(tmp_path, "hostfile.txt", "# empty at first\n")
    tf = write(tmp_path, "threatfox.csv", "# nothing yet\n")
    n = np_factory()
    n.write_config(abuse=NO_LIMITS)
    text = open(n.conf).read().replace("[abuse]\n", "[abuse]\nfeed = urlhaus-hostfile:%s\n"
                                       "feed = threatfox-csv:%s\n" % (hostfile, tf))
    open(n.conf, "w").write(text)
    n.init()
    n.add_user("alice")
    n.add_user("mallory")
    n.secret = n.add_host(HOME, "alice")
    names = ["evil", "c2", "drop"]
    secrets = {h: n.add_host("%s.%s" % (h, ZONE), "mallory") for h in names}
    n.start()
    for h in names:
        assert n.update("%s.%s" % (h, ZONE), "192.0.2.%d" % (90 + names.index(h)),
                        user="mallory", secret=secrets[h])[2][0].startswith("good")
    # The feeds now list them: reloaded by nameplatectl, which reports the bad lines.
    open(hostfile, "w").write(URLHAUS)
    open(tf, "w").write(THREATFOX)
    t0 = time.time()
    r = n.ctl("feed", "reload")
    assert "%s:4: expected 'ADDRESS NAME'" % hostfile in r.stderr, r.stderr
    assert "%s:7: not a ThreatFox CSV record" % tf in r.stderr, r.stderr
    assert "3 hosts quarantined" in r.stdout and "signalled nameplated" in r.stdout, r.stdout
    for h in names:
        assert wait_for(lambda: rcode(n, "%s.%s" % (h, ZONE)) == dns.rcode.NXDOMAIN, 1.0), h
    print("feed quarantine visible after %.2f s" % (time.time() - t0))
    listed = abuse_list(n)
    assert {h: listed["%s.%s" % (h, ZONE)]["state"] for h in names} == {
        h: "quarantined" for h in names}
    log = json.loads(n.ctl("abuse", "log", "c2.%s" % ZONE, "--json").stdout)
    assert log[0]["actor"] == "feed:threatfox-csv", log
    # Others are untouched; the ThreatFox ip:port is an address an update may not use.
    assert HOME not in listed
    assert wait_for(lambda: "feeds: " in n.stderr() and " reload: config=" in n.stderr(), 2)
    assert wait_for(lambda: n.update(HOME, "192.0.2.99", user="alice",
                                     secret=n.secret)[2] == ["abuse"], 2)


def test_sighup_reloads_feeds(np_factory, tmp_path):
    drop = write(tmp_path, "drop.txt", "; nothing listed\n")
    n = start(np_factory, abuse=dict(NO_LIMITS, feed="spamhaus-drop:%s" % drop))
    assert n.update(HOME, "198.51.100.7", user="alice", secret=n.secret)[2] == [
        "good 198.51.100.7"]
    open(drop, "w").write(DROP)
    n.proc.send_signal(__import__("signal").SIGHUP)
    assert wait_for(lambda: n.update(HOME, "198.51.100.8", user="alice",
                                     secret=n.secret)[2] == ["abuse"], 3)


# ---- flux score -------------------------------------------------------------------------


IP2ASN = "".join("10.%d.0.0\t10.%d.255.255\t%d\tZZ\tFLUX-AS-%d\n" % (i, i, 64500 + i, i)
                 for i in range(6)) + "not a line\n"


def test_fast_flux_is_held_and_dns_stops_following(np_factory, tmp_path):
    asn = write(tmp_path, "ip2asn-v4.tsv", IP2ASN)
    n = start(np_factory, abuse=dict(NO_LIMITS, asn_db=asn))
    assert wait_for(lambda: "%s:7: expected RANGE_START" % asn in n.stderr(), 2), n.stderr()
    answers = []
    t0 = time.time()
    for i in range(40):
        ip = "10.%d.%d.%d" % (i % 6, i // 6, 1 + i)
        answers.append(n.update(HOME, ip, user="alice", secret=n.secret)[2][0])
    assert time.time() - t0 < 60
    first_refused = answers.index("abuse")
    assert 6 <= first_refused <= 24, answers
    assert all(a == "abuse" for a in answers[first_refused:]), answers
    last_good = answers[first_refused - 1].split()[1]
    # DNS keeps the last address it accepted; the refused ones never appear.
    assert n.addrs(HOME) == {last_good}
    h = abuse_list(n)[HOME]
    assert h["state"] in ("hold", "quarantined"), h
    assert h["score"] >= 143
    assert h["features"]["asns"] == 6 and h["features"]["changes_last_hour"] >= 7, h
    assert "6 ASNs" in h["reasons"] and "changes in the last hour" in h["reasons"], h
    log = json.loads(n.ctl("abuse", "log", HOME, "--json").stdout)
    assert log[0]["actor"] == "flux" and log[0]["to"] == h["state"]
    # The state survives a restart, and only the operator lifts it.
    n.restart()
    assert n.update(HOME, "10.0.9.9", user="alice", secret=n.secret)[2] == ["abuse"]
    n.ctl("abuse", "restore", HOME, "--reason", "the owner moved to one provider")
    assert n.update(HOME, "10.0.9.9", user="alice", secret=n.secret)[2] == ["good 10.0.9.9"]


def test_home_line_stays_ok(np_factory, tmp_path):
    # The default thresholds; budgets off so five changes need not wait four minutes.
    asn = write(tmp_path, "ip2asn-v4.tsv", IP2ASN)
    n = start(np_factory, abuse=dict(NO_LIMITS, asn_db=asn))
    for i in range(5):
        ip = "10.2.%d.1" % i
        assert n.update(HOME, ip, user="alice", secret=n.secret)[2] == ["good " + ip]
    h = abuse_list(n).get(HOME)
    assert h is None or h["state"] == "ok", h
    assert n.addrs(HOME) == {"10.2.4.1"}


def abuse_rows(n):
    import sqlite3
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(n.data_dir, "nameplate.db"), uri=True)
    try:
        return db.execute("SELECT COUNT(*) FROM abuse_hosts").fetchone()[0]
    finally:
        db.close()


def test_home_line_scores_are_not_stored_and_zero_lines_score_nothing(np_factory):
    # The defaults: a home line's judgement (score about 40) is made and not kept, and its
    # owner still reads the score and what it is made of, worked out when asked.
    n = start(np_factory, abuse=NO_LIMITS)
    for ip in ("192.0.2.1", "192.0.2.2"):
        assert n.update(HOME, ip, user="alice", secret=n.secret)[2] == ["good " + ip]
    s, _, j = api(n, "GET", "/hosts/%s/abuse" % HOME, token=n.secret)
    assert s == 200 and j["state"] == "ok", j
    assert 0 < j["score"] < 50 and j["features"]["addresses"] == 2, j
    assert j["features"]["asns"] >= 1 and j["features"]["changes"] >= 2, j
    assert abuse_rows(n) == 0
    # Every line 0 (the suite's default [abuse]): no judgement at all, even of flux.
    m = np_factory("zero")
    m.write_config()
    m.init()
    m.add_user("alice")
    secret = m.add_host(HOME, "alice")
    m.start()
    for i in range(12):
        ip = "10.%d.0.%d" % (i % 6, i + 1)
        assert m.update(HOME, ip, user="alice", secret=secret)[2] == ["good " + ip]
    assert abuse_rows(m) == 0 and HOME not in abuse_list(m)


def test_one_address_many_unrelated_accounts(np_factory):
    n = start(np_factory, abuse=NO_LIMITS)
    secrets = {}
    for i in range(30):
        n.add_user("u%d" % i)
        secrets[i] = n.add_host("s%d.%s" % (i, ZONE), "u%d" % i)
    n.ctl("user", "add", "solo")
    solo = {i: n.add_host("m%d.%s" % (i, ZONE), "solo") for i in range(30)}
    for i in range(30):
        assert n.update("s%d.%s" % (i, ZONE), "192.0.2.200", user="u%d" % i,
                        secret=secrets[i])[2] == ["good 192.0.2.200"]
        assert n.update("m%d.%s" % (i, ZONE), "192.0.2.201", user="solo",
                        secret=solo[i])[2] == ["good 192.0.2.201"]
    listed = abuse_list(n)
    flagged = sorted(int(k.split(".")[0][1:]) for k in listed if k.startswith("s"))
    # From the 11th account on (10 other accounts already on the address), each is watched:
    # flagged, never blocked (many homes share a CGNAT address).
    assert flagged == list(range(10, 30)), flagged
    assert all(listed["s%d.%s" % (i, ZONE)]["state"] == "watch" for i in flagged)
    assert "other accounts" in listed["s29.%s" % ZONE]["reasons"]
    assert not any(k.startswith("m") for k in listed), listed


def test_index_of_addresses_follows_the_flux_judgement(np_factory):
    """The index of the records by address serves only the flux judgement (how many accounts
    already hold a new address) and costs every address change: with every flux line at 0
    nameplated drops it at start; a reload that turns the judgement on makes it before an
    update is judged, and the shared address is flagged; one that turns it off drops it."""
    import signal

    def has_index():
        db = sqlite3.connect(os.path.join(n.data_dir, "nameplate.db"))
        try:
            return db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'index'"
                              " AND name = 'records_rdata'").fetchone() == (1,)
        finally:
            db.close()

    n = np_factory()
    n.write_config()  # conftest's ABUSE_OFF: every flux line 0
    n.init()
    assert has_index()  # a new store has it; nameplated fits it to the configuration
    secrets = {}
    for i in range(5):
        n.add_user("u%d" % i)
        secrets[i] = n.add_host("s%d.%s" % (i, ZONE), "u%d" % i)
    n.start()
    assert not has_index()
    assert n.update("s0.%s" % ZONE, "192.0.2.210", user="u0", secret=secrets[0])[2] == [
        "good 192.0.2.210"]

    n.write_config(abuse=dict(NO_LIMITS, watch_score=0, hold_score=0, quarantine_score=0,
                              shared_accounts=3))
    n.proc.send_signal(signal.SIGHUP)
    assert wait_for(has_index, 5)
    for i in range(1, 5):
        assert n.update("s%d.%s" % (i, ZONE), "192.0.2.210", user="u%d" % i,
                        secret=secrets[i])[2] == ["good 192.0.2.210"]
    listed = abuse_list(n)
    # s3 and s4 found 3 and 4 other accounts on the address: watched, never refused.
    assert sorted(listed) == ["s3.%s" % ZONE, "s4.%s" % ZONE], listed
    assert "other accounts" in listed["s3.%s" % ZONE]["reasons"]

    n.write_config()
    n.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: not has_index(), 5)
    assert n.update("s0.%s" % ZONE, "192.0.2.211", user="u0", secret=secrets[0])[2] == [
        "good 192.0.2.211"]
    assert n.addrs("s0.%s" % ZONE) == {"192.0.2.211"}


def test_hosts_blocked_before_the_upgrade_are_on_hold(np_factory):
    # The store of the release before tokens (tests/system/data, see test_accounts.py) with
    # router.dyn.example blocked the old way.
    import gzip
    import shutil
    import sqlite3
    from test_accounts import DATA, V3_ROUTER_SECRET
    n = np_factory()
    os.makedirs(n.data_dir, mode=0o700)
    path = os.path.join(n.data_dir, "nameplate.db")
    with gzip.open(os.path.join(DATA, "store-v3.db.gz")) as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    db = sqlite3.connect(path)
    db.execute("UPDATE hosts SET blocked = 1 WHERE fqdn = ?", ("router.%s" % ZONE,))
    db.commit()
    db.close()
    n.write_config(abuse=NO_LIMITS)
    n.start()
    router = "router.%s" % ZONE
    h = abuse_list(n)[router]
    assert h["state"] == "hold", h
    assert json.loads(n.ctl("abuse", "log", router, "--json").stdout)[0]["actor"] == "migration"
    assert n.addrs(router) == {"192.0.2.10"}
    assert n.update(user=router, secret=V3_ROUTER_SECRET, myip="192.0.2.11")[2] == ["abuse"]
    assert "other.%s" % ZONE not in abuse_list(n)


def test_rfc2136_update_answers_to_the_same_protection(np_factory, tmp_path):
    """UPDATE with a TSIG key meets what dyndns2 meets: the budgets (the 3rd change of a name
    in two minutes is REFUSED), the DROP ranges, a held name, and the flux score; nothing
    changes on a refusal."""
    import re

    import dns.name
    import dns.query
    import dns.tsig
    import dns.update

    drop = write(tmp_path, "drop.txt", DROP)
    asn = write(tmp_path, "ip2asn-v4.tsv", IP2ASN)
    n = np_factory()
    n.write_config(abuse={"asn_db": asn, "feed": "spamhaus-drop:%s" % drop})
    n.init()
    n.add_user("alice")
    n.add_host(HOME, "alice")
    n.add_host("flux." + ZONE, "alice")
    secret = re.search(r'secret "([^"]+)"',
                       n.ctl("tsig", "add", "k", "--user", "alice").stdout).group(1)
    n.start()
    key = dns.tsig.Key("k.", secret, "hmac-sha256")

    def send(name, ip):
        u = dns.update.UpdateMessage(ZONE)
        u.use_tsig(key)
        u.replace(dns.name.from_text(name + "."), 60, "A", ip)
        return dns.query.udp(u, "127.0.0.1", port=n.dns_port, timeout=5).rcode()

    # The budget: two changes of a name in two minutes, then REFUSED.
    assert send(HOME, "192.0.2.1") == dns.rcode.NOERROR
    assert send(HOME, "192.0.2.2") == dns.rcode.NOERROR
    assert send(HOME, "192.0.2.3") == dns.rcode.REFUSED
    assert n.addrs(HOME) == {"192.0.2.2"}
    assert "update_refused: interface=rfc2136 key=" in n.stderr() and \
        " reason=budget wait=" in n.stderr(), n.stderr()
    # A listed range: REFUSED, nothing changed (the budget is not what refused it: another
    # name, a fresh budget).
    other = "other." + ZONE
    n.ctl("host", "add", other, "--user", "alice")
    assert send(other, "198.51.100.7") == dns.rcode.REFUSED
    assert n.addrs(other) == set()
    assert re.search(r"update_refused: interface=rfc2136 key=\S+ host=other\.\S+ "
                     r"ip=198\.51\.100\.7 reason=listed list=", n.stderr()), n.stderr()
    # A held name refuses UPDATE too.
    assert send(other, "192.0.2.9") == dns.rcode.NOERROR
    n.ctl("abuse", "hold", other, "--reason", "reported")
    assert send(other, "192.0.2.10") == dns.rcode.REFUSED
    assert n.addrs(other) == {"192.0.2.9"}
    n.stop()

    # The flux score: budgets off, many autonomous systems in a minute: held, DNS keeps the
    # last address accepted.
    n.write_config(abuse=dict(NO_LIMITS, asn_db=asn))
    n.start()
    answers = []
    for i in range(40):
        answers.append(send("flux." + ZONE, "10.%d.%d.%d" % (i % 6, i // 6, 1 + i)))
    first = answers.index(dns.rcode.REFUSED)
    assert 6 <= first <= 24, answers
    assert all(a == dns.rcode.REFUSED for a in answers[first:]), answers
    assert n.addrs("flux." + ZONE) == {"10.%d.%d.%d" % ((first - 1) % 6, (first - 1) // 6,
                                                         first)}
    assert abuse_list(n)["flux." + ZONE]["state"] in ("hold", "quarantined")


def test_flux_off_scores_nothing_and_held_names_stay_held(np_factory):
    """With every flux line at 0 ([abuse] as the suite's default) nothing is measured or
    stored, however fast the addresses move; a name an operator holds is still held, for
    UPDATE and dyndns2 alike, and a restore lets it change again."""
    import re

    import dns.name
    import dns.query
    import dns.tsig
    import dns.update

    n = np_factory()
    n.write_config()  # conftest's ABUSE_OFF: budgets and flux lines all 0
    n.init()
    n.add_user("alice")
    n.secret = n.add_host(HOME, "alice")
    secret = re.search(r'secret "([^"]+)"',
                       n.ctl("tsig", "add", "k", "--user", "alice").stdout).group(1)
    n.start()
    key = dns.tsig.Key("k.", secret, "hmac-sha256")

    def send(ip):
        u = dns.update.UpdateMessage(ZONE)
        u.use_tsig(key)
        u.replace(dns.name.from_text(HOME + "."), 60, "A", ip)
        return dns.query.udp(u, "127.0.0.1", port=n.dns_port, timeout=5).rcode()

    for i in range(30):  # the flux test's pattern: held by the 24th with the defaults
        assert send("10.%d.%d.%d" % (i % 6, i // 6, 1 + i)) == dns.rcode.NOERROR
    assert HOME not in abuse_list(n)
    db = sqlite3.connect(os.path.join(n.data_dir, "nameplate.db"))
    try:  # no score was stored
        assert db.execute("SELECT count(*) FROM abuse_hosts a JOIN hosts h"
                          " ON h.id = a.host_id WHERE h.fqdn = ?", (HOME,)).fetchone() == (0,)
    finally:
        db.close()
    n.ctl("abuse", "hold", HOME, "--reason", "reported")
    assert send("192.0.2.60") == dns.rcode.REFUSED
    assert n.update(HOME, "192.0.2.61", user="alice", secret=n.secret)[2] == ["abuse"]
    assert n.addrs(HOME) == {"10.5.4.30"}
    n.ctl("abuse", "restore", HOME, "--reason", "cleaned")
    assert send("192.0.2.62") == dns.rcode.NOERROR
    assert n.addrs(HOME) == {"192.0.2.62"}


# ---- name policy at creation -----------------------------------------------------------


PASSWORD = "correct horse battery"


def start_accounts(np_factory, abuse):
    """A running server with the accounts alice and bob, who sign in with PASSWORD."""
    import accounts
    n = np_factory()
    n.write_config(abuse=abuse)
    n.init()
    for u in ("alice", "bob"):
        n.add_user(u)
        accounts.set_password(n, u, PASSWORD)
    n.start()
    return n


def session_of(n, user):
    s, _, j = api(n, "POST", "/auth/login", {"user": user, "password": PASSWORD})
    assert s == 200, j
    return j["token"]


def test_name_policy_refuses_reserved_brands_and_mixed_scripts(np_factory):
    n = start_accounts(np_factory, dict(NO_LIMITS, reserved="www ns* admin",
                                        brands="paypal google", create_per_account_hour=0,
                                        create_per_source_hour=0))
    tok = session_of(n, "alice")
    refused = {
        "www": "reserved", "ns7": "reserved", "admin.lab": "reserved",
        "paypa1": "brand paypal", "secure-paypal": "brand paypal", "g00gle": "brand google",
        "googie": "brand google", "xn--l-7sba6dbr": "mixes Latin and Cyrillic",
        "xn--abc-": "plain ASCII",
    }
    for label, why in refused.items():
        s, _, j = api(n, "POST", "/hosts", {"fqdn": "%s.%s" % (label, ZONE)}, token=tok)
        assert s == 422 and j["error"]["code"] == "name_policy", (label, s, j)
        assert why in j["error"]["message"], (label, j)
        assert n.query("%s.%s" % (label, ZONE), "A").rcode() == dns.rcode.NXDOMAIN
    # Ordinary names, and one IDN label in one script, are taken.
    for label in ("nas", "wwwx", "paypalooza", "xn--bcher-kva", "xn--e1afmkfd"):
        s, _, j = api(n, "POST", "/hosts", {"fqdn": "%s.%s" % (label, ZONE)}, token=tok)
        assert s == 201, (label, j)
    hosts = n.ctl("host", "list").stdout
    assert "paypa1" not in hosts and "xn--bcher-kva" in hosts


def test_creation_budget_per_account_and_source(np_factory):
    n = start_accounts(np_factory, dict(NO_LIMITS, create_per_account_hour=2,
                                        create_per_source_hour=3))
    alice = session_of(n, "alice")
    bob = session_of(n, "bob")
    got = [api(n, "POST", "/hosts", {"fqdn": "a%d.%s" % (i, ZONE)}, token=alice)[0]
           for i in range(3)]
    assert got == [201, 201, 429], got
    s, hdrs, j = api(n, "POST", "/hosts", {"fqdn": "a9.%s" % ZONE}, token=alice)
    assert s == 429 and j["error"]["code"] == "rate_limited"
    # Up to the window and one of its 24 slots (docs/abuse.md, "How it is counted").
    assert 3000 <= int(hdrs["retry-after"]) <= 3600 + 150 + 5
    assert n.query("a2.%s" % ZONE, "A").rcode() == dns.rcode.NXDOMAIN
    # Another account from the same address: its own budget, but the source's is 3.
    got = [api(n, "POST", "/hosts", {"fqdn": "b%d.%s" % (i, ZONE)}, token=bob)[0]
           for i in range(2)]
    assert got == [201, 429], got


# ---- abuse reports ---------------------------------------------------------------------


def outbox(n):
    import sqlite3
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(n.data_dir, "nameplate.db"), uri=True)
    try:
        return db.execute("SELECT rcpt, subject, body FROM outbox ORDER BY id").fetchall()
    finally:
        db.close()


def ctl_json(n, *args):
    return json.loads(n.ctl(*args, "--json").stdout)


def test_report_through_the_api_and_the_operators_decisions(np_factory):
    n = start(np_factory, abuse=dict(NO_LIMITS, reports_per_source_hour=4))
    report = {"hostname": HOME.upper() + ".", "category": "phishing",
              "evidence": "https://%s/login imitates a bank\nseen in a mail" % HOME,
              "contact": "reporter@example.org"}
    s, _, j = api(n, "POST", "/abuse", report)
    assert s == 201 and j["fqdn"] == HOME and j["status"] == "open", j
    ticket = j["ticket"]
    # Bad reports: 422 with the reason, nothing kept; unknown names too.
    for bad, code in (({"category": "nope"}, "bad_report"), ({"evidence": ""}, "bad_report"),
                      ({"contact": "not a mail"}, "bad_report"),
                      ({"hostname": "nothere." + ZONE}, "bad_name")):
        s, _, j = api(n, "POST", "/abuse", dict(report, **bad))
        assert s == 422 and j["error"]["code"] == code, (bad, j)
    s, _, j = api(n, "POST", "/abuse", dict(report, evidence="x" * 4001))
    assert s == 400, j
    # The source's budget (4 an hour) counts every report that passed the field checks
    # (the unknown name above too).
    s, hdrs, j = api(n, "POST", "/abuse", report)
    assert s == 201
    s, hdrs, j = api(n, "POST", "/abuse", report)
    assert s == 201
    s, hdrs, j = api(n, "POST", "/abuse", report)
    assert s == 429 and int(hdrs["retry-after"]) > 3000, j
    tickets = ctl_json(n, "abuse", "tickets")
    assert [t["ticket"] for t in tickets] == [ticket + 2, ticket + 1, ticket]
    t = ctl_json(n, "abuse", "show", str(ticket))
    assert t["name"] == HOME and t["category"] == "phishing" and "\n" in t["evidence"]
    assert t["status"] == "open" and t["source"] == "127.0.0.1"
    assert "imitates a bank" in n.ctl("abuse", "show", str(ticket)).stdout

    # The operator quarantines by ticket: DNS drops the name, the log names the ticket, the
    # reporter's mail waits in the outbox.
    n.update(HOME, "192.0.2.5", user="alice", secret=n.secret)
    out = n.ctl("abuse", "quarantine", str(ticket), "--reason", "phishing kit found")
    assert "quarantined" in out.stdout and "told by mail" in out.stdout
    wait_for(lambda: n.query(HOME, "A").rcode() == dns.rcode.NXDOMAIN, timeout=5)
    log = ctl_json(n, "abuse", "log", HOME)
    assert log[0]["to"] == "quarantined" and log[0]["ticket"] == ticket
    assert "phishing kit found" in log[0]["reason"]
    assert ctl_json(n, "abuse", "show", str(ticket))["status"] == "quarantined"
    mails = outbox(n)
    assert mails[-1][0] == "reporter@example.org" and "taken out of DNS" in mails[-1][2]
    # Restored by another ticket's decision; a third is dismissed (no state change).
    n.ctl("abuse", "restore", str(ticket + 1), "--reason", "cleaned up")
    wait_for(lambda: n.addrs(HOME) == {"192.0.2.5"}, timeout=5)
    n.ctl("abuse", "dismiss", str(ticket + 2), "--reason", "duplicate")
    assert ctl_json(n, "abuse", "show", str(ticket + 2))["status"] == "dismissed"
    assert len(outbox(n)) == 3
    # Errors: no such ticket, dismiss needs a ticket; tickets survive a restart.
    assert n.ctl("abuse", "hold", "999", "--reason", "x", check=False).returncode != 0
    assert n.ctl("abuse", "dismiss", HOME, "--reason", "x", check=False).returncode != 0
    n.stop()
    n.start()
    assert len(ctl_json(n, "abuse", "tickets")) == 3


def test_owner_sees_state_reasons_and_log(np_factory):
    n = start_accounts(np_factory, dict(NO_LIMITS))
    n.ctl("host", "add", HOME, "--user", "alice")
    n.ctl("host", "add", "bobs." + ZONE, "--user", "bob")
    alice = session_of(n, "alice")
    s, _, j = api(n, "GET", "/hosts/%s/abuse" % HOME, token=alice)
    assert s == 200 and j["state"] == "ok" and j["log"] == [], j
    s, _, j = api(n, "POST", "/abuse", {"hostname": HOME, "category": "spam",
                                        "evidence": "mail from it"})
    ticket = j["ticket"]
    n.ctl("abuse", "hold", str(ticket), "--reason", "spam seen")
    s, _, j = api(n, "GET", "/hosts/%s/abuse" % HOME, token=alice)
    assert s == 200 and j["state"] == "hold" and "spam seen" in j["reasons"], j
    assert j["log"][0]["to"] == "hold" and j["log"][0]["by"] == "operator"
    assert j["log"][0]["ticket"] == ticket and "ctl:" not in json.dumps(j)
    # Another account's name: 404, as every other host path answers.
    s, _, j = api(n, "GET", "/hosts/bobs.%s/abuse" % ZONE, token=alice)
    assert s == 404, j


# ---- the revoked list ------------------------------------------------------------------


def revoked(n):
    s, _, j = api(n, "GET", "/abuse/revoked")
    assert s == 200, j
    st, hdrs, body = n.http("/abuse/revoked.txt")
    assert st == 200, body
    lines = [ln.split() for ln in body.splitlines() if not ln.startswith("#")]
    assert {ln[0]: ln[1] for ln in lines} == {o["name"]: o["since"] for o in j["revoked"]}
    return {o["name"]: o for o in j["revoked"]}


def test_revoked_list_follows_quarantine_and_suspension(np_factory):
    import re
    n = start(np_factory, abuse=dict(NO_LIMITS))
    n.add_user("bob")
    n.ctl("host", "add", "bobs." + ZONE, "--user", "bob")
    assert revoked(n) == {}
    before = time.time()
    n.ctl("abuse", "hold", HOME, "--reason", "looking")
    assert revoked(n) == {}  # a hold is not a revocation
    n.ctl("abuse", "quarantine", HOME, "--reason", "phishing")
    r = revoked(n)
    assert list(r) == [HOME] and r[HOME]["why"] == "quarantined"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r[HOME]["since"])
    assert before - 1 <= r[HOME]["since_time"] <= time.time() + 1
    n.ctl("user", "suspend", "bob")
    r = revoked(n)
    assert sorted(r) == sorted([HOME, "bobs." + ZONE]) and r["bobs." + ZONE]["why"] == "suspended"
    assert r["bobs." + ZONE]["since_time"] >= before - 1
    # Restored and reinstated: gone from both lists.
    n.ctl("abuse", "restore", HOME, "--reason", "cleaned")
    n.ctl("user", "unlock", "bob")
    assert revoked(n) == {}


def test_owner_clears_a_hold_once(np_factory):
    n = start_accounts(np_factory, dict(NO_LIMITS))
    n.ctl("host", "add", HOME, "--user", "alice")
    alice = session_of(n, "alice")
    path = "/hosts/%s/abuse/clear" % HOME
    s, _, j = api(n, "POST", path, {"confirm": True}, token=alice)
    assert s == 409 and j["error"]["code"] == "not_held", j
    n.ctl("abuse", "hold", HOME, "--reason", "flux-like")
    s, _, j = api(n, "PUT", "/hosts/%s/records/A" % HOME, {"records": ["192.0.2.7"]},
                  token=alice)
    assert s == 403, j
    # Without the confirmation nothing changes.
    s, _, j = api(n, "POST", path, {}, token=alice)
    assert s == 400, j
    s, _, j = api(n, "POST", path, {"confirm": True}, token=alice)
    assert s == 200 and j["state"] == "ok", j
    s, _, j = api(n, "PUT", "/hosts/%s/records/A" % HOME, {"records": ["192.0.2.7"]},
                  token=alice)
    assert s == 200, j
    assert n.addrs(HOME) == {"192.0.2.7"}
    log = ctl_json(n, "abuse", "log", HOME)
    assert log[0]["actor"] == "owner" and log[0]["from"] == "hold" and log[0]["to"] == "ok"
    # A second hold is the operator's to lift.
    n.ctl("abuse", "hold", HOME, "--reason", "again")
    s, _, j = api(n, "POST", path, {"confirm": True}, token=alice)
    assert s == 403 and j["error"]["code"] == "cleared_before", j
    assert ctl_json(n, "abuse", "log", HOME)[0]["to"] == "hold"
    n.ctl("abuse", "quarantine", HOME, "--reason", "confirmed phishing")
    s, _, j = api(n, "POST", path, {"confirm": True}, token=alice)
    assert s == 403 and j["error"]["code"] == "quarantined", j


def test_suspend_withdraws_the_whole_account_and_restore_brings_it_back(np_factory):
    n = start_accounts(np_factory, dict(NO_LIMITS))
    two, bobs = "two." + ZONE, "bobs." + ZONE
    secret = n.add_host(HOME, "alice")
    n.add_host(two, "alice")
    n.add_host(bobs, "bob")
    assert n.update(HOME, "192.0.2.81", user="alice", secret=secret)[2] == ["good 192.0.2.81"]
    n.ctl("abuse", "hold", two, "--reason", "looking at it")
    alice = session_of(n, "alice")

    r = n.ctl("abuse", "suspend", "alice", "--reason", "C2 names across the account")
    assert "user alice suspended" in r.stdout
    # Every name of the account answers as quarantined, within a second; bob's does not.
    assert wait_for(lambda: rcode(n, HOME) == dns.rcode.NXDOMAIN, 1.0)
    assert rcode(n, two) == dns.rcode.NXDOMAIN and rcode(n, bobs) == dns.rcode.NOERROR
    # Updates, the API and sign-in say why.
    status, _, body = n.update(HOME, "192.0.2.82", user="alice", secret=secret)
    assert status == 200 and body == ["abuse"]
    s, _, j = api(n, "GET", "/hosts", token=alice)
    assert s == 401 and "suspended for abuse" in j["error"]["message"], j
    s, _, j = api(n, "POST", "/auth/login", {"user": "alice", "password": PASSWORD})
    assert s == 403 and "suspended" in j["error"]["message"], j
    listed = abuse_list(n)
    assert listed[HOME]["state"] == "suspended" and listed[two]["state"] == "suspended"
    assert "hold" in listed[two]["reasons"] and bobs not in listed
    assert sorted(revoked(n)) == sorted([HOME, two])
    log = ctl_json(n, "abuse", "log", HOME)
    assert [(e["from"], e["to"], e["reason"]) for e in log] == [
        ("ok", "suspended", "C2 names across the account")]
    assert log[0]["actor"].startswith("ctl:")
    r = n.ctl("abuse", "suspend", "alice", "--reason", "again")
    assert "already suspended" in r.stdout and len(ctl_json(n, "abuse", "log", HOME)) == 1

    n.restart()
    assert rcode(n, HOME) == dns.rcode.NXDOMAIN

    r = n.ctl("abuse", "restore", "--user", "alice", "--reason", "owner cleaned up")
    assert "restored" in r.stdout
    assert wait_for(lambda: n.addrs(HOME) == {"192.0.2.81"}, 1.0)
    # The host held before keeps its own state; the account works again.
    assert abuse_list(n)[two]["state"] == "hold" and HOME not in abuse_list(n)
    assert ctl_json(n, "abuse", "log", two)[0]["to"] == "hold"
    assert ctl_json(n, "abuse", "log", HOME)[0]["from"] == "suspended"
    assert n.update(HOME, "192.0.2.83", user="alice", secret=secret)[2] == ["good 192.0.2.83"]
    assert revoked(n) == {}
    r = n.ctl("abuse", "restore", "--user", "alice", "--reason", "x")
    assert "not suspended" in r.stdout

    # The admin API's suspend goes the same way, through the writer: out of DNS at once,
    # logged with the administrator; unlock brings the names back.
    n.ctl("user", "add", "root", "--password-stdin", "--admin", input=PASSWORD + "\n")
    root = session_of(n, "root")
    s, _, j = api(n, "POST", "/admin/users/alice/suspend", token=root)
    assert s == 200 and j["state"] == "suspended", j
    assert wait_for(lambda: rcode(n, HOME) == dns.rcode.NXDOMAIN, 1.0)
    log = ctl_json(n, "abuse", "log", HOME)
    assert log[0]["to"] == "suspended" and log[0]["actor"] == "admin:root", log[0]
    s, _, j = api(n, "POST", "/admin/users/alice/unlock", token=root)
    assert s == 200 and j["state"] == "active", j
    assert wait_for(lambda: n.addrs(HOME) == {"192.0.2.83"}, 1.0)
    assert ctl_json(n, "abuse", "log", HOME)[0]["from"] == "suspended"


def test_suspend_refuses_bad_input(np_factory):
    n = start_accounts(np_factory, dict(NO_LIMITS))
    r = n.ctl("abuse", "suspend", "alice", check=False)
    assert r.returncode == 2 and "--reason" in r.stderr
    r = n.ctl("abuse", "suspend", "nosuch", "--reason", "x", check=False)
    assert r.returncode == 1 and "no user" in r.stderr
    r = n.ctl("abuse", "hold", "--user", "alice", "--reason", "x", check=False)
    assert r.returncode == 2
    s, _, j = api(n, "POST", "/auth/login", {"user": "alice", "password": PASSWORD})
    assert s == 200, j


def test_contrib_feed_fetcher_downloads_and_loads(np_factory, tmp_path):
    """contrib/nameplate-feeds (what nameplate-feeds.service runs hourly) against a server on
    loopback standing in for Spamhaus and abuse.ch: the files land whole, feed reload
    quarantines the listed name of ours within a second, and a failed download keeps the
    previous file and says so (exit 1) while the rest still loads."""
    import http.server
    import threading
    from conftest import ROOT, NAMEPLATECTL
    served = {"/drop_v4.json": DROP_JSON, "/drop_v6.json": '{"cidr":"2001:db8:bad::/48",'
              '"sblid":"SBL000002","rir":"ripencc"}\n', "/hostfile/": URLHAUS,
              "/recent/": THREATFOX}
    seen = []

    class Feeds(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append((self.path, self.headers.get("Auth-Key")))
            body = served.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body.encode())))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Feeds)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = "http://127.0.0.1:%d" % srv.server_address[1]
    feeds = tmp_path / "feeds"
    names = {"drop_v4.json": "spamhaus-drop", "drop_v6.json": "spamhaus-drop",
             "urlhaus-hostfile.txt": "urlhaus-hostfile", "threatfox.csv": "threatfox-csv"}
    try:
        n = np_factory()
        n.write_config(abuse=NO_LIMITS)
        lines = "".join("feed = %s:%s\n" % (k, feeds / f) for f, k in names.items())
        text = open(n.conf).read().replace("[abuse]\n", "[abuse]\n" + lines)
        open(n.conf, "w").write(text)
        n.init()
        n.add_user("alice")
        n.add_host("evil." + ZONE, "alice")
        n.ctl("host", "set", "evil." + ZONE, "A", "192.0.2.66")
        n.start()
        env = dict(os.environ, NAMEPLATE_FEEDS_DIR=str(feeds), NAMEPLATE_CONF=n.conf,
                   NAMEPLATECTL=NAMEPLATECTL, ABUSECH_AUTH_KEY="k3y",
                   FEED_URL_DROP_V4_JSON=base + "/drop_v4.json",
                   FEED_URL_DROP_V6_JSON=base + "/drop_v6.json",
                   FEED_URL_URLHAUS_HOSTFILE_TXT=base + "/hostfile/",
                   FEED_URL_THREATFOX_CSV=base + "/recent/")
        script = os.path.join(ROOT, "contrib", "nameplate-feeds")
        r = subprocess.run([script], env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        assert (feeds / "urlhaus-hostfile.txt").read_text() == URLHAUS
        assert sorted(os.listdir(feeds)) == sorted(names)  # no partial files left
        assert wait_for(lambda: rcode(n, "evil." + ZONE) == dns.rcode.NXDOMAIN, 1.0)
        assert abuse_list(n)["evil." + ZONE]["state"] == "quarantined"
        # The Auth-Key goes to abuse.ch's own servers only: not to a mirror or this one.
        assert all(key is None for _, key in seen), seen
        # URLhaus down: its previous file stays, the rest still loads, exit 1.
        del served["/hostfile/"]
        r = subprocess.run([script], env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and "the previous urlhaus-hostfile.txt stays" in r.stderr, r
        assert (feeds / "urlhaus-hostfile.txt").read_text() == URLHAUS
        assert "feeds: 4 files" in r.stdout, r.stdout
    finally:
        srv.shutdown()
        srv.server_close()
