"""Doorbells lost in the broker are rung again within seconds, never twice while still queued.

The workers run with ``REDELIVERY_TIMEOUT`` = 2 s (see conftest). A lost message is made by
deleting the queued messages before any worker takes them, as a broker restart would.
"""

from __future__ import annotations

import shutil
import socket
import subprocess

import pytest

import durableflows as df
from durableflows.engine import broker
from durableflows.models import InboxItem
from tests.helpers import wait_until
from tests.integration import conftest as harness
from tests.integration.test_workers import assert_clean_history, event_types
from tests.integration_app import workflows as wf

pytestmark = pytest.mark.django_db(transaction=True)

RESULT_TIMEOUT = 30


def redis_client():
    import redis

    url = harness.broker_url()
    return redis.Redis.from_url(url) if url.startswith(("redis://", "rediss://")) else None


def test_a_lost_doorbell_is_rung_again_once_a_probe_has_passed_it(workers):
    client = redis_client()
    if client is not None:
        client.set(broker.KEY, "kept")  # the broker did not lose everything: only these messages
    handles = [df.start(wf.three_steps, i, id=f"it-lost-{i}") for i in range(3)]
    harness.purge_broker()  # their doorbells are gone
    workers.start()
    for i, handle in enumerate(handles):
        assert handle.result(timeout=RESULT_TIMEOUT) == {"a": f"{i}>a", "b": f"{i}>a>b", "c": f"{i}>a>b>c"}
        assert_clean_history(handle, activities=3)


def test_a_broker_that_lost_every_message_gets_all_in_flight_rung_at_once(workers):
    client = redis_client()
    if client is None:
        pytest.skip("needs Redis as the broker (CELERY_BROKER_URL=redis://...)")
    handles = [df.start(wf.three_steps, i, id=f"it-restart-{i}") for i in range(3)]
    harness.purge_broker()
    client.delete(broker.KEY)  # with the queues: Redis restarted without persistence
    worker = workers.start()
    for handle in handles:
        handle.result(timeout=RESULT_TIMEOUT)
        assert_clean_history(handle, activities=3)
    assert "the broker lost its messages" in worker.log()
    assert client.get(broker.KEY) is not None


class RedisServer:
    """A redis-server of the test's own, without persistence, on a spare port: the test may restart it."""

    def __init__(self, workdir) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(
            [*command, "--dir", str(self.workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_until(self._answers, timeout=10, message="redis-server to answer")
        return self

    def _answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping())
        except redis.ConnectionError:
            return False

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server on PATH")
    server = RedisServer(tmp_path).start()
    yield server
    server.kill()


def test_a_worker_keeps_housekeeping_through_a_redis_restart_and_resumes_at_once(workers, own_redis):
    """Redis killed mid-timer: the timer still fires (housekeeping needs only the database); Redis back
    empty: the worker's housekeeping notices and rings the run at once, and the fact enters its history."""
    workers.env["CELERY_BROKER_URL"] = own_redis.url
    worker = workers.start()
    handle = df.start(wf.sleeper, 3, id="it-redis-restart")  # its doorbell goes to the tests' broker: lost
    wait_until(lambda: "TimerStarted" in event_types(handle), timeout=30, message="the run to start its timer")
    own_redis.kill()
    fired = InboxItem.objects.filter(run_id=handle.run_id, type="TimerFired")  # the fact waits for a task
    wait_until(fired.exists, timeout=30, message="the timer to fire without Redis")
    assert worker.alive, worker.log_tail()
    own_redis.start()  # empty, like a restart without persistence
    assert handle.result(timeout=RESULT_TIMEOUT) == ["0>a", "0>a>b"]
    assert_clean_history(handle, activities=2, timers=1)
    assert worker.log().count("the broker lost its messages") >= 2  # at its first sweep, and after the restart
