"""The runs a search term finds, in the admin and the API alike: the workflow id contains it, or the run id is it."""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet

from .models import WorkflowRun

#: On PostgreSQL, a search that finds at most this many runs is paged from all their keys, read at once:
#: ordered by creation and with a ``LIMIT``, PostgreSQL walks the creation-order index hoping to meet the
#: matches early, and matches that cluster far down it (ids given in sequence, searched by a prefix) make
#: it read most runs. Read at once, they come through the trigram index: 11,111 keys in 19 ms at 1M runs.
KEYS_AT_ONCE = 20_000


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

