"""Serializers of the REST API: runs and events out; start, signal, query and reason bodies in.

Input serializers check shapes (field-level 400s); whether values can cross the
boundary (size, JSON-ability) is decided by the client, whose errors the views
turn into field-level 400s as well. Every timestamp goes out in one form, ISO 8601
in UTC ending in ``Z`` (DRF's own), whether a model field, a ``describe()`` entry,
an event's data or a datetime inside a value.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any, cast

from django.db import models
from django.urls import NoReverseMatch, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..client import ID_CONFLICT_POLICIES
from ..models import WorkflowRun
from ..serialization import TAG
from ..status import Status

#: Longest signal, query or workflow name accepted.
NAME_MAX_LENGTH = 255
#: How long ``update/`` waits for an update's outcome by default, and at most (seconds).
UPDATE_WAIT_DEFAULT = 30.0
UPDATE_WAIT_MAX = 300.0
#: Longest cancel or terminate reason accepted.
REASON_MAX_LENGTH = 2000


class StrictCharField(serializers.CharField):
    """A string, and only a string: ``{"id": 5}`` is refused rather than read as ``"5"``."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


#: The keys of event data under which the engine records its own timestamps (ISO 8601 strings).
EVENT_TIMESTAMP_KEYS = ("start_at", "started_at", "fire_at")


def zulu(text: str) -> str:
    """An ISO 8601 timestamp in UTC written with ``Z``, as DRF writes its own; other text unchanged."""
    return f"{text[:-6]}Z" if text.endswith("+00:00") else text


