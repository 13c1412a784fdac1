"""The API's viewsets: ``/workflows/`` (list, start, describe, history, signal, query, cancel, terminate)
and ``/workflow-types/``.

Lists read WorkflowRun rows; everything about one workflow goes through
``df.get_handle`` and every operation through the handle, as in the admin.
"""

from __future__ import annotations

import inspect
import uuid
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db.models import Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from .. import client, registry
from ..errors import DurableFlowsError
from ..models import WorkflowRun
from ..status import Status
from .errors import PayloadTooLarge, client_errors, no_open_run_is_conflict
from .parsers import LimitedJSONParser
from .permissions import WorkflowPermission
from .serializers import (
    AcceptedSerializer,
    EventSerializer,
    QueryResultSerializer,
    QuerySerializer,
    ReasonSerializer,
    SignalSerializer,
    StartWorkflowSerializer,
    WorkflowDetailSerializer,
    WorkflowRunSerializer,
    WorkflowTypesSerializer,
)

WORKFLOW_ID = OpenApiParameter(
    "workflow_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The workflow id. It may contain slashes (child workflows are named like `parent/3`); "
    "a trailing `history/`, `signal/`, `query/`, `cancel/` or `terminate/` segment is read as the action.",
)
RUN_ID = OpenApiParameter(
    "run_id", OpenApiTypes.UUID, OpenApiParameter.QUERY, description="a specific run (default: the latest)"
)
ERRORS = {
    400: OpenApiResponse(description="malformed body: field-level messages"),
    404: OpenApiResponse(description="no workflow with that id"),
}
ACTION_ERRORS = {**ERRORS, 409: OpenApiResponse(description="the workflow has no open run")}


class WorkflowAPIMixin:
    """What every durableflows viewset shares: JSON in, the action-keyed permission."""

    parser_classes = [LimitedJSONParser]
    permission_classes = [WorkflowPermission]

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, RequestDataTooBig):  # Django's own check, when it reads the body first
            exc = PayloadTooLarge(str(exc))
        return super().handle_exception(exc)


