"""``df.execute_activity``: scheduling, results, failures, options and parallel activities."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import pytest

import durableflows as df
from durableflows import registry
from durableflows.runtime import EventType

from .harness import Driver, types


@dataclasses.dataclass
class Receipt:
    charge_id: str
    amount: str


@df.activity(start_to_close_timeout=timedelta(seconds=30), retry=df.RetryPolicy(maximum_attempts=5), queue="payments")
def charge(order_id: int, amount: str) -> Receipt:
    raise AssertionError("activities run in workers, never in the runtime")


@df.activity(name="tests.runtime.named_activity")
def named(value: str) -> str:
    raise AssertionError("not called")


@df.workflow
async def charge_once(order_id: int) -> dict:
    receipt = await df.execute_activity(charge, order_id, "10.00")
    assert isinstance(receipt, Receipt), "the result is rebuilt from the activity's return hint"
    return {"charge": receipt.charge_id, "amount": receipt.amount}


@df.workflow
async def catch_failure() -> dict:
    try:
        await df.execute_activity(charge, 1, "5.00")
    except df.ActivityError as exc:
        return {"type": exc.type, "message": exc.message, "attempts": exc.attempts, "name": exc.activity_name}
    return {}


@df.workflow
async def with_overrides() -> None:
    await df.execute_activity(
        charge, 1, "1.00", start_to_close_timeout=5, heartbeat_timeout=timedelta(seconds=2), queue=None
    )


@df.workflow
async def by_name(value: str) -> str:
    return await df.execute_activity("tests.runtime.named_activity", value)


@df.workflow
async def parallel(n: int) -> list:
    return await asyncio.gather(*(df.execute_activity(named, f"item-{i}") for i in range(n)))


def test_scheduling_records_name_args_and_default_options():
    run = Driver(charge_once, 42)
    assert types(run.new) == [EventType.WORKFLOW_STARTED, EventType.ACTIVITY_SCHEDULED]
    scheduled = run.new[1].data
    assert scheduled["name"] == "tests.runtime.test_activities.charge"
    assert scheduled["args"] == [42, "10.00"]
    assert scheduled["options"]["start_to_close_timeout"] == 30.0
    assert scheduled["options"]["retry"]["maximum_attempts"] == 5
    assert scheduled["options"]["queue"] == "payments"
    assert run.closed_by is None


def test_result_is_decoded_with_the_return_hint_and_completes_the_run():
    run = Driver(charge_once, 42)
    commands = run.complete(run.only_activity(), Receipt("ch_1", "10.00"))
    assert types(commands) == [EventType.WORKFLOW_COMPLETED]
    assert run.result == {"charge": "ch_1", "amount": "10.00"}


def test_failure_raises_activity_error_with_type_message_and_attempts():
    run = Driver(catch_failure)
    run.fail(run.only_activity(), type="InsufficientFunds", message="card declined", attempts=3)
    assert run.result == {
        "type": "InsufficientFunds",
        "message": "card declined",
        "attempts": 3,
        "name": "tests.runtime.test_activities.charge",
    }


def test_timed_out_activity_raises_activity_error_too():
    run = Driver(catch_failure)
    run.apply(
        EventType.ACTIVITY_TIMED_OUT,
        {"activity_id": run.only_activity(), "type": "StartToCloseTimeout", "message": "30s", "attempts": 5},
    )
    assert run.result["type"] == "StartToCloseTimeout"
    assert run.result["attempts"] == 5


def test_uncaught_activity_error_fails_the_run():
    run = Driver(charge_once, 1)
    commands = run.fail(run.only_activity(), type="InsufficientFunds", message="card declined")
    assert types(commands) == [EventType.WORKFLOW_FAILED]
    assert "card declined" in run.closed_by.data["message"]


def test_activity_started_fact_changes_nothing():
    run = Driver(charge_once, 1)
    activity_id = run.only_activity()
    assert run.apply(EventType.ACTIVITY_STARTED, {"activity_id": activity_id, "attempt": 1}) == []
    assert run.pending_activities() == {activity_id: "tests.runtime.test_activities.charge"}


def test_options_given_at_the_call_override_the_decorator_defaults():
    run = Driver(with_overrides)
    options = run.scheduled(run.only_activity())["options"]
    assert options["start_to_close_timeout"] == 5.0
    assert options["heartbeat_timeout"] == 2.0
    assert options["queue"] is None
    assert options["retry"]["maximum_attempts"] == 5, "options not given keep the decorator's value"


@pytest.mark.parametrize(
    "options",
    [{"start_to_close": 5}, {"retry": 3}, {"queue": 7}, {"heartbeat_timeout": "10s"}],
    ids=["unknown-option", "retry-not-a-policy", "queue-not-a-string", "duration-as-text"],
)
def test_bad_options_fail_the_run_with_type_error(options):
    @df.workflow(name=f"tests.runtime.bad_options.{next(iter(options))}")
    async def bad_options() -> None:
        try:
            await df.execute_activity(charge, 1, "1.00", **options)
        except TypeError as exc:
            raise RuntimeError(f"TypeError: {exc}") from None

    run = Driver(bad_options)
    assert run.closed_by.type is EventType.WORKFLOW_FAILED
    assert run.closed_by.data["message"].startswith("TypeError")
    assert run.events(EventType.ACTIVITY_SCHEDULED) == [], "nothing is scheduled with bad options"


def test_activity_referenced_by_registered_name():
    run = Driver(by_name, "x")
    assert run.scheduled(run.only_activity())["name"] == "tests.runtime.named_activity"
    run.complete(run.only_activity(), "done")
    assert run.result == "done"


def test_unknown_activity_name_fails_the_run():
    @df.workflow(name="tests.runtime.unknown_activity")
    async def unknown() -> None:
        await df.execute_activity("no.such.activity")

    run = Driver(unknown)
    assert run.closed_by.data["type"] == "UnknownWorkflowError"


def test_arguments_that_cannot_be_serialized_fail_before_scheduling():
    @df.workflow(name="tests.runtime.bad_argument")
    async def bad_argument() -> None:
        await df.execute_activity(named, b"bytes")

    run = Driver(bad_argument)
    assert run.closed_by.data["type"] == "SerializationError"
    assert run.events(EventType.ACTIVITY_SCHEDULED) == []


def test_gather_schedules_all_activities_at_once_and_keeps_argument_order():
    run = Driver(parallel, 3)
    assert types(run.new[1:]) == [EventType.ACTIVITY_SCHEDULED] * 3
    ids = [e.data["activity_id"] for e in run.new[1:]]
    for activity_id in reversed(ids):  # complete in the opposite order
        run.complete(activity_id, f"result-{activity_id}")
    assert run.result == [f"result-{i}" for i in ids]


def test_activity_ids_are_unique_and_increasing():
    run = Driver(parallel, 4)
    ids = [e.data["activity_id"] for e in run.new[1:]]
    assert ids == sorted(set(ids))


def test_late_result_of_an_unknown_activity_is_ignored():
    run = Driver(charge_once, 1)
    assert run.complete(999, "stray") == []
    assert run.closed_by is None


def test_activities_cannot_be_called_outside_workflow_code():
    with pytest.raises(RuntimeError, match="only be called from workflow code"):
        asyncio.run(df.execute_activity(charge, 1, "1.00"))


class Payments:
    """Activities as methods of an object built with its dependencies, as users inject them."""

    def __init__(self, gateway: str) -> None:
        self.gateway = gateway

    @df.activity_method(name="tests.runtime.payments.charge", start_to_close_timeout=12)
    def charge(self, order_id: int) -> Receipt:
        return Receipt(f"{self.gateway}-{order_id}", "1.00")

    @df.activity_method
    async def refund(self, charge_id: str) -> None:
        return None

    def helper(self) -> None:
        """Not an activity."""


class Shipping:
    def __init__(self, carrier: str) -> None:
        self.carrier = carrier

    def ship(self, order_id: int) -> str:
        return f"{self.carrier}:{order_id}"


def test_bound_methods_register_as_activities_and_run_with_their_object():
    shipping = Shipping("ups")
    assert df.activity(shipping.ship, name="tests.runtime.shipping.ship", start_to_close_timeout=7) == shipping.ship
    definition = registry.get_activity(shipping.ship)
    assert definition.name == "tests.runtime.shipping.ship"
    assert definition.options.start_to_close_timeout == 7
    assert definition.fn(3) == "ups:3"

    payments = Payments("stripe")
    names = df.register_activities(payments)
    refund_name = f"{__name__}.Payments.refund"
    assert names == ["tests.runtime.payments.charge", refund_name]
    assert registry.get_activity(payments.charge).fn(5) == Receipt("stripe-5", "1.00")
    assert registry.get_activity(Payments.charge).name == "tests.runtime.payments.charge"
    assert registry.get_activity(payments.refund).is_async
    with pytest.raises(df.UnknownWorkflowError):
        registry.get_activity(payments.helper)


def test_workflows_schedule_bound_method_activities():
    payments = Payments("adyen")
    df.register_activities(payments)

    @df.workflow(name="tests.runtime.bound_activities")
    async def pay(order_id: int) -> str:
        receipt = await df.execute_activity(payments.charge, order_id)
        await df.execute_activity(Payments.refund, receipt.charge_id)
        return receipt.charge_id

    run = Driver(pay, 9)
    scheduled = run.scheduled(run.only_activity())
    assert (scheduled["name"], scheduled["options"]["start_to_close_timeout"]) == ("tests.runtime.payments.charge", 12)
    run.complete(run.only_activity(), Receipt("adyen-9", "1.00"))
    assert run.scheduled(run.only_activity())["args"] == ["adyen-9"]
    run.complete(run.only_activity())
    assert run.result == "adyen-9"
