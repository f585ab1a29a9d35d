# SPDX-License-Identifier: MIT
"""The web UI in a real browser (headless Chromium, browser.py) against the real server.

A scripted person signs up (the confirmation mail caught by an SMTP relay on loopback),
signs in, turns on the second factor (the secret read from the page, the
code computed by oathtool), signs out and in again with a code, adds a host, presses "Make
update settings" and runs Debian's real ddclient with the settings copied from the page,
then sees the new address and its history on the host page; makes and revokes a token;
deletes the account. An account without the admin role gets 403 on /admin. Every page is
sent with the CSP, holds no script, style attribute or handler, has a label on every field
and does not scroll sideways at a phone's width; each is kept as a screenshot
(BUILD/artifacts/browser/<test>/).
"""
import html.parser
import os
import re
import subprocess
import time

from browser import chromium  # noqa: F401 (fixture)
from conftest import ZONE, wait_for
from test_check import mail_extra, relay  # noqa: F401 (relay: fixture)

CSP = "default-src 'none'; style-src 'self'; form-action 'self'"
PASSWORD = "correct horse battery"
FQDN = "home.%s" % ZONE


USERS = (("alice", False), ("root", True), ("bob", False))


def server(np_factory, extra=None, users=USERS):
    n = np_factory()
    n.write_config(extra=extra)
    n.init()
    for user, admin in users:
        n.ctl("user", "add", user, "--password-stdin", *(["--admin"] if admin else []),
              input=PASSWORD + "\n")
    n.start()
    return n


class PageCheck(html.parser.HTMLParser):
    """What a page must not hold: script, style elements or attributes, event handlers."""

    def __init__(self):
        super().__init__()
        self.bad = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.bad.append(tag)
        for k, _ in attrs:
            if k == "style" or k.startswith("on"):
                self.bad.append("%s[%s]" % (tag, k))


