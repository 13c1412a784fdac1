#!/usr/bin/env python
"""Benchmark: a bulk start of N workflows on real workers, counting the doorbells sent per run.

    python bench/bulk_start.py [--n 10000] [--workers 2] [--concurrency 2] [--database sqlite|postgres]

A bulk start queues N doorbells at once; the backlog takes longer to drain than
housekeeping's redelivery timeout. Housekeeping must not ring again a run whose
first message is still queued. Measured, in one private setup (bench/run.py's:
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
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import (  # noqa: E402
    REPO_DIR,
    SETTINGS,
    Worker,
    _loadavg,
    _raise_on_sigterm,
    start_postgres,
    start_redis,
    wait_workers_ready,
)

COUNT_KEY = "bench:published"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10000, help="workflows started in the bulk")
    parser.add_argument("--batch", type=int, default=500, help="starts per transaction")
    parser.add_argument("--ordinary", type=int, default=5, help="ordinary workflows timed behind and after the bulk")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--timeout", type=float, default=1800.0, help="give up after this many seconds")
    parser.add_argument("--loglevel", default="warning")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (worker logs, database)")
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
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    load_start = _loadavg()
    with contextlib.ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="df-bulk-"))
        if args.keep:
            stack.callback(print, f"kept {workdir} (worker logs, database)")
        else:
            stack.callback(shutil.rmtree, workdir, True)
        broker = start_redis(stack, workdir)
        database_url = start_postgres(stack) if args.database == "postgres" else f"sqlite:///{workdir / 'bulk.sqlite3'}"
        (workdir / "var").mkdir()
        os.environ.update(
            DJANGO_SETTINGS_MODULE=SETTINGS,
            DATABASE_URL=database_url,
            CELERY_BROKER_URL=broker,
            DJANGO_VAR_DIR=str(workdir / "var"),
            DJANGO_DEBUG="0",
            BENCH_COUNT_URL=broker.rsplit("/", 1)[0] + "/1",
            DURABLEFLOWS_LOG_LEVEL=os.environ.get("DURABLEFLOWS_LOG_LEVEL", "WARNING"),
        )
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_DIR), os.environ.get("PYTHONPATH")]))}
        print(f"migrating a fresh {args.database} database ...", flush=True)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO_DIR, env=env,
                       check=True)  # fmt: skip

        import django

        django.setup()
        from django.db import transaction

        import durableflows as df
        from bench.benchapp.workflows import three_steps
        from durableflows.conf import DEFAULTS, df_settings

        workers = [Worker(i, env, args.concurrency, args.loglevel, workdir) for i in range(args.workers)]
        for worker in workers:
            stack.callback(worker.stop)
            worker.start()
        print(f"starting {args.workers} worker(s) x prefork -c {args.concurrency} ...", flush=True)
        wait_workers_ready(workers)
        probe = Probe(broker)
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
        print(f"machine: {os.cpu_count()} cores, load average at start {load_start}, at end {_loadavg()}")
        print(f"workers: {args.workers} x celery worker -P prefork -c {args.concurrency}; database {args.database}")
        print("DURABLEFLOWS: " + ", ".join(f"{k}={getattr(df_settings, k)}" for k in DEFAULTS if "REDELIVER" in k
                                            or "HOUSEKEEPING" in k))  # fmt: skip
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
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; everything started by the benchmark was stopped", file=sys.stderr)
        sys.exit(130)
