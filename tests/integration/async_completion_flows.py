"""An activity that leaves its attempt open and writes its task token to a file, for the test process to settle.

Imported by the workers of ``test_async_completion_workers.py`` (``include=``), written against the public API.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import durableflows as df


@df.activity(
    name="it.async.hand_over",
    start_to_close_timeout=timedelta(seconds=30),
    heartbeat_timeout=timedelta(seconds=2),
    retry=df.RetryPolicy(maximum_attempts=3, initial_interval=timedelta(milliseconds=200)),
)
def hand_over(token_dir: str, name: str) -> dict:
    """Writes ``<name>.<attempt>.token`` and leaves the attempt open."""
    info = df.activity_info()
    target = Path(token_dir) / f"{name}.{info.attempt}.token"
    target.with_suffix(".tmp").write_text(info.task_token)
    target.with_suffix(".tmp").rename(target)  # the test never reads half a token
    raise df.CompleteAsync()


@df.workflow(name="it.async.awaiting_hand_over")
async def awaiting_hand_over(token_dir: str, name: str) -> dict:
    result = await df.execute_activity(hand_over, token_dir, name)
    return {"result": result, "then": await df.execute_activity(shout, result["text"])}


@df.activity(name="it.async.shout")
def shout(text: str) -> str:
    return text.upper()
