"""Updates through the real engine: validation in the workflow task, outcomes stored with the request."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

import durableflows as df
from durableflows.engine import activities, doorbell
from durableflows.engine.workflow_tasks import process_workflow_task
from durableflows.models import ActivityTask, InboxItem, UpdateRequest

from .workflows import Item, checkout


def _types(handle) -> list[str]:
    return [e.type.value for e in handle.history()]


def test_an_update_returns_its_handlers_result_and_is_recorded(durableflows_env):
    handle = durableflows_env.start(checkout, "c-1")
    assert handle.update("add_item", Item("apple", 2)) == 1
    assert handle.update("add_item", {"sku": "pear", "qty": 1}) == 2
    assert _types(handle).count("UpdateAccepted") == 2
    assert _types(handle).count("UpdateCompleted") == 2
    handle.signal("pay")
    assert handle.result() == {"cart": "c-1", "items": ["apple", "pear"]}
    assert set(UpdateRequest.objects.values_list("state", flat=True)) == {"completed"}


def test_a_rejected_update_raises_and_records_nothing(durableflows_env):
    handle = durableflows_env.start(checkout, "c-1")
    durableflows_env.run_until_idle()
    before = handle.history()
    with pytest.raises(df.UpdateRejected, match="qty must be positive") as caught:
        handle.update("add_item", Item("apple", 0))
    assert caught.value.type == "ValueError"
    assert handle.history() == before
    assert not InboxItem.objects.exists()
    with pytest.raises(df.UpdateRejected, match="no update handler 'nope'"):
        handle.update("nope")


def test_a_failing_handler_raises_update_failed_and_the_run_goes_on(durableflows_env):
    handle = durableflows_env.start(checkout, "c-1")
    with pytest.raises(df.UpdateFailed, match="RuntimeError: broken") as caught:
        handle.update("fail", "broken")
    assert (caught.value.type, caught.value.message) == ("RuntimeError", "broken")
    assert handle.status == df.Status.RUNNING


def test_an_update_id_makes_a_retried_call_return_the_first_outcome(durableflows_env):
    handle = durableflows_env.start(checkout, "c-1")
    assert handle.update("add_item", Item("apple", 1), update_id="add-apple") == 1
    again = durableflows_env.get_handle(handle.workflow_id)
    assert again.update("add_item", Item("apple", 1), update_id="add-apple") == 1
    assert handle.query("count") == 1
    assert UpdateRequest.objects.count() == 1
    assert _types(handle).count("UpdateAccepted") == 1


def test_start_update_returns_a_handle_that_can_be_rebuilt_from_its_ids(durableflows_env):
    handle = durableflows_env.start(checkout, "c-1")
    update = handle.start_update("add_item", Item("apple", 1), update_id="u-1")
    assert update.update_id == "u-1"
    assert update.result() == 1
    rebuilt = df.UpdateHandle(handle.workflow_id, "u-1", handle.run_id)
    assert rebuilt.result(timeout=1) == 1


def test_an_update_to_a_closed_or_unknown_workflow_raises_not_found(durableflows_env):
    handle = durableflows_env.start(checkout, "c-1")
    handle.signal("pay")
    handle.result()
    with pytest.raises(df.WorkflowNotFound):
        handle.update("add_item", Item("apple", 1))
    with pytest.raises(df.WorkflowNotFound):
        df.get_handle("nobody").start_update("add_item")


def test_an_update_accepted_but_unfinished_when_the_run_ends_fails(durableflows_env):
    handle = durableflows_env.start(checkout, "c-1")
    durableflows_env.run_until_idle()
    update = df.get_handle(handle.workflow_id).start_update("add_item", Item("apple", 1))
    handle.terminate("stop")
    with pytest.raises(df.UpdateFailed, match="terminated"):
        update.result(timeout=1)


def test_bad_update_arguments_store_nothing(durableflows_env):
    handle = durableflows_env.start(checkout, "c-1")
    with pytest.raises(df.SerializationError):
        handle.start_update("add_item", object())
    with pytest.raises(ValueError, match="update names"):
        handle.start_update("")
    assert not UpdateRequest.objects.exists()


def test_async_twins_send_and_wait_without_holding_a_thread(transactional_db):
    doorbell.muted = True
    try:
        handle = df.start(checkout, "c-1")
        process_workflow_task(handle.run_id)

        async def send():
            update = await handle.astart_update("add_item", Item("apple", 1), update_id="u-1")
            process = sync_to_async(process_workflow_task)
            await process(handle.run_id)  # validates, accepts and schedules the activity
            task = await ActivityTask.objects.aget(run_id=handle.run_id)
            await sync_to_async(activities.execute)(task.pk, task.attempt, ring_workflow=False)
            await process(handle.run_id)
            again = await handle.aupdate("add_item", Item("apple", 1), update_id="u-1", timeout=5)
            outcome = update.update_id, await update.aresult(timeout=5), again
            await sync_to_async(connections.close_all)()  # the ORM's thread: else its session outlives the test
            return outcome

        assert asyncio.run(send()) == ("u-1", 1, 1)
    finally:
        doorbell.muted = False
