"""Updates through real Celery workers: results, rejections, idempotent retries, update-with-start."""

from __future__ import annotations

import pytest

import durableflows as df
from tests.integration_app import workflows as wf

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 60


def test_updates_through_a_worker(workers):
    workers.start()
    handle = df.start(wf.cart, "c-1", id="it-cart")
    assert handle.update("add_line", wf.CartLine("apple", 2), timeout=TIMEOUT) == 1
    with pytest.raises(df.UpdateRejected, match="qty must be positive"):
        handle.update("add_line", wf.CartLine("pear", 0), timeout=TIMEOUT)
    pending = df.get_handle("it-cart").start_update("add_line", wf.CartLine("plum", 1), update_id="plum")
    assert df.UpdateHandle("it-cart", "plum", handle.run_id).result(timeout=TIMEOUT) == 2
    assert handle.update("add_line", wf.CartLine("plum", 1), update_id="plum", timeout=TIMEOUT) == 2
    assert pending.result(timeout=TIMEOUT) == 2
    handle.signal("checkout")
    assert handle.result(timeout=TIMEOUT) == {"cart": "c-1", "skus": ["apple", "plum"]}
    types = [str(event.type) for event in handle.history()]
    assert types.count("UpdateAccepted") == types.count("UpdateCompleted") == 2


def test_update_with_start_through_a_worker(workers):
    workers.start()
    first = df.update_with_start(
        wf.cart, "c-2", id="it-cart-2", update="add_line", update_args=[wf.CartLine("fig", 1)], timeout=TIMEOUT
    )
    second = df.update_with_start(
        wf.cart, "c-2", id="it-cart-2", update="add_line", update_args=[wf.CartLine("kiwi", 1)], timeout=TIMEOUT
    )
    assert (first, second) == (1, 2)
    df.signal_with_start(wf.cart, "c-2", id="it-cart-2", signal="checkout")
    assert df.get_handle("it-cart-2").result(timeout=TIMEOUT) == {"cart": "c-2", "skus": ["fig", "kiwi"]}
