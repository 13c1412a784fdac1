"""Temporal's ``hello_async_activity_completion`` sample, written against durableflows' public API.

The activity does not produce the greeting itself: it hands its task token to a completer (here a
thread of the worker's process; in real life a webhook, another service or a person) and raises
``df.CompleteAsync``. The completer heartbeats through the token for a while, as slow work would,
then completes the activity; the workflow, which waited all along, returns the greeting.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import durableflows as df

log = logging.getLogger(__name__)


@dataclasses.dataclass
class ComposeGreetingInput:
    greeting: str
    name: str


def complete_greeting(
    task_token: str, input: ComposeGreetingInput, wait: Callable[[float], object] = time.sleep
) -> None:
    """The completer's work: three heartbeats a second apart (the heartbeat timeout is two), then the result."""
    handle = df.get_activity_handle(task_token)
    for _ in range(3):
        handle.heartbeat()
        wait(1)
    handle.complete(f"{input.greeting}, {input.name}!")


def complete_in_a_thread(task_token: str, input: ComposeGreetingInput) -> None:
    """Start the completer on a thread of its own and return at once, as a call to another system would."""

    def run() -> None:
        from django.db import connection

        try:
            complete_greeting(task_token, input)
        except df.ActivityNotFound:  # the attempt timed out meanwhile: its retry has a completer of its own
            log.warning("greeting for %s not completed: its attempt is over", input.name, exc_info=True)
        finally:
            connection.close()  # the thread's own database connection

    threading.Thread(target=run, name="greeting-completer", daemon=True).start()


class GreetingComposer:
    """Composes greetings through a completer it is given, so tests can hand in their own."""

    def __init__(self, completer: Callable[[str, ComposeGreetingInput], None]) -> None:
        self.completer = completer

    @df.activity_method(name="samples.compose_greeting")
    def compose_greeting(self, input: ComposeGreetingInput) -> str:
        self.completer(df.activity_info().task_token, input)
        raise df.CompleteAsync()


composer = GreetingComposer(complete_in_a_thread)
df.register_activities(composer)


@df.workflow(name="samples.async_activity_completion")
class GreetingWorkflow:
    @df.run
    async def run(self, name: str) -> str:
        return await df.execute_activity(
            GreetingComposer.compose_greeting,
            ComposeGreetingInput("Hello", name),
            start_to_close_timeout=timedelta(seconds=10),
            heartbeat_timeout=timedelta(seconds=2),
        )
