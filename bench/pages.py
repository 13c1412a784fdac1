#!/usr/bin/env python
"""Benchmark: every admin and API page, with 1k runs and again with 100k runs and ~1M events.

    python bench/pages.py [--database-url postgres://...] [--small 1000] [--large 100000]
                          [--events-per-run 10] [--long-runs 3] [--long-events 10000] [--repeat 15]

Fills the database with bulk inserts (COPY on PostgreSQL, multi-row INSERTs elsewhere): runs of five
workflow types in a realistic status mix, about ``--events-per-run`` events each (activities, timers,
signals), and a few runs of ``--long-events`` events. Times each page in-process with Django's test
client, signed in as a superuser, ``DEBUG`` off; prints the median ms at both sizes, their ratio, and
the runs each changelist page shows at both sizes.
Both sizes live side by side (two SQLite files in a temp dir, or two schemas, ``bench_small`` and
``bench_large``, of the PostgreSQL database ``--database-url`` names) and each page is timed on both in
alternation, so the machine's load weighs on both alike.
"""

from __future__ import annotations

import argparse
import base64
import importlib
import io
import json
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import setup_in_process  # noqa: E402

NAMES = ["shop.fulfil_order", "shop.refund", "mail.digest", "billing.invoice", "sync.inventory"]
STATUSES = ["completed"] * 80 + ["failed"] * 8 + ["cancelled", "terminated"] + ["running"] * 9 + ["pending"]
NOW = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--events-per-run", type=int, default=10)
    parser.add_argument("--long-runs", type=int, default=3)
    parser.add_argument("--long-events", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    options = parser.parse_args()

    scratch = setup_in_process("df-pages-", "small.sqlite3", options.database_url, "project.settings", DJANGO_DEBUG="0")
    from django.db import connection

    # Two databases side by side (two schemas of one PostgreSQL database, or two SQLite files), so that
    # each page is timed on both in alternation, under the same load: the ratio is what matters here.
    if connection.vendor == "postgresql":
        targets = {size: {"OPTIONS": {"options": f"-c search_path=bench_{size},public"}} for size in ("small", "large")}
    else:
        targets = {size: {"NAME": str(scratch / f"{size}.sqlite3")} for size in ("small", "large")}
    if connection.vendor == "postgresql":
        reset_schemas(connection)
    rng = random.Random(7)
    long_ids = {}
    for size, count in (("small", options.small), ("large", options.large)):
        use(targets[size], create_schema=connection.vendor == "postgresql")
        began = time.perf_counter()
        long_ids[size] = fill(0, count, options, rng, long_runs=options.long_runs)
        analyze(connection)
        print(f"{size}: {count:,} runs in {time.perf_counter() - began:.1f} s{search_index(connection)}")
    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")

    pages = {size: page_urls(targets[size], long_ids[size]) for size in targets}
    medians: dict[str, dict[str, float]] = {"small": {}, "large": {}}
    rows: dict[str, dict[str, int]] = {"small": {}, "large": {}}  # runs a changelist page shows
    for name in pages["small"]:
        times: dict[str, list[float]] = {"small": [], "large": []}
        for _ in range(options.repeat):
            for size in ("small", "large"):
                use(targets[size])
                client, url = pages[size][name]
                response = client.get(url)  # reconnects, warms caches: not timed
                assert response.status_code == 200, (name, url, response.status_code)
                rows[size][name] = response.content.count(b'name="_selected_action"')
                began = time.perf_counter()
                client.get(url)
                times[size].append(time.perf_counter() - began)
        for size in times:
            medians[size][name] = statistics.median(times[size]) * 1000

    small, large = medians["small"], medians["large"]
    print(f"\n{'page':<44} {options.small:>9,} runs {options.large:>9,} runs {'ratio':>7} {'rows shown':>11}")
    for name in small:
        ratio = large[name] / small[name]
        shown = f"{rows['small'][name]} / {rows['large'][name]}" if rows["large"][name] else ""
        flag = "  > 150 ms" if large[name] > 150 else ""
        print(f"{name:<44} {small[name]:>11.1f} ms {large[name]:>11.1f} ms {ratio:>6.2f}x {shown:>11}{flag}")


def reset_schemas(connection) -> None:
    """Drop both schemas and put ``pg_trgm`` in ``public``, on both schemas' paths.

    Migrating a schema alone on the path would create the extension in that schema, off the path of
    the other one, which then gets no trigram index and searches by reading every run.
    """
    with connection.cursor() as cursor:
        for size in ("small", "large"):
            cursor.execute(f"DROP SCHEMA IF EXISTS bench_{size} CASCADE")
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")


def use(target: dict, *, create_schema: bool = False) -> None:
    """Point the default connection at one of the two databases (migrating it the first time)."""
    from django.core.management import call_command
    from django.db import connection

    connection.close()
    connection.settings_dict.update(target)
    if create_schema:
        with connection.cursor() as cursor:
            schema = target["OPTIONS"]["options"].rsplit("=", 1)[1].split(",")[0]
            cursor.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            cursor.execute(f"CREATE SCHEMA {schema}")
        connection.close()
    if "NAME" in target and not Path(target["NAME"]).exists():
        call_command("migrate", verbosity=0)
    if create_schema:  # migrate with the new schema alone on the path, or it finds public's tables
        options = target["OPTIONS"]["options"]
        connection.settings_dict["OPTIONS"] = {"options": options.split(",")[0]}
        call_command("migrate", verbosity=0)
        connection.close()
        connection.settings_dict["OPTIONS"] = {"options": options}
        # pg_trgm lives in public, off the path during migrate: add the search index as migration 0007 does
        migration = importlib.import_module("durableflows.migrations.0007_changelist_indexes")
        with connection.schema_editor() as editor:
            migration.add_trigram_index(None, editor)


def fill(offset: int, count: int, options: argparse.Namespace, rng: random.Random, *, long_runs: int) -> list[str]:
    """Insert ``count`` runs (the first ``long_runs`` of them with long histories); returns those runs' ids."""
    from durableflows.models import WorkflowRun

    long_ids: list[str] = []
    batch = 10_000
    for start in range(offset, offset + count, batch):
        runs, events = [], []
        for i in range(start, min(start + batch, offset + count)):
            status = rng.choice(STATUSES)
            created = NOW - timedelta(days=30) * (1 - (i - offset) / count) + timedelta(seconds=rng.random())
            length = (
                options.long_events if i - offset < long_runs else max(3, int(rng.gauss(options.events_per_run, 3)))
            )
            run = WorkflowRun(
                run_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                workflow_id=f"order-{i}",
                workflow_name=rng.choice(NAMES),
                status=status,
                args=[i],
                created_at=created,
                start_at=created,
                started_at=created + timedelta(milliseconds=50),
                closed_at=None if status in ("running", "pending") else created + timedelta(seconds=length),
                history_length=length,
                task_error="NonDeterminismError: replay diverged" if status == "running" and i % 5 == 0 else "",
            )
            runs.append(run)
            events.extend(history(run, length, rng))
            if i - offset < long_runs:
                long_ids.append(run.workflow_id)
        WorkflowRun.objects.bulk_create(runs, batch_size=2_000)
        insert_events(events)
    return long_ids


def history(run, length: int, rng: random.Random):
    """A plausible history: started, then activities (scheduled, started, completed), timers and signals."""
    at = run.started_at
    yield (run.run_id, 1, "WorkflowStarted", at, {"workflow_name": run.workflow_name, "args": run.args})
    seq, activity = 2, 0
    closing = run.closed_at is not None
    while seq <= length - closing:
        at += timedelta(milliseconds=rng.randint(5, 900))
        roll = rng.random()
        if roll < 0.1 and seq + 1 <= length - closing:
            yield (run.run_id, seq, "TimerStarted", at, {"timer_id": seq, "duration": 60})
            yield (run.run_id, seq + 1, "TimerFired", at + timedelta(seconds=60), {"timer_id": seq})
            seq += 2
        elif roll < 0.15:
            yield (run.run_id, seq, "SignalReceived", at, {"name": "approve", "payload": {"by": "alice"}})
            seq += 1
        else:
            activity += 1
            kinds = ["ActivityScheduled", "ActivityStarted", "ActivityCompleted"]
            for kind in kinds[: length - closing - seq + 1]:
                data = {"activity_id": activity, "name": "shop.charge_card", "attempt": 1, "result": "ch_123"}
                yield (run.run_id, seq, kind, at, data)
                seq += 1
    if closing:
        kind = {"completed": "WorkflowCompleted", "failed": "WorkflowFailed"}.get(run.status, "WorkflowCancelled")
        yield (run.run_id, seq, kind, run.closed_at, {"result": {"ok": True}})


def insert_events(rows) -> None:
    """COPY on PostgreSQL; multi-row INSERTs through the driver elsewhere."""
    from django.db import connection

    from durableflows.models import HistoryEvent

    table = HistoryEvent._meta.db_table
    columns = "run_id, sequence, type, timestamp, data"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buffer = io.StringIO()
            for run_id, seq, kind, at, data in rows:
                text = json.dumps(data).replace("\\", "\\\\")
                buffer.write(f"{run_id}\t{seq}\t{kind}\t{at.isoformat()}\t{text}\n")
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
            return
        adapt = connection.ops.adapt_datetimefield_value
        values = [
            (run_id.hex if connection.vendor == "sqlite" else str(run_id), seq, kind, adapt(at), json.dumps(data))
            for run_id, seq, kind, at, data in rows
        ]
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s)", values)


