"""The async activity completion sample: in the testing toolkit (time skipping) and on real Celery workers."""

from __future__ import annotations

from datetime import datetime

import pytest

import durableflows as df
from tests.samples.async_activity_completion import (
    ComposeGreetingInput,
    GreetingWorkflow,
    complete_greeting,
    composer,
)


@pytest.fixture
def handed_over(monkeypatch) -> list[tuple[str, ComposeGreetingInput]]:
    """The composer hands its tokens to the test, not to a thread: the toolkit works in the test's transaction."""
    tokens: list[tuple[str, ComposeGreetingInput]] = []
    monkeypatch.setattr(composer, "completer", lambda token, input: tokens.append((token, input)))
    return tokens


def test_the_completer_finishes_the_activity_while_time_skips(durableflows_env, handed_over):
    handle = durableflows_env.start(GreetingWorkflow, "World")
    durableflows_env.run_until(lambda: bool(handed_over))
    token, request = handed_over[0]
    assert request == ComposeGreetingInput("Hello", "World")
    complete_greeting(token, request, wait=durableflows_env.sleep)  # three heartbeats, a (skipped) second apart
    assert handle.result() == "Hello, World!"
    history = [event.type.value for event in handle.history()]
    assert history.count("ActivityCompleted") == 1 and history.count("ActivityStarted") == 1


def test_a_completer_slower_than_the_heartbeat_timeout_loses_its_attempt(durableflows_env, handed_over):
    handle = durableflows_env.start(GreetingWorkflow, "Slowpoke")
    durableflows_env.run_until(lambda: bool(handed_over))
    slow_token, request = handed_over[0]
    with pytest.raises(df.ActivityAttemptClosed):
        complete_greeting(slow_token, request, wait=lambda seconds: durableflows_env.sleep(seconds * 3))
    durableflows_env.run_until(lambda: len(handed_over) == 2)  # the attempt timed out and was retried
    complete_greeting(handed_over[1][0], request, wait=durableflows_env.sleep)
    assert handle.result() == "Hello, Slowpoke!"


def test_a_thread_of_the_worker_completes_the_activity(sample_workers):
    handle = df.start(GreetingWorkflow, "World", id="sample-async-completion")
    assert handle.result(timeout=90) == "Hello, World!"
    history = handle.history()
    assert [event.type.value for event in history].count("ActivityCompleted") == 1
    started = next(event for event in reversed(history) if event.type.value == "ActivityStarted")
    completed = next(event for event in history if event.type.value == "ActivityCompleted")
    waited = completed.timestamp - datetime.fromisoformat(started.data["started_at"])
    assert waited.total_seconds() >= 2  # the completer heartbeated for three seconds first
