"""The /api/workflows/ endpoints: behaviour and malformed input, for a privileged user."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

import durableflows as df
from durableflows.api.urls import urlpatterns
from durableflows.engine.workflow_tasks import process_workflow_task
from durableflows.models import InboxItem, WorkflowRun
from tests.api.support import drive, start_and_drive

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(operator) -> APIClient:
    client = APIClient()
    client.force_login(operator)
    return client


# --- list ---------------------------------------------------------------------------------
def test_list_is_paginated_and_filtered(api, waiting, failed):
    body = api.get("/api/workflows/").json()
    assert body.keys() == {"next", "previous", "results"}
    assert [row["workflow_id"] for row in body["results"]] == ["failing-1", "order-1"]  # newest first

    assert [r["workflow_id"] for r in api.get("/api/workflows/?status=failed").json()["results"]] == ["failing-1"]
    assert [r["workflow_id"] for r in api.get("/api/workflows/?workflow=ops.approval").json()["results"]] == ["order-1"]
    assert [r["workflow_id"] for r in api.get("/api/workflows/?search=order").json()["results"]] == ["order-1"]
    by_run = api.get(f"/api/workflows/?search={failed.run_id}").json()["results"]
    assert [r["run_id"] for r in by_run] == [failed.run_id]
    assert len(api.get("/api/workflows/?workflow_id=failing-1").json()["results"]) == 1


@pytest.mark.parametrize("keys_at_once", [20_000, 10])  # read at once (PostgreSQL), or a walk in order
def test_a_search_pages_through_every_match_once_newest_first_and_back(api, monkeypatch, keys_at_once):
    from datetime import timedelta

    from durableflows import search

    monkeypatch.setattr(search, "KEYS_AT_ONCE", keys_at_once)
    began = datetime(2026, 1, 1, tzinfo=UTC)
    WorkflowRun.objects.bulk_create(
        WorkflowRun(workflow_id=f"{kind}-{i}", workflow_name="ops.o", created_at=began + timedelta(seconds=i))
        for kind in ("row", "other")
        for i in range(30)
    )
    rows = WorkflowRun.objects.filter(workflow_id__startswith="row").order_by("-created_at", "pk")
    newest_first = [run.workflow_id for run in rows]
    pages, url = [], "/api/workflows/?search=row&status=pending&page_size=7"
    while url:
        body = api.get(url).json()
        pages.append(([row["workflow_id"] for row in body["results"]], body["previous"]))
        url = body["next"]
    assert [workflow_id for page, _ in pages for workflow_id in page] == newest_first
    back, url = [], pages[-1][1]
    while url:
        body = api.get(url).json()
        back = [row["workflow_id"] for row in body["results"]] + back
        url = body["previous"]
    assert back + pages[-1][0] == newest_first


def test_on_postgresql_a_search_that_finds_few_runs_reads_them_by_key(api, waiting, failed):
    """Ordered by creation with a LIMIT, PostgreSQL may walk every run in that order to meet the matches."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert [r["workflow_id"] for r in api.get("/api/workflows/?search=order").json()["results"]] == ["order-1"]
    pages = [q["sql"] for q in queries if "ORDER BY" in q["sql"] and "workflowrun" in q["sql"]]
    assert len(pages) == 1, pages
    by_key = f'{connection.ops.quote_name("run_id")} IN ('
    assert (by_key in pages[0]) == (connection.vendor == "postgresql"), pages


def test_list_pages_follow_the_cursor(api, waiting, failed):
    first = api.get("/api/workflows/?page_size=1").json()
    assert [row["workflow_id"] for row in first["results"]] == ["failing-1"] and first["previous"] is None
    second = api.get(first["next"]).json()
    assert [row["workflow_id"] for row in second["results"]] == ["order-1"] and second["next"] is None
    assert [row["workflow_id"] for row in api.get(second["previous"]).json()["results"]] == ["failing-1"]


