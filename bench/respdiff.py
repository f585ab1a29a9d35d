# SPDX-License-Identifier: MIT
"""Differential test in the spirit of BIND's respdiff: nameplated and NSD serve the same
zone on loopback, both get the same generated queries, and every difference in their
answers is either explained by a rule of the table below or counted as unexplained.

    /usr/bin/python3 bench/respdiff.py [--build build] [--queries 20000] [--hosts 100000]

Exits 1 when more than --max-unexplained percent (default 0.3) of the queries differ in a
way no rule explains, 2 on a setup error. See bench/README.md for the categories."""

import argparse
import json
import os
import random
import shutil
import socket
import struct
import sys
import tempfile
import time

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402  (server start/stop, shared with the benchmark)
import genzone  # noqa: E402

ZONE = genzone.ORIGIN
T = dns.rdatatype
C = dns.rdataclass


def log(*a):
    print("[respdiff]", *a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the zone

# Names beside the h<i> hosts, relative to the zone. Every kind of node the model has:
# several records per RRset, TXT and MX, answers too big for 512 bytes and for 4096,
# wildcards (with a real host below one), and empty non-terminals.
N_WILD = 5
SPECIAL = ["ns1", "mail", "multi", "txt", "mx", "mxout", "bigtxt", "hugetxt", "ttl",
           "a.b", "x.y.z", "sub.w0"] + ["w%d" % i for i in range(N_WILD)]
ENTS = ["b", "y.z", "z"]


def wild_records(i):
    """The records of wildcard host w<i> (and of *.w<i>, which must mirror them)."""
    rr = ["A\t192.0.2.%d" % (100 + i)]
    if i % 2 == 1:
        rr.append("AAAA\t2001:db8:1::%x" % (100 + i))
    if i == 2:
        rr += ["TXT\t\"wild %d\"" % i, "MX\t10 mail.%s." % ZONE]
    return rr


def write_hosts(path, n):
    """The host records for `nameplatectl zone import` (NSD gets them with SOA and NS)."""
    with open(path, "w") as f:
        f.write("$ORIGIN %s.\n$TTL %d\n" % (ZONE, genzone.TTL))
        genzone.write_hosts(f, n)  # ns1 and h0..h<n-1>: A, every tenth AAAA
        for i in range(0, n, 50):
            f.write("h%d\tTXT\t\"host %d\" \"second string\"\n" % (i, i))
        for i in range(0, n, 100):
            f.write("h%d\tMX\t%d mail.%s.\n" % (i, i % 7, ZONE))
        f.write("mail\tA\t192.0.2.25\nmail\tAAAA\t2001:db8::25\n")
        for k in range(4):
            f.write("multi\tA\t192.0.2.%d\n" % (1 + k))
        f.write("multi\tAAAA\t2001:db8::1\nmulti\tAAAA\t2001:db8::2\n")
        f.write("txt\tTXT\t\"v=spf1 -all\"\ntxt\tTXT\t\"a\\\"quote\" \"and \\\\ slash\"\n")
        f.write("mx\tMX\t10 mail.%s.\nmx\tMX\t20 h1.%s.\n" % (ZONE, ZONE))
        f.write("mxout\tMX\t0 mx.example.net.\n")
        # Over 512 bytes, under 1232: truncated without EDNS or with a small payload.
        for k in range(4):
            f.write("bigtxt\tTXT\t\"%s\"\n" % (chr(ord("a") + k) * 200))
        # About 4,100 bytes: truncated over UDP at every payload we offer.
        for k in range(16):
            f.write("hugetxt\tTXT\t\"%s\"\n" % (chr(ord("a") + k) * 250))
        f.write("ttl\t300\tA\t192.0.2.30\nttl\t86400\tTXT\t\"long ttl\"\n")
        f.write("a.b\tA\t192.0.2.40\nx.y.z\tAAAA\t2001:db8::40\n")
        for i in range(N_WILD):
            for r in wild_records(i):
                f.write("w%d\t%s\n*.w%d\t%s\n" % (i, r, i, r))
        f.write("sub.w0\tA\t192.0.2.200\n")


def write_full(path, hosts_path, soa, ns):
    """The zone NSD loads: the SOA and NS nameplated serves (from its [zone] config and
    its serial), then the same host records."""
    with open(path, "w") as f:
        f.write("$ORIGIN %s.\n" % ZONE)
        f.write("@\t%d\tIN\tSOA\t%s\n" % (soa.ttl, soa[0].to_text()))
        for r in ns:
            f.write("@\t%d\tIN\tNS\t%s\n" % (ns.ttl, r.to_text()))
        with open(hosts_path) as h:
            f.write(h.read())


# ---------------------------------------------------------------- the queries

QTYPES = [(T.A, 22), (T.AAAA, 14), (T.TXT, 8), (T.MX, 8), (T.NS, 5), (T.SOA, 5),
          (T.ANY, 5), (T.CNAME, 3), (T.PTR, 3), (T.SRV, 3), (T.CAA, 3), (T.DS, 3),
          (T.DNSKEY, 3), (T.NSEC, 2), (T.RRSIG, 2), (T.HINFO, 2), (T.HTTPS, 2),
          (T.SVCB, 1), (T.NULL, 1), (65280, 1), (T.NAPTR, 1), (T.SPF, 1), (T.TLSA, 1)]
PAYLOADS = [512, 1232, 1232, 4096, 4096, 65535, 1400, 600, 511, 100, 0]


def pick(rnd, weighted):
    total = sum(w for _, w in weighted)
    x = rnd.uniform(0, total)
    for v, w in weighted:
        x -= w
        if x <= 0:
            return v
    return weighted[-1][0]


def random_label(rnd):
    return "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789-")
                   for _ in range(rnd.randint(1, 12))).strip("-") or "q"


