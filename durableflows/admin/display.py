"""Small HTML renderers shared by the admin's list, page and inline: badges, durations, JSON, events."""

from __future__ import annotations

import dataclasses
import html
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.dates import MONTHS_3
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from ..models import WorkflowRun
from ..runtime import Event, EventType
from ..timeline import COLOURS, format_duration

BADGE_COLOURS = {"pending": COLOURS["scheduled"], **COLOURS}


def status_badge(run: WorkflowRun) -> SafeString:
    """A coloured pill with the status; a warning sign when the run's workflow task is stuck."""
    colour = BADGE_COLOURS.get(run.status, "#607d8b")
    badge = format_html(
        '<span class="df-badge df-status-{}" style="background:{};color:#fff;padding:1px 8px;border-radius:9px;'
        'font-size:11px;white-space:nowrap">{}</span>',
        run.status,
        colour,
        run.get_status_display(),
    )
    if run.is_open and run.task_error:
        badge += format_html(
            ' <span class="df-stuck" title="{}" style="color:#c62828;font-weight:bold">&#9888; stuck</span>',
            run.task_error.splitlines()[-1][:300] if run.task_error.strip() else "stuck",
        )
    return badge


def duration(run: WorkflowRun) -> str:
    """Started to closed, or to now while the run is open."""
    if run.started_at is None:
        return ""
    end = run.closed_at or timezone.now()
    text = format_duration((end - run.started_at).total_seconds())
    return text if run.closed_at else f"{text} (running)"


class DisplayEncoder(DjangoJSONEncoder):
    """Django's encoder (datetimes in ISO 8601, decimals, UUIDs), plus dataclasses and pydantic models; else ``str``."""

    def default(self, o: Any) -> Any:
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            return dataclasses.asdict(o)
        if callable(getattr(o, "model_dump", None)):
            return o.model_dump(mode="json")
        try:
            return super().default(o)
        except TypeError:
            return str(o)


def as_json(value: Any, *, indent: int | None = None) -> str:
    """A value as JSON text, the way every value is shown (never Python's ``repr``)."""
    return json.dumps(value, indent=indent, ensure_ascii=False, cls=DisplayEncoder)


def compact_timestamp(value: datetime | None, now: datetime | None = None) -> SafeString | str:
    """``14:03:27`` today, ``Nov 28 09:15`` this year, ``2025-11-28`` before; the full time on hover.

    Formatted field by field rather than with Django's ``dateformat``, which costs several times more
    and runs twice per row of the changelist.
    """
    if value is None:
        return "—"
    local, today = timezone.localtime(value), timezone.localtime(now or timezone.now())
    day = f"{local.year:04d}-{local.month:02d}-{local.day:02d}"
    clock = f"{local.hour:02d}:{local.minute:02d}"
    if local.date() == today.date():
        short = f"{clock}:{local.second:02d}"
    elif local.year == today.year:
        short = f"{MONTHS_3[local.month].title()} {local.day} {clock}"  # Django's "M j H:i", translated
    else:
        short = day
    full = f"{day} {clock}:{local.second:02d}.{local.microsecond:06d} {local.tzname() or ''}"
    return mark_safe(f'<time datetime="{value.isoformat()}" title="{html.escape(full)}">{html.escape(short)}</time>')


def pretty_json(value: Any) -> SafeString:
    return format_html('<pre class="df-json">{}</pre>', as_json(value, indent=2))


def event_rows(events: Iterable[Event]) -> SafeString:
    """The rows of the event table, escaped with the standard library: a template loop, or ``format_html``
    per cell, costs several times more per row, and a page has a hundred."""
    rows = []
    for event in events:
        summary = event_summary(event) or "data"
        summary = summary if len(summary) <= 140 else summary[:139] + "…"
        stamp = format_date(timezone.localtime(event.timestamp), "Y-m-d H:i:s.u")
        data = html.escape(as_json(event.data, indent=2), quote=False)
        rows.append(
            f'<tr class="df-event df-event-{html.escape(event.type)}"><td>{event.sequence}</td>'
            f"<td>{html.escape(event.type)}</td><td>{stamp}</td><td><details><summary>{html.escape(summary)}"
            f'</summary><pre class="df-json">{data}</pre></details></td></tr>'
        )
    return mark_safe("\n".join(rows))  # every value above is escaped


def event_summary(event: Event) -> str:
    """One line about an event, for the collapsed row of the event table."""
    data = event.data
    match event.type:
        case EventType.ACTIVITY_SCHEDULED:
            return f"{data.get('name')} #{data.get('activity_id')}"
        case EventType.ACTIVITY_STARTED:
            return f"#{data.get('activity_id')} attempt {data.get('attempt', 1)}"
        case EventType.ACTIVITY_COMPLETED:
            return f"#{data.get('activity_id')}"
        case EventType.ACTIVITY_FAILED | EventType.ACTIVITY_TIMED_OUT:
            error = f"{data.get('type')}: {data.get('message')}"
            return f"#{data.get('activity_id')} {error} after {data.get('attempts')} attempt(s)"
        case EventType.TIMER_STARTED:
            return f"timer #{data.get('timer_id')} fires at {data.get('fire_at')}"
        case EventType.TIMER_FIRED | EventType.TIMER_CANCELLED:
            return f"timer #{data.get('timer_id')}"
        case EventType.SIGNAL_RECEIVED | EventType.SIGNAL_EXTERNAL_SENT:
            target = f" to {data.get('workflow_id')}" if "workflow_id" in data else ""
            return f"{data.get('name')!r}{target}"
        case EventType.CHILD_WORKFLOW_STARTED | EventType.CHILD_WORKFLOW_COMPLETED | EventType.CHILD_WORKFLOW_FAILED:
            return f"{data.get('workflow_id')}"
        case EventType.VAR_SET:
            return f"{data.get('name')}"
        case EventType.UPDATE_ACCEPTED:
            return f"{data.get('name')!r} {data.get('update_id')}"
        case EventType.UPDATE_COMPLETED:
            failure = data.get("error")
            outcome = f" failed: {failure.get('type', '')}: {failure.get('message', '')}" if failure else ""
            return f"{data.get('name')!r} {data.get('update_id')}{outcome}"
        case EventType.CANCEL_REQUESTED | EventType.WORKFLOW_TERMINATED:
            return str(data.get("reason") or "")
        case EventType.WORKFLOW_FAILED:
            return f"{data.get('type', '')}: {data.get('message', '')}"
        case EventType.WORKFLOW_STARTED:
            return str(data.get("workflow_name") or "")
    return ""
