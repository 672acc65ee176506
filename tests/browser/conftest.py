"""A real browser for the `browser` tier: Debian's Chromium driven by Selenium.

Skipped, with the command that installs it, when Chromium, its driver or Selenium is missing;
a failure instead under MLPLAN_REQUIRE_SERVICES=1 (as .ci/run sets), so CI cannot pass on a
run of skips. axe-core is fetched from npm into a cache folder outside the repository (never
committed) and its tests skip, with the command, when npm cannot fetch it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import REQUIRE_SERVICES

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL = "apt-get install -y chromium chromium-driver && pip install selenium"
AXE_CACHE = Path(tempfile.gettempdir()) / "mlplan-test-axe-core"
AXE_INSTALL = f"npm install --prefix {AXE_CACHE} --no-audit --no-fund axe-core@4"


def _missing(message: str) -> None:
    if os.environ.get(REQUIRE_SERVICES) == "1":
        pytest.fail(f"{message} ({REQUIRE_SERVICES}=1 makes this a failure)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """A headless Chromium session; reused by every browser test (starting one takes ~1 s)."""
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        _missing(f"no Chromium at {CHROMIUM} and {CHROMEDRIVER}; install it with: {INSTALL}")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing(f"Selenium is not installed; install it with: {INSTALL}")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(prefix="mlplan-chromium-")
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's browser script, from npm (test-only; cached outside the repository)."""
    script = AXE_CACHE / "node_modules" / "axe-core" / "axe.min.js"
    if not script.is_file():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip(f"npm is not installed; axe-core needs: {AXE_INSTALL}")
        try:
            subprocess.run(
                [
                    npm,
                    "install",
                    "--prefix",
                    str(AXE_CACHE),
                    "--no-audit",
                    "--no-fund",
                    "axe-core@4",
                ],
                check=True,
                capture_output=True,
                timeout=180,
            )
        except (OSError, subprocess.SubprocessError):
            pytest.skip(f"npm could not fetch axe-core (offline?); run: {AXE_INSTALL}")
    return script.read_text(encoding="utf-8")