def random_name(rnd, n):
    """(relative-or-absolute name, kind). kind says what the name is, for the report."""
    k = rnd.random()
    if k < 0.28:
        return "h%d.%s" % (rnd.randrange(n), ZONE), "host"
    if k < 0.33:
        return "h%d.%s" % (rnd.randrange(0, n, 50), ZONE), "host-txt"
    if k < 0.36:
        return "h%d.%s" % (rnd.randrange(0, n, 100), ZONE), "host-mx"
    if k < 0.43:
        return "%s.%s" % (rnd.choice(SPECIAL), ZONE), "special"
    if k < 0.46:
        return "%s.%s" % (rnd.choice(["bigtxt", "hugetxt", "multi"]), ZONE), "big"
    if k < 0.56:
        return ZONE, "apex"
    if k < 0.64:
        return "nx%d.%s" % (rnd.randrange(1 << 30), ZONE), "nxdomain"
    if k < 0.67:
        return "%s.h%d.%s" % (random_label(rnd), rnd.randrange(n), ZONE), "below-host"
    if k < 0.77:
        labels = ".".join(random_label(rnd) for _ in range(rnd.randint(1, 3)))
        return "%s.w%d.%s" % (labels, rnd.randrange(N_WILD), ZONE), "wildcard"
    if k < 0.79:
        return "*.w%d.%s" % (rnd.randrange(N_WILD), ZONE), "wildcard-owner"
    if k < 0.80:
        return "%s.sub.w0.%s" % (random_label(rnd), ZONE), "below-wildcard-host"
    if k < 0.85:
        return "%s.%s" % (rnd.choice(ENTS), ZONE), "ent"
    if k < 0.87:
        return "%s.%s.%s" % (random_label(rnd), rnd.choice(ENTS), ZONE), "below-ent"
    if k < 0.90:
        return rnd.choice(["example.com", "example", "", "com", "xdyn.example",
                           "sub.example.net", "dyn.example.org", "version.bind",
                           "id.server"]), "out-of-zone"
    return "%s.%s" % (rnd.choice(["ns1", "mail", "w3", "multi"]), ZONE), "special"


# Half the questions for names that exist ask for a type the name likely has, so that
# answers (and truncation) are exercised as much as NODATA.
LIKELY = {"host": [T.A, T.AAAA], "host-txt": [T.TXT], "host-mx": [T.MX],
          "big": [T.TXT, T.ANY, T.A, T.AAAA], "special": [T.A, T.AAAA, T.TXT, T.MX],
          "wildcard": [T.A, T.AAAA, T.TXT, T.MX], "apex": [T.SOA, T.NS, T.ANY]}


