"""Update results and query answers that clients get as dataclasses still answer as JSON over the API."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

import durableflows as df
from tests.api.support import drive
from tests.engine.typed_workflows import Allocator


@pytest.fixture
def api(operator) -> APIClient:
    client = APIClient()
    client.force_login(operator)
    return client


def test_typed_update_results_and_query_answers_are_json(api):
    handle = df.start(Allocator, id="allocator-api")
    drive(handle.run_id)
    first = api.post(
        "/api/workflows/allocator-api/update/",
        {"name": "allocate", "args": ["a", 2], "update_id": "u-1", "timeout": 0},
        format="json",
    )
    assert first.status_code == 202
    drive(handle.run_id)
    decided = api.post(
        "/api/workflows/allocator-api/update/",
        {"name": "allocate", "args": ["a", 2], "update_id": "u-1"},
        format="json",
    )
    assert (decided.status_code, decided.json()) == (200, {"result": {"job": "a", "nodes": ["n0", "n1"]}})
    answer = api.post("/api/workflows/allocator-api/query/", {"name": "latest"}, format="json")
    assert (answer.status_code, answer.json()) == (200, {"result": {"job": "a", "nodes": ["n0", "n1"]}})
