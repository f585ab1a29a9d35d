"""The writer reads the store through a memory map. A pass over every host (the owners'
watch) touches every page of the map; those pages must not stay in the server's resident
memory afterwards: that would make a server's memory grow to the size of its store for a
scan that needs none of it later."""
import os
import re

from conftest import ZONE, wait_for

HOSTS = 30000


def store_mapped_kib(pid, path):
    """Resident KiB of the mappings of the store file in the process (0 when unmapped)."""
    total = 0
    mine = False
    with open("/proc/%d/smaps" % pid) as f:
        for ln in f:
            head = re.match(r"^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$", ln)
            if head:
                mine = head.group(1) == path
            elif mine and ln.startswith("Rss:"):
                total += int(ln.split()[1])
    return total


def test_a_scan_of_every_host_leaves_the_store_unmapped(np_factory):
    n = np_factory()
    n.write_config(server={"log_level": "debug"}, extra="[check]\nowner_interval = 1\n")
    n.init()
    n.add_user("alice")
    secret = n.add_host("home.%s" % ZONE, "alice")
    n.import_hosts(HOSTS, "alice")
    db = os.path.join(n.data_dir, "nameplate.db")
    size_kib = os.path.getsize(db) // 1024
    n.start()
    scans = lambda: len(re.findall(r"owners: scan in \d+ ms", n.stderr()))
    assert wait_for(lambda: scans() >= 2, 30), n.stderr()[-2000:]
    rss = store_mapped_kib(n.proc.pid, db)
    print("store %d KiB, %d hosts; resident of its map after %d scans: %d KiB"
          % (size_kib, HOSTS, scans(), rss))
    assert size_kib > 2000
    # Without the unmapping every page the scan read stays: about the store's size.
    assert rss < size_kib // 4, (rss, size_kib)
    # The writer maps again as it reads: an update goes through and is served.
    st, _, lines = n.update(hostname="home.%s" % ZONE, myip="192.0.2.7", user="alice",
                            secret=secret)
    assert st == 200 and lines[0].split()[0] == "good", lines
    assert wait_for(lambda: n.addrs("home.%s" % ZONE) == {"192.0.2.7"}, 5)
