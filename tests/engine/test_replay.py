"""Replay from stored history: cold workers, divergent deploys held and resumed, the execution cache."""

import pytest

import durableflows as df
from durableflows import registry
from durableflows.engine.workflow_tasks import cache, process_workflow_task
from durableflows.models import WorkflowRun

from .workflows import echo


@df.workflow(name="engine.versioned")
async def versioned_v1():
    first = await df.execute_activity(echo, "one")
    second = await df.wait_signal("next")
    return [first, second]


async def versioned_v2_incompatible():
    first = await df.execute_activity(echo, "uno")
    await df.sleep(5)  # a new step where history has none
    second = await df.wait_signal("next")
    return [first, second]


async def versioned_v2_patched():
    if df.patched("add-sleep"):
        await df.sleep(5)
    first = await df.execute_activity(echo, "one")
    second = await df.wait_signal("next")
    return [first, second]


@pytest.fixture
def deploy():
    """Swap the code registered as engine.versioned, as a deploy would; restored afterwards."""
    original = registry._workflows["engine.versioned"]

    def swap(fn):
        registry._workflows["engine.versioned"] = registry.WorkflowDefinition("engine.versioned", fn)
        cache.clear()  # a deploy starts fresh processes

    yield swap
    registry._workflows["engine.versioned"] = original


def test_a_diverging_deploy_holds_the_run_and_fixed_code_resumes_it(durableflows_env, deploy):
    handle = durableflows_env.start("engine.versioned")
    durableflows_env.run_until_idle()
    deploy(versioned_v2_incompatible)
    handle.signal("next", "two")
    assert process_workflow_task(handle.run_id).outcome == "held"
    run = WorkflowRun.objects.get(run_id=handle.run_id)
    assert run.status == "running"  # held, not failed
    assert "NonDeterminismError" in run.task_error and "TimerStarted" in run.task_error
    assert handle.describe()["stuck_error"] == run.task_error
    assert run.wake_at is not None  # housekeeping retries it later
    deploy(versioned_v1)
    assert process_workflow_task(handle.run_id).outcome == "closed"
    assert handle.result() == ["one", "two"]
    assert WorkflowRun.objects.get(run_id=handle.run_id).task_error == ""


def test_a_change_guarded_by_patched_replays_old_runs_and_takes_the_new_path_on_new_ones(durableflows_env, deploy):
    old = durableflows_env.start("engine.versioned")
    durableflows_env.run_until_idle()
    deploy(versioned_v2_patched)
    old.signal("next", "two")
    assert old.result() == ["one", "two"]
    assert "TimerStarted" not in [e.type.value for e in old.history()]
    new = durableflows_env.start("engine.versioned")
    new.signal("next", "three")
    assert new.result() == ["one", "three"]
    assert [e.type.value for e in new.history()][1:3] == ["PatchMarker", "TimerStarted"]


def test_warm_and_cold_workers_produce_the_same_history(durableflows_env):
    warm = durableflows_env.start("engine.three_steps", 1)
    warm.result()
    cold = df.start("engine.three_steps", 1)
    for _ in range(20):
        cache.clear()  # every task replays from the database
        durableflows_env.run_until_idle()
        if cold.status == df.Status.COMPLETED:
            break

    def shape(handle):
        return [
            (e.sequence, e.type.value, {k: v for k, v in e.data.items() if k != "started_at"})
            for e in handle.history()[1:]
        ]

    assert shape(cold) == shape(warm)


def test_queries_replay_in_the_calling_process(durableflows_env):
    handle = durableflows_env.start("engine.approval")
    durableflows_env.run_until_idle()
    cache.clear()
    assert handle.query("stage") == "waiting for approval"
    with pytest.raises(TypeError):
        handle.query("stage", object())


def test_an_entity_that_continues_as_new_when_suggested_survives_cold_workers(db, settings):
    from durableflows.engine import activities
    from durableflows.models import ActivityTask

    from .workflows import entity

    # Five events per signal (signal, activity scheduled, started, completed, variable): the history
    # passes 12 while the code awaits the activity, so a cold replay must not see it before that point.
    settings.DURABLEFLOWS = {"SUGGEST_CONTINUE_AS_NEW_AFTER": 12}
    first_run = df.start(entity, 0, id="entity-1").run_id
    handle = df.get_handle("entity-1")  # follows the workflow id to its latest run
    for _ in range(20):
        if handle.run_id != first_run:
            break
        cache.clear()  # every task lands on a cold worker, which replays the whole history
        if not ActivityTask.objects.filter(state="scheduled").exists():
            handle.signal("add", 1)
        assert process_workflow_task(first_run).outcome != "held", WorkflowRun.objects.get().task_error
        for task in ActivityTask.objects.filter(state="scheduled"):
            activities.execute(task.pk, task.attempt, ring_workflow=False)
    first = WorkflowRun.objects.get(run_id=first_run)
    assert (first.status, first.history_length) == ("continued_as_new", 17)
    assert first.vars == {"total": 3}
    assert handle.status == "pending" and handle.history()[0].data["args"] == [3]
