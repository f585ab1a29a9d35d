# SPDX-License-Identifier: MIT
# nameplated without -f: it detaches, and the process that stays has every thread (the
# store's checkpoint thread is made after the fork, not lost in it), serves, takes updates
# and stops on SIGTERM.

import os
import signal
import subprocess

from conftest import NAMEPLATED, ZONE, wait_for

HOME = "home." + ZONE


def threads(pid):
    names = []
    for task in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, task)) as f:
                names.append(f.read().strip())
        except FileNotFoundError:
            pass
    return names


def alive(pid):
    """Running; an exited one that nobody has reaped yet (a zombie) is not."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_daemonized_server_keeps_its_threads_and_stops_on_sigterm(np_factory):
    n = np_factory()
    n.write_config()
    n.init()
    n.add_user("alice")
    secret = n.add_host(HOME, "alice")
    r = subprocess.run([NAMEPLATED, "-c", n.conf], capture_output=True, text=True, timeout=10,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    pid_file = os.path.join(n.data_dir, "nameplated.pid")
    assert wait_for(lambda: os.path.exists(pid_file) and os.path.getsize(pid_file) > 0, 10)
    with open(pid_file) as f:
        pid = int(f.read())
    try:
        assert wait_for(lambda: "checkpoint" in threads(pid), 5), threads(pid)
        assert "notify" in threads(pid)
        assert wait_for(lambda: n.query(ZONE, "SOA").rcode() == 0, 5)
        for i in range(20):
            st, _, lines = n.update(HOME, "198.51.100.%d" % (i + 1), user="alice",
                                    secret=secret)
            assert (st, lines) == (200, ["good 198.51.100.%d" % (i + 1)])
        assert n.addrs(HOME) == {"198.51.100.20"}
        os.kill(pid, signal.SIGTERM)
        assert wait_for(lambda: not alive(pid), 10), "still running after SIGTERM"
        assert not os.path.exists(pid_file)
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    # What it acknowledged is in the store: a foreground start serves it.
    n.start()
    assert n.addrs(HOME) == {"198.51.100.20"}