def mixed_case(rnd, name):
    """0x20: each letter upper or lower at random (resolvers do this; answers echo it)."""
    return "".join(c.upper() if c.isalpha() and rnd.random() < 0.5 else c for c in name)


def generate_queries(count, n_hosts, seed, tcp_share):
    rnd = random.Random(seed)
    out = []
    for i in range(count):
        name, kind = random_name(rnd, n_hosts)
        if rnd.random() < 0.25:
            name = mixed_case(rnd, name)
        qclass = C.IN
        r = rnd.random()
        if r < 0.02:
            qclass = C.CH
        elif r < 0.03:
            qclass = C.ANY
        elif r < 0.035:
            qclass = C.HS
        edns = None if rnd.random() < 0.3 else rnd.choice(PAYLOADS)
        q = {
            "i": i,
            "id": rnd.randrange(65536),
            "name": name + ".",
            "kind": kind,
            "qtype": rnd.choice(LIKELY[kind]) if kind in LIKELY and rnd.random() < 0.5
            else pick(rnd, QTYPES),
            "qclass": qclass,
            "rd": rnd.random() < 0.5,
            "cd": rnd.random() < 0.05,
            "edns": edns,
            "do": edns is not None and rnd.random() < 0.3,
            "version": 1 if edns is not None and rnd.random() < 0.01 else 0,
            "tcp": rnd.random() < tcp_share,
        }
        out.append(q)
    return out


def describe(q):
    e = "no EDNS" if q["edns"] is None else "EDNS %d%s%s" % (
        q["edns"], " DO" if q["do"] else "", " v%d" % q["version"] if q["version"] else "")
    return "%s %s %s, %s%s%s, %s" % (
        q["name"], C.to_text(q["qclass"]), T.to_text(q["qtype"]), e,
        ", RD" if q["rd"] else "", ", CD" if q["cd"] else "", "TCP" if q["tcp"] else "UDP")


def query_wire(q):
    m = dns.message.make_query(dns.name.from_text(q["name"]), q["qtype"], q["qclass"],
                               use_edns=False if q["edns"] is None else q["version"],
                               payload=q["edns"] or 0, want_dnssec=q["do"])
    m.id = q["id"]
    m.flags = (dns.flags.RD if q["rd"] else 0) | (dns.flags.CD if q["cd"] else 0)
    return m.to_wire()


# ---------------------------------------------------------------- asking

class Client:
    """One connected UDP socket per server; TCP gets a connection per query."""

    def __init__(self, port, timeout):
        self.addr = ("127.0.0.1", port)
        self.timeout = timeout
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.connect(self.addr)
        self.udp.settimeout(timeout)

    def close(self):
        self.udp.close()

    def ask_udp(self, wire, qid):
        for _ in range(2):  # one retry: loopback UDP is reliable, but be fair
            self.udp.send(wire)
            deadline = time.monotonic() + self.timeout
            while time.monotonic() < deadline:
                try:
                    resp = self.udp.recv(65535)
                except socket.timeout:
                    break
                if len(resp) >= 2 and struct.unpack("!H", resp[:2])[0] == qid:
                    return resp
        return None

    def ask_tcp(self, wire):
        try:
            with socket.create_connection(self.addr, timeout=self.timeout) as s:
                s.sendall(struct.pack("!H", len(wire)) + wire)
                buf = b""
                deadline = time.monotonic() + self.timeout
                while time.monotonic() < deadline:
                    need = 2 if len(buf) < 2 else 2 + struct.unpack("!H", buf[:2])[0]
                    if len(buf) >= need and len(buf) >= 2 and need > 2:
                        return buf[2:need]
                    chunk = s.recv(65537)
                    if not chunk:
                        return None
                    buf += chunk
        except OSError:
            return None
        return None

    def ask(self, q, wire):
        return self.ask_tcp(wire) if q["tcp"] else self.ask_udp(wire, q["id"])


# ---------------------------------------------------------------- comparing

FLAGS = [("AA", dns.flags.AA), ("TC", dns.flags.TC), ("RD", dns.flags.RD),
         ("RA", dns.flags.RA), ("CD", dns.flags.CD), ("AD", dns.flags.AD)]
SECTIONS = ("answer", "authority", "additional")


