"""``df.signal_with_start`` and ``df.update_with_start``: one transaction that signals or starts."""

from __future__ import annotations

import pytest
from django.db import transaction

import durableflows as df
from durableflows.models import InboxItem, UpdateRequest, WorkflowRun
from durableflows.with_start import signal_or_start

from .workflows import Item, checkout, collect


def test_signal_with_start_starts_a_run_whose_first_fact_is_the_signal(durableflows_env):
    handle = df.signal_with_start(collect, 2, id="col-1", signal="item", payload="a")
    assert WorkflowRun.objects.get().workflow_id == "col-1"
    assert list(InboxItem.objects.values_list("type", flat=True)) == ["SignalReceived"]
    df.signal_with_start(collect, 2, id="col-1", signal="item", payload="b")
    assert WorkflowRun.objects.count() == 1
    assert durableflows_env.get_handle(handle.workflow_id).result() == ["a", "b"]
    types = [e.type.value for e in handle.history()]
    assert types[:2] == ["WorkflowStarted", "SignalReceived"]


def test_signal_or_start_tells_whether_it_started(durableflows_env):
    assert signal_or_start(collect, (1,), id="col-2", signal="item", payload="x")[1] is True
    assert signal_or_start(collect, (1,), id="col-2", signal="item", payload="y")[1] is False


def test_signal_with_start_stores_nothing_on_bad_input(durableflows_env):
    with pytest.raises(df.SerializationError):
        df.signal_with_start(collect, 1, id="col-3", signal="item", payload=object())
    with pytest.raises(df.InvalidArguments):
        df.signal_with_start(collect, "one", id="col-3", signal="item")
    with pytest.raises(TypeError, match="id_conflict"):
        df.signal_with_start(collect, 1, id="col-3", signal="item", id_conflict="fail")
    assert not WorkflowRun.objects.exists()


def test_signal_with_start_rolls_back_with_the_callers_transaction(durableflows_env):
    with pytest.raises(RuntimeError), transaction.atomic():
        df.signal_with_start(collect, 1, id="col-4", signal="item", payload="x")
        raise RuntimeError("roll back")
    assert not WorkflowRun.objects.exists()
    assert not InboxItem.objects.exists()


def test_update_with_start_starts_or_updates_and_returns_the_result(durableflows_env):
    assert durableflows_env.update_with_start(
        checkout, "c-9", id="cart-9", update="add_item", update_args=[Item("apple", 1)]
    ) == 1
    run = WorkflowRun.objects.get()
    assert durableflows_env.update_with_start(
        checkout, "c-9", id="cart-9", update="add_item", update_args=[Item("pear", 1)], update_id="u-pear"
    ) == 2
    assert WorkflowRun.objects.get() == run
    assert UpdateRequest.objects.count() == 2
    with pytest.raises(df.UpdateRejected):
        durableflows_env.update_with_start(checkout, "c-9", id="cart-9", update="add_item", update_args=[Item("x", 0)])


def test_a_rejected_update_with_start_keeps_the_started_run(durableflows_env):
    with pytest.raises(df.UpdateRejected, match="positive"):
        durableflows_env.update_with_start(checkout, "c-9", id="cart-9", update="add_item", update_args=[Item("x", 0)])
    assert WorkflowRun.objects.get().workflow_id == "cart-9"


def test_update_with_start_stores_nothing_on_bad_update_arguments(durableflows_env):
    with pytest.raises(df.SerializationError):
        df.update_with_start(checkout, "c-9", id="cart-9", update="add_item", update_args=[object()])
    with pytest.raises(TypeError, match="update_args"):
        df.update_with_start(checkout, "c-9", id="cart-9", update="add_item", update_args={"sku": "x"})
    assert not WorkflowRun.objects.exists()


def test_racing_signal_with_start_calls_start_one_run_and_deliver_every_signal(transactional_db):
    import threading

    from django.db import connection

    from durableflows.engine import doorbell

    doorbell.muted = True
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def send(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            df.signal_with_start(collect, 4, id="raced", signal="item", payload=n)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        doorbell.muted = False
    assert not errors
    run = WorkflowRun.objects.get(workflow_id="raced")
    payloads = sorted(InboxItem.objects.filter(run=run).values_list("data__payload", flat=True))
    assert payloads == [0, 1, 2, 3]
