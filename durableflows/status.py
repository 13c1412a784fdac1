"""The lifecycle states of a workflow run."""

from __future__ import annotations

import enum


class Status(enum.StrEnum):
    """What a run is doing; the values are what the database and the API store."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TERMINATED = "terminated"
    CONTINUED_AS_NEW = "continued_as_new"
    TIMED_OUT = "timed_out"

    @property
    def is_open(self) -> bool:
        return self in (Status.PENDING, Status.RUNNING)

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(s.value, s.value.replace("_", " ").capitalize()) for s in cls]


OPEN_STATUSES = (Status.PENDING.value, Status.RUNNING.value)
