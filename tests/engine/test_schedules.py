"""Schedules: cron and time zones, create/update by id, pause/resume/trigger, exactly-once firing, overlap."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import async_to_sync
from django.db import connection

import durableflows as df
from durableflows import cron, registry, schedules
from durableflows.engine import housekeeping, scheduler
from durableflows.models import Schedule, WorkflowRun

from . import schedule_workflows
from .driving import drive

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # a Monday, 08:00 UTC
NINE = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def runs_of(schedule_id: str) -> list[str]:
    runs = WorkflowRun.objects.filter(workflow_id__startswith=f"{schedule_id}@")
    return sorted(runs.values_list("workflow_id", flat=True))


def close(workflow_id: str) -> None:
    drive(WorkflowRun.objects.get(workflow_id=workflow_id).run_id)
    assert df.get_handle(workflow_id).status == df.Status.COMPLETED


# -- cron expressions and time zones -------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("61 * * * *", "not a valid cron expression"),
        ("* * * *", "must have 5 fields"),
        ("0 9 * * * *", "must have 5 fields"),
        ("every day", "must have 5 fields"),
        ("@sometimes", "not a valid cron expression"),
        ("", "non-empty"),
    ],
)
def test_bad_cron_expressions_are_refused_with_a_clear_message(expression, problem):
    with pytest.raises(ValueError, match=problem):
        cron.validate_cron(expression)


def test_good_cron_expressions_and_macros_are_accepted_and_normalised():
    assert cron.validate_cron(" 0  9 * * 1-5 ") == "0 9 * * 1-5"
    assert cron.validate_cron("@daily") == "@daily"
    assert cron.next_fire_time("@hourly", "UTC", T0) == T0 + timedelta(hours=1)


def test_a_cron_that_never_fires_is_refused():
    with pytest.raises(ValueError, match="never fires"):
        cron.next_fire_time("0 0 30 2 *", "UTC", T0)


def test_unknown_time_zones_are_refused():
    with pytest.raises(ValueError, match="unknown timezone 'Mars/Olympus'"):
        cron.validate_timezone("Mars/Olympus")
    assert cron.validate_timezone("America/New_York") == "America/New_York"


def test_fire_times_are_wall_clock_times_in_the_schedule_time_zone():
    assert cron.next_fire_time("0 9 * * *", "Europe/Paris", utc(2026, 1, 5)) == utc(2026, 1, 5, 8)  # CET
    assert cron.next_fire_time("0 9 * * *", "Europe/Paris", utc(2026, 7, 6)) == utc(2026, 7, 6, 7)  # CEST
    assert cron.next_fire_time("0 9 * * 1-5", "UTC", utc(2026, 1, 9, 10)) == utc(2026, 1, 12, 9)  # Fri -> Mon


def test_a_time_skipped_by_spring_forward_fires_once_as_much_later_as_the_clock_jumped():
    # Europe/Berlin, 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist that day.
    fires = cron.occurrences("30 2 * * *", "Europe/Berlin", utc(2026, 3, 27, 12))
    assert [next(fires) for _ in range(3)] == [
        utc(2026, 3, 28, 1, 30),  # 02:30 CET
        utc(2026, 3, 29, 1, 30),  # 03:30 CEST, once
        utc(2026, 3, 30, 0, 30),  # 02:30 CEST
    ]
    hourly = cron.occurrences("0 * * * *", "Europe/Berlin", utc(2026, 3, 28, 23, 30))
    assert [next(hourly) for _ in range(3)] == [utc(2026, 3, 29, 0), utc(2026, 3, 29, 1), utc(2026, 3, 29, 2)]


def test_a_repeated_wall_time_fires_once_for_a_fixed_hour_and_on_both_passes_for_every_hour():
    # Europe/Berlin, 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:00-02:59 happens twice.
    daily = cron.occurrences("30 2 * * *", "Europe/Berlin", utc(2026, 10, 24, 12))
    assert [next(daily) for _ in range(2)] == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]
    half_hourly = cron.occurrences("*/30 * * * *", "Europe/Berlin", utc(2026, 10, 24, 23, 45))
    assert [next(half_hourly) for _ in range(5)] == [
        utc(2026, 10, 25, 0),  # 02:00 CEST
        utc(2026, 10, 25, 0, 30),  # 02:30 CEST
        utc(2026, 10, 25, 1),  # 02:00 CET
        utc(2026, 10, 25, 1, 30),  # 02:30 CET
        utc(2026, 10, 25, 2),  # 03:00 CET
    ]
    # starting inside the second pass finds the rest of it
    assert cron.next_fire_time("*/30 * * * *", "Europe/Berlin", utc(2026, 10, 25, 1, 10)) == utc(2026, 10, 25, 1, 30)


def test_latest_occurrence_is_the_last_missed_fire_time_even_after_long_downtime():
    assert cron.latest_occurrence("* * * * *", "UTC", utc(2026, 1, 1), utc(2026, 3, 1, 12, 5, 30)) == utc(
        2026, 3, 1, 12, 5
    )
    assert cron.latest_occurrence("0 0 1 * *", "UTC", utc(2025, 1, 1), utc(2026, 3, 1, 12)) == utc(2026, 3, 1)
    assert cron.latest_occurrence("0 0 1 * *", "UTC", utc(2026, 3, 2), utc(2026, 3, 3)) is None


# -- creating, updating and operating schedules -----------------------------------------------


@pytest.mark.django_db
def test_schedule_creates_a_row_with_its_next_fire_time_and_returns_a_handle():
    handle = df.schedule(schedule_workflows.report, "monday", id="daily-report", cron="0 9 * * *", now=T0)
    assert isinstance(handle, schedules.ScheduleHandle)
    info = handle.describe()
    assert info["workflow_name"] == "schedules_test.report"
    assert info["args"] == ["monday"]
    assert (info["cron"], info["timezone"], info["overlap"], info["paused"]) == ("0 9 * * *", "UTC", "skip", False)
    assert info["next_fire_at"] == NINE
    assert info["recent_runs"] == [] and info["last_workflow_id"] is None


@pytest.mark.django_db
def test_schedule_updates_by_id_and_recomputes_the_fire_time_when_the_timing_changes():
    df.schedule("schedules_test.report", "a", id="report", cron="0 9 * * *", now=T0)
    df.schedule("schedules_test.report", "b", id="report", cron="30 9 * * *", timezone="Europe/Paris", now=T0)
    assert Schedule.objects.count() == 1
    row = Schedule.objects.get()
    assert (row.args, row.cron, row.timezone) == (["b"], "30 9 * * *", "Europe/Paris")
    assert row.next_fire_at == utc(2026, 1, 5, 8, 30)
    df.schedule("schedules_test.report", "c", id="report", cron="30 9 * * *", timezone="Europe/Paris", now=T0 + MINUTE)
    assert Schedule.objects.get().next_fire_at == utc(2026, 1, 5, 8, 30)  # same timing: kept


@pytest.mark.django_db
def test_redeclaring_a_schedule_keeps_a_pause_made_meanwhile_unless_told_otherwise():
    handle = df.schedule("schedules_test.report", "a", id="report", cron="0 9 * * *", now=T0)
    handle.pause()
    df.schedule("schedules_test.report", "a", id="report", cron="0 9 * * *", now=T0)
    assert handle.describe()["paused"] is True
    df.schedule("schedules_test.report", "a", id="report", cron="0 9 * * *", paused=False, now=T0)
    assert handle.describe()["paused"] is False and handle.describe()["next_fire_at"] == NINE


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"cron": "0 25 * * *"}, ValueError, "cron"),
        ({"cron": "0 0 30 2 *"}, ValueError, "never fires"),
        ({"timezone": "Nowhere/City"}, ValueError, "timezone"),
        ({"overlap": "queue_all"}, ValueError, "overlap"),
        ({"id": "a@b"}, ValueError, "without '@'"),
        ({"workflow": "no.such.workflow"}, df.UnknownWorkflowError, "no.such.workflow"),
        ({"args": (object(),)}, df.SerializationError, "cannot be serialized"),
    ],
)
def test_bad_input_raises_and_stores_nothing(kwargs, error, match):
    options = {"id": "report", "cron": "0 9 * * *", "now": T0}
    workflow = kwargs.pop("workflow", "schedules_test.report")
    args = kwargs.pop("args", ("x",))
    options.update(kwargs)
    with pytest.raises(error, match=match):
        df.schedule(workflow, *args, **options)
    assert not Schedule.objects.exists()


@pytest.mark.django_db
def test_pause_and_resume_skip_the_occurrences_missed_while_paused():
    handle = df.schedule("schedules_test.report", "x", id="report", cron="0 9 * * *", now=T0)
    handle.pause()
    assert scheduler.start_due_schedules(NINE + MINUTE) == 0
    handle.resume(now=NINE + timedelta(days=2, hours=1))
    assert handle.describe()["next_fire_at"] == NINE + timedelta(days=3)
    assert scheduler.start_due_schedules(NINE + timedelta(days=2, hours=2)) == 0
    assert runs_of("report") == []


@pytest.mark.django_db
def test_trigger_starts_a_run_at_once_even_while_paused():
    handle = df.schedule("schedules_test.report", "x", id="report", cron="0 9 * * *", now=T0, paused=True)
    run = handle.trigger(now=T0)
    assert run.workflow_id == "report@2026-01-05T08:00:00.000000Z-manual"
    assert run.status == df.Status.PENDING
    assert handle.describe()["last_workflow_id"] == run.workflow_id
    assert [h.workflow_id for h in handle.runs()] == [run.workflow_id]
    with pytest.raises(df.WorkflowAlreadyExists):
        handle.trigger(now=T0)  # the only thing a trigger respects: id uniqueness
    drive(run.run_id)
    assert run.result() == "report for x"


@pytest.mark.django_db
def test_delete_removes_the_schedule_but_not_its_runs():
    handle = df.schedule("schedules_test.report", "x", id="report", cron="0 9 * * *", now=T0)
    scheduler.start_due_schedules(NINE)
    handle.delete()
    with pytest.raises(df.ScheduleNotFound):
        schedules.get_schedule("report")
    with pytest.raises(df.ScheduleNotFound):
        handle.delete()
    assert runs_of("report") == ["report@2026-01-05T09:00:00Z"]


@pytest.mark.django_db
def test_editing_the_timing_of_a_row_directly_recomputes_its_fire_time():
    df.schedule("schedules_test.report", "x", id="report", cron="0 9 * * *", now=T0)
    row = Schedule.objects.get()
    row.cron = "*/5 * * * *"
    row.save()
    assert row.next_fire_at is not None and row.next_fire_at.minute % 5 == 0
    assert row.next_fire_at != NINE


# -- firing --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_due_schedule_starts_exactly_one_run_per_occurrence_however_many_sweeps_see_it():
    df.schedule("schedules_test.report", "x", id="report", cron="0 9 * * *", now=T0)
    assert scheduler.start_due_schedules(NINE - timedelta(seconds=1)) == 0
    assert scheduler.start_due_schedules(NINE + timedelta(seconds=3)) == 1
    assert scheduler.start_due_schedules(NINE + timedelta(seconds=3)) == 0  # a second worker, same moment
    assert runs_of("report") == ["report@2026-01-05T09:00:00Z"]
    run = WorkflowRun.objects.get(workflow_id="report@2026-01-05T09:00:00Z")
    assert (run.workflow_name, run.args) == ("schedules_test.report", ["x"])
    row = Schedule.objects.get()
    assert (row.next_fire_at, row.last_fired_at) == (NINE + timedelta(days=1), NINE)
    assert row.last_workflow_id == run.workflow_id

    # A worker that read the row before the first one advanced it, and so tries the same occurrence again:
    Schedule.objects.filter(pk=row.pk).update(next_fire_at=NINE)
    close(run.workflow_id)  # even once the first run is closed, its id is never started twice
    assert scheduler.start_due_schedules(NINE + timedelta(seconds=4)) == 0
    assert runs_of("report") == ["report@2026-01-05T09:00:00Z"]


@pytest.mark.django_db
def test_the_housekeeping_sweep_starts_due_schedules():
    df.schedule("schedules_test.report", "x", id="report", cron="0 9 * * *", now=T0)
    assert housekeeping.sweep(NINE)["schedules_started"] == 1
    assert housekeeping.sweep(NINE)["schedules_started"] == 0
    drive(WorkflowRun.objects.get(workflow_id="report@2026-01-05T09:00:00Z").run_id)
    assert df.get_handle("report@2026-01-05T09:00:00Z").result() == "report for x"


@pytest.mark.django_db
def test_after_downtime_only_the_latest_missed_occurrence_starts():
    df.schedule("schedules_test.report", "x", id="minutely", cron="* * * * *", overlap="allow_all", now=T0)
    assert scheduler.start_due_schedules(T0 + timedelta(minutes=10, seconds=30)) == 1
    assert runs_of("minutely") == ["minutely@2026-01-05T08:10:00Z"]
    assert Schedule.objects.get().next_fire_at == T0 + timedelta(minutes=11)


@pytest.mark.django_db
def test_a_schedule_whose_workflow_is_gone_records_the_error_and_moves_on(monkeypatch):
    df.schedule("schedules_test.report", "x", id="report", cron="0 9 * * *", now=T0)
    monkeypatch.delitem(registry._workflows, "schedules_test.report")  # a deploy removed the workflow
    assert scheduler.start_due_schedules(NINE) == 0
    row = Schedule.objects.get()
    assert "UnknownWorkflowError" in row.last_error and row.next_fire_at == NINE + timedelta(days=1)
    assert runs_of("report") == []


@pytest.mark.django_db
def test_a_schedule_with_an_unusable_cron_stored_directly_is_paused_and_the_others_still_fire():
    df.schedule("schedules_test.report", "x", id="broken", cron="0 9 * * *", now=T0)
    df.schedule("schedules_test.report", "x", id="report", cron="0 9 * * *", now=T0)
    Schedule.objects.filter(schedule_id="broken").update(cron="0 9 31 2 *")  # around the validators
    assert scheduler.start_due_schedules(NINE) == 1
    broken = Schedule.objects.get(schedule_id="broken")
    assert broken.paused and broken.next_fire_at is None and "never fires" in broken.last_error
    assert runs_of("report") == ["report@2026-01-05T09:00:00Z"] and runs_of("broken") == []


# -- overlap policies ---------------------------------------------------------------------


def every_minute(overlap: str) -> None:
    df.schedule("schedules_test.report", "x", id="job", cron="* * * * *", overlap=overlap, now=T0)


def at(minutes: int, seconds: int = 5) -> datetime:
    return T0 + timedelta(minutes=minutes, seconds=seconds)


def wid(minutes: int) -> str:
    return scheduler.occurrence_workflow_id("job", T0 + timedelta(minutes=minutes))


@pytest.mark.django_db
def test_overlap_skip_drops_occurrences_while_the_previous_run_is_open():
    every_minute("skip")
    assert scheduler.start_due_schedules(at(1)) == 1
    assert scheduler.start_due_schedules(at(2)) == 0  # run 1 still open: skipped
    close(wid(1))
    assert scheduler.start_due_schedules(at(3)) == 1
    assert runs_of("job") == [wid(1), wid(3)]


@pytest.mark.django_db
def test_overlap_buffer_one_starts_one_held_occurrence_once_the_previous_run_closes():
    every_minute("buffer_one")
    scheduler.start_due_schedules(at(1))
    assert scheduler.start_due_schedules(at(2)) == 0
    assert scheduler.start_due_schedules(at(3)) == 0  # a second held occurrence is dropped
    assert Schedule.objects.get().buffered_fire_at == T0 + timedelta(minutes=2)
    assert scheduler.start_due_schedules(at(3, 30)) == 0  # nothing due, previous still open
    close(wid(1))
    assert scheduler.start_due_schedules(at(3, 40)) == 1  # checked on every sweep, not only when due
    assert runs_of("job") == [wid(1), wid(2)]
    assert Schedule.objects.get().buffered_fire_at is None
    assert scheduler.start_due_schedules(at(4)) == 0  # the buffered run is open now: minute 4 waits
    assert Schedule.objects.get().buffered_fire_at == T0 + timedelta(minutes=4)


@pytest.mark.django_db
def test_overlap_allow_all_starts_every_occurrence():
    every_minute("allow_all")
    for minute in (1, 2, 3):
        assert scheduler.start_due_schedules(at(minute)) == 1
    assert runs_of("job") == [wid(1), wid(2), wid(3)]
    assert all(df.get_handle(w).status == df.Status.PENDING for w in runs_of("job"))


@pytest.mark.django_db
def test_pausing_drops_a_buffered_start():
    every_minute("buffer_one")
    scheduler.start_due_schedules(at(1))
    scheduler.start_due_schedules(at(2))
    handle = schedules.get_schedule("job")
    handle.pause()
    close(wid(1))
    handle.resume(now=at(2, 30))
    assert scheduler.start_due_schedules(at(2, 40)) == 0
    assert runs_of("job") == [wid(1)]


@pytest.mark.django_db
def test_switching_away_from_buffer_one_drops_the_buffered_start():
    every_minute("buffer_one")
    scheduler.start_due_schedules(at(1))
    scheduler.start_due_schedules(at(2))
    every_minute("skip")
    close(wid(1))
    assert Schedule.objects.get().buffered_fire_at is None
    assert scheduler.start_due_schedules(at(2, 30)) == 0
    assert runs_of("job") == [wid(1)]


@pytest.mark.django_db
def test_async_twins():
    async def scenario() -> None:
        handle = await df.aschedule("schedules_test.report", "x", id="report", cron="0 9 * * *", now=T0)
        await handle.apause()
        assert (await handle.adescribe())["paused"] is True
        await handle.aresume(now=T0)
        run = await handle.atrigger(now=T0)
        assert run.workflow_id.startswith("report@")
        await handle.adelete()

    async_to_sync(scenario)()  # the sync_to_async calls inside come back to this thread and its transaction
    assert not Schedule.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_start_each_occurrence_once(row_locking_database):
    """Real concurrency: several threads (own connections, as workers have) sweep the same due schedules at once."""
    for n in range(5):
        df.schedule("schedules_test.report", "x", id=f"job-{n}", cron="* * * * *", overlap="allow_all", now=T0)
    barrier = threading.Barrier(4)
    started: list[int] = []

    def worker() -> None:
        try:
            barrier.wait()
            for minute in (1, 2):
                started.append(scheduler.start_due_schedules(at(minute)))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(started) == 10
    assert WorkflowRun.objects.filter(workflow_id__startswith="job-").count() == 10
