"""Asynchronous activity completion: ``raise df.CompleteAsync()`` leaves the attempt open for its task token.

Completions through ``df.get_activity_handle(token)`` are facts like a worker's: recorded once, only
for the started attempt, with the retry policy and the heartbeat and start-to-close timeouts applying.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from django.core import signing
from django.db import connections

import durableflows as df
from durableflows import task_tokens, tasks
from durableflows.models import ActivityTask, WorkflowRun
from durableflows.testing import WorkflowEnvironment

from .async_completion_workflows import Receipt, charge, infos, tokens


@pytest.fixture(autouse=True)
def _fresh_tokens():
    tokens.clear()
    infos.clear()


def handed_off(env, order_id: str, count: int = 1) -> str:
    """Run the workflow until its activity attempt number ``count`` handed over a token; returns that token."""
    env.run_until(lambda: len(tokens[order_id]) >= count)
    return tokens[order_id][count - 1]


def task_of(handle) -> ActivityTask:
    return ActivityTask.objects.get(run_id=handle.run_id)


def event_types(handle) -> list[str]:
    return [event.type.value for event in handle.history()]


def test_the_attempt_stays_started_until_completed_by_token(durableflows_env):
    handle = durableflows_env.start(charge, "o-1")
    token = handed_off(durableflows_env, "o-1")
    durableflows_env.run_until_idle()
    assert (task_of(handle).state, task_of(handle).attempt) == ("started", 1)
    assert "ActivityCompleted" not in event_types(handle)

    df.get_activity_handle(token).complete(Receipt("ch_1", Decimal("9.50")))
    # the result is decoded by the activity's return type hint, as a worker's result would be
    assert handle.result() == {"charge_id": "ch_1", "amount": Decimal("9.50"), "is_receipt": True}
    assert event_types(handle).count("ActivityStarted") == 1
    assert event_types(handle).count("ActivityCompleted") == 1
    assert task_of(handle).state == "completed"


def test_a_second_completion_is_refused_and_never_recorded(durableflows_env):
    handle = durableflows_env.start(charge, "o-2")
    activity = df.get_activity_handle(handed_off(durableflows_env, "o-2"))
    activity.complete({"charge_id": "ch_2", "amount": "1"})
    for again in (lambda: activity.complete({"charge_id": "ch_x", "amount": "2"}), lambda: activity.fail("late")):
        with pytest.raises(df.ActivityAttemptClosed, match="already completed") as refused:
            again()
        assert refused.value.state == "completed"
    assert handle.result()["charge_id"] == "ch_2"
    assert event_types(handle).count("ActivityCompleted") == 1


def test_the_token_identifies_the_attempt(durableflows_env):
    durableflows_env.start(charge, "o-3", id="wf-o-3")
    token = handed_off(durableflows_env, "o-3")
    info = infos["o-3"][0]
    assert (info.workflow_id, info.attempt, info.task_token) == ("wf-o-3", 1, token)
    ref = task_tokens.parse(token)
    assert (str(ref.run_id), ref.activity_id, ref.attempt) == (info.run_id, info.activity_id, 1)
    assert all(c.isalnum() or c in "-_.:" for c in token)  # URL-safe: usable as a path segment as it is


def test_a_failure_is_retried_with_a_new_token_and_the_old_one_refused(durableflows_env):
    handle = durableflows_env.start(charge, "o-4")
    first = handed_off(durableflows_env, "o-4")
    df.get_activity_handle(first).fail("provider unavailable", type="ConnectionError")
    task = task_of(handle)
    assert (task.state, task.attempt, task.last_error["type"]) == ("scheduled", 2, "ConnectionError")

    second = handed_off(durableflows_env, "o-4", count=2)  # time skips the 1 s backoff
    assert second != first and infos["o-4"][1].attempt == 2
    with pytest.raises(df.ActivityAttemptClosed, match="superseded by attempt 2") as refused:
        df.get_activity_handle(first).complete({"charge_id": "stale", "amount": "0"})
    assert refused.value.state == "superseded"
    df.get_activity_handle(second).complete({"charge_id": "ch_4", "amount": "4"})
    assert handle.result()["charge_id"] == "ch_4"


def test_failures_end_the_activity_when_the_policy_says_so(durableflows_env):
    exhausted = durableflows_env.start(charge, "o-5")
    for attempt in (1, 2, 3):
        df.get_activity_handle(handed_off(durableflows_env, "o-5", count=attempt)).fail("still down")
    assert exhausted.result() == {"error": "Exception", "message": "still down", "attempts": 3}

    by_policy = durableflows_env.start(charge, "o-6")
    df.get_activity_handle(handed_off(durableflows_env, "o-6")).fail("stolen card", type="Fraud")
    assert by_policy.result() == {"error": "Fraud", "message": "stolen card", "attempts": 1}

    at_once = durableflows_env.start(charge, "o-7")
    df.get_activity_handle(handed_off(durableflows_env, "o-7")).fail("declined", "CardDeclined", non_retryable=True)
    assert at_once.result() == {"error": "CardDeclined", "message": "declined", "attempts": 1}
    assert event_types(at_once).count("ActivityFailed") == 1


def test_heartbeats_move_the_deadline_and_keep_their_details(durableflows_env):
    handle = durableflows_env.start(charge, "o-8")
    activity = df.get_activity_handle(handed_off(durableflows_env, "o-8"))
    first_deadline = task_of(handle).deadline
    durableflows_env.sleep(50)
    activity.heartbeat({"provider_status": "pending"})
    task = task_of(handle)
    assert task.deadline > first_deadline
    assert task.heartbeat_details == {"provider_status": "pending"}
    durableflows_env.sleep(50)  # past the first heartbeat timeout, within the one the heartbeat gave
    assert (task_of(handle).state, task_of(handle).attempt) == ("started", 1)
    assert handle.describe()["pending_activities"][0]["heartbeat_details"] == {"provider_status": "pending"}

    durableflows_env.sleep(11)  # 61 s without a heartbeat: timed out, retried; the retry sees the details
    handed_off(durableflows_env, "o-8", count=2)
    assert infos["o-8"][1].heartbeat_details == {"provider_status": "pending"}
    assert task_of(handle).last_error["message"] == "heartbeat_timeout exceeded"


def test_a_late_completion_after_a_timeout_is_refused(durableflows_env):
    handle = durableflows_env.start(charge, "o-9")
    tokens_seen = [handed_off(durableflows_env, "o-9", count=n) for n in (1, 2, 3)]  # each attempt times out
    durableflows_env.run_until(lambda: WorkflowRun.objects.get(pk=handle.run_id).status == "completed")
    assert handle.result() == {"error": "TimeoutError", "message": "heartbeat_timeout exceeded", "attempts": 3}
    with pytest.raises(df.ActivityAttemptClosed, match="timed out") as refused:
        df.get_activity_handle(tokens_seen[2]).complete({"charge_id": "late", "amount": "0"})
    assert refused.value.state == "timed_out"
    with pytest.raises(df.ActivityAttemptClosed, match="superseded"):
        df.get_activity_handle(tokens_seen[0]).heartbeat()
    assert "ActivityCompleted" not in event_types(handle)


def test_start_to_close_applies_to_an_open_attempt(durableflows_env):
    handle = durableflows_env.start(charge, "o-10")
    activity = df.get_activity_handle(handed_off(durableflows_env, "o-10"))
    for _ in range(10):  # heartbeats every 55 s keep it alive, up to its start-to-close of 10 minutes
        durableflows_env.sleep(55)
        activity.heartbeat()
    durableflows_env.sleep(55)
    with pytest.raises(df.ActivityAttemptClosed):
        activity.heartbeat()
    assert task_of(handle).last_error["message"] == "start_to_close_timeout exceeded"


@pytest.mark.parametrize(
    "forged",
    [
        "",
        "not a token",
        "x" * 500,
        signing.Signer(salt="another.salt").sign("00000000000000000000000000000000.1.1"),
        signing.Signer().sign("00000000000000000000000000000000.1.1"),
    ],
)
def test_forged_or_malformed_tokens_are_not_found(db, forged):
    with pytest.raises(df.ActivityNotFound):
        df.get_activity_handle(forged)


def test_a_token_cannot_be_edited_into_another_attempt(durableflows_env):
    durableflows_env.start(charge, "o-11")
    token = handed_off(durableflows_env, "o-11")
    payload, signature = token.split(":")
    run_hex, activity_id, _ = payload.split(".")
    for edited in (f"{run_hex}.{activity_id}.2:{signature}", f"{'0' * 32}.{activity_id}.1:{signature}"):
        with pytest.raises(df.ActivityNotFound, match="signature"):
            df.get_activity_handle(edited)
    with pytest.raises(df.ActivityNotFound):
        df.get_activity_handle(123)  # type: ignore[arg-type]


def test_a_valid_token_of_a_deleted_run_is_not_found(durableflows_env):
    handle = durableflows_env.start(charge, "o-12")
    activity = df.get_activity_handle(handed_off(durableflows_env, "o-12"))
    WorkflowRun.objects.filter(pk=handle.run_id).delete()
    with pytest.raises(df.ActivityNotFound) as missing:
        activity.complete(None)
    assert not isinstance(missing.value, df.ActivityAttemptClosed)


def test_bad_values_are_refused_and_nothing_is_recorded(durableflows_env):
    handle = durableflows_env.start(charge, "o-13")
    activity = df.get_activity_handle(handed_off(durableflows_env, "o-13"))
    with pytest.raises(df.SerializationError):
        activity.complete(object())
    with pytest.raises(df.SerializationError):
        activity.heartbeat({"file": open})
    with pytest.raises(TypeError):
        activity.fail(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        activity.fail("x", type=3)  # type: ignore[arg-type]
    with pytest.raises(df.SerializationError):
        activity.fail("a NUL \x00 cannot be stored")
    task = task_of(handle)
    assert (task.state, task.attempt, task.heartbeat_details, task.last_error) == ("started", 1, None, None)


def test_a_cancel_request_shows_in_heartbeats_and_a_failure_then_cancels(durableflows_env):
    handle = durableflows_env.start(charge, "o-14")
    activity = df.get_activity_handle(handed_off(durableflows_env, "o-14"))
    handle.cancel()
    durableflows_env.run_until_idle()
    with pytest.raises(df.ActivityCancelled):
        activity.heartbeat("still working")
    assert task_of(handle).heartbeat_details is None  # nothing recorded, as with df.heartbeat()
    activity.fail("gave up after the cancel request")
    assert task_of(handle).state == "cancelled"  # not retried
    assert handle.result() == {"cancelled": True}
    assert "ActivityFailed" not in event_types(handle)


def test_async_def_activities_complete_asynchronously_too(durableflows_env):
    handle = durableflows_env.start(charge, "o-15", True)
    token = handed_off(durableflows_env, "o-15")
    durableflows_env.run_until_idle()
    assert task_of(handle).state == "started"
    df.get_activity_handle(token).complete({"charge_id": "ch_15", "amount": "15"})
    assert handle.result()["charge_id"] == "ch_15"


def test_an_attempt_a_worker_runs_inline_stays_open(durableflows_env):
    """The worker that runs a workflow task runs its lone new activity at once, and then the next workflow task:
    an attempt that raised CompleteAsync must be left open there too, not completed with no result."""
    handle = df.start(charge, "o-16")
    tasks.workflow_task(handle.run_id)
    assert tokens["o-16"], "the activity ran inline"
    assert task_of(handle).state == "started"
    assert "ActivityCompleted" not in event_types(handle)


def test_async_twins(transactional_db):
    """As an async webhook view calls them: the rows are committed, since the twins run on another thread."""
    with WorkflowEnvironment() as env:
        handle = env.start(charge, "o-17")
        activity = df.get_activity_handle(handed_off(env, "o-17"))
        asyncio.run(activity.aheartbeat(1))
        assert task_of(handle).heartbeat_details == 1
        asyncio.run(activity.afail("retry me"))
        second = df.get_activity_handle(handed_off(env, "o-17", 2))
        asyncio.run(second.acomplete({"charge_id": "ch_17", "amount": "17"}))
        assert handle.result()["charge_id"] == "ch_17"
    asyncio.run(sync_to_async(connections.close_all)())  # the twins' thread's own connection


def test_complete_async_is_not_an_ordinary_exception():
    assert not issubclass(df.CompleteAsync, Exception)
    assert issubclass(df.ActivityAttemptClosed, df.ActivityNotFound)
    assert issubclass(df.ActivityNotFound, LookupError) and issubclass(df.ActivityNotFound, df.DurableFlowsError)
