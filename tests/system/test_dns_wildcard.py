# SPDX-License-Identifier: MIT
# nameplated listening on the wildcard addresses (listen = 0.0.0.0@PORT and ::@PORT)
# answers from the address each query came to: in a network namespace of its own with two
# IPv4 and two IPv6 addresses, dig asks one address from the other, and the answer (a query,
# an UPDATE, UDP and TCP) must come back from the address asked, or dig drops it.

import os
import subprocess

import pytest

from conftest import NAMEPLATED, ZONE, wait_for
import netns

HOST = "home." + ZONE
PORT = 5353

pytestmark = pytest.mark.skipif(not netns.have_root(), reason="network namespaces need root")


@pytest.fixture
def lab(tmp_path):
    lab = netns.Lab(tmp_path)
    try:
        yield lab
    finally:
        lab.close()


def test_wildcard_listen_answers_from_the_address_asked(np_factory, lab, tmp_path):
    n = np_factory()
    text = n.config_text()
    text = text.replace("listen = 127.0.0.1@%d\nlisten = ::1@%d" % (n.dns_port, n.dns_port),
                        "listen = 0.0.0.0@%d\nlisten = ::@%d" % (PORT, PORT))
    assert "0.0.0.0@%d" % PORT in text
    with open(n.conf, "w") as f:
        f.write(text)
    n.init()
    n.add_user("alice")
    n.add_host(HOST, "alice")
    n.ctl("host", "set", HOST, "A", "192.0.2.77")
    keyfile = tmp_path / "k.key"
    keyfile.write_text(n.ctl("tsig", "add", "k", "--user", "alice").stdout)

    ns = lab.ns("srv")
    for a in ("192.0.2.1/32", "192.0.2.2/32"):
        ns.ip("addr", "add", a, "dev", "lo")
    for a in ("2001:db8::1/128", "2001:db8::2/128"):
        ns.ip("addr", "add", a, "dev", "lo", "nodad")
    p = ns.popen([NAMEPLATED, "-c", n.conf, "-f"], str(tmp_path / "srv.log"))
    assert wait_for(lambda: "start: zones=" in lab.log(p), 10), lab.log(p)

    for src, dst in (("192.0.2.1", "192.0.2.2"), ("192.0.2.2", "192.0.2.1"),
                     ("2001:db8::1", "2001:db8::2")):
        for tcp in ([], ["+tcp"]):
            r = ns.run(["dig", "@" + dst, "-b", src, "-p", PORT, HOST, "A", "+short",
                        "+tries=1", "+time=2"] + tcp, check=False)
            assert r.stdout.split() == ["192.0.2.77"], (src, dst, tcp, r.stdout, r.stderr)
    # An UPDATE goes back from the address asked too (its answer leaves another thread).
    script = ("server 192.0.2.2 %d\nlocal 192.0.2.1\nzone %s\nupdate delete %s A\n"
              "update add %s 60 A 192.0.2.78\nsend\n" % (PORT, ZONE, HOST, HOST))
    r = subprocess.run(ns.exec_cmd(["nsupdate", "-t", "3", "-k", keyfile]), input=script,
                       text=True, capture_output=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    r = ns.run(["dig", "@2001:db8::2", "-b", "2001:db8::1", "-p", PORT, HOST, "A", "+short"])
    assert r.stdout.split() == ["192.0.2.78"], r.stdout
    assert lab.stop(p) == 0, lab.log(p)
