# SPDX-License-Identifier: MIT
# The TOTP second factor against other implementations (Debian's tools, not our code):
#
# - oathtool --totp computes, for a fresh secret given as its base32 text, the same code as
#   account/totp.c at each of a set of times (RFC 6238's, the present, the far future);
# - the QR code http/qr.c draws for an otpauth:// URI, rendered to PNG by rsvg-convert,
#   decodes with zbarimg back to the exact URI, and the URI's parts read back as given.
#
# The unit test binaries print what is compared (test_account_totp --codes/--uri,
# test_http_qr --svg), so no test-only program is built.

import os
import random
import shutil
import subprocess
import time
import urllib.parse

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.abspath(os.path.join(ROOT, os.environ.get("NP_BUILD", "build")))
TOTP_BIN = os.path.join(BUILD, "tests", "test_account_totp")
QR_BIN = os.path.join(BUILD, "tests", "test_http_qr")
TIMEOUT = 20


def _need(path):
    assert os.access(path, os.X_OK), "%s is not built (make unit, or make system)" % path


def _tool(name):
    path = shutil.which(name)
    assert path, "%s missing: run make deps" % name
    return path


def _run(args, **kw):
    return subprocess.run(args, capture_output=True, timeout=TIMEOUT, check=True, **kw)


def test_codes_match_oathtool():
    _need(TOTP_BIN)
    oathtool = _tool("oathtool")
    now = int(time.time())
    rng = random.Random()
    times = [59, 1111111109, 1234567890, 2000000000, 20000000000, now, now + 30, now - 30]
    times += [rng.randrange(0, 2**34) for _ in range(4)]
    out = _run([TOTP_BIN, "--codes"] + [str(t) for t in times]).stdout.decode().split("\n")
    secret = out[0]
    assert len(secret) == 32 and set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    ours = dict(line.split(" ") for line in out[1:] if line)
    assert len(ours) == len(set(times))
    for t in times:
        theirs = _run([oathtool, "--totp", "--base32", "--digits=6", "--time-step-size=30s",
                       "--now=@%d" % t, secret]).stdout.decode().strip()
        assert ours[str(t)] == theirs, "time %d secret %s" % (t, secret)


@pytest.mark.parametrize("issuer,account", [
    ("Nameplate & Co", "alice smith@example.org:home"),
    ("dyn.example", "b\u00e9r-1_x~?#/=+%"),
    # A long name: a symbol of a higher version, still one scan.
    ("Nameplate", "a" * 200 + "@example.org"),
])
def test_qr_decodes_to_uri(tmp_path, issuer, account):
    _need(TOTP_BIN)
    _need(QR_BIN)
    rsvg = _tool("rsvg-convert")
    zbarimg = _tool("zbarimg")
    secret, uri = _run([TOTP_BIN, "--uri", issuer, account]).stdout.decode().split("\n")[:2]

    # The URI reads back as given: label, secret and parameters.
    u = urllib.parse.urlsplit(uri)
    assert (u.scheme, u.netloc) == ("otpauth", "totp")
    assert urllib.parse.unquote(u.path) == "/%s:%s" % (issuer, account)
    q = urllib.parse.parse_qs(u.query, strict_parsing=True)
    assert q == {"secret": [secret], "issuer": [issuer], "algorithm": ["SHA1"],
                 "digits": ["6"], "period": ["30"]}

    svg = _run([QR_BIN, "--svg", uri]).stdout
    assert b"<script" not in svg and b"href" not in svg
    png = tmp_path / "qr.png"
    (tmp_path / "qr.svg").write_bytes(svg)
    _run([rsvg, "--format=png", "--output=%s" % png, str(tmp_path / "qr.svg")])
    decoded = _run([zbarimg, "--raw", "--quiet", str(png)]).stdout.decode()
    assert decoded == uri + "\n"
