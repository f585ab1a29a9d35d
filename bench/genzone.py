# SPDX-License-Identifier: MIT
"""Generates the benchmark data: one host list, the same zone for NSD and Knot, and the
dnsperf query file.

Output (in OUTDIR):
  hosts.zone   the host records only ($ORIGIN/$TTL, relative names, A and AAAA):
               what `nameplatectl zone import` reads. Nameplate makes SOA/NS from its
               config, so they are not in this file.
  full.zone    SOA + NS + the same host records: what NSD and Knot load. The SOA/NS
               values equal the nameplated [zone] config the bench writes.
  queries.txt  dnsperf input: 80% A of existing hosts, 10% AAAA of hosts that have one,
               10% A of names that do not exist (NXDOMAIN). Fixed seed: every run and
               every server gets the same file.

Host i is h<i>.dyn.example with A 10.<i>>16>.<(i>>8)&255>.<i&255>; every tenth host
(i % 10 == 0) also has AAAA 2001:db8::<i in hex, as 32-bit suffix>.
"""

import argparse
import ipaddress
import os
import random

ORIGIN = "dyn.example"
TTL = 60
SOA_TTL = 3600
# The SOA fields nameplated derives from its config defaults (src/common/config.h).
SOA = "ns1.dyn.example. hostmaster.dyn.example. 1 3600 600 1209600 60"


def host_a(i):
    return "10.%d.%d.%d" % (i >> 16, (i >> 8) & 255, i & 255)


def host_aaaa(i):
    # Canonical text (RFC 5952), so answers compare as strings.
    return str(ipaddress.IPv6Address((0x20010db8 << 96) | i))


def has_aaaa(i):
    return i % 10 == 0


def write_hosts(f, n):
    # ns1 is an ordinary host so the NS target resolves the same in every server.
    f.write("ns1\tA\t127.0.0.1\n")
    for i in range(n):
        f.write("h%d\tA\t%s\n" % (i, host_a(i)))
        if has_aaaa(i):
            f.write("h%d\tAAAA\t%s\n" % (i, host_aaaa(i)))


def generate(outdir, n, nqueries, seed=1):
    os.makedirs(outdir, exist_ok=True)
    head = "$ORIGIN %s.\n$TTL %d\n" % (ORIGIN, TTL)
    with open(os.path.join(outdir, "hosts.zone"), "w") as f:
        f.write(head)
        write_hosts(f, n)
    with open(os.path.join(outdir, "full.zone"), "w") as f:
        f.write(head)
        f.write("@\t%d\tIN\tSOA\t%s\n" % (SOA_TTL, SOA))
        f.write("@\t%d\tIN\tNS\tns1.%s.\n" % (SOA_TTL, ORIGIN))
        write_hosts(f, n)
    rnd = random.Random(seed)
    n6 = (n + 9) // 10
    with open(os.path.join(outdir, "queries.txt"), "w") as f:
        for _ in range(nqueries):
            r = rnd.random()
            if r < 0.8:
                f.write("h%d.%s A\n" % (rnd.randrange(n), ORIGIN))
            elif r < 0.9:
                f.write("h%d.%s AAAA\n" % (rnd.randrange(n6) * 10, ORIGIN))
            else:
                f.write("nx%d.%s A\n" % (rnd.randrange(1 << 30), ORIGIN))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--hosts", type=int, default=100000)
    ap.add_argument("--queries", type=int, default=200000)
    a = ap.parse_args()
    generate(a.outdir, a.hosts, a.queries)


if __name__ == "__main__":
    main()
