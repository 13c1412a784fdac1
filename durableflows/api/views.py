"""The API's viewsets: ``/workflows/`` (list, start, describe, history, signal, query, update, cancel,
terminate, signal-with-start) and ``/workflow-types/``.

Lists read WorkflowRun rows; everything about one workflow goes through
``df.get_handle`` and every operation through the handle, as in the admin.
"""

from __future__ import annotations

import inspect
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from .. import client, registry, serialization, with_start
from ..errors import DurableFlowsError
from ..models import HistoryEvent, WorkflowRun
from .errors import PayloadTooLarge, client_errors, no_open_run_is_conflict
from .filters import FilterBackend, WorkflowRunFilter
from .parsers import LimitedJSONParser
from .permissions import WorkflowPermission
from .policies import (
    EventCursorPagination,
    OwnAuthentication,
    RunCursorPagination,
    extend_schema,
    renderer_classes,
)
from .serializers import (
    AcceptedSerializer,
    EventSerializer,
    QueryResultSerializer,
    QuerySerializer,
    ReasonSerializer,
    SignalSerializer,
    SignalWithStartSerializer,
    StartWorkflowSerializer,
    TerminateSerializer,
    UpdatePendingSerializer,
    UpdateSerializer,
    WorkflowDetailSerializer,
    WorkflowRunSerializer,
    WorkflowTypesSerializer,
)

WORKFLOW_ID = OpenApiParameter(
    "workflow_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The workflow id. It may contain slashes (child workflows are named like `parent/3`); "
    "a trailing `history/`, `signal/`, `query/`, `update/`, `cancel/` or `terminate/` segment is read as the action.",
)
RUN_ID = OpenApiParameter(
    "run_id", OpenApiTypes.UUID, OpenApiParameter.QUERY, description="a specific run (default: the latest)"
)
ERRORS = {
    400: OpenApiResponse(description="malformed body: field-level messages"),
    404: OpenApiResponse(description="no workflow with that id"),
}
ACTION_ERRORS = {**ERRORS, 409: OpenApiResponse(description="the workflow has no open run")}


class WorkflowAPIMixin(OwnAuthentication):
    """What every durableflows view carries itself: authentication, permissions, JSON in, rendering, schema.

    A view's own docstring is its page description in the browsable API and in the schema: plain text there.
    """

    permission_classes = [WorkflowPermission]
    parser_classes = [LimitedJSONParser]
    renderer_classes = renderer_classes()

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, RequestDataTooBig):  # Django's own check, when it reads the body first
            exc = PayloadTooLarge(str(exc))
        return super().handle_exception(exc)


