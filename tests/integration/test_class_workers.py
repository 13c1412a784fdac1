"""A class workflow through real Celery workers: its signal methods run activities, its query answers meanwhile."""

from __future__ import annotations

import pytest

import durableflows as df
from tests.helpers import wait_until
from tests.integration_app.workflows import Basket

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_class_workflow_takes_signals_and_answers_queries_through_a_worker(workers):
    workers.start()
    handle = df.start(Basket, "ada", id="it-basket")
    assert handle.query("count") == 0
    handle.signal("add", "tea")
    handle.signal("add", "cups")
    wait_until(lambda: handle.query("count") == 2, timeout=60, message="both items added by their activities")
    handle.signal("close")
    result = handle.result(timeout=60)
    assert result["owner"] == "ada"
    assert sorted(result["items"]) == ["cups>added", "tea>added"]  # in the order their activities completed
    types = [str(event.type) for event in handle.history()]
    assert types.count("ActivityCompleted") == 2 and types[-1] == "WorkflowCompleted"
