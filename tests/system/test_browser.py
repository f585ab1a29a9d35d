# SPDX-License-Identifier: MIT
"""The server's HTML forms in a real browser (headless Chromium through selenium, see
browser.py), as a person uses them.

- The "am I infected?" check end to end: open /check (styled by /static/style.css under the
  page's CSP), type an address, tick the consent, press "Start the check"; the mail reaches
  the test's SMTP relay; its link opened in the same browser shows the verdict, the
  evidence and the remedies, without sideways scrolling at a phone's width; "Check again" gives a
  fresh result; the same link in a second profile is refused.
- Cross-site forms are refused: a page on another port (same site, so the browser sends our
  SameSite=Strict cookie along) or another host name (cross-site) that auto-submits the
  form, with the right CSRF value copied in or without it, and with the attacker's page
  hiding its origin (no-referrer, so Origin: null). Nothing is started and no mail is sent.
- Every <form> in the server's sources is listed in browser.FORMS, so a form added later
  comes with its browser test.
"""
import datetime
import http.server
import json
import re
import threading
import time

import pytest

import sensorapi
from browser import FORMS, chromium, forms_in_sources  # noqa: F401 (chromium: fixture)
from conftest import free_port, wait_for
from test_check import MAIL_FROM, api_self, mail_link, relay, server  # noqa: F401

REFUSED = "This form was sent from another site."


def mirai_evidence(np):
    """Observations that make 127.0.0.1 infected: Mirai SYNs and a default-password login."""
    tok = sensorapi.add_sensor(np)
    now = int(time.time())
    events = [{"src": "127.0.0.1", "t": now - 60, "kind": "mirai_syn", "proto": 6,
               "port": p} for p in (23, 2323, 23)]
    events.append({"src": "127.0.0.1", "t": now - 30, "kind": "login", "proto": 6,
                   "port": 23, "user": "root", "pass": "xc3511"})
    st, body = sensorapi.post(np, sensorapi.batch("b1", events), tok)
    assert st == 200, body

    def infected():
        st, body = api_self(np, "alice", np.secret)
        return st == 200 and json.loads(body)["verdict"] == "infected"
    assert wait_for(infected, 10, 0.2), "the observations never made 127.0.0.1 infected"


def test_check_flow_in_a_real_browser(np_factory, relay, chromium):
    np = server(np_factory, relay.port)
    mirai_evidence(np)
    base = "http://127.0.0.1:%d" % np.http_port

    me = chromium("me")
    me.open(base + "/check")
    assert me.title() == "Am I infected?"
    assert "127.0.0.1" in me.text() and "never means clean" in me.text()
    # The stylesheet loaded under the page's CSP (style-src 'self'): the note is shaded.
    note = me.driver.find_element("css selector", "p.note")
    assert note.value_of_css_property("background-color") == "rgba(244, 244, 244, 1)"
    me.type("email", "person@example.org")
    me.tick("consent")
    me.screenshot("check-form-filled")
    me.press("Start the check")
    me.screenshot("check-started")
    text = me.text()
    assert "Refused" not in text, text
    assert "person@example.org" in text and "on its way" in text, text

    _, rcpts, _, msg = relay.wait_mail("person@example.org")
    assert rcpts == ["person@example.org"]
    assert msg["Subject"] == "Nameplate check for 127.0.0.1: infected"
    link_base, path, _ = mail_link(msg)
    assert link_base == base

    me.open(base + path)
    me.screenshot("result")
    text = me.text()
    assert "127.0.0.1" in text and "infected" in text.lower(), text
    assert "Mirai" in text                                   # why: the rule in words
    assert "2323" in text and "xc3511" in text               # evidence: ports, the pair
    assert "firmware" in text and "UPnP" in text             # remedies
    checked_first = [l for l in text.splitlines() if l.startswith("Checked at")]
    assert checked_first, text
    # On a phone's width the page does not scroll sideways (wide tables scroll in place).
    me.driver.set_window_size(375, 812)
    me.screenshot("result-phone-width")
    widths = me.driver.execute_script(
        "return [document.documentElement.clientWidth, document.documentElement.scrollWidth]")
    assert widths[0] <= 400 and widths[1] <= widths[0], widths
    me.driver.set_window_size(1024, 1400)
    # The page says when it was checked and until when it opens: 3 days later by default.
    m = re.search(r"Checked at (\S+ \S+) UTC.* opened until (\S+ \S+) UTC", checked_first[0])
    assert m, checked_first
    t0, t1 = (datetime.datetime.strptime(x, "%Y-%m-%d %H:%M:%S") for x in m.groups())
    assert (t1 - t0).total_seconds() == 3 * 86400, checked_first

    time.sleep(1.1)  # "Checked at" has a resolution of a second
    me.press("Check again")
    me.screenshot("result-after-check-again")
    text = me.text()
    assert "Refused" not in text and "could not start" not in text, text
    assert me.url == base + path
    assert "infected" in text.lower() and "Mirai" in text
    checked_again = [l for l in text.splitlines() if l.startswith("Checked at")]
    assert checked_again and checked_again != checked_first, (checked_first, checked_again)
    # Check again sends no new mail.
    time.sleep(0.5)
    assert len(relay.sink.to("person@example.org")) == 1

    other = chromium("someone-else")
    other.open(base + path)
    other.screenshot("result-in-another-browser")
    text = other.text()
    assert "Open the link in the browser you used" in text, text
    assert "xc3511" not in text and "2323" not in text


