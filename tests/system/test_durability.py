# SPDX-License-Identifier: MIT
# Durability: what nameplated acknowledged survives a clean restart and a kill -9, and when
# the disk fills up the server stops acknowledging instead of lying.

import os
import signal
import subprocess
import time

import dns.rcode
import pytest

from conftest import ZONE, wait_for

HOME = "home." + ZONE


def test_sigterm_is_clean_and_fast(np):
    t0 = time.monotonic()
    rc = np.stop(signal.SIGTERM)
    assert rc == 0, "nameplated exited %s on SIGTERM:\n%s" % (rc, np.logs[-1])
    assert time.monotonic() - t0 < 5


def test_sigint_is_clean(np):
    rc = np.stop(signal.SIGINT)
    assert rc == 0, "nameplated exited %s on SIGINT:\n%s" % (rc, np.logs[-1])


def test_restart_keeps_everything(np):
    np.add_user("bob")
    wild_secret = np.add_host("wild." + ZONE, "bob", wildcard=True)
    blocked_secret = np.add_host("blocked." + ZONE, "bob")
    zf = os.path.join(np.tmp, "imp.zone")
    with open(zf, "w") as f:
        f.write('imp.dyn.example. 120 IN A 192.0.2.50\n'
                'imp.dyn.example. 120 IN TXT "kept"\n'
                'imp.dyn.example. 120 IN MX 5 mx.dyn.example.\n')
    np.ctl("zone", "import", zf, "--zone", ZONE)
    assert np.update(HOME, "198.51.100.1,2001:db8::1", user="alice",
                     secret=np.secret)[2] == ["good 198.51.100.1,2001:db8::1"]
    assert np.update("wild." + ZONE, "198.51.100.2", user="bob",
                     secret=wild_secret)[2] == ["good 198.51.100.2"]
    assert np.update("blocked." + ZONE, "198.51.100.3", user="bob",
                     secret=blocked_secret)[2] == ["good 198.51.100.3"]
    np.ctl("host", "block", "blocked." + ZONE)
    assert wait_for(lambda: np.addrs("imp." + ZONE) == {"192.0.2.50"}, 1.5)
    serial = np.serial()

    assert np.restart() == 0

    assert np.addrs(HOME) == {"198.51.100.1"}
    assert np.addrs(HOME, "AAAA") == {"2001:db8::1"}
    assert np.addrs("x.wild." + ZONE) == {"198.51.100.2"}
    assert np.addrs("imp." + ZONE) == {"192.0.2.50"}
    assert np.addrs("imp." + ZONE, "TXT") == {'"kept"'}
    assert np.addrs("imp." + ZONE, "MX") == {"5 mx.dyn.example."}
    assert np.addrs("blocked." + ZONE) == {"198.51.100.3"}
    assert 0 <= (np.serial() - serial) % 2**32 < 2**31, "serial went backwards"
    # secrets, owners and flags survived too
    assert np.update(HOME, "198.51.100.1,2001:db8::1", user="alice",
                     secret=np.secret)[2] == ["nochg 198.51.100.1,2001:db8::1"]
    assert np.update("blocked." + ZONE, "198.51.100.4", user="bob",
                     secret=blocked_secret)[2] == ["abuse"]
    users = np.ctl("user", "list").stdout
    assert "alice" in users and "bob" in users
    hosts = np.ctl("host", "list").stdout
    for h in (HOME, "wild." + ZONE, "blocked." + ZONE):
        assert h in hosts


def test_kill9_right_after_ack(np):
    for i in range(5):
        ip = "203.0.113.%d" % (100 + i)
        st, _, lines = np.update(HOME, ip, user="alice", secret=np.secret)
        os.kill(np.proc.pid, signal.SIGKILL)
        assert (st, lines) == (200, ["good " + ip])
        np.proc.wait(5)
        np.stop()
        np.start()
        assert np.addrs(HOME) == {ip}, "acknowledged update %s lost by kill -9 (round %d)" \
            % (ip, i)