def rr_set(section):
    """A section as a set of records: owner (as sent: both servers echo the query's
    case), TTL, class, type, rdata in canonical form (RFC 4034 6.2: names inside rdata
    case folded)."""
    out = set()
    for rrset in section:
        for rd in rrset:
            out.add((rrset.name.to_text(), rrset.ttl, rrset.rdclass,
                     rrset.rdtype, rd.to_digestable()))
    return frozenset(out)


def normalize(wire):
    """What is compared of a response, as a dict of fields."""
    if wire is None:
        return {"answered": False}
    try:
        m = dns.message.from_wire(wire)
    except (dns.exception.DNSException, ValueError) as e:
        return {"answered": True, "unparsable": type(e).__name__}
    n = {
        "answered": True,
        "rcode": m.rcode(),
        "opcode": m.opcode(),
        "question": tuple((r.name.to_text(), r.rdclass, r.rdtype) for r in m.question),
        "edns": None if m.edns < 0 else (m.edns, m.payload, bool(m.ednsflags & dns.flags.DO)),
    }
    for name, bit in FLAGS:
        n["flag " + name] = bool(m.flags & bit)
    for s in SECTIONS:
        n[s] = rr_set(getattr(m, s))
    n["_msg"] = m
    return n


def differences(a, b):
    keys = sorted(k for k in set(a) | set(b) if not k.startswith("_"))
    return [k for k in keys if a.get(k) != b.get(k)]


def section_text(n, s):
    m = n.get("_msg")
    if m is None:
        return ""
    return "; ".join(rr.to_text().replace("\n", "; ") for rr in getattr(m, s))


def answer_text(n):
    if not n.get("answered"):
        return "(no answer)"
    if "unparsable" in n:
        return "(unparsable: %s)" % n["unparsable"]
    flags = " ".join(f for f, _ in FLAGS if n["flag " + f])
    e = "no EDNS" if n["edns"] is None else "EDNS v%d payload %d%s" % (
        n["edns"][0], n["edns"][1], " DO" if n["edns"][2] else "")
    parts = ["%s [%s] %s" % (dns.rcode.to_text(n["rcode"]), flags, e)]
    for s in SECTIONS:
        t = section_text(n, s)
        if t:
            parts.append("%s: %s" % (s, t))
    return " | ".join(parts)


# ---------------------------------------------------------------- explanations

# Each rule looks at one query and both answers and returns the differing fields it
# explains (an empty set when it does not apply). A query whose every differing field is
# explained by some rule counts as explained, under each rule that explained a part of
# it; anything left over makes it unexplained. Rules are narrow on purpose: each checks
# that nameplated's side is the documented behaviour, not merely that the servers differ.

def types_in(n, s):
    return {r[3] for r in n[s]}


def rule_cd(q, np, nsd, d):
    # RFC 4035 3.1.6: a name server copies the CD bit of the query into the response.
    # nameplated does; NSD 4.6 keeps only RD (except in its BADVERS answers).
    if q["cd"] and np["flag CD"] and not nsd["flag CD"]:
        return {"flag CD"}
    return set()


def rule_badvers_do(q, np, nsd, d):
    # RFC 3225 3: the DO bit of the query is copied into the response, BADVERS included.
    # nameplated does; NSD's BADVERS answer clears it.
    if (np["rcode"] == dns.rcode.BADVERS and q["do"] and np["edns"] and nsd["edns"] and
            np["edns"][2] and not nsd["edns"][2] and np["edns"][:2] == nsd["edns"][:2]):
        return {"edns"}
    return set()


def rule_class(q, np, nsd, d):
    # nameplated serves class IN only and refuses every other class, echoing the
    # question. NSD answers QCLASS ANY as IN (without AA), answers its built-in CHAOS
    # names (version.bind, id.server), and refuses HS with no question section.
    if q["qclass"] == C.IN or np["rcode"] != dns.rcode.REFUSED or np["answer"]:
        return set()
    f = {"rcode", "answer", "authority", "additional", "flag AA", "flag TC"}
    if not nsd["question"]:
        f.add("question")
    return f


