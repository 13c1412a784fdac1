"""Every endpoint refuses anonymous and unprivileged callers, and lets the right permission through."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

import durableflows as df

pytestmark = pytest.mark.django_db

# (method, path, body, permission it needs, or all of several; None: any signed-in user)
ENDPOINTS = [
    ("get", "/api/workflows/", None, "view_workflowrun"),
    ("post", "/api/workflows/", {"workflow": "ops.approval", "args": ["x"]}, "start_workflow"),
    ("get", "/api/workflows/order-1/", None, "view_workflowrun"),
    ("get", "/api/workflows/order-1/history/", None, "view_workflowrun"),
    ("post", "/api/workflows/order-1/signal/", {"name": "approve", "payload": True}, "signal_workflow"),
    ("post", "/api/workflows/order-1/query/", {"name": "progress"}, "query_workflow"),
    ("post", "/api/workflows/order-1/update/", {"name": "note", "args": ["hi"], "timeout": 0}, "update_workflow"),
    (
        "post",
        "/api/workflows/signal-with-start/",
        {"workflow": "ops.approval", "args": ["x"], "id": "order-1", "signal": {"name": "approve", "payload": True}},
        ("start_workflow", "signal_workflow"),
    ),
    ("post", "/api/workflows/order-1/cancel/", {"reason": "test"}, "cancel_workflow"),
    ("post", "/api/workflows/order-1/terminate/", {"reason": "test"}, "terminate_workflow"),
    ("get", "/api/workflow-types/", None, "view_workflowrun"),
    ("get", "/api/schema/", None, None),
    ("get", "/api/docs/", None, None),
]
SUCCESS = {"get": (200,), "post": (200, 201, 202)}
IDS = [f"{method} {path}" for method, path, *_ in ENDPOINTS]


def call(client: APIClient, method: str, path: str, body: dict | None):
    return getattr(client, method)(path, body, format="json") if body is not None else getattr(client, method)(path)


@pytest.mark.parametrize(("method", "path", "body", "permission"), ENDPOINTS, ids=IDS)
def test_anonymous_is_refused(waiting, method, path, body, permission):
    response = call(APIClient(), method, path, body)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Token'
    assert df.get_handle("order-1").status == df.Status.RUNNING


@pytest.mark.parametrize(("method", "path", "body", "permission"), ENDPOINTS, ids=IDS)
def test_bad_token_is_refused(waiting, method, path, body, permission):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert call(client, method, path, body).status_code == 401


def test_anonymous_browser_is_sent_to_sign_in_for_the_docs():
    response = APIClient().get("/api/docs/", HTTP_ACCEPT="text/html")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/api/docs/"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/workflows/order-1/signal/"),
        ("put", "/api/workflows/order-1/terminate/"),
        ("delete", "/api/workflows/order-1/"),
        ("patch", "/api/workflows/order-1/"),
        ("post", "/api/workflows/order-1/history/"),
        ("delete", "/api/workflows/"),
    ],
)
def test_a_method_a_route_does_not_offer_is_405(waiting, operator, method, path):
    client = APIClient()
    client.force_login(operator)
    response = getattr(client, method)(path, {}, format="json")
    assert response.status_code == 405
    assert df.get_handle("order-1").status == df.Status.RUNNING


@pytest.mark.parametrize(("method", "path", "body", "permission"), ENDPOINTS, ids=IDS)
def test_user_without_permissions_is_refused(waiting, nobody, method, path, body, permission):
    client = APIClient()
    client.force_login(nobody)
    response = call(client, method, path, body)
    if permission is None:
        assert response.status_code == 200
    else:
        assert response.status_code == 403, response.content
        assert df.get_handle("order-1").status == df.Status.RUNNING
        assert not df.get_handle("order-1").history()[-1].type == df.EventType.SIGNAL_RECEIVED


@pytest.mark.parametrize(("method", "path", "body", "permission"), ENDPOINTS, ids=IDS)
def test_viewer_reads_but_cannot_operate(waiting, viewer, method, path, body, permission):
    client = APIClient()
    client.force_login(viewer)
    response = call(client, method, path, body)
    expected = SUCCESS[method] if permission in (None, "view_workflowrun") else (403,)
    assert response.status_code in expected, response.content


@pytest.mark.parametrize(("method", "path", "body", "permission"), ENDPOINTS, ids=IDS)
def test_each_permission_unlocks_its_endpoint(waiting, method, path, body, permission):
    from tests.api.support import make_user

    permissions = permission if isinstance(permission, tuple) else (permission,) if permission else ()
    user = make_user("only", *permissions)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    assert call(client, method, path, body).status_code in SUCCESS[method]


def test_token_authentication_works_for_superuser(waiting, superuser):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=superuser).key}")
    response = client.get("/api/workflows/order-1/")
    assert response.status_code == 200
    assert response.json()["status"] == "running"


def test_signal_with_start_needs_both_start_and_signal(waiting):
    from tests.api.support import make_user

    body = {"workflow": "ops.approval", "args": ["x"], "id": "order-2", "signal": {"name": "approve"}}
    for codename in ("start_workflow", "signal_workflow"):
        client = APIClient()
        client.force_login(make_user(f"only-{codename}", codename))
        assert client.post("/api/workflows/signal-with-start/", body, format="json").status_code == 403
    assert not df.get_handle("order-1").history()[-1].type == df.EventType.SIGNAL_RECEIVED
