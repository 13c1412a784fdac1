#!/usr/bin/env python
"""Benchmark: retention under load. The purge rate, and other workflows' latency while a purge runs.

    python bench/retention.py [--database-url postgres://...] [--broker redis://127.0.0.1:6379/5]
                              [--expired 30000] [--events-per-run 10] [--rate 10]
                              [--phases 8] [--phase-seconds 10]

Bulk-inserts ``--expired`` closed runs (closed two days ago, with their histories) and starts one real
``celery worker`` (prefork, 2 children, no retention of its own). A client starts ``--rate``
three-activity workflows per second throughout, while the run alternates ``--phases`` phases of
``--phase-seconds``: resting, then purging, and so on. In a purging phase a purger process runs the
retention loop every worker runs (``retention.purge_pass``: the same batches, the same pacing) and stops at
the phase's end. Each workflow counts for the phase it was started in, so both kinds of phase see the same
machine, load and worker, interleaved in time. Prints the purge rate (runs/s), p50 / p95 latency (start
to close) per phase and over each kind of phase, and the ratio of the p95s.
The database is a fresh SQLite file in a temp dir unless ``--database-url`` names one, which is emptied.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Worker, loadavg, pct, setup_in_process, wait_workers_ready  # noqa: E402

DAY = 86_400
#: Workflows started in the first seconds of the load count for no phase: the worker warms up.
WARM_UP_SECONDS = 3.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/5")
    parser.add_argument("--expired", type=int, default=30_000)
    parser.add_argument("--events-per-run", type=int, default=10)
    parser.add_argument("--rate", type=float, default=10.0, help="workflows started per second")
    parser.add_argument("--phases", type=int, default=8, help="resting and purging phases, alternating")
    parser.add_argument("--phase-seconds", type=float, default=10.0)
    parser.add_argument("--purger", action="store_true", help=argparse.SUPPRESS)  # the purging child
    options = parser.parse_args()
    if options.purger:
        return purger()

    scratch = setup_in_process(
        "df-retention-", "retention.sqlite3", options.database_url, "bench.settings",
        DJANGO_DEBUG="0", CELERY_BROKER_URL=options.broker, BENCH_RESULT_BACKEND=options.broker,
    )  # fmt: skip
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
    connection.close()

    env = dict(os.environ)
    worker = Worker(0, {**env, "BENCH_DURABLEFLOWS": json.dumps({"RETENTION": None})}, 2, "warning", scratch)
    child = subprocess.Popen(
        [sys.executable, __file__, "--purger"], env={**env, "BENCH_DURABLEFLOWS": json.dumps({"RETENTION": DAY})},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
    )  # fmt: skip
    try:
        assert child.stdout is not None and child.stdin is not None
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("the purger did not start")
        worker.start()
        wait_workers_ready([worker])
        load = f"load average at start {loadavg()}"
        phases = alternate(options, child)
        print(f"{load}, at end {loadavg()}")
    finally:
        worker.stop()
        child.kill()
    report(phases)
    shutil.rmtree(scratch, ignore_errors=True)


class Phase:
    def __init__(self, index: int) -> None:
        self.index = index
        self.purging = index % 2 == 1
        self.submitted: dict[str, datetime] = {}
        self.latencies: list[float] = []
        self.deleted = 0
        self.seconds = 0.0


def alternate(options: argparse.Namespace, child: subprocess.Popen) -> list[Phase]:
    """Start workflows at the rate through all phases, telling the purger when to purge; then collect."""
    import durableflows as df
    from bench.benchapp.workflows import three_steps

    phases = [Phase(i) for i in range(options.phases)]
    answers: list[str] = []
    reader = threading.Thread(target=lambda: answers.extend(line.strip() for line in child.stdout), daemon=True)
    reader.start()
    began = time.monotonic() + WARM_UP_SECONDS
    count, current = 0, -1
    while True:
        due = began - WARM_UP_SECONDS + count / options.rate
        with contextlib.suppress(ValueError):
            time.sleep(max(0.0, due - time.monotonic()))
        now = time.monotonic()
        index = int((now - began) // options.phase_seconds) if now >= began else -1
        if index >= options.phases:
            break
        if index != current and index >= 0:
            current = index
            if phases[index].purging:
                remaining = options.phase_seconds - (now - began - index * options.phase_seconds)
                child.stdin.write(f"{remaining:.3f}\n")
        at = datetime.now(UTC)
        run_id = df.start(three_steps, count, id=f"retention-{count}").run_id
        if index >= 0:
            phases[index].submitted[run_id] = at
        count += 1
    purges = [phase for phase in phases if phase.purging]
    deadline = time.monotonic() + options.phase_seconds + 30
    while len(answers) < len(purges) and time.monotonic() < deadline:
        time.sleep(0.1)
    for phase, answer in zip(purges, answers, strict=False):
        deleted, seconds = answer.split()
        phase.deleted, phase.seconds = int(deleted), float(seconds)
    collect(phases)
    return phases


def collect(phases: list[Phase]) -> None:
    """Wait (up to two minutes) for every workflow to close; then each phase's latencies."""
    from durableflows.models import WorkflowRun

    submitted = {run_id: (phase, at) for phase in phases for run_id, at in phase.submitted.items()}
    give_up = time.monotonic() + 120
    while time.monotonic() < give_up:
        if WorkflowRun.objects.filter(pk__in=list(submitted), closed_at__isnull=False).count() == len(submitted):
            break
        time.sleep(0.5)
    rows = WorkflowRun.objects.filter(pk__in=list(submitted), closed_at__isnull=False).values_list("pk", "closed_at")
    for run_id, closed in rows:
        phase, at = submitted[str(run_id)]
        phase.latencies.append((closed - at).total_seconds())


def report(phases: list[Phase]) -> None:
    def line(name: str, latencies: list[float], extra: str = "") -> str:
        return (
            f"  {name:<16} {len(latencies):>4} workflows: p50 {pct(latencies, 50) * 1000:7.1f} ms, "
            f"p95 {pct(latencies, 95) * 1000:7.1f} ms{extra}"
        )

    print()
    for phase in phases:
        extra = f", purged {phase.deleted:,} runs in {phase.seconds:.1f} s" if phase.purging else ""
        print(line(f"{phase.index + 1}: {'purging' if phase.purging else 'resting'}", phase.latencies, extra))
    resting = [x for phase in phases if not phase.purging for x in phase.latencies]
    purging = [x for phase in phases if phase.purging for x in phase.latencies]
    deleted = sum(phase.deleted for phase in phases)
    seconds = sum(phase.seconds for phase in phases)
    print()
    print(f"purge: {deleted:,} runs in {seconds:.1f} s of purging = {deleted / seconds if seconds else 0:,.0f} runs/s")
    print(line("resting phases", resting))
    print(line("purging phases", purging))
    print(f"  p95 ratio (purging / resting): {pct(purging, 95) / pct(resting, 95):.2f}x")
    print(f"  p50 ratio (purging / resting): {pct(purging, 50) / pct(resting, 50):.2f}x")


def purger() -> None:
    """The purging child: for each number of seconds read, run the workers' retention loop that long."""
    import django

    django.setup()
    from durableflows.engine.retention import purge_pass

    print("ready", flush=True)
    for line in sys.stdin:
        stopping = threading.Event()
        timer = threading.Timer(float(line), stopping.set)
        began = time.monotonic()
        timer.start()
        deleted = purge_pass(stopping)
        seconds = time.monotonic() - began
        timer.cancel()
        print(deleted, f"{seconds:.3f}", flush=True)


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
