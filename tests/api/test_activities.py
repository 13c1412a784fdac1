"""``/api/activities/{task_token}/complete|fail|heartbeat/``: every answer the endpoints give, and what they record."""

from __future__ import annotations

import pytest
from django.core import signing
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

import durableflows as df
from durableflows.models import ActivityTask
from tests.api.support import make_user
from tests.engine.async_completion_workflows import charge, tokens

pytestmark = pytest.mark.django_db
ACTIONS = ("complete", "fail", "heartbeat")
GOOD_BODIES = {"complete": {"result": {"charge_id": "ch", "amount": "5"}}, "fail": {"message": "down"}, "heartbeat": {}}


@pytest.fixture(autouse=True)
def _fresh_tokens():
    tokens.clear()


@pytest.fixture
def api(operator) -> APIClient:
    client = APIClient()
    client.force_login(operator)
    return client


@pytest.fixture
def pending(durableflows_env):
    """A run whose activity raised CompleteAsync: its handle and the attempt's task token."""
    handle = durableflows_env.start(charge, "api-1")
    durableflows_env.run_until(lambda: bool(tokens["api-1"]))
    return handle, tokens["api-1"][0]


def url(token: str, action: str) -> str:
    return f"/api/activities/{token}/{action}/"


def attempt(handle) -> tuple[str, int, object]:
    task = ActivityTask.objects.get(run_id=handle.run_id)
    return task.state, task.attempt, task.heartbeat_details


def test_complete_answers_202_and_the_workflow_gets_the_result(api, pending):
    handle, token = pending
    response = api.post(url(token, "complete"), {"result": {"charge_id": "ch_1", "amount": "7.5"}}, format="json")
    assert response.status_code == 202, response.content
    assert response.json() == {"task_token": token}
    assert handle.result()["charge_id"] == "ch_1"


def test_a_second_completion_is_a_409_with_the_reason(api, pending):
    handle, token = pending
    assert api.post(url(token, "complete"), GOOD_BODIES["complete"], format="json").status_code == 202
    for action in ACTIONS:
        response = api.post(url(token, action), GOOD_BODIES[action], format="json")
        assert response.status_code == 409, response.content
        assert response.json()["state"] == "completed" and "already completed" in response.json()["detail"]
    assert handle.result()["charge_id"] == "ch"
    assert [e.type.value for e in handle.history()].count("ActivityCompleted") == 1


def test_fail_answers_202_and_the_retry_policy_applies(api, pending, durableflows_env):
    handle, token = pending
    response = api.post(url(token, "fail"), {"message": "provider down", "type": "ConnectionError"}, format="json")
    assert response.status_code == 202, response.content
    assert attempt(handle)[:2] == ("scheduled", 2)
    durableflows_env.run_until(lambda: len(tokens["api-1"]) == 2)
    assert api.post(url(token, "complete"), {}, format="json").json()["state"] == "superseded"
    final = {"message": "declined", "type": "CardDeclined", "non_retryable": True}
    assert api.post(url(tokens["api-1"][1], "fail"), final, format="json").status_code == 202
    assert handle.result() == {"error": "CardDeclined", "message": "declined", "attempts": 2}


def test_heartbeat_answers_202_and_records_the_details(api, pending):
    handle, token = pending
    response = api.post(url(token, "heartbeat"), {"details": {"step": 3}}, format="json")
    assert response.status_code == 202, response.content
    assert attempt(handle) == ("started", 1, {"step": 3})


