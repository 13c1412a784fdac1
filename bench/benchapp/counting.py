"""Counts the Celery messages every process of a benchmark publishes, by task name, in a Redis hash.

Connected only when ``BENCH_COUNT_URL`` is set (``bench/bulk_start.py`` sets it for its client and
workers), so ``bench/run.py`` measures without it.
"""

from __future__ import annotations

import os
from typing import Any

from celery import signals

KEY = "bench:published"
_client: Any = None


def _count(sender: str | None = None, **kwargs: Any) -> None:
    global _client
    if _client is None:
        import redis

        _client = redis.Redis.from_url(os.environ["BENCH_COUNT_URL"], socket_timeout=2, socket_connect_timeout=2)
    try:
        _client.hincrby(KEY, sender or "?", 1)
    except Exception:  # noqa: BLE001 - a count lost to a restarting counter must not fail the publish
        pass


def connect() -> None:
    if os.environ.get("BENCH_COUNT_URL"):
        signals.before_task_publish.connect(_count, dispatch_uid="bench.count_published", weak=False)
