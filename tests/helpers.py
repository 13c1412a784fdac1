"""Small helpers shared by the test suites (importable as ``tests.helpers``)."""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import pytest

T = TypeVar("T")

REQUIRE_SERVICES_ENV = "DURABLEFLOWS_REQUIRE_SERVICES"


def services_required() -> bool:
    """True when a missing Redis/PostgreSQL must fail the tests instead of skipping them (CI sets it)."""
    return os.environ.get(REQUIRE_SERVICES_ENV, "").lower() in ("1", "true", "yes")


def service_unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it when DURABLEFLOWS_REQUIRE_SERVICES=1."""
    if services_required():
        pytest.fail(f"{reason} ({REQUIRE_SERVICES_ENV}=1, so this fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 30.0,
    interval: float = 0.05,
    message: str | Callable[[], str] = "",
) -> T:
    """Poll ``predicate`` until it returns something truthy, and return that.

    Exceptions raised by the predicate count as "not yet" and are reported if
    the deadline passes. ``message`` (or a callable producing it, evaluated on
    failure) says what was being waited for.
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    last_error: BaseException | None = None
    while True:
        try:
            last = predicate()
            last_error = None
            if last:
                return last
        except Exception as exc:  # noqa: BLE001 - reported below
            last_error = exc
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    what = message() if callable(message) else message
    name = getattr(predicate, "__name__", repr(predicate))
    detail = f"last error: {last_error!r}" if last_error is not None else f"last value: {last!r}"
    raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what or name}; {detail}")
