"""JSON in, JSON out: how values cross the boundary of a workflow or activity.

Plain JSON types pass as they are; ``datetime``, ``date``, ``Decimal`` and
``UUID`` travel as small tagged objects; dataclasses and pydantic models travel
as their fields, enums as their values, sets and tuples as lists: all are rebuilt
from the type hints of the function that receives them (workflows, activities,
signal and query handlers). Nothing is ever pickled, and decoding never imports
or runs anything named by the payload.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import datetime as dt
import decimal
import enum
import functools
import inspect
import json
import math
import types
import typing
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .errors import SerializationError

TAG = "__df__"
_TAGGED_TYPES: dict[str, Callable[[str], Any]] = {
    "datetime": dt.datetime.fromisoformat,
    "date": dt.date.fromisoformat,
    "decimal": decimal.Decimal,
    "uuid": uuid.UUID,
}

#: Deepest nesting of lists, dicts and objects a value may have; deeper values would exhaust the recursion of the
#: JSON encoders and decoders downstream.
MAX_DEPTH = 64

#: Default limit on one encoded value; settings may change it (``MAX_PAYLOAD_BYTES``).
DEFAULT_MAX_PAYLOAD_BYTES = 2 * 1024 * 1024


def encode(value: Any, *, what: str = "value") -> Any:
    """Turn ``value`` into JSON-compatible data, or raise ``SerializationError`` naming ``what``."""
    try:
        return _encode(value, 0)
    except RecursionError:  # a self-referencing value, or deeper than the interpreter allows
        raise SerializationError(f"{what} cannot be serialized: it is nested deeper than {MAX_DEPTH} levels") from None
    except SerializationError as exc:
        raise SerializationError(f"{what} cannot be serialized: {exc}") from None


def _encode(value: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise SerializationError(f"it is nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, enum.Enum):
        return _encode(value.value, depth)
    if isinstance(value, str):
        return check_text(value)
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SerializationError(f"{value!r} is not a finite number")
        return value
    if isinstance(value, dt.datetime):
        return {TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, dt.date):
        return {TAG: "date", "v": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {TAG: "decimal", "v": str(value)}
    if isinstance(value, uuid.UUID):
        return {TAG: "uuid", "v": str(value)}
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise SerializationError(f"dictionary key {key!r} is not a string")
            if key == TAG:
                raise SerializationError(f"dictionary key {TAG!r} is reserved")
            out[check_text(key)] = _encode(item, depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [_encode(item, depth + 1) for item in value]
    if isinstance(value, (set, frozenset)):
        return _sorted_if_possible([_encode(item, depth + 1) for item in value])
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name), depth + 1) for f in dataclasses.fields(value)}
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump) and not isinstance(value, type):  # pydantic v2
        return _encode(model_dump(mode="json"), depth)
    raise SerializationError(f"{type(value).__name__} is not JSON-serializable")


def check_text(text: str, *, what: str = "a string") -> str:
    """Refuse what no database stores: the NUL character (PostgreSQL) and lone UTF-16 surrogates (not UTF-8)."""
    if "\x00" in text:
        raise SerializationError(f"{what} contains a NUL character (\\x00), which cannot be stored")
    if not is_utf8(text):
        raise SerializationError(f"{what} contains a lone UTF-16 surrogate, which cannot be stored")
    return text


def is_storable_text(text: Any) -> bool:
    """True for a string every database can store (see :func:`check_text`)."""
    return isinstance(text, str) and "\x00" not in text and is_utf8(text)


def is_utf8(text: str) -> bool:
    """False for a string holding a lone UTF-16 surrogate (valid in JSON escapes, not in UTF-8)."""
    if text.isascii():  # most strings: no copy made
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def decode(data: Any, hint: Any = None) -> Any:
    """Rebuild a value from :func:`encode`'s output, shaped by an optional type hint."""
    value = _untag(data)
    return _shape(value, hint) if hint not in (None, Any, inspect.Parameter.empty) else value


