"""The WorkflowRun admin through Django's test client: pages, operations, permissions and LogEntry."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.test import Client
from django.urls import reverse

import durableflows as df
from durableflows.engine.workflow_tasks import process_workflow_task
from durableflows.models import ActivityTask, InboxItem, WorkflowRun
from tests.api.support import drive, make_user

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/durableflows/workflowrun/"


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(run_id) -> str:
    return reverse("admin:durableflows_workflowrun_change", args=[run_id])


def op_url(run_id, operation: str) -> str:
    return reverse(f"admin:durableflows_workflowrun_{operation}", args=[run_id])


# --- the changelist ---------------------------------------------------------------------------
def test_changelist_shows_badges_and_columns(operator, waiting, failed):
    html = logged_in(operator).get(CHANGELIST).content.decode()
    assert "order-1" in html and "failing-1" in html
    assert "df-status-running" in html and "df-status-failed" in html
    assert "Start a workflow" in html
    assert "cancel_selected" in html and "terminate_selected" in html


def test_changelist_counts_once_and_never_scans_for_filter_values(operator, waiting, failed):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = logged_in(operator)
    client.get(CHANGELIST)  # the session and permission caches warm up
    with CaptureQueriesContext(connection) as queries:
        assert client.get(CHANGELIST).status_code == 200
    run_queries = [q["sql"] for q in queries.captured_queries if "durableflows_workflowrun" in q["sql"]]
    assert sum("COUNT(" in sql for sql in run_queries) == 1, run_queries
    assert not any("DISTINCT" in sql for sql in run_queries), run_queries


def test_changelist_filters_and_search(viewer, waiting, failed):
    client = logged_in(viewer)
    assert "failing-1" not in client.get(CHANGELIST + "?status=running").content.decode()
    assert "order-1" not in client.get(CHANGELIST + "?workflow_name=ops.failing").content.decode()
    assert "failing-1" not in client.get(CHANGELIST + "?q=order").content.decode()
    assert "order-1" not in client.get(CHANGELIST + f"?q={failed.run_id}").content.decode()
    assert "failing-1" in client.get(CHANGELIST + f"?q={failed.run_id}").content.decode()


def test_stuck_filter(viewer, waiting, failed):
    WorkflowRun.objects.filter(workflow_id="order-1").update(task_error="NonDeterminismError: diverged")
    client = logged_in(viewer)
    stuck = client.get(CHANGELIST + "?stuck=yes").content.decode()
    assert "order-1" in stuck and "failing-1" not in stuck
    assert "order-1" not in client.get(CHANGELIST + "?stuck=no").content.decode()
    assert "NonDeterminismError: diverged" in client.get(page(waiting.run_id)).content.decode()


def test_viewer_sees_no_operations(viewer, waiting):
    html = logged_in(viewer).get(CHANGELIST).content.decode()
    assert "Start a workflow" not in html and "cancel_selected" not in html
    detail = logged_in(viewer).get(page(waiting.run_id)).content.decode()
    assert "df-signal-form" not in detail and "df-terminate-form" not in detail


@pytest.mark.parametrize("url", [CHANGELIST, CHANGELIST + "add/", CHANGELIST + "start/"])
def test_anonymous_is_sent_to_login(url):
    response = Client().get(url)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_no_permission_no_admin(nobody, waiting):
    client = logged_in(nobody)
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(page(waiting.run_id)).status_code == 403
    for operation in ("signal", "query", "cancel", "terminate"):
        assert client.post(op_url(waiting.run_id, operation), {"name": "approve", "reason": "x"}).status_code == 403
    assert client.get(CHANGELIST + "start/").status_code == 403


def test_history_cannot_be_added_changed_or_deleted(superuser, waiting):
    client = logged_in(superuser)
    assert client.get(CHANGELIST + "add/").status_code == 403
    assert client.post(page(waiting.run_id), {"workflow_id": "hacked"}).status_code == 403
    assert client.post(page(waiting.run_id).replace("/change/", "/delete/"), {"post": "yes"}).status_code == 403
    assert WorkflowRun.objects.get(pk=waiting.run_id).workflow_id == "order-1"


# --- the page of one run ----------------------------------------------------------------------
def test_run_page_shows_data_timeline_and_history(operator, waiting):
    html = logged_in(operator).get(page(waiting.run_id)).content.decode()
    assert "<svg" in html and "df-timeline" in html and "shout #1" in html  # the activity's bar
    assert "WorkflowStarted" in html and "ActivityCompleted" in html and "<details>" in html
    assert "&quot;parcel&quot;" in html or "parcel" in html
    assert "waiting" in html  # the variable
    assert "df-signal-form" in html and "df-query-form" in html and "df-cancel-form" in html


def test_failed_run_shows_error_with_traceback(viewer, failed):
    html = logged_in(viewer).get(page(failed.run_id)).content.decode()
    assert "no stock" in html
    assert "df-error" in html


def test_pending_activity_attempts_and_timer_are_shown(viewer):
    handle = df.start("ops.sleepy", id="sleepy")
    drive(handle.run_id)
    html = logged_in(viewer).get(page(handle.run_id)).content.decode()
    assert "Timers: #" in html and "timer #" in html


def test_parent_and_children_link_to_each_other(viewer):
    parent = df.start("ops.parent", id="p")
    drive(parent.run_id)
    child = WorkflowRun.objects.get(workflow_id="p/1")
    client = logged_in(viewer)
    assert page(child.run_id) in client.get(page(parent.run_id)).content.decode()
    assert page(parent.run_id) in client.get(page(child.run_id)).content.decode()


def test_long_histories_are_paginated(viewer, waiting):
    for i in range(120):
        waiting.signal("noise", i)
    drive(waiting.run_id)
    client = logged_in(viewer)
    total = WorkflowRun.objects.get(pk=waiting.run_id).history_length
    assert total > 100
    newest = client.get(page(waiting.run_id)).content.decode()
    assert f"events {total - 99}–{total} of {total}" in newest
    older = re.search(r'href="\?events_before=(\d+)#df-history"', newest)
    assert older is not None and int(older.group(1)) == total - 99
    oldest = client.get(page(waiting.run_id) + f"?events_before={older.group(1)}").content.decode()
    assert f"events 1–{total - 100} of {total}" in oldest and "WorkflowStarted" in oldest


def test_pending_heartbeat_details_are_shown_as_json(viewer):
    handle = df.start("ops.approval", "parcel", id="beating")
    process_workflow_task(handle.run_id)  # the activity is scheduled, not run
    ActivityTask.objects.filter(run_id=handle.run_id).update(heartbeat_details={"done": 3, "last": None})
    html = logged_in(viewer).get(page(handle.run_id)).content.decode()
    assert "<code>{&quot;done&quot;: 3, &quot;last&quot;: null}</code>" in html


def test_json_fields_of_the_forms_start_empty_not_null(operator, waiting):
    client = logged_in(operator)
    run_id = waiting.run_id
    for url in (page(run_id), op_url(run_id, "signal"), op_url(run_id, "query"), CHANGELIST + "start/"):
        textareas = re.findall(r"<textarea[^>]*>(.*?)</textarea>", client.get(url).content.decode(), re.S)
        assert textareas and all(text.strip() == "" for text in textareas), (url, textareas)


# --- operations ---------------------------------------------------------------------------------
def test_signal_through_the_form_completes_the_run(operator, waiting):
    client = logged_in(operator)
    response = client.post(op_url(waiting.run_id, "signal"), {"name": "approve", "payload": '{"ok": true}'})
    assert response.status_code == 302 and response["Location"] == page(waiting.run_id)
    entry = LogEntry.objects.get(object_id=str(waiting.run_id))
    assert entry.action_flag == CHANGE and "approve" in entry.get_change_message()
    drive(waiting.run_id)
    assert waiting.result(timeout=1)["decision"] == {"ok": True}
    assert "Signal &#x27;approve&#x27; sent" in client.get(page(waiting.run_id)).content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "approve", "payload": "{not json"}, "Enter a valid JSON"),
        ({"name": "", "payload": "1"}, "This field is required"),
        ({"name": "approve", "payload": '{"__df__": 1}'}, "reserved"),
    ],
)
def test_signal_form_errors_are_shown_and_nothing_is_sent(operator, waiting, data, message):
    response = logged_in(operator).post(op_url(waiting.run_id, "signal"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not InboxItem.objects.exists() and not LogEntry.objects.exists()


def test_signal_to_a_closed_run_is_an_error_not_a_crash(operator, failed):
    response = logged_in(operator).post(op_url(failed.run_id, "signal"), {"name": "approve"})
    assert response.status_code == 400
    assert "no open run" in response.content.decode()


def test_query_shows_the_answer(operator, waiting):
    client = logged_in(operator)
    response = client.post(op_url(waiting.run_id, "query"), {"name": "progress", "args": ""})
    assert response.status_code == 200
    answer = response.content.decode()
    assert "df-query-answer" in answer and "&quot;stage&quot;: &quot;waiting&quot;" in answer  # JSON, not a repr
    assert "&#x27;stage&#x27;" not in answer
    assert 'value="Run a query">' in answer  # the button names the operation, not a truncated title
    bad = client.post(op_url(waiting.run_id, "query"), {"name": "nope", "args": "[]"})
    assert bad.status_code == 400 and "no query handler" in bad.content.decode()
    wrong = client.post(op_url(waiting.run_id, "query"), {"name": "echo", "args": '{"a": 1}'})
    assert wrong.status_code == 400 and "JSON array" in wrong.content.decode()


def test_cancel_and_terminate(operator, waiting, failed):
    client = logged_in(operator)
    assert client.post(op_url(waiting.run_id, "cancel"), {"reason": "changed my mind"}).status_code == 302
    assert drive(waiting.run_id).status == "cancelled"
    second = df.start("ops.approval", "x", id="order-2")
    drive(second.run_id)
    assert client.post(op_url(second.run_id, "terminate"), {"reason": ""}).status_code == 400  # a reason is required
    done = client.post(op_url(second.run_id, "terminate"), {"reason": "bad data"}, follow=True)
    assert '<li class="success">Terminated order-2.</li>' in done.content.decode()  # the id keeps its case
    assert second.status == df.Status.TERMINATED
    assert LogEntry.objects.filter(action_flag=CHANGE).count() == 2


def test_each_operation_needs_its_own_permission(waiting):
    signaller = logged_in(make_user("signaller", "view_workflowrun", "signal_workflow"))
    assert signaller.post(op_url(waiting.run_id, "terminate"), {"reason": "x"}).status_code == 403
    assert signaller.post(op_url(waiting.run_id, "query"), {"name": "progress"}).status_code == 403
    assert signaller.post(op_url(waiting.run_id, "signal"), {"name": "approve"}).status_code == 302


def test_unknown_run_is_404(operator):
    assert logged_in(operator).get(op_url("00000000-0000-0000-0000-000000000000", "signal")).status_code == 404


# --- bulk actions ------------------------------------------------------------------------------
def test_bulk_terminate_asks_for_a_reason_then_terminates_open_runs(operator, waiting, failed):
    client = logged_in(operator)
    selection = {"action": "terminate_selected", "_selected_action": [str(waiting.run_id), str(failed.run_id)]}
    confirm = client.post(CHANGELIST, selection)
    assert confirm.status_code == 200 and "Yes, terminate" in confirm.content.decode()
    assert waiting.status == df.Status.RUNNING
    done = client.post(CHANGELIST, {**selection, "confirm": "yes", "reason": "cleanup"}, follow=True)
    assert waiting.status == df.Status.TERMINATED
    html = done.content.decode()
    assert "Terminate: 1 run(s)" in html and "Skipped 1 closed run(s)" in html
    assert LogEntry.objects.filter(object_id=str(waiting.run_id)).exists()


def test_bulk_cancel(operator, waiting):
    selection = {"action": "cancel_selected", "_selected_action": [str(waiting.run_id)], "confirm": "yes", "reason": ""}
    logged_in(operator).post(CHANGELIST, selection)
    assert drive(waiting.run_id).status == "cancelled"


def test_bulk_actions_need_permission(viewer, waiting):
    selection = {
        "action": "terminate_selected",
        "_selected_action": [str(waiting.run_id)],
        "confirm": "yes",
        "reason": "x",
    }
    logged_in(viewer).post(CHANGELIST, selection)
    assert waiting.status == df.Status.RUNNING


# --- starting ------------------------------------------------------------------------------------
def test_start_form_lists_workflows_and_starts_one(operator):
    client = logged_in(operator)
    form = client.get(CHANGELIST + "start/").content.decode()
    assert "ops.approval" in form and "ops.sleepy" in form
    response = client.post(
        CHANGELIST + "start/", {"workflow": "ops.approval", "args": '["crate"]', "id": "order-7", "id_conflict": "fail"}
    )
    assert response.status_code == 302
    run = WorkflowRun.objects.get(workflow_id="order-7")
    assert run.args == ["crate"] and response["Location"] == page(run.run_id)
    assert LogEntry.objects.get(object_id=str(run.run_id)).action_flag == ADDITION


def test_start_form_starts_a_class_workflow_checked_against_its_run_method(operator):
    client = logged_in(operator)
    assert "ops.ticket" in client.get(CHANGELIST + "start/").content.decode()
    refused = client.post(CHANGELIST + "start/", {"workflow": "ops.ticket", "args": "[7]", "id_conflict": "fail"})
    assert refused.status_code == 400 and "&#x27;title&#x27; must be str, not int" in refused.content.decode()
    data = {"workflow": "ops.ticket", "args": '["printer", 1]', "id": "ticket-1", "id_conflict": "fail"}
    assert client.post(CHANGELIST + "start/", data).status_code == 302
    run = WorkflowRun.objects.get(workflow_id="ticket-1")
    assert run.args == ["printer", 1]
    process_workflow_task(run.run_id)
    answer = client.post(op_url(run.run_id, "query"), {"name": "comments", "args": "[]"})
    assert answer.status_code == 200 and "df-query-answer" in answer.content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"workflow": "ops.approval", "args": "{bad", "id_conflict": "fail"}, "Enter a valid JSON"),
        ({"workflow": "ops.approval", "args": '{"a": 1}', "id_conflict": "fail"}, "JSON array"),
        ({"workflow": "no.such", "args": "[]", "id_conflict": "fail"}, "Select a valid choice"),
        (
            {"workflow": "ops.approval", "args": '["crate"]', "id": "order-1", "id_conflict": "fail"},
            "already has an open run",
        ),
        ({"workflow": "ops.approval", "args": "[]", "id_conflict": "fail"}, "missing a required argument"),
        ({"workflow": "ops.approval", "args": "[7]", "id_conflict": "fail"}, "&#x27;item&#x27; must be str, not int"),
    ],
)
def test_start_form_errors(operator, waiting, data, message):
    response = logged_in(operator).post(CHANGELIST + "start/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert WorkflowRun.objects.count() == 1


# --- the inline on a business object's admin page -------------------------------------------------
@pytest.mark.urls("tests.admin.urls")
def test_inline_lists_the_runs_of_a_row(superuser):
    from demo.models import Order

    order = Order.objects.create(customer="Ada", amount="12.00")
    handle = df.start("ops.approval", "parcel", id="order-inline", subject=order)
    html = logged_in(superuser).get(f"/shop-admin/demo/order/{order.pk}/change/").content.decode()
    assert "workflow runs" in html.lower()
    assert page(handle.run_id) in html and "order-inline" in html
    run_page = logged_in(superuser).get(page(handle.run_id)).content.decode()
    assert f"/admin/demo/order/{order.pk}/change/" in run_page


# --- updates ----------------------------------------------------------------------------------
def test_update_from_the_run_page_shows_the_result(operator, waiting, monkeypatch):
    from durableflows.admin.runs import WorkflowRunAdmin

    monkeypatch.setattr(WorkflowRunAdmin, "update_wait", 0)  # no worker here: the first post only sends it
    client = logged_in(operator)
    assert 'id="df-update-form"' in client.get(page(waiting.run_id)).content.decode()
    sent = client.post(op_url(waiting.run_id, "update"), {"name": "note", "args": '["fragile"]', "update_id": "a-1"})
    assert sent.status_code == 200
    assert "has not decided it yet" in sent.content.decode()
    drive(waiting.run_id)
    monkeypatch.setattr(WorkflowRunAdmin, "update_wait", 1)
    answer = client.post(op_url(waiting.run_id, "update"), {"name": "note", "args": '["fragile"]', "update_id": "a-1"})
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "df-update-answer" in html and "Result of update" in html and '<pre class="df-json">1</pre>' in html
    assert LogEntry.objects.filter(change_message__contains="Sent update 'note'").exists()
    timeline = client.get(page(waiting.run_id)).content.decode()
    assert "update &#x27;note&#x27; (a-1)" in timeline or "update 'note' (a-1)" in timeline


def test_a_rejected_update_is_shown_as_a_form_error(operator, waiting, monkeypatch):
    from durableflows.admin.runs import WorkflowRunAdmin

    monkeypatch.setattr(WorkflowRunAdmin, "update_wait", 0)
    client = logged_in(operator)
    client.post(op_url(waiting.run_id, "update"), {"name": "note", "args": '[" "]', "update_id": "a-2"})
    drive(waiting.run_id)
    monkeypatch.setattr(WorkflowRunAdmin, "update_wait", 1)
    rejected = client.post(op_url(waiting.run_id, "update"), {"name": "note", "args": '[" "]', "update_id": "a-2"})
    assert rejected.status_code == 400
    assert "rejected the update" in rejected.content.decode() and "a note may not be blank" in rejected.content.decode()


def test_update_needs_its_permission(waiting):
    client = logged_in(make_user("signaller", "view_workflowrun", "signal_workflow"))
    assert 'id="df-update-form"' not in client.get(page(waiting.run_id)).content.decode()
    assert client.post(op_url(waiting.run_id, "update"), {"name": "note", "args": '["x"]'}).status_code == 403
