"""Bodies the API cannot store answer 400 with where the problem is, and nothing is stored."""

import pytest
from rest_framework.test import APIClient

from durableflows.api.parsers import MAX_JSON_DEPTH
from durableflows.models import InboxItem, WorkflowRun


@pytest.fixture
def api(operator) -> APIClient:
    client = APIClient()
    client.force_login(operator)
    return client


def post(api, path, body: str):
    return api.post(path, body, content_type="application/json")


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 470, 5_000, 100_000])
def test_deeply_nested_json_is_400(api, depth):
    nested = "[" * depth + "]" * depth
    response = post(api, "/api/workflows/", f'{{"workflow": "ops.approval", "args": [{nested}], "id": "deep"}}')
    assert response.status_code == 400
    assert "nested deeper than" in response.json()["detail"]
    assert not WorkflowRun.objects.exists()


def test_nesting_up_to_the_limit_is_accepted_by_the_parser(api):
    nested = "[" * (MAX_JSON_DEPTH - 2) + "]" * (MAX_JSON_DEPTH - 2)  # the body's object and args are two levels
    response = post(api, "/api/workflows/", f'{{"workflow": "ops.approval", "args": [{nested}], "id": "deep"}}')
    assert response.status_code == 400 and "args" in response.json()  # the signature's complaint, not the parser's


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ('{"workflow": "ops.approval", "args": ["\\ud800"], "id": "s"}', "args[0]"),
        ('{"workflow": "ops.approval", "args": ["x"], "id": "s\\udfff"}', "at id"),
        ('{"workflow": "ops.approval", "args": [{"\\ud800": 1}], "id": "s"}', "key at args[0]"),
    ],
)
def test_lone_surrogates_are_400_with_their_place(api, body, where):
    response = post(api, "/api/workflows/", body)
    assert response.status_code == 400
    assert where in response.json()["detail"] and "surrogate" in response.json()["detail"]
    assert not WorkflowRun.objects.exists()


def test_a_signal_with_a_surrogate_stores_nothing(api, waiting):
    response = post(api, "/api/workflows/order-1/signal/", '{"name": "approve", "payload": {"by": "\\ud83d"}}')
    assert response.status_code == 400 and "payload.by" in response.json()["detail"]
    assert not InboxItem.objects.filter(run_id=waiting.run_id).exists()


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/workflows/", {"workflow": "ops.approval", "args": ["x"], "id": 5}, "id"),
        ("/api/workflows/", {"workflow": 7, "args": ["x"]}, "workflow"),
        ("/api/workflows/order-1/signal/", {"name": 1}, "name"),
        ("/api/workflows/order-1/query/", {"name": True}, "name"),
        ("/api/workflows/order-1/terminate/", {"reason": 3}, "reason"),
    ],
)
def test_numbers_where_strings_belong_are_refused_not_coerced(api, waiting, path, body, field):
    response = api.post(path, body, format="json")
    assert response.status_code == 400 and field in response.json()
    assert WorkflowRun.objects.count() == 1 and waiting.status == "running"
