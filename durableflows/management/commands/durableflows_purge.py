"""``manage.py durableflows_purge``: delete closed runs past retention now, instead of waiting for housekeeping."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...engine import retention

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")


def parse_duration(text: str) -> timedelta:
    """``"90"`` (seconds), ``"45m"``, ``"12h"``, ``"30d"`` or ``"2w"`` as a timedelta."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration; use seconds or a number with s, m, h, d or w (e.g. 30d)")
    value, unit = match.groups()
    return timedelta(seconds=float(value) * _UNITS[unit or "s"])


class Command(BaseCommand):
    help = (
        "Delete closed workflow runs (with their history and tasks) that closed longer ago than "
        'DURABLEFLOWS["RETENTION"] or --older-than. Open runs, and closed runs linked to an open parent or '
        "child, are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            metavar="DURATION",
            help='override the RETENTION setting: seconds, or e.g. "45m", "12h", "30d", "2w"',
        )
        parser.add_argument("--dry-run", action="store_true", help="count what would be deleted, delete nothing")
        parser.add_argument(
            "--batch-size", type=int, default=None, help="runs deleted per transaction (default: RETENTION_BATCH)"
        )

    def handle(self, *args: Any, older_than: str | None, dry_run: bool, batch_size: int | None, **options: Any) -> None:
        try:
            period = parse_duration(older_than) if older_than is not None else retention.retention_period()
        except (TypeError, ValueError) as exc:
            raise CommandError(str(exc))
        if period is None:
            raise CommandError('no retention configured: set DURABLEFLOWS["RETENTION"] or pass --older-than')
        if batch_size is not None and batch_size <= 0:
            raise CommandError("--batch-size must be positive")
        result = retention.purge(period, batch_size=batch_size, dry_run=dry_run)
        verb = "Would delete" if dry_run else "Deleted"
        cutoff = cast(datetime, result.cutoff)  # set whenever a period is given
        self.stdout.write(
            f"{verb} {result.runs} closed run(s) and {result.events} history event(s) closed before "
            f"{cutoff.isoformat()}."
        )