@pytest.mark.parametrize(
    ("query", "field"), [("status=sleeping", "status"), ("workflow_id=a%00b", "workflow_id"), ("search=%00", "search")]
)
def test_list_rejects_bad_filters_field_by_field(api, query, field):
    response = api.get(f"/api/workflows/?{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_list_with_a_forged_cursor_is_404(api, waiting):
    assert api.get("/api/workflows/?cursor=bz1hYmM%3D").status_code == 404
    # well formed, with a position that is not a time (p=not-a-date), with and without a search
    assert api.get("/api/workflows/?cursor=cD1ub3QtYS1kYXRl").status_code == 404
    assert api.get("/api/workflows/?cursor=cD1ub3QtYS1kYXRl&search=order").status_code == 404
    assert api.get("/api/workflows/order-1/history/?cursor=cD1ub3QtYS1kYXRl").status_code == 404  # not a number


# --- start --------------------------------------------------------------------------------
def test_start_answers_201_with_the_instance(api):
    response = api.post(
        "/api/workflows/", {"workflow": "ops.approval", "args": ["box"], "id": "order-9"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["workflow_id"] == "order-9" and body["status"] == "pending" and body["args"] == ["box"]
    assert body["url"].endswith("/api/workflows/order-9/")
    drive(body["run_id"])
    assert df.get_handle("order-9").query("progress") == {"stage": "waiting", "item": "box"}


def test_start_without_id_gets_a_random_one(api):
    response = api.post("/api/workflows/", {"workflow": "ops.sleepy"}, format="json")
    assert response.status_code == 201
    assert WorkflowRun.objects.get(workflow_id=response.json()["workflow_id"]).workflow_name == "ops.sleepy"


def test_start_conflict_is_409(api, waiting):
    response = api.post("/api/workflows/", {"workflow": "ops.approval", "args": ["x"], "id": "order-1"}, format="json")
    assert response.status_code == 409
    assert response.json()["workflow_id"] == "order-1"
    assert WorkflowRun.objects.filter(workflow_id="order-1").count() == 1


def test_start_use_existing_returns_the_open_run(api, waiting):
    body = {"workflow": "ops.approval", "args": ["x"], "id": "order-1", "id_conflict": "use_existing"}
    response = api.post("/api/workflows/", body, format="json")
    assert response.status_code == 201 and response.json()["run_id"] == waiting.run_id


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"args": [1]}, "workflow"),
        ({"workflow": "no.such.workflow"}, "workflow"),
        ({"workflow": 42}, "workflow"),
        ({"workflow": "ops.approval", "args": "not a list"}, "args"),
        ({"workflow": "ops.approval", "args": {"a": 1}}, "args"),
        ({"workflow": "ops.approval", "args": [{"__df__": "datetime", "v": "x"}]}, "args"),
        ({"workflow": "ops.approval", "id": ""}, "id"),
        ({"workflow": "ops.approval", "id": "   "}, "id"),
        ({"workflow": "ops.approval", "id": "x" * 256}, "id"),
        ({"workflow": "ops.approval", "id": ["a"]}, "id"),
        ({"workflow": "ops.approval", "id_conflict": "replace"}, "id_conflict"),
        ({"workflow": "ops.approval", "start_delay": -1}, "start_delay"),
        ({"workflow": "ops.approval", "start_delay": "soon"}, "start_delay"),
    ],
)
def test_start_bad_input_is_a_field_level_400_and_stores_nothing(api, body, field):
    response = api.post("/api/workflows/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not WorkflowRun.objects.exists()


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"just a string"', b'{"workflow": NaN}', b""])
def test_start_malformed_json_is_400(api, raw):
    response = api.generic("POST", "/api/workflows/", raw, content_type="application/json")
    assert response.status_code == 400
    assert not WorkflowRun.objects.exists()


def test_start_other_media_types_are_415(api):
    response = api.post("/api/workflows/", "workflow=ops.approval", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


@override_settings(DURABLEFLOWS={"MAX_PAYLOAD_BYTES": 100})
def test_start_oversize_arguments_are_400(api):
    response = api.post("/api/workflows/", {"workflow": "ops.approval", "args": ["x" * 200]}, format="json")
    assert response.status_code == 400
    assert "over the limit" in response.json()["args"][0]
    assert not WorkflowRun.objects.exists()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_oversize_bodies_are_413(api):
    response = api.post("/api/workflows/", {"workflow": "ops.approval", "args": ["x" * 2000]}, format="json")
    assert response.status_code == 413
    assert not WorkflowRun.objects.exists()


# --- describe and history -------------------------------------------------------------------
def test_retrieve_describes_the_latest_run(api, waiting):
    body = api.get("/api/workflows/order-1/").json()
    assert body["status"] == "running" and body["run_id"] == waiting.run_id
    assert body["args"] == ["parcel"] and body["vars"] == {"stage": "waiting"}
    assert body["result"] is None and body["error"] is None
    assert {"created_at", "started_at", "closed_at", "pending_activities", "pending_timers", "children"} <= body.keys()


def test_retrieve_failed_run_shows_the_error(api, failed):
    body = api.get("/api/workflows/failing-1/").json()
    assert body["status"] == "failed"
    assert "no stock" in str(body["error"])


def test_retrieve_a_specific_run(api, waiting):
    assert api.get(f"/api/workflows/order-1/?run_id={waiting.run_id}").json()["run_id"] == waiting.run_id
    assert api.get("/api/workflows/order-1/?run_id=00000000-0000-0000-0000-000000000000").status_code == 404
    assert api.get("/api/workflows/order-1/?run_id=garbage").status_code == 404


@pytest.mark.parametrize("suffix", ["", "history/"])
def test_unknown_ids_are_404(api, suffix):
    assert api.get(f"/api/workflows/nope/{suffix}").status_code == 404


@pytest.mark.parametrize("action", ["signal", "query", "cancel", "terminate"])
def test_actions_on_unknown_ids_are_404(api, action):
    assert api.post(f"/api/workflows/nope/{action}/", {"name": "x"}, format="json").status_code == 404


def test_history_lists_the_events(api, waiting):
    body = api.get("/api/workflows/order-1/history/").json()
    types = [event["type"] for event in body["results"]]
    assert types[0] == "WorkflowStarted" and "ActivityCompleted" in types
    assert [e["sequence"] for e in body["results"]] == list(range(1, len(types) + 1))


#: An ISO 8601 timestamp inside a JSON body, with whatever it ends in.
TIMESTAMP = re.compile(r'"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(Z|[+-]\d\d:\d\d)?)"')


@override_settings(TIME_ZONE="Europe/Paris")
def test_every_timestamp_is_in_utc_with_a_z(api, waiting):
    """Model fields, describe() entries, the engine's timestamps in event data, datetimes inside values."""
    start_and_drive("ops.sleepy", id="sleepy")  # a pending timer
    scheduled = df.start("ops.approval", "box", id="queued")
    process_workflow_task(scheduled.run_id)  # a pending activity, not run yet
    waiting.signal("approve", {"at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)})
    drive(waiting.run_id)
    bodies = [
        api.get(url).content.decode()
        for url in ("/api/workflows/", "/api/workflows/sleepy/", "/api/workflows/sleepy/history/",
                    "/api/workflows/queued/", "/api/workflows/order-1/", "/api/workflows/order-1/history/")
    ]  # fmt: skip
    found = [match for body in bodies for match in TIMESTAMP.findall(body)]
    assert len(found) > 20
    assert [text for text, ending in found if ending != "Z"] == []
    assert '"v":"2026-01-02T03:04:05Z"' in bodies[4] and '"fire_at":"' in bodies[2]


def test_workflow_ids_with_slashes(api):
    parent = df.start("ops.parent", id="shop/p-1")
    drive(parent.run_id)
    child = WorkflowRun.objects.get(parent__workflow_id="shop/p-1")
    assert child.workflow_id == "shop/p-1/1"
    drive(child.run_id)
    assert api.get("/api/workflows/shop/p-1/").json()["children"][0]["workflow_id"] == "shop/p-1/1"
    assert api.get("/api/workflows/shop/p-1/1/").json()["workflow_name"] == "ops.approval"
    assert api.get("/api/workflows/shop/p-1/1/history/").status_code == 200
    response = api.post("/api/workflows/shop/p-1/1/signal/", {"name": "approve", "payload": "ok"}, format="json")
    assert response.status_code == 202
    assert drive(child.run_id).status == "completed"


# --- signal, query, cancel, terminate --------------------------------------------------------
def test_signal_is_202_and_reaches_the_workflow(api, waiting):
    response = api.post("/api/workflows/order-1/signal/", {"name": "approve", "payload": {"by": "api"}}, format="json")
    assert response.status_code == 202
    assert response.json()["workflow_id"] == "order-1"
    drive(waiting.run_id)
    assert waiting.result(timeout=1) == {"loud": "PARCEL", "decision": {"by": "api"}}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": ["x"]}, "name"),
        ({"name": "x" * 300}, "name"),
        ([], "non_field_errors"),
    ],
)
def test_signal_bad_input_is_400(api, waiting, body, field):
    response = api.post("/api/workflows/order-1/signal/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not InboxItem.objects.exists()


@override_settings(DURABLEFLOWS={"MAX_PAYLOAD_BYTES": 100})
def test_signal_oversize_payload_is_400(api, waiting):
    response = api.post("/api/workflows/order-1/signal/", {"name": "approve", "payload": "x" * 500}, format="json")
    assert response.status_code == 400
    assert "payload" in response.json()
    assert not InboxItem.objects.exists()


def test_operations_on_a_closed_run_are_409(api, failed):
    for action, body in [("signal", {"name": "x"}), ("cancel", {}), ("terminate", {"reason": "x"})]:
        assert api.post(f"/api/workflows/failing-1/{action}/", body, format="json").status_code == 409


def test_query_answers_200(api, waiting):
    response = api.post("/api/workflows/order-1/query/", {"name": "progress"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"result": {"stage": "waiting", "item": "parcel"}}
    echoed = api.post("/api/workflows/order-1/query/", {"name": "echo", "args": [[1, "two"]]}, format="json")
    assert echoed.json() == {"result": [1, "two"]}


def test_query_works_on_closed_runs(api, waiting):
    waiting.signal("approve", 1)
    drive(waiting.run_id)
    assert (
        api.post("/api/workflows/order-1/query/", {"name": "progress"}, format="json").json()["result"]["stage"]
        == "done"
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "nope"}, "name"),
        ({}, "name"),
        ({"name": "progress", "args": "x"}, "args"),
        ({"name": "echo", "args": []}, "args"),  # the handler needs one argument
        ({"name": "echo", "args": [1, 2, 3]}, "args"),
    ],
)
def test_query_bad_input_is_400(api, waiting, body, field):
    response = api.post("/api/workflows/order-1/query/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_cancel_is_202_and_cancels(api, waiting):
    response = api.post("/api/workflows/order-1/cancel/", {"reason": "customer asked"}, format="json")
    assert response.status_code == 202
    assert drive(waiting.run_id).status == "cancelled"


def test_terminate_is_202_and_ends_the_run(api, waiting):
    response = api.post("/api/workflows/order-1/terminate/", {"reason": "bad data"}, format="json")
    assert response.status_code == 202
    assert waiting.status == df.Status.TERMINATED
    assert waiting.history()[-1].data.get("reason") == "bad data"


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "  "}])
def test_terminate_needs_a_reason(api, waiting, body):
    response = api.post("/api/workflows/order-1/terminate/", body, format="json")
    assert response.status_code == 400 and "reason" in response.json()
    assert waiting.status == df.Status.RUNNING