def check_page(n, b, path, cookie=None, status=200):
    """The page at path, as the browser's cookie fetches it again: status, CSP, no script;
    in the browser: labels on every field and no sideways scrolling at 375 px."""
    headers = {"Cookie": "np_session=" + cookie} if cookie else {}
    st, hdrs, body = n.http(path, headers=headers)
    assert st == status, (path, st, body)
    assert hdrs.get("content-security-policy") == CSP, (path, hdrs)
    p = PageCheck()
    p.feed(body)
    assert p.bad == [], (path, p.bad)
    unlabelled = b.driver.execute_script(
        "return Array.from(document.querySelectorAll("
        "'input:not([type=hidden]), textarea, select'))"
        ".filter(e => e.labels.length == 0).map(e => e.name)")
    assert unlabelled == [], (b.url, unlabelled)
    unnamed = b.driver.execute_script(
        "return Array.from(document.querySelectorAll('button'))"
        ".filter(e => e.textContent.trim() == '').length")
    assert unnamed == 0, b.url
    b.driver.set_window_size(375, 812)
    widths = b.driver.execute_script(
        "return [document.documentElement.clientWidth, document.documentElement.scrollWidth]")
    b.screenshot(re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") + "-phone")
    b.driver.set_window_size(1024, 1400)
    assert widths[1] <= widths[0], (b.url, widths)


def totp(secret, at=None):
    args = ["oathtool", "--totp", "--base32"]
    if at is not None:
        args.append("--now=@%d" % at)
    return subprocess.run(args + [secret], capture_output=True, text=True,
                          check=True).stdout.strip()


def sign_in(b, base, user, code=None):
    b.open(base + "/login")
    b.type("username", user)
    b.type("password", PASSWORD)
    if code is not None:
        b.type("totp", code)
    b.press("Sign in")


def press_in_row(b, cell_text, label):
    """Presses the button label in the table row that has a cell cell_text."""
    old = b.driver.find_element("tag name", "html")
    b.driver.find_element(
        "xpath", "//tr[td[normalize-space(.)='%s']]//button[normalize-space(.)='%s']"
        % (cell_text, label)).click()
    b.wait_for_new_page(old)


def run_ddclient(tmp_path, settings, addr):
    """Debian's ddclient, once, in the foreground, with the settings from the page; the
    address it sends is chosen here (use=ip) instead of asked of /nic/checkip."""
    lines = [("use=ip, ip=%s" % addr) if l.startswith("use=") else l
             for l in settings.splitlines()]
    conf = tmp_path / "ddclient.conf"
    conf.write_text("\n".join(lines) + "\n")
    os.chmod(conf, 0o600)
    cache = tmp_path / "ddclient.cache"
    r = subprocess.run(["/usr/bin/ddclient", "-daemon=0", "-foreground", "-verbose",
                        "-file", str(conf), "-cache", str(cache)],
                       capture_output=True, text=True, timeout=60)
    return r, "\n".join(lines)


def test_web_ui_end_to_end(np_factory, relay, chromium, tmp_path):
    # alice is nobody yet: she signs up on the open server and confirms her address.
    n = server(np_factory, mail_extra(relay.port) + "\n[accounts]\nsignup = open\n",
               users=[u for u in USERS if u[0] != "alice"])
    base = "http://127.0.0.1:%d" % n.http_port
    me = chromium("alice")

    me.open(base + "/")
    me.screenshot("home")
    assert "Sign in" in me.text() and "/check" in me.html()
    check_page(n, me, "/")
    me.open(base + "/signup")
    me.type("username", "alice")
    me.type("email", "alice@example.org")
    me.type("password", PASSWORD)
    me.press("Sign up")
    assert "Check your mail" in me.text(), me.text()
    _, _, _, msg = relay.wait_mail("alice@example.org")
    link = re.search(r"http://\S+(/confirm\?code=\S+)",
                     msg.get_body(preferencelist=("plain",)).get_content())
    assert link, msg
    me.open(base + link.group(1))
    me.press("Confirm my address")
    assert "Address confirmed" in me.text(), me.text()

    me.open(base + "/login")
    check_page(n, me, "/login")

    # A wrong password: the form again, with the reason.
    me.type("username", "alice")
    me.type("password", "not the password")
    me.press("Sign in")
    assert "wrong user name or password" in me.text()
    assert "np_session" not in me.cookies()

    sign_in(me, base, "alice")
    me.screenshot("signed-in")
    assert me.url == base + "/hosts", me.text()
    c = me.cookies()["np_session"]
    assert c["httpOnly"] and c["sameSite"] == "Strict" and c["path"] == "/"
    assert not c["secure"]  # public_url is not https here
    assert 12 * 3600 - 60 < c["expiry"] - time.time() <= 12 * 3600 + 5
    cookie = c["value"]
    check_page(n, me, "/hosts", cookie)

    # The second factor: the secret as text on /account, the code from oathtool.
    me.open(base + "/account")
    me.screenshot("account-totp-offer")
    check_page(n, me, "/account", cookie)
    assert me.driver.find_elements("css selector", ".qr svg"), "no QR code"
    secret = me.driver.find_element("id", "totp-secret").text.strip()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
    me.type("code", totp(secret))
    me.press("Turn on the second factor")
    me.screenshot("account-totp-on")
    assert me.url == base + "/account", me.text()
    assert "Sign-ins ask for the code" in me.text()

    me.press("Sign out alice")
    assert me.url == base + "/", me.text()
    assert "np_session" not in me.cookies()
    st, _, _ = n.http("/hosts", headers={"Cookie": "np_session=" + cookie})
    assert st == 303  # the old session is gone: to the sign-in page

    # Without the code, then with the next step's code (the one used to enrol is spent).
    sign_in(me, base, "alice")
    assert "authenticator" in me.text() and me.url == base + "/login", me.text()
    used_step = (int(time.time()) + 30) // 30
    sign_in(me, base, "alice", totp(secret, used_step * 30))
    assert me.url == base + "/hosts", me.text()
    cookie = me.cookies()["np_session"]["value"]

    # A host, its update settings, and a real ddclient with them.
    me.type("hostname", FQDN)
    me.press("Add the host")
    assert me.url == base + "/hosts/" + FQDN, me.text()
    check_page(n, me, "/hosts/" + FQDN, cookie)
    me.press("Make update settings")
    me.screenshot("update-settings")
    settings = me.driver.find_element("id", "ddclient").text
    assert "protocol=dyndns2" in settings and "server=127.0.0.1:%d" % n.http_port in settings
    assert "ssl=no" in settings and "login=alice" in settings, settings
    assert settings.strip().splitlines()[-1] == FQDN
    for other in ("inadyn", "curl", "openwrt", "fritzbox"):
        assert me.driver.find_element("id", other).text.strip()
    r, used = run_ddclient(tmp_path, settings, "192.0.2.77")
    assert "SUCCESS" in r.stdout + r.stderr, (used, r.stdout, r.stderr)
    assert wait_for(lambda: n.addrs(FQDN) == {"192.0.2.77"}, 10)

    me.open(base + "/hosts/" + FQDN)
    me.screenshot("host-after-ddclient")
    text = me.text()
    assert "192.0.2.77" in me.driver.find_element("id", "values-A").get_attribute("value")
    assert re.search(r"dyndns2 127\.0\.0\.1\s+192\.0\.2\.77", text), text
    me.open(base + "/hosts")
    assert "192.0.2.77" in me.text() and "dyndns2" in me.text()

    # Records by hand.
    me.open(base + "/hosts/" + FQDN)
    txt = me.driver.find_element("id", "values-TXT")
    txt.send_keys("hello <world>")
    old = me.driver.find_element("tag name", "html")
    me.driver.find_element("xpath", "//button[normalize-space(.)='Save the TXT records']").click()
    me.wait_for_new_page(old)
    assert "hello <world>" in me.driver.find_element("id", "values-TXT").get_attribute("value")

    # Tokens: make one, its secret once, revoke it.
    me.open(base + "/tokens")
    check_page(n, me, "/tokens", cookie)
    me.type("name", "cron job")
    me.type("names", FQDN)
    me.driver.find_element("css selector", "input[name=types][value=AAAA]").click()
    me.type("days", "30")
    me.press("Make the token")
    me.screenshot("token-made")
    tok = me.driver.find_element("id", "secret").text.strip()
    assert len(tok) >= 40 and "AAAA" in me.text(), me.text()
    st, _, lines = n.update(hostname=FQDN, user="alice", secret=tok, myip="2001:db8::7")
    assert lines == ["good 2001:db8::7"], lines
    me.open(base + "/tokens")
    assert "cron job" in me.text()
    press_in_row(me, "cron job", "Revoke")
    assert me.url == base + "/tokens" and "cron job" not in me.text(), me.text()
    st, _, lines = n.update(hostname=FQDN, user="alice", secret=tok, myip="2001:db8::8")
    assert lines == ["badauth"], lines

    # Not an administrator.
    me.open(base + "/admin")
    me.screenshot("admin-refused")
    check_page(n, me, "/admin", cookie, status=403)

    # The administrator sees the accounts.
    root = chromium("root")
    sign_in(root, base, "root")
    root.open(base + "/admin")
    root.screenshot("admin")
    check_page(n, root, "/admin", root.cookies()["np_session"]["value"])
    assert "alice" in root.text()
    press_in_row(root, "bob", "Lock")
    assert re.search(r"bob\s.*locked", root.text()), root.text()
    press_in_row(root, "bob", "Unlock")
    assert re.search(r"bob\s.*active", root.text()), root.text()

    # The account: mail address, password, the second factor off again.
    me.open(base + "/account")
    me.type("email", "alice@home.example.org")
    me.press("Save the address")
    assert me.field("email").get_attribute("value") == "alice@home.example.org"
    me.driver.find_element("id", "current_password").send_keys(PASSWORD)
    me.driver.find_element("id", "new_password").send_keys(PASSWORD + "!")
    me.driver.find_element("id", "password_again").send_keys(PASSWORD + "!")
    me.press("Change the password")
    assert me.url == base + "/account", me.text()
    while int(time.time()) // 30 < used_step:  # a code newer than the last one used
        time.sleep(0.5)
    me.type("code", totp(secret, (used_step + 1) * 30))
    me.press("Remove the second factor")
    assert me.url == base + "/account" and "Scan this code" in me.text(), me.text()

    # A second sign-in (no code needed now), ended from the first.
    phone = chromium("alice-phone")
    phone.open(base + "/login")
    phone.type("username", "alice")
    phone.type("password", PASSWORD + "!")
    phone.press("Sign in")
    assert phone.url == base + "/hosts", phone.text()
    me.open(base + "/account")
    me.screenshot("account-two-sessions")
    assert "(this one)" in me.text()
    old = me.driver.find_element("tag name", "html")
    me.driver.find_element("xpath", "//tr[td and not(contains(., '(this one)'))]"
                                    "//button[normalize-space(.)='End']").click()
    me.wait_for_new_page(old)
    phone.open(base + "/hosts")
    assert phone.url == base + "/login"

    # The account goes.
    me.driver.find_element("id", "delete_password").send_keys(PASSWORD + "!")
    me.press("Delete my account")
    me.screenshot("account-deleted")
    assert "Account deleted" in me.text(), me.text()
    assert "np_session" not in me.cookies()
    assert wait_for(lambda: n.addrs(FQDN) == set(), 10)
    me.open(base + "/hosts")
    assert me.url == base + "/login"


def test_signup_and_confirm_in_the_browser(np_factory, relay, chromium):
    """[accounts] signup = open: the form, the mail, the link's button, then a sign-in."""
    n = server(np_factory, mail_extra(relay.port) + "\n[accounts]\nsignup = open\n")
    base = "http://127.0.0.1:%d" % n.http_port
    b = chromium("newcomer")
    b.open(base + "/")
    b.open(base + "/signup")
    check_page(n, b, "/signup")
    assert not b.driver.find_elements("name", "invite")
    b.type("username", "carol")
    b.type("email", "carol@example.org")
    b.type("password", PASSWORD)
    b.press("Sign up")
    b.screenshot("signup-sent")
    assert "Check your mail" in b.text(), b.text()
    sign_in(b, base, "carol")
    assert "confirm your mail address" in b.text(), b.text()
    _, _, _, msg = relay.wait_mail("carol@example.org")
    body = msg.get_body(preferencelist=("plain",)).get_content()
    m = re.search(r"(http://\S+)(/confirm\?code=\S+)", body)
    assert m, body
    b.open(base + m.group(2))
    b.screenshot("confirm")
    check_page(n, b, m.group(2))
    b.press("Confirm my address")
    assert "Address confirmed" in b.text(), b.text()
    sign_in(b, base, "carol")
    assert b.url == base + "/hosts", b.text()


def test_forms_refuse_a_foreign_csrf_value(np_factory):
    """A signed-in form with another value than the session's, or none, changes nothing."""
    n = server(np_factory)
    import json
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", n.http_port, timeout=10)
    c.request("POST", "/api/v1/auth/login", json.dumps({"user": "alice", "password": PASSWORD}),
              {"Content-Type": "application/json"})
    token = json.loads(c.getresponse().read())["token"]
    c.close()
    for form in ("hostname=%s" % FQDN, "hostname=%s&csrf=%s" % (FQDN, "A" * 43)):
        c = http.client.HTTPConnection("127.0.0.1", n.http_port, timeout=10)
        c.request("POST", "/hosts", form, {"Content-Type": "application/x-www-form-urlencoded",
                                           "Cookie": "np_session=" + token})
        r = c.getresponse()
        body = r.read().decode()
        c.close()
        assert r.status == 403 and "Form expired" in body, (r.status, body)
    st, _, body = n.http("/api/v1/hosts", headers={"Authorization": "Token " + token})
    assert json.loads(body)["hosts"] == []


def test_tsig_key_made_in_the_browser_works_with_nsupdate(np_factory, chromium, tmp_path):
    """A person makes a TSIG key on the tokens page, saves the key file the page shows, and
    BIND's nsupdate changes her host with it; the key's types hold."""
    n = server(np_factory)
    n.ctl("host", "add", FQDN, "--user", "alice")
    base = "http://127.0.0.1:%d" % n.http_port
    me = chromium("alice")
    sign_in(me, base, "alice")
    me.open(base + "/tokens")
    cookie = me.cookies()["np_session"]["value"]
    check_page(n, me, "/tokens", cookie)
    d = me.driver
    d.find_element("id", "keyname").send_keys("nas-key")
    d.find_element("id", "tsig-names").send_keys(FQDN)
    d.find_element("xpath", "//form[@action='/tokens/tsig']//input[@value='A']").click()
    me.press("Make the key")
    me.screenshot("tsig-made")
    assert "shown only this once" in me.text(), me.text()
    keyfile = tmp_path / "nas.key"
    keyfile.write_text(d.find_element("id", "keyfile").text + "\n")
    script = ("server 127.0.0.1 %d\nzone %s\nupdate add %s 60 A 192.0.2.61\nsend\n"
              % (n.dns_port, ZONE, FQDN))
    p = subprocess.run(["nsupdate", "-k", str(keyfile)], input=script, text=True,
                       capture_output=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    assert n.addrs(FQDN) == {"192.0.2.61"}
    script = script.replace("60 A 192.0.2.61", '60 TXT "x"')
    p = subprocess.run(["nsupdate", "-k", str(keyfile)], input=script, text=True,
                       capture_output=True, timeout=30)
    assert p.returncode != 0 and "REFUSED" in p.stdout + p.stderr
    # The key is listed with the tokens, and revoked like one.
    me.open(base + "/tokens")
    assert "nas-key" in me.text() and "tsig" in me.text()
    press_in_row(me, "nas-key", "Revoke")
    p = subprocess.run(["nsupdate", "-k", str(keyfile)],
                       input=script.replace('60 TXT "x"', "60 A 192.0.2.62"), text=True,
                       capture_output=True, timeout=30)
    assert p.returncode != 0
    assert n.addrs(FQDN) == {"192.0.2.61"}


def test_host_page_shows_the_last_audit(np_factory, chromium):
    """The report nameplate audit sends (here straight to the API with the host's secret):
    its grade, findings and time on the host page, then what changed after a re-run."""
    import json
    import http.client
    n = server(np_factory)
    secret = n.add_host(FQDN, "alice")
    base = "http://127.0.0.1:%d" % n.http_port

    def send(findings, grade):
        c = http.client.HTTPConnection("127.0.0.1", n.http_port, timeout=10)
        c.request("POST", "/api/v1/hosts/%s/audit" % FQDN, body=json.dumps(
            {"host": FQDN, "grade": grade, "nat": "nat", "outside_view": True,
             "server_seen": "192.0.2.7", "findings": findings}),
            headers={"Authorization": "Token " + secret, "Content-Type": "application/json"})
        r = c.getresponse()
        assert r.status == 201, r.read()
        return json.loads(r.read())["audit"]

    def finding(key, sev, title, todo):
        return {"id": key.split()[0], "key": key, "severity": sev, "layer": 1, "title": title,
                "evidence": {}, "reachable_from_outside": True,
                "remedy": {"found": "f", "why": "w", "what_to_do": todo}}

    b = chromium("audit")
    sign_in(b, base, "alice")
    b.open(base + "/hosts/" + FQDN)
    assert "No audit yet" in b.text(), b.text()
    send([finding("port-open tcp/23", "high", "tcp 23 (telnet) answers from the internet",
                  "Close the port forward"),
          finding("upnp-enabled", "medium", "UPnP is on in the router", "Turn UPnP off")], "D")
    b.open(base + "/hosts/" + FQDN)
    b.screenshot("host-audit")
    text = b.text()
    assert "Grade D" in text, text
    assert "tcp 23 (telnet) answers from the internet" in text and "Close the port forward" in text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", b.driver.find_element(
        "id", "audit-grade").text), text
    rows = b.driver.find_elements("css selector", "#audit-findings tbody tr")
    assert [r.find_elements("tag name", "td")[0].text for r in rows] == ["high", "medium"]
    # A re-run after the port was closed: the grade and what went.
    send([finding("upnp-enabled", "medium", "UPnP is on in the router", "Turn UPnP off")], "C")
    b.open(base + "/hosts/" + FQDN)
    assert "Grade C" in b.text()
    assert b.driver.find_element("id", "audit-changes").text == "gone: port-open tcp/23"
    check_page(n, b, "/hosts/" + FQDN, cookie=b.driver.get_cookie("np_session")["value"])


