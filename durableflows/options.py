"""Retry policies and activity options: plain values, stored with each activity as JSON."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any, overload

Duration = timedelta | int | float


@overload
def to_seconds(value: Duration, *, name: str = ...) -> float: ...
@overload
def to_seconds(value: None, *, name: str = ...) -> None: ...
@overload
def to_seconds(value: Duration | None, *, name: str = ...) -> float | None: ...
def to_seconds(value: Duration | None, *, name: str = "duration") -> float | None:
    """Accept a ``timedelta`` or seconds; ``None`` stays ``None``."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise TypeError(f"{name} must be a timedelta or a number of seconds, not {type(value).__name__}")
    if seconds < 0:
        raise ValueError(f"{name} must not be negative")
    return seconds


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How a failed activity attempt is retried.

    The n-th retry waits ``initial_interval * backoff_coefficient ** (n - 1)``,
    capped at ``maximum_interval`` (default: 100 x the initial interval).
    ``maximum_attempts=0`` retries without limit. Errors whose class name is in
    ``non_retryable_errors`` fail the activity at once.
    """

    maximum_attempts: int = 0
    initial_interval: Duration = timedelta(seconds=1)
    backoff_coefficient: float = 2.0
    maximum_interval: Duration | None = None
    non_retryable_errors: tuple[str, ...] | list[str] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.maximum_attempts, int) or self.maximum_attempts < 0:
            raise ValueError("maximum_attempts must be a whole number >= 0 (0 means unlimited)")
        if to_seconds(self.initial_interval, name="initial_interval") <= 0:
            raise ValueError("initial_interval must be positive")
        if self.maximum_interval is not None and to_seconds(self.maximum_interval, name="maximum_interval") <= 0:
            raise ValueError("maximum_interval must be positive")
        if self.backoff_coefficient < 1:
            raise ValueError("backoff_coefficient must be >= 1")
        if isinstance(self.non_retryable_errors, str):
            raise TypeError("non_retryable_errors must be a list of exception class names")
        object.__setattr__(self, "non_retryable_errors", tuple(self.non_retryable_errors))

    def next_delay(self, failed_attempt: int, error_type: str) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` when there is none."""
        if error_type in self.non_retryable_errors:
            return None
        if self.maximum_attempts and failed_attempt >= self.maximum_attempts:
            return None
        initial = to_seconds(self.initial_interval)
        cap = to_seconds(self.maximum_interval) if self.maximum_interval is not None else initial * 100
        try:
            return min(initial * self.backoff_coefficient ** (failed_attempt - 1), cap)
        except OverflowError:  # after a thousand or so attempts without limit
            return cap

    def to_json(self) -> dict[str, Any]:
        return {
            "maximum_attempts": self.maximum_attempts,
            "initial_interval": to_seconds(self.initial_interval),
            "backoff_coefficient": self.backoff_coefficient,
            "maximum_interval": to_seconds(self.maximum_interval),
            "non_retryable_errors": list(self.non_retryable_errors),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RetryPolicy:
        return cls(**data)


@dataclasses.dataclass(frozen=True)
class ActivityOptions:
    """Timeouts, retry policy and queue of one activity call (all seconds).

    ``transactional=True`` runs the (sync) activity inside the transaction that records its
    completion, so its writes to the default database happen exactly once.
    """

    start_to_close_timeout: float = 300.0
    schedule_to_close_timeout: float | None = None
    heartbeat_timeout: float | None = None
    retry: RetryPolicy = dataclasses.field(default_factory=RetryPolicy)
    queue: str | None = None
    transactional: bool = False

    OVERRIDABLE = (
        "start_to_close_timeout",
        "schedule_to_close_timeout",
        "heartbeat_timeout",
        "retry",
        "queue",
        "transactional",
    )

    @classmethod
    def build(cls, **options: Any) -> ActivityOptions:
        """Validate user-facing options (durations as timedelta or seconds)."""
        unknown = set(options) - set(cls.OVERRIDABLE)
        if unknown:
            raise TypeError(f"unknown activity option(s): {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for key in ("start_to_close_timeout", "schedule_to_close_timeout", "heartbeat_timeout"):
            if key in options:
                values[key] = to_seconds(options[key], name=key)
        if values.get("start_to_close_timeout", 1) in (None, 0):
            raise ValueError("start_to_close_timeout must be positive")
        if "retry" in options:
            retry = options["retry"] if options["retry"] is not None else RetryPolicy()
            if not isinstance(retry, RetryPolicy):
                raise TypeError("retry must be a df.RetryPolicy")
            values["retry"] = retry
        if "queue" in options:
            if options["queue"] is not None and not isinstance(options["queue"], str):
                raise TypeError("queue must be a string")
            values["queue"] = options["queue"]
        if "transactional" in options:
            if not isinstance(options["transactional"], bool):
                raise TypeError("transactional must be True or False")
            values["transactional"] = options["transactional"]
        built = cls(**values)
        built.check_transactional()
        return built

    def merged(self, **overrides: Any) -> ActivityOptions:
        """These options with some replaced, validated like ``build()``."""
        built = ActivityOptions.build(**overrides)
        merged = dataclasses.replace(self, **{k: getattr(built, k) for k in overrides})
        merged.check_transactional()
        return merged

    def check_transactional(self) -> None:
        """Refuse a heartbeat timeout on a transactional activity: its heartbeats are not written while it runs."""
        if self.transactional and self.heartbeat_timeout:
            raise ValueError(
                "a transactional activity cannot have a heartbeat_timeout: its heartbeats are only saved "
                "with its outcome, so none would arrive in time; bound it with start_to_close_timeout"
            )

    def to_json(self) -> dict[str, Any]:
        return {
            "start_to_close_timeout": self.start_to_close_timeout,
            "schedule_to_close_timeout": self.schedule_to_close_timeout,
            "heartbeat_timeout": self.heartbeat_timeout,
            "retry": self.retry.to_json(),
            "queue": self.queue,
            # only when set, so the recorded options of every other activity stay as they were
            **({"transactional": True} if self.transactional else {}),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ActivityOptions:
        return cls(**{**data, "retry": RetryPolicy.from_json(data["retry"])})
