# SPDX-License-Identifier: MIT
# The differential test (bench/respdiff.py) in a quick variant: nameplated and NSD serve
# the same zone and 2,000 generated queries get the same answers from both, or a
# difference the script explains. Runs the real binaries over loopback.

import os
import re
import subprocess
import sys

from conftest import BUILD, ROOT

SCRIPT = os.path.join(ROOT, "bench", "respdiff.py")


def test_respdiff_quick(tmp_path):
    r = subprocess.run([sys.executable, SCRIPT, "--build", BUILD, "--queries", "2000",
                        "--hosts", "1000", "--seed", "7", "--timeout", "2",
                        "--max-seconds", "90", "--workdir", str(tmp_path / "work")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=180)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, out
    assert re.search(r"^total queries\s+2000$", out, re.M), out
    assert re.search(r"^unexplained\s+0\s", out, re.M), out
    # The comparison sees differences: the known ones are counted, none is left over.
    assert re.search(r"^  cd-copied\s+[1-9]", out, re.M), out
    # The mix reached what it is meant to: answers, NXDOMAIN, wildcards, truncation, TCP.
    for line in ("rcode NXDOMAIN", "wildcard answers", "truncated (TC)", "transport TCP"):
        assert line in out, out
    assert "no answer" not in out, out
