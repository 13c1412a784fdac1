#!/usr/bin/env python
"""Benchmark: other workflows' burst throughput with many runs asleep in the database, and without.

    python bench/sleepers.py [--sleepers 100000] [--n 500] [--rounds 2] [--database sqlite|postgres]

Uses the private setup of ``bench/harness.py`` (a private redis-server, a fresh SQLite file or a
throwaway PostgreSQL cluster, ``celery -A project worker`` process groups). Each round bursts N of
``bench/run.py``'s 3-step workflow and N plain Celery chains (the baseline, which never touches the
database) with no sleepers, then again after inserting ``--sleepers`` open runs that wait (half on a
timer due tomorrow, half for a signal, as ``bench/sweep.py`` makes them), and deletes them. After
each insert and delete the database is settled (SQLite's WAL checkpointed, PostgreSQL's statistics
updated), as it would be around runs that sleep for days. Prints the throughputs and the ratio with
sleepers / without for each contender: the chains' ratio shows what the machine's own drift is
worth. Issue 10's target: the workflows' ratio >= 0.9.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402
from bench.run import Contenders, burst_chains, burst_workflows  # noqa: E402
from bench.sweep import add_sleepers  # noqa: E402


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sleepers", type=int, default=100_000, help="open runs asleep meanwhile (default 100000)")
    p.add_argument("--n", type=int, default=500, help="workflows and chains per burst (default 500)")
    p.add_argument("--rounds", type=int, default=2, help="rounds of without / with sleepers (default 2)")
    p.add_argument("--poll", type=float, default=0.02, help="seconds between the client's looks (default 0.02)")
    harness.add_setup_arguments(p, workers=1)
    return p.parse_args()


def remove_sleepers() -> None:
    """Delete the sleepers and their timers in two statements (no cascade through the collector)."""
    from django.db import connection

    from durableflows.models import Timer, WorkflowRun

    sleepers = WorkflowRun.objects.filter(workflow_name="bench.sleeper")
    Timer.objects.filter(run__in=sleepers)._raw_delete(connection.alias)
    sleepers._raw_delete(connection.alias)


def settle() -> None:
    """Leave the database as long-sleeping runs would: the bulk insert checkpointed (SQLite), analysed (PostgreSQL).

    Otherwise the first commits of the next burst pay for checkpointing the insert's whole WAL.
    """
    from django.db import connection

    from durableflows.models import Timer, WorkflowRun

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        elif connection.vendor == "postgresql":
            for model in (WorkflowRun, Timer):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def rates(c: Contenders, n: int, poll: float) -> tuple[float, float]:
    """Workflows and chains completed per second in one burst of each."""
    workflows = burst_workflows(c, n, poll, 600)
    chains = burst_chains(c, n, poll, 600)
    return n / workflows["elapsed"], n / chains["elapsed"]


def main() -> int:
    args = parse_args()
    load_start = harness.loadavg()
    with harness.private_setup(args, "df-bench-sleepers-") as setup:
        from django.db import connection

        from durableflows import storage
        from durableflows.models import Timer, WorkflowRun

        connection.close()  # the bench's own connection is opened again on first use
        c = Contenders(setup.services.broker)
        print("warming up ...", flush=True)
        rates(c, min(100, args.n), args.poll)
        results: dict[str, list[tuple[float, float]]] = {"without": [], "with": []}
        for index in range(args.rounds):
            print(f"round {index + 1}: {args.n} workflows and {args.n} chains without sleepers ...", flush=True)
            results["without"].append(rates(c, args.n, args.poll))
            began = time.perf_counter()
            add_sleepers(args.sleepers, WorkflowRun, Timer, storage.now())
            settle()
            print(f"  {args.sleepers:,} sleepers added in {time.perf_counter() - began:.1f}s; again ...", flush=True)
            results["with"].append(rates(c, args.n, args.poll))
            remove_sleepers()
            settle()

    print()
    print(f"machine      {harness.machine(load_start)}")
    print(f"workers      {args.workers} x celery worker -P prefork -c {args.concurrency}, database {args.database}")
    print(f"bursts       {args.n} each, {args.rounds} round(s), {args.sleepers:,} sleepers")
    for name, column in (("workflows", 0), ("chains", 1)):
        without = [pair[column] for pair in results["without"]]
        with_ = [pair[column] for pair in results["with"]]
        ratios = ", ".join(f"{b / a:.2f}x" for a, b in zip(without, with_, strict=True))
        print(
            f"{name:<12} without {statistics.median(without):7.1f}/s   with {statistics.median(with_):7.1f}/s   "
            f"ratio per round: {ratios}"
        )
    return 0


if __name__ == "__main__":
    harness.run_script(main)
