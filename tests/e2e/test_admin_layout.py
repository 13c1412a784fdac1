"""In a real browser 1400 px wide: every column of the runs list is visible, and the page of a run has
no empty block and no bar pinned over its content."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

import durableflows as df
from durableflows.models import WorkflowRun
from tests.api.support import PASSWORD, make_user

pytestmark = pytest.mark.django_db(transaction=True)
CHANGELIST = "/admin/durableflows/workflowrun/"


def signed_in(page, live_server) -> None:
    make_user("ops", superuser=True)
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")


def started(workflow_id: str, status: str, started_ago: timedelta, closed_ago: timedelta | None) -> WorkflowRun:
    """A run in the given state, with timestamps far enough apart to need their longest forms."""
    handle = df.start("ops.approval", "parcel", id=workflow_id)
    now = timezone.now()
    closed_at = now - closed_ago if closed_ago is not None else None
    runs = WorkflowRun.objects.filter(pk=handle.run_id)
    runs.update(status=status, started_at=now - started_ago, closed_at=closed_at)
    return WorkflowRun.objects.get(pk=handle.run_id)


def box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def test_every_column_of_the_runs_list_is_visible_at_1400_px(live_server, browser_page):
    started("nightly-report@2025-11-29T09:00:00+00:00", "continued_as_new", timedelta(days=400), timedelta(days=399))
    started("order-with-a-rather-long-identifier-42", "running", timedelta(days=10, minutes=5), None)
    started("order-7", "failed", timedelta(hours=30), timedelta(hours=29))
    page = browser_page
    signed_in(page, live_server)
    page.goto(f"{live_server.url}{CHANGELIST}")
    page.wait_for_selector("#result_list")

    results = box(page, "#changelist .results")
    headers = page.locator("#result_list thead th")
    labels = [text.strip().lower() for text in headers.all_inner_texts()]
    for index in range(headers.count()):
        header = headers.nth(index).bounding_box()
        assert header["x"] + header["width"] <= results["x"] + results["width"] + 0.5, labels[index]
        assert header["x"] + header["width"] <= 1400
    overflow = page.locator("#changelist .results").first.evaluate("(el) => el.scrollWidth - el.clientWidth")
    assert overflow <= 0, f"the list scrolls sideways by {overflow} px"
    assert labels[1:] == ["status", "workflow id", "workflow", "started", "closed", "duration"]
    assert "(running)" in page.inner_text("#result_list")


def test_the_page_of_a_run_has_no_empty_block_and_nothing_pinned_over_it(live_server, browser_page):
    run = started("order-8", "running", timedelta(minutes=3), None)
    page = browser_page
    signed_in(page, live_server)
    page.goto(f"{live_server.url}{CHANGELIST}{run.pk}/change/")
    page.wait_for_selector("#df-timeline svg.df-timeline")

    assert page.locator(".submit-row").count() == 0  # a read-only page has nothing to submit
    pinned = page.evaluate(
        """() => Array.from(document.querySelectorAll('#content *'))
              .filter(el => ['fixed', 'sticky'].includes(getComputedStyle(el).position))
              .map(el => el.tagName + '.' + el.className)"""
    )
    assert pinned == []
    form, panels = box(page, "#workflowrun_form"), page.locator("#df-run .df-panel")
    assert box(page, "#df-run")["y"] >= form["y"] + form["height"]  # below the fields, not wrapped around them
    for index in range(panels.count()):
        panel = panels.nth(index)
        heading = panel.locator("h2").bounding_box()
        assert heading["y"] - panel.bounding_box()["y"] <= 2, panel.get_attribute("id")  # no blank space above
