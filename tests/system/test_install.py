# SPDX-License-Identifier: MIT
# make install and the man pages.
#
# - The pages document what the code has, no more and no less: the keys of the three
#   config schema tables against the keys the .conf(5) pages define, nameplatectl's and
#   nameplate's commands and every binary's options against their pages. A key, command
#   or option added to the code without a line on its page fails here, naming it.
# - make install DESTDIR=... PREFIX=/usr puts every expected file in place, copying from
#   the build directory already built (NP_BUILD) without rebuilding anything: each page
#   renders without a warning, each installed binary runs, each unit names installed
#   paths, each example config passes its binary's check.

import os
import pwd
import re
import shutil
import stat
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_ARG = os.environ.get("NP_BUILD", "build")
BUILD = os.path.abspath(os.path.join(ROOT, BUILD_ARG))


def _read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


def _strip_c_comments(text):
    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


# ---- what the code has ----

def schema_keys(c_file):
    """{(section, key)} from the schema table of a config module: its section enum, the
    section-name array in enum order, and the rows {SECT, "key", ...}."""
    src = _strip_c_comments(_read(c_file))
    enum = re.search(r"enum\s+\w+\s*\{([^}]*)\}", src)
    assert enum, f"{c_file}: no section enum"
    ids = [e.strip() for e in enum.group(1).split(",") if e.strip()]
    arr = re.search(r"static const char \*const \w+\[\w+\]\s*=\s*\{([^}]*)\}", src)
    assert arr, f"{c_file}: no section-name array"
    names = re.findall(r'"([^"]*)"', arr.group(1))
    sect = dict(zip(ids, names))
    table = re.search(r"static const struct schema_row \w+\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
    assert table, f"{c_file}: no schema table"
    rows = re.findall(r'\{\s*(\w+),\s*"([^"]+)",', table.group(1))
    assert rows, f"{c_file}: no rows in the schema table"
    return {(sect[s], k) for s, k in rows}


def option_literals(*c_files):
    """Every option a binary takes: getopt letters, getopt_long names, and "-x"/"--xy"
    literals its argument loops compare against."""
    opts = set()
    for c_file in c_files:
        src = _strip_c_comments(_read(c_file))
        for optstring in re.findall(r'getopt(?:_long)?\(\s*argc,\s*argv,\s*"([^"]*)"', src):
            opts |= {"-" + ch for ch in optstring if ch.isalpha()}
        opts |= {"--" + n for n in re.findall(r'\{\s*"([a-z][a-z-]*)",\s*\w+_argument', src)}
        opts |= set(re.findall(r'strcmp\([^,()]+(?:\[\w+\])?,\s*"(-{1,2}[a-z][a-z-]*)"\)', src))
    return opts


def ctl_commands():
    """nameplatectl's commands ("host add", "init"), from its usage text, after checking
    that the text covers every command word main.c dispatches and every subcommand word
    the command files compare against."""
    main = _read("src/ctl/main.c")
    usage = re.search(r"static void usage\(FILE \*out\)\s*\{(.*?)\n\}", main, re.S).group(1)
    text = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', usage)).replace("\\n", "\n")
    cmds = set()
    for line in text.split("commands:\n", 1)[1].splitlines():
        if not line.startswith("  "):
            continue
        syntax = re.split(r"\s{2,}", line.strip())[0]
        for alt in syntax.split(" | "):
            words = []
            for w in alt.split():
                if not re.fullmatch(r"[a-z][a-z-]*", w):
                    break
                words.append(w)
            cmds.add(" ".join(words))
    top = set(re.findall(r'strcmp\(cmd, "([a-z-]+)"\)', main))
    assert top <= {c.split()[0] for c in cmds}, f"usage misses {top - {c.split()[0] for c in cmds}}"
    subs = set()
    for f in sorted(os.listdir(os.path.join(ROOT, "src", "ctl"))):
        if f.startswith("cmd_"):
            src = _read("src/ctl", f)
            subs |= set(re.findall(r'strcmp\((?:argv\[0\]|sub|pos\[0\]), "([a-z-]+)"\)', src))
            subs |= set(re.findall(r'\{"([a-z]+)", OP_\w+\}', src))
    second = {c.split()[1] for c in cmds if " " in c}
    assert subs <= second, f"nameplatectl usage text misses subcommands {sorted(subs - second)}"
    return cmds


def client_commands():
    return set(re.findall(r'strcmp\(cmd, "([a-z-]+)"\)', _read("src/client/main.c")))


# ---- what the pages say ----

def _page_lines(page, text=None):
    """The lines of a page's source (or of text) outside literal blocks."""
    out, literal = [], False
    for line in (text if text is not None else _read("docs/man", page)).splitlines():
        if line.startswith("```"):
            literal = not literal
            continue
        if not literal:
            out.append(line)
    return out


def page_keys(page, text=None):
    """{(section, key)}: a "## [section ...]" heading, then "*key* = ..." definitions."""
    keys, sect = set(), None
    for line in _page_lines(page, text):
        m = re.match(r"## \[([a-z0-9_-]+)", line)
        if m:
            sect = m.group(1)
        elif line.startswith("# "):
            sect = None
        m = re.match(r"\*([a-z0-9_]+)\* =", line)
        if m:
            assert sect is not None, f"{page}: key {m.group(1)} outside a [section]"
            keys.add((sect, m.group(1)))
    return keys


def page_commands(page):
    """The commands a page defines: the leading bold words of the lines of its COMMANDS
    section ("*host add* _FQDN_" -> "host add")."""
    cmds, inside = set(), False
    for line in _page_lines(page):
        if line.startswith("# "):
            inside = line == "# COMMANDS"
            continue
        m = re.match(r"\*([a-z][a-z -]*[a-z])\*", line)
        if inside and m:
            cmds.add(m.group(1))
    return cmds


def page_options(page):
    opts = set()
    for line in _page_lines(page):
        opts |= set(re.findall(r"\*(-{1,2}[a-z][a-z-]*)\*", line))
    return opts


def _diff(what, code, pages):
    """A message naming what is only in the code and what is only on the page."""
    only_code = sorted(code - pages)
    only_page = sorted(pages - code)
    msg = []
    if only_code:
        msg.append(f"{what}: in the code but not on the page: {only_code}")
    if only_page:
        msg.append(f"{what}: on the page but not in the code: {only_page}")
    return "; ".join(msg)


CONF_PAGES = [
    ("src/common/config.c", "nameplated.conf.5.scd"),
    ("src/client/config.c", "nameplate-client.conf.5.scd"),
    ("src/sensor/config.c", "nameplate-sensor.conf.5.scd"),
]

BIN_PAGES = [
    (["src/nameplated/main.c"], "nameplated.8.scd"),
    # main.c and every command file: a new cmd_*.c is checked without a line here.
    (["src/ctl/main.c"] + sorted("src/ctl/" + f for f in os.listdir(os.path.join(ROOT, "src", "ctl"))
                                 if f.startswith("cmd_") and f.endswith(".c")),
     "nameplatectl.8.scd"),
    (["src/client/main.c"], "nameplate.1.scd"),
    (["src/sensor/main.c"], "nameplate-sensor.8.scd"),
]


@pytest.mark.parametrize("c_file,page", CONF_PAGES)
def test_config_keys_match_pages(c_file, page):
    code = schema_keys(c_file)
    assert len(code) >= 10
    assert not _diff(f"{page} keys", code, page_keys(page)), \
        _diff(f"{page} keys", code, page_keys(page))


@pytest.mark.parametrize("c_files,page", BIN_PAGES)
def test_options_match_pages(c_files, page):
    code = option_literals(*c_files)
    assert "-c" in code  # every binary takes its config file
    assert not _diff(f"{page} options", code, page_options(page)), \
        _diff(f"{page} options", code, page_options(page))


def test_ctl_commands_match_page():
    code = ctl_commands()
    assert {"init", "check-config", "host add", "observe show"} <= code
    assert not _diff("nameplatectl.8 commands", code, page_commands("nameplatectl.8.scd")), \
        _diff("nameplatectl.8 commands", code, page_commands("nameplatectl.8.scd"))


def test_client_commands_match_page():
    code = client_commands()
    assert {"run", "update", "doctor", "check-config"} <= code
    got = {c.split()[0] for c in page_commands("nameplate.1.scd")}
    assert not _diff("nameplate.1 commands", code, got), _diff("nameplate.1 commands", code, got)


def test_checker_names_what_is_missing():
    """The checker is not vacuous: a key renamed on the page is named on both sides."""
    src = _read("docs/man", "nameplated.conf.5.scd")
    edited = src.replace("*tcp_workers* = _N_", "*tcp_wrokers* = _N_")
    assert edited != src
    msg = _diff("keys", schema_keys("src/common/config.c"), page_keys("x", edited))
    assert "in the code but not on the page: [('dns', 'tcp_workers')]" in msg
    assert "on the page but not in the code: [('dns', 'tcp_wrokers')]" in msg


# ---- make install ----

PREFIX = "/usr"
EXPECTED = {
    "usr/bin/nameplate": 0o755,
    "usr/sbin/nameplated": 0o755,
    "usr/sbin/nameplatectl": 0o755,
    "usr/sbin/nameplate-sensor": 0o755,
    "usr/share/man/man1/nameplate.1": 0o644,
    "usr/share/man/man5/nameplated.conf.5": 0o644,
    "usr/share/man/man5/nameplate-client.conf.5": 0o644,
    "usr/share/man/man5/nameplate-sensor.conf.5": 0o644,
    "usr/share/man/man8/nameplated.8": 0o644,
    "usr/share/man/man8/nameplatectl.8": 0o644,
    "usr/share/man/man8/nameplate-sensor.8": 0o644,
    "usr/lib/systemd/system/nameplated.service": 0o644,
    "usr/lib/systemd/system/nameplate.service": 0o644,
    "usr/lib/systemd/system/nameplate-sensor.service": 0o644,
    "usr/lib/systemd/system/nameplate-feeds.service": 0o644,
    "usr/lib/systemd/system/nameplate-feeds.timer": 0o644,
    "usr/sbin/nameplate-feeds": 0o755,
    "usr/share/doc/nameplate/examples/nameplate.conf": 0o644,
    "usr/share/doc/nameplate/examples/client.conf": 0o644,
    "usr/share/doc/nameplate/examples/sensor.conf": 0o644,
    "usr/share/doc/nameplate/README.md": 0o644,
    "usr/share/doc/nameplate/accounts.md": 0o644,
    "usr/share/doc/nameplate/client.md": 0o644,
    "usr/share/doc/nameplate/configuration.md": 0o644,
    "usr/share/doc/nameplate/operations.md": 0o644,
    "usr/share/doc/nameplate/sensor.md": 0o644,
}
# Links: the server's file is nameplate.conf, so its page is found by that name too.
LINKS = {"usr/share/man/man5/nameplate.conf.5": "nameplated.conf.5"}
MAN_PAGES = [p for p in EXPECTED if "/man/man" in p] + list(LINKS)


def make_install(destdir, prefix=PREFIX):
    """make install from the build under test; the outer make's flags (a jobserver this
    process does not hold, its variables) stay out."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return subprocess.run(["make", "-s", "install", f"BUILD={BUILD_ARG}", f"DESTDIR={destdir}",
                           f"PREFIX={prefix}"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def dest(tmp_path_factory):
    """One make install into a temporary DESTDIR, from the build directory under test."""
    for b in ("nameplated", "nameplatectl", "nameplate", "nameplate-sensor"):
        if not os.access(os.path.join(BUILD, b), os.X_OK):
            pytest.skip(f"{BUILD}/{b} is not built")
    d = tmp_path_factory.mktemp("destdir")
    r = make_install(d)
    assert r.returncode == 0, r.stdout + r.stderr
    return d


def test_install_puts_every_file_in_place(dest):
    for rel, mode in EXPECTED.items():
        p = dest / rel
        assert p.is_file(), f"{rel} not installed"
        assert stat.S_IMODE(p.stat().st_mode) == mode, f"{rel}: mode {oct(p.stat().st_mode)}"
    for rel, target in LINKS.items():
        assert os.readlink(dest / rel) == target
    # Binaries are copies of the build's, nothing rebuilt.
    for b in ("nameplated", "nameplatectl", "nameplate-sensor"):
        with open(dest / "usr/sbin" / b, "rb") as a, open(os.path.join(BUILD, b), "rb") as c:
            assert a.read() == c.read(), f"{b} differs from {BUILD}/{b}"
    # make install never writes configuration: nothing under /etc, nothing elsewhere.
    found = {str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file() or p.is_symlink()}
    unexpected = found - set(EXPECTED) - set(LINKS) - {
        f"usr/share/doc/nameplate/{f}" for f in os.listdir(os.path.join(ROOT, "docs"))
        if f.endswith(".md")}
    assert not unexpected, f"unexpected files: {sorted(unexpected)}"


def test_install_again_changes_nothing(dest):
    before = {p: p.read_bytes() for p in dest.rglob("*") if p.is_file()}
    r = make_install(dest)
    assert r.returncode == 0, r.stdout + r.stderr
    assert {p: p.read_bytes() for p in dest.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("rel", MAN_PAGES)
def test_man_page_renders_without_warnings(dest, rel):
    page = dest / rel
    r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(page)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    if shutil.which("man"):
        r = subprocess.run(["man", "--warnings", "-l", str(page)], capture_output=True,
                           text=True, timeout=30, env={**os.environ, "MANWIDTH": "80",
                                                       "MANPAGER": "cat", "PAGER": "cat"})
        assert r.returncode == 0 and r.stderr == "", r.stderr
        name = os.path.basename(os.path.realpath(page)).rsplit(".", 1)[0]
        assert "NAME" in r.stdout and name in r.stdout
        for section in ("SYNOPSIS", "DESCRIPTION", "FILES", "SEE ALSO"):
            assert section in r.stdout, f"{rel}: no {section}"


@pytest.mark.parametrize("rel,flag", [("usr/sbin/nameplated", "-h"),
                                      ("usr/sbin/nameplatectl", "--help"),
                                      ("usr/bin/nameplate", "--help"),
                                      ("usr/sbin/nameplate-sensor", "--help")])
def test_installed_binaries_run(dest, rel, flag):
    r = subprocess.run([str(dest / rel), flag], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage: " + os.path.basename(rel))
    r = subprocess.run([str(dest / rel), "--no-such-option"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2


def _unit_paths(text):
    """Absolute paths of the programs and documents a unit refers to."""
    paths, mans = [], []
    for line in text.splitlines():
        key, _, val = line.partition("=")
        if key in ("ExecStart", "ExecStartPre", "ExecReload"):
            paths.append(val.lstrip("-@+!:").split()[0])
        elif key == "Documentation":
            for ref in val.split():
                if ref.startswith("file:"):
                    paths.append(ref[len("file:"):])
                elif ref.startswith("man:"):
                    mans.append(ref[len("man:"):])
    return paths, mans


@pytest.mark.parametrize("unit", ["nameplated.service", "nameplate.service",
                                  "nameplate-sensor.service", "nameplate-feeds.service"])
def test_units_name_installed_paths(dest, unit):
    text = (dest / "usr/lib/systemd/system" / unit).read_text()
    assert "/usr/local" not in text
    paths, mans = _unit_paths(text)
    assert any("/nameplate" in p for p in paths)
    for p in paths:
        if p.startswith("/bin/"):  # /bin/kill
            assert os.path.exists(p)
            continue
        assert p.startswith(PREFIX + "/"), f"{unit}: {p} is not under {PREFIX}"
        assert (dest / p.lstrip("/")).exists(), f"{unit}: {p} is not installed"
    assert mans, f"{unit}: no man page in Documentation="
    for m in mans:
        name, sect = re.fullmatch(r"([\w.-]+)\((\d)\)", m).groups()
        assert (dest / f"usr/share/man/man{sect}/{name}.{sect}").exists(), f"{unit}: {m}"


def test_feeds_script_and_timer_installed(dest):
    """contrib/nameplate-feeds calls the installed nameplatectl; the timer starts the
    service; systemd-analyze finds nothing wrong with either beyond the executable being
    under DESTDIR rather than at its installed path."""
    script = (dest / "usr/sbin/nameplate-feeds").read_text()
    assert "/usr/local" not in script and "ctl=${NAMEPLATECTL:-/usr/sbin/nameplatectl}" in script
    timer = (dest / "usr/lib/systemd/system/nameplate-feeds.timer").read_text()
    assert "OnCalendar=hourly" in timer and "WantedBy=timers.target" in timer
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        return
    units = dest / "usr/lib/systemd/system"
    r = subprocess.run([analyze, "verify", "--man=no", "./nameplate-feeds.service",
                        "./nameplate-feeds.timer"], cwd=units, capture_output=True, text=True,
                       timeout=60)
    problems = [ln for ln in (r.stdout + r.stderr).splitlines()
                if ln.strip() and "/usr/sbin/nameplate-feeds is not executable" not in ln]
    assert problems == [], r.stdout + r.stderr


def test_install_default_prefix(dest, tmp_path):
    """PREFIX defaults to /usr/local, which the units in contrib/ already name."""
    r = make_install(tmp_path, "/usr/local")
    assert r.returncode == 0, r.stdout + r.stderr
    unit = (tmp_path / "usr/local/lib/systemd/system/nameplated.service").read_text()
    assert unit == _read("contrib", "nameplated.service")
    assert (tmp_path / "usr/local/sbin/nameplated").is_file()
    assert (tmp_path / "usr/local/share/man/man8/nameplated.8").is_file()


def _private(path, text):
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_examples_pass_their_checks(dest, tmp_path):
    ex = dest / "usr/share/doc/nameplate/examples"
    r = subprocess.run([str(dest / "usr/sbin/nameplatectl"), "-c", str(ex / "nameplate.conf"),
                        "check-config"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    # The client's and the sensor's refer to secret files: give them real ones here.
    secret = _private(tmp_path / "home.secret", "s3cret-for-the-example\n")
    client = (ex / "client.conf").read_text()
    assert "/etc/nameplate/home.secret" in client
    conf = _private(tmp_path / "client.conf",
                    client.replace("/etc/nameplate/home.secret", str(secret))
                    .replace("/var/lib/nameplate", str(tmp_path / "state")))
    r = subprocess.run([str(dest / "usr/bin/nameplate"), "-c", str(conf), "check-config"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    token = _private(tmp_path / "sensor.token", "lab1:" + "a" * 43 + "\n")
    sensor = (ex / "sensor.conf").read_text()
    assert "/etc/nameplate/sensor.token" in sensor
    conf = _private(tmp_path / "sensor.conf",
                    sensor.replace("/etc/nameplate/sensor.token", str(token))
                    .replace("/var/lib/nameplate-sensor", str(tmp_path / "spool"))
                    .replace("user = nameplate-sensor",
                             "user = " + pwd.getpwuid(os.getuid()).pw_name))
    r = subprocess.run([str(dest / "usr/sbin/nameplate-sensor"), "-c", str(conf),
                        "--check-config"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
