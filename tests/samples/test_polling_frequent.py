"""polling/frequent: one activity attempt polls the flaky service, heartbeating, until it answers."""

from __future__ import annotations

import durableflows as df

from .conftest import TIMEOUT, event_data
from .polling_frequent import GreetingWorkflow


def assert_polled_in_one_attempt(handle: df.WorkflowHandle) -> None:
    [completed] = event_data(handle, "ActivityCompleted")
    assert completed.get("attempts", 1) == 1
    assert not event_data(handle, "ActivityFailed")


def test_polling_in_the_toolkit(durableflows_env):
    handle = durableflows_env.start(GreetingWorkflow, "World", id="polling-frequent")
    assert handle.result() == "Hello, World!"
    assert_polled_in_one_attempt(handle)


def test_polling_on_workers(sample_workers):
    handle = df.start(GreetingWorkflow, "World", id="polling-frequent-workers")
    assert handle.result(timeout=TIMEOUT) == "Hello, World!"
    assert_polled_in_one_attempt(handle)
