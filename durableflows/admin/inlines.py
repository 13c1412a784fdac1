"""``WorkflowRunInline``: a model's own admin page lists the runs started with ``df.start(..., subject=row)``."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.contenttypes.admin import GenericTabularInline
from django.urls import reverse
from django.utils.html import format_html

from ..models import WorkflowRun
from .display import duration, status_badge

_COLUMNS = ("run_link", "workflow_name", "status_display", "created_at", "closed_at", "duration_display")


class WorkflowRunInline(GenericTabularInline):
    """Read-only list of the workflow runs linked to the row; each links to the run's admin page.

    Add it to any ModelAdmin: ``inlines = [WorkflowRunInline]``.
    """

    model = WorkflowRun
    ct_field = "subject_type"
    ct_fk_field = "subject_id"
    fields = _COLUMNS
    readonly_fields = _COLUMNS
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    verbose_name = "workflow run"
    verbose_name_plural = "workflow runs"
    ordering = ["-created_at"]

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    @admin.display(description="workflow")
    def run_link(self, run: WorkflowRun) -> str:
        url = reverse("admin:durableflows_workflowrun_change", args=[run.pk])
        return format_html('<a href="{}">{}</a>', url, run.workflow_id)

    @admin.display(description="status")
    def status_display(self, run: WorkflowRun) -> str:
        return status_badge(run)

    @admin.display(description="duration")
    def duration_display(self, run: WorkflowRun) -> str:
        return duration(run)