def plain(value: Any) -> Any:
    """``value`` as an untyped decode would give it: dataclasses and models as dicts, sets as lists.

    For answers rendered as JSON (the REST API) after a typed decode made them objects.
    """
    return decode(encode(value))


def _untag(data: Any) -> Any:
    if isinstance(data, dict):
        if len(data) == 2 and TAG in data and "v" in data and data[TAG] in _TAGGED_TYPES:
            return _TAGGED_TYPES[data[TAG]](data["v"])
        return {k: _untag(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_untag(v) for v in data]
    return data


def _sorted_if_possible(items: list[Any]) -> list[Any]:
    """A set's items in a stable order where they can be compared (set order varies between processes)."""
    try:
        return sorted(items)
    except TypeError:
        return items


class _Mismatch(Exception):
    """The value does not fit the hint (a Union then tries its next member)."""


def _shape(value: Any, hint: Any) -> Any:
    """Rebuild what the hint asks for; where the value does not fit it, leave the value as it is."""
    try:
        return _fit(value, hint)
    except _Mismatch:
        return value


_SCALARS: dict[type, Callable[[Any], Any]] = {
    dt.datetime: lambda v: dt.datetime.fromisoformat(v) if isinstance(v, str) else _refuse(),
    dt.date: lambda v: dt.date.fromisoformat(v) if isinstance(v, str) else _refuse(),
    decimal.Decimal: lambda v: decimal.Decimal(str(v)) if isinstance(v, (str, int, float)) else _refuse(),
    uuid.UUID: lambda v: uuid.UUID(v) if isinstance(v, str) else _refuse(),
    float: lambda v: float(v) if isinstance(v, int) and not isinstance(v, bool) else _refuse(),
}


def _refuse() -> Any:
    raise _Mismatch


def _fit(value: Any, hint: Any) -> Any:
    """``value`` rebuilt as ``hint`` says, or ``_Mismatch``."""
    if hint in (None, Any, inspect.Parameter.empty, object):
        return value
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return _fit(value, typing.get_args(hint)[0])
    if origin in (typing.Union, types.UnionType):
        return _fit_union(value, typing.get_args(hint))
    if origin is typing.Literal:
        if value in typing.get_args(hint):
            return value
        raise _Mismatch
    if hint is type(None):
        if value is None:
            return None
        raise _Mismatch
    if origin is not None:
        return _fit_generic(value, origin, typing.get_args(hint))
    if not isinstance(hint, type):
        return value  # a TypeVar, a string left unresolved, ...
    if issubclass(hint, enum.Enum):
        if isinstance(value, hint):
            return value
        try:
            return hint(value)
        except ValueError:
            raise _Mismatch from None
    if hint in (list, tuple, set, frozenset):
        return _fit_generic(value, hint, ())
    if hint is dict:
        return _fit_generic(value, dict, ())
    if isinstance(value, hint) and not (hint is int and isinstance(value, bool)):
        return value
    if isinstance(value, dict):
        if dataclasses.is_dataclass(hint):
            field_hints = type_hints(hint)
            try:
                return hint(**{k: _fit(v, field_hints.get(k)) for k, v in value.items()})
            except TypeError:
                raise _Mismatch from None
        validate = getattr(hint, "model_validate", None)
        if callable(validate):
            try:
                return validate(value)
            except ValueError:  # pydantic's ValidationError
                raise _Mismatch from None
    convert = _SCALARS.get(hint)
    if convert is not None:
        try:
            return convert(value)
        except (ValueError, decimal.InvalidOperation):
            raise _Mismatch from None
    raise _Mismatch


def _fit_union(value: Any, options: tuple[Any, ...]) -> Any:
    if value is None and type(None) in options:
        return None
    for option in options:  # in order: the first member the value fits wins
        if option is type(None):
            continue
        try:
            return _fit(value, option)
        except _Mismatch:
            continue
    raise _Mismatch


_SEQUENCES = (list, Sequence, collections.abc.MutableSequence, collections.abc.Iterable, collections.abc.Collection)


def _fit_generic(value: Any, origin: Any, args: tuple[Any, ...]) -> Any:
    if origin in (dict, Mapping, collections.abc.MutableMapping):
        if not isinstance(value, dict):
            raise _Mismatch
        return {k: _fit(v, args[1]) for k, v in value.items()} if len(args) == 2 else value
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise _Mismatch
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_fit(v, args[0]) for v in value)
        if args and args != ((),):
            if len(args) != len(value):
                raise _Mismatch
            return tuple(_fit(v, a) for v, a in zip(value, args, strict=True))
        return tuple(value)
    items = [_fit(v, args[0]) for v in value] if args else list(value)
    if origin in (set, frozenset, collections.abc.Set, collections.abc.MutableSet):
        try:
            return frozenset(items) if origin is frozenset else set(items)
        except TypeError:  # unhashable items
            raise _Mismatch from None
    if origin in _SEQUENCES:
        return items
    raise _Mismatch


