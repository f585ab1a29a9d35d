# SPDX-License-Identifier: MIT
# nameplatectl import pcap|cowrie and observe show: generated captures (pcap and pcapng)
# and the sample Cowrie log give the expected aggregates and verdicts; bad input writes
# nothing; a running server merges the import and the verdict survives it.

import calendar
import json
import os
import sqlite3
import struct
import time

import pytest

from conftest import wait_for
from packets import ACK, SYN, ip4, tcp_packet

DATA = os.path.join(os.path.dirname(__file__), "data")
RESEARCH = "203.0.113.0/24"

A = "198.51.100.7"     # Mirai SYNs: infected
B = "198.51.100.8"     # ordinary SYNs to an IoT port: suspicious
C = "192.0.2.77"       # SYN-ACKs (a DoS victim): backscatter, not observed
D = "203.0.113.5"      # Mirai-like SYNs from a research range: not observed
DARK = "10.99.0.%d"    # the darknet the packets were sent to


def tcp_frame(src, dst, sport, dport, flags, seq, ip_id, ttl=64, window=5840):
    """An Ethernet frame around packets.tcp_packet()."""
    return b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00" + \
        tcp_packet(src, dst, sport, dport, seq, flags, ttl=ttl, ip_id=ip_id, window=window)


def not_masscan(dst, dport, seq, ip_id):
    """Masscan's signature is ip_id == (dst ^ dport ^ seq) & 0xffff: avoid it by chance."""
    assert ip_id != (ip4(dst) ^ dport ^ seq) & 0xffff
    return ip_id