@pytest.mark.parametrize("body", [{"reason": ["x"]}, {"reason": "x" * 3000}, {"reason": None}])
def test_cancel_and_terminate_reject_bad_reasons(api, waiting, body):
    for action in ("cancel", "terminate"):
        response = api.post(f"/api/workflows/order-1/{action}/", body, format="json")
        assert response.status_code == 400 and "reason" in response.json()
    assert waiting.status == df.Status.RUNNING


def test_closed_id_can_be_started_again(api, failed):
    response = api.post("/api/workflows/", {"workflow": "ops.sleepy", "id": "failing-1"}, format="json")
    assert response.status_code == 201
    assert api.get("/api/workflows/failing-1/").json()["workflow_name"] == "ops.sleepy"


# --- registry and docs ------------------------------------------------------------------------
def test_view_descriptions_read_as_plain_text_in_the_browsable_api(api):
    views = {pattern.callback.cls for pattern in urlpatterns if hasattr(pattern.callback, "cls")}
    assert len(views) >= 3
    for view in views:
        description = view().get_view_description(html=False)
        assert "``" not in description and ":func:" not in description, view.__name__
    page = api.get("/api/workflows/", HTTP_ACCEPT="text/html").content.decode()
    assert "A workflow id stands for its latest run" in page


def test_workflow_types_lists_the_registry(api):
    body = api.get("/api/workflow-types/").json()
    workflows = {w["name"]: w for w in body["workflows"]}
    assert workflows["ops.approval"]["parameters"] == ["item: str"]
    assert "waits for an" in workflows["ops.approval"]["doc"]
    assert workflows["ops.approval"]["handlers"] == []  # a function's handlers exist only while it runs
    activities = {a["name"]: a for a in body["activities"]}
    assert activities["ops.shout"]["options"]["start_to_close_timeout"] == 10


