#!/usr/bin/env python
"""Benchmark: retention under load. The purge rate, and other workflows' latency with and without a purge.

    python bench/retention.py [--database-url postgres://...] [--broker redis://127.0.0.1:6379/5]
                              [--expired 50000] [--events-per-run 10] [--rate 10] [--baseline-seconds 20]

Bulk-inserts ``--expired`` closed runs (closed two days ago, with their histories), then runs one real
``celery worker`` (prefork, 2 children) twice while a client starts ``--rate`` three-activity workflows
per second: first with a 30-day retention (nothing to purge: the baseline), then with a one-day retention
(the worker's retention thread drains the backlog meanwhile). Prints the purge rate (runs/s) and the p50 /
p95 latency (start to close) of the workflows started in each phase, and the ratio of the p95s.
The database is a fresh SQLite file in a temp dir unless ``--database-url`` names one, which is emptied.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Worker, pct, setup_in_process, wait_workers_ready  # noqa: E402

DAY = 86_400


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/5")
    parser.add_argument("--expired", type=int, default=50_000)
    parser.add_argument("--events-per-run", type=int, default=10)
    parser.add_argument("--rate", type=float, default=10.0, help="workflows started per second")
    parser.add_argument("--baseline-seconds", type=float, default=20.0)
    parser.add_argument("--max-seconds", type=float, default=300.0, help="give up on the purge after this")
    options = parser.parse_args()

    scratch = setup_in_process(
        "df-retention-", "retention.sqlite3", options.database_url, "bench.settings",
        DJANGO_DEBUG="0", CELERY_BROKER_URL=options.broker, BENCH_RESULT_BACKEND=options.broker,
    )  # fmt: skip
    env = dict(os.environ)
    from django.core.management import call_command
    from django.db import connection

    from durableflows.models import ActivityTask, HistoryEvent, InboxItem, Timer, UpdateRequest, WorkflowRun
    from project.celery import app

    call_command("migrate", verbosity=0)
    for model in (Timer, InboxItem, UpdateRequest, ActivityTask, HistoryEvent, WorkflowRun):
        model.objects.all()._raw_delete(model.objects.db)
    app.control.purge()
    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']}), broker: {options.broker}")
    began = time.perf_counter()
    insert_expired(options.expired, options.events_per_run)
    events = HistoryEvent.objects.count()
    print(f"inserted {options.expired:,} expired runs, {events:,} events in {time.perf_counter() - began:.1f} s")

    def phase(name: str, retention_days: int, until) -> list[float]:
        settings = {"RETENTION": retention_days * DAY, "RETENTION_INTERVAL": 1.0}
        worker = Worker(0, {**env, "BENCH_DURABLEFLOWS": json.dumps(settings)}, 2, "warning", scratch)
        try:
            worker.start()
            wait_workers_ready([worker])
            return run_load(name, options.rate, until)
        finally:
            worker.stop()

    deadline = lambda seconds: lambda started: time.monotonic() - started >= seconds  # noqa: E731
    baseline = phase("baseline", 30, deadline(options.baseline_seconds))
    purge = Progress(options.expired, options.max_seconds)
    during = phase("purge", 1, purge.done)

    print(f"\npurge: {purge.deleted:,} runs in {purge.seconds:.1f} s = {purge.rate:,.0f} runs/s")
    for name, latencies in (("without purge", baseline), ("during purge", during)):
        print(
            f"  {name:<14} {len(latencies):>4} workflows: p50 {pct(latencies, 50) * 1000:7.1f} ms, "
            f"p95 {pct(latencies, 95) * 1000:7.1f} ms"
        )
    print(f"  p95 ratio (during / without): {pct(during, 95) / pct(baseline, 95):.2f}x")
    shutil.rmtree(scratch, ignore_errors=True)


class Progress:
    """Polls how many expired runs remain; done once none does (or after ``limit`` seconds)."""

    def __init__(self, total: int, limit: float) -> None:
        self.total, self.limit = total, limit
        self.first: float | None = None
        self.last: float | None = None
        self.deleted = 0
        self.polled = 0.0

    def done(self, started: float) -> bool:
        from durableflows.models import WorkflowRun

        now = time.monotonic()
        if now - self.polled < 0.25:
            return False
        self.polled = now
        remaining = WorkflowRun.objects.filter(workflow_name="bench.expired").count()
        if remaining < self.total and self.first is None:
            self.first = now
        self.deleted, self.last = self.total - remaining, now
        return remaining == 0 or now - started > self.limit

    @property
    def seconds(self) -> float:
        return (self.last or 0) - (self.first or 0)

    @property
    def rate(self) -> float:
        return self.deleted / self.seconds if self.seconds > 0 else float("nan")


def run_load(name: str, rate: float, until) -> list[float]:
    """Start ``rate`` workflows per second until ``until(started)``; then wait for them; their latencies in s."""
    import durableflows as df
    from bench.benchapp.workflows import three_steps
    from durableflows.models import WorkflowRun

    submitted: dict[str, datetime] = {}
    started = time.monotonic()
    count = 0
    while not until(started):
        due = started + count / rate
        with contextlib.suppress(ValueError):
            time.sleep(max(0.0, due - time.monotonic()))
        at = datetime.now(UTC)
        submitted[df.start(three_steps, count, id=f"{name}-{count}").run_id] = at
        count += 1
    give_up = time.monotonic() + 120
    while time.monotonic() < give_up:
        closed = WorkflowRun.objects.filter(pk__in=list(submitted), closed_at__isnull=False)
        if closed.count() == len(submitted):
            break
        time.sleep(0.5)
    rows = WorkflowRun.objects.filter(pk__in=list(submitted)).values_list("run_id", "closed_at")
    return [(closed - submitted[str(run_id)]).total_seconds() for run_id, closed in rows if closed is not None]


def insert_expired(count: int, events_per_run: int) -> None:
    """Completed runs that closed two days ago, with histories of about ``events_per_run`` events."""
    from bench.pages import history, insert_events
    from durableflows.models import WorkflowRun

    rng = random.Random(11)
    closed = datetime.now(UTC) - timedelta(days=2)
    for start in range(0, count, 10_000):
        runs, events = [], []
        for i in range(start, min(start + 10_000, count)):
            length = max(3, int(rng.gauss(events_per_run, 3)))
            began = closed - timedelta(seconds=length)
            run = WorkflowRun(
                run_id=uuid.uuid4(), workflow_id=f"expired-{i}", workflow_name="bench.expired", status="completed",
                created_at=began, start_at=began, started_at=began, closed_at=closed, history_length=length,
            )  # fmt: skip
            runs.append(run)
            events.extend(history(run, length, rng))
        WorkflowRun.objects.bulk_create(runs, batch_size=2_000)
        insert_events(events)


if __name__ == "__main__":
    main()
