"""The demo's order workflow, tested the way users test theirs: with ``durableflows_env``."""

import html as html_module
import json
import re

import pytest

import durableflows as df
from demo.models import Order, Stock
from demo.workflows import SKU, charge_card, fulfil_order, refund_charge, release_stock, reserve_stock, ship

STOCK = 5


@pytest.fixture
def stock(db):
    Stock.objects.update_or_create(sku=SKU, defaults={"quantity": STOCK})


@pytest.fixture
def order(db, stock):
    return Order.objects.create(customer="alice", amount="42.00")


def in_stock() -> int:
    return Stock.objects.get(sku=SKU).quantity


def test_approved_order_is_shipped_after_packing(durableflows_env, order):
    handle = durableflows_env.start(fulfil_order, order.id)
    durableflows_env.run_until_idle()
    assert handle.query("progress")["stage"] == "awaiting approval"
    handle.signal("approve", {"approved": True, "by": "bob"})
    result = handle.result()
    assert result["outcome"] == "shipped" and result["approved_by"] == "bob"
    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED
    assert in_stock() == STOCK - 1


def test_a_reservation_that_fails_gives_nothing_back_twice(durableflows_env, order):
    """The stock update commits with the reservation's result: an attempt that fails leaves no trace."""
    attempts = []

    def reserve_then_fail_once(order_id: int) -> str:
        result = reserve_stock(order_id)  # the real activity, in the attempt's transaction
        attempts.append(in_stock())
        if len(attempts) == 1:
            raise ConnectionError("the worker lost its connection before the commit")
        return result

    durableflows_env.mock_activity(reserve_stock, side_effect=reserve_then_fail_once)
    handle = durableflows_env.start(fulfil_order, order.id)
    durableflows_env.sleep(5)  # past the retry's backoff
    assert handle.query("progress")["stage"] == "awaiting approval"
    assert attempts == [STOCK - 1, STOCK - 1]  # the first attempt's decrement was rolled back
    assert in_stock() == STOCK - 1


def test_a_rejected_order_puts_its_item_back(durableflows_env, order):
    handle = durableflows_env.start(fulfil_order, order.id)
    durableflows_env.run_until_idle()
    assert in_stock() == STOCK - 1
    handle.signal("approve", {"approved": False, "by": "bob"})
    assert handle.result()["outcome"] == "rejected"
    assert in_stock() == STOCK


def test_an_order_without_stock_fails_before_charging(durableflows_env, order):
    Stock.objects.filter(sku=SKU).update(quantity=0)
    charging = durableflows_env.mock_activity(charge_card)
    with pytest.raises(df.WorkflowFailed, match="OutOfStock"):
        durableflows_env.start(fulfil_order, order.id).result()
    assert charging.call_count == 0 and in_stock() == 0


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
