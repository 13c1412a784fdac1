"""The runs a search term finds, in the admin and the API alike: the workflow id contains it, or the run id is it."""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet

from .models import WorkflowRun


def matching(queryset: QuerySet[WorkflowRun], term: str) -> QuerySet[WorkflowRun]:
    """The runs of ``queryset`` that ``term`` finds; all of them for a blank term. One condition, no subquery."""
    term = term.strip()
    if not term:
        return queryset
    condition = Q(workflow_id__icontains=term)
    try:
        condition |= Q(run_id=uuid.UUID(term))
    except ValueError:
        pass
    return queryset.filter(condition)

