#!/usr/bin/env python
"""Benchmark: what ``transactional=True`` costs, against the same activities run the ordinary way.

    python bench/transactional.py [--workflows 300] [--database-url postgres://...]

A workflow of three activities, each updating one row of the demo's ``Stock`` table, is carried
through in-process the way a worker does it (``durableflows.tasks.workflow_task``: the activities
run eagerly and inline, no broker), once with the activities transactional and once without,
alternating, on a fresh SQLite file in a temp dir unless ``--database-url`` names a database
(whose durableflows tables are emptied). Prints the median and p95 per workflow and the ratio.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import median_ms, p95_ms, setup_in_process  # noqa: E402

#: Workflows of each contender run before measuring.
WARMUP = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=int, default=300, help="workflows per contender")
    parser.add_argument("--database-url", default=None)
    options = parser.parse_args()

    setup_in_process("df-tx-", "tx.sqlite3", options.database_url, "project.settings")
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import F

    import durableflows as df
    from demo.models import Stock
    from durableflows.engine import doorbell
    from durableflows.models import WorkflowRun
    from durableflows.tasks import workflow_task

    @df.activity(name="bench.tx.take_one")
    def take_one(sku: str) -> int:
        return Stock.objects.filter(sku=sku).update(quantity=F("quantity") - 1)

    @df.workflow(name="bench.tx.three_takes")
    async def three_takes(sku: str, transactional: bool) -> int:
        taken = 0
        for _ in range(3):
            taken += await df.execute_activity(take_one, sku, transactional=transactional)
        return taken

    doorbell.muted = True  # the inline path needs no messages; nothing else runs
    call_command("migrate", verbosity=0)
    WorkflowRun.objects.all().delete()
    takes = 3 * 2 * (WARMUP + options.workflows)  # three per workflow, both contenders: the shelf never runs out
    Stock.objects.update_or_create(sku="bench", defaults={"quantity": takes})
    print(f"database: {connection.vendor}, workflows per contender: {options.workflows}")

    def one(transactional: bool) -> float:
        began = time.perf_counter()
        handle = df.start(three_takes, "bench", transactional)
        workflow_task(handle.run_id)
        elapsed = time.perf_counter() - began
        assert handle.result(timeout=0) == 3
        return elapsed

    for _ in range(WARMUP):  # warm up both
        one(True)
        one(False)
    times: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(options.workflows):  # alternate, so drift hits both alike
        times[False].append(one(False))
        times[True].append(one(True))
    for flag, label in ((False, "ordinary activities"), (True, "transactional=True")):
        print(f"  {label:>20}: median {median_ms(times[flag]):6.2f} ms, p95 {p95_ms(times[flag]):6.2f} ms per workflow")
    print(f"  ratio transactional / ordinary (median): {median_ms(times[True]) / median_ms(times[False]):.2f}x")


if __name__ == "__main__":
    main()
