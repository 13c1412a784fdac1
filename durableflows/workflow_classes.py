"""Workflows written as classes, the way Temporal's Python SDK writes them.

``@df.run``, ``@df.signal``, ``@df.query`` and ``@df.update`` (with ``@method.validator``) mark
methods. ``@df.workflow`` on the class
builds an entry function that makes a fresh instance per run (and per replay), installs its
handlers with ``df.set_signal_handler``/``df.set_query_handler`` and awaits the run method:
everything downstream sees an ordinary workflow function with the run method's signature,
``self`` left out.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, overload

from . import registry, serialization
from .errors import UnknownWorkflowError
from .runtime import api as runtime_api

F = TypeVar("F", bound=Callable[..., Any])
G = TypeVar("G", bound=Callable[..., Any])
_MARK = "__durableflows_handler__"


@dataclasses.dataclass(frozen=True)
class HandlerMark:
    """What a decorator leaves on a method: its kind (``"run"``, ``"signal"``, ``"query"``), name and options."""

    kind: str
    name: str | None = None
    options: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class HandlerKind:
    """How the methods of one kind are checked at import and installed on each run's fresh instance."""

    check: Callable[[Callable[..., Any], str], None]
    install: Callable[[str, Callable[..., Any], HandlerMark], None]


@dataclasses.dataclass(frozen=True)
class ClassHandler:
    """One handler method of a workflow class: its kind, the name callers use and the attribute it lives in."""

    kind: str
    name: str
    attribute: str
    function: Callable[..., Any]
    mark: HandlerMark


@dataclasses.dataclass(frozen=True)
class WorkflowClass:
    """A decorated workflow class: the run method and the handlers each run installs."""

    cls: type
    run_attribute: str
    run_function: Callable[..., Any]
    handlers: tuple[ClassHandler, ...]


# -- the decorators -------------------------------------------------------------------------
def run(fn: F, /) -> F:
    """Mark the ``async def`` method a workflow class runs; it takes the start arguments."""
    if not inspect.iscoroutinefunction(fn):
        raise TypeError(f"@df.run method {getattr(fn, '__qualname__', fn)} must be an async def method")
    setattr(fn, _MARK, HandlerMark("run"))
    return fn


@overload
def signal(fn: F, /) -> F: ...
@overload
def signal(fn: None = None, /, *, name: str | None = None) -> Callable[[F], F]: ...
def signal(fn: F | None = None, /, *, name: str | None = None) -> F | Callable[[F], F]:
    """Mark a method (sync or async) as the handler of signals called ``name`` (by default its own name)."""
    return _marker("signal", fn, name)


@overload
def query(fn: F, /) -> F: ...
@overload
def query(fn: None = None, /, *, name: str | None = None) -> Callable[[F], F]: ...
def query(fn: F | None = None, /, *, name: str | None = None) -> F | Callable[[F], F]:
    """Mark a plain method as the handler of queries called ``name`` (by default its own name)."""
    return _marker("query", fn, name)


@overload
def update(fn: Callable[..., Any], /) -> Any: ...
@overload
def update(fn: None = None, /, *, name: str | None = None) -> Callable[[Callable[..., Any]], Any]: ...
def update(fn: Callable[..., Any] | None = None, /, *, name: str | None = None) -> Any:
    """Mark a method (sync or async) as the handler of updates called ``name`` (by default its own name).

    ``@method.validator`` on another method makes it the update's validator: it runs first, against the
    current state, and rejects the update by raising; nothing is recorded then. (Typed ``Any`` so that
    type checkers accept ``.validator``.)
    """

    def decorate(fn: Callable[..., Any]) -> Any:
        marked = _marker("update", fn, name)
        options = getattr(marked, _MARK).options

        def validator(check: G) -> G:
            _check_method(check, "update validator")
            if inspect.iscoroutinefunction(check):
                raise TypeError(f"update validator {check.__qualname__} must be a plain method: validators only read")
            options["validator"] = check
            return check

        marked.validator = validator
        return marked

    return decorate(fn) if fn is not None else decorate


def _marker(kind: str, fn: Any, name: str | None, **options: Any) -> Any:
    if name is not None and (not isinstance(name, str) or not name):
        raise TypeError(f"@df.{kind} names are non-empty strings")

    def decorate(fn: F) -> F:
        HANDLER_KINDS[kind].check(fn, kind)
        setattr(fn, _MARK, HandlerMark(kind, name, options))
        return fn

    return decorate(fn) if fn is not None else decorate


# -- handler kinds: a new kind is a checker, an installer (given the bound method and its mark, whose
# options carry extras such as a validator) and a decorator calling _marker with the kind's name ----
def _check_signal(fn: Callable[..., Any], kind: str) -> None:
    _check_method(fn, kind)
    if not (_binds(fn, 1) or _binds(fn, 2)):  # self alone, or self and the payload
        raise TypeError(f"@df.signal method {fn.__qualname__} must take one payload argument (or none) after self")


def _check_query(fn: Callable[..., Any], kind: str) -> None:
    _check_method(fn, kind)
    if inspect.iscoroutinefunction(fn):
        raise TypeError(f"@df.query method {fn.__qualname__} must be a plain method, not async: queries only read")


