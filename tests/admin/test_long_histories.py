"""A run of thousands of events: its page fetches a bounded number of them, and its pages show each exactly once."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from durableflows.admin.history import EVENTS_PER_PAGE, TIMELINE_EVENTS
from durableflows.models import HistoryEvent, WorkflowRun
from durableflows.runtime import EventType

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
EVENTS = 3_000


@pytest.fixture
def long_run() -> WorkflowRun:
    """A completed run of 3,000 events: 999 activities (scheduled, started, completed), started and completed."""
    run = WorkflowRun.objects.create(
        workflow_id="long-1", workflow_name="ops.long", status="completed", started_at=T0,
        closed_at=T0 + timedelta(seconds=EVENTS), history_length=EVENTS,
    )  # fmt: skip
    kinds = [EventType.ACTIVITY_SCHEDULED, EventType.ACTIVITY_STARTED, EventType.ACTIVITY_COMPLETED]
    events = [HistoryEvent(run=run, sequence=1, type=EventType.WORKFLOW_STARTED, timestamp=T0, data={})]
    for seq in range(2, EVENTS):
        activity = (seq - 2) // 3 + 1
        data = {"activity_id": activity, "name": "ops.step", "attempt": 1}
        events.append(
            HistoryEvent(
                run=run, sequence=seq, type=kinds[(seq - 2) % 3], timestamp=T0 + timedelta(seconds=seq), data=data
            )
        )
    events.append(
        HistoryEvent(
            run=run,
            sequence=EVENTS,
            type=EventType.WORKFLOW_COMPLETED,
            timestamp=T0 + timedelta(seconds=EVENTS),
            data={"result": 1},
        )
    )
    HistoryEvent.objects.bulk_create(events, batch_size=500)
    return run


def run_page(run: WorkflowRun, query: str = "") -> str:
    return reverse("admin:durableflows_workflowrun_change", args=[run.pk]) + query


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_page_of_a_long_run_fetches_a_bounded_window_of_events(viewer, long_run):
    client = signed_in(viewer)
    client.get(run_page(long_run))  # sessions and permissions warm up
    with CaptureQueriesContext(connection) as queries:
        html = client.get(run_page(long_run)).content.decode()
    event_queries = [q["sql"] for q in queries.captured_queries if "durableflows_historyevent" in q["sql"]]
    assert event_queries and all("LIMIT" in sql or "COUNT(" in sql for sql in event_queries), event_queries
    limits = [int(n) for sql in event_queries for n in re.findall(r"LIMIT (\d+)", sql)]
    assert sum(limits) <= EVENTS_PER_PAGE + 1 + TIMELINE_EVENTS
    assert html.count('class="df-event df-event-') == EVENTS_PER_PAGE
    assert f"events {EVENTS - EVENTS_PER_PAGE + 1}–{EVENTS} of {EVENTS}" in html  # the newest page first
    assert "earlier lane(s) not drawn" in html and "ActivityCompleted" in html
    assert len(html) < 400_000


def test_older_and_newer_links_show_every_event_exactly_once(viewer, long_run):
    client = signed_in(viewer)
    seen: list[int] = []
    query = ""
    while True:
        html = client.get(run_page(long_run, query)).content.decode()
        seen += [int(n) for n in re.findall(r'<tr class="df-event [^"]*">\s*<td>(\d+)</td>', html)]
        older = re.search(r'href="\?events_before=(\d+)#df-history" class="df-older"', html)
        if older is None:
            break
        query = f"?events_before={older.group(1)}"
    assert seen == list(range(EVENTS, 0, -1))

    seen, query = [], "?events_after=0"  # from the oldest page forwards
    while True:
        html = client.get(run_page(long_run, query)).content.decode()
        seen += sorted(int(n) for n in re.findall(r'<tr class="df-event [^"]*">\s*<td>(\d+)</td>', html))
        newer = re.search(r'href="\?events_after=(\d+)#df-history" class="df-newer"', html)
        if newer is None:
            break
        query = f"?events_after={newer.group(1)}"
    assert seen == list(range(1, EVENTS + 1))


@pytest.mark.parametrize(
    "query", ["?events_before=abc", "?events_after=-5", "?events_before=99999999999999", "?events_after="]
)
def test_junk_cursors_show_the_newest_page(viewer, long_run, query):
    response = signed_in(viewer).get(run_page(long_run, query))
    assert response.status_code == 200
    assert f"events {EVENTS - EVENTS_PER_PAGE + 1}–{EVENTS} of {EVENTS}" in response.content.decode()


# --- the changelist's deep pages ---------------------------------------------------------------
def test_changelist_pages_read_rows_by_key_and_show_every_run_once(viewer):
    WorkflowRun.objects.bulk_create(
        WorkflowRun(
            workflow_id=f"many-{i}",
            workflow_name="ops.many",
            status="completed",
            created_at=T0 + timedelta(seconds=i // 3),
        )
        for i in range(120)
    )  # three runs per second: the order needs the tiebreaker on the run id
    client = signed_in(viewer)
    seen: list[str] = []
    for number in (1, 2, 3):
        with CaptureQueriesContext(connection) as queries:
            html = client.get(f"/admin/durableflows/workflowrun/?p={number}").content.decode()
        seen += re.findall(r'>(many-\d+)<small class="df-run-id"', html)
        rows = [
            q["sql"]
            for q in queries.captured_queries
            if "durableflows_workflowrun" in q["sql"] and "OFFSET" in q["sql"]
        ]
        assert all('"workflow_id"' not in sql.split("FROM")[0] for sql in rows), rows  # only keys are offset
    assert sorted(seen) == sorted(f"many-{i}" for i in range(120)) and len(seen) == 120
    assert seen[0] in {"many-117", "many-118", "many-119"}  # newest first


def test_on_postgresql_a_big_result_shows_an_estimated_count_and_pages_past_it_are_empty(viewer, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("estimated counts come from PostgreSQL's statistics")
    from durableflows.admin import paging

    monkeypatch.setattr(paging, "ESTIMATE_ABOVE", 10)
    WorkflowRun.objects.bulk_create(WorkflowRun(workflow_id=f"est-{i}", workflow_name="ops.est") for i in range(60))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE durableflows_workflowrun")
    client = signed_in(viewer)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/admin/durableflows/workflowrun/?workflow_name=ops.est").status_code == 200
    assert not any("COUNT(" in q["sql"] for q in queries.captured_queries if "durableflows_workflowrun" in q["sql"])
    assert client.get("/admin/durableflows/workflowrun/?p=9").status_code == 200  # past the end: empty, not an error


def test_a_runs_children_are_read_through_an_index_even_after_sqlite_analyzed_the_table():
    """Most runs have no parent; once ANALYZE saw that, SQLite scanned every run for a run's children."""
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL's statistics count NULLs apart")
    WorkflowRun.objects.bulk_create(WorkflowRun(workflow_id=f"orphan-{i}", workflow_name="ops.o") for i in range(2_000))
    parent = WorkflowRun.objects.first()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        sql, params = WorkflowRun.objects.filter(parent=parent).query.sql_with_params()
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "SEARCH" in plan and "SCAN" not in plan, plan  # found by key, not by reading every run