@extend_schema_view(
    list=extend_schema(summary="List workflow runs"),
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
    """Workflow runs: list them, start one, and read or operate a workflow by its id.

    A workflow id stands for its latest run; the run_id query parameter picks an earlier one.
    """

    serializer_class = WorkflowRunSerializer
    lookup_field = "workflow_id"
    pagination_class = RunCursorPagination
    filter_backends = [FilterBackend]
    filterset_class = WorkflowRunFilter

    # -- reading --------------------------------------------------------------------------
    def get_queryset(self) -> QuerySet[WorkflowRun]:
        return WorkflowRun.objects.select_related("parent")

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
        filters=False,
    )
    def history(self, request: Request, workflow_id: str) -> Response:
        handle = self.get_handle()
        events = HistoryEvent.objects.filter(run__pk=handle.run_id).only("sequence", "type", "timestamp", "data")
        paginator = EventCursorPagination()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(EventSerializer(page, many=True).data)

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
        handle = self.get_handle()  # an unknown id is a 404 whatever the body
        data = self.validated(SignalSerializer)
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
        handle = self.get_handle()
        data = self.validated(QuerySerializer)
        with client_errors():
            try:
                result = handle.query(data["name"], *data["args"])
            except DurableFlowsError:
                raise
            except Exception as exc:  # the handler's own error: the arguments did not suit it
                raise ValidationError({"args": [f"the query handler raised {type(exc).__name__}: {exc}"]}) from None
        return Response({"result": serialization.plain(result)})

    @extend_schema(
        summary="Send an update and wait for its result",
        parameters=[WORKFLOW_ID],
        request=UpdateSerializer,
        responses={
            200: QueryResultSerializer,
            202: UpdatePendingSerializer,
            400: OpenApiResponse(description="malformed body, or the workflow's validator rejected the update"),
            404: OpenApiResponse(description="no workflow with that id"),
            409: OpenApiResponse(description="the workflow has no open run"),
            422: OpenApiResponse(description="the update's handler raised"),
        },
    )
    def update(self, request: Request, workflow_id: str) -> Response:
        """Send an update and answer its result.

        If the outcome is not known within timeout seconds the answer is 202 with the update_id: post the
        same body with that update_id again to wait on, then get, the outcome of the first request.
        """
        handle = self.get_handle()
        data = self.validated(UpdateSerializer)
        with client_errors(), no_open_run_is_conflict():
            try:
                update = handle.start_update(data["name"], *data["args"], update_id=data["update_id"])
            except ValueError as exc:  # the update id's own rules, beyond the serializer's
                raise ValidationError({"update_id": [str(exc)]}) from None
        with client_errors():
            try:
                result = update.result(timeout=data["timeout"])
            except TimeoutError:
                body = {"workflow_id": handle.workflow_id, "run_id": update.run_id, "update_id": update.update_id}
                return Response(body, status=status.HTTP_202_ACCEPTED)
        return Response({"result": serialization.plain(result)})

    @extend_schema(
        summary="Signal a workflow, starting it first if it has no open run",
        request=SignalWithStartSerializer,
        responses={
            201: WorkflowDetailSerializer,
            202: AcceptedSerializer,
            400: OpenApiResponse(description="bad input: unknown workflow, unserializable or oversized values"),
        },
    )
    def signal_with_start(self, request: Request) -> Response:
        """Signal the open run of id, or start one whose first fact is the signal: 201 started, 202 signalled."""
        data = self.validated(SignalWithStartSerializer)
        signal = data["signal"]
        with client_errors(workflow_field="workflow"):
            try:
                handle, started = with_start.signal_or_start(
                    data["workflow"],
                    tuple(data["args"]),
                    id=data["id"],
                    signal=signal["name"],
                    payload=signal["payload"],
                    start_delay=data["start_delay"],
                )
            except ValueError as exc:
                raise ValidationError({"id": [str(exc)]}) from None
        if started:
            return self.detail_response(handle, status.HTTP_201_CREATED)
        return self.accepted(handle)

    @extend_schema(
        summary="Request cancellation", parameters=[WORKFLOW_ID], request=ReasonSerializer,
        responses={202: AcceptedSerializer, **ACTION_ERRORS},
    )  # fmt: skip
    def cancel(self, request: Request, workflow_id: str) -> Response:
        handle = self.get_handle()
        data = self.validated(ReasonSerializer)
        with no_open_run_is_conflict():
            handle.cancel(reason=data["reason"])
        return self.accepted(handle)

    @extend_schema(
        summary="Terminate", parameters=[WORKFLOW_ID], request=TerminateSerializer,
        responses={202: AcceptedSerializer, **ACTION_ERRORS},
    )  # fmt: skip
    def terminate(self, request: Request, workflow_id: str) -> Response:
        handle = self.get_handle()
        data = self.validated(TerminateSerializer)
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
        workflows = [_describe_workflow(d) for d in sorted(registry.workflows().values(), key=lambda d: d.name)]
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


def _describe_workflow(definition: registry.WorkflowDefinition) -> dict[str, Any]:
    """A workflow with its start parameters and, for a class, its handler methods (``self`` left out)."""
    spec = definition.workflow_class
    handlers = [
        {"kind": h.kind, "name": h.name, "parameters": _describe(h.name, h.function)["parameters"][1:]}
        for h in (spec.handlers if spec is not None else ())
    ]
    return {**_describe(definition.name, definition.fn), "handlers": handlers}


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
