"""Workflows the API and admin tests drive in-process (registered when this module is imported)."""

from __future__ import annotations

from datetime import timedelta

import durableflows as df


@df.activity(name="ops.shout", start_to_close_timeout=timedelta(seconds=10))
def shout(text: str) -> str:
    return str(text).upper()


@df.activity(name="ops.explode", retry=df.RetryPolicy(maximum_attempts=1))
def explode(message: str) -> str:
    raise df.NonRetryableError(message, type="Kaboom")


@df.workflow(name="ops.approval")
async def approval(item: str) -> dict:
    """Shouts, then waits for an "approve" signal; answers the "progress" and "echo" queries and "note" updates."""
    stage = {"stage": "started", "item": item}
    notes: list[str] = []

    def check_note(note: str) -> None:
        if not note.strip():
            raise ValueError("a note may not be blank")

    def add_note(note: str) -> int:
        if note == "boom":
            raise RuntimeError("the note exploded")
        notes.append(note)
        return len(notes)

    df.set_query_handler("progress", lambda: dict(stage))
    df.set_query_handler("echo", lambda value: value)
    df.set_update_handler("note", add_note, validator=check_note)
    loud = await df.execute_activity(shout, item)
    stage["stage"] = "waiting"
    df.set_var("stage", "waiting")
    decision = await df.wait_signal("approve", timeout=timedelta(hours=1))
    stage["stage"] = "done"
    df.set_var("stage", "done")
    return {"loud": loud, "decision": decision}


@df.workflow(name="ops.failing")
async def failing(message: str) -> None:
    """Fails through a non-retryable activity error."""
    await df.execute_activity(explode, message)


@df.workflow(name="ops.sleepy")
async def sleepy() -> str:
    """Waits on a long durable timer."""
    await df.sleep(timedelta(hours=1))
    return "rested"


@df.workflow(name="ops.parent")
async def parent() -> object:
    """Runs an ops.approval child (id "<parent id>/<n>") and returns its result."""
    return await df.execute_child_workflow(approval, "child")


@df.workflow(name="ops.ticket")
class Ticket:
    """A class workflow: collects comments by signal until closed; answers the "comments" query."""

    def __init__(self) -> None:
        self.comments: list[str] = []
        self.closed = False

    @df.run
    async def run(self, title: str, priority: int = 3) -> dict:
        await df.wait_condition(lambda: self.closed)
        return {"title": title, "priority": priority, "comments": self.comments}

    @df.signal
    def comment(self, text: str) -> None:
        self.comments.append(text)

    @df.signal(name="close")
    def close_ticket(self) -> None:
        self.closed = True

    @df.query(name="comments")
    def latest(self, last: int = 10) -> list[str]:
        return self.comments[-last:]
