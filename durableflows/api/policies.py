"""The API's own policies: authentication, rendering, pagination and schema.

The views carry these themselves, so the API behaves the same whatever the
project's ``REST_FRAMEWORK`` setting says (or when it has none).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.apps import apps
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connections
from django.db.models import Field, Model, QuerySet
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import extend_schema as spectacular_extend_schema
from rest_framework.authentication import BaseAuthentication, BasicAuthentication, SessionAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request

from .. import search
from ..models import HistoryEvent, WorkflowRun
from .filters import SEARCH_PARAM

F = TypeVar("F", bound=Callable[..., Any])

#: Rows per page, unless ``?page_size=`` asks for another number up to :data:`MAX_PAGE_SIZE`.
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def authentication_classes() -> list[type[BaseAuthentication]]:
    """Session (the admin's sign-in), tokens when ``rest_framework.authtoken`` is installed, and HTTP Basic."""
    classes: list[type[BaseAuthentication]] = [SessionAuthentication]
    if apps.is_installed("rest_framework.authtoken"):
        from rest_framework.authentication import TokenAuthentication

        classes.append(TokenAuthentication)
    classes.append(BasicAuthentication)
    return classes


def renderer_classes() -> list[type[BaseRenderer]]:
    """JSON, and the browsable API when ``rest_framework`` is installed (its templates come with the app)."""
    if apps.is_installed("rest_framework"):
        return [JSONRenderer, BrowsableAPIRenderer]
    return [JSONRenderer]


# Type checkers see the mixin as the view it is mixed into; at run time it is a plain class ahead of it.
if TYPE_CHECKING:
    from rest_framework.views import APIView

    _ViewBase = APIView
else:
    _ViewBase = object


class OwnAuthentication(_ViewBase):
    """What every durableflows view carries: its authentication, a 401 with a challenge when it is missing,
    and drf-spectacular's schema."""

    authentication_classes = authentication_classes()
    schema = AutoSchema()

    def get_authenticate_header(self, request: Request) -> str | None:  # type: ignore[override]  # DRF's may be None
        """The first challenge any authenticator offers: DRF asks only the first, and the session's has none."""
        for authenticator in self.get_authenticators():
            if header := authenticator.authenticate_header(request):
                return header
        return None


class KeysetPagination(CursorPagination):
    """Pages by position (a cursor), not by offset: every page costs the same, however deep."""

    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    #: The model paged, whose field of the first ordering holds a cursor's position.
    model: type[Model]

    def decode_cursor(self, request: Request) -> Cursor | None:
        """DRF's, refusing a cursor whose position the ordering's field cannot hold (a forged one): 404, not 500."""
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                field = cast(Field, self.model._meta.get_field(self.ordering[0].lstrip("-")))  # a column
                field.to_python(cursor.position)
            except DjangoValidationError:
                raise NotFound(self.invalid_cursor_message) from None
        return cursor


class RunCursorPagination(KeysetPagination):
    """Runs, newest first.

    On PostgreSQL, a search (``?search=``) that finds at most ``search.KEYS_AT_ONCE`` runs is paged from
    their keys, read at once and sorted here, rather than by walking every run in order to meet them.
    """

    ordering = ("-created_at", "run_id")
    model = WorkflowRun

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any] | None:
        window = self._search_window(queryset, request)
        return super().paginate_queryset(queryset if window is None else queryset.filter(pk__in=window), request, view)

    def _search_window(self, queryset: QuerySet, request: Request) -> list[Any] | None:
        """The keys of the runs found that this page's statement may read: what it would read, from the start.

        ``None`` when there is no search, not on PostgreSQL, or when it finds too many runs to read at once.
        """
        if not request.query_params.get(SEARCH_PARAM, "").strip() or connections[queryset.db].vendor != "postgresql":
            return None
        found = list(queryset.order_by().values_list("created_at", "pk")[: search.KEYS_AT_ONCE + 1])
        if len(found) > search.KEYS_AT_ONCE:
            return None
        found.sort(key=lambda key: key[1])
        found.sort(key=lambda key: key[0], reverse=True)  # the ordering: newest first, then by run id
        offset, reverse, position = self.decode_cursor(request) or (0, False, None)
        if reverse:
            found.reverse()
        if position is not None:  # past the position, as CursorPagination filters
            at = WorkflowRun._meta.get_field("created_at").to_python(position)
            found = [key for key in found if (key[0] > at if reverse else key[0] < at)]
        return [pk for _, pk in found[: offset + (self.get_page_size(request) or 0) + 1]]


class EventCursorPagination(KeysetPagination):
    """One run's history, in order."""

    ordering = ("sequence",)
    model = HistoryEvent


def extend_schema(**kwargs: Any) -> Callable[[F], F]:
    """drf-spectacular's ``extend_schema``, built on its ``AutoSchema`` whatever ``DEFAULT_SCHEMA_CLASS`` says.

    drf-spectacular subclasses the project's default schema class for each annotated method;
    with DRF's own default that subclass breaks the schema (a 500 at ``/api/schema/``).
    """
    annotate = spectacular_extend_schema(**kwargs)

    def decorator(method: F) -> F:
        if getattr(method, "schema", None) is None:
            method.schema = AutoSchema  # type: ignore[attr-defined]
        return annotate(method)

    return decorator


def schema_settings() -> dict[str, Any]:
    """drf-spectacular settings for the API's own document, whatever ``SPECTACULAR_SETTINGS`` says."""
    return {
        "TITLE": "durableflows API",
        "DESCRIPTION": "Start, inspect, signal, query, cancel and terminate durable workflows.",
        "VERSION": "1",
    }