def rule_ns_additional(q, np, nsd, d):
    # NSD adds the in-zone name server's address to the additional section of an NS
    # answer even with minimal-responses: yes; nameplated sends the answer section only
    # (the resolver asks for the address if it needs it). Answers are the same.
    if (T.NS in types_in(np, "answer") and not np["additional"] and
            types_in(nsd, "additional") <= {T.A, T.AAAA} and np["answer"] == nsd["answer"]):
        return {"additional"}
    return set()


RULES = [
    ("cd-copied", "nameplated copies the CD bit of the query (RFC 4035 3.1.6); NSD "
     "clears it", rule_cd),
    ("badvers-do", "BADVERS: nameplated echoes the DO bit in the OPT (RFC 3225 3); NSD "
     "clears it", rule_badvers_do),
    ("class-not-in", "class CH, ANY or HS: nameplated serves class IN only and refuses "
     "(question echoed); NSD answers ANY as IN, its built-in CHAOS names, and refuses HS "
     "without the question", rule_class),
    ("ns-additional", "NSD adds the in-zone name server's A/AAAA to the additional "
     "section of an NS answer; nameplated sends the answer only", rule_ns_additional),
]


def classify(q, np, nsd, d):
    """The rules that explain a part of the difference, or None when some differing field
    is left unexplained (or a server did not answer, or answered garbage)."""
    if not np.get("answered") or not nsd.get("answered") or "unparsable" in np or \
            "unparsable" in nsd:
        return None
    covered, used = set(), []
    for cid, _text, fn in RULES:
        f = fn(q, np, nsd, d) & set(d)
        if f:
            covered |= f
            used.append(cid)
    return used if covered == set(d) else None


# ---------------------------------------------------------------- running

def start_servers(work, build, n_hosts, timeout):
    """nameplated first (its SOA and NS go into NSD's zone file), then NSD."""
    hosts_file = os.path.join(work, "hosts.zone")
    full_file = os.path.join(work, "full.zone")
    write_hosts(hosts_file, n_hosts)
    data = {"hosts": n_hosts, "hosts_file": hosts_file, "full": full_file}
    np = bench.Nameplate(work, data, 1, None, build)
    np.prepare()
    np.start(timeout=timeout)
    try:
        soa = dns.query.udp(dns.message.make_query(ZONE, "SOA"), "127.0.0.1", timeout=2,
                            port=np.port).answer[0]
        ns = dns.query.udp(dns.message.make_query(ZONE, "NS"), "127.0.0.1", timeout=2,
                           port=np.port).answer[0]
        write_full(full_file, hosts_file, soa, ns)
        nsd = bench.Nsd(work, data, 1, None)
        nsd.prepare()
        nsd.start(timeout=timeout)
    except BaseException:
        np.stop()
        raise
    return np, nsd


def tally(seen, q, a):
    keys = ["name " + q["kind"], "transport " + ("TCP" if q["tcp"] else "UDP")]
    if a.get("answered") and "unparsable" not in a:
        keys.append("rcode " + dns.rcode.to_text(a["rcode"]))
        if a["flag TC"]:
            keys.append("truncated (TC)")
        if a["answer"]:
            keys.append("with an answer")
        if q["kind"] == "wildcard" and a["answer"]:
            keys.append("wildcard answers")
    else:
        keys.append("no answer")
    for k in keys:
        seen[k] = seen.get(k, 0) + 1


