"""``@df.workflow`` and ``@df.activity``: the process-wide registry of definitions.

Activities may also be bound methods of objects the user builds with their
dependencies: ``df.activity(obj.method)``, or ``df.register_activities(obj)`` for
every method marked ``@df.activity_method``.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, overload

from .errors import UnknownWorkflowError
from .options import ActivityOptions

if TYPE_CHECKING:
    from .workflow_classes import WorkflowClass

F = TypeVar("F", bound=Callable[..., Any])
W = TypeVar("W", bound=Callable[..., Awaitable[Any]])
C = TypeVar("C", bound=type)
_ATTR = "__durableflows__"


@dataclasses.dataclass(frozen=True)
class WorkflowDefinition:
    """A registered workflow; ``fn`` is what runs it (for a class, a function that builds an instance per run)."""

    name: str
    fn: Callable[..., Any]
    workflow_class: WorkflowClass | None = None


@dataclasses.dataclass(frozen=True)
class ActivityDefinition:
    name: str
    fn: Callable[..., Any]
    options: ActivityOptions

    def __post_init__(self) -> None:
        refuse_async_transactional(self.fn, self.options)

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.fn)


def refuse_async_transactional(fn: Callable[..., Any], options: ActivityOptions) -> None:
    """An ``async def`` activity cannot be transactional: Django's transactions belong to one thread and
    an async activity runs on a loop thread of its own, where the ORM refuses synchronous calls."""
    if options.transactional and inspect.iscoroutinefunction(fn):
        what = getattr(fn, "__qualname__", fn)
        raise TypeError(f"activity {what} is async def: only a sync activity can be transactional=True")


@dataclasses.dataclass(frozen=True)
class ActivityMethod:
    """The mark ``@df.activity_method`` leaves on a method: its activity name and options."""

    name: str | None
    options: dict[str, Any]


_workflows: dict[str, WorkflowDefinition] = {}
_activities: dict[str, ActivityDefinition] = {}
#: Activities that cannot carry their definition as an attribute (bound methods), by callable.
_activity_callables: dict[Callable[..., Any], ActivityDefinition] = {}


def _is_async_function(fn: object) -> bool:
    """``inspect.iscoroutinefunction`` without its type narrowing, which would lose the decorated signature."""
    return inspect.iscoroutinefunction(fn)


def _default_name(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def _register(table: dict[str, Any], kind: str, definition: Any) -> None:
    existing = table.get(definition.name)
    same_source = existing is not None and _default_name(existing.fn) == _default_name(definition.fn)
    if existing is not None and not same_source:  # a re-imported module may register again
        raise ValueError(f"{kind} name {definition.name!r} is already registered by {_default_name(existing.fn)}")
    table[definition.name] = definition


class WorkflowDecorator(Protocol):
    """``@df.workflow(name=...)``: returns what it decorates, a function or a class, with its type."""

    @overload
    def __call__(self, fn: W, /) -> W: ...
    @overload
    def __call__(self, fn: C, /) -> C: ...


@overload
def workflow(fn: W, /) -> W: ...
@overload
def workflow(fn: C, /) -> C: ...
@overload
def workflow(fn: None = None, /, *, name: str | None = None) -> WorkflowDecorator: ...
def workflow(fn: Any = None, /, *, name: str | None = None) -> Any:
    """Register an ``async def`` function, or a class with a ``@df.run`` method, as a workflow; returned unchanged."""

    def decorate(fn: Any) -> Any:
        if inspect.isclass(fn):
            from .workflow_classes import describe_class, entry_function

            spec = describe_class(fn)
            entry = entry_function(spec)
            definition = WorkflowDefinition(name=name or _default_name(fn), fn=entry, workflow_class=spec)
            _register(_workflows, "workflow", definition)
            setattr(definition.fn, _ATTR, definition)
        elif not _is_async_function(fn):
            what = getattr(fn, "__qualname__", fn)
            raise TypeError(f"workflow {what} must be an async def function or a class with a @df.run method")
        else:
            definition = WorkflowDefinition(name=name or _default_name(fn), fn=fn)
            _register(_workflows, "workflow", definition)
        setattr(fn, _ATTR, definition)
        return fn

    return decorate(fn) if fn is not None else decorate


@overload
def activity(fn: F, /, *, name: str | None = None, **options: Any) -> F: ...
@overload
def activity(fn: None = None, /, *, name: str | None = None, **options: Any) -> Callable[[F], F]: ...
def activity(fn: F | None = None, /, *, name: str | None = None, **options: Any) -> F | Callable[[F], F]:
    """Register a function (or a bound method) as an activity with its default options; it stays callable.

    Options (see ``ActivityOptions``): ``start_to_close_timeout``, ``schedule_to_close_timeout``,
    ``heartbeat_timeout``, ``retry``, ``queue`` and ``transactional`` (sync activities only).
    """

    def decorate(fn: F) -> F:
        if not callable(fn):
            raise TypeError("@df.activity decorates a function")
        definition = ActivityDefinition(name=name or _default_name(fn), fn=fn, options=ActivityOptions.build(**options))
        _register(_activities, "activity", definition)
        if inspect.ismethod(fn):  # a bound method takes no attributes: found through its (self, function) pair
            _activity_callables[fn] = definition
        else:
            setattr(fn, _ATTR, definition)
        return fn

    return decorate(fn) if fn is not None else decorate


@overload
def activity_method(fn: F, /, *, name: str | None = None, **options: Any) -> F: ...
@overload
def activity_method(fn: None = None, /, *, name: str | None = None, **options: Any) -> Callable[[F], F]: ...
def activity_method(fn: F | None = None, /, *, name: str | None = None, **options: Any) -> F | Callable[[F], F]:
    """Mark a method as an activity, registered per object by ``df.register_activities(obj)``."""

    def decorate(fn: F) -> F:
        if not callable(fn):
            raise TypeError("@df.activity_method decorates a method")
        # bad options fail here, at import, not at registration
        refuse_async_transactional(fn, ActivityOptions.build(**options))
        setattr(fn, _ATTR, ActivityMethod(name, options))
        return fn

    return decorate(fn) if fn is not None else decorate


def register_activities(obj: object) -> list[str]:
    """Register every ``@df.activity_method`` of ``obj`` as an activity bound to it; returns their names."""
    names: list[str] = []
    seen: set[str] = set()
    for cls in type(obj).__mro__:  # a subclass's methods first, in the order they are defined
        for attr, member in vars(cls).items():
            if attr in seen:
                continue
            seen.add(attr)
            mark = getattr(member, _ATTR, None)
            if isinstance(mark, ActivityMethod):
                method = getattr(obj, attr)
                activity(method, name=mark.name, **mark.options)
                names.append(_activity_callables[method].name)
    return names


def get_workflow(ref: str | Callable[..., Any]) -> WorkflowDefinition:
    """The workflow registered as ``ref`` (a name, a decorated function or a decorated class)."""
    return _lookup(ref, _workflows, WorkflowDefinition, "workflow")


def get_activity(ref: str | Callable[..., Any]) -> ActivityDefinition:
    """The activity registered as ``ref``: a name, a decorated function, a registered bound method or its method."""
    if not isinstance(ref, str):
        definition = find_activity(ref)
        if definition is not None:
            return definition
    return _lookup(ref, _activities, ActivityDefinition, "activity")


def find_activity(ref: Any) -> ActivityDefinition | None:
    """The activity a callable stands for, if it is one: decorated, a registered bound method or activity method."""
    try:
        definition = _activity_callables.get(ref)
    except TypeError:  # unhashable
        definition = None
    if definition is not None:
        return definition
    mark = getattr(ref, _ATTR, None)
    if isinstance(mark, ActivityDefinition):
        return mark
    if isinstance(mark, ActivityMethod):  # the method of a class whose objects register their activities
        return _activities.get(mark.name or _default_name(ref))
    return None


def _lookup(ref: Any, table: dict[str, Any], cls: type, kind: str) -> Any:
    if isinstance(ref, str):
        try:
            return table[ref]
        except KeyError:
            raise UnknownWorkflowError(f"no {kind} is registered as {ref!r}") from None
    # a class's own definition only: a subclass of a workflow class is not that workflow
    definition = vars(ref).get(_ATTR) if isinstance(ref, type) else getattr(ref, _ATTR, None)
    if isinstance(definition, cls):
        return definition
    if callable(ref):
        raise UnknownWorkflowError(f"{getattr(ref, '__qualname__', ref)!r} is not decorated with @df.{kind}")
    raise TypeError(f"expected a {kind} name or function, not {type(ref).__name__}")


def workflows() -> dict[str, WorkflowDefinition]:
    """All registered workflows by name."""
    return dict(_workflows)


def activities() -> dict[str, ActivityDefinition]:
    """All registered activities by name."""
    return dict(_activities)
