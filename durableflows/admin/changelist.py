"""The runs' changelist and its checkbox, built once per page where Django builds them once per row."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.views.main import ChangeList
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _


class RunChangeList(ChangeList):
    """Django's changelist, with the filters each row's link keeps worked out once for the page.

    Django merges them into every row's link with ``add_preserved_filters``, which resolves the
    link's URL each time: ~0.2 ms a row, 10 ms a filtered page of 50 runs.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.row_query = ""
        if self.preserved_filters:
            sample = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=["0"])
            context: dict[str, Any] = {"preserved_filters": self.preserved_filters, "opts": self.opts}
            self.row_query = urlsplit(add_preserved_filters(context, sample)).query
            self.preserved_filters = ""  # now in url_for_result: items_for_result has nothing left to merge

    def url_for_result(self, result: Any) -> str:
        url = super().url_for_result(result)
        return f"{url}?{self.row_query}" if self.row_query else url


def action_checkbox(run: Any) -> SafeString:
    """The HTML of Django's ``ModelAdmin.action_checkbox``, without rendering a form widget's template per row."""
    label = format_html(_("Select this object for an action - {}"), str(run))
    return format_html(
        '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
        ACTION_CHECKBOX_NAME,
        str(run.pk),
        label,
    )
