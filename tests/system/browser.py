# SPDX-License-Identifier: MIT
"""A real browser for the system tests: Debian's headless Chromium driven through selenium
(chromium, chromium-driver, python3-selenium), so a page is tested as a person uses it. A
browser sends what an HTTP client in a test does not (Origin, Sec-Fetch-Site, cookies by
their SameSite rules, the referrer policy's effects), and a form that every browser refuses
can pass a test that posts with Python.

Every HTML form the server has is listed in FORMS below, with the test that submits it in
the browser; test_browser.py fails when a form in the server's sources is not listed, so a
form added later comes with its browser test.

Each test gets its own profiles (cookie jars) under its tmp_path, and keeps a screenshot of
every page it looks at under BUILD/artifacts/browser/<test>/ (NN-what.png)."""

import os
import re
import shutil

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from conftest import BUILD, ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = os.path.join(BUILD, "artifacts", "browser")
PAGE_TIMEOUT = 30

# Every form the server renders: its action (a path, or a path prefix ending in "/" for
# actions with a token in them) and the test that submits it in the browser.
FORMS = {
    "/check": "test_browser.py::test_check_flow_in_a_real_browser",
    "/check/": "test_browser.py::test_check_flow_in_a_real_browser",
    "/login": "test_web.py::test_web_ui_end_to_end",
    "/signup": "test_web.py::test_signup_and_confirm_in_the_browser",
    "/confirm": "test_web.py::test_signup_and_confirm_in_the_browser",
    "/logout": "test_web.py::test_web_ui_end_to_end",
    "/hosts": "test_web.py::test_web_ui_end_to_end",
    "/hosts/": "test_web.py::test_web_ui_end_to_end",
    "/tokens": "test_web.py::test_web_ui_end_to_end",
    "/tokens/": "test_web.py::test_web_ui_end_to_end",
    "/account/email": "test_web.py::test_web_ui_end_to_end",
    "/account/password": "test_web.py::test_web_ui_end_to_end",
    "/account/totp": "test_web.py::test_web_ui_end_to_end",
    "/account/totp/remove": "test_web.py::test_web_ui_end_to_end",
    "/account/sessions/": "test_web.py::test_web_ui_end_to_end",
    "/account/delete": "test_web.py::test_web_ui_end_to_end",
    "/admin/users/": "test_web.py::test_web_ui_end_to_end",
    "/abuse": "test_web.py::test_abuse_report_in_the_browser",
    "/admin/abuse/": "test_web.py::test_abuse_queue_and_the_owners_page_in_the_browser",
}

# Where HTML is written: C sources today, template files as they come. The client serves
# no page: it only reads devices' login forms (the audit's --credentials).
FORM_SOURCES = ("src", "templates")
FORM_SKIP = (os.path.join("src", "client"),)
# An action in C source text (quotes escaped) or in a template (quotes plain).
ACTION_RE = re.compile(r'<form\b[^>]*?action=\\?"([^"\\{]*)')


def forms_in_sources():
    """(file, line, action) of every <form in the server's sources. In C, a form's opening
    tag can be split over adjacent string literals, which are joined before matching."""
    found = []
    for top in FORM_SOURCES:
        for d, _, files in os.walk(os.path.join(ROOT, top)):
            if os.path.relpath(d, ROOT).startswith(FORM_SKIP):
                continue
            for f in sorted(files):
                if not f.endswith((".c", ".h", ".html", ".tmpl", ".tpl")):
                    continue
                path = os.path.join(d, f)
                with open(path, encoding="utf-8") as fh:
                    text = fh.read()
                joined = re.sub(r'"\s*\n\s*"', "", text)  # "abc" "def" -> "abcdef"
                for m in re.finditer(r"<form\b", joined):
                    line = joined.count("\n", 0, m.start()) + 1
                    a = ACTION_RE.match(joined, m.start())
                    found.append((os.path.relpath(path, ROOT), line,
                                  a.group(1) if a else None))
    return found


class Chromium:
    """One browser profile: its own cookie jar and storage, like one person's browser."""

    def __init__(self, profile_dir, shots_dir):
        self.shots_dir = shots_dir
        opts = Options()
        opts.binary_location = CHROMIUM
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--no-default-browser-check",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-dev-shm-usage", "--window-size=1024,1400",
                  "--user-data-dir=" + profile_dir):
            opts.add_argument(a)
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        self.driver.set_page_load_timeout(PAGE_TIMEOUT)

    def open(self, url):
        self.driver.get(url)

    @property
    def url(self):
        return self.driver.current_url

    def text(self):
        return self.driver.find_element(By.TAG_NAME, "body").text

    def html(self):
        return self.driver.page_source

    def title(self):
        return self.driver.title

    def field(self, name):
        return self.driver.find_element(By.NAME, name)

    def type(self, name, value):
        f = self.field(name)
        f.clear()
        f.send_keys(value)

    def tick(self, name):
        f = self.field(name)
        if not f.is_selected():
            f.click()

    def press(self, label):
        """Clicks the button with this visible text, as a person does, and waits for the
        page it leads to."""
        buttons = [b for b in self.driver.find_elements(By.TAG_NAME, "button")
                   if b.text.strip() == label]
        assert buttons, "no button %r on %s:\n%s" % (label, self.url, self.text())
        old = self.driver.find_element(By.TAG_NAME, "html")
        buttons[0].click()
        self.wait_for_new_page(old)

    def wait_for_new_page(self, old):
        from selenium.webdriver.support.ui import WebDriverWait

        def gone(_):
            try:
                old.tag_name
                return False
            except WebDriverException:
                return True
        WebDriverWait(self.driver, PAGE_TIMEOUT).until(gone)
        WebDriverWait(self.driver, PAGE_TIMEOUT).until(
            lambda d: d.execute_script("return document.readyState") == "complete")

    def cookies(self):
        return {c["name"]: c for c in self.driver.get_cookies()}

    def screenshot(self, what):
        os.makedirs(self.shots_dir, exist_ok=True)
        n = len([f for f in os.listdir(self.shots_dir) if f.endswith(".png")])
        path = os.path.join(self.shots_dir, "%02d-%s.png" % (n + 1, what))
        self.driver.save_screenshot(path)
        return path

    def quit(self):
        try:
            self.driver.quit()
        except WebDriverException:
            pass


@pytest.fixture
def chromium(tmp_path, request):
    """Makes browser profiles for this test (chromium("alice")); all quit at the end. The
    screenshots of all of them go to one folder per test."""
    shots = os.path.join(ARTIFACTS, request.node.name)
    shutil.rmtree(shots, ignore_errors=True)
    made = []

    def make(profile="person"):
        b = Chromium(str(tmp_path / ("chromium-" + profile)), shots)
        made.append(b)
        return b

    yield make
    for b in made:
        b.quit()
