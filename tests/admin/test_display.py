"""The admin's small renderers: compact timestamps for the runs list, and values as JSON."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from durableflows.admin.display import as_json, compact_timestamp

NOW = datetime(2026, 11, 29, 22, 9, 18, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "short"),
    [
        (datetime(2026, 11, 29, 8, 5, 3, tzinfo=UTC), ">08:05:03</time>"),
        (datetime(2026, 3, 1, 9, 15, tzinfo=UTC), ">Mar 1 09:15</time>"),
        (datetime(2025, 12, 31, 23, 59, tzinfo=UTC), ">2025-12-31</time>"),
    ],
)
def test_timestamps_are_compact_with_the_full_time_on_hover(settings, value, short):
    settings.TIME_ZONE = "UTC"
    html = str(compact_timestamp(value, now=NOW))
    assert html.endswith(short)
    assert f'datetime="{value.isoformat()}"' in html and f'title="{value:%Y-%m-%d %H:%M:%S}.000000 UTC"' in html


def test_a_missing_timestamp_is_a_dash():
    assert compact_timestamp(None) == "—"


@dataclasses.dataclass
class Parcel:
    weight: Decimal
    sent: datetime


def test_values_are_shown_as_json_never_as_python_repr():
    assert as_json({"a": 1, "ok": True, "none": None}) == '{"a": 1, "ok": true, "none": null}'
    assert as_json(Parcel(Decimal("1.5"), NOW)) == '{"weight": "1.5", "sent": "2026-11-29T22:09:18Z"}'
    assert as_json("naïve") == '"naïve"'


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"])
@pytest.mark.parametrize("language", ["en", "de", "fr"])
@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 11, 29, 21, 5, 3, 7, tzinfo=UTC),
        datetime(2026, 3, 1, 9, 15, tzinfo=UTC),
        datetime(2025, 7, 4, tzinfo=UTC),
    ],
)
def test_timestamps_read_as_djangos_date_format_in_every_zone_and_language(settings, zone, language, value):
    from django.utils import timezone, translation
    from django.utils.dateformat import format as format_date

    settings.TIME_ZONE = zone
    local, today = timezone.localtime(value), timezone.localtime(NOW)
    short = "H:i:s" if local.date() == today.date() else "M j H:i" if local.year == today.year else "Y-m-d"
    with translation.override(language):
        expected = f'title="{format_date(local, "Y-m-d H:i:s.u T")}">{format_date(local, short)}</time>'
        assert str(compact_timestamp(value, now=NOW)).endswith(expected)
