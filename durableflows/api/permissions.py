"""Who may do what over the API: Django model permissions on WorkflowRun, one per action."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

#: The permission each viewset action needs (``app_label.codename``), or all of several.
ACTION_PERMISSIONS: dict[str, str | tuple[str, ...]] = {
    "list": "durableflows.view_workflowrun",
    "retrieve": "durableflows.view_workflowrun",
    "history": "durableflows.view_workflowrun",
    "create": "durableflows.start_workflow",
    "signal": "durableflows.signal_workflow",
    "update": "durableflows.update_workflow",
    "signal_with_start": ("durableflows.start_workflow", "durableflows.signal_workflow"),
    "query": "durableflows.query_workflow",
    "cancel": "durableflows.cancel_workflow",
    "terminate": "durableflows.terminate_workflow",
}


class WorkflowPermission(BasePermission):
    """Like ``DjangoModelPermissions``, but keyed by action: reading needs ``view_workflowrun``, each
    operation its custom permission (``start_workflow``, ``signal_workflow``, ...).

    Views may extend the mapping with an ``action_permissions`` attribute. An action
    with no entry is refused, so a new action cannot be exposed by accident. A method
    the route does not offer passes here, so that the view answers 405 for it.
    """

    message = "You do not have the permission this workflow operation requires."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        permissions = {**ACTION_PERMISSIONS, **getattr(view, "action_permissions", {})}
        action = getattr(view, "action", None)
        if action == "metadata":  # OPTIONS: describing an endpoint reveals nothing beyond the schema
            return True
        if action is None and hasattr(view, "action_map"):  # a method this route does not offer: 405
            return True
        required = permissions.get(action or "")
        if isinstance(required, tuple):
            return user.has_perms(required)
        return required is not None and user.has_perm(required)
