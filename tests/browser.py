"""A real headless Chromium for the page tests (Debian's ``chromium`` and ``chromium-driver``).

Selenium drives it through the system chromedriver (never Selenium Manager, which would
download a driver): one WebDriver call per question is simpler to read than raw CDP, and
WebDriverWait polls the page the way a person waits for it. A missing browser fails the test
with what to install; it never skips.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

INSTALL = "apt-get install -y chromium chromium-driver (and pip install -e '.[dev]' for selenium)"


@contextmanager
def chromium(*, offline: bool = False) -> Iterator[object]:
    """A headless Chromium. All but loopback goes to a dead proxy; `offline` blocks loopback and
    every host name too (a file:// page must then render from itself alone)."""
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.fail(f"the browser tests need Chromium and its driver: {INSTALL}")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail(f"the browser tests need selenium: {INSTALL}")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1000,1100",
                 "--disable-dev-shm-usage", "--proxy-server=127.0.0.1:9"):  # fmt: skip
        options.add_argument(flag)
    if offline:
        options.add_argument("--proxy-bypass-list=<-loopback>")  # loopback too goes to the dead proxy
        options.add_argument("--host-resolver-rules=MAP * ~NOTFOUND")
    session = webdriver.Chrome(options=options, service=Service(driver))
    try:
        yield session
    finally:
        session.quit()
