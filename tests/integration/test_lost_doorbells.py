"""Doorbells lost in the broker are rung again within seconds, never twice while still queued.

The workers run with ``REDELIVERY_TIMEOUT`` = 2 s (see conftest). A lost message is made by
deleting the queued messages before any worker takes them, as a broker restart would.
"""

from __future__ import annotations

import pytest

import durableflows as df
from durableflows.engine import broker
from tests.integration import conftest as harness
from tests.integration.test_workers import assert_clean_history
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
