"""Changelist filters beyond the model's fields."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet

from ..status import OPEN_STATUSES


class StuckFilter(admin.SimpleListFilter):
    """Open runs whose last workflow task failed (e.g. a NonDeterminismError) and is being retried."""

    title = "stuck"
    parameter_name = "stuck"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Stuck (task error)"), ("no", "Not stuck")]

    def queryset(self, request: Any, queryset: QuerySet) -> QuerySet:
        # one condition on the table, not NOT IN (subquery): the planner estimates it, so a big result
        # gets the paginator's estimated count instead of a count of every run
        stuck = Q(status__in=OPEN_STATUSES) & ~Q(task_error="")
        if self.value() == "yes":
            return queryset.filter(stuck)
        if self.value() == "no":
            return queryset.exclude(stuck)
        return queryset


class WorkflowNameFilter(admin.SimpleListFilter):
    """Runs of one workflow, offered from the registered workflows: no scan of the runs for their names."""

    title = "workflow"
    parameter_name = "workflow_name"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        from .. import registry

        return [(name, name) for name in sorted(registry.workflows())]

    def queryset(self, request: Any, queryset: QuerySet) -> QuerySet:
        return queryset.filter(workflow_name=self.value()) if self.value() else queryset