def test_a_heartbeat_after_a_cancel_request_is_a_409_that_says_so(api, pending, durableflows_env):
    handle, token = pending
    handle.cancel()
    durableflows_env.run_until_idle()
    response = api.post(url(token, "heartbeat"), {"details": "x"}, format="json")
    assert response.status_code == 409
    assert response.json()["state"] == "cancel_requested"
    assert attempt(handle) == ("started", 1, None)
    assert api.post(url(token, "fail"), {"message": "stopped"}, format="json").status_code == 202
    assert attempt(handle)[0] == "cancelled"


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(
    "token",
    [
        "nonsense",
        signing.Signer(salt="another.salt").sign("00000000000000000000000000000000.1.1"),
        "0" * 300,
    ],
    ids=["garbage", "other-salt", "too-long"],
)
def test_unknown_or_forged_tokens_are_404_whatever_the_body(api, pending, action, token):
    handle, _ = pending
    for body in (GOOD_BODIES[action], {"message": 5, "non_retryable": "maybe"}):
        assert api.post(url(token, action), body, format="json").status_code == 404
    assert attempt(handle) == ("started", 1, None)


def test_an_edited_token_is_404(api, pending):
    handle, token = pending
    payload, signature = token.split(":")
    edited = f"{payload[:-1]}2:{signature}"  # attempt 2, with attempt 1's signature
    assert api.post(url(edited, "complete"), GOOD_BODIES["complete"], format="json").status_code == 404
    assert attempt(handle) == ("started", 1, None)


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("complete", [1, 2], "non_field_errors"),
        ("fail", {}, "message"),
        ("fail", {"message": 5}, "message"),
        ("fail", {"message": "x", "type": ["list"]}, "type"),
        ("fail", {"message": "x", "non_retryable": "maybe"}, "non_retryable"),
        ("fail", {"message": "x" * 10_001}, "message"),
        ("fail", {"message": "nul \u0000 inside"}, "message"),
        ("fail", {"message": "x", "type": "Nul\u0000Error"}, "type"),
        ("heartbeat", "just a string", "non_field_errors"),
    ],
)
def test_bad_bodies_are_400_with_field_errors_and_record_nothing(api, pending, action, body, field):
    handle, token = pending
    response = api.post(url(token, action), body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert attempt(handle) == ("started", 1, None)


def test_oversized_values_are_400_on_their_field(api, pending, settings):
    settings.DURABLEFLOWS = {"MAX_PAYLOAD_BYTES": 64}
    handle, token = pending
    big = {"blob": "x" * 100}
    assert "result" in api.post(url(token, "complete"), {"result": big}, format="json").json()
    assert "details" in api.post(url(token, "heartbeat"), {"details": big}, format="json").json()
    assert attempt(handle) == ("started", 1, None)


@pytest.mark.parametrize("action", ACTIONS)
def test_anonymous_callers_are_401(pending, action):
    handle, token = pending
    response = APIClient().post(url(token, action), GOOD_BODIES[action], format="json")
    assert response.status_code == 401
    assert attempt(handle) == ("started", 1, None)


@pytest.mark.parametrize("action", ACTIONS)
def test_users_without_the_signal_permission_are_403(pending, viewer, nobody, action):
    handle, token = pending
    for user in (viewer, nobody):
        client = APIClient()
        client.force_login(user)
        assert client.post(url(token, action), GOOD_BODIES[action], format="json").status_code == 403
    assert attempt(handle) == ("started", 1, None)


def test_the_signal_permission_alone_is_enough(pending):
    handle, token = pending
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=make_user('hook', 'signal_workflow')).key}"
    )
    assert client.post(url(token, "heartbeat"), {"details": 1}, format="json").status_code == 202
    assert client.post(url(token, "complete"), GOOD_BODIES["complete"], format="json").status_code == 202
    assert handle.result()["charge_id"] == "ch"


def test_only_post_is_offered(api, pending):
    _, token = pending
    assert api.get(url(token, "complete")).status_code == 405


def test_the_schema_documents_the_endpoints(api):
    paths = api.get("/api/schema/?format=json").json()["paths"]
    for action in ACTIONS:
        operation = paths[f"/api/activities/{{task_token}}/{action}/"]["post"]
        assert {"202", "400", "404", "409"} <= set(operation["responses"])


def test_the_public_handle_is_what_the_api_uses(pending):
    _, token = pending
    assert isinstance(df.get_activity_handle(token), df.ActivityHandle)
