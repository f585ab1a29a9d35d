# SPDX-License-Identifier: MIT
# Privileges: started as root with [server] user, nameplated binds its sockets and opens the
# store first, then runs as that user and still commits, serves and restarts.

import os
import pwd
import re

import dns.message
import dns.query
import dns.rdatatype
import dns.tsig
import dns.update
import pytest

from conftest import ZONE, wait_for

HOME = "home." + ZONE
USER = "nobody"


def chown_tree(path, uid, gid):
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, gid)
        for f in files:
            os.chown(os.path.join(root, f), uid, gid)


def ids(pid):
    """The real, effective, saved and filesystem uids and gids, and the groups."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "Groups"):
                out[key] = [int(v) for v in value.split()]
    return out


@pytest.fixture
def as_nobody(np_factory):
    if os.geteuid() != 0:
        pytest.skip("dropping privileges needs root (CI runs as root)")
    pw = pwd.getpwnam(USER)
    n = np_factory()
    n.write_config(server={"user": USER})
    n.init()
    n.add_user("alice")
    n.secret = n.add_host(HOME, "alice")
    chown_tree(n.data_dir, pw.pw_uid, pw.pw_gid)
    return n, pw


def test_runs_as_configured_user(as_nobody):
    n, pw = as_nobody
    n.start()
    got = ids(n.proc.pid)
    assert got["Uid"] == [pw.pw_uid] * 4, got
    assert got["Gid"] == [pw.pw_gid] * 4, got
    assert got["Groups"] == [], got  # no supplementary groups: root's are gone
    with open("/proc/%d/status" % n.proc.pid) as f:
        caps = {k: v.strip() for k, _, v in (ln.partition(":") for ln in f)
                if k in ("CapInh", "CapPrm", "CapEff", "CapAmb")}
    assert set(caps.values()) == {"0000000000000000"}, caps
    assert "running as %s" % USER in n.stderr()


def test_unprivileged_server_commits_and_restarts(as_nobody):
    n, pw = as_nobody
    n.start()
    st, _, lines = n.update(HOME, "198.51.100.41", user="alice", secret=n.secret)
    assert (st, lines) == (200, ["good 198.51.100.41"])
    assert n.addrs(HOME) == {"198.51.100.41"}
    # nameplatectl, run as root, changes the store the unprivileged server writes.
    secret2 = n.add_host("second." + ZONE, "alice")
    wait_for(lambda: n.query("second." + ZONE).rcode() == 0, 2)
    st, _, lines = n.update("second." + ZONE, "198.51.100.42", user="alice", secret=secret2)
    assert (st, lines) == (200, ["good 198.51.100.42"])
    n.restart()
    assert ids(n.proc.pid)["Uid"] == [pw.pw_uid] * 4
    assert n.addrs(HOME) == {"198.51.100.41"}
    assert n.addrs("second." + ZONE) == {"198.51.100.42"}


def test_data_dir_owned_by_someone_else_is_refused(np_factory):
    if os.geteuid() != 0:
        pytest.skip("dropping privileges needs root (CI runs as root)")
    n = np_factory()
    n.write_config(server={"user": USER})
    n.init()  # data_dir stays root's: the server could not write it after the drop
    n.start(wait=False)
    rc = n.proc.wait(timeout=10)
    assert rc != 0
    assert "must be owned by %s" % USER in n.stderr()
    assert "chown" in n.stderr()


def test_unknown_user_is_refused(np_factory):
    n = np_factory()
    n.write_config(server={"user": "no-such-user-np"})
    r = n.ctl("check-config", check=False)
    assert r.returncode == 1
    assert "nameplate.conf:3: bad value for 'user': no such user" in r.stderr


def test_seal_files_made_by_root_ctl_serve_the_unprivileged_server(as_nobody):
    """Root's nameplatectl makes the TSIG and DNSSEC seal files in a data_dir the server's
    user owns: the files go to that user, or the server could not read its own keys."""
    n, pw = as_nobody
    r = n.ctl("tsig", "add", "k1", "--user", "alice")
    m = re.search(r'secret "([^"]+)"', r.stdout)
    assert m, r.stdout
    n.ctl("zone", "keys", ZONE)
    for name in ("tsig-seal.key", "dnssec-seal.key"):
        st = os.stat(os.path.join(n.data_dir, name))
        assert (st.st_uid, st.st_gid) == (pw.pw_uid, pw.pw_gid), name
        assert st.st_mode & 0o777 == 0o600, name
    n.write_config(server={"user": USER}, zone={"dnssec": "on"})
    n.start()
    upd = dns.update.UpdateMessage(ZONE)
    upd.use_tsig(dns.tsig.Key("k1", m.group(1), "hmac-sha256"))
    upd.replace(HOME + ".", 60, "A", "198.51.100.43")
    assert dns.query.tcp(upd, "127.0.0.1", port=n.dns_port, timeout=5).rcode() == 0
    q = dns.message.make_query(HOME, "A", want_dnssec=True)
    ans = dns.query.udp(q, "127.0.0.1", port=n.dns_port, timeout=5)
    assert any(rr.rdtype == dns.rdatatype.RRSIG for rr in ans.answer), ans
