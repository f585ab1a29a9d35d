# SPDX-License-Identifier: MIT
# Metrics in the Prometheus text format on [metrics] listen: Debian's promtool accepts what
# a scrape returns, and the counters move with what the server did (DNS answers by
# transport, rcode and type, TCP connections, UPDATE results, failed authentications, the
# writer's commits and their latency). The listener serves /metrics only.

import http.client
import re
import subprocess

import dns.message
import dns.query
import dns.rcode
import dns.tsig
import dns.update
import pytest

from conftest import ZONE, free_port

HOST = "home." + ZONE


@pytest.fixture
def srv(np_factory):
    n = np_factory()
    n.metrics_port = free_port()
    n.write_config(extra="[metrics]\nlisten = 127.0.0.1:%d\n" % n.metrics_port)
    n.init()
    n.add_user("alice")
    n.secret = n.add_host(HOST, "alice")
    n.start()
    return n


def scrape(n, path="/metrics", method="GET"):
    c = http.client.HTTPConnection("127.0.0.1", n.metrics_port, timeout=10)
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, r.getheader("Content-Type"), r.read().decode()
    finally:
        c.close()


def value(text, name, **labels):
    """The sample's value (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"(\w+)(?:\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != "nameplate_" + name:
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if all(got.get(k) == v for k, v in labels.items()):
            return float(m.group(3))
    return 0.0


def test_scrape_passes_promtool_and_counts(srv):
    st, ctype, text = scrape(srv)
    assert st == 200 and ctype.startswith("text/plain; version=0.0.4"), (st, ctype)
    before = value(text, "dns_answers_total", transport="udp", rcode="NOERROR", qtype="A")
    for _ in range(5):
        srv.query(HOST, "A")
    srv.query("nohost." + ZONE, "AAAA")
    dns.query.tcp(dns.message.make_query(HOST, "MX"), "127.0.0.1", port=srv.dns_port,
                  timeout=5)
    secret = re.search(r'secret "([^"]+)"', srv.ctl("tsig", "add", "k", "--user",
                                                    "alice").stdout).group(1)
    u = dns.update.UpdateMessage(ZONE)
    u.use_tsig(dns.tsig.Key("k.", secret, "hmac-sha256"))
    u.replace(dns.name.from_text(HOST + "."), 60, "A", "192.0.2.9")
    assert dns.query.udp(u, "127.0.0.1", port=srv.dns_port, timeout=5).rcode() == 0
    u = dns.update.UpdateMessage(ZONE)
    u.use_tsig(dns.tsig.Key("nosuch.", secret, "hmac-sha256"))
    u.replace(dns.name.from_text(HOST + "."), 60, "A", "192.0.2.10")
    with pytest.raises(dns.tsig.PeerBadKey):
        dns.query.udp(u, "127.0.0.1", port=srv.dns_port, timeout=5)
    srv.update(hostname=HOST, myip="192.0.2.11", user="alice", secret="wrong-secret")

    st, _, text = scrape(srv)
    assert st == 200
    p = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                       capture_output=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr + text
    assert value(text, "dns_answers_total", transport="udp", rcode="NOERROR",
                 qtype="A") >= before + 5
    assert value(text, "dns_answers_total", transport="udp", rcode="NXDOMAIN",
                 qtype="AAAA") >= 1
    assert value(text, "dns_answers_total", transport="tcp", rcode="NOERROR", qtype="MX") == 1
    assert value(text, "dns_tcp_connections_total", result="accepted") >= 1
    assert value(text, "updates_total", interface="rfc2136", rcode="NOERROR") == 1
    assert value(text, "updates_total", interface="rfc2136", rcode="NOTAUTH") == 1
    assert value(text, "auth_failures_total", interface="rfc2136") == 1
    assert value(text, "auth_failures_total", interface="dyndns2") == 1
    assert value(text, "writer_batches_total") >= 1
    assert value(text, "writer_commit_seconds_count") == value(text, "writer_batches_total")
    assert value(text, "writer_commit_seconds_bucket", le="+Inf") >= 1
    assert value(text, "writer_commit_failures_total") == 0


def test_only_get_metrics(srv):
    assert scrape(srv, "/")[0] == 404
    assert scrape(srv, "/metrics/x")[0] == 404
    assert scrape(srv, "/metrics", "POST")[0] == 405
    # The public HTTP listener does not serve it.
    st, _, _ = srv.http("/metrics")
    assert st == 404
