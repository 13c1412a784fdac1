"""Recorded histories in ``golden/`` must keep replaying against today's workflow code.

A failure here means a change broke determinism for runs already in flight:
guard the change with ``df.patched()`` instead. Only when a change is
deliberate and safe, regenerate with ``PYTHONPATH=. python -m tests.runtime.golden_workflows``.
"""

from __future__ import annotations

import asyncio

import pytest

import durableflows as df
from durableflows.runtime import EventType

from . import golden_workflows as golden
from .harness import GOLDEN_DIR, golden_json, load_golden, replay


@pytest.mark.parametrize("name", sorted(golden.SCENARIOS))
def test_golden_history_replays(name):
    workflow, _, closing = golden.SCENARIOS[name]
    history = load_golden(name)
    assert history[0].type is EventType.WORKFLOW_STARTED
    assert history[-1].type is closing
    execution = replay(workflow, history)
    assert execution.closed_by == history[-1]
    assert execution.history == history


@pytest.mark.parametrize("name", sorted(golden.SCENARIOS))
def test_golden_history_is_what_the_code_records_today(name):
    _, scenario, _ = golden.SCENARIOS[name]
    recorded = [e.to_json() for e in load_golden(name)]
    assert golden_json(scenario().history) == recorded, f"regenerate {name}.json if this change is intended"


def test_every_golden_file_has_a_scenario():
    assert sorted(p.stem for p in GOLDEN_DIR.glob("*.json")) == sorted(golden.SCENARIOS)


def test_golden_replay_catches_a_non_deterministic_change():
    @df.workflow(name="golden.fulfil_order.broken")
    async def reordered(order_id: int) -> dict:
        charge = await df.execute_activity(golden.charge_card, order_id, "10.00")  # now charges first
        await df.execute_activity(golden.reserve_stock, order_id)
        return {"charge": charge}

    with pytest.raises(df.NonDeterminismError, match="golden.charge_card"):
        replay(reordered, load_golden("fulfil_order_approved"))


def test_golden_replay_catches_a_changed_concurrency_pattern():
    @df.workflow(name="golden.fan_out.sequential")
    async def sequential(items: list[str]) -> dict:
        df.uuid4()
        await df.side_effect(lambda: "recorded-once")
        df.patched("notify-first")
        await df.execute_activity(golden.notify, "starting")
        for item in items:  # one at a time instead of all at once
            await df.execute_activity(golden.notify, item)
        await asyncio.sleep(0)
        return {}

    with pytest.raises(df.NonDeterminismError):
        replay(sequential, load_golden("fan_out"))