def search_index(connection) -> str:
    """On PostgreSQL, whether the schema has the trigram index the search reads (else it reads every run)."""
    if connection.vendor != "postgresql":
        return ""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'df_run_workflow_id_trgm'"
        )
        return ", trigram index" if cursor.fetchone() else ", NO trigram index: the search reads every run"


def analyze(connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def page_urls(target: dict, long_ids: list[str]) -> dict[str, tuple]:
    """(signed-in client, url) of every page, on one of the two databases."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from durableflows.models import WorkflowRun

    use(target)
    user_model = get_user_model()
    user = user_model.objects.filter(username="bench").first() or user_model.objects.create_superuser(
        "bench", "bench@example.com", "x"
    )
    client = Client()
    client.force_login(user)
    total = WorkflowRun.objects.count()
    long_run = WorkflowRun.objects.get(workflow_id=long_ids[0])
    deep_run = WorkflowRun.objects.order_by("-created_at", "run_id")[int(total * 0.9)]
    changelist = "/admin/durableflows/workflowrun/"
    run_page = f"/admin/durableflows/workflowrun/{long_run.pk}/change/"
    api_run = f"/api/workflows/{long_run.workflow_id}/"
    week_ago = (NOW - timedelta(days=7)).isoformat(sep=" ")
    pages = {
        "admin changelist": changelist,
        "admin changelist ?status=failed": changelist + "?status=failed",
        "admin changelist ?status=running": changelist + "?status=running",
        "admin changelist ?workflow_name=": changelist + "?workflow_name=shop.refund",
        "admin changelist ?created_at (past 7 days)": changelist + "?" + urlencode({"created_at__gte": week_ago}),
        "admin changelist ?stuck=yes": changelist + "?stuck=yes",
        "admin changelist ?stuck=no": changelist + "?stuck=no",
        "admin changelist search (workflow id)": changelist + "?q=order-42",
        "admin changelist search (run id)": changelist + f"?q={deep_run.pk}",
        "admin changelist ordered by started": changelist + "?o=4",
        "admin changelist ordered by closed desc": changelist + "?o=-5",
        "admin changelist last page": changelist + f"?p={max(total // 50, 1)}",
        "admin run page (10k events, newest)": run_page,
        "admin run page (10k events, deep page)": run_page + "?events_before=5000",
        "admin run page (10k events, oldest)": run_page + "?events_after=0",
        "api list": "/api/workflows/",
        "api list ?status=failed": "/api/workflows/?status=failed",
        "api list deep cursor": "/api/workflows/?cursor=" + cursor(str(deep_run.created_at)),
        "api list search": "/api/workflows/?search=order-42",
        "api detail": api_run,
        "api history (10k events, first)": api_run + "history/",
        "api history (10k events, deep cursor)": api_run + "history/?cursor=" + cursor("9000"),
        "api schema": "/api/schema/",
    }
    return {name: (client, url) for name, url in pages.items()}


def cursor(position: str) -> str:
    """A DRF cursor that starts after ``position`` (as CursorPagination encodes it)."""
    return base64.b64encode(urlencode({"p": position}).encode()).decode()


if __name__ == "__main__":
    main()
