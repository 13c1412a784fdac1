"""``ScheduleAdmin``: cron schedules, editable, with pause, resume and trigger-now actions.

Edits go through the model's validators and ``save()`` (which recomputes the
next fire time); the actions act through ``df.get_schedule`` like any client.
"""

from __future__ import annotations

from typing import cast

from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet
from django.http import HttpRequest

from ..errors import DurableFlowsError
from ..models import Schedule
from ..schedules import get_schedule
from .forms import ScheduleForm


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    form = ScheduleForm
    list_display = [
        "schedule_id",
        "workflow_name",
        "cron",
        "timezone",
        "overlap",
        "paused",
        "next_fire_at",
        "last_fired_at",
    ]
    list_filter = ["paused", "overlap", "workflow_name"]
    search_fields = ["schedule_id", "workflow_name"]
    readonly_fields = [
        "next_fire_at",
        "buffered_fire_at",
        "last_fired_at",
        "last_workflow_id",
        "last_error",
        "created_at",
    ]
    actions = ["pause_selected", "resume_selected", "trigger_selected"]

    @admin.action(description="Pause the selected schedules", permissions=["change"])
    def pause_selected(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        self._act(request, queryset, "paused", lambda handle: handle.pause())

    @admin.action(description="Resume the selected schedules", permissions=["change"])
    def resume_selected(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        self._act(request, queryset, "resumed", lambda handle: handle.resume())

    @admin.action(description="Start a run of the selected schedules now", permissions=["trigger"])
    def trigger_selected(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        self._act(request, queryset, "triggered", lambda handle: handle.trigger())

    def has_trigger_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("durableflows.trigger_schedule")

    def _act(self, request: HttpRequest, queryset: QuerySet[Schedule], verb: str, act) -> None:
        done = 0
        for row in queryset:
            try:
                act(get_schedule(row.schedule_id))
            except DurableFlowsError as exc:
                self.message_user(request, f"Schedule {row.schedule_id}: {exc}", messages.ERROR)
                continue
            user = cast(AbstractBaseUser, request.user)  # the admin lets only signed-in staff in
            LogEntry.objects.log_actions(
                user_id=user.pk, queryset=[row], action_flag=CHANGE, change_message=f"Schedule {verb}."
            )
            done += 1
        if done:
            self.message_user(request, f"{done} schedule(s) {verb}.", messages.SUCCESS)
