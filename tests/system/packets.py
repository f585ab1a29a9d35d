# SPDX-License-Identifier: MIT
# Hand-made IPv4/TCP packets (valid checksums) for the darknet tests: sent from a raw socket
# in a test namespace, or written into a pcap file.

import socket
import struct

SYN, ACK = 0x02, 0x10


def ip4(s):
    return struct.unpack("!I", socket.inet_aton(s))[0]


def csum(data):
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def tcp_packet(src, dst, sport, dport, seq, flags, ttl=64, ip_id=4242, window=5840):
    """IPv4 header + TCP header without options or payload."""
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, window, 0, 0)
    c = csum(s + d + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), ip_id, 0, ttl, 6, 0, s, d)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + tcp


def mirai_syn(src, dst, sport, dport, **kw):
    """A TCP SYN with the Mirai fingerprint: sequence number == destination address."""
    return tcp_packet(src, dst, sport, dport, ip4(dst), SYN, **kw)
