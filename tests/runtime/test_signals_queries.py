"""Signals (buffered, timed out, handled), queries (read-only) and ``df.set_var``."""

from __future__ import annotations

import dataclasses
import enum
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

import durableflows as df
from durableflows.runtime import EventType

from .harness import Driver, types


@df.activity
def notify(message: str) -> None:
    raise AssertionError("not called")


@df.workflow
async def approval() -> dict:
    try:
        decision = await df.wait_signal("approve", timeout=timedelta(days=2))
    except TimeoutError:
        decision = {"approved": False}
    return decision


@df.workflow
async def collect(n: int) -> list:
    return [await df.wait_signal("item") for _ in range(n)]


@df.workflow
async def sleep_then_collect() -> list:
    await df.sleep(60)
    return [await df.wait_signal("item"), await df.wait_signal("item")]


@df.workflow
async def counter() -> int:
    state = {"total": 0, "stop": False}

    def add(amount):
        state["total"] += amount

    df.set_signal_handler("add", add)
    df.set_signal_handler("stop", lambda _: state.update(stop=True))
    df.set_query_handler("total", lambda: state["total"])
    df.set_query_handler("plus", lambda a, b=0: state["total"] + a + b)
    await df.wait_condition(lambda: state["stop"])
    return state["total"]


@df.workflow
async def late_handler() -> list:
    await df.sleep(10)  # signals arriving meanwhile are buffered
    seen = []
    df.set_signal_handler("event", seen.append)
    await df.wait_signal("done")
    return seen


@df.workflow
async def async_handler() -> list:
    seen = []

    async def handle(payload):
        result = await df.execute_activity(notify, payload)
        seen.append(result)

    df.set_signal_handler("event", handle)
    await df.wait_signal("done")
    return seen


@df.workflow
async def failing_handler() -> None:
    def explode(payload):
        raise KeyError(payload)

    df.set_signal_handler("boom", explode)
    await df.wait_signal("never")


@df.workflow
async def queries_with_commands() -> None:
    df.set_query_handler("set", lambda: df.set_var("x", 1))
    df.set_query_handler("patch", lambda: df.patched("p"))
    df.set_query_handler("random", lambda: df.random().random())
    df.set_query_handler("uuid", lambda: df.uuid4())
    df.set_query_handler("now", lambda: df.now())
    df.set_query_handler("info", lambda: df.info().workflow_id)
    await df.wait_signal("never")


@df.workflow
async def progress() -> str:
    df.set_var("stage", "charging")
    df.set_var("items", [1, 2])
    await df.execute_activity(notify, "hi")
    df.set_var("stage", "done")
    return "ok"


def test_wait_signal_returns_the_payload():
    run = Driver(approval)
    commands = run.signal("approve", {"approved": True, "by": "alice"})
    assert types(commands) == [EventType.TIMER_CANCELLED, EventType.WORKFLOW_COMPLETED]
    assert run.result == {"approved": True, "by": "alice"}


def test_wait_signal_timeout_raises_builtin_timeout_error():
    run = Driver(approval)
    assert run.started_timer(run.only_timer())["duration"] == 2 * 24 * 3600
    run.fire(run.only_timer())
    assert run.result == {"approved": False}


def test_signals_of_other_names_do_not_wake_the_waiter():
    run = Driver(approval)
    assert run.signal("reject", {"approved": False}) == []
    assert run.closed_by is None


def test_signals_are_buffered_in_arrival_order():
    run = Driver(sleep_then_collect)
    run.signal("item", "first")
    run.signal("item", "second")
    run.signal("item", "third")
    run.fire(run.only_timer())
    assert run.result == ["first", "second"]


def test_each_waiter_takes_one_signal():
    run = Driver(collect, 3)
    for payload in ("a", "b"):
        assert run.signal("item", payload) == []
    assert types(run.signal("item", "c")) == [EventType.WORKFLOW_COMPLETED]
    assert run.result == ["a", "b", "c"]


def test_signal_payloads_keep_rich_types():
    from datetime import date
    from decimal import Decimal

    run = Driver(collect, 1)
    run.signal("item", {"amount": Decimal("9.99"), "day": date(2025, 1, 2)})
    assert run.result == [{"amount": Decimal("9.99"), "day": date(2025, 1, 2)}]


def test_signal_handlers_and_queries():
    run = Driver(counter)
    run.signal("add", 5)
    run.signal("add", 7)
    assert run.execution.query("total", []) == 12
    assert run.execution.query("plus", [1, 2]) == 15
    run.signal("stop")
    assert run.result == 12


def test_unknown_query_raises_query_not_found_listing_known_ones():
    run = Driver(counter)
    with pytest.raises(df.QueryNotFound, match="plus, total"):
        run.execution.query("missing", [])


