"""The OpenAPI document, fuzzed with schemathesis against the WSGI app in-process: no answer is a 5xx."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from tests.api.support import make_user, start_and_drive  # noqa: E402

pytestmark = pytest.mark.django_db
OPERATIONS = ("start_workflow", "signal_workflow", "query_workflow", "cancel_workflow", "terminate_workflow")


@pytest.fixture
def keep_connection():
    """Like Django's test client: requests must not close the test's connection (its transaction holds the data)."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.timeout(600)
def test_no_operation_answers_5xx(keep_connection):
    from django.core.wsgi import get_wsgi_application

    user = make_user("fuzzer", "view_workflowrun", *OPERATIONS)
    auth = {"Authorization": f"Token {Token.objects.create(user=user).key}"}
    start_and_drive("ops.approval", "parcel", id="order-1")
    start_and_drive("ops.failing", "x", id="failing-1")

    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application(), headers=auth)
    strategy = schema.as_strategy()
    seen: dict[str, int] = {}

    @settings(max_examples=400, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def check(case):
        response = case.call(headers=auth)
        seen[case.operation.label] = seen.get(case.operation.label, 0) + 1
        where = f"{case.method} {case.formatted_path}"
        assert response.status_code < 500, f"{where} -> {response.status_code}: {response.text[:500]}"

    check()
    assert len(seen) >= 8, seen  # every operation of the document was exercised