def run(args):
    work = args.workdir or tempfile.mkdtemp(prefix="respdiff-")
    if args.workdir:
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
    build = os.path.abspath(args.build)
    for b in ("nameplated", "nameplatectl"):
        if not os.access(os.path.join(build, b), os.X_OK):
            log("%s/%s missing: run make all first" % (build, b))
            return 2
    if shutil.which("nsd") is None:
        log("nsd not found (Debian package nsd; scripts/deps.sh installs it)")
        return 2
    queries = generate_queries(args.queries, args.hosts, args.seed, args.tcp_share)
    t0 = time.monotonic()
    np, nsd = start_servers(work, build, args.hosts, args.start_timeout)
    log("servers up in %.1f s (nameplated :%d, nsd :%d), %d queries" %
        (time.monotonic() - t0, np.port, nsd.port, len(queries)))
    counts = {cid: 0 for cid, _, _ in RULES}
    examples = {}
    unexplained = []
    identical = explained = 0
    seen = {}  # what the queries exercised (nameplated's answers), for the report
    t1 = time.monotonic()
    try:
        c_np, c_nsd = Client(np.port, args.timeout), Client(nsd.port, args.timeout)
        for q in queries:
            if time.monotonic() - t1 > args.max_seconds:
                log("stopped after %.0f s (--max-seconds)" % args.max_seconds)
                return 2
            wire = query_wire(q)
            a, b = normalize(c_np.ask(q, wire)), normalize(c_nsd.ask(q, wire))
            d = differences(a, b)
            tally(seen, q, a)
            if not d:
                identical += 1
                continue
            used = classify(q, a, b, d)
            if used is None:
                unexplained.append((q, a, b, d))
                continue
            explained += 1
            for cid in used:
                counts[cid] += 1
                examples.setdefault(cid, (q, a, b, d))
        c_np.close()
        c_nsd.close()
    finally:
        np.stop()
        nsd.stop()
    elapsed = time.monotonic() - t1

    total = len(queries)
    lines = []
    pct = 100.0 * len(unexplained) / total if total else 0.0
    lines.append("respdiff: nameplated vs NSD %s, %d hosts, seed %d, %.1f s" % (
        "4.6", args.hosts, args.seed, elapsed))
    lines.append("total queries      %7d" % total)
    lines.append("identical          %7d  %6.2f%%" % (identical, 100.0 * identical / total))
    lines.append("explained          %7d  %6.2f%%  (by category below; a query may "
                 "fall in several)" % (explained, 100.0 * explained / total))
    lines.append("unexplained        %7d  %6.2f%%  (limit %.2f%%)" % (
        len(unexplained), pct, args.max_unexplained))
    lines.append("")
    for cid, text, _ in RULES:
        lines.append("  %-16s %6d  %s" % (cid, counts[cid], text))
        if cid in examples:
            q, a, b, d = examples[cid]
            lines.append("      e.g. %s  (differs: %s)" % (describe(q), ", ".join(d)))
            lines.append("        nameplated: %s" % answer_text(a))
            lines.append("        nsd:        %s" % answer_text(b))
    lines.append("")
    lines.append("exercised (nameplated's answers):")
    for key in sorted(seen):
        lines.append("  %-28s %6d" % (key, seen[key]))
    if unexplained:
        lines.append("")
        lines.append("unexplained (up to 20):")
        for q, a, b, d in unexplained[:20]:
            lines.append("  %s  [%s]  (differs: %s)" % (describe(q), q["kind"], ", ".join(d)))
            lines.append("    nameplated: %s" % answer_text(a))
            lines.append("    nsd:        %s" % answer_text(b))
    report = "\n".join(lines)
    print(report)
    with open(os.path.join(work, "summary.txt"), "w") as f:
        f.write(report + "\n")
    with open(os.path.join(work, "unexplained.json"), "w") as f:
        json.dump([{"query": describe(q), "kind": q["kind"], "differs": d,
                    "nameplated": answer_text(a), "nsd": answer_text(b)}
                   for q, a, b, d in unexplained], f, indent=1)
    log("details in %s" % work)
    if not args.workdir and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if pct > args.max_unexplained else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--queries", type=int, default=20000)
    ap.add_argument("--hosts", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tcp-share", type=float, default=0.05,
                    help="share of the queries sent over TCP (default 0.05)")
    ap.add_argument("--max-unexplained", type=float, default=0.3,
                    help="percent of queries allowed to differ unexplained (default 0.3)")
    ap.add_argument("--timeout", type=float, default=2.0, help="per query, seconds")
    ap.add_argument("--start-timeout", type=float, default=60.0)
    ap.add_argument("--max-seconds", type=float, default=900.0,
                    help="give up when the queries take longer than this")
    ap.add_argument("--workdir", help="keep configs, logs and the report here")
    ap.add_argument("--keep", action="store_true", help="keep the temporary work dir")
    a = ap.parse_args()
    if a.queries < 1 or a.hosts < 100:
        ap.error("--queries must be at least 1 and --hosts at least 100")
    try:
        return run(a)
    except (RuntimeError, OSError, dns.exception.DNSException) as e:
        log("setup failed: %s" % e)
        return 2


if __name__ == "__main__":
    sys.exit(main())
