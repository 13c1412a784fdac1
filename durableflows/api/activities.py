"""``/activities/{task_token}/complete/``, ``fail/`` and ``heartbeat/``: settling activities that raised
``df.CompleteAsync``, for the services that finish their work (a payment provider's webhook, a human task).

Every operation goes through ``df.get_activity_handle``. A token that does not verify is a 404 whatever
the body; an attempt that is over (or whose workflow asked to cancel it, for a heartbeat) a 409 whose
``state`` says why (``completed``, ``failed``, ``timed_out``, ``cancelled``, ``superseded``, ``cancel_requested``).
Completing an activity feeds a fact into its workflow, as a signal does: it needs ``signal_workflow``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from ..activity_handles import ActivityHandle, get_activity_handle
from ..errors import ActivityAttemptClosed, ActivityCancelled, ActivityNotFound, SerializationError
from .errors import Conflict
from .policies import extend_schema
from .serializers import AnyJSONField, StrictCharField
from .views import WorkflowAPIMixin

#: Longest failure message accepted (the traceback of a raised error has no limit but the payload size).
MESSAGE_MAX_LENGTH = 10_000
TYPE_MAX_LENGTH = 255

TASK_TOKEN = OpenApiParameter(
    "task_token",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The attempt's task token, as the activity read it from df.activity_info().task_token.",
)
ERRORS = {
    400: OpenApiResponse(description="malformed body: field-level messages"),
    404: OpenApiResponse(description="not a task token this deployment signed, or its run was deleted"),
    409: OpenApiResponse(description="the attempt is over: completed, failed, timed out, cancelled or retried"),
}


class CompleteActivitySerializer(serializers.Serializer):
    result = AnyJSONField(required=False, allow_null=True, default=None, help_text="the activity's return value")


class FailActivitySerializer(serializers.Serializer):
    message = StrictCharField(max_length=MESSAGE_MAX_LENGTH, allow_blank=True, trim_whitespace=False)
    type = StrictCharField(
        max_length=TYPE_MAX_LENGTH,
        required=False,
        allow_null=True,
        default=None,
        help_text="the error's type, matched by the retry policy's non_retryable_errors (default: Exception)",
    )
    non_retryable = serializers.BooleanField(
        required=False, default=False, help_text="fail the activity at once, whatever its retry policy says"
    )


class HeartbeatActivitySerializer(serializers.Serializer):
    details = AnyJSONField(required=False, allow_null=True, default=None, help_text="progress, kept for a retry")


class ActivityAcceptedSerializer(serializers.Serializer):
    """The answer of complete, fail and heartbeat: recorded; the workflow takes it from there."""

    task_token = serializers.CharField()


class ActivityViewSet(WorkflowAPIMixin, viewsets.ViewSet):
    """Complete, fail or heartbeat an activity attempt that raised CompleteAsync, by its task token."""

    action_permissions = {
        "complete": "durableflows.signal_workflow",
        "fail": "durableflows.signal_workflow",
        "heartbeat": "durableflows.signal_workflow",
    }

    @extend_schema(
        summary="Complete an activity by its task token",
        parameters=[TASK_TOKEN],
        request=CompleteActivitySerializer,
        responses={202: ActivityAcceptedSerializer, **ERRORS},
    )
    def complete(self, request: Request, task_token: str) -> Response:
        handle = self.get_handle()
        data = self.validated(CompleteActivitySerializer)
        with activity_errors(values_field="result"):
            handle.complete(data["result"])
        return self.accepted(handle)

    @extend_schema(
        summary="Fail an activity attempt by its task token (its retry policy applies)",
        parameters=[TASK_TOKEN],
        request=FailActivitySerializer,
        responses={202: ActivityAcceptedSerializer, **ERRORS},
    )
    def fail(self, request: Request, task_token: str) -> Response:
        handle = self.get_handle()
        data = self.validated(FailActivitySerializer)
        with activity_errors(values_field="message"):
            handle.fail(data["message"], data["type"] or None, non_retryable=data["non_retryable"])
        return self.accepted(handle)

    @extend_schema(
        summary="Heartbeat an activity attempt by its task token",
        parameters=[TASK_TOKEN],
        request=HeartbeatActivitySerializer,
        responses={
            202: ActivityAcceptedSerializer,
            **ERRORS,
            409: OpenApiResponse(description="the attempt is over, or the workflow asked to cancel the activity"),
        },
    )
    def heartbeat(self, request: Request, task_token: str) -> Response:
        """Record liveness and details, moving the heartbeat deadline.

        A 409 whose state is cancel_requested: the workflow asked to cancel the activity and nothing was
        recorded; stop the work and report its end with fail/.
        """
        handle = self.get_handle()
        data = self.validated(HeartbeatActivitySerializer)
        with activity_errors(values_field="details"):
            handle.heartbeat(data["details"])
        return self.accepted(handle)

    # -- helpers ----------------------------------------------------------------------------
    def get_handle(self) -> ActivityHandle:
        with activity_errors():
            return get_activity_handle(self.kwargs["task_token"])

    def validated(self, serializer_class: type[serializers.Serializer]) -> dict:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def accepted(self, handle: ActivityHandle) -> Response:
        return Response({"task_token": handle.task_token}, status=status.HTTP_202_ACCEPTED)


@contextlib.contextmanager
def activity_errors(*, values_field: str = "") -> Iterator[None]:
    """Translate what an activity handle raises into DRF exceptions (``values_field``: the body field of a value)."""
    try:
        yield
    except ActivityAttemptClosed as exc:
        raise Conflict({"detail": str(exc), "state": exc.state}) from None
    except ActivityNotFound as exc:
        raise NotFound(str(exc)) from None
    except ActivityCancelled as exc:
        raise Conflict({"detail": str(exc), "state": "cancel_requested"}) from None
    except SerializationError as exc:
        raise ValidationError({values_field: [str(exc)]}) from None