def test_workflow_types_describe_a_class_by_its_run_method_and_handlers(api):
    body = api.get("/api/workflow-types/").json()
    ticket = {w["name"]: w for w in body["workflows"]}["ops.ticket"]
    assert ticket["parameters"] == ["title: str", "priority: int = 3"]
    assert ticket["module"] == "tests.api.workflows" and ticket["doc"].startswith("A class workflow")
    assert ticket["handlers"] == [
        {"kind": "signal", "name": "comment", "parameters": ["text: str"]},
        {"kind": "signal", "name": "close", "parameters": []},
        {"kind": "query", "name": "comments", "parameters": ["last: int = 10"]},
    ]


def test_a_class_workflow_is_started_signalled_and_queried_through_the_api(api):
    response = api.post("/api/workflows/", {"workflow": "ops.ticket", "args": ["printer"], "id": "t-1"}, format="json")
    assert response.status_code == 201, response.content
    run_id = response.json()["run_id"]
    drive(run_id)
    signal = api.post("/api/workflows/t-1/signal/", {"name": "comment", "payload": "jammed"}, format="json")
    assert signal.status_code == 202
    drive(run_id)
    answer = api.post("/api/workflows/t-1/query/", {"name": "comments", "args": [1]}, format="json")
    assert answer.json() == {"result": ["jammed"]}
    api.post("/api/workflows/t-1/signal/", {"name": "close"}, format="json")
    assert drive(run_id).result == {"title": "printer", "priority": 3, "comments": ["jammed"]}
    refused = api.post("/api/workflows/", {"workflow": "ops.ticket", "args": [7]}, format="json")
    assert refused.status_code == 400 and "'title' must be str" in refused.content.decode()


