"""In a real browser: log into the admin, open a running workflow, send it a signal through the form,
and watch it complete (a real Celery worker process runs the workflow)."""

from __future__ import annotations

import time

import pytest

import durableflows as df
from tests.api.support import PASSWORD, make_user
from tests.helpers import wait_until
from tests.integration_app import workflows as it_workflows  # noqa: F401 - registers it.waits_for_signal

pytestmark = pytest.mark.django_db(transaction=True)


def test_operator_approves_a_workflow_from_the_admin(live_server, workers, browser_page):
    make_user("ops", superuser=True)
    workers.start(concurrency=1)
    handle = df.start("it.waits_for_signal", id="e2e-approval")
    wait_until(
        lambda: handle.status == df.Status.RUNNING and len(handle.history()) >= 2,
        timeout=60,
        message=lambda: f"the workflow to park on its signal:\n{workers.logs()}",
    )
    run_page = f"{live_server.url}/admin/durableflows/workflowrun/{handle.run_id}/change/"

    page = browser_page
    page.goto(f"{live_server.url}/admin/login/?next=/admin/durableflows/workflowrun/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#result_list")
    assert "e2e-approval" in page.content()

    page.click("text=e2e-approval")
    page.wait_for_selector("#df-timeline svg.df-timeline")
    assert page.get_attribute("#df-run", "data-status") == "running"

    page.fill("#id_signal_name", "approve")
    page.fill("#id_signal_payload", '{"approved": true, "by": "browser"}')
    page.click("#df-signal-form input[type=submit]")
    page.wait_for_selector("text=Signal 'approve' sent")

    deadline = time.monotonic() + 60
    while page.get_attribute("#df-run", "data-status") != "completed":
        assert time.monotonic() < deadline, f"the run did not complete:\n{workers.logs()}"
        time.sleep(0.3)
        page.goto(run_page)
    assert "SignalReceived" in page.content() and "WorkflowCompleted" in page.content()

    assert handle.result(timeout=5) == {"approved": True, "by": "browser"}
