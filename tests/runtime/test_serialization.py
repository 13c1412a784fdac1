"""Values cross the boundary as JSON: rich types round-trip, everything else is refused loudly."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Optional

import pydantic
import pytest

from durableflows import SerializationError
from durableflows import serialization as s


@dataclasses.dataclass
class Address:
    city: str
    since: date


@dataclasses.dataclass
class Customer:
    id: uuid.UUID
    name: str
    balance: Decimal
    addresses: list[Address]
    created: datetime


class Invoice(pydantic.BaseModel):
    number: int
    total: Decimal
    issued: datetime
    customer: str | None = None


def round_trip(value, hint=None):
    text = s.dumps(value)
    return s.decode(json.loads(text), hint)


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -7,
        2**70,
        1.5,
        "text ✓",
        [1, "a", None],
        {"nested": {"list": [1, 2, {"x": None}]}},
        datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
        datetime(2025, 1, 2, 3, 4, 5),
        date(2025, 12, 31),
        Decimal("10.00"),
        Decimal("-1E+3"),
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        {"when": date(2025, 1, 1), "amounts": [Decimal("1.10"), Decimal("2.20")]},
    ],
)
def test_plain_and_rich_values_round_trip(value):
    result = round_trip(value)
    assert result == value
    assert type(result) is type(value)


def test_datetime_keeps_its_timezone_and_is_not_confused_with_date():
    aware = datetime(2025, 1, 2, tzinfo=timezone(timedelta(hours=-5)))
    assert round_trip(aware).utcoffset() == timedelta(hours=-5)
    assert type(round_trip(date(2025, 1, 2))) is date


def test_decimal_keeps_its_exponent():
    assert str(round_trip(Decimal("10.00"))) == "10.00"


def test_tuples_become_lists_unless_the_hint_asks_for_a_tuple():
    assert round_trip((1, 2)) == [1, 2]
    assert round_trip((1, 2), tuple[int, ...]) == (1, 2)


def test_dataclass_round_trip_through_the_hint():
    customer = Customer(
        id=uuid.uuid4(),
        name="Ada",
        balance=Decimal("12.50"),
        addresses=[Address("Paris", date(2020, 1, 1)), Address("Oslo", date(2023, 5, 6))],
        created=datetime(2024, 1, 1, tzinfo=UTC),
    )
    encoded = s.encode(customer)
    assert encoded["name"] == "Ada" and "__df__" not in encoded, "dataclasses travel as their fields"
    assert round_trip(customer, Customer) == customer
    assert round_trip([customer], list[Customer]) == [customer]
    assert round_trip({"c": customer}, dict[str, Customer]) == {"c": customer}
    assert round_trip(customer, Optional[Customer]) == customer  # noqa: UP045 - the typing spelling is supported too
    assert round_trip(None, Customer | None) is None


def test_dataclass_without_hint_decodes_to_a_dict():
    assert round_trip(Address("Rome", date(2021, 2, 3))) == {"city": "Rome", "since": date(2021, 2, 3)}


def test_pydantic_model_round_trip_through_the_hint():
    invoice = Invoice(number=7, total=Decimal("99.90"), issued=datetime(2025, 3, 1, 8, tzinfo=UTC))
    result = round_trip(invoice, Invoice)
    assert isinstance(result, Invoice)
    assert result == invoice
    assert round_trip([invoice], list[Invoice]) == [invoice]


def test_decode_arguments_uses_parameter_hints():
    def fn(customer: Address, count: int, *, when: date, extra=None) -> None: ...

    args, kwargs = s.decode_arguments(
        fn, [s.encode(Address("Rome", date(2021, 2, 3))), 3, "x"], {"when": s.encode(date(2025, 1, 1))}
    )
    assert args == [Address("Rome", date(2021, 2, 3)), 3, "x"]
    assert kwargs == {"when": date(2025, 1, 1)}


def test_return_hint_reads_the_annotation():
    def fn() -> Customer: ...

    assert s.return_hint(fn) is Customer
    assert s.return_hint(None) is None


@pytest.mark.parametrize(
    "value",
    [
        b"bytes",
        bytearray(b"x"),
        float("nan"),
        float("inf"),
        -math.inf,
        {1: "non-string key"},
        {("a",): 1},
        {"__df__": "reserved"},
        object(),
        timedelta(seconds=1),
        [1, {"deep": b"x"}],
    ],
    ids=lambda v: type(v).__name__,
)
def test_unserializable_values_raise_serialization_error(value):
    with pytest.raises(SerializationError):
        s.encode(value)
    with pytest.raises(TypeError):  # SerializationError is a TypeError
        s.dumps(value)


def test_the_error_names_what_was_being_serialized():
    with pytest.raises(SerializationError, match="arguments of activity 'x'.*bytes"):
        s.check([b"x"], what="arguments of activity 'x'")


def test_serialization_error_is_a_type_error():
    assert issubclass(SerializationError, TypeError)


def test_size_limit():
    assert s.check("x" * 100, limit=102) == "x" * 100  # 100 characters and two quotes
    with pytest.raises(SerializationError, match="over the limit of 101"):
        s.check("x" * 100, limit=101)
    with pytest.raises(SerializationError, match="over the limit"):
        s.dumps({"k": "é" * 60}, limit=100)  # counted in bytes, not characters
    assert s.check("x" * 100, limit=None)


def test_the_default_limit_is_two_megabytes():
    assert s.DEFAULT_MAX_PAYLOAD_BYTES == 2 * 1024 * 1024
    with pytest.raises(SerializationError):
        s.check("x" * s.DEFAULT_MAX_PAYLOAD_BYTES)


def test_decoding_never_runs_code_named_by_the_payload():
    payload = {"__df__": "os.system", "v": "echo hi"}
    assert s.decode(payload) == payload, "unknown tags stay plain dictionaries"
    looks_tagged = {"__df__": "date", "v": "2025-01-01", "extra": 1}
    assert s.decode(looks_tagged) == looks_tagged


@pytest.mark.parametrize("value", ["a\x00b", {"k\x00": 1}, ["ok", {"nested": "\x00"}]])
def test_nul_characters_are_refused_at_the_boundary(value):
    with pytest.raises(SerializationError, match="NUL"):
        s.check(value)


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclasses.dataclass
class Parcel:
    weight: Decimal
    tags: frozenset[str]


def test_sets_travel_as_sorted_lists_and_come_back_as_the_hint_asks():
    assert s.encode({"b", "a", "c"}) == ["a", "b", "c"]
    assert s.encode(frozenset({3, 1})) == [1, 3]
    assert round_trip({"b", "a"}, set[str]) == {"a", "b"}
    assert round_trip({2, 1}, frozenset[int]) == frozenset({1, 2})
    assert round_trip({1}, list[int]) == [1]
    parcel = Parcel(Decimal("1.50"), frozenset({"fragile", "gift"}))
    assert round_trip(parcel, Parcel) == parcel


def test_enums_travel_as_their_values_and_come_back_as_members():
    assert s.encode(Colour.RED) == "red" and s.encode(Priority.HIGH) == 2
    assert round_trip(Colour.BLUE, Colour) is Colour.BLUE
    assert round_trip(Priority.HIGH, Priority) is Priority.HIGH
    assert round_trip([Priority.LOW], list[Priority]) == [Priority.LOW]
    assert round_trip({"c": Colour.RED}, dict[str, Colour]) == {"c": Colour.RED}


def test_tuples_are_rebuilt_element_by_element():
    assert round_trip((1, Decimal("2.5")), tuple[int, Decimal]) == (1, Decimal("2.5"))
    assert round_trip([{"city": "Oslo", "since": date(2020, 1, 1)}], tuple[Address, ...]) == (
        Address("Oslo", date(2020, 1, 1)),
    )


def test_union_members_are_tried_in_order_until_one_fits():
    since = date(2020, 1, 1)
    assert round_trip(Address("Oslo", since), Parcel | Address) == Address("Oslo", since)
    assert round_trip(Address("Oslo", since), Optional[Address]) == Address("Oslo", since)  # noqa: UP045
    assert round_trip(None, Optional[Address]) is None  # noqa: UP045
    assert round_trip("blue", int | Colour) is Colour.BLUE
    assert round_trip(2, Colour | Priority) is Priority.HIGH
    assert round_trip("plain", Address | str) == "plain"


def test_plain_json_is_rebuilt_into_rich_types_by_the_hint():
    # as an API client sends them: no tags, only the hint says what they are
    assert s.decode("2025-01-02T03:04:05+00:00", datetime) == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert s.decode("2025-01-02", date) == date(2025, 1, 2)
    assert s.decode("10.50", Decimal) == Decimal("10.50")
    uid = "12345678-1234-5678-1234-567812345678"
    assert s.decode(uid, uuid.UUID) == uuid.UUID(uid)
    assert s.decode({"number": 1, "total": "2.00", "issued": "2025-01-01T00:00:00"}, Invoice).total == Decimal("2.00")
