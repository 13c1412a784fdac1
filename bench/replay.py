#!/usr/bin/env python
"""Benchmark: the cost of a cold workflow task (history loaded and replayed) against a warm one, by history length.

    python bench/replay.py [--sizes 100,1000,10000] [--big] [--repeat 5] [--database-url URL] [--clock wall|cpu]
                           [--stat median|min]

In-process, no workers: the doorbell is muted and each task is run by calling the engine.
For each size, one run of ``bench.entity`` (a loop on signals that sets a variable per
signal, runs an activity every 10 and sleeps every 50) is given a history of that many
events, written directly. Then, with one signal waiting in its inbox:

- cold task: the execution cache is emptied first, so the task loads and replays the history;
  split into loading (SQL and decoding), replaying, and the rest (the new step and its writes);
- warm task: the execution is cached, so the task applies only the signal;
- ``handle.query()`` in this process, which holds the run's execution (since the query path reads
  cached executions), and cold, the cache emptied first;
- the memory one execution holds (tracemalloc): replayed with its history, and as the cache keeps it;
  and per event, what ``bench.hoarder`` (which keeps every signal's payload) keeps after as many.

``--big`` adds 50,000 events. The database is a fresh SQLite file in a temp dir unless
``--database-url`` names a PostgreSQL or MariaDB database, whose durableflows tables are emptied.
``--stat min`` shows the best of the measurements instead of their median: on a machine others
load, closer to the cost of the work itself than to that of the work and its waits for the cores.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import setup_in_process  # noqa: E402

clock = time.perf_counter
statistic: Callable[[list[float]], float] = statistics.median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000", help="history lengths, comma-separated")
    parser.add_argument("--big", action="store_true", help="also 50,000 events")
    parser.add_argument("--repeat", type=int, default=5, help="measurements per figure (the median is shown)")
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="cpu: this process's CPU time, steadier on a busy machine (it leaves out waiting for a database server)",
    )
    parser.add_argument(
        "--stat", choices=("median", "min"), default="median", help="min: the best of --repeat measurements"
    )
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")] + ([50_000] if options.big else [])
    global clock, statistic
    clock = time.process_time if options.clock == "cpu" else time.perf_counter
    statistic = min if options.stat == "min" else statistics.median

    debug = os.environ.get("DJANGO_DEBUG", "0")
    setup_in_process("df-replay-", "replay.sqlite3", options.database_url, "bench.settings", DJANGO_DEBUG=debug)
    from django.core.management import call_command
    from django.db import connection

    from durableflows.engine import doorbell
    from durableflows.models import ActivityTask, HistoryEvent, InboxItem, Timer, WorkflowRun

    doorbell.muted = True  # the bench runs every task itself
    call_command("migrate", verbosity=0)
    for model in (Timer, InboxItem, ActivityTask, HistoryEvent, WorkflowRun):
        model.objects.all().delete()
    print(f"database: {connection.vendor}; {options.stat} of {options.repeat} per figure; {options.clock} times in ms")
    header = (
        f"{'events':>7} {'load':>8} {'replay':>8} {'step':>7} {'cold':>8} {'warm':>6} {'cold/warm':>9}"
        f" {'query':>7} {'cold query':>10} {'KB replayed':>11} {'KB cached':>9} {'B/event cached':>14}"
        f" {'hoarder B/event':>16}"
    )
    print(header)
    print("-" * len(header))
    for size in sizes:
        row = measure(size, options.repeat)
        print(
            f"{row['events']:>7} {row['load']:>8.2f} {row['replay']:>8.2f} {row['step']:>7.2f} {row['cold']:>8.2f}"
            f" {row['warm']:>6.2f} {row['cold'] / row['warm']:>8.0f}x {row['query']:>7.2f} {row['cold query']:>10.2f}"
            f" {row['replayed bytes'] / 1024:>11.0f} {row['cached bytes'] / 1024:>9.0f}"
            f" {row['cached bytes'] / row['events']:>14.0f} {row['hoarder bytes'] / row['events']:>16.0f}"
        )


def measure(size: int, repeat: int) -> dict[str, Any]:
    import durableflows as df
    from durableflows import registry, storage
    from durableflows.engine.workflow_tasks import cache, process_workflow_task
    from durableflows.runtime import EventType, WorkflowExecution

    run = build_run(f"entity-{size}", size)
    fn = registry.get_workflow("bench.entity").fn
    handle = df.get_handle(run.workflow_id)

    def signal() -> None:
        storage.add_fact(run, EventType.SIGNAL_RECEIVED, {"name": "op", "payload": {"amount": 1}}, ring=False)

    def cold() -> None:
        cache.clear()
        signal()
        assert process_workflow_task(run.pk).outcome == "advanced"

    def warm() -> None:
        signal()
        assert process_workflow_task(run.pk).outcome == "advanced"

    def replay() -> None:
        execution = WorkflowExecution(fn)
        execution.replay(history)
        execution.discard()

    history = storage.load_history(run.pk)
    row: dict[str, Any] = {"events": len(history)}
    row["load"] = median_ms(lambda: storage.load_history(run.pk), repeat)
    row["replay"] = median_ms(replay, repeat)
    row["cold"] = median_ms(cold, repeat)
    row["step"] = row["cold"] - row["load"] - row["replay"]
    process_workflow_task(run.pk)  # leaves the execution cached
    row["warm"] = median_ms(warm, repeat)
    row["query"] = median_ms(lambda: handle.query("total"), repeat)  # this process holds the run, if it can

    def cold_query() -> None:
        cache.clear()
        handle.query("total")

    row["cold query"] = median_ms(cold_query, repeat)
    row["replayed bytes"], row["cached bytes"] = execution_bytes(fn, run.pk)
    row["hoarder bytes"] = hoarder_bytes(size)
    return row


def build_run(workflow_id: str, size: int) -> Any:
    """A running ``bench.entity`` run with about ``size`` events, made by the runtime and written in bulk."""
    from durableflows import registry, storage
    from durableflows.models import WorkflowRun
    from durableflows.runtime import EventType, WorkflowExecution
    from durableflows.status import Status
    from durableflows.transactions import write_transaction

    with write_transaction():
        run = storage.create_run("bench.entity", [0], workflow_id=workflow_id)
    started = storage.load_history(run.pk)[0]
    execution = WorkflowExecution(registry.get_workflow("bench.entity").fn)
    now = started.timestamp
    new = execution.apply(started.type, started.data, now)[1:]
    while execution.last_sequence < size:
        now += timedelta(seconds=1)
        step = execution.apply(EventType.SIGNAL_RECEIVED, {"name": "op", "payload": {"amount": 1}}, now)
        while step:  # answer the activities and timers the step started, as workers and housekeeping would
            new += step
            event = next((e for e in step if e.type in (EventType.ACTIVITY_SCHEDULED, EventType.TIMER_STARTED)), None)
            if event is None:
                break
            if event.type is EventType.TIMER_STARTED:
                step = execution.apply(EventType.TIMER_FIRED, {"timer_id": event.data["timer_id"]}, now)
                continue
            activity_id = event.data["activity_id"]
            started = {"activity_id": activity_id, "attempt": 1, "started_at": now.isoformat()}
            new += execution.apply(EventType.ACTIVITY_STARTED, started, now)
            completed = {"activity_id": activity_id, "result": event.data["args"][0]}
            step = execution.apply(EventType.ACTIVITY_COMPLETED, completed, now)
    assert not execution.signals["op"], "the run fell behind its signals"
    with write_transaction():
        for start in range(0, len(new), 5000):
            storage.append_events(run, new[start : start + 5000])
        WorkflowRun.objects.filter(pk=run.pk).update(
            status=Status.RUNNING, started_at=now, history_length=execution.last_sequence, vars=execution.vars
        )
    execution.discard()
    return WorkflowRun.objects.get(pk=run.pk)


def execution_bytes(fn: Callable[..., Any], run_id: Any) -> tuple[int, int]:
    """Memory held by one execution replayed from the stored history: with its history, and as the cache keeps it."""
    from durableflows import storage
    from durableflows.runtime import WorkflowExecution

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    execution = WorkflowExecution(fn)
    execution.replay(storage.load_history(run_id))
    gc.collect()
    replayed = tracemalloc.get_traced_memory()[0] - before
    kept = replayed
    if hasattr(execution, "forget_history"):  # the cache keeps executions without their history
        execution.forget_history()
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    execution.discard()
    return replayed, kept


def hoarder_bytes(size: int) -> int:
    """Memory ``bench.hoarder`` keeps, as the cache keeps it, after ``size`` signals (built in memory)."""
    from durableflows import registry
    from durableflows.runtime import EventType, WorkflowExecution
    from durableflows.storage import now

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    execution = WorkflowExecution(registry.get_workflow("bench.hoarder").fn)
    start = {"workflow_id": "hoarder", "run_id": "hoarder", "workflow_name": "bench.hoarder", "args": []}
    execution.apply(EventType.WORKFLOW_STARTED, start, now())
    for amount in range(size - 1):
        execution.apply(EventType.SIGNAL_RECEIVED, {"name": "op", "payload": {"amount": amount}}, now())
    execution.forget_history()
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    execution.discard()
    return kept


def median_ms(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm: statement caches, imports
    times = []
    for _ in range(repeat):
        began = clock()
        fn()
        times.append(clock() - began)
    return statistic(times) * 1000


if __name__ == "__main__":
    main()