def packets(now):
    """(time, frame) pairs with known content; times in the last half hour."""
    out = []
    t = now - 1800
    # A: 5 Mirai SYNs (seq == destination address), 4 to 23 and 1 to 2323.
    for i, port in enumerate([23, 23, 2323, 23, 23]):
        dst = DARK % (10 + i)
        out.append((t + i, tcp_frame(A, dst, 40000 + i, port, SYN, ip4(dst),
                                     not_masscan(dst, port, ip4(dst), 1000 + i))))
    # B: 3 ordinary SYNs to 37215 (Huawei HG532 exploit port).
    for i in range(3):
        dst = DARK % (20 + i)
        seq = 0x12345678 + i
        out.append((t + 100 + i, tcp_frame(B, dst, 50000 + i, 37215, SYN, seq,
                                           not_masscan(dst, 37215, seq, 2000 + i))))
    # C: 2 SYN-ACKs, a victim answering spoofed SYNs.
    for i in range(2):
        out.append((t + 200 + i, tcp_frame(C, DARK % 30, 80, 33000 + i, SYN | ACK,
                                           0x0badf00d, 3000 + i)))
    # D: 3 fingerprint SYNs from a configured research range.
    for i in range(3):
        dst = DARK % (40 + i)
        out.append((t + 300 + i, tcp_frame(D, dst, 61000, 23, SYN, ip4(dst),
                                           not_masscan(dst, 23, ip4(dst), 4000 + i))))
    # Garbage: an IPv4 Ethernet frame whose IP header is cut short.
    out.append((t + 400, b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00\x45\x00"))
    # ARP: well formed, not IP.
    out.append((t + 401, b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x02\x08\x06" + bytes(28)))
    return out


def write_pcap(path, pkts):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for t, frame in pkts:
            f.write(struct.pack("<IIII", t, 0, len(frame), len(frame)))
            f.write(frame)


def write_pcapng(path, pkts):
    def block(btype, body):
        body += b"\x00" * (-len(body) % 4)
        n = 12 + len(body)
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)

    with open(path, "wb") as f:
        f.write(block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
        f.write(block(1, struct.pack("<HHI", 1, 0, 65535)))       # IDB: Ethernet, us
        for t, frame in pkts:
            us = t * 1000000
            f.write(block(6, struct.pack("<IIIII", 0, us >> 32, us & 0xffffffff,
                                         len(frame), len(frame)) + frame))


def make(np_factory, start=False):
    n = np_factory()
    n.write_config(extra="[observe]\nresearch = %s\ncheckpoint_interval = 1\n" % RESEARCH)
    n.init()
    if start:
        n.start()
    return n


def show(n, addr, at=None):
    args = ["observe", "show", addr, "--json"]
    if at is not None:
        args += ["--at", str(at)]
    return json.loads(n.ctl(*args).stdout)


def inbox_rows(n):
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(n.data_dir, "nameplate.db"),
                         uri=True)
    try:
        return db.execute("SELECT count(*) FROM obs_inbox").fetchone()[0]
    finally:
        db.close()


def ports(v):
    return {p["port"]: p["count"] for p in v["evidence"]["ports"]}


def check_pcap_verdicts(n):
    a = show(n, A)
    assert a["verdict"] == "infected"
    assert a["rule"] == "mirai_syn"
    assert a["evidence"]["fingerprint_hits"] == 5
    assert ports(a) == {23: 4, 2323: 1}
    b = show(n, B)
    assert b["verdict"] == "suspicious"
    assert b["rule"] == "iot_port_scan"
    assert ports(b) == {37215: 3}
    assert b["evidence"]["fingerprint_hits"] == 0
    c = show(n, C)
    assert c["verdict"] == "not_observed"
    assert c["evidence"]["kinds"]["backscatter"] == 2
    assert c["evidence"]["packets"] == 0
    d = show(n, D)
    assert d["verdict"] == "not_observed"
    assert d["evidence"]["kinds"]["research"] == 3
    assert show(n, "198.51.100.99")["verdict"] == "not_observed"


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_import_pcap(np_factory, tmp_path, fmt):
    n = make(np_factory)
    now = int(time.time())
    path = str(tmp_path / ("dark." + fmt))
    (write_pcap if fmt == "pcap" else write_pcapng)(path, packets(now))
    r = n.ctl("import", "pcap", path, "--json")
    s = json.loads(r.stdout)
    assert r.stderr == ""   # not a terminal: no progress bar
    assert s["format"] == "pcap"
    assert s["packets"] == 15
    assert s["malformed"] == 1
    assert s["not_ip"] == 1
    assert s["events"] == 13
    k = s["kinds"]
    assert (k["mirai_syn"], k["scan"], k["backscatter"], k["research"]) == (5, 3, 2, 3)
    assert s["addresses"] == 4
    assert s["stale"] == 0 and s["future"] == 0
    assert s["records"] == 4 and s["rows"] == 1
    assert inbox_rows(n) == 1
    check_pcap_verdicts(n)
    # The verdict window ends at --at: a day later the evidence has left it.
    assert show(n, A, at=now + 2 * 86400)["verdict"] == "not_observed"


def test_import_pcap_text_summary(np_factory, tmp_path):
    n = make(np_factory)
    path = str(tmp_path / "dark.pcap")
    write_pcap(path, packets(int(time.time())))
    out = n.ctl("import", "pcap", path).stdout
    assert "15 packets (1 malformed, 1 not IP)" in out
    assert "mirai_syn 5" in out and "backscatter 2" in out
    assert "addresses: 4" in out
    text = n.ctl("observe", "show", A).stdout
    assert "infected (mirai_syn)" in text
    assert "23 (4)" in text and "2323 (1)" in text


def test_import_pcap_stale_and_future(np_factory, tmp_path):
    n = make(np_factory)
    now = int(time.time())
    old = [(now - 8 * 86400, f) for _, f in packets(now)[:5]]       # past 7 days' retention
    future = [(now + 3600, f) for _, f in packets(now)[5:8]]        # beyond the clock skew
    path = str(tmp_path / "mixed.pcap")
    write_pcap(path, old + future)
    s = json.loads(n.ctl("import", "pcap", path, "--json").stdout)
    assert s["stale"] == 5 and s["future"] == 3
    assert s["addresses"] == 0 and s["rows"] == 0
    assert inbox_rows(n) == 0
    assert show(n, A)["verdict"] == "not_observed"


def rewrite_cowrie(src, dst, now):
    """Shifts the sample's timestamps so its last event is a minute ago."""
    with open(src) as f:
        lines = f.read().splitlines()
    times = []
    for ln in lines:
        try:
            times.append(calendar.timegm(time.strptime(json.loads(ln)["timestamp"][:19],
                                                       "%Y-%m-%dT%H:%M:%S")))
        except (ValueError, KeyError):
            pass
    shift = (now - 60) - max(times)
    out = []
    for ln in lines:
        try:
            o = json.loads(ln)
        except ValueError:
            out.append(ln)
            continue
        ts = o["timestamp"]
        t = calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")) + shift
        o["timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ts[19:]
        out.append(json.dumps(o))
    with open(dst, "w") as f:
        f.write("\n".join(out) + "\n")


def test_import_cowrie(np_factory, tmp_path):
    n = make(np_factory)
    path = str(tmp_path / "cowrie.json")
    rewrite_cowrie(os.path.join(DATA, "cowrie.json"), path, int(time.time()))
    r = n.ctl("import", "cowrie", path, "--json")
    s = json.loads(r.stdout)
    assert s["lines"] == 20
    assert s["bad_lines"] == 2
    assert "cowrie.json:19: not a JSON object" in r.stderr
    assert "cowrie.json:20: bad src_ip" in r.stderr
    assert s["ignored_lines"] == 8
    k = s["kinds"]
    assert (k["connect"], k["login"], k["download"]) == (3, 5, 2)
    assert s["addresses"] == 3

    e = show(n, "198.51.100.50")
    assert e["verdict"] == "infected"
    assert e["rule"] == "malware_download"
    assert {"malware_download", "default_credentials", "brute_force"} <= set(e["rules"])
    ev = e["evidence"]
    assert ev["login_attempts"] == 4 and ev["downloads"] == 2
    assert ev["default_credentials"] == 1
    assert ports(e) == {23: 1}
    creds = {(c["user"], c["pass"]): c for c in ev["credentials"]}
    assert set(creds) == {("root", "admin123"), ("admin", "password1"), ("user", "qwerty"),
                          ("root", "xc3511")}
    assert creds[("root", "xc3511")]["default"] is True
    assert creds[("user", "qwerty")]["default"] is False

    f = show(n, "198.51.100.60")      # one failed login: a sign, not proof
    assert f["verdict"] == "suspicious"
    assert f["evidence"]["login_attempts"] == 1
    g = show(n, "2001:db8:5::1234")   # same /64 as the telnet connection
    assert g["verdict"] == "suspicious"
    assert g["address"] == "2001:db8:5::/64"
    assert ports(g) == {2323: 1}


@pytest.mark.parametrize("content", [b"this is not a capture\n" * 10, b"",
                                     b"\xd4\xc3\xb2\xa1" + b"\x00" * 3])
def test_import_bad_pcap(np_factory, tmp_path, content):
    n = make(np_factory)
    path = str(tmp_path / "bad.pcap")
    with open(path, "wb") as f:
        f.write(content)
    r = n.ctl("import", "pcap", path, check=False)
    assert r.returncode == 1
    assert "bad.pcap: not a readable pcap or pcapng file" in r.stderr
    assert r.stdout == ""
    assert inbox_rows(n) == 0


def test_import_missing_and_usage(np_factory, tmp_path):
    n = make(np_factory)
    r = n.ctl("import", "cowrie", str(tmp_path / "nope.json"), check=False)
    assert r.returncode == 1 and "cannot open" in r.stderr
    assert n.ctl("import", "tar", "x", check=False).returncode == 2
    assert n.ctl("observe", "show", "not-an-ip", check=False).returncode == 2
    assert inbox_rows(n) == 0


def test_import_merged_by_running_server(np_factory, tmp_path):
    """The server takes the import from the inbox into its index and checkpoint; the
    verdict read from the store stays the same."""
    n = make(np_factory, start=True)
    path = str(tmp_path / "dark.pcap")
    write_pcap(path, packets(int(time.time())))
    n.ctl("import", "pcap", path)
    assert wait_for(lambda: inbox_rows(n) == 0, 10), "the server did not merge the inbox"
    check_pcap_verdicts(n)
    n.restart()
    check_pcap_verdicts(n)


def test_import_progress_on_terminal(np_factory, tmp_path):
    """On a terminal the import draws a progress bar on stderr; the summary stays on
    stdout."""
    import pty
    import subprocess
    from conftest import NAMEPLATECTL
    n = make(np_factory)
    path = str(tmp_path / "dark.pcap")
    write_pcap(path, packets(int(time.time())) * 400)   # 6000 packets
    master, slave = pty.openpty()
    try:
        r = subprocess.run([NAMEPLATECTL, "-c", n.conf, "import", "pcap", path, "--json"],
                           stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL,
                           timeout=60)
        os.close(slave)
        slave = None
        err = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            err += chunk
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)
    assert r.returncode == 0
    assert json.loads(r.stdout)["packets"] == 6000
    text = err.decode(errors="replace")
    assert "100%" in text and "[" + "#" * 30 + "]" in text, text


def spread_packets(now):
    """Three sources over 30 hours, out of time order, each with at most 6 distinct ports
    an hour (so the listed ports do not depend on how the import cuts the capture):
    E sends Mirai SYNs every 20 minutes, F plain SYNs every 45 minutes, G SYN-ACKs every
    hour (backscatter)."""
    E, F, G = "198.51.100.21", "198.51.100.22", "192.0.2.23"
    out = []
    start = now - 30 * 3600
    for i in range(90):
        t = start + i * 1200
        dst = DARK % (50 + i % 40)
        port = [23, 2323, 23, 80][i % 4]
        out.append((t, tcp_frame(E, dst, 40000 + i, port, SYN, ip4(dst),
                                 not_masscan(dst, port, ip4(dst), 5000 + i))))
    for i in range(40):
        t = start + i * 2700 + 7
        dst = DARK % (100 + i % 50)
        seq = 0x22334455 + i
        port = [37215, 8080, 445][i % 3]
        out.append((t, tcp_frame(F, dst, 41000 + i, port, SYN, seq,
                                 not_masscan(dst, port, seq, 6000 + i))))
    for i in range(30):
        out.append((start + i * 3600 + 11, tcp_frame(G, DARK % 200, 80, 42000 + i, SYN | ACK,
                                                     0x0badf00d, 7000 + i)))
    # Not in time order: the reader takes packets as the file has them.
    rnd = __import__("random").Random(4)
    rnd.shuffle(out)
    return out, (E, F, G)


def make_named(np_factory, name):
    n = np_factory(name)
    n.write_config(extra="[observe]\nresearch = %s\n" % RESEARCH)
    n.init()
    return n


@pytest.mark.parametrize("chunk", ["1", "7", "64"])
def test_import_pcap_chunked_same_as_whole(np_factory, tmp_path, monkeypatch, chunk):
    """Folding the capture in many small chunks (merged address by address) gives the
    same records as folding it in one: the same verdicts and evidence, to the count."""
    now = int(time.time())
    pkts, (E, F, G) = spread_packets(now)
    pkts += packets(now)
    path = str(tmp_path / "spread.pcap")
    write_pcap(path, pkts)
    whole = make_named(np_factory, "whole")
    sw = json.loads(whole.ctl("import", "pcap", path, "--json").stdout)
    monkeypatch.setenv("NP_IMPORT_CHUNK_EVENTS", chunk)
    cut = make_named(np_factory, "cut")
    sc = json.loads(cut.ctl("import", "pcap", path, "--json").stdout)
    monkeypatch.delenv("NP_IMPORT_CHUNK_EVENTS")
    for k in ("packets", "events", "kinds", "addresses", "records", "stale", "future",
              "first_time", "last_time"):
        assert sw[k] == sc[k], k
    assert sw["addresses"] == 7
    for addr in (A, B, C, D, E, F, G):
        for at in (now, now - 20 * 3600):
            assert show(whole, addr, at) == show(cut, addr, at), (addr, at)
    check_pcap_verdicts(cut)
    # E: one Mirai SYN every 20 minutes; the verdict's hours are those whose evidence
    # times fall in the last 24 h.
    e = show(cut, E, now)
    assert e["verdict"] == "infected" and e["rule"] == "mirai_syn"
    start = now - 30 * 3600
    times = [start + i * 1200 for i in range(90)]
    hours = {}
    for t in times:
        h = hours.setdefault(t // 3600, [t, t])
        h[0], h[1] = min(h[0], t), max(h[1], t)
    in_window = sum(1 for t in times
                    if hours[t // 3600][1] >= now - 86400 and hours[t // 3600][0] <= now)
    assert e["evidence"]["fingerprint_hits"] == in_window
    assert sum(ports(e).values()) == in_window
    f = show(cut, F, now)
    assert f["verdict"] == "suspicious" and set(ports(f)) == {37215, 8080, 445}
    g = show(cut, G, now)
    assert g["verdict"] == "not_observed" and g["evidence"]["kinds"]["backscatter"] >= 23


@pytest.mark.parametrize("chunk", [None, "100"])
def test_import_pcap_address_cap_keeps_recent(np_factory, tmp_path, monkeypatch, chunk):
    """Over [observe] max_addresses the import keeps the most recently active addresses:
    1200 sources, one SYN each, in time order; the 200 oldest are evicted (also when the
    cap is reached in the middle of the import, chunk after chunk)."""
    n = np_factory()
    n.write_config(extra="[observe]\nmax_addresses = 1000\n")
    n.init()
    now = int(time.time())
    pkts = []
    for i in range(1200):
        src = "100.64.%d.%d" % (i // 250, 1 + i % 250)
        dst = DARK % (1 + i % 200)
        seq = 0x01020304 + i
        pkts.append((now - 5000 + i * 4, tcp_frame(src, dst, 40000, 23, SYN, seq,
                                                   not_masscan(dst, 23, seq, 100 + i))))
    path = str(tmp_path / "many.pcap")
    write_pcap(path, pkts)
    if chunk is not None:
        monkeypatch.setenv("NP_IMPORT_CHUNK_EVENTS", chunk)
    s = json.loads(n.ctl("import", "pcap", path, "--json").stdout)
    assert s["addresses"] == 1000 and s["evicted"] == 200 and s["records"] == 1000
    oldest_kept = "100.64.%d.%d" % (200 // 250, 1 + 200 % 250)
    newest_gone = "100.64.%d.%d" % (199 // 250, 1 + 199 % 250)
    assert show(n, "100.64.0.1")["verdict"] == "not_observed"
    assert show(n, newest_gone)["verdict"] == "not_observed"
    assert show(n, oldest_kept)["verdict"] == "suspicious"
    assert show(n, "100.64.4.200")["verdict"] == "suspicious"
