#!/usr/bin/env python
"""Benchmark: the cost of one housekeeping sweep with nothing due, with no sleeping runs and with many.

    python bench/sweep.py [--sleepers 100000] [--sweeps 30] [--database-url postgres://...]

Sleeping runs are what a busy deployment has most of: open runs waiting for a timer
(due tomorrow) or a signal, with nothing for housekeeping to do. A sweep should cost
the same however many there are. The database is a fresh SQLite file in a temp dir
unless ``--database-url`` names a PostgreSQL or MariaDB database, which is emptied.
Prints the median and p95 of ``sweep()`` in each state, and their ratio.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import median_ms, p95_ms, setup_in_process  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sleepers", type=int, default=100_000)
    parser.add_argument("--sweeps", type=int, default=30)
    parser.add_argument("--database-url", default=None)
    options = parser.parse_args()

    setup_in_process("df-sweep-", "sweep.sqlite3", options.database_url, "project.settings")
    from django.core.management import call_command
    from django.db import connection

    from durableflows import storage
    from durableflows.engine import doorbell, housekeeping
    from durableflows.models import HistoryEvent, InboxItem, Timer, WorkflowRun

    doorbell.muted = True  # nothing is due; a doorbell would only mean the measurement is off
    call_command("migrate", verbosity=0)
    for model in (Timer, InboxItem, HistoryEvent, WorkflowRun):
        model.objects.all().delete()
    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']}), sleepers: {options.sleepers:,}")

    baseline = measure(housekeeping.sweep, options.sweeps)
    add_sleepers(options.sleepers, WorkflowRun, Timer, storage.now())
    loaded = measure(housekeeping.sweep, options.sweeps)
    for name, times in (("no sleepers", baseline), (f"{options.sleepers:,} sleepers", loaded)):
        print(f"  sweep with {name:>18}: median {median_ms(times):7.2f} ms, p95 {p95_ms(times):7.2f} ms")
    print(f"  ratio (median, sleepers / none): {median_ms(loaded) / median_ms(baseline):.2f}x")


def add_sleepers(count: int, run_model, timer_model, now) -> None:
    """Open runs with nothing due: half wait for a timer due tomorrow, half for a signal."""
    batch = 5_000
    for start in range(0, count, batch):
        runs = [
            run_model(
                run_id=uuid.uuid4(),
                workflow_id=f"sleeper-{i}",
                workflow_name="bench.sleeper",
                status="running",
                args=[],
                created_at=now,
                start_at=now,
                started_at=now,
                history_length=3,
            )
            for i in range(start, min(start + batch, count))
        ]
        run_model.objects.bulk_create(runs)
        timer_model.objects.bulk_create(
            timer_model(run_id=run.run_id, timer_id=1, fire_at=now + timedelta(days=1)) for run in runs[::2]
        )


def measure(sweep, sweeps: int) -> list[float]:
    sweep()  # warm: connection, statement caches
    times = []
    for _ in range(sweeps):
        began = time.perf_counter()
        counts = sweep()
        times.append(time.perf_counter() - began)
        assert not any(counts.values()), f"something was due: {counts}"
    return times


if __name__ == "__main__":
    main()
