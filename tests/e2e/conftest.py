"""E2E fixtures: a Chromium driven by Playwright (Debian's /usr/bin/chromium; never ``playwright install``).

The browser tests skip when Playwright or Chromium is missing, or fail under
DURABLEFLOWS_REQUIRE_SERVICES=1 (as CI sets it). The worker fixtures come from
the integration harness.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import service_unavailable
from tests.integration.conftest import gate_dir, worker_env, workers  # noqa: F401 - fixtures re-exported

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
E2E_DIR = Path(__file__).resolve().parent


def chromium_path() -> str | None:
    for candidate in (os.environ.get("DURABLEFLOWS_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: drives a real browser against a live server (needs chromium, playwright)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Everything under tests/e2e is marked ``e2e`` (select or deselect with -m)."""
    for item in items:
        if E2E_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def browser_page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh Playwright page in headless Chromium; closed afterwards.

    Playwright's sync API keeps an asyncio loop in the test's thread, where Django's
    ORM refuses to run; the test's own (synchronous) queries are allowed explicitly.
    """
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        service_unavailable(f"playwright is not installed: {exc}")
    executable = chromium_path()
    if executable is None:
        service_unavailable("chromium is not installed (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()
