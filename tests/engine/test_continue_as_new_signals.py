"""Signals are never lost when a run continues as new: those it did not get to go to the next run.

A workflow task folds every waiting fact into the run in order; when one of them makes the run
continue as new, the facts after it (and any that arrive before the run closes) belong to the
next run of the workflow id, as Temporal delivers them, not to the bin.
"""

from __future__ import annotations

from django.test import override_settings

from durableflows import storage
from durableflows.engine.workflow_tasks import process_workflow_task
from durableflows.models import InboxItem, WorkflowRun
from durableflows.runtime import EventType
from tests.samples.entity import Account, AccountEntity


@override_settings(DURABLEFLOWS={"SUGGEST_CONTINUE_AS_NEW_AFTER": 6})
def test_signals_behind_a_continue_as_new_reach_the_next_run(durableflows_env):
    handle = durableflows_env.start(AccountEntity, Account(), id="account")
    durableflows_env.run_until_idle()
    for amount in range(1, 11):  # waiting together: one workflow task takes them all
        handle.signal("add", amount)
    durableflows_env.run_until_idle()
    latest = durableflows_env.get_handle("account")
    latest.signal("close")
    result = latest.result()
    assert (result.total, result.signals) == (55, 10)
    assert result.runs > 1
    assert not InboxItem.objects.exists()
    runs = WorkflowRun.objects.filter(workflow_id="account").order_by("created_at")
    assert [run.status for run in runs][-1] == "completed"
    assert all(run.status == "continued_as_new" for run in list(runs)[:-1])


@override_settings(DURABLEFLOWS={"SUGGEST_CONTINUE_AS_NEW_AFTER": 4})
def test_a_signal_committed_just_after_the_run_continued_as_new_reaches_the_next_run(durableflows_env):
    handle = durableflows_env.start(AccountEntity, Account(), id="late")
    for amount in (1, 2, 3):
        handle.signal("add", amount)
    durableflows_env.run_until_idle()
    assert handle.status == "continued_as_new"
    # A sender that found the old run open commits its signal after the task that closed it: the
    # signal's row names the old run, whose doorbell now rings.
    storage.add_fact(handle.run_id, EventType.SIGNAL_RECEIVED, {"name": "add", "payload": 10})
    process_workflow_task(handle.run_id)
    latest = durableflows_env.get_handle("late")
    latest.signal("close")
    assert latest.result().total == 16
    assert not InboxItem.objects.exists()
