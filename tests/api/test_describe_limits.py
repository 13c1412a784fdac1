"""``describe()`` of a run with more pending work or children than it lists: the first ones, and how many in all."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

import durableflows as df
from durableflows import client, storage
from durableflows.models import ActivityTask, Timer
from tests.admin.test_admin import logged_in, page

LIMIT = 3


@pytest.fixture
def crowded(monkeypatch, waiting) -> df.WorkflowHandle:
    """The waiting run with 5 more pending activities, 6 more timers (due before its own), 7 children; a limit of 3."""
    monkeypatch.setattr(client, "DESCRIBE_LIMIT", LIMIT)
    run = storage.open_run(waiting.workflow_id)
    now = storage.now()
    ActivityTask.objects.bulk_create(ActivityTask(run=run, activity_id=100 + i, name="ops.work") for i in range(5))
    Timer.objects.bulk_create(Timer(run=run, timer_id=100 + i, fire_at=now + timedelta(minutes=i)) for i in range(6))
    for i in range(7):
        storage.create_run("ops.approval", ["child"], workflow_id=f"order-1/{i}", parent=run, parent_child_id=i)
    return waiting


def test_describe_lists_the_first_entries_and_counts_them_all(crowded):
    with CaptureQueriesContext(connection) as queries:
        described = crowded.describe()
    assert [a["activity_id"] for a in described["pending_activities"]] == [100, 101, 102]
    assert described["pending_activities_total"] == 5
    assert [t["timer_id"] for t in described["pending_timers"]] == [100, 101, 102]  # the soonest
    assert described["pending_timers_total"] == 7  # the run's own timer too
    assert [c["workflow_id"] for c in described["children"]] == ["order-1/0", "order-1/1", "order-1/2"]
    assert described["children_total"] == 7
    assert len(queries) <= 8  # the run, its parent, and a read and a count per list: not a row per child


def test_describe_counts_without_a_count_query_when_all_fit(waiting):
    described = waiting.describe()
    assert described["pending_timers_total"] == len(described["pending_timers"])
    assert described["children_total"] == 0 and described["pending_activities_total"] == 0


def test_the_api_detail_gives_the_totals(crowded, operator):
    api = APIClient()
    api.force_authenticate(operator)
    body = api.get(f"/api/workflows/{crowded.workflow_id}/").json()
    assert len(body["children"]) == LIMIT and body["children_total"] == 7
    assert len(body["pending_timers"]) == LIMIT and body["pending_timers_total"] == 7
    assert len(body["pending_activities"]) == LIMIT and body["pending_activities_total"] == 5


def test_the_run_page_says_how_many_are_not_shown(crowded, viewer):
    html = logged_in(viewer).get(page(crowded.run_id)).content.decode()
    assert "The first 3 of 5 pending activities." in html
    assert "7 in all" in html
