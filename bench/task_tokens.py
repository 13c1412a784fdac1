#!/usr/bin/env python
"""Benchmark: what signing a task token adds to every activity attempt.

    python bench/task_tokens.py [--attempts 300] [--signatures 20000] [--database-url postgres://...]

Every attempt's ``df.activity_info().task_token`` is signed when the attempt starts (no column
backs it). This measures, in one process and one run, an attempt settled in-process
(``activities.execute``: claim, run a trivial activity, settle: the token included) and one
signature alone, and prints their ratio: the share of an attempt the token costs. The database
is a fresh SQLite file in a temp dir unless ``--database-url`` names one, which is emptied.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import setup_in_process  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=300)
    parser.add_argument("--signatures", type=int, default=20_000)
    parser.add_argument("--database-url", default=None)
    options = parser.parse_args()

    scratch = setup_in_process("df-tokens-", "tokens.sqlite3", options.database_url, "project.settings")
    from django.core.management import call_command
    from django.db import connection

    import durableflows as df
    from durableflows import task_tokens
    from durableflows.engine import activities, doorbell
    from durableflows.engine.workflow_tasks import process_workflow_task
    from durableflows.models import ActivityTask, WorkflowRun

    @df.activity(name="bench.tokens.add_one")
    def add_one(value: int) -> int:
        return value + 1

    @df.workflow(name="bench.tokens.one_step")
    async def one_step(value: int) -> int:
        return await df.execute_activity(add_one, value)

    doorbell.muted = True  # the bench drives the work itself
    call_command("migrate", verbosity=0)
    WorkflowRun.objects.all().delete()
    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")

    for _ in range(options.attempts + 20):  # each run's workflow task schedules its one attempt
        process_workflow_task(df.start(one_step, 1).run_id)
    pending = list(ActivityTask.objects.filter(state="scheduled").values_list("pk", flat=True))
    attempts = []
    for pk in pending:
        began = time.perf_counter()
        activities.execute(pk, 1, ring_workflow=False)
        attempts.append(time.perf_counter() - began)
    attempts = attempts[20:]  # warm-up: connection, statement caches

    run_id = uuid.uuid4()
    signatures = []
    for attempt in range(options.signatures):
        began = time.perf_counter()
        task_tokens.make(run_id, 1, attempt)
        signatures.append(time.perf_counter() - began)

    attempt_us = statistics.median(attempts) * 1e6
    signature_us = statistics.median(signatures) * 1e6
    print(f"  one attempt, claim + run + settle (median of {len(attempts)}): {attempt_us:9.1f} us")
    print(f"  one task token signature (median of {len(signatures)}):      {signature_us:9.1f} us")
    print(f"  share of an attempt: {signature_us / attempt_us:.2%}")
    connection.close()
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
