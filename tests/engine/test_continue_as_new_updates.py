"""Updates are not lost when a run continues as new: those it did not get to go to the next run.

As with signals, an update waiting in the inbox behind the fact that made the run continue as new
(or committed just after it closed) is the next run's to decide; its caller's handle follows it there.
"""

from __future__ import annotations

from django.test import override_settings

import durableflows as df
from durableflows import storage
from durableflows.engine.workflow_tasks import process_workflow_task
from durableflows.models import InboxItem, UpdateRequest, WorkflowRun
from durableflows.runtime import EventType


@df.workflow(name="engine.counter_entity")
class CounterEntity:
    def __init__(self) -> None:
        self.total = 0
        self.closing = False

    @df.run
    async def run(self, total: int) -> int:
        self.total = total
        await df.wait_condition(lambda: self.closing or df.info().continue_as_new_suggested)
        await df.wait_condition(df.all_handlers_finished)
        if self.closing:
            return self.total
        df.continue_as_new(self.total)
        raise AssertionError("continue_as_new never returns")

    @df.signal
    def add(self, amount: int) -> None:
        self.total += amount

    @df.signal
    def close(self) -> None:
        self.closing = True

    @df.update
    def deposit(self, amount: int) -> int:
        self.total += amount
        return self.total


def _update_after_the_close(env, workflow_id: str, update_id: str):
    """A run that continued as new, and a ``deposit(10)`` committed for it just after, by a caller that saw it open."""
    from durableflows.updates import add_update_fact

    handle = env.start(CounterEntity, 0, id=workflow_id)
    for amount in (1, 2, 3):
        handle.signal("add", amount)
    env.run_until_idle()
    assert handle.status == "continued_as_new"
    old = WorkflowRun.objects.get(pk=handle.run_id)
    add_update_fact(old, UpdateRequest.objects.create(run=old, update_id=update_id, name="deposit", args=[10]))
    return handle, old


@override_settings(DURABLEFLOWS={"SUGGEST_CONTINUE_AS_NEW_AFTER": 6})
def test_an_update_behind_a_continue_as_new_is_decided_by_the_next_run(durableflows_env):
    handle = durableflows_env.start(CounterEntity, 0, id="counter")
    durableflows_env.run_until_idle()
    for amount in range(1, 11):  # waiting together: the run continues as new after some of them
        handle.signal("add", amount)
    update = handle.start_update("deposit", 100)
    assert update.result() == 155
    latest = durableflows_env.get_handle("counter")
    assert latest.run_id != handle.run_id  # it was a later run that took the update
    assert UpdateRequest.objects.get(update_id=update.update_id).run_id == latest._run_id
    latest.signal("close")
    assert latest.result() == 155
    assert not InboxItem.objects.exists()


@override_settings(DURABLEFLOWS={"SUGGEST_CONTINUE_AS_NEW_AFTER": 4})
def test_an_update_committed_just_after_the_run_continued_as_new_is_decided_by_the_next_run(durableflows_env):
    handle, old = _update_after_the_close(durableflows_env, "late", "u-late")
    process_workflow_task(handle.run_id)
    late = df.UpdateHandle("late", "u-late", handle.run_id)
    durableflows_env.run_until_idle()
    assert late.result(timeout=0) == 16
    assert not storage.inbox.values({"run_id": (old.pk,)}, ("id",), row=lambda pk: pk)
    assert InboxItem.objects.filter(type=EventType.UPDATE_ACCEPTED).count() == 0


@override_settings(DURABLEFLOWS={"SUGGEST_CONTINUE_AS_NEW_AFTER": 4})
def test_an_update_retried_against_the_next_run_before_the_late_one_is_handed_on_is_applied_once(durableflows_env):
    handle, _ = _update_after_the_close(durableflows_env, "retried", "u-1")
    # before the old run's doorbell is answered, its caller retries against the next run
    retry = durableflows_env.get_handle("retried").start_update("deposit", 10, update_id="u-1")
    process_workflow_task(handle.run_id)
    assert retry.result() == 16
    assert UpdateRequest.objects.filter(update_id="u-1").count() == 1
    latest = durableflows_env.get_handle("retried")
    latest.signal("close")
    assert latest.result() == 16  # deposited once
