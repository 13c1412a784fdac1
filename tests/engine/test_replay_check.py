"""``manage.py durableflows_replay_check``: stored histories replayed against the current code, as CI would."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

import durableflows as df
from durableflows import registry, storage
from durableflows.models import WorkflowRun

from . import schedule_workflows
from .driving import drive

NAME = "replay_check.greeter"


@pytest.fixture
def deploy():
    """Register another function under NAME, as a deploy of changed code would; restored afterwards."""
    original = registry._workflows[NAME]

    def swap(fn):
        registry._workflows[NAME] = registry.WorkflowDefinition(NAME, fn)

    yield swap
    registry._workflows[NAME] = original


def open_run(workflow_id: str = "greet-ada") -> df.WorkflowHandle:
    """A run of version 1 that ran its activity and now waits for a signal."""
    handle = df.start(NAME, "ada", id=workflow_id)
    drive(handle.run_id)
    assert [e.type.value for e in handle.history()][-1] == "ActivityCompleted"
    return handle


def closed_run(workflow_id: str = "greet-bob") -> df.WorkflowHandle:
    handle = open_run(workflow_id)
    handle.signal("reply", "hi")
    drive(handle.run_id)
    assert handle.result() == ["HELLO ADA", "hi"]
    return handle


def replay_check(*args: str) -> tuple[int, str]:
    """Run the command; returns (exit status, output)."""
    out = StringIO()
    try:
        call_command("durableflows_replay_check", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()


@pytest.mark.django_db
def test_unchanged_code_passes():
    open_run()
    status, output = replay_check()
    assert status == 0
    assert "Replayed 1 run(s): 0 cannot be replayed" in output


@pytest.mark.django_db
def test_an_incompatible_change_is_reported_with_the_run_and_the_diverging_event(deploy):
    handle = open_run()
    deploy(schedule_workflows.greeter_v2_incompatible)
    status, output = replay_check()
    assert status == 1
    line = next(line for line in output.splitlines() if "NON-DETERMINISM" in line)
    assert f"workflow_id={handle.workflow_id}" in line and f"run_id={handle.run_id}" in line
    assert "TimerStarted" in line and "ActivityScheduled" in line
    assert re.search(r"\(event 2\)", line)  # the event right after WorkflowStarted
    assert "Replayed 1 run(s): 1 cannot be replayed" in output


@pytest.mark.django_db
def test_the_same_change_guarded_by_patched_passes(deploy):
    open_run()
    deploy(schedule_workflows.greeter_v2_patched)
    assert replay_check() == (0, "Replayed 1 run(s): 0 cannot be replayed by the current code.\n")


@pytest.mark.django_db
def test_closed_runs_are_checked_only_when_sampled(deploy):
    closed_run("greet-old")
    deploy(schedule_workflows.greeter_v2_incompatible)
    assert replay_check()[0] == 0  # open runs only, and there are none
    status, output = replay_check("--closed-sample", "5")
    assert status == 1 and "workflow_id=greet-old" in output and "status=completed" in output


@pytest.mark.django_db
def test_the_closed_sample_takes_the_most_recently_closed_runs_of_each_workflow(deploy):
    older, newer = closed_run("greet-1"), closed_run("greet-2")
    WorkflowRun.objects.filter(pk=older.run_id).update(closed_at=storage.now().replace(year=2020))
    deploy(schedule_workflows.greeter_v2_incompatible)
    status, output = replay_check("--closed-sample", "1")
    assert status == 1
    assert "workflow_id=greet-2" in output and "workflow_id=greet-1" not in output
    assert newer.workflow_id == "greet-2"


@pytest.mark.django_db
def test_workflow_filter_limits_the_check(deploy):
    open_run()
    deploy(schedule_workflows.greeter_v2_incompatible)
    assert replay_check("--workflow", "schedules_test.report") == (
        0,
        "Replayed 0 run(s): 0 cannot be replayed by the current code.\n",
    )
    assert replay_check("--workflow", NAME)[0] == 1


@pytest.mark.django_db
def test_pending_runs_have_nothing_to_replay(deploy):
    df.start(NAME, "ada", id="not-started-yet")
    deploy(schedule_workflows.greeter_v2_incompatible)
    assert replay_check()[0] == 0


@pytest.mark.django_db
def test_open_runs_of_unregistered_workflows_fail_the_check_closed_ones_only_warn(monkeypatch):
    handle = open_run()
    closed_run("greet-done")
    monkeypatch.delitem(registry._workflows, NAME)  # the workflow was deleted from the code
    status, output = replay_check("--closed-sample", "3")
    assert status == 1
    assert f"UNKNOWN WORKFLOW '{NAME}' is not registered: 1 open and 1 sampled closed run(s)" in output
    assert f"workflow_id={handle.workflow_id}" in output
    assert "1 open run(s) of unregistered workflows" in output
    WorkflowRun.objects.filter(pk=handle.run_id).delete()
    assert replay_check("--closed-sample", "3")[0] == 0  # only closed runs left: a warning, not a failure