def test_kill9_under_concurrent_updates(np):
    # several hosts updated back to back; everything acknowledged before the kill survives
    secrets = {HOME: np.secret}
    for i in range(4):
        h = "c%d.%s" % (i, ZONE)
        secrets[h] = np.add_host(h, "alice")
    acked = {}
    for rnd in range(3):
        for j, (h, s) in enumerate(sorted(secrets.items())):
            ip = "198.18.%d.%d" % (rnd, j + 1)
            st, _, lines = np.update(h, ip, user="alice", secret=s)
            assert lines == ["good " + ip]
            acked[h] = ip
    os.kill(np.proc.pid, signal.SIGKILL)
    np.proc.wait(5)
    np.stop()
    np.start()
    for h, ip in acked.items():
        assert np.addrs(h) == {ip}


def test_ctl_while_stopped(np):
    np.stop()
    s2 = np.add_host("offline-added." + ZONE, "alice")
    np.start()
    assert np.update("offline-added." + ZONE, "198.51.100.9", user="alice",
                     secret=s2)[2] == ["good 198.51.100.9"]


@pytest.fixture
def tmpfs(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(mnt)],
                   check=True)
    try:
        yield str(mnt)
    finally:
        r = subprocess.run(["umount", str(mnt)], capture_output=True, text=True)
        if r.returncode != 0:
            subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill_disk(path):
    """Writes path/fill until the filesystem is full; returns bytes written."""
    total = 0
    with open(os.path.join(path, "fill"), "wb", buffering=0) as f:
        for size in (1 << 20, 1 << 16, 1 << 12, 512, 1):
            chunk = b"\0" * size
            for _ in range(100000):
                try:
                    n = f.write(chunk)
                except OSError:
                    break
                if not n:
                    break
                total += n
    return total


def test_disk_full_stops_acknowledging(np_factory, tmpfs):
    n = np_factory(data_dir=os.path.join(tmpfs, "data"))
    try:
        n.write_config()
        n.init()
        n.add_user("alice")
        secret = n.add_host(HOME, "alice")
        other_secret = n.add_host("other." + ZONE, "alice")
        n.start()
        assert n.update("other." + ZONE, "192.0.2.200", user="alice",
                        secret=other_secret)[2] == ["good 192.0.2.200"]
        assert n.update(HOME, "192.0.2.1", user="alice", secret=secret)[2] == \
            ["good 192.0.2.1"]
        assert fill_disk(tmpfs) > 0

        last_good = "192.0.2.1"
        failed_ip = None
        refusal = None
        for i in range(400):
            ip = "198.19.%d.%d" % (i // 250, i % 250 + 1)
            st, _, lines = n.update(HOME, ip, user="alice", secret=secret)
            assert st == 200, (st, lines)
            if lines == ["good " + ip]:
                # it claims durability: then DNS must show it at once
                assert n.addrs(HOME) == {ip}
                last_good = ip
                continue
            assert lines in (["dnserr"], ["911"]), \
                "disk full: update answered %r, expected dnserr or 911" % lines
            failed_ip, refusal = ip, lines[0]
            break
        assert failed_ip, "400 updates on a full disk were all acknowledged 'good'"
        print("disk full: %d updates acknowledged after filling, then %r" % (i, refusal))

        # nothing unacknowledged is served, everything acknowledged still is
        assert n.addrs(HOME) == {last_good}
        assert n.addrs("other." + ZONE) == {"192.0.2.200"}
        # and from now on the server refuses with 911
        for j in range(3):
            ip = "198.20.0.%d" % (j + 1)
            st, _, lines = n.update(HOME, ip, user="alice", secret=secret)
            assert (st, lines) == (200, ["911"]), \
                "after a failed commit (%s) the server answered %r" % (refusal, lines)
            st, _, lines = n.update("other." + ZONE, ip, user="alice", secret=other_secret)
            assert (st, lines) == (200, ["911"])
        assert n.addrs(HOME) == {last_good}
        assert n.addrs("other." + ZONE) == {"192.0.2.200"}
        # DNS keeps answering
        assert n.query(ZONE + ".", "SOA").rcode() == dns.rcode.NOERROR

        # free the disk and restart: the acknowledged state is there, the rest is not
        os.unlink(os.path.join(tmpfs, "fill"))
        n.stop()
        n.start()
        assert n.addrs(HOME) == {last_good}
        assert n.addrs("other." + ZONE) == {"192.0.2.200"}
        assert n.update(HOME, "198.21.0.1", user="alice", secret=secret)[2] == \
            ["good 198.21.0.1"]
    finally:
        n.stop()  # before the tmpfs is unmounted
