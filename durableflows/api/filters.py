"""Filters of ``GET /workflows/``: status, workflow name, workflow id and a search box."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend

from .. import search
from ..models import WorkflowRun
from ..status import Status

#: The query parameter of the search box (``search.matching``).
SEARCH_PARAM = "search"


class WorkflowRunFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Status.choices(), help_text="runs in this status")
    workflow = django_filters.CharFilter(field_name="workflow_name", help_text="runs of this workflow name")
    workflow_id = django_filters.CharFilter(help_text="runs of this workflow id")
    search = django_filters.CharFilter(method="filter_search", help_text="workflow id contains this, or run id is this")

    class Meta:
        model = WorkflowRun
        fields = ["status", "workflow", "workflow_id", SEARCH_PARAM]

    def filter_search(self, queryset: QuerySet[WorkflowRun], name: str, value: str) -> QuerySet[WorkflowRun]:
        return search.matching(queryset, value)


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend with its browsable-API form from this app, so ``django_filters`` need not be
    in ``INSTALLED_APPS``."""

    template = "durableflows/api/filter_form.html"