class AttackerSite:
    """A page on another origin that submits a form to the server as soon as it loads."""

    def __init__(self, page):
        self.page = page.encode()
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(site.page)))
                self.end_headers()
                self.wfile.write(site.page)

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def attack_page(action, fields, hide_origin):
    inputs = "".join('<input type="hidden" name="%s" value="%s">' % kv for kv in fields.items())
    meta = '<meta name="referrer" content="no-referrer">' if hide_origin else ""
    return ("<!doctype html><html><head>%s<title>Win a prize</title></head><body>"
            '<form id="f" method="post" action="%s">%s</form>'
            "<script>document.getElementById('f').submit()</script></body></html>"
            % (meta, action, inputs))


@pytest.mark.parametrize("attacker_host", ["127.0.0.1", "localhost"],
                         ids=["same-site-other-port", "cross-site"])
def test_forms_from_another_site_are_refused(np_factory, relay, chromium, attacker_host):
    np = server(np_factory, relay.port)
    base = "http://127.0.0.1:%d" % np.http_port
    victim = chromium("victim")

    # A check of the victim's own, so that the result page's form has a target.
    victim.open(base + "/check")
    victim.type("email", "victim@example.org")
    victim.tick("consent")
    victim.press("Start the check")
    _, _, _, msg = relay.wait_mail("victim@example.org")
    _, path, _ = mail_link(msg)
    victim.open(base + path)
    csrf = victim.cookies()["np_csrf"]["value"]

    cases = []
    for hide in (False, True):
        # The victim's browser holds the np_csrf cookie, and the attacker even knows it.
        cases.append(("start-with-csrf", "/check",
                      {"email": "target@example.org", "consent": "yes", "csrf": csrf}, hide))
        cases.append(("start-without-csrf", "/check",
                      {"email": "target@example.org", "consent": "yes"}, hide))
        cases.append(("recheck-with-csrf", path, {"csrf": csrf}, hide))
    for what, action, fields, hide in cases:
        site = AttackerSite(attack_page(base + action, fields, hide))
        try:
            before = victim.driver.find_element("tag name", "html")
            victim.open("http://%s:%d/" % (attacker_host, site.port))
            victim.wait_for_new_page(before)
            wait_for(lambda: victim.url.startswith(base), 10)
            victim.screenshot("%s%s" % (what, "-hidden-origin" if hide else ""))
            text = victim.text()
            if attacker_host == "127.0.0.1" or what != "start-without-csrf":
                assert REFUSED in text, (what, hide, victim.url, text)
            else:
                # Cross-site, the SameSite=Strict cookie stays home too; either refusal
                # starts nothing.
                assert REFUSED in text or "could not start" in text, (what, hide, text)
        finally:
            site.stop()
    time.sleep(0.5)
    assert relay.sink.to("target@example.org") == []
    assert relay.sink.count() == 1  # the victim's own check only


def test_every_form_is_tested_in_the_browser():
    found = forms_in_sources()
    assert found, "no <form> found in the sources: the scanner is broken"
    untested = []
    for path, line, action in found:
        if action is None or not (action in FORMS or any(
                k.endswith("/") and action.startswith(k) for k in FORMS)):
            untested.append("%s:%d: form action %r" % (path, line, action))
    assert not untested, ("forms without a browser test (add them to browser.FORMS with "
                          "the test that submits them):\n" + "\n".join(untested))
    # And every listed form still exists.
    actions = {a for _, _, a in found}
    assert set(FORMS) <= actions, set(FORMS) - actions
