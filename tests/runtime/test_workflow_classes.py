"""Workflows written as classes: ``@df.run``, ``@df.signal`` and ``@df.query`` methods on a fresh instance per run."""

from __future__ import annotations

import dataclasses
import enum
import gc
import inspect
import weakref
from decimal import Decimal

import pytest

import durableflows as df
from durableflows import registry, serialization
from durableflows.arguments import check_arguments
from durableflows.runtime import EventType

from .harness import Driver


class Size(enum.Enum):
    SMALL = "s"
    LARGE = "l"


@dataclasses.dataclass
class Item:
    sku: str
    price: Decimal
    size: Size = Size.SMALL


@df.activity(name="classes.ship")
def ship(skus: list[str]) -> str:
    raise AssertionError("not called")


@df.workflow(name="classes.cart")
class Cart:
    """Collects items by signal until paid; answers how many and what they cost."""

    instances = 0

    def __init__(self) -> None:
        type(self).instances += 1
        self.items: list[Item] = []
        self.paid = False

    @df.run
    async def run(self, owner: str, discount: Decimal = Decimal("0")) -> Item:
        await df.wait_condition(lambda: self.paid)
        total = sum((item.price for item in self.items), Decimal("0")) - discount
        return Item(owner, total, Size.LARGE if len(self.items) > 1 else Size.SMALL)

    @df.signal
    def add(self, item: Item) -> None:
        assert isinstance(item, Item) and isinstance(item.size, Size)  # rebuilt from the hints
        self.items.append(item)

    @df.signal(name="pay")
    def mark_paid(self) -> None:
        self.paid = True

    @df.query
    def count(self) -> int:
        return len(self.items)

    @df.query(name="costs")
    def total_of(self, size: Size) -> Decimal:
        return sum((item.price for item in self.items if item.size is size), Decimal("0"))


def _item(sku: str, price: str, size: Size = Size.SMALL) -> Item:
    return Item(sku, Decimal(price), size)  # the driver sends it encoded, as a client would


def test_the_decorator_keeps_the_class_and_registers_a_workflow_with_the_run_methods_signature():
    assert inspect.isclass(Cart) and Cart.__name__ == "Cart"
    definition = registry.get_workflow(Cart)
    assert definition is registry.get_workflow("classes.cart")
    assert definition.workflow_class is not None and definition.workflow_class.cls is Cart
    assert str(inspect.signature(definition.fn)) == "(owner: 'str', discount: 'Decimal' = Decimal('0')) -> 'Item'"
    assert serialization.return_hint(definition.fn) is Item
    assert inspect.getdoc(definition.fn).startswith("Collects items by signal")
    kinds = {(h.kind, h.name, h.attribute) for h in definition.workflow_class.handlers}
    assert kinds == {
        ("signal", "add", "add"), ("signal", "pay", "mark_paid"), ("query", "count", "count"),
        ("query", "costs", "total_of"),
    }  # fmt: skip


def test_signals_are_rebuilt_from_the_method_hints_and_queries_see_them():
    run = Driver(Cart, "ann")
    run.signal("add", _item("tea", "2.50"))
    run.signal("add", _item("pot", "20.00", Size.LARGE))
    assert run.execution.query("count", []) == 2
    assert run.execution.query("costs", ["l"]) == Decimal("20.00")  # the query's argument rebuilt too
    assert run.closed_by is None
    run.signal("pay")
    assert serialization.decode(run.closed_by.data["result"], Item) == Item("ann", Decimal("22.50"), Size.LARGE)


def test_start_arguments_are_decoded_from_the_run_method_hints_without_self():
    @df.workflow(name="classes.typed_start")
    class TypedStart:
        @df.run
        async def run(self, item: Item, sizes: set[Size]) -> str:
            assert isinstance(item, Item) and isinstance(item.size, Size)
            assert sizes == {Size.LARGE}
            return item.sku

    assert Driver(TypedStart, _item("tea", "2.50"), {Size.LARGE}).result == "tea"


def test_every_run_and_every_replay_builds_a_fresh_instance():
    before = Cart.instances
    run = Driver(Cart, "ann")
    run.signal("add", _item("tea", "2.50"))
    replayed = run.replay()
    assert Cart.instances == before + 2
    assert replayed.query("count", []) == 1  # the replayed instance rebuilt its state from the history
    other = Driver(Cart, "bob", run_id="run-2")
    assert other.execution.query("count", []) == 0


def test_decoding_handler_arguments_keeps_no_instance_alive():
    run = Driver(Cart, "ann")
    run.signal("add", _item("tea", "2.50"))  # the handler's hints and parameters are looked up (and cached)
    assert run.execution.query("costs", ["s"]) == Decimal("2.50")
    instance = weakref.ref(run.execution.query_handlers["count"].__self__)
    run.execution.discard()
    del run
    gc.collect()
    assert instance() is None


