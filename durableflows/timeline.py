"""A run's history as a picture: lanes of bars (activities, timers, children, updates) and marks (signals, retries).

:func:`build_timeline` turns events (``handle.history()``) into a small model;
:func:`render_svg` draws it as an inline SVG, server-side, with no script and no
external assets, so the admin can show it anywhere.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .runtime import Event, EventType

#: Fill colour of each bar state and mark kind (the SVG also carries a CSS class of the same name).
COLOURS = {
    "completed": "#2e7d32",
    "running": "#1565c0",
    "scheduled": "#90a4ae",
    "failed": "#c62828",
    "timed_out": "#ef6c00",
    "cancelled": "#757575",
    "terminated": "#6a1b9a",
    "continued_as_new": "#00838f",
    "signal": "#f9a825",
    "retry": "#ef6c00",
    "cancel": "#6d4c41",
}

_CLOSING_STATE = {
    EventType.WORKFLOW_COMPLETED: "completed",
    EventType.WORKFLOW_FAILED: "failed",
    EventType.WORKFLOW_CANCELLED: "cancelled",
    EventType.WORKFLOW_TERMINATED: "terminated",
    EventType.WORKFLOW_CONTINUED_AS_NEW: "continued_as_new",
    EventType.WORKFLOW_TIMED_OUT: "timed_out",
}


@dataclasses.dataclass
class Bar:
    """Something that lasted: an activity, a timer, a child workflow, the run itself."""

    start: datetime
    end: datetime | None  # None: still going
    state: str
    label: str
    queued_until: datetime | None = None  # an activity's scheduled-but-not-started part ends here


@dataclasses.dataclass(frozen=True)
class Mark:
    """Something that happened at an instant: a signal, a retry, a cancel request."""

    at: datetime
    kind: str
    label: str


@dataclasses.dataclass
class Lane:
    label: str
    bars: list[Bar] = dataclasses.field(default_factory=list)
    marks: list[Mark] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Timeline:
    start: datetime
    end: datetime
    lanes: list[Lane]
    hidden_lanes: int = 0  # lanes left out (the oldest) to keep the picture readable

    @property
    def span(self) -> float:
        return max((self.end - self.start).total_seconds(), 0.001)


def build_timeline(
    events: Sequence[Event],
    *,
    now: datetime,
    pending_activities: Iterable[dict[str, Any]] = (),
    max_lanes: int | None = None,
) -> Timeline:
    """The lanes of a run: the run, one per activity / timer / child / update in order of appearance, then signals.

    ``pending_activities`` (from ``handle.describe()``) adds retry marks for attempts still in progress.
    ``max_lanes`` keeps the newest activity / timer / child / update lanes and counts the others.
    """
    if not events:
        return Timeline(now, now, [])
    run = Lane("workflow")
    run_bar = Bar(events[0].timestamp, None, "running", "run")
    run.bars.append(run_bar)
    signals = Lane("signals")
    lanes: dict[tuple[str, Any], Lane] = {}
    bars: dict[tuple[str, Any], Bar] = {}

    def open_bar(key: tuple[str, Any], label: str, at: datetime, state: str = "running") -> None:
        lane = lanes.setdefault(key, Lane(label))
        bar = Bar(at, None, state, label)
        lane.bars.append(bar)
        bars[key] = bar

    def close_bar(key: tuple[str, Any], at: datetime, state: str) -> None:
        bar = bars.get(key)
        if bar is not None and bar.end is None:
            bar.end, bar.state = at, state

    for event in events:
        data, at = event.data, event.timestamp
        match event.type:
            case EventType.ACTIVITY_SCHEDULED:
                key = ("activity", data.get("activity_id"))
                open_bar(key, f"{_short(data.get('name', 'activity'))} #{data.get('activity_id')}", at, "scheduled")
            case EventType.ACTIVITY_STARTED:
                key = ("activity", data.get("activity_id"))
                started = _parse(data.get("started_at")) or at
                if key in bars:
                    bars[key].queued_until = started
                    bars[key].state = "running"
                attempt = data.get("attempt") or 1
                if attempt > 1 and key in lanes:
                    lanes[key].marks.append(Mark(started, "retry", f"attempt {attempt} started"))
            case EventType.ACTIVITY_COMPLETED:
                close_bar(("activity", data.get("activity_id")), at, "completed")
            case EventType.ACTIVITY_FAILED | EventType.ACTIVITY_TIMED_OUT:
                key = ("activity", data.get("activity_id"))
                state = "failed" if event.type == EventType.ACTIVITY_FAILED else "timed_out"
                close_bar(key, at, state)
                if key in bars:
                    error = f"{data.get('type', '')}: {data.get('message', '')}"
                    bars[key].label += f" — {error} ({data.get('attempts')} attempts)"
            case EventType.ACTIVITY_CANCEL_REQUESTED:
                key = ("activity", data.get("activity_id"))
                if key in lanes:
                    lanes[key].marks.append(Mark(at, "cancel", "cancel requested"))
            case EventType.TIMER_STARTED:
                key = ("timer", data.get("timer_id"))
                open_bar(key, f"timer #{data.get('timer_id')} ({_seconds(data.get('duration'))})", at, "scheduled")
            case EventType.TIMER_FIRED:
                close_bar(("timer", data.get("timer_id")), at, "completed")
            case EventType.TIMER_CANCELLED:
                close_bar(("timer", data.get("timer_id")), at, "cancelled")
            case EventType.CHILD_WORKFLOW_STARTED:
                key = ("child", data.get("child_id"))
                open_bar(key, f"child {data.get('workflow_id')} ({_short(data.get('name', ''))})", at)
            case EventType.CHILD_WORKFLOW_COMPLETED:
                close_bar(("child", data.get("child_id")), at, "completed")
            case EventType.CHILD_WORKFLOW_FAILED:
                close_bar(("child", data.get("child_id")), at, data.get("status") or "failed")
            case EventType.UPDATE_ACCEPTED:
                key = ("update", data.get("update_id"))
                open_bar(key, f"update {data.get('name')!r} ({data.get('update_id')})", at)
            case EventType.UPDATE_COMPLETED:
                key = ("update", data.get("update_id"))
                close_bar(key, at, "failed" if "error" in data else "completed")
                if "error" in data and key in bars:
                    bars[key].label += f" — {data['error'].get('type', '')}: {data['error'].get('message', '')}"
            case EventType.SIGNAL_RECEIVED:
                signals.marks.append(Mark(at, "signal", f"signal {data.get('name')!r}"))
            case EventType.CANCEL_REQUESTED:
                run.marks.append(Mark(at, "cancel", f"cancel requested: {data.get('reason') or 'no reason'}"))
            case _ if event.type in _CLOSING_STATE:
                run_bar.end, run_bar.state = at, _CLOSING_STATE[event.type]
                for bar in bars.values():  # whatever was still going ended with the run
                    if bar.end is None:
                        bar.end, bar.state = at, "cancelled"

    for pending in pending_activities:
        key = ("activity", pending.get("activity_id"))
        attempt = pending.get("attempt") or 1
        if key in lanes and attempt > 1:
            last_error = pending.get("last_error") or {}
            last = f"{last_error.get('type', '')}: {last_error.get('message', '')}"
            lanes[key].marks.append(Mark(now, "retry", f"attempt {attempt} pending; last error {last}"))

    kept = list(lanes.values())
    hidden = max(len(kept) - max_lanes, 0) if max_lanes is not None else 0
    all_lanes = [run, *kept[hidden:]] + ([signals] if signals.marks else [])
    end = run_bar.end or now
    return Timeline(events[0].timestamp, max(end, events[-1].timestamp), all_lanes, hidden)


# --- drawing ---------------------------------------------------------------------------
WIDTH = 960
LABEL_WIDTH = 260
LANE_HEIGHT = 22
AXIS_HEIGHT = 22
BAR_HEIGHT = 12


#: Tick steps in milliseconds: the 1-2-5 series within each unit (ms, s, min, h, d).
TICK_STEPS_MS = (
    1, 2, 5, 10, 20, 50, 100, 200, 500,
    1_000, 2_000, 5_000, 10_000, 20_000,
    60_000, 120_000, 300_000, 600_000, 1_200_000,
    3_600_000, 7_200_000, 18_000_000, 36_000_000,
    *(86_400_000 * days for days in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)),
)  # fmt: skip
#: At most this many intervals between the first and the last tick.
MAX_TICK_INTERVALS = 5
#: Tick label units, largest first; an axis speaks the largest unit its step is a whole number of.
_TICK_UNITS_MS = (("d", 86_400_000), ("h", 3_600_000), ("min", 60_000), ("s", 1_000))


def tick_step_ms(span_seconds: float) -> int:
    """The smallest round step that divides ``span_seconds`` into at most ``MAX_TICK_INTERVALS`` intervals."""
    span_ms = span_seconds * 1000
    return next((step for step in TICK_STEPS_MS if span_ms / step <= MAX_TICK_INTERVALS), TICK_STEPS_MS[-1])


def axis_ticks(span_seconds: float) -> list[tuple[float, str]]:
    """The time axis: (offset in seconds, label) at 0 and every multiple of the round step within the span."""
    step = tick_step_ms(span_seconds)
    count = int(span_seconds * 1000 // step) + 1
    return [(step * i / 1000, format_tick(step * i, step)) for i in range(count)]


def format_tick(offset_ms: int, step_ms: int) -> str:
    """A tick's label in its axis's unit: ``0``, ``+10 ms``, ``+1.5 s``, ``+40 s``, ``+1 min``, ``+6 h``, ``+2 d``."""
    if offset_ms == 0:
        return "0"
    unit, size = next(((unit, size) for unit, size in _TICK_UNITS_MS if step_ms >= size), ("ms", 1))
    if unit == "ms" and offset_ms >= 1000:
        unit, size = "s", 1000
    return f"+{offset_ms / size:g} {unit}"


def render_svg(timeline: Timeline) -> SafeString:
    """The timeline as an inline ``<svg>`` element; every bar and mark has a ``<title>`` tooltip."""
    if not timeline.lanes:
        return mark_safe('<p class="df-timeline-empty">No history yet.</p>')
    plot = WIDTH - LABEL_WIDTH - 10
    height = AXIS_HEIGHT + LANE_HEIGHT * (len(timeline.lanes) + bool(timeline.hidden_lanes)) + 6

    def x(at: datetime) -> float:
        offset = (at - timeline.start).total_seconds() / timeline.span
        return LABEL_WIDTH + max(0.0, min(1.0, offset)) * plot

    parts = [
        f'<svg class="df-timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-label="timeline of the run">',
        f"<title>{escape(_duration(timeline.span))} from the first event to the last</title>",
    ]
    for offset, label in axis_ticks(timeline.span):  # relative to the start; labels near the edges align inwards
        tick_x = LABEL_WIDTH + plot * min(offset / timeline.span, 1.0)
        anchor = "start" if offset == 0 else "end" if tick_x > WIDTH - 30 else "middle"
        parts.append(
            f'<line x1="{tick_x:.1f}" y1="{AXIS_HEIGHT - 4}" x2="{tick_x:.1f}" y2="{height}" stroke="#9995" />'
            f'<text x="{tick_x:.1f}" y="{AXIS_HEIGHT - 8}" font-size="10" text-anchor="{anchor}" '
            f'fill="currentColor">{escape(label)}</text>'
        )
    if timeline.hidden_lanes:
        parts.append(
            f'<text class="df-more-lanes" x="4" y="{AXIS_HEIGHT + LANE_HEIGHT * 1.5 + 4:.1f}" font-size="11" '
            f'font-style="italic" fill="currentColor">{timeline.hidden_lanes} earlier lane(s) not drawn</text>'
        )
    for index, lane in enumerate(timeline.lanes):
        top = AXIS_HEIGHT + (index + bool(timeline.hidden_lanes and index)) * LANE_HEIGHT
        mid = top + LANE_HEIGHT / 2
        parts.append(
            f'<g class="df-lane"><text x="4" y="{mid + 4:.1f}" font-size="11" fill="currentColor">'
            f"<title>{escape(lane.label)}</title>{escape(_clip(lane.label, 40))}</text>"
        )
        for bar in lane.bars:
            parts.append(_bar(bar, x, mid, timeline.end))
        for mark in lane.marks:
            parts.append(_mark(mark, x(mark.at), mid))
        parts.append("</g>")
    parts.append("</svg>")
    return mark_safe("".join(parts))


def _bar(bar: Bar, x: Any, mid: float, end: datetime) -> str:
    x1, x2 = x(bar.start), x(bar.end or end)
    width = max(x2 - x1, 3.0)
    top = mid - BAR_HEIGHT / 2
    colour = COLOURS.get(bar.state, "#607d8b")
    title = f"{bar.label}: {bar.state}, {_duration(((bar.end or end) - bar.start).total_seconds())}"
    if bar.end is None:
        title += " so far"
    out = [f'<g class="df-bar df-{escape(bar.state)}"><title>{escape(title)}</title>']
    if bar.queued_until is not None and bar.queued_until > bar.start:
        queued = max(min(x(bar.queued_until), x2) - x1, 0.0)
        out.append(_rect(x1, top, queued, COLOURS["scheduled"]))
        x1 += queued
        width = max(x2 - x1, 3.0)
    dash = ' stroke="#fff" stroke-dasharray="3 2"' if bar.end is None else ""
    out.append(_rect(x1, top, width, colour, extra=f' rx="2"{dash}'))
    out.append("</g>")
    return "".join(out)


def _rect(left: float, top: float, width: float, fill: str, extra: str = "") -> str:
    return f'<rect x="{left:.1f}" y="{top:.1f}" width="{width:.1f}" height="{BAR_HEIGHT}" fill="{fill}"{extra} />'


def _mark(mark: Mark, at_x: float, mid: float) -> str:
    colour = COLOURS.get(mark.kind, "#000")
    r = 6
    points = f"{at_x:.1f},{mid - r:.1f} {at_x + r:.1f},{mid:.1f} {at_x:.1f},{mid + r:.1f} {at_x - r:.1f},{mid:.1f}"
    return (
        f'<g class="df-mark df-{escape(mark.kind)}">'
        f"<title>{escape(mark.label)} at {escape(mark.at.isoformat())}</title>"
        f'<polygon points="{points}" fill="{colour}" stroke="#000" stroke-width="0.5" /></g>'
    )


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _short(name: str) -> str:
    return str(name).rsplit(".", 1)[-1] if len(str(name)) > 30 else str(name)


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _seconds(value: Any) -> str:
    return _duration(float(value)) if isinstance(value, (int, float)) else "?"


def _duration(seconds: float) -> str:
    """``120 ms``, ``2.5 s``, ``42 s``, ``5m 3s``, ``1h``, ``1h 5m``, ``3d 4h``: two units at most, no zero part."""
    if seconds < 0.9995:
        return f"{seconds * 1000:.3g} ms"
    if seconds < 9.995:
        return f"{seconds:.3g} s"
    if round(seconds) < 60:
        return f"{round(seconds)} s"
    delta = timedelta(seconds=round(seconds))
    days, rest = delta.days, delta.seconds
    parts = [(days, "d"), (rest // 3600, "h"), (rest % 3600 // 60, "m"), (rest % 60, "s")]
    first = next(index for index, (amount, _) in enumerate(parts) if amount)
    return " ".join(f"{amount}{unit}" for amount, unit in parts[first : first + 2] if amount)


def format_duration(seconds: float | None) -> str:
    """Public spelling of the short duration format, for the admin's duration column."""
    return "" if seconds is None else _duration(max(seconds, 0.0))
