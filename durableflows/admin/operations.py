"""The admin's operations on runs: signal, query, update, cancel, terminate, start, and the bulk actions.

Every operation goes through the client (``df.get_handle(...)``, ``df.start``),
checks its custom permission, and is recorded as a ``LogEntry`` on the run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from .. import client
from ..errors import (
    DurableFlowsError,
    InvalidArguments,
    QueryNotFound,
    SerializationError,
    UnknownWorkflowError,
    UpdateFailed,
    UpdateRejected,
    WorkflowAlreadyExists,
    WorkflowNotFound,
)
from ..models import WorkflowRun
from .display import pretty_json
from .forms import QueryForm, ReasonForm, SignalForm, StartWorkflowForm, TerminateForm, UpdateForm

OPERATION_TEMPLATE = "admin/durableflows/workflowrun/operation.html"
BULK_TEMPLATE = "admin/durableflows/workflowrun/bulk_action.html"
#: Operation name -> (form class, permission codename, verb for messages).
OPERATIONS: dict[str, tuple[type[forms.Form], str, str]] = {
    "signal": (SignalForm, "signal_workflow", "Send a signal"),
    "query": (QueryForm, "query_workflow", "Run a query"),
    "update": (UpdateForm, "update_workflow", "Send an update"),
    "cancel": (ReasonForm, "cancel_workflow", "Request cancellation"),
    "terminate": (TerminateForm, "terminate_workflow", "Terminate"),
}


DONE_MESSAGES = {
    "signal": "Signal {name!r} sent to {run.workflow_id}.",
    "cancel": "Cancellation of {run.workflow_id} requested.",
    "terminate": "Terminated {run.workflow_id}.",
}


def handle_of(run: WorkflowRun) -> client.WorkflowHandle:
    """A handle pinned to this very run, so an operation never reaches a newer run by surprise."""
    return client.get_handle(run.workflow_id, run_id=run.run_id)


# Type checkers see the mixin as the ModelAdmin it is mixed into; at run time it is a plain class ahead of it.
if TYPE_CHECKING:
    _AdminBase = admin.ModelAdmin[WorkflowRun]
else:
    _AdminBase = object


class OperationsMixin(_AdminBase):
    """Mixed into the WorkflowRun ModelAdmin: URLs, permission checks, views and bulk actions."""

    #: How long sending an update from the admin waits for its outcome (seconds).
    update_wait = 10.0

    # -- permissions ------------------------------------------------------------------------
    def _has(self, request: HttpRequest, codename: str) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.{codename}")

    def has_start_permission(self, request: HttpRequest) -> bool:
        return self._has(request, "start_workflow")

    def has_signal_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._has(request, "signal_workflow")

    def has_query_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._has(request, "query_workflow")

    def has_update_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._has(request, "update_workflow")

    def has_cancel_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._has(request, "cancel_workflow")

    def has_terminate_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._has(request, "terminate_workflow")

    def operation_permissions(self, request: HttpRequest) -> dict[str, bool]:
        return {name: self._has(request, codename) for name, (_, codename, _) in OPERATIONS.items()}

    # -- URLs -------------------------------------------------------------------------------
    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        wrap: Callable[..., Any] = self.admin_site.admin_view
        custom = [path("start/", wrap(self.start_view), name=f"{info[0]}_{info[1]}_start")]
        for name in OPERATIONS:
            custom.append(
                path(
                    f"<path:object_id>/{name}/",
                    wrap(self.operation_view),
                    {"operation": name},
                    name=f"{info[0]}_{info[1]}_{name}",
                )
            )
        return custom + super().get_urls()

    def change_url(self, run: WorkflowRun) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[run.pk])

    # -- one run ----------------------------------------------------------------------------
    def operation_view(self, request: HttpRequest, object_id: str, operation: str) -> HttpResponse:
        """GET: the operation's form; POST: perform it, then back to the run's page (or the form with errors)."""
        run = self.get_object(request, unquote(object_id))
        if run is None:
            raise Http404(f"no workflow run {object_id!r}")
        form_class, codename, title = OPERATIONS[operation]
        if not self.has_view_permission(request, run) or not self._has(request, codename):
            raise PermissionDenied
        form = form_class(request.POST or None)
        answer: dict[str, Any] | None = None
        if request.method == "POST" and form.is_valid():
            try:
                answer = getattr(self, f"perform_{operation}")(request, run, form.cleaned_data)
            except SerializationError as exc:
                form.add_error(next((f for f in ("payload", "args") if f in form.fields), None), str(exc))
            except QueryNotFound as exc:
                form.add_error("name", str(exc))
            except UpdateRejected as exc:
                form.add_error(None, f"The workflow rejected the update: {exc}")
            except UpdateFailed as exc:
                form.add_error(None, f"The update failed: {exc.type}: {exc.message}")
            except DurableFlowsError as exc:
                form.add_error(None, str(exc))
            except Exception as exc:  # noqa: BLE001 - a query handler's own error is shown, not a 500
                if operation != "query":
                    raise
                form.add_error(None, f"the query handler raised {type(exc).__name__}: {exc}")
            else:
                if operation not in ("query", "update"):
                    messages.success(request, DONE_MESSAGES[operation].format(run=run, **form.cleaned_data))
                    return HttpResponseRedirect(self.change_url(run))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": run,
            "title": f"{title}: {run.workflow_id}",
            "submit_label": title,
            "operation": operation,
            "form": form,
            "answer": answer,
            "change_url": self.change_url(run),
            "media": self.media + form.media,
        }
        return TemplateResponse(request, OPERATION_TEMPLATE, context, status=400 if form.errors else 200)

    def perform_signal(self, request: HttpRequest, run: WorkflowRun, data: dict[str, Any]) -> None:
        handle_of(run).signal(data["name"], data["payload"])
        self.log_change(request, run, f"Sent signal {data['name']!r}.")

    def perform_query(self, request: HttpRequest, run: WorkflowRun, data: dict[str, Any]) -> dict[str, Any]:
        result = handle_of(run).query(data["name"], *data["args"])
        self.log_change(request, run, f"Ran query {data['name']!r}.")
        return {"name": data["name"], "title": "Answer of query", "result": pretty_json(result)}

    def perform_update(self, request: HttpRequest, run: WorkflowRun, data: dict[str, Any]) -> dict[str, Any]:
        """Send the update and wait up to ``update_wait`` seconds for its outcome."""
        update = handle_of(run).start_update(data["name"], *data["args"], update_id=data["update_id"] or None)
        self.log_change(request, run, f"Sent update {data['name']!r} ({update.update_id}).")
        try:
            result = update.result(timeout=self.update_wait)
        except TimeoutError:
            note = f"Update {update.update_id} sent; the workflow has not decided it yet. Send the same id again."
            return {"name": data["name"], "title": "Update", "pending": note}
        return {"name": data["name"], "title": "Result of update", "result": pretty_json(result)}

    def perform_cancel(self, request: HttpRequest, run: WorkflowRun, data: dict[str, Any]) -> None:
        handle_of(run).cancel(reason=data["reason"])
        self.log_change(request, run, f"Requested cancellation: {data['reason'] or 'no reason given'}.")

    def perform_terminate(self, request: HttpRequest, run: WorkflowRun, data: dict[str, Any]) -> None:
        handle_of(run).terminate(reason=data["reason"])
        self.log_change(request, run, f"Terminated: {data['reason']}.")

    # -- starting ---------------------------------------------------------------------------
    def start_view(self, request: HttpRequest) -> HttpResponse:
        """A form listing the registered workflows; starts one through ``df.start``."""
        if not self.has_start_permission(request):
            raise PermissionDenied
        form = StartWorkflowForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                handle = client.start(
                    data["workflow"], *data["args"], id=data["id"] or None, id_conflict=data["id_conflict"]
                )
            except (SerializationError, InvalidArguments) as exc:
                form.add_error("args", str(exc))
            except UnknownWorkflowError as exc:
                form.add_error("workflow", str(exc))
            except WorkflowAlreadyExists as exc:
                form.add_error("id", str(exc))
            except ValueError as exc:
                form.add_error("id", str(exc))
            else:
                run = WorkflowRun.objects.get(pk=handle.run_id)
                self.log_addition(request, run, f"Started {run.workflow_name} from the admin.")
                messages.success(request, f"Started {run.workflow_name} as {run.workflow_id}.")
                return HttpResponseRedirect(self.change_url(run))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Start a workflow",
            "operation": "start",
            "form": form,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, OPERATION_TEMPLATE, context, status=400 if form.errors else 200)

    # -- bulk actions -----------------------------------------------------------------------
    @admin.action(permissions=["cancel"], description="Cancel selected workflows")
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[WorkflowRun]) -> HttpResponse | None:
        return self._bulk(request, queryset, "cancel", ReasonForm)

    @admin.action(permissions=["terminate"], description="Terminate selected workflows")
    def terminate_selected(self, request: HttpRequest, queryset: QuerySet[WorkflowRun]) -> HttpResponse | None:
        return self._bulk(request, queryset, "terminate", TerminateForm)

    def _bulk(
        self, request: HttpRequest, queryset: QuerySet[WorkflowRun], operation: str, form_class: type[forms.Form]
    ) -> HttpResponse | None:
        """First an intermediate page asking for the reason, then the operation on every open selected run."""
        runs = list(queryset)
        form = form_class(request.POST if "confirm" in request.POST else None)
        if "confirm" in request.POST and form.is_valid():
            done, skipped = 0, []
            for run in runs:
                try:
                    getattr(self, f"perform_{operation}")(request, run, form.cleaned_data)
                except WorkflowNotFound:
                    skipped.append(run.workflow_id)
                else:
                    done += 1
            messages.success(request, f"{operation.capitalize()}: {done} run(s).")
            if skipped:
                messages.warning(request, f"Skipped {len(skipped)} closed run(s): {', '.join(skipped[:10])}")
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{operation.capitalize()} {len(runs)} workflow run(s)",
            "operation": operation,
            "runs": runs,
            "open_runs": [run for run in runs if run.is_open],
            "form": form,
            "action": f"{operation}_selected",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        return TemplateResponse(request, BULK_TEMPLATE, context)
