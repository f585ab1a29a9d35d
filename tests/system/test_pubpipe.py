# SPDX-License-Identifier: MIT
# Pipelined commits under concurrent UPDATEs: a batch may be published and answered by the
# WAL sync thread while the writer runs the next batch (docs/ARCHITECTURE.md, "Pipelined
# commits"). Whichever thread answers, a client told NOERROR finds its change served at
# once, and the zone's serial seen after each acknowledged update only moves forward.

import threading

import dns.name
import dns.query
import dns.rcode
import dns.tsig
import dns.update

from conftest import ZONE
from test_update import add_key

HOSTS = 16  # UPDATEs in flight at once, one host each
ROUNDS = 15


def test_acknowledged_updates_are_served_at_once_and_in_order(np_factory):
    n = np_factory()
    n.write_config()
    n.init()
    n.add_user("alice")
    names = ["p%d.%s" % (i, ZONE) for i in range(HOSTS)]
    for name in names:
        n.add_host(name, "alice")
    n.start()
    _, alg, secret = add_key(n, "pipe-key", "--user", "alice")
    key = dns.tsig.Key("pipe-key.", secret, alg)
    failures = []

    def client(i):
        name = names[i]
        last_serial = 0
        try:
            for r in range(ROUNDS):
                addr = "198.51.%d.%d" % (i, r + 1)
                u = dns.update.UpdateMessage(ZONE)
                u.use_tsig(key)
                u.replace(dns.name.from_text(name), 60, "A", addr)
                ans = dns.query.udp(u, "127.0.0.1", port=n.dns_port, timeout=5)
                if ans.rcode() != dns.rcode.NOERROR:
                    failures.append("%s round %d: %s" % (name, r, dns.rcode.to_text(ans.rcode())))
                    return
                got = n.query(name, "A")
                served = [rr.address for rs in got.answer for rr in rs]
                if served != [addr]:
                    failures.append("%s round %d: acknowledged %s, served %s" %
                                    (name, r, addr, served))
                    return
                serial = n.serial()
                if serial <= last_serial:
                    failures.append("%s round %d: serial %d after %d" %
                                    (name, r, serial, last_serial))
                    return
                last_serial = serial
        except Exception as e:  # a timeout: reported with the others
            failures.append("%s: %r" % (name, e))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(HOSTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    assert failures == []
