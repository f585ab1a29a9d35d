# SPDX-License-Identifier: MIT
"""A tiny stub for the bench: one UDP question to a loopback server, and the rcode and
A/AAAA addresses of the answer. Hand-rolled so the poll loop of the freshness test costs
microseconds, not dnspython's parsing."""

import ipaddress
import os
import socket
import struct

TYPE_A = 1
TYPE_AAAA = 28
TYPES = {"A": TYPE_A, "AAAA": TYPE_AAAA, "SOA": 6, "NS": 2}


def build_query(qid, name, qtype):
    out = [struct.pack("!HHHHHH", qid, 0x0000, 1, 0, 0, 0)]  # RD clear: authoritative
    for label in name.rstrip(".").split("."):
        b = label.encode("ascii")
        out.append(bytes([len(b)]) + b)
    out.append(b"\x00" + struct.pack("!HH", qtype, 1))
    return b"".join(out)


def _skip_name(msg, off):
    # Bounded: a name has at most 127 labels; a pointer ends it.
    for _ in range(128):
        if off >= len(msg):
            raise ValueError("truncated name")
        n = msg[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n
    raise ValueError("name too long")


def parse_response(msg, qid):
    """Returns (rcode, [address strings of A/AAAA answers]); raises ValueError if the
    message is not the answer to qid."""
    if len(msg) < 12:
        raise ValueError("short")
    rid, flags, qd, an, _ns, _ar = struct.unpack("!HHHHHH", msg[:12])
    if rid != qid or not flags & 0x8000:
        raise ValueError("not our answer")
    off = 12
    for _ in range(qd):
        off = _skip_name(msg, off) + 4
    addrs = []
    for _ in range(an):
        off = _skip_name(msg, off)
        rtype, _cls, _ttl, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
        off += 10
        rdata = msg[off:off + rdlen]
        off += rdlen
        if rtype == TYPE_A and rdlen == 4:
            addrs.append(str(ipaddress.IPv4Address(rdata)))
        elif rtype == TYPE_AAAA and rdlen == 16:
            addrs.append(str(ipaddress.IPv6Address(rdata)))
    return flags & 0xF, addrs


class Stub:
    """One connected UDP socket to 127.0.0.1:port."""

    def __init__(self, port, host="127.0.0.1", timeout=1.0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect((host, port))
        self.sock.settimeout(timeout)

    def close(self):
        self.sock.close()

    def query(self, name, qtype="A"):
        """(rcode, addrs), or None on timeout."""
        qid = struct.unpack("!H", os.urandom(2))[0]
        try:
            self.sock.send(build_query(qid, name, TYPES[qtype]))
        except ConnectionRefusedError:  # ICMP port unreachable of an earlier poll
            return None
        # Bounded: skip at most a few stray datagrams (late answers of timed-out polls).
        for _ in range(8):
            try:
                msg = self.sock.recv(4096)
            except (socket.timeout, ConnectionRefusedError):
                return None
            try:
                return parse_response(msg, qid)
            except ValueError:
                continue
        return None