@extend_schema_view(
    list=extend_schema(
        summary="List workflow runs",
        parameters=[
            OpenApiParameter(
                "status", OpenApiTypes.STR, enum=[s.value for s in Status], description="runs in this status"
            ),
            OpenApiParameter("workflow", OpenApiTypes.STR, description="runs of this workflow name"),
            OpenApiParameter("workflow_id", OpenApiTypes.STR, description="runs of this workflow id"),
            OpenApiParameter("search", OpenApiTypes.STR, description="workflow id contains this, or run id is this"),
        ],
    ),
    create=extend_schema(
        summary="Start a workflow",
        request=StartWorkflowSerializer,
        responses={
            201: WorkflowDetailSerializer,
            400: OpenApiResponse(description="bad input: unknown workflow, unserializable or oversized arguments"),
            409: OpenApiResponse(description="a run with that id is open"),
        },
    ),
    retrieve=extend_schema(
        summary="Describe a workflow",
        parameters=[WORKFLOW_ID, RUN_ID],
        responses={200: WorkflowDetailSerializer, **ERRORS},
    ),
)
class WorkflowViewSet(WorkflowAPIMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Workflows by id. ``{workflow_id}`` means its latest run unless ``?run_id=`` picks one."""

    serializer_class = WorkflowRunSerializer
    lookup_field = "workflow_id"

    # -- reading --------------------------------------------------------------------------
    def get_queryset(self) -> QuerySet[WorkflowRun]:
        queryset = WorkflowRun.objects.select_related("parent").order_by("-created_at", "run_id")
        params = self.request.query_params
        for name, values in params.lists():
            if any("\x00" in value for value in values):
                raise ValidationError({name: ["must not contain NUL characters."]})
        if value := params.get("status"):
            if value not in {s.value for s in Status}:
                raise ValidationError({"status": [f"{value!r} is not one of {', '.join(s.value for s in Status)}."]})
            queryset = queryset.filter(status=value)
        if value := params.get("workflow"):
            queryset = queryset.filter(workflow_name=value)
        if value := params.get("workflow_id"):
            queryset = queryset.filter(workflow_id=value)
        if value := params.get("search", "").strip():
            condition = Q(workflow_id__icontains=value)
            try:
                condition |= Q(run_id=uuid.UUID(value))
            except ValueError:
                pass
            queryset = queryset.filter(condition)
        return queryset

    def get_handle(self) -> client.WorkflowHandle:
        """The handle of the URL's workflow id (and ``?run_id=``); 404 when there is none."""
        with client_errors():
            return client.get_handle(self.kwargs["workflow_id"], self.request.query_params.get("run_id") or None)

    def detail_response(self, handle: client.WorkflowHandle, status_code: int = status.HTTP_200_OK) -> Response:
        with client_errors():
            description = handle.describe()
        run = WorkflowRun.objects.select_related("parent").get(pk=description["run_id"])
        context = {**self.get_serializer_context(), "description": description}
        return Response(WorkflowDetailSerializer(run, context=context).data, status=status_code)

    def retrieve(self, request: Request, workflow_id: str) -> Response:
        return self.detail_response(self.get_handle())

    @extend_schema(
        summary="The history of a workflow run",
        parameters=[WORKFLOW_ID, RUN_ID],
        responses={200: EventSerializer(many=True), **ERRORS},
    )
    def history(self, request: Request, workflow_id: str) -> Response:
        handle = self.get_handle()
        with client_errors():
            events = [event.to_json() for event in handle.history()]
        page = self.paginate_queryset(events)
        if page is not None:
            return self.get_paginated_response(EventSerializer(page, many=True).data)
        return Response(EventSerializer(events, many=True).data)

    # -- acting ---------------------------------------------------------------------------
    def create(self, request: Request) -> Response:
        serializer = StartWorkflowSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        handle = self.perform_create(serializer)
        return self.detail_response(handle, status.HTTP_201_CREATED)

    def perform_create(self, serializer: StartWorkflowSerializer) -> client.WorkflowHandle:
        """Start the workflow; override to add e.g. ``subject=`` or a queue."""
        data = serializer.validated_data
        with client_errors(workflow_field="workflow"):
            try:
                return client.start(
                    data["workflow"],
                    *data["args"],
                    id=data["id"],
                    id_conflict=data["id_conflict"],
                    start_delay=data["start_delay"],
                )
            except ValueError as exc:  # the id's own rules, beyond the serializer's
                raise ValidationError({"id": [str(exc)]}) from None

    @extend_schema(
        summary="Send a signal",
        parameters=[WORKFLOW_ID],
        request=SignalSerializer,
        responses={202: AcceptedSerializer, **ACTION_ERRORS},
    )
    def signal(self, request: Request, workflow_id: str) -> Response:
        data = self.validated(SignalSerializer)
        handle = self.get_handle()
        with client_errors(values_field="payload"), no_open_run_is_conflict():
            handle.signal(data["name"], data["payload"])
        return self.accepted(handle)

    @extend_schema(
        summary="Run a query",
        parameters=[WORKFLOW_ID],
        request=QuerySerializer,
        responses={200: QueryResultSerializer, **ERRORS, 409: OpenApiResponse(description="the run cannot replay")},
    )
    def query(self, request: Request, workflow_id: str) -> Response:
        data = self.validated(QuerySerializer)
        handle = self.get_handle()
        with client_errors():
            try:
                result = handle.query(data["name"], *data["args"])
            except DurableFlowsError:
                raise
            except Exception as exc:  # the handler's own error: the arguments did not suit it
                raise ValidationError({"args": [f"the query handler raised {type(exc).__name__}: {exc}"]}) from None
        return Response({"result": result})

    @extend_schema(
        summary="Request cancellation", parameters=[WORKFLOW_ID], request=ReasonSerializer,
        responses={202: AcceptedSerializer, **ACTION_ERRORS},
    )  # fmt: skip
    def cancel(self, request: Request, workflow_id: str) -> Response:
        data = self.validated(ReasonSerializer)
        handle = self.get_handle()
        with no_open_run_is_conflict():
            handle.cancel(reason=data["reason"])
        return self.accepted(handle)

    @extend_schema(
        summary="Terminate", parameters=[WORKFLOW_ID], request=ReasonSerializer,
        responses={202: AcceptedSerializer, **ACTION_ERRORS},
    )  # fmt: skip
    def terminate(self, request: Request, workflow_id: str) -> Response:
        data = self.validated(ReasonSerializer)
        handle = self.get_handle()
        with no_open_run_is_conflict():
            handle.terminate(reason=data["reason"])
        return self.accepted(handle)

    # -- helpers ----------------------------------------------------------------------------
    def validated(self, serializer_class: type) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def accepted(self, handle: client.WorkflowHandle) -> Response:
        body = {"workflow_id": handle.workflow_id, "run_id": handle.run_id, "status": handle.status.value}
        return Response(body, status=status.HTTP_202_ACCEPTED)


class WorkflowTypeViewSet(WorkflowAPIMixin, viewsets.ViewSet):
    """The workflows and activities registered in this process."""

    action_permissions = {"list": "durableflows.view_workflowrun"}

    @extend_schema(summary="Registered workflows and activities", responses={200: WorkflowTypesSerializer})
    def list(self, request: Request) -> Response:
        workflows = [_describe(d.name, d.fn) for d in sorted(registry.workflows().values(), key=lambda d: d.name)]
        activities = [
            {**_describe(d.name, d.fn), "options": d.options.to_json()}
            for d in sorted(registry.activities().values(), key=lambda d: d.name)
        ]
        return Response(WorkflowTypesSerializer({"workflows": workflows, "activities": activities}).data)


def _describe(name: str, fn: Any) -> dict[str, Any]:
    try:
        parameters = [_parameter(p) for p in inspect.signature(fn).parameters.values()]
    except (TypeError, ValueError):
        parameters = []
    return {
        "name": name,
        "module": getattr(fn, "__module__", ""),
        "doc": inspect.getdoc(fn) or "",
        "parameters": parameters,
    }


def _parameter(parameter: inspect.Parameter) -> str:
    """``name: annotation = default`` as written, whether or not annotations are postponed (strings)."""
    text = parameter.name
    if parameter.kind is parameter.VAR_POSITIONAL:
        text = f"*{text}"
    elif parameter.kind is parameter.VAR_KEYWORD:
        text = f"**{text}"
    annotation = parameter.annotation
    if annotation is not parameter.empty:
        text += f": {annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)}"
    if parameter.default is not parameter.empty:
        text += f" = {parameter.default!r}"
    return text