def test_signals_buffered_before_the_handler_is_set_go_to_it_in_order():
    run = Driver(late_handler)
    run.signal("event", 1)
    run.signal("event", 2)
    run.fire(run.only_timer())
    run.signal("event", 3)
    run.signal("done")
    assert run.result == [1, 2, 3]


def test_async_signal_handlers_may_run_activities():
    run = Driver(async_handler)
    commands = run.signal("event", "hello")
    assert types(commands) == [EventType.ACTIVITY_SCHEDULED]
    assert commands[0].data["args"] == ["hello"]
    run.complete(run.only_activity(), "sent")
    run.signal("done")
    assert run.result == ["sent"]
    assert run.replay().closed_by == run.closed_by


def test_an_error_in_a_signal_handler_fails_the_run():
    run = Driver(failing_handler)
    commands = run.signal("boom", "x")
    assert types(commands) == [EventType.WORKFLOW_FAILED]
    assert run.closed_by.data["type"] == "KeyError"


@pytest.mark.parametrize("query", ["set", "patch", "random", "uuid"])
def test_queries_cannot_issue_commands_or_change_state(query):
    run = Driver(queries_with_commands)
    before = list(run.history)
    with pytest.raises(RuntimeError, match="query handlers may only read state"):
        run.execution.query(query, [])
    assert run.history == before
    assert run.execution.vars == {}
    run.replay()  # the history still replays: the query left no trace


def test_queries_can_read_the_workflow_clock_and_info():
    run = Driver(queries_with_commands, workflow_id="order-7")
    assert run.execution.query("now", []) == run.clock
    assert run.execution.query("info", []) == "order-7"


def test_query_handlers_must_be_plain_functions():
    @df.workflow(name="tests.runtime.async_query")
    async def async_query() -> None:
        async def handler():
            return 1

        df.set_query_handler("q", handler)

    run = Driver(async_query)
    assert run.closed_by.data["type"] == "TypeError"


def test_set_var_records_events_and_keeps_the_latest_values():
    run = Driver(progress)
    assert types(run.new[1:]) == [EventType.VAR_SET, EventType.VAR_SET, EventType.ACTIVITY_SCHEDULED]
    assert run.new[1].data == {"name": "stage", "value": "charging"}
    run.complete(run.only_activity())
    assert run.execution.vars == {"stage": "done", "items": [1, 2]}
    assert run.replay().vars == {"stage": "done", "items": [1, 2]}


@pytest.mark.parametrize("name, value", [("", 1), (3, 1), ("ok", b"bytes")])
def test_set_var_refuses_bad_names_and_values(name, value):
    @df.workflow(name=f"tests.runtime.bad_var.{name!r}")
    async def bad_var() -> None:
        df.set_var(name, value)

    run = Driver(bad_var)
    assert run.closed_by.type is EventType.WORKFLOW_FAILED
    assert run.closed_by.data["type"] in ("TypeError", "SerializationError")
    assert run.events(EventType.VAR_SET) == []


@dataclasses.dataclass
class Item:
    sku: str
    qty: int
    price: Decimal


class Size(enum.Enum):
    SMALL = "s"
    LARGE = "l"


@df.workflow(name="tests.runtime.typed_handlers")
async def typed_handlers() -> list:
    received: list = []

    def add(item: Item) -> None:
        received.append(item)

    def tag(tags: set[str]) -> None:
        received.append(tags)

    def priced(size: Size, since: datetime | None = None, ids: tuple[uuid.UUID, ...] = ()) -> list:
        return [size, since, ids, [i for i in received if isinstance(i, Item)]]

    df.set_signal_handler("add", add)
    df.set_query_handler("priced", priced)
    await df.sleep(10)  # "tag" signals arriving before the handler is set are buffered, then rebuilt by it
    df.set_signal_handler("tag", tag)
    await df.wait_signal("done")
    return [type(r).__name__ for r in received]


def test_handler_arguments_are_rebuilt_from_the_handlers_type_hints():
    run = Driver(typed_handlers)
    run.signal("add", Item("a-1", 2, Decimal("9.90")))
    run.signal("tag", {"red", "new"})  # a set, sent as a list
    assert run.execution.query("priced", ["l", "2025-01-01T00:00:00+00:00", [str(uuid.UUID(int=1))]]) == [
        Size.LARGE,
        datetime(2025, 1, 1, tzinfo=UTC),
        (uuid.UUID(int=1),),
        [Item("a-1", 2, Decimal("9.90"))],
    ]
    run.fire(run.only_timer())
    run.signal("done")
    assert run.result == ["Item", "set"]
    assert run.replay().closed_by == run.closed_by
