#!/usr/bin/env python
"""Benchmark: signals sent in batches, one doorbell per transaction vs one per signal, same workers.

    python bench/signals.py [--signals 2000] [--batch 500] [--rounds 2] [--concurrency 2]

A counter workflow (``bench.counter``) takes ``--signals`` signals sent in transactions of
``--batch``; the time runs from the first send until its history holds them all. The contender is
the engine as it is (a transaction rings a run's doorbell once, however many facts it writes); the
baseline is the same client ringing once per signal, as every fact did before 2026-11-30
(``ring_workflow(..., coalesce=False)`` for each one). Both run in the same run, on the same private
Redis, database and ``celery -A project worker -P prefork`` processes, alternating.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--signals", type=int, default=2000, help="signals per workflow (default 2000)")
    p.add_argument("--batch", type=int, default=500, help="signals per transaction (default 500)")
    p.add_argument("--rounds", type=int, default=2, help="rounds; the contenders' order alternates (default 2)")
    p.add_argument("--concurrency", type=int, default=2, help="prefork children of the one worker (default 2)")
    return p.parse_args()


def feed(contender: str, signals: int, batch: int, sent: list[Any]) -> float:
    """Start a counter, send it ``signals`` in transactions of ``batch``; seconds until all are in its history."""
    from django.db import transaction

    import durableflows as df
    from durableflows.engine import doorbell
    from durableflows.models import WorkflowRun

    coalescing = doorbell.ring_workflow
    if contender == "one ring per signal":
        doorbell.ring_workflow = lambda run_id, *, coalesce=False, **options: coalescing(run_id, **options)
    try:
        handle = df.start("bench.counter", id=f"counter-{contender}-{time.monotonic_ns()}")
        run_id = handle.run_id
        while WorkflowRun.objects.filter(pk=run_id, history_length__lt=1).exists():
            time.sleep(0.01)
        began = time.perf_counter()
        sent.clear()
        for first in range(0, signals, batch):
            with transaction.atomic():
                for n in range(first, min(first + batch, signals)):
                    handle.signal("add", n)
        while not WorkflowRun.objects.filter(pk=run_id, history_length__gte=signals + 1).exists():
            time.sleep(0.005)
        elapsed = time.perf_counter() - began
    finally:
        doorbell.ring_workflow = coalescing
    handle.signal("stop")
    assert handle.result(timeout=300) == signals
    return elapsed


def drain(broker: str, timeout: float = 600.0) -> None:
    """Wait until the worker has taken every message and acked it, so no contender runs on the other's backlog."""
    import redis

    client = redis.Redis.from_url(broker)
    deadline = time.monotonic() + timeout
    try:
        while client.llen("celery") or client.hlen("unacked"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not drain its queue within {timeout:.0f}s")
            time.sleep(0.05)
    finally:
        client.close()


def main() -> int:
    args = parse_args()
    harness.stop_on_signals()
    with contextlib.ExitStack() as stack:
        services = harness.start_services(stack, "df-bench-signals-")
        broker = services.broker
        env = harness.setup_django(services, announce=False, DURABLEFLOWS_LOG_LEVEL="WARNING")
        from durableflows.engine import doorbell

        sent: list[Any] = []
        send = doorbell.send
        doorbell.send = lambda name, args, **options: (sent.append(name), send(name, args, **options))[1]

        harness.start_workers(stack, env, 1, args.concurrency, "warning", services.workdir)

        contenders = ["one ring per transaction", "one ring per signal"]
        feed(contenders[0], 100, 50, sent)  # warm-up
        # The drain before each measurement waits out the other contender's leftover messages: each still
        # costs a workflow task (that loads the closed run's history), which is the baseline's own overhead.
        times: dict[str, list[float]] = {c: [] for c in contenders}
        rings: dict[str, int] = {}
        for r in range(args.rounds):
            for contender in contenders if r % 2 == 0 else contenders[::-1]:
                drain(broker)
                times[contender].append(feed(contender, args.signals, args.batch, sent))
                rings[contender] = sum(1 for name in sent if name == doorbell.WORKFLOW_TASK)
                print(f"round {r + 1}: {contender}: {times[contender][-1]:.2f}s", flush=True)

        print(f"\n{args.signals} signals in transactions of {args.batch}, 1 worker -P prefork -c {args.concurrency}, "
              f"SQLite, {args.rounds} round(s), best time of each")  # fmt: skip
        print(f"{'':28}{'seconds':>10}{'signals/s':>12}{'rings':>8}")
        best = {c: min(times[c]) for c in contenders}
        for contender in contenders:
            rate = args.signals / best[contender]
            print(f"{contender:28}{best[contender]:10.2f}{rate:12.0f}{rings[contender]:8d}")
        ratio = best[contenders[1]] / best[contenders[0]]
        print(f"\none ring per transaction is {ratio:.2f}x as fast as one ring per signal")
    return 0


if __name__ == "__main__":
    harness.run_script(main)
