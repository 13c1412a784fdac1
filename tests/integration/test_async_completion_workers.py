"""Asynchronous completion across processes: workers leave attempts open, the test process settles them."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

import durableflows as df
from tests.helpers import wait_until
from tests.integration.async_completion_flows import awaiting_hand_over

pytestmark = pytest.mark.django_db(transaction=True)
FLOWS = ("tests.integration.async_completion_flows",)  # the workers import it, as this module does


def token_of(token_dir: Path, name: str, attempt: int = 1) -> str:
    path = token_dir / f"{name}.{attempt}.token"
    wait_until(path.exists, timeout=60, message=f"attempt {attempt} of {name} handed over its token")
    return path.read_text()


def test_another_process_completes_an_activity_a_worker_left_open(workers, tmp_path):
    workers.start(include=FLOWS)
    handle = df.start(awaiting_hand_over, str(tmp_path), "a", id="it-async-a")
    activity = df.get_activity_handle(token_of(tmp_path, "a"))
    activity.heartbeat({"progress": 1})
    activity.complete({"text": "done"})
    assert handle.result(timeout=60) == {"result": {"text": "done"}, "then": "DONE"}
    with pytest.raises(df.ActivityAttemptClosed):
        activity.complete({"text": "again"})
    types = [event.type.value for event in handle.history()]
    assert types.count("ActivityCompleted") == 2  # the handed-over activity once, then shout


def test_a_completion_is_kept_while_no_worker_runs(workers, tmp_path):
    worker = workers.start(include=FLOWS)
    handle = df.start(awaiting_hand_over, str(tmp_path), "b", id="it-async-b")
    token = token_of(tmp_path, "b")
    worker.kill(signal.SIGKILL)
    df.get_activity_handle(token).complete({"text": "while down"})  # a fact in the database; its doorbell waits
    workers.start(include=FLOWS)
    assert handle.result(timeout=60)["then"] == "WHILE DOWN"


def test_an_attempt_without_heartbeats_times_out_and_its_token_is_refused(workers, tmp_path):
    workers.start(include=FLOWS)
    handle = df.start(awaiting_hand_over, str(tmp_path), "c", id="it-async-c")
    first = token_of(tmp_path, "c")
    second = token_of(tmp_path, "c", attempt=2)  # housekeeping timed attempt 1 out after its 2 s heartbeat timeout
    with pytest.raises(df.ActivityAttemptClosed) as refused:
        df.get_activity_handle(first).complete({"text": "too late"})
    assert refused.value.state == "superseded"
    df.get_activity_handle(second).complete({"text": "in time"})
    assert handle.result(timeout=60)["then"] == "IN TIME"
