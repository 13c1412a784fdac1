"""A broker that refuses a publish costs the sender one failure, not one wait per doorbell."""

from __future__ import annotations

import pytest

from durableflows.engine import doorbell


class Broker:
    """Stands in for ``current_app``: counts publishes, failing while ``down``."""

    def __init__(self) -> None:
        self.down = True
        self.attempts = 0
        self.clock = 1000.0

    def send_task(self, name, args=None, **options) -> None:
        self.attempts += 1
        if self.down:
            raise ConnectionRefusedError("broker down")


@pytest.fixture
def broker(monkeypatch):
    fake = Broker()
    monkeypatch.setattr(doorbell, "current_app", fake)
    monkeypatch.setattr(doorbell, "muted", False)
    monkeypatch.setattr(doorbell, "_paused_until", 0.0)
    monkeypatch.setattr(doorbell.time, "monotonic", lambda: fake.clock)
    return fake


def test_sends_pause_for_a_moment_after_a_failed_publish(broker):
    doorbell.send(doorbell.WORKFLOW_TASK, ["run-1"])  # fails: logged, not raised
    for i in range(50):
        doorbell.send(doorbell.WORKFLOW_TASK, [f"run-{i}"])
    assert broker.attempts == 1  # the rest were skipped: the database says they are in flight
    broker.down = False
    broker.clock += doorbell.PAUSE_AFTER_FAILURE
    doorbell.send(doorbell.WORKFLOW_TASK, ["run-2"])
    assert broker.attempts == 2
