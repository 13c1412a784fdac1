"""Schedule timing: cron expressions, time zones and schedule ids validated; fire times via croniter and zoneinfo.

Fire times are wall-clock times in the schedule's time zone. Across daylight
saving changes: a wall time the clock skips (02:30 when 02:00 jumps to 03:00)
fires as much later as the clock jumped (03:30); a wall time that repeats fires
once, at its first occurrence, unless the expression's hour field is ``*`` (then
it fires on both passes, as real time goes by), like Vixie cron.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from django.core.exceptions import ValidationError

#: Candidate times examined without finding a later one before giving up (an expression like "0 0 30 2 *" never fires).
MAX_STEPS = 100_000
#: How far back ``latest_occurrence`` scans minute by minute before it walks the whole gap.
_RECENT = timedelta(days=1)
#: Longer than any DST shift: how far back to look for a fold that contains a given time.
_FOLD_MARGIN = timedelta(hours=3)


def validate_cron(expression: str) -> str:
    """Return ``expression`` with its whitespace normalised, or raise ``ValueError`` saying what is wrong with it."""
    if not isinstance(expression, str) or not expression.strip():
        raise ValueError("cron must be a non-empty string such as '0 9 * * *'")
    expression = " ".join(expression.split())
    if not expression.startswith("@") and len(expression.split()) != 5:
        raise ValueError(
            f"cron {expression!r} must have 5 fields (minute hour day-of-month month day-of-week), "
            "e.g. '0 9 * * *', or be a macro such as '@daily'"
        )
    try:
        _parse(expression)
    except Exception as exc:  # croniter raises several error types; all mean "not a cron expression"
        raise ValueError(f"cron {expression!r} is not a valid cron expression: {exc}") from None
    return expression


def validate_timezone(name: str) -> str:
    """Return ``name`` if it is an IANA time zone zoneinfo knows (e.g. 'Europe/Paris'), else raise ``ValueError``."""
    if not isinstance(name, str) or not name:
        raise ValueError("timezone must be an IANA time zone name such as 'UTC' or 'Europe/Paris'")
    try:
        _zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {name!r}; use an IANA name such as 'UTC' or 'Europe/Paris'") from None
    return name


def validate_schedule_id(schedule_id: str) -> str:
    """Return ``schedule_id`` if usable: 1-200 characters, without "@" (which separates it from the fire time)."""
    if not isinstance(schedule_id, str) or not schedule_id or len(schedule_id) > 200 or "@" in schedule_id:
        raise ValueError(f"schedule id {schedule_id!r} must be a string of 1 to 200 characters without '@'")
    return schedule_id


def schedule_id_validator(value: str) -> None:
    """Model-field validator (admin forms) for :func:`validate_schedule_id`."""
    try:
        validate_schedule_id(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def cron_validator(value: str) -> None:
    """Model-field validator (admin forms) for :func:`validate_cron`."""
    try:
        validate_cron(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def timezone_validator(value: str) -> None:
    """Model-field validator (admin forms) for :func:`validate_timezone`."""
    try:
        validate_timezone(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def occurrences(expression: str, timezone: str, after: datetime) -> Iterator[datetime]:
    """The fire times strictly after ``after`` (aware), in order, as UTC datetimes.

    Raises ``ValueError`` when none is found within :data:`MAX_STEPS` candidates.
    """
    zone = _zone(timezone)
    every_hour = _parse(expression).expanded[1] == ["*"]
    wall = after.astimezone(zone).replace(tzinfo=None)
    offsets = {(after + shift).astimezone(zone).utcoffset() for shift in (-_FOLD_MARGIN, _FOLD_MARGIN)}
    if len(offsets) > 1:  # near a DST change, `after` may sit inside a fold: start before it
        wall -= _FOLD_MARGIN
    walls = _walls(expression, wall)
    last = after
    steps = 0
    for instant in _instants(walls, zone, every_hour):
        steps += 1
        if instant > last:
            last = instant
            steps = 0
            yield instant
        elif steps > MAX_STEPS:
            raise ValueError(f"cron {expression!r} has no fire time after {after.isoformat()}")


def next_fire_time(expression: str, timezone: str, after: datetime) -> datetime:
    """The first fire time strictly after ``after``, in UTC."""
    return next(occurrences(expression, timezone, after))


def latest_occurrence(expression: str, timezone: str, earliest: datetime, now: datetime) -> datetime | None:
    """The last fire time in ``[earliest, now]``, or ``None``: the one a schedule catches up with after downtime."""
    if earliest > now:
        return None
    lower = max(earliest, now - _RECENT)  # frequent expressions: only the last day matters
    found = _last_before(occurrences(expression, timezone, lower - timedelta(microseconds=1)), now)
    if found is None and lower > earliest:  # rare expressions: walk the whole gap (few steps)
        found = _last_before(occurrences(expression, timezone, earliest - timedelta(microseconds=1)), now)
    return found


def _last_before(fire_times: Iterator[datetime], now: datetime) -> datetime | None:
    found = None
    for instant in fire_times:
        if instant > now:
            break
        found = instant
    return found


def _walls(expression: str, start: datetime) -> Iterator[datetime]:
    """Naive wall-clock matches of ``expression`` after ``start``."""
    iterator = croniter(expression, start)
    while True:
        try:
            yield iterator.get_next(datetime)
        except Exception:  # croniter: CroniterBadDateError when no date matches (e.g. February 30)
            raise ValueError(f"cron {expression!r} never fires") from None


def _instants(walls: Iterator[datetime], zone: ZoneInfo, every_hour: bool) -> Iterator[datetime]:
    """The UTC instants of successive wall times, in real-time order (see the module docstring).

    A skipped wall time maps to the later instant (fold=0), which may repeat an
    instant already seen; the caller drops repeats. The wall times of one DST
    fold are gathered, so that both passes come out in order: first, then second.
    """
    pending: datetime | None = None
    while True:
        wall = pending if pending is not None else next(walls, None)
        pending = None
        if wall is None:
            return
        first, second = _fold_pair(wall, zone)
        if first >= second:  # an ordinary time, or a skipped one
            yield first
            continue
        fold = [(first, second)]
        for following in walls:
            pair = _fold_pair(following, zone)
            if pair[0] >= pair[1] or following - wall > _FOLD_MARGIN:
                pending = following
                break
            fold.append(pair)
        yield from (pair[0] for pair in fold)
        if every_hour:
            yield from (pair[1] for pair in fold)


def _fold_pair(wall: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants of ``wall`` on the first (fold=0) and second (fold=1) pass; equal outside DST changes."""
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC), wall.replace(tzinfo=zone, fold=1).astimezone(UTC)


@lru_cache(maxsize=256)
def _parse(expression: str) -> croniter:
    return croniter(expression, datetime(2000, 1, 1))


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)