def test_schema_is_openapi_3(api):
    response = api.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/workflows/{workflow_id}/signal/" in schema["paths"]


def test_docs_page_needs_no_cdn(api):
    response = api.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "cdn." not in html and "unpkg" not in html and "jsdelivr" not in html


def test_a_sleeping_run_stays_running(db):
    assert start_and_drive("ops.sleepy", id="s").status == df.Status.RUNNING


def test_nul_characters_in_query_parameters_are_a_400(api):
    response = api.get("/api/workflows/", {"search": "a\x00b"})
    assert response.status_code == 400
    assert "search" in response.json()


# --- update and signal-with-start ---------------------------------------------------------------
def _update(api, body: dict, workflow_id: str = "order-1"):
    return api.post(f"/api/workflows/{workflow_id}/update/", body, format="json")


def test_update_answers_202_until_decided_then_200_with_the_result(api, waiting):
    first = _update(api, {"name": "note", "args": ["fragile"], "update_id": "n-1", "timeout": 0})
    assert first.status_code == 202
    assert first.json() == {"workflow_id": "order-1", "run_id": waiting.run_id, "update_id": "n-1"}
    drive(waiting.run_id)
    again = _update(api, {"name": "note", "args": ["fragile"], "update_id": "n-1", "timeout": 1})
    assert (again.status_code, again.json()) == (200, {"result": 1})
    assert [e.type for e in waiting.history()].count(df.EventType.UPDATE_ACCEPTED) == 1


