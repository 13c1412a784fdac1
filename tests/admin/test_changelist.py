"""The runs' changelist: what each row shows and links to, and a cost per page that does not grow with its rows."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from durableflows.models import WorkflowRun

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/durableflows/workflowrun/"
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def add_runs(count: int, start: int = 0) -> None:
    WorkflowRun.objects.bulk_create(
        WorkflowRun(
            workflow_id=f"row-{i}", workflow_name="ops.rows", status="completed" if i % 2 else "failed",
            created_at=T0 + timedelta(seconds=i), started_at=T0 + timedelta(seconds=i),
            closed_at=T0 + timedelta(seconds=i + 3),
        )
        for i in range(start, start + count)
    )  # fmt: skip


def statements(client: Client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return [query["sql"] for query in queries.captured_queries]


@pytest.mark.parametrize("query", ["", "?status=failed", "?stuck=no", "?q=row"])
def test_the_number_of_queries_does_not_grow_with_the_rows_shown(viewer, query):
    client = signed_in(viewer)
    add_runs(2)
    client.get(CHANGELIST)  # the session and permission caches warm up
    few = statements(client, CHANGELIST + query)
    add_runs(48, start=2)  # a full page, still one page (a second page reads keys first: one more query)
    many = statements(client, CHANGELIST + query)
    assert len(many) == len(few), many


def test_row_links_keep_the_filters_as_django_does(viewer):
    add_runs(6)
    client = signed_in(viewer)
    html = client.get(CHANGELIST + "?status=failed&q=row").content.decode()
    links = re.findall(r'href="([^"]*/change/[^"]*)"', html)
    runs = WorkflowRun.objects.filter(status="failed").order_by("-created_at")
    kept = urlencode({"_changelist_filters": "status=failed&q=row"})
    assert links == [reverse("admin:durableflows_workflowrun_change", args=[run.pk]) + "?" + kept for run in runs]
    unfiltered = client.get(CHANGELIST).content.decode()
    assert all(link.endswith("/change/") for link in re.findall(r'href="([^"]*/change/[^"]*)"', unfiltered))


def test_the_selection_checkbox_is_djangos():
    run = WorkflowRun.objects.create(workflow_id="a<b&\"c'", workflow_name="ops.odd")
    model_admin = admin.site._registry[WorkflowRun]
    assert str(model_admin.action_checkbox(run)) == str(admin.ModelAdmin.action_checkbox(model_admin, run))


def test_not_stuck_is_every_run_but_the_open_ones_with_a_task_error(viewer):
    WorkflowRun.objects.bulk_create([
        WorkflowRun(workflow_id="stuck-1", workflow_name="ops.s", status="running", task_error="NonDeterminismError"),
        WorkflowRun(workflow_id="healthy-1", workflow_name="ops.s", status="running"),
        WorkflowRun(workflow_id="closed-1", workflow_name="ops.s", status="failed", task_error="NonDeterminismError"),
    ])  # fmt: skip
    client = signed_in(viewer)
    shown = re.findall(r">((?:stuck|healthy|closed)-1)<", client.get(CHANGELIST + "?stuck=no").content.decode())
    assert sorted(shown) == ["closed-1", "healthy-1"]
    shown = re.findall(r">((?:stuck|healthy|closed)-1)<", client.get(CHANGELIST + "?stuck=yes").content.decode())
    assert shown == ["stuck-1"]


def test_the_stuck_filter_is_one_condition_on_the_table_not_a_subquery(viewer):
    """A ``NOT IN (subquery)`` makes PostgreSQL count every run; a plain condition gets the estimated count."""
    add_runs(3)
    client = signed_in(viewer)
    for value in ("yes", "no"):
        run_queries = [sql for sql in statements(client, CHANGELIST + f"?stuck={value}") if "workflowrun" in sql]
        assert run_queries and not any(sql.count("SELECT") > 1 for sql in run_queries), run_queries


@pytest.mark.parametrize("keys_at_once", [5_000, 10])
def test_a_search_pages_through_every_match_once_newest_first(viewer, monkeypatch, keys_at_once):
    from durableflows import search

    monkeypatch.setattr(search, "KEYS_AT_ONCE", keys_at_once)
    add_runs(120)
    WorkflowRun.objects.bulk_create(WorkflowRun(workflow_id=f"other-{i}", workflow_name="ops.o") for i in range(30))
    client = signed_in(viewer)
    seen = []
    for number in (1, 2, 3):
        html = client.get(CHANGELIST + f"?q=row&p={number}").content.decode()
        seen += re.findall(r'>(row-\d+)<small class="df-run-id"', html)
    assert seen == [f"row-{i}" for i in reversed(range(120))]


def test_on_postgresql_a_search_with_few_matches_reads_their_keys_without_a_limit(viewer):
    """With a LIMIT, PostgreSQL may walk the creation-order index past most runs to meet matches that cluster."""
    add_runs(120)
    client = signed_in(viewer)
    quote = connection.ops.quote_name
    read_keys = f"SELECT {quote(WorkflowRun._meta.db_table)}.{quote('run_id')} AS {quote('pk')} FROM"
    keys = [sql for sql in statements(client, CHANGELIST + "?q=row&p=2") if sql.startswith(read_keys)]
    assert len(keys) == 1, keys
    # elsewhere no index finds the matches: the LIMIT lets the scan stop at the page's last one
    assert ("LIMIT" in keys[0]) == (connection.vendor != "postgresql"), keys


@pytest.mark.parametrize("order", ["", "?o=-5"])  # the lists' order; closed, newest first (open runs first)
def test_the_changelists_order_is_read_from_an_index_without_a_sort(admin_user, order):
    """Sorting the runs that share a close time (the open runs: 10 % of a busy table) cost 0.2-0.7 s at 1M runs."""
    if connection.vendor == "mysql":
        pytest.skip("MariaDB's EXPLAIN does not say the same")
    add_runs(200)
    WorkflowRun.objects.bulk_create(
        WorkflowRun(workflow_id=f"open-{i}", workflow_name="ops.rows", created_at=T0 + timedelta(seconds=i))
        for i in range(50)
    )
    client = signed_in(admin_user)  # with the actions' checkbox first, column 5 is "closed"
    quote = connection.ops.quote_name
    read_keys = f"SELECT {quote(WorkflowRun._meta.db_table)}.{quote('run_id')} AS {quote('pk')} FROM"
    (sql,) = [sql for sql in statements(client, CHANGELIST + order) if sql.startswith(read_keys)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # a sort then costs more than any index the planner can use
            cursor.execute("SET enable_sort = off; SET enable_incremental_sort = off")
            cursor.execute(f"EXPLAIN {sql}")
            plan = " ".join(row[0] for row in cursor.fetchall())
            cursor.execute("RESET enable_sort; RESET enable_incremental_sort")
            assert "Sort" not in plan, plan
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
            assert "TEMP B-TREE" not in plan, plan
