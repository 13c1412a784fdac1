"""URLs of the REST API; the project mounts them with ``path("api/", include("durableflows.api.urls"))``.

Workflow ids may contain slashes (a child workflow's default id is ``"parent/3"``),
so ``{workflow_id}`` matches any characters; the action routes come first, which
means a trailing ``history/``, ``signal/``, ``query/``, ``update/``, ``cancel/`` or
``terminate/`` segment is always read as the action, never as part of the id, and
``workflows/signal-with-start/`` is that endpoint, not a workflow of that id.
``activities/{task_token}/complete/``, ``fail/`` and ``heartbeat/`` settle activities that raised
``df.CompleteAsync``.
"""

from __future__ import annotations

from django.urls import path, register_converter

from .activities import ActivityViewSet
from .docs import docs_view, schema_view
from .views import WorkflowTypeViewSet, WorkflowViewSet


class WorkflowIdConverter:
    """Any non-empty string, slashes included."""

    regex = ".+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(WorkflowIdConverter, "workflow_id")

app_name = "durableflows-api"

ACTIONS = ("history", "signal", "query", "update", "cancel", "terminate")
ACTIVITY_ACTIONS = ("complete", "fail", "heartbeat")
_METHODS = {"history": "get"}

urlpatterns = [
    path("workflows/", WorkflowViewSet.as_view({"get": "list", "post": "create"}), name="workflow-list"),
    path(
        "workflows/signal-with-start/",
        WorkflowViewSet.as_view({"post": "signal_with_start"}),
        name="workflow-signal-with-start",
    ),
    *(
        path(
            f"workflows/<workflow_id:workflow_id>/{action}/",
            WorkflowViewSet.as_view({_METHODS.get(action, "post"): action}),
            name=f"workflow-{action}",
        )
        for action in ACTIONS
    ),
    path("workflows/<workflow_id:workflow_id>/", WorkflowViewSet.as_view({"get": "retrieve"}), name="workflow-detail"),
    path("workflow-types/", WorkflowTypeViewSet.as_view({"get": "list"}), name="workflow-types"),
    *(
        path(
            f"activities/<str:task_token>/{action}/",
            ActivityViewSet.as_view({"post": action}),
            name=f"activity-{action}",
        )
        for action in ACTIVITY_ACTIONS
    ),
    path("schema/", schema_view, name="schema"),
    path("docs/", docs_view, name="docs"),
]
