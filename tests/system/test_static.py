# SPDX-License-Identifier: MIT
"""GET /static/: the files of static/ compiled into nameplated, and nothing else.

- /static/style.css: text/css; charset=utf-8, nosniff, the same bytes as static/style.css;
  with ?v=<its checksum> (the URL the pages link) cacheable for good, otherwise revalidated.
  HEAD answers the same headers; POST is 405.
- Every other path under /static/ is 404, traversal attempts ("..", encoded or not, "//",
  a trailing "/") included: no file outside the embedded set can be reached.
"""
import http.client
import os
import re
import socket
import zlib

from conftest import ROOT

STYLE = os.path.join(ROOT, "static", "style.css")


def raw_get(port, target):
    """A GET with the request target sent byte for byte (http.client would keep it too, but
    a raw socket makes sure nothing normalizes it); returns the status code."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                   % target).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", data)
    assert m, data[:200]
    return int(m.group(1))


def test_stylesheet_is_served(np):
    with open(STYLE, "rb") as f:
        want = f.read()
    st, hdrs, body = np.http("/static/style.css")
    assert st == 200
    assert hdrs["content-type"] == "text/css; charset=utf-8"
    assert hdrs["x-content-type-options"] == "nosniff"
    assert hdrs["cache-control"] == "no-cache"
    assert body.encode() == want
    # The versioned URL the pages link: the checksum of its bytes (POSIX cksum).
    st, hdrs, body = np.http("/static/style.css?v=%d" % posix_cksum(want))
    assert st == 200 and body.encode() == want
    assert hdrs["cache-control"] == "public, max-age=31536000, immutable"
    st, hdrs, _ = np.http("/static/style.css?v=1")
    assert st == 200 and hdrs["cache-control"] == "no-cache"
    st, hdrs, body = np.http("/static/style.css", method="HEAD")
    assert st == 200 and body == ""
    assert hdrs["content-type"] == "text/css; charset=utf-8"
    assert hdrs["x-content-type-options"] == "nosniff"
    st, hdrs, _ = np.http("/static/style.css", method="POST")
    assert st == 405 and hdrs["allow"] == "GET, HEAD"


def test_nothing_else_under_static(np):
    for path in ("/static/", "/static", "/static/../anything", "/static/../../etc/passwd",
                 "/static/..%2f..%2fetc%2fpasswd", "/static/%2e%2e/check",
                 "/static//style.css", "/static/./style.css", "/static/style.css/",
                 "/static/STYLE.CSS", "/static/nope.css", "/static/style.cs",
                 "/static/layout.html", "/static/check_form.html", "/staticx/style.css"):
        assert raw_get(np.http_port, path) == 404, path
    st, _, body = np.http("/static/../anything")
    assert st == 404 and body == "not found\n"


def posix_cksum(data):
    """POSIX cksum's CRC (what scripts/embed.sh records as the file's version)."""
    crc = 0
    poly = 0x04C11DB7

    def feed(byte):
        nonlocal crc
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ poly) & 0xFFFFFFFF if crc & 0x80000000 else (crc << 1) & 0xFFFFFFFF
    for b in data:
        feed(b)
    n = len(data)
    while n:
        feed(n & 0xFF)
        n >>= 8
    return ~crc & 0xFFFFFFFF
