"""Checking a start's arguments against the workflow's signature, before anything is stored.

A call that cannot bind (too many or too few arguments) or passes a plain value of the
wrong type (a ``str`` for an ``int`` parameter) would otherwise be accepted and fail in a
worker. Hints the check cannot judge cheaply (dataclasses, generics, models) are left to
decoding, which rebuilds them from JSON.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable
from typing import Any

from .errors import InvalidArguments
from .serialization import type_hints

#: Hints checked with ``isinstance``; a ``bool`` is not accepted for ``int`` or ``float``, an ``int`` is for ``float``.
_PLAIN = (str, int, float, bool, list, dict)


def check_arguments(fn: Callable[..., Any], args: tuple[Any, ...] | list[Any], *, what: str) -> None:
    """Raise ``df.InvalidArguments`` naming the parameter when ``args`` do not suit ``fn``'s signature."""
    signature = _signature(fn)
    if signature is None:  # no signature to check against
        return
    try:
        bound = signature.bind(*args)
    except TypeError as exc:
        raise InvalidArguments(f"{what} do not fit its signature {signature}: {exc}") from None
    hints = type_hints(fn)
    for name, value in bound.arguments.items():
        parameter = signature.parameters[name]
        if parameter.kind is parameter.VAR_POSITIONAL:
            continue
        hint = hints.get(name)
        if hint is not None and not _fits(value, hint):
            raise InvalidArguments(f"{what}: {name!r} must be {_describe(hint)}, not {type(value).__name__}")


@functools.lru_cache(maxsize=4096)
def _signature(fn: Callable[..., Any]) -> inspect.Signature | None:
    """``fn``'s signature, worked out once per function (starts are a hot path)."""
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def _fits(value: Any, hint: Any) -> bool:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        members = typing.get_args(hint)
        if not all(member is type(None) or member in _PLAIN for member in members):
            return True  # a union with a type the check cannot judge
        return any(_fits(value, member) for member in members)
    if hint is type(None):
        return value is None
    if hint not in _PLAIN:
        return True
    if isinstance(value, bool):
        return hint is bool
    if hint is float:
        return isinstance(value, (int, float))
    return isinstance(value, hint)


def _describe(hint: Any) -> str:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_describe(member) for member in typing.get_args(hint))
    return "None" if hint is type(None) else getattr(hint, "__name__", str(hint))
