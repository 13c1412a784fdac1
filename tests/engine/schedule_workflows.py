"""Workflows for the schedule, retention and replay-check tests (registered when this module is imported)."""

from __future__ import annotations

import durableflows as df


@df.workflow(name="schedules_test.report")
async def report(day: str) -> str:
    """Completes in its first workflow task."""
    return f"report for {day}"


@df.activity(name="replay_check.shout")
def shout(text: str) -> str:
    return text.upper()


@df.workflow(name="replay_check.greeter")
async def greeter(name: str) -> list:
    """Version 1: an activity, then it waits for a signal (so a run stays open with a real history)."""
    greeting = await df.execute_activity(shout, f"hello {name}")
    reply = await df.wait_signal("reply")
    return [greeting, reply]


async def greeter_v2_incompatible(name: str) -> list:
    """Version 2 without a guard: a timer before the activity, where old histories have the activity."""
    await df.sleep(5)
    greeting = await df.execute_activity(shout, f"hello {name}")
    reply = await df.wait_signal("reply")
    return [greeting, reply]


async def greeter_v2_patched(name: str) -> list:
    """Version 2 guarded by ``df.patched``: old histories keep the old path."""
    if df.patched("nap-first"):
        await df.sleep(5)
    greeting = await df.execute_activity(shout, f"hello {name}")
    reply = await df.wait_signal("reply")
    return [greeting, reply]
