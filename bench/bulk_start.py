#!/usr/bin/env python
"""Benchmark: a bulk start of N workflows on real workers, counting the doorbells sent per run.

    python bench/bulk_start.py [--n 10000] [--workers 2] [--concurrency 2] [--database sqlite|postgres]

A bulk start queues N doorbells at once; the backlog takes longer to drain than
housekeeping's redelivery timeout. Housekeeping must not ring again a run whose
first message is still queued. Measured, in one private setup (bench/harness.py, as for bench/run.py:
own redis-server, fresh database, ``celery -A project worker`` process groups):

- messages published per run, by task name (a ``before_task_publish`` counter in
  the client and every worker, kept in the bench's Redis);
- the time from the first start to the last of the N runs closed, and to the
  broker's queue being empty (extra doorbells drain after the runs);
- the latency of a few ordinary workflows started behind the backlog, and of a few
  started once it has drained (they wait behind any extra doorbells still queued).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402

COUNT_KEY = "bench:published"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10000, help="workflows started in the bulk")
    parser.add_argument("--batch", type=int, default=500, help="starts per transaction")
    parser.add_argument("--ordinary", type=int, default=5, help="ordinary workflows timed behind and after the bulk")
    parser.add_argument("--timeout", type=float, default=1800.0, help="give up after this many seconds")
    harness.add_setup_arguments(parser, workers=2)
    return parser.parse_args()


class Probe:
    """What the bench reads while waiting: open runs in the database, messages queued in Redis."""

    def __init__(self, broker: str) -> None:
        import redis

        from durableflows.models import WorkflowRun
        from durableflows.status import OPEN_STATUSES

        self.redis = redis.Redis.from_url(broker)
        self.counts_db = redis.Redis.from_url(os.environ["BENCH_COUNT_URL"])
        self.open_runs = WorkflowRun.objects.filter(status__in=OPEN_STATUSES)
        self.runs = WorkflowRun.objects

    def queued(self) -> int:
        return int(self.redis.llen("celery"))

    def counts(self) -> dict[str, int]:
        return {k.decode(): int(v) for k, v in self.counts_db.hgetall(COUNT_KEY).items()}


class PeakQueue(threading.Thread):
    """Samples the broker's queue length twice a second, keeping the largest."""

    def __init__(self, client) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.peak = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.5):
            self.peak = max(self.peak, int(self.client.llen("celery")))


def latency(df, workflow, value: int, runs, timeout: float) -> float:
    """Start one workflow and wait until its run is closed: start to ``closed_at``, in seconds."""
    t0 = time.time()
    handle = df.start(workflow, value)
    deadline = time.monotonic() + timeout
    while True:
        run = runs.filter(pk=handle._run_id).values_list("status", "closed_at").first()
        if run and run[1] is not None:
            if run[0] != "completed":
                raise RuntimeError(f"ordinary workflow ended {run[0]}")
            return run[1].timestamp() - t0
        if time.monotonic() > deadline:
            raise TimeoutError("an ordinary workflow did not finish")
        time.sleep(0.01)


def main() -> int:
    args = parse_args()
    load_start = harness.loadavg()
    with harness.private_setup(args, "df-bulk-", "bulk.sqlite3", count_published=True) as setup:
        from django.db import transaction

        import durableflows as df
        from bench.benchapp.workflows import three_steps

        probe = Probe(setup.services.broker)
        for i in range(10):  # warm-up: connections, caches
            latency(df, three_steps, i, probe.runs, 60)
        probe.counts_db.delete(COUNT_KEY)

        print(f"bulk start of {args.n} ({args.batch} per transaction) ...", flush=True)
        first = time.time()
        for start in range(0, args.n, args.batch):
            with transaction.atomic():
                for i in range(start, min(args.n, start + args.batch)):
                    df.start(three_steps, i)
        submit_s = time.time() - first
        peak = PeakQueue(probe.redis)
        peak.start()
        behind = [latency(df, three_steps, i, probe.runs, args.timeout) for i in range(args.ordinary)]
        deadline = time.monotonic() + args.timeout
        last_report = 0.0
        while probe.open_runs.exists():
            if time.monotonic() > deadline:
                raise TimeoutError("the bulk did not finish")
            if time.time() - last_report > 10:
                last_report = time.time()
                elapsed = time.time() - first
                print(f"  {elapsed:6.1f}s: {probe.open_runs.count()} open, {probe.queued()} queued", flush=True)
            time.sleep(0.2)
        runs_done_s = time.time() - first
        while probe.queued():
            if time.monotonic() > deadline:
                raise TimeoutError("the queue did not drain")
            time.sleep(0.1)
        queue_empty_s = time.time() - first
        peak.stopping.set()
        peak_queue = peak.peak
        counts = probe.counts()
        after = [latency(df, three_steps, i, probe.runs, args.timeout) for i in range(args.ordinary)]

        runs = args.n + args.ordinary
        doorbells = counts.get("durableflows.workflow_task", 0) + counts.get("durableflows.activity_task", 0)
        print()
        print(f"machine: {harness.machine(load_start)}")
        print(f"workers: {args.workers} x celery worker -P prefork -c {args.concurrency}; database {args.database}")
        print("DURABLEFLOWS: " + harness.durableflows_settings(lambda k: "REDELIVER" in k or "HOUSEKEEPING" in k))
        print(f"bulk: {args.n} starts in {submit_s:.1f}s; {args.ordinary} ordinary behind it")
        print(f"messages published, by task: {dict(sorted(counts.items()))}")
        print(f"doorbells per run: {doorbells / runs:.3f}  (workflow + activity messages / {runs} runs)")
        print(f"all runs closed after {runs_done_s:.1f}s; queue empty after {queue_empty_s:.1f}s; "
              f"peak queue {peak_queue}")  # fmt: skip
        print(f"ordinary workflow behind the bulk: mean {statistics.fmean(behind):.1f}s, max {max(behind):.1f}s")
        print(f"ordinary workflow after the drain: mean {statistics.fmean(after) * 1000:.0f} ms, "
              f"max {max(after) * 1000:.0f} ms")  # fmt: skip
    return 0


if __name__ == "__main__":
    harness.run_script(main)
