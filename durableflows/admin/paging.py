"""The changelist's paginator: deep pages by a deferred join, and an estimated count for a big unfiltered table.

Django's admin pages by ``OFFSET``: page 2,000 of 100,000 runs reads 100,000 rows. Reading only
their primary keys (an index-only scan) and then the 50 rows of the page by key costs a fraction.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.paginator import EmptyPage, Page, Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

from .. import search

#: Above this many rows (by PostgreSQL's statistics) the changelist shows an estimated count.
ESTIMATE_ABOVE = 50_000


class RunPaginator(Paginator):
    estimated = False  # True when the count is PostgreSQL's estimate
    searched = False  # True when the rows are a search's matches (set by the admin)

    def validate_number(self, number: Any) -> int:
        """A page past an estimated end is empty, not an error (the estimate may be a little high)."""
        try:
            return super().validate_number(number)
        except EmptyPage:
            if self.estimated and int(number) >= 1:
                return int(number)
            raise

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        queryset: QuerySet = self.object_list  # type: ignore[assignment]  # the admin pages querysets
        keys = queryset.values_list("pk", flat=True)
        postgresql = connections[queryset.db].vendor == "postgresql"
        if self.searched and postgresql and self.count <= search.KEYS_AT_ONCE:
            # All of them in order, with no LIMIT (see search.KEYS_AT_ONCE). Elsewhere no index finds the
            # matches: the LIMIT at least lets the scan stop at the page's last one.
            ids = list(keys)[bottom : bottom + self.per_page]
        else:
            ids = list(keys[bottom : bottom + self.per_page])
        rows = {row.pk: row for row in queryset.order_by().filter(pk__in=ids)}
        return Page([rows[pk] for pk in ids if pk in rows], number, self)

    @cached_property
    def count(self) -> int:
        """``COUNT(*)``, or PostgreSQL's estimate when that is above :data:`ESTIMATE_ABOVE` (a count reads every row).

        Unfiltered, the estimate is the table's ``reltuples``; filtered, the planner's row estimate.
        """
        queryset: QuerySet = self.object_list  # type: ignore[assignment]  # the admin pages querysets
        connection = connections[queryset.db]
        if connection.vendor == "postgresql":
            estimate = _estimate(queryset, connection)
            if estimate > ESTIMATE_ABOVE:
                self.estimated = True
                return estimate
        return super().count


def _estimate(queryset: QuerySet, connection: Any) -> int:
    with connection.cursor() as cursor:
        if not queryset.query.where:
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [queryset.model._meta.db_table])
            row = cursor.fetchone()
            return int(row[0]) if row is not None else 0
        sql, params = queryset.order_by().values("pk").query.sql_with_params()
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
        return int((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]["Plan Rows"])