def test_a_signal_before_anything_else_reaches_its_method():
    @df.workflow(name="classes.greeter")
    class Greeter:
        def __init__(self) -> None:
            self.names: list[str] = []

        @df.run
        async def run(self) -> list[str]:
            await df.wait_condition(lambda: len(self.names) == 2)
            return self.names

        @df.signal
        async def greet(self, name: str) -> None:  # async handlers may run activities
            self.names.append(await df.execute_activity(ship, [name]))

    run = Driver(Greeter)
    run.signal("greet", "ann")
    run.signal("greet", "bob")
    run.complete(1, "ANN")
    run.complete(2, "BOB")
    assert run.result == ["ANN", "BOB"]
    assert run.replay().closed_by == run.closed_by


def test_handlers_and_wait_signal_mix_and_unhandled_names_stay_buffered():
    @df.workflow(name="classes.mixed")
    class Mixed:
        def __init__(self) -> None:
            self.seen = 0

        @df.run
        async def run(self) -> list:
            first = await df.wait_signal("plain")
            return [first, self.seen]

        @df.signal
        def tick(self, _: object) -> None:
            self.seen += 1

    run = Driver(Mixed)
    run.signal("tick", None)
    run.signal("plain", {"a": 1})
    assert run.result == [{"a": 1}, 1]


def test_continue_as_new_starts_the_next_run_with_its_arguments():
    @df.workflow(name="classes.looper")
    class Looper:
        @df.run
        async def run(self, round: int) -> None:
            df.continue_as_new(round + 1)

    run = Driver(Looper, 1)
    assert run.closed_by.type is EventType.WORKFLOW_CONTINUED_AS_NEW
    assert run.closed_by.data["args"] == [2]


def test_a_subclass_inherits_handlers_and_is_a_workflow_only_when_decorated():
    class Base:
        def __init__(self) -> None:
            self.notes: list[str] = []

        @df.run
        async def run(self) -> list[str]:
            await df.wait_condition(lambda: "end" in self.notes)
            return self.notes

        @df.signal
        def note(self, text: str) -> None:
            self.notes.append(text)

    @df.workflow(name="classes.loud")
    class Loud(Base):
        @df.signal
        def note(self, text: str) -> None:  # overrides the base handler under the same name
            self.notes.append(text.upper() if text != "end" else text)

    class Undecorated(Loud):
        pass

    run = Driver(Loud)
    run.signal("note", "hi")
    run.signal("note", "end")
    assert run.result == ["HI", "end"]
    with pytest.raises(df.UnknownWorkflowError):
        registry.get_workflow(Undecorated)


def test_the_start_argument_check_uses_the_run_method_without_self():
    fn = registry.get_workflow(Cart).fn
    check_arguments(fn, ["ann"], what="arguments")
    with pytest.raises(df.InvalidArguments, match="'owner' must be str"):
        check_arguments(fn, [1], what="arguments")
    with pytest.raises(df.InvalidArguments, match="do not fit"):
        check_arguments(fn, ["ann", 1, 2], what="arguments")


# -- mistakes are TypeErrors at import ------------------------------------------------------------
def test_a_class_without_a_run_method_is_refused():
    with pytest.raises(TypeError, match="exactly one @df.run .*found none"):

        @df.workflow(name="classes.no_run")
        class NoRun:
            async def run(self) -> None: ...


def test_a_class_with_two_run_methods_is_refused():
    with pytest.raises(TypeError, match="exactly one @df.run .*found 2: first, second"):

        @df.workflow(name="classes.two_runs")
        class TwoRuns:
            @df.run
            async def first(self) -> None: ...

            @df.run
            async def second(self) -> None: ...


def test_a_sync_run_method_is_refused():
    with pytest.raises(TypeError, match="must be an async def method"):

        class SyncRun:
            @df.run
            def run(self) -> None: ...


def test_an_async_query_is_refused():
    with pytest.raises(TypeError, match="must be a plain method, not async"):

        class AsyncQuery:
            @df.query
            async def count(self) -> int: ...


def test_a_signal_method_takes_at_most_one_payload():
    with pytest.raises(TypeError, match="one payload argument"):

        class TwoPayloads:
            @df.signal
            def add(self, sku: str, qty: int) -> None: ...

    with pytest.raises(TypeError, match="one payload argument"):

        class KeywordOnly:
            @df.signal
            def add(self, *, sku: str) -> None: ...

    class Optional:  # a second parameter with a default is left alone
        @df.signal
        def add(self, sku: str, qty: int = 1) -> None: ...


def test_two_handlers_of_one_name_are_refused():
    with pytest.raises(TypeError, match=r"several @df.query handlers named \['count'\]"):

        @df.workflow(name="classes.twice")
        class Twice:
            @df.run
            async def run(self) -> None: ...

            @df.query
            def count(self) -> int: ...

            @df.query(name="count")
            def size(self) -> int: ...


def test_a_class_that_needs_constructor_arguments_is_refused():
    with pytest.raises(TypeError, match="constructible without arguments"):

        @df.workflow(name="classes.needs_args")
        class NeedsArgs:
            def __init__(self, db: object) -> None: ...

            @df.run
            async def run(self) -> None: ...


def test_a_plain_function_or_an_empty_name_is_not_a_handler():
    with pytest.raises(TypeError, match="decorates a method"):
        df.signal(staticmethod(lambda: None))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="non-empty strings"):
        df.query(name="")
    with pytest.raises(TypeError, match="async def function or a class"):
        df.workflow(lambda: None)  # type: ignore[arg-type]