def test_abuse_report_in_the_browser(np_factory, chromium):
    """The public report form (GET/POST /abuse): a wrong name is said on the form with what
    was typed kept; a good report gives a ticket the operator sees; a POST without the
    form's CSRF value keeps nothing."""
    n = server(np_factory)
    n.ctl("host", "add", FQDN, "--user", "alice")
    base = "http://127.0.0.1:%d" % n.http_port
    b = chromium("reporter")
    b.open(base + "/abuse")
    check_page(n, b, "/abuse")
    b.type("hostname", "nothere." + ZONE)
    b.driver.find_element("name", "category").send_keys("Phishing")
    b.type("evidence", "a fake bank login\nat /login")
    b.type("contact", "reporter@example.org")
    b.press("Send the report")
    b.screenshot("abuse-bad-name")
    assert "not a name of this server" in b.text(), b.text()
    assert b.field("evidence").get_attribute("value") == "a fake bank login\nat /login"
    b.field("hostname").clear()
    b.type("hostname", FQDN)
    b.press("Send the report")
    b.screenshot("abuse-sent")
    assert "Report received" in b.text() and "ticket" in b.text(), b.text()
    import json
    tickets = json.loads(n.ctl("abuse", "tickets", "--json").stdout)
    assert len(tickets) == 1 and tickets[0]["name"] == FQDN, tickets
    t = tickets[0]
    assert t["category"] == "phishing" and t["contact"] == "reporter@example.org"
    assert t["evidence"].replace("\r\n", "\n") == "a fake bank login\nat /login", t
    # Without the double-submit cookie: 403 on the form, nothing kept.
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", n.http_port, timeout=10)
    c.request("POST", "/abuse", "hostname=%s&category=spam&evidence=x&csrf=%s" % (FQDN, "A" * 43),
              {"Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse()
    body = r.read().decode()
    c.close()
    assert r.status == 403 and "form expired" in body, (r.status, body)
    assert len(json.loads(n.ctl("abuse", "tickets", "--json").stdout)) == 1


def test_abuse_queue_and_the_owners_page_in_the_browser(np_factory, chromium):
    """The administrator works the report queue in the browser (/admin/abuse: list, open,
    decide with a reason); the owner sees the state, the reasons and the log on the host's
    page and clears a hold once with its button; only administrators see the queue."""
    import http.client
    import json
    from selenium.webdriver.support.ui import Select
    n = server(np_factory)
    n.ctl("host", "add", FQDN, "--user", "alice")
    base = "http://127.0.0.1:%d" % n.http_port
    c = http.client.HTTPConnection("127.0.0.1", n.http_port, timeout=10)
    c.request("POST", "/api/v1/abuse", json.dumps(
        {"hostname": FQDN, "category": "phishing", "evidence": "fake <bank> login at /x",
         "contact": "reporter@example.org"}), {"Content-Type": "application/json"})
    r = c.getresponse()
    ticket = json.loads(r.read())["ticket"]
    c.close()
    assert r.status == 201

    owner = chromium("alice")
    sign_in(owner, base, "alice")
    owner.open(base + "/hosts/" + FQDN)
    assert "Abuse state" not in owner.text()  # ok and never logged: nothing to show
    owner.open(base + "/admin/abuse")
    check_page(n, owner, "/admin/abuse", owner.cookies()["np_session"]["value"], status=403)
    assert "Not allowed" in owner.text()

    root = chromium("root")
    sign_in(root, base, "root")
    root.open(base + "/admin")
    root.driver.find_element("link text", "Abuse reports").click()
    cookie = root.cookies()["np_session"]["value"]
    check_page(n, root, "/admin/abuse", cookie)
    assert FQDN in root.text() and "open" in root.text()
    root.driver.find_element("css selector", "a[href='/admin/abuse/%d']" % ticket).click()
    check_page(n, root, "/admin/abuse/%d" % ticket, cookie)
    root.screenshot("ticket-open")
    text = root.text()
    assert "fake <bank> login at /x" in text and "reporter@example.org" in text, text
    assert "abuse state ok" in text

    def decide(decision, reason):
        Select(root.field("decision")).select_by_value(decision)
        root.type("reason", reason)
        root.press("Decide")
        assert root.url.endswith("/admin/abuse/%d" % ticket), (root.url, root.text())

    decide("hold", "phishing kit seen by the reporter")
    root.screenshot("ticket-held")
    assert "abuse state hold" in root.text() and "admin:root" in root.text()

    # The owner's page: the state, why, the log (the operator unnamed), the one clearing.
    owner.open(base + "/hosts/" + FQDN)
    check_page(n, owner, "/hosts/" + FQDN, owner.cookies()["np_session"]["value"])
    owner.screenshot("host-held")
    text = owner.text()
    assert "Abuse state: hold: ticket %d: phishing kit seen by the reporter" % ticket in text, text
    assert "operator" in text and "admin:root" not in text
    owner.tick("confirm")
    owner.press("Clear the hold")
    owner.screenshot("host-cleared")
    assert owner.url.endswith("/hosts/" + FQDN), owner.text()
    text = owner.text()
    assert "Abuse state: ok" in text and "Clear the hold" not in text, text
    assert "cleared by its owner" in text

    # Held again, the button is gone: the second hold is the operator's to lift.
    decide("hold", "held again")
    owner.open(base + "/hosts/" + FQDN)
    assert "Abuse state: hold" in owner.text() and "Clear the hold" not in owner.text()
    decide("quarantine", "confirmed phishing")
    assert wait_for(lambda: n.query(FQDN, "A").rcode() == 3, 1.0)  # NXDOMAIN
    owner.open(base + "/hosts/" + FQDN)
    assert "Abuse state: quarantined" in owner.text()
    decide("restore", "site taken down by its owner")
    assert "restored" in root.text()
    log = json.loads(n.ctl("abuse", "log", FQDN, "--json").stdout)
    assert [(e["to"], e["actor"]) for e in log] == [
        ("ok", "admin:root"), ("quarantined", "admin:root"), ("hold", "admin:root"),
        ("ok", "owner"), ("hold", "admin:root")]
    assert all(e["ticket"] == ticket for e in log if e["actor"] == "admin:root")
    # The reporter is told each outcome through the outbox.
    import sqlite3
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(n.data_dir, "nameplate.db"), uri=True)
    mails = db.execute("SELECT rcpt FROM outbox").fetchall()
    db.close()
    assert mails.count(("reporter@example.org",)) == 4

    # A decision without the form's CSRF value changes nothing.
    c = http.client.HTTPConnection("127.0.0.1", n.http_port, timeout=10)
    c.request("POST", "/admin/abuse/%d" % ticket, "decision=quarantine&reason=x&csrf=" + "A" * 43,
              {"Content-Type": "application/x-www-form-urlencoded",
               "Cookie": "np_session=" + cookie})
    r = c.getresponse()
    r.read()
    c.close()
    assert r.status == 403
    assert len(json.loads(n.ctl("abuse", "log", FQDN, "--json").stdout)) == 5
    # An unknown decision or ticket is refused with a page saying so.
    root.open(base + "/admin/abuse/999")
    assert "no ticket 999" in root.text()
