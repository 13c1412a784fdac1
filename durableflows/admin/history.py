"""The run page's view of a history: one page of the event table and a bounded window for the timeline.

Neither ever loads a whole history: the table pages by sequence (a keyset on the
``(run, sequence)`` index, newest first as in Temporal's UI), and the timeline draws
the newest :data:`TIMELINE_EVENTS` events with a count of the earlier ones by type.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from django.db.models import Count, QuerySet

from ..models import HistoryEvent, WorkflowRun
from ..runtime import Event, EventType

#: Rows of the event table per page.
EVENTS_PER_PAGE = 100
#: Events the timeline draws at most: the newest ones.
TIMELINE_EVENTS = 500
#: Query parameters of the table's pages: events before / after a sequence number.
BEFORE, AFTER = "events_before", "events_after"


@dataclasses.dataclass
class EventPage:
    """Events of one page, newest first, and the cursors of its neighbours (``None``: no such page)."""

    events: list[Event]
    total: int
    older: int | None = None  # the next page shows the events before this sequence
    newer: int | None = None  # the previous page shows the events after this sequence

    @property
    def first(self) -> int:
        return self.events[-1].sequence if self.events else 0

    @property
    def last(self) -> int:
        return self.events[0].sequence if self.events else 0


def event_page(run: WorkflowRun, params: Mapping[str, str], size: int = EVENTS_PER_PAGE) -> EventPage:
    """The page ``?events_before=N`` or ``?events_after=N`` asks for; the newest page without (or with junk)."""
    events = _events(run)
    total = run.history_length
    after = _sequence(params.get(AFTER))
    before = _sequence(params.get(BEFORE)) if after is None else None
    if after is not None:
        rows = list(reversed(_rows(events.filter(sequence__gt=after).order_by("sequence")[: size + 1])))
        more_newer = len(rows) > size
        rows = rows[-size:] if more_newer else rows
        return _page(rows, total, older=rows[-1].sequence if rows and rows[-1].sequence > 1 else None, newer=more_newer)
    query = events.filter(sequence__lt=before) if before is not None else events
    rows = _rows(query.order_by("-sequence")[: size + 1])
    more_older = len(rows) > size
    rows = rows[:size]
    return _page(rows, total, older=rows[-1].sequence if more_older else None, newer=before is not None)


def _page(rows: list[Event], total: int, *, older: int | None, newer: bool) -> EventPage:
    page = EventPage(rows, max(total, rows[0].sequence if rows else 0), older=older)
    if newer and rows:
        page.newer = rows[0].sequence
    return page


def timeline_window(run: WorkflowRun, size: int = TIMELINE_EVENTS) -> tuple[list[Event], dict[str, int]]:
    """The newest ``size`` events in order, and how many events of each type came before them."""
    events = _events(run)
    window = list(reversed(_rows(events.order_by("-sequence")[:size])))
    earlier: dict[str, int] = {}
    if window and window[0].sequence > 1:
        counts = events.filter(sequence__lt=window[0].sequence).values("type").annotate(n=Count("pk")).order_by()
        earlier = {row["type"]: row["n"] for row in counts}
    return window, earlier


def _events(run: WorkflowRun) -> QuerySet[HistoryEvent]:
    return HistoryEvent.objects.filter(run_id=run.pk)


def _rows(query: Any) -> list[Event]:
    fields = ("sequence", "type", "timestamp", "data")
    return [Event(seq, EventType(kind), at, data) for seq, kind, at, data in query.values_list(*fields)]


def _sequence(value: str | None) -> int | None:
    try:
        number = int(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and 0 <= number < 2**31 else None
