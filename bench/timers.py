#!/usr/bin/env python
"""Benchmark: how late durable timers fire, through real workers: many due at once, and one at a time.

    python bench/timers.py [--n 1000] [--idle 50] [--workers 1] [--concurrency 2] [--database sqlite|postgres]

Uses the private setup of ``bench/harness.py``, as ``bench/run.py`` does: a private redis-server,
a fresh SQLite file or a throwaway PostgreSQL cluster, and ``celery -A project worker`` process groups.

1. **Many at once**: starts N runs of ``bench.sleep_until`` that all sleep until the same
   instant T (``--lead`` seconds after the first start), then reports the time from T until
   every timer has fired (no ``Timer`` row left, polled from outside) and the workflows' lag:
   each run's ``closed_at`` (the code returns right after its sleep) minus T, p50 / p99 / max.
2. **Idle**: ``--idle`` runs one after another, each sleeping about one second (until its
   start + 1 s): lag = ``closed_at`` minus the due time, p50 / p99 / max.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1000, help="timers due at the same instant (default 1000)")
    p.add_argument("--lead", type=float, default=20.0, help="seconds from the first start until they are due")
    p.add_argument("--idle", type=int, default=50, help="sequential one-second sleeps (default 50)")
    p.add_argument("--poll", type=float, default=0.01, help="seconds between the client's looks (default 0.01)")
    harness.add_setup_arguments(p, workers=1)
    return p.parse_args()


class Probe:
    """Cheap fixed reads through a cursor, so the client's polling costs the database little."""

    def __init__(self) -> None:
        from durableflows.models import HistoryEvent, Timer, WorkflowRun

        self.timers_sql = f"SELECT COUNT(*) FROM {Timer._meta.db_table}"
        event = HistoryEvent._meta
        self.started_sql = (
            f"SELECT COUNT(*) FROM {event.db_table} WHERE {event.get_field('type').column} = 'TimerStarted'"
        )
        run = WorkflowRun._meta
        status = run.get_field("status").column
        self.open_sql = f"SELECT COUNT(*) FROM {run.db_table} WHERE {status} IN ('pending', 'running')"
        self.closed_sql = (
            f"SELECT {run.get_field('closed_at').column}, {run.get_field('result').column}, {status} "
            f"FROM {run.db_table} WHERE {run.pk.column} = %s"
        )

    def count(self, sql: str) -> int:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()[0]

    def closed_runs(self, names: list[str]) -> list[tuple[datetime, str]]:
        from durableflows.models import WorkflowRun

        rows = WorkflowRun.objects.filter(workflow_name__in=names, status="completed").values_list("closed_at", "args")
        return [(closed, args[0]) for closed, args in rows]


def wait_until(what: str, check: Any, poll: float, timeout: float) -> float:
    """Poll ``check`` until true; returns the wall time it was first seen true."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not after {timeout:.0f}s")
        time.sleep(poll)
    return time.time()


def many_at_once(args: argparse.Namespace, probe: Probe) -> dict[str, Any]:
    import durableflows as df
    from bench.benchapp.workflows import sleep_until

    due = datetime.now(UTC) + timedelta(seconds=args.lead)
    t0 = time.time()
    for _ in range(args.n):
        df.start(sleep_until, due.isoformat())
    submitted = time.time() - t0
    created = wait_until(
        "all timers started", lambda: probe.count(probe.started_sql) >= args.n, args.poll, args.lead + 120
    )
    if created > due.timestamp():
        print(f"warning: the last timer was started {created - due.timestamp():.2f}s after T: raise --lead")
    fired = wait_until("all timers fired", lambda: probe.count(probe.timers_sql) == 0, args.poll, 600)
    wait_until("all runs closed", lambda: probe.count(probe.open_sql) == 0, args.poll, 600)
    lags = [(closed - due).total_seconds() for closed, _ in probe.closed_runs(["bench.sleep_until"])]
    return {
        "submitted_s": submitted,
        "created_before_t_s": due.timestamp() - created,
        "all_fired_s": fired - due.timestamp(),
        "lags": lags,
    }


def idle(args: argparse.Namespace, probe: Probe) -> list[float]:
    import durableflows as df
    from bench.benchapp.workflows import sleep_until
    from durableflows.models import WorkflowRun

    lags = []
    for _ in range(args.idle):
        due = datetime.now(UTC) + timedelta(seconds=1)
        run_id = df.start(sleep_until, due.isoformat())._run_id
        wait_until("an idle sleeper to close", lambda: probe.count(probe.open_sql) == 0, args.poll / 2, 60)
        closed = WorkflowRun.objects.values_list("closed_at", flat=True).get(pk=run_id)
        lags.append((closed - due).total_seconds())
    return lags


def ms(values: list[float]) -> str:
    scaled = [v * 1000 for v in values] or [float("nan")]
    return f"p50 {harness.pct(scaled, 50):8.1f} ms   p99 {harness.pct(scaled, 99):8.1f} ms   max {max(scaled):8.1f} ms"


def main() -> int:
    args = parse_args()
    load_start = harness.loadavg()
    with harness.private_setup(args, "df-bench-timers-"):
        from django.db import connection

        connection.close()
        probe = Probe()

        print(f"many at once: {args.n} runs sleeping until T = first start + {args.lead:g}s ...", flush=True)
        burst = many_at_once(args, probe)
        print(f"idle: {args.idle} one-second sleeps, one after another ...", flush=True)
        idle_lags = idle(args, probe)

        print()
        print(f"machine      {harness.machine(load_start)}")
        print(f"workers      {args.workers} x celery worker -P prefork -c {args.concurrency}, database {args.database}")
        print("DURABLEFLOWS " + harness.durableflows_settings(lambda k: "HOUSEKEEPING" in k))
        print()
        print(f"{args.n} timers due at T: started in {burst['submitted_s']:.2f}s; "
              f"all timers started {burst['created_before_t_s']:.2f}s before T")  # fmt: skip
        print(f"  all fired (no timer row left) at T + {burst['all_fired_s'] * 1000:.0f} ms")
        print(f"  workflow lag (closed_at - T):       {ms(burst['lags'])}")
        if idle_lags:
            print(f"idle, {args.idle} one-second sleeps:")
            print(f"  workflow lag (closed_at - due):     {ms(idle_lags)}")
        connection.close()
    return 0


if __name__ == "__main__":
    harness.run_script(main)
