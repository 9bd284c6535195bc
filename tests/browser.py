"""A real headless Chromium for the page tests (Debian's ``chromium`` and ``chromium-driver``).

Selenium drives it through the system chromedriver (never Selenium Manager, which would
download a driver): one WebDriver call per question is simpler to read than raw CDP, and
WebDriverWait polls the page the way a person waits for it. A missing browser is installed
from Debian's packages by ``scripts/install-browser`` when the tests run as root with apt-get (a
fresh clone's ``python -m pytest`` then runs them); elsewhere the test fails with what to install.
It never skips.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

INSTALL = "apt-get install -y chromium chromium-driver (and pip install -e '.[dev]' for selenium)"
SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "install-browser"


def _install_if_missing() -> None:
    """Install Chromium once (a lock file keeps parallel test workers from racing apt)."""
    if shutil.which("chromium") and shutil.which("chromedriver"):
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    with open("/tmp/bhtom-install-browser.lock", "w") as lock:  # one per machine
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shutil.which("chromium") and shutil.which("chromedriver")):
            subprocess.run(["bash", str(SCRIPT)], check=False, timeout=600)


@contextmanager
def chromium(*, offline: bool = False) -> Iterator[object]:
    """A headless Chromium. All but loopback goes to a dead proxy; `offline` blocks loopback and
    every host name too (a file:// page must then render from itself alone)."""
    _install_if_missing()
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
