"""Replay rebuilds the same state; divergent code raises ``df.NonDeterminismError``; asyncio stays deterministic."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import durableflows as df
from durableflows.runtime import Event, EventType, WorkflowExecution

from .harness import Driver, replay, through_json, types

ROOT = Path(__file__).resolve().parents[2]


@df.activity(name="tests.det.first")
def first(x: int) -> int:
    raise AssertionError("not called")


@df.activity(name="tests.det.second")
def second(x: int) -> int:
    raise AssertionError("not called")


@df.workflow
async def two_steps(x: int) -> int:
    a = await df.execute_activity(first, x)
    b = await df.execute_activity(second, a)
    return a + b


@df.workflow
async def other_activity(x: int) -> int:
    a = await df.execute_activity(second, x)  # was `first`
    b = await df.execute_activity(second, a)
    return a + b


@df.workflow
async def missing_command(x: int) -> int:
    return await df.execute_activity(second, x)  # the first step was deleted


@df.workflow
async def extra_command(x: int) -> int:
    a = await df.execute_activity(first, x)
    await df.sleep(10)  # added
    b = await df.execute_activity(second, a)
    return a + b


@df.workflow
async def extra_command_at_the_end(x: int) -> int:
    a = await df.execute_activity(first, x)
    b = await df.execute_activity(second, a)
    df.set_var("total", a + b)  # added after the last step
    return a + b


@df.workflow
async def swallows_divergence(x: int) -> int:
    try:
        await df.execute_activity(second, x)
    except Exception:  # noqa: BLE001 - user code catching everything must not hide divergence
        pass
    return 0


@df.workflow
async def changed_arguments(x: int) -> int:
    a = await df.execute_activity(first, x + 1000)  # arguments are not part of the match
    b = await df.execute_activity(second, a)
    return a + b


@df.workflow
async def race(n: int) -> list:
    tasks = [asyncio.create_task(df.execute_activity(first, i), name=f"t{i}") for i in range(n)]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    first_done = [t.get_name() for t in done]
    done, _ = await asyncio.wait(tasks)
    all_done = [t.get_name() for t in done]
    return {"first": first_done, "all": all_done}


def _two_steps_history() -> list[Event]:
    run = Driver(two_steps, 1)
    run.complete(run.only_activity(), 10)
    run.complete(run.only_activity(), 20)
    assert run.result == 30
    return run.history


def test_replay_rebuilds_the_same_state():
    history = _two_steps_history()
    replayed = replay(two_steps, history)
    assert replayed.closed_by == history[-1]
    assert replayed.history == history
    assert not replayed.replaying


def test_replay_from_json_matches():
    history = _two_steps_history()
    assert replay(two_steps, through_json(history)).closed_by == history[-1]


def test_replay_of_a_partial_history_then_new_facts_continues_like_the_original():
    run = Driver(two_steps, 1)
    run.complete(run.only_activity(), 10)
    resumed = replay(two_steps, run.history)
    commands = resumed.apply(EventType.ACTIVITY_COMPLETED, {"activity_id": 2, "result": 20}, run.clock)
    assert types(commands) == [EventType.ACTIVITY_COMPLETED, EventType.WORKFLOW_COMPLETED]
    assert commands[-1].data == {"result": 30}
    assert [e.sequence for e in resumed.history] == list(range(1, len(resumed.history) + 1))


def test_a_different_activity_is_non_deterministic():
    with pytest.raises(df.NonDeterminismError, match="tests.det.second.*tests.det.first"):
        replay(other_activity, _two_steps_history())


def test_a_missing_command_is_non_deterministic():
    with pytest.raises(df.NonDeterminismError):
        replay(missing_command, _two_steps_history())


def test_an_extra_command_is_non_deterministic():
    with pytest.raises(df.NonDeterminismError, match="TimerStarted"):
        replay(extra_command, _two_steps_history())


def test_an_extra_command_beyond_the_recorded_end_is_non_deterministic():
    with pytest.raises(df.NonDeterminismError, match="VarSet"):
        replay(extra_command_at_the_end, _two_steps_history())


def test_divergence_is_raised_even_when_the_workflow_catches_everything():
    with pytest.raises(df.NonDeterminismError):
        replay(swallows_divergence, _two_steps_history())


def test_changed_arguments_still_replay():
    replayed = replay(changed_arguments, _two_steps_history())
    assert replayed.closed_by.data == {"result": 30}


def test_non_determinism_is_not_a_workflow_failure():
    history = _two_steps_history()[:-1]  # before the run completed
    execution = WorkflowExecution(other_activity)
    with pytest.raises(df.NonDeterminismError):
        execution.replay(history)
    assert execution.closed_by is None


def test_divergence_while_applying_a_new_fact_raises_too():
    @df.workflow(name="tests.det.flaky")
    async def flaky() -> None:
        await df.execute_activity(first, 1)
        await df.execute_activity(second, 2)

    run = Driver(flaky)
    history = run.history + [Event(len(run.history) + 1, EventType.ACTIVITY_COMPLETED, run.clock, {"activity_id": 1})]
    history.append(Event(len(history) + 1, EventType.ACTIVITY_SCHEDULED, run.clock, {"activity_id": 2, "name": "x"}))
    with pytest.raises(df.NonDeterminismError, match="name='x'"):
        replay(flaky, history)


def test_asyncio_wait_order_is_stable_in_process():
    results = []
    for _ in range(2):
        run = Driver(race, 6)
        for activity_id in sorted(run.pending_activities(), reverse=True):
            run.complete(activity_id, activity_id)
        results.append(run.result)
    assert results[0] == results[1]
    assert sorted(results[0]["all"]) == [f"t{i}" for i in range(6)]
    assert results[0]["first"] == ["t5"], "the last-scheduled activity completed first"


_SCRIPT = """
import json
from tests.runtime.harness import Driver
from tests.runtime.test_determinism import race

