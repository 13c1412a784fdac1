"""The server-side timeline: round axis ticks with compact labels, and durations without zero parts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from durableflows.runtime import Event, EventType
from durableflows.timeline import axis_ticks, build_timeline, format_duration, render_svg

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0004, "0.4 ms"),
        (0.0111, "11.1 ms"),
        (0.12, "120 ms"),
        (1, "1 s"),
        (2.5, "2.5 s"),
        (8.97, "8.97 s"),
        (42.3, "42 s"),
        (60, "1m"),
        (90, "1m 30s"),
        (3600, "1h"),
        (3604, "1h"),
        (3900, "1h 5m"),
        (86400, "1d"),
        (86400 + 7200, "1d 2h"),
    ],
)
def test_durations_print_at_most_two_units_and_no_zero_parts(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("span", "labels"),
    [
        (0.0111, ["0", "+5 ms", "+10 ms"]),
        (2.39, ["0", "+500 ms", "+1 s", "+1.5 s", "+2 s"]),
        (9.03, ["0", "+2 s", "+4 s", "+6 s", "+8 s"]),
        (90, ["0", "+20 s", "+40 s", "+60 s", "+80 s"]),
        (300, ["0", "+1 min", "+2 min", "+3 min", "+4 min", "+5 min"]),
        (3601, ["0", "+20 min", "+40 min", "+60 min"]),
        (7200, ["0", "+1 h", "+2 h"]),
        (30 * 86400, ["0", "+10 d", "+20 d", "+30 d"]),
    ],
)
def test_axis_ticks_are_round_steps_with_compact_labels(span, labels):
    ticks = axis_ticks(span)
    assert [label for _, label in ticks] == labels
    step = ticks[1][0]
    assert all(offset == pytest.approx(step * i) for i, (offset, _) in enumerate(ticks))
    assert ticks[-1][0] <= span < ticks[-1][0] + step


def test_axis_steps_follow_the_1_2_5_series():
    for span in (0.003, 0.04, 0.7, 3, 17, 45, 200, 1000, 5000, 40000, 200000, 5e6):
        step_ms = round(axis_ticks(span)[1][0] * 1000)
        for unit in (86_400_000, 3_600_000, 60_000, 1000, 1):  # the largest unit the step is a whole number of
            if step_ms % unit == 0:
                assert step_ms // unit in (1, 2, 5, 10, 20, 50, 100, 200, 500), (span, step_ms)
                break
        assert 1 <= span * 1000 / step_ms <= 5, (span, step_ms)


def test_rendered_axis_and_timer_label_are_compact():
    events = [
        Event(1, EventType.WORKFLOW_STARTED, T0, {"workflow_name": "orders.fulfil"}),
        Event(2, EventType.TIMER_STARTED, T0, {"timer_id": 1, "duration": 3600.0, "fire_at": "x"}),
        Event(3, EventType.TIMER_FIRED, T0 + timedelta(seconds=3600.4), {"timer_id": 1}),
        Event(4, EventType.WORKFLOW_COMPLETED, T0 + timedelta(seconds=3602.39), {"result": None}),
    ]
    svg = str(render_svg(build_timeline(events, now=T0 + timedelta(hours=2))))
    assert re.findall(r'fill="currentColor">([^<]*)</text>', svg)[:4] == ["0", "+20 min", "+40 min", "+60 min"]
    assert "timer #1 (1h)" in svg and "(1h 0m)" not in svg
    assert "<title>1h from the first event to the last</title>" in svg


FAILURE = {"type": "KeyError", "message": "x"}


def test_updates_are_bars_from_acceptance_to_completion_with_their_outcome():
    at = [T0 + timedelta(seconds=s) for s in range(6)]
    events = [
        Event(1, EventType.WORKFLOW_STARTED, at[0], {"workflow_name": "carts.checkout"}),
        Event(2, EventType.UPDATE_ACCEPTED, at[1], {"update_id": "u-1", "name": "add_item", "args": []}),
        Event(3, EventType.UPDATE_ACCEPTED, at[2], {"update_id": "u-2", "name": "add_item", "args": []}),
        Event(4, EventType.UPDATE_COMPLETED, at[3], {"update_id": "u-1", "name": "add_item", "result": 1}),
        Event(5, EventType.UPDATE_COMPLETED, at[4], {"update_id": "u-2", "error": FAILURE}),
    ]
    timeline = build_timeline(events, now=at[5])
    bars = [bar for lane in timeline.lanes[1:] for bar in lane.bars]
    assert [(bar.label, bar.start, bar.end, bar.state) for bar in bars] == [
        ("update 'add_item' (u-1)", at[1], at[3], "completed"),
        ("update 'add_item' (u-2) — KeyError: x", at[2], at[4], "failed"),
    ]