def _install_signal(name: str, method: Callable[..., Any], mark: HandlerMark) -> None:
    if not inspect.signature(method).parameters:  # bound: self is not among them
        method = _without_payload(method)
    runtime_api.set_signal_handler(name, method)


def _install_query(name: str, method: Callable[..., Any], mark: HandlerMark) -> None:
    runtime_api.set_query_handler(name, method)


def _install_update(name: str, method: Callable[..., Any], mark: HandlerMark) -> None:
    check = mark.options.get("validator")
    validator = check.__get__(getattr(method, "__self__", None)) if check is not None else None
    runtime_api.set_update_handler(name, method, validator=validator)


HANDLER_KINDS: dict[str, HandlerKind] = {
    "signal": HandlerKind(check=_check_signal, install=_install_signal),
    "query": HandlerKind(check=_check_query, install=_install_query),
    "update": HandlerKind(check=lambda fn, kind: _check_method(fn, kind), install=_install_update),
}


def _check_method(fn: Any, kind: str) -> None:
    if not inspect.isfunction(fn):
        raise TypeError(f"@df.{kind} decorates a method defined with def or async def, not {type(fn).__name__}")
    if not _parameters(fn):
        raise TypeError(f"@df.{kind} method {fn.__qualname__} must take self")


def _parameters(fn: Callable[..., Any]) -> list[inspect.Parameter]:
    return list(inspect.signature(fn).parameters.values())


def _binds(fn: Callable[..., Any], count: int) -> bool:
    try:
        inspect.signature(fn).bind(*range(count))
    except TypeError:
        return False
    return True


def _without_payload(method: Callable[[], Any]) -> Callable[[Any], Any]:
    """A signal method that takes no payload, called by the machinery that always passes one."""

    def handler(payload: Any) -> Any:
        return method()

    return handler


# -- building a workflow from a class -------------------------------------------------------------
def describe_class(cls: type) -> WorkflowClass:
    """Collect a class's run method and handlers (a subclass's first); ``TypeError`` if it is not a workflow class."""
    runs: dict[str, Callable[..., Any]] = {}
    handlers: list[ClassHandler] = []
    seen: set[str] = set()
    for klass in cls.__mro__:
        for attribute, member in vars(klass).items():
            if attribute in seen:
                continue
            seen.add(attribute)
            mark = getattr(member, _MARK, None)
            if not isinstance(mark, HandlerMark):
                continue
            if mark.kind == "run":
                runs[attribute] = member
            else:
                handlers.append(ClassHandler(mark.kind, mark.name or attribute, attribute, member, mark))
    if len(runs) != 1:
        found = f"found {len(runs)}: {', '.join(sorted(runs))}" if runs else "found none"
        raise TypeError(f"workflow class {cls.__qualname__} must have exactly one @df.run async def method ({found})")
    for kind in HANDLER_KINDS:
        names = [handler.name for handler in handlers if handler.kind == kind]
        if duplicates := sorted({name for name in names if names.count(name) > 1}):
            raise TypeError(f"workflow class {cls.__qualname__} has several @df.{kind} handlers named {duplicates}")
    try:
        inspect.signature(cls).bind()
    except TypeError:
        raise TypeError(f"workflow class {cls.__qualname__} must be constructible without arguments") from None
    except ValueError:  # no signature to check: the first run will tell
        pass
    [(run_attribute, run_function)] = runs.items()
    return WorkflowClass(cls, run_attribute, run_function, tuple(handlers))


def entry_function(spec: WorkflowClass) -> Callable[..., Any]:
    """The workflow function standing for ``spec``'s class: its name and docs, the run method's parameters and hints."""

    async def entry(*args: Any, **kwargs: Any) -> Any:
        instance = spec.cls()
        for handler in spec.handlers:
            HANDLER_KINDS[handler.kind].install(handler.name, getattr(instance, handler.attribute), handler.mark)
        return await getattr(instance, spec.run_attribute)(*args, **kwargs)

    run_fn = spec.run_function
    functools.update_wrapper(entry, run_fn)  # annotations, and through __wrapped__ the globals that resolve them
    signature = inspect.signature(run_fn)
    entry.__signature__ = signature.replace(parameters=list(signature.parameters.values())[1:])  # type: ignore[attr-defined]
    entry.__module__ = spec.cls.__module__
    entry.__name__ = spec.cls.__name__
    entry.__qualname__ = spec.cls.__qualname__
    entry.__doc__ = spec.cls.__doc__ or run_fn.__doc__
    return entry


def handler_return_hint(workflow_name: str, kind: str, name: str) -> Any:
    """The declared return type of a class workflow's ``kind`` handler called ``name``, or ``None``.

    Callers (``handle.update``, ``handle.query``) rebuild the handler's answer with it, as a typed
    Temporal client does; a function workflow's handlers declare nothing the client can see.
    """
    try:
        spec = registry.get_workflow(workflow_name).workflow_class
    except UnknownWorkflowError:
        return None
    for handler in spec.handlers if spec is not None else ():
        if handler.kind == kind and handler.name == name:
            return serialization.return_hint(handler.function)
    return None
