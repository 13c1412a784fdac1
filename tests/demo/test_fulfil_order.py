"""The demo's order workflow, tested the way users test theirs: with ``durableflows_env``."""

import html as html_module
import json
import re

import pytest

import durableflows as df
from demo.models import Order
from demo.workflows import charge_card, fulfil_order, refund_charge, release_stock, ship


@pytest.fixture
def order(db):
    return Order.objects.create(customer="alice", amount="42.00")


def test_approved_order_is_shipped_after_packing(durableflows_env, order):
    handle = durableflows_env.start(fulfil_order, order.id)
    durableflows_env.run_until_idle()
    assert handle.query("progress")["stage"] == "awaiting approval"
    handle.signal("approve", {"approved": True, "by": "bob"})
    result = handle.result()
    assert result["outcome"] == "shipped" and result["approved_by"] == "bob"
    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED


def test_no_decision_within_the_hour_compensates_in_reverse(durableflows_env, order):
    refund = durableflows_env.mock_activity(refund_charge)
    release = durableflows_env.mock_activity(release_stock)
    handle = durableflows_env.start(fulfil_order, order.id)
    assert handle.result() == {
        "outcome": "rejected", "by": "timeout", "charge": f"CH-{order.id}", "reservation": f"R-{order.id}"
    }  # fmt: skip
    assert refund.calls == [(order.id, f"CH-{order.id}")] and release.calls == [(order.id, f"R-{order.id}")]
    assert handle.vars() == {"stage": "rejected"}


def test_declined_card_fails_the_workflow_after_releasing_stock(durableflows_env, order):
    durableflows_env.mock_activity(charge_card, side_effect=df.NonRetryableError("declined", type="CardDeclined"))
    release = durableflows_env.mock_activity(release_stock)
    shipping = durableflows_env.mock_activity(ship)
    with pytest.raises(df.WorkflowFailed) as failed:
        durableflows_env.start(fulfil_order, order.id).result()
    assert failed.value.type == "ActivityError" and "CardDeclined" in failed.value.message
    assert release.call_count == 1 and shipping.call_count == 0


def test_the_demo_page_shows_the_outcome_as_json(durableflows_env, order, client):
    handle = durableflows_env.start(fulfil_order, order.id, id=order.workflow_id)
    durableflows_env.run_until_idle()
    handle.signal("approve", {"approved": True, "by": "bob"})
    handle.result()
    html = client.get("/").content.decode()
    shown = [html_module.unescape(code) for code in re.findall(r"<code>(.*?)</code>", html)]
    outcome = json.loads(next(text for text in shown if "outcome" in text))  # JSON, not Python's repr
    assert outcome["outcome"] == "shipped" and outcome["tracking"].startswith("TRK-")