def _zulu_datetimes(value: Any) -> Any:
    """The value with every tagged datetime (``{"__df__": "datetime", "v": ...}``) in UTC written with ``Z``."""
    if isinstance(value, dict):
        if len(value) == 2 and value.get(TAG) == "datetime" and isinstance(value.get("v"), str):
            return {TAG: "datetime", "v": zulu(value["v"])}
        return {key: _zulu_datetimes(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_zulu_datetimes(item) for item in value]
    return value


class UTCDateTimeField(serializers.DateTimeField):
    """A timestamp in UTC (``2026-11-29T22:09:18.122374Z``), whatever the project's ``TIME_ZONE``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("default_timezone", UTC)
        super().__init__(**kwargs)


@extend_schema_field(OpenApiTypes.ANY)
class AnyJSONField(serializers.JSONField):
    """Any JSON value (object, array, string, number, boolean or null)."""

    def to_representation(self, value: Any) -> Any:
        return _zulu_datetimes(super().to_representation(value))


class EventDataField(AnyJSONField):
    """An event's data, with the engine's own timestamps in the API's form."""

    def to_representation(self, value: Any) -> Any:
        data = super().to_representation(value)
        if not isinstance(data, dict):
            return data
        return {
            key: zulu(item) if key in EVENT_TIMESTAMP_KEYS and isinstance(item, str) else item
            for key, item in data.items()
        }


class WorkflowRunSerializer(serializers.ModelSerializer):
    """One run of a workflow id, as listed."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: UTCDateTimeField,
    }

    url = serializers.SerializerMethodField()
    args = AnyJSONField(read_only=True)
    result = AnyJSONField(read_only=True)
    error = AnyJSONField(read_only=True)
    stuck_error = serializers.CharField(source="task_error", read_only=True)
    parent_workflow_id = serializers.SerializerMethodField()

    class Meta:
        model = WorkflowRun
        fields = [
            "url",
            "workflow_id",
            "run_id",
            "workflow_name",
            "status",
            "args",
            "result",
            "error",
            "created_at",
            "start_at",
            "started_at",
            "closed_at",
            "history_length",
            "stuck_error",
            "parent_workflow_id",
        ]
        read_only_fields = fields

    def get_url(self, run: WorkflowRun) -> str | None:
        request = self.context.get("request")
        try:
            path = reverse("durableflows-api:workflow-detail", kwargs={"workflow_id": run.workflow_id})
        except NoReverseMatch:
            return None
        return request.build_absolute_uri(path) if request is not None else path

    def get_parent_workflow_id(self, run: WorkflowRun) -> str | None:
        return run.parent.workflow_id if run.parent_id and run.parent else None


class PendingActivitySerializer(serializers.Serializer):
    activity_id = serializers.IntegerField()
    name = serializers.CharField()
    state = serializers.CharField()
    attempt = serializers.IntegerField()
    next_attempt_at = UTCDateTimeField(allow_null=True)
    last_error = AnyJSONField(allow_null=True)
    last_heartbeat_at = UTCDateTimeField(allow_null=True)
    heartbeat_details = AnyJSONField(allow_null=True)
    cancel_requested = serializers.BooleanField()


class PendingTimerSerializer(serializers.Serializer):
    timer_id = serializers.IntegerField()
    fire_at = UTCDateTimeField()


class ChildRunSerializer(serializers.Serializer):
    workflow_id = serializers.CharField()
    run_id = serializers.CharField()
    status = serializers.CharField()


class WorkflowDetailSerializer(WorkflowRunSerializer):
    """A run with what ``handle.describe()`` adds: variables, pending activities and timers, children."""

    vars = AnyJSONField(read_only=True)
    pending_activities = serializers.SerializerMethodField()
    pending_activities_total = serializers.SerializerMethodField()
    pending_timers = serializers.SerializerMethodField()
    pending_timers_total = serializers.SerializerMethodField()
    children = serializers.SerializerMethodField()
    children_total = serializers.SerializerMethodField()
    continued_from_run_id = serializers.UUIDField(source="continued_from_id", read_only=True, allow_null=True)

    class Meta(WorkflowRunSerializer.Meta):
        fields = [
            *WorkflowRunSerializer.Meta.fields,
            "vars",
            "pending_activities",
            "pending_activities_total",
            "pending_timers",
            "pending_timers_total",
            "children",
            "children_total",
            "continued_from_run_id",
        ]
        read_only_fields = fields

    def _described(self, key: str, serializer_class: type[serializers.Serializer]) -> list[dict[str, Any]]:
        """Part of ``handle.describe()``, which the view passes in the context."""
        items = (self.context.get("description") or {}).get(key) or []
        return cast(list[dict[str, Any]], serializer_class(items, many=True).data)  # many=True: a list

    @extend_schema_field(PendingActivitySerializer(many=True))
    def get_pending_activities(self, run: WorkflowRun) -> list[dict[str, Any]]:
        return self._described("pending_activities", PendingActivitySerializer)

    @extend_schema_field(PendingTimerSerializer(many=True))
    def get_pending_timers(self, run: WorkflowRun) -> list[dict[str, Any]]:
        return self._described("pending_timers", PendingTimerSerializer)

    @extend_schema_field(ChildRunSerializer(many=True))
    def get_children(self, run: WorkflowRun) -> list[dict[str, Any]]:
        return self._described("children", ChildRunSerializer)

    def _total(self, key: str) -> int:
        """How many of a ``describe()`` list there are: its lists hold the first ``DESCRIBE_LIMIT`` only."""
        return int((self.context.get("description") or {}).get(f"{key}_total") or 0)

    @extend_schema_field(OpenApiTypes.INT)
    def get_pending_activities_total(self, run: WorkflowRun) -> int:
        return self._total("pending_activities")

    @extend_schema_field(OpenApiTypes.INT)
    def get_pending_timers_total(self, run: WorkflowRun) -> int:
        return self._total("pending_timers")

    @extend_schema_field(OpenApiTypes.INT)
    def get_children_total(self, run: WorkflowRun) -> int:
        return self._total("children")


class StartWorkflowSerializer(serializers.Serializer):
    """The body of ``POST /workflows/``: which workflow, its arguments, and start options."""

    workflow = StrictCharField(max_length=NAME_MAX_LENGTH, help_text="a registered workflow name")
    args = serializers.ListField(child=AnyJSONField(), required=False, default=list, help_text="positional arguments")
    id = StrictCharField(
        max_length=255, required=False, allow_null=True, default=None, help_text="the workflow id; random when omitted"
    )
    id_conflict = serializers.ChoiceField(choices=ID_CONFLICT_POLICIES, default="fail")
    start_delay = serializers.FloatField(
        required=False, allow_null=True, default=None, min_value=0, max_value=10 * 365 * 86400, help_text="seconds"
    )

    def validate_id(self, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise serializers.ValidationError("The id may not be blank.")
        return value


class SignalSerializer(serializers.Serializer):
    name = StrictCharField(max_length=NAME_MAX_LENGTH)
    payload = AnyJSONField(required=False, allow_null=True, default=None)


class QuerySerializer(serializers.Serializer):
    name = StrictCharField(max_length=NAME_MAX_LENGTH)
    args = serializers.ListField(child=AnyJSONField(), required=False, default=list)


class QueryResultSerializer(serializers.Serializer):
    result = AnyJSONField(allow_null=True)


class UpdateSerializer(serializers.Serializer):
    """The body of ``POST /workflows/{id}/update/``; send the same ``update_id`` again to get the first outcome."""

    name = StrictCharField(max_length=NAME_MAX_LENGTH)
    args = serializers.ListField(child=AnyJSONField(), required=False, default=list)
    update_id = StrictCharField(
        max_length=255, required=False, allow_null=True, default=None, help_text="random when omitted"
    )
    timeout = serializers.FloatField(
        required=False,
        default=UPDATE_WAIT_DEFAULT,
        min_value=0,
        max_value=UPDATE_WAIT_MAX,
        help_text="seconds to wait for the outcome before answering 202 (default 30)",
    )


class UpdatePendingSerializer(serializers.Serializer):
    """202 from ``update/``: the update is sent but not decided yet; post its ``update_id`` again for the outcome."""

    workflow_id = serializers.CharField()
    run_id = serializers.CharField()
    update_id = serializers.CharField()


class SignalWithStartSerializer(StartWorkflowSerializer):
    """The body of ``POST /workflows/signal-with-start/``: a start body (``id`` required) plus the signal."""

    id = StrictCharField(max_length=255, help_text="the workflow id: its open run is signalled, or one is started")
    id_conflict = None  # type: ignore[assignment]  # an open run is signalled, never replaced
    signal = SignalSerializer()


class ReasonSerializer(serializers.Serializer):
    reason = StrictCharField(max_length=REASON_MAX_LENGTH, required=False, allow_blank=True, default="")


class TerminateSerializer(serializers.Serializer):
    """Terminating runs no more of the workflow's code (no cleanup): the reason is required, as in the admin."""

    reason = StrictCharField(max_length=REASON_MAX_LENGTH)


class AcceptedSerializer(serializers.Serializer):
    """The answer of signal, cancel and terminate: the request is recorded and will take effect."""

    workflow_id = serializers.CharField()
    run_id = serializers.CharField()
    status = serializers.ChoiceField(choices=Status.choices())


class EventSerializer(serializers.Serializer):
    sequence = serializers.IntegerField()
    type = serializers.CharField()
    timestamp = UTCDateTimeField()
    data = EventDataField()  # type: ignore[assignment]  # the metaclass takes fields out of the class: .data stays


class RegisteredTypeSerializer(serializers.Serializer):
    name = serializers.CharField()
    module = serializers.CharField()
    doc = serializers.CharField(allow_blank=True)
    parameters = serializers.ListField(child=serializers.CharField())


class HandlerTypeSerializer(serializers.Serializer):
    """A handler method of a workflow class (a function workflow's handlers are only known while it runs)."""

    kind = serializers.CharField()
    name = serializers.CharField()
    parameters = serializers.ListField(child=serializers.CharField())


class WorkflowTypeSerializer(RegisteredTypeSerializer):
    handlers = HandlerTypeSerializer(many=True)


class ActivityTypeSerializer(RegisteredTypeSerializer):
    options = AnyJSONField()


class WorkflowTypesSerializer(serializers.Serializer):
    workflows = WorkflowTypeSerializer(many=True)
    activities = ActivityTypeSerializer(many=True)