run = Driver(race, 12)
for activity_id in sorted(run.pending_activities(), reverse=True):
    run.complete(activity_id, activity_id)
print(json.dumps(run.result))
"""


def _run_in_subprocess(hash_seed: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": hash_seed}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    out = subprocess.run([sys.executable, "-c", _SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_asyncio_wait_yields_the_same_order_in_separate_processes():
    one, two = _run_in_subprocess("1"), _run_in_subprocess("2")
    assert one == two
    assert sorted(one["all"]) == sorted(f"t{i}" for i in range(12))
    assert one == _result_in_this_process()


def _result_in_this_process() -> dict:
    run = Driver(race, 12)
    for activity_id in sorted(run.pending_activities(), reverse=True):
        run.complete(activity_id, activity_id)
    return run.result


def test_workflow_futures_and_tasks_hash_by_creation_order_not_identity():
    seen = []

    @df.workflow(name="tests.det.hashes")
    async def hashes() -> None:
        loop = asyncio.get_running_loop()
        objects = [loop.create_future(), asyncio.create_task(asyncio.sleep(0)), loop.create_future()]
        seen.append([hash(o) for o in objects])
        seen.append(hash(asyncio.current_task()))

    Driver(hashes)
    Driver(hashes)
    first_run, second_run = seen[0], seen[2]
    assert first_run == second_run, "the same code gets the same hashes in every execution"
    assert first_run == sorted(first_run)
    assert all(h < 1000 for h in first_run)


def test_gather_create_task_and_wait_for_replay():
    @df.workflow(name="tests.det.mixed")
    async def mixed() -> list:
        background = asyncio.create_task(df.execute_activity(second, 0))
        pair = await asyncio.gather(df.execute_activity(first, 1), df.execute_activity(first, 2))
        try:
            extra = await asyncio.wait_for(df.execute_activity(first, 3), timeout=5)
        except TimeoutError:
            extra = "timeout"
        return [*pair, extra, await background]

    run = Driver(mixed)
    pending = sorted(run.pending_activities())
    for activity_id in pending[1:]:
        run.complete(activity_id, activity_id * 10)
    run.fire(run.only_timer())
    run.complete(pending[0], "bg")
    assert run.result == [20, 30, "timeout", "bg"]
    replayed = replay(mixed, through_json(run.history))
    assert replayed.closed_by == run.closed_by
