"""``WorkflowRunAdmin``: the changelist of runs and the read-only page of one run.

History is read-only: no run or event can be added, changed or deleted here;
view permission shows everything, and the operations (operations.py) need their
own permissions.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import SEARCH_VAR
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from .. import search
from ..errors import DurableFlowsError
from ..models import WorkflowRun
from ..timeline import build_timeline, render_svg
from .changelist import RunChangeList, action_checkbox
from .display import as_json, compact_timestamp, duration, event_rows, pretty_json, status_badge
from .filters import StuckFilter, WorkflowNameFilter
from .forms import QueryForm, ReasonForm, SignalForm, TerminateForm, UpdateForm
from .history import event_page, timeline_window
from .operations import OperationsMixin, handle_of
from .paging import RunPaginator

#: Activity, timer, child and update lanes the timeline draws at most (the newest).
TIMELINE_LANES = 40
#: Children linked on a run's page at most.
CHILDREN_SHOWN = 20


@admin.register(WorkflowRun)
class WorkflowRunAdmin(OperationsMixin, admin.ModelAdmin):
    list_display = [
        "status_display", "workflow_id_display", "workflow_name_display", "started_display", "closed_display",
        "duration_display",
    ]  # fmt: skip
    list_display_links = ["workflow_id_display"]
    list_filter = [
        "status",
        WorkflowNameFilter,
        ("created_at", admin.DateFieldListFilter),
        StuckFilter,
    ]
    search_fields = ["workflow_id"]
    search_help_text = "workflow id (contains) or run id (exact)"
    date_hierarchy = None
    list_per_page = 50
    show_full_result_count = False  # one COUNT per page, not two, on tables of millions of runs
    ordering = ["-created_at", "run_id"]  # the order of the df_run_created index (Django would add "-pk")
    list_select_related = ["parent"]
    actions = ["cancel_selected", "terminate_selected"]
    change_form_template = "admin/durableflows/workflowrun/change_form.html"
    change_list_template = "admin/durableflows/workflowrun/change_list.html"
    fieldsets = [
        (None, {"fields": [
            ("workflow_id", "status_display"), ("workflow_name", "run_id"),
            ("created_at", "start_at"), ("started_at", "closed_at"), ("duration_display", "history_length"),
            "queue", "subject_link",
        ]}),
        ("Data", {"fields": ["args_display", "result_display", "vars_display"]}),
        ("Problems", {"fields": ["error_display", "stuck_display"]}),
        ("Related runs", {"fields": ["parent_link", "children_links", "continued_from_link", "continued_as_link"]}),
    ]  # fmt: skip
    readonly_fields = [
        "workflow_id", "status_display", "workflow_name", "run_id", "created_at", "start_at", "started_at",
        "closed_at", "duration_display", "history_length", "queue", "subject_link", "args_display",
        "result_display", "vars_display", "error_display", "stuck_display", "parent_link", "children_links",
        "continued_from_link", "continued_as_link",
    ]  # fmt: skip

    # -- read-only history --------------------------------------------------------------------
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # -- the changelist -----------------------------------------------------------------------
    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[RunChangeList]:
        return RunChangeList

    def action_checkbox(self, obj: WorkflowRun) -> SafeString:
        return action_checkbox(obj)

    def get_paginator(
        self,
        request: HttpRequest,
        queryset: QuerySet,
        per_page: int,
        orphans: int = 0,
        allow_empty_first_page: bool = True,
    ) -> RunPaginator:
        """Deep pages by key; an estimated count when big on PostgreSQL; a search's matches read in one go."""
        paginator = RunPaginator(queryset, per_page, orphans, allow_empty_first_page)
        paginator.searched = bool(request.GET.get(SEARCH_VAR, "").strip())
        return paginator

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        """Workflow id contains the term, or the run id is the term (a UUID)."""
        return search.matching(queryset, search_term), False  # one condition on one table: no duplicates

    @admin.display(description="status", ordering="status")
    def status_display(self, run: WorkflowRun) -> SafeString:
        return status_badge(run)

    @admin.display(description="workflow id", ordering="workflow_id")
    def workflow_id_display(self, run: WorkflowRun) -> SafeString:
        """The id, and under it the start of the run id, which tells apart the runs of one id."""
        template = '{}<small class="df-run-id" title="run id {}">{}</small>'
        return format_html(template, run.workflow_id, run.run_id, str(run.run_id)[:8])

    @admin.display(description="workflow", ordering="workflow_name")
    def workflow_name_display(self, run: WorkflowRun) -> str:
        return run.workflow_name

    @admin.display(description="started", ordering="started_at")
    def started_display(self, run: WorkflowRun) -> SafeString | str:
        return compact_timestamp(run.started_at)

    @admin.display(description="closed", ordering="closed_at")
    def closed_display(self, run: WorkflowRun) -> SafeString | str:
        return compact_timestamp(run.closed_at)

    @admin.display(description="duration")
    def duration_display(self, run: WorkflowRun) -> str:
        return duration(run)

    # -- the page of one run ------------------------------------------------------------------
    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        run = self.get_object(request, unquote(object_id))
        extra: dict[str, Any] = {}
        if run is not None and self.has_view_permission(request, run):
            extra = self.run_context(request, run)
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def run_context(self, request: HttpRequest, run: WorkflowRun) -> dict[str, Any]:
        """What the page shows beyond the fields: pending work, timeline, events, operation forms."""
        handle = handle_of(run)
        try:
            description = handle.describe()
        except DurableFlowsError:  # the run vanished (retention) between the lookup and here
            description = {}
        now = timezone.now()
        pending = description.get("pending_activities", [])
        window, earlier = timeline_window(run)
        timeline = build_timeline(window, now=now, pending_activities=pending, max_lanes=TIMELINE_LANES)
        page = event_page(run, request.GET)
        allowed = self.operation_permissions(request)
        return {
            # the status as read before the history, so a page that says "completed" shows the completion too
            # (Django's own view reads the run again, after this)
            "df_status": run.status,
            "description": description,
            "pending_activities": [{**item, "heartbeat_json": as_json(item["heartbeat_details"])} for item in pending],
            "timeline_svg": render_svg(timeline),
            "timeline_window": {"first": window[0].sequence if window else 0, "earlier": sorted(earlier.items())},
            "events_page": page,
            "events_total": max(page.total, window[-1].sequence if window else 0),
            "event_rows": event_rows(page.events),
            "df_permissions": allowed,
            "df_open": run.is_open,
            "signal_form": SignalForm(auto_id="id_signal_%s"),
            "query_form": QueryForm(auto_id="id_query_%s"),
            "update_form": UpdateForm(auto_id="id_update_%s"),
            "cancel_form": ReasonForm(auto_id="id_cancel_%s"),
            "terminate_form": TerminateForm(auto_id="id_terminate_%s"),
            "operation_urls": {
                name: reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_{name}", args=[run.pk])
                for name in allowed
            },
        }

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra = {"df_can_start": self.has_start_permission(request)}
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    @admin.display(description="arguments")
    def args_display(self, run: WorkflowRun) -> SafeString:
        return pretty_json(run.args)

    @admin.display(description="result")
    def result_display(self, run: WorkflowRun) -> SafeString | str:
        return pretty_json(run.result) if run.status == "completed" else "—"

    @admin.display(description="variables (df.set_var)")
    def vars_display(self, run: WorkflowRun) -> SafeString | str:
        return pretty_json(run.vars) if run.vars else "—"

    @admin.display(description="error")
    def error_display(self, run: WorkflowRun) -> SafeString | str:
        error = run.error or {}
        if not error:
            return "—"
        traceback = error.get("traceback") or ""
        template = "<details><summary>traceback</summary><pre>{}</pre></details>"
        details = format_html(template, traceback) if traceback else ""
        kind, message = error.get("type") or "Error", error.get("message") or ""
        return format_html('<strong class="df-error">{}</strong>: {}{}', kind, message, details)

    @admin.display(description="stuck task error")
    def stuck_display(self, run: WorkflowRun) -> SafeString | str:
        if not run.task_error:
            return "—"
        return format_html('<pre class="df-stuck-error">{}</pre>', run.task_error)

    @admin.display(description="subject")
    def subject_link(self, run: WorkflowRun) -> SafeString | str:
        content_type = run.subject_type
        if content_type is None:
            return "—"
        label = f"{content_type.app_label}.{content_type.model} #{run.subject_id}"
        try:
            url = reverse(f"admin:{content_type.app_label}_{content_type.model}_change", args=[run.subject_id])
        except NoReverseMatch:
            return label
        return format_html('<a href="{}">{}</a>', url, label)

    @admin.display(description="parent")
    def parent_link(self, run: WorkflowRun) -> SafeString | str:
        return self._run_link(run.parent) if run.parent is not None else "—"

    @admin.display(description="children")
    def children_links(self, run: WorkflowRun) -> SafeString | str:
        children = list(run.children.order_by("created_at")[: CHILDREN_SHOWN + 1])
        if not children:
            return "—"
        links = format_html_join(", ", "{}", ((self._run_link(child),) for child in children[:CHILDREN_SHOWN]))
        if len(children) > CHILDREN_SHOWN:
            more = run.children.count() - CHILDREN_SHOWN
            links += format_html(" and {} more", more)
        return links

    @admin.display(description="continued from")
    def continued_from_link(self, run: WorkflowRun) -> SafeString | str:
        return self._run_link(run.continued_from) if run.continued_from is not None else "—"

    @admin.display(description="continued as")
    def continued_as_link(self, run: WorkflowRun) -> SafeString | str:
        successor = WorkflowRun.objects.filter(continued_from=run).first()
        return self._run_link(successor) if successor else "—"

    def _run_link(self, run: WorkflowRun) -> SafeString:
        return format_html(
            '<a href="{}">{}</a> ({}, {})', self.change_url(run), run.workflow_id, str(run.run_id)[:8], run.status
        )