def test_a_rejected_update_is_400_with_the_validators_message(api, waiting):
    assert _update(api, {"name": "note", "args": [" "], "update_id": "n-2", "timeout": 0}).status_code == 202
    drive(waiting.run_id)
    response = _update(api, {"name": "note", "args": [" "], "update_id": "n-2"})
    assert response.status_code == 400
    assert response.json() == {"detail": "a note may not be blank", "type": "ValueError"}
    assert df.EventType.UPDATE_ACCEPTED not in [e.type for e in waiting.history()]


def test_a_failed_update_is_422(api, waiting):
    _update(api, {"name": "note", "args": ["boom"], "update_id": "n-3", "timeout": 0})
    drive(waiting.run_id)
    response = _update(api, {"name": "note", "args": ["boom"], "update_id": "n-3"})
    assert response.status_code == 422
    assert response.json()["type"] == "RuntimeError"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "note", "args": "x"}, "args"),
        ({"name": "note", "timeout": -1}, "timeout"),
        ({"name": "note", "timeout": 100000}, "timeout"),
        ({"name": "note", "update_id": ""}, "update_id"),
    ],
)
def test_update_bad_input_is_400(api, waiting, body, field):
    response = _update(api, body)
    assert response.status_code == 400
    assert field in response.json()
    assert not InboxItem.objects.exists()


def test_update_on_unknown_ids_is_404_and_on_closed_runs_409(api, failed):
    assert _update(api, {"name": "note", "args": ["x"]}, "nobody").status_code == 404
    assert _update(api, {"name": "note", "args": ["x"]}, "failing-1").status_code == 409


def test_signal_with_start_answers_201_when_it_starts_and_202_when_it_signals(api):
    body = {"workflow": "ops.approval", "args": ["box"], "id": "sws-1", "signal": {"name": "approve", "payload": 7}}
    started = api.post("/api/workflows/signal-with-start/", body, format="json")
    assert started.status_code == 201
    assert started.json()["workflow_id"] == "sws-1"
    assert [item.type for item in InboxItem.objects.all()] == ["SignalReceived"]
    signalled = api.post("/api/workflows/signal-with-start/", body, format="json")
    assert signalled.status_code == 202
    assert signalled.json()["run_id"] == started.json()["run_id"]
    assert WorkflowRun.objects.filter(workflow_id="sws-1").count() == 1
    drive(started.json()["run_id"])
    assert df.get_handle("sws-1").result(timeout=1) == {"loud": "BOX", "decision": 7}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"workflow": "ops.approval", "args": ["x"], "signal": {"name": "go"}}, "id"),
        ({"workflow": "ops.approval", "args": ["x"], "id": "s"}, "signal"),
        ({"workflow": "ops.approval", "args": ["x"], "id": "s", "signal": {"name": ""}}, "signal"),
        ({"workflow": "nope", "id": "s", "signal": {"name": "go"}}, "workflow"),
        ({"workflow": "ops.approval", "args": [1], "id": "s", "signal": {"name": "go"}}, "args"),
    ],
)
def test_signal_with_start_bad_input_is_400_and_stores_nothing(api, body, field):
    response = api.post("/api/workflows/signal-with-start/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not WorkflowRun.objects.exists()