def dumps(value: Any, *, what: str = "value", limit: int | None = DEFAULT_MAX_PAYLOAD_BYTES) -> str:
    """Encode to a JSON string, refusing values over ``limit`` bytes."""
    text = json.dumps(encode(value, what=what), separators=(",", ":"), ensure_ascii=False)
    if limit is not None and len(text.encode()) > limit:
        raise SerializationError(f"{what} is {len(text.encode())} bytes, over the limit of {limit}")
    return text


def check(value: Any, *, what: str = "value", limit: int | None = DEFAULT_MAX_PAYLOAD_BYTES) -> Any:
    """Encode ``value`` and enforce the size limit; returns the encoded data."""
    return check_size(encode(value, what=what), what=what, limit=limit)


def check_size(encoded: Any, *, what: str = "value", limit: int | None = DEFAULT_MAX_PAYLOAD_BYTES) -> Any:
    """Enforce the size limit on data :func:`encode` made; returns it."""
    if limit is not None:
        size = len(json.dumps(encoded, separators=(",", ":"), ensure_ascii=False).encode())
        if size > limit:
            raise SerializationError(f"{what} is {size} bytes, over the limit of {limit}")
    return encoded


def decode_arguments(
    fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any] | None = None
) -> tuple[list, dict]:
    """Decode positional and keyword arguments with the hints of ``fn``'s parameters."""
    hints = type_hints(fn)
    params = _positional_names(fn)
    out_args = [decode(a, hints.get(params[i]) if i < len(params) else None) for i, a in enumerate(args)]
    out_kwargs = {k: decode(v, hints.get(k)) for k, v in (kwargs or {}).items()}
    return out_args, out_kwargs


def return_hint(fn: Callable[..., Any] | None) -> Any:
    """The return annotation of ``fn``, resolved, or ``None``."""
    return type_hints(fn).get("return") if fn is not None else None


def type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """``fn``'s resolved type hints, worked out once per function (resolving string annotations is costly)."""
    try:
        return _resolved_hints(_function_of(fn))
    except Exception:  # unresolved forward references (not cached: they may resolve later): no hints
        return {}


@functools.lru_cache(maxsize=4096)
def _resolved_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    return typing.get_type_hints(fn)


def _positional_names(fn: Callable[..., Any]) -> tuple[str, ...]:
    if inspect.ismethod(fn):
        return _function_positional_names(fn.__func__)[1:]
    return _function_positional_names(fn)


@functools.lru_cache(maxsize=4096)
def _function_positional_names(fn: Callable[..., Any]) -> tuple[str, ...]:
    parameters = inspect.signature(fn).parameters.values()
    return tuple(p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


def _function_of(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A bound method's function: the caches key on it, so they never keep the objects of workflow classes alive."""
    return fn.__func__ if inspect.ismethod(fn) else fn
