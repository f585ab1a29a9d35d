# SPDX-License-Identifier: MIT
# The writer's WAL writes coalesced (src/store/walbuf.c): with many RFC 2136 UPDATEs in
# flight, so that group commits are larger than the write buffer, a kill -9 loses no
# acknowledged update, and the store the server wrote recovers clean and passes SQLite's
# integrity check.

import os
import re
import select
import socket
import sqlite3
import struct
import time

import dns.name
import dns.rcode
import dns.tsig
import dns.update

from conftest import ZONE

HOSTS = 300
OUTSTANDING = 64
BURST = 120
# A TXT record of about 1 KiB with each address: every update writes several pages.
TXT = " ".join('"%s"' % (c * 250) for c in "abcd")
WALBUF_BYTES = 120 * 1024  # src/store/walbuf.c


def update_wire(key, host, ip, msg_id):
    u = dns.update.UpdateMessage(ZONE, id=msg_id)
    u.use_tsig(key)
    name = dns.name.from_text("%s.%s" % (host, ZONE))
    u.replace(name, 60, "A", ip)
    u.replace(name, 60, "TXT", TXT)
    return u.to_wire()


def integrity(path):
    db = sqlite3.connect(path)
    try:
        return db.execute("PRAGMA integrity_check").fetchall()
    finally:
        db.close()


def largest_commit_bytes(wal):
    """The bytes of frames of the largest transaction in the WAL's current generation
    (frames carrying the header's salts; a commit frame has a database size)."""
    with open(wal, "rb") as f:
        data = f.read()
    if len(data) < 32:
        return 0
    page, salts = struct.unpack(">I", data[8:12])[0], data[16:24]
    largest = run = 0
    off = 32
    while off + 24 + page <= len(data) and data[off + 8:off + 16] == salts:
        run += 24 + page
        if struct.unpack(">I", data[off + 4:off + 8])[0]:
            largest, run = max(largest, run), 0
        off += 24 + page
    return largest


class Updater:
    """UDP UPDATEs with at most one in flight per host; acked maps a host to the last
    address acknowledged (NOERROR), inflight a message id to (host, address)."""

    def __init__(self, n, key):
        self.n, self.key = n, key
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.acked, self.inflight, self.busy = {}, {}, set()
        self.sent = self.answered = self.next_host = 0

    def prepare_one(self):
        """The next update's wire, counted in flight (sent by the caller)."""
        while True:
            host = "h%d" % (self.next_host % HOSTS)
            self.next_host += 1
            if host not in self.busy:
                break
        self.sent += 1
        ip = "10.%d.%d.%d" % (self.sent >> 16 & 255, self.sent >> 8 & 255, self.sent & 255)
        msg_id = self.sent & 0xFFFF
        self.inflight[msg_id] = (host, ip)
        self.busy.add(host)
        return update_wire(self.key, host, ip, msg_id)

    def send(self, wire):
        self.sock.sendto(wire, ("127.0.0.1", self.n.dns_port))

    def receive(self, wait):
        if not select.select([self.sock], [], [], wait)[0]:
            return
        while True:
            try:
                a = self.sock.recv(65535)
            except BlockingIOError:
                return
            msg_id = struct.unpack("!H", a[:2])[0]
            if msg_id not in self.inflight:
                continue
            host, ip = self.inflight.pop(msg_id)
            self.busy.discard(host)
            assert a[3] & 0xF == dns.rcode.NOERROR, "update of %s: rcode %d" % (host, a[3] & 0xF)
            self.acked[host] = ip
            self.answered += 1


def test_kill9_keeps_every_acknowledged_update_of_large_batches(np_factory):
    n = np_factory()
    n.write_config()
    n.init()
    n.add_user("alice")
    zf = os.path.join(n.tmp, "hosts.zone")
    with open(zf, "w") as f:
        for i in range(HOSTS):
            f.write("h%d.%s. 60 IN A 192.0.2.1\n" % (i, ZONE))
    n.ctl("zone", "import", zf, "--zone", ZONE, "--user", "alice")
    out = n.ctl("tsig", "add", "bulk", "--user", "alice").stdout
    m = re.search(r'algorithm (\S+);\n\tsecret "([^"]+)";', out)
    u = Updater(n, dns.tsig.Key("bulk.", m.group(2), m.group(1)))
    n.start()

    # A steady OUTSTANDING in flight (group commits of many updates), then all answered.
    # About 6 frames an update: with the bursts below, the WAL stays under the checkpoint's
    # 32000 frames, so no restart of the WAL drops the large batches from it.
    end = time.monotonic() + 30
    while u.answered < 300 and time.monotonic() < end:
        while len(u.inflight) < OUTSTANDING:
            u.send(u.prepare_one())
        u.receive(2.0)
    while u.inflight and time.monotonic() < end:
        u.receive(2.0)
    assert u.answered >= 300 and not u.inflight, "%d answered in 30 s" % u.answered
    # Bursts (signed beforehand, sent back to back) the writer takes in a few large batches,
    # until one batch wrote more than the buffer holds (how they split depends on timing).
    db = os.path.join(n.data_dir, "nameplate.db")
    for _ in range(3):
        for wire in [u.prepare_one() for _ in range(BURST)]:
            u.send(wire)
        while u.inflight and time.monotonic() < end:
            u.receive(2.0)
        assert not u.inflight, "%d updates of a burst unanswered" % len(u.inflight)
        if largest_commit_bytes(db + "-wal") > WALBUF_BYTES:
            break
    # One more, killed once the first answers come: the rest are in the queue, in a commit
    # or in its sync.
    for wire in [u.prepare_one() for _ in range(BURST)]:
        u.send(wire)
    while len(u.inflight) == BURST and time.monotonic() < end:
        u.receive(2.0)
    n.kill9()
    time.sleep(0.1)
    u.receive(0)  # answers on their way when it died were acknowledgements too
    u.sock.close()

    largest = largest_commit_bytes(db + "-wal")
    assert largest > WALBUF_BYTES, \
        "no group commit larger than the write buffer (largest %d bytes)" % largest
    # What the killed server left recovers clean with SQLite's own VFS (Python's sqlite3).
    assert integrity(db) == [("ok",)]
    n.start()
    maybe = dict(u.inflight.values())  # unanswered: either address is right
    for host, ip in sorted(u.acked.items()):
        got = n.addrs("%s.%s" % (host, ZONE))
        assert got == {ip} or got == {maybe.get(host)}, \
            "%s: acknowledged %s, served %s after kill -9" % (host, ip, got)
    n.stop()
    assert integrity(db) == [("ok",)]
