"""The forms behind the admin's operations: signal, query, cancel/terminate reason, start."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from .. import registry
from ..client import ID_CONFLICT_POLICIES

JSON_WIDGET = forms.Textarea(
    attrs={"rows": 4, "cols": 60, "class": "vLargeTextField df-json-input", "spellcheck": "false"}
)


class JSONListField(forms.JSONField):
    """A JSON array (positional arguments); empty means ``[]``."""

    def clean(self, value: Any) -> Any:
        result = super().clean(value)
        if result is None:
            return []
        if not isinstance(result, list):
            raise forms.ValidationError('Enter a JSON array, e.g. [42, "express"].', code="not_a_list")
        return result


class SignalForm(forms.Form):
    name = forms.CharField(max_length=255, help_text="the signal name the workflow waits for, e.g. approve")
    payload = forms.JSONField(required=False, widget=JSON_WIDGET, help_text='any JSON value, e.g. {"approved": true}')


class QueryForm(forms.Form):
    name = forms.CharField(max_length=255, help_text="a query handler name, e.g. progress")
    args = JSONListField(required=False, widget=JSON_WIDGET, help_text="a JSON array of arguments (optional)")


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}))


class TerminateForm(ReasonForm):
    reason = forms.CharField(
        max_length=2000, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}), help_text="recorded in the history"
    )


class StartWorkflowForm(forms.Form):
    workflow = forms.ChoiceField(help_text="a workflow registered in this process")
    args = JSONListField(required=False, widget=JSON_WIDGET, help_text="a JSON array of positional arguments")
    id = forms.CharField(max_length=255, required=False, label="Workflow id", help_text="leave empty for a random id")
    id_conflict = forms.ChoiceField(
        choices=[(policy, policy) for policy in ID_CONFLICT_POLICIES],
        initial="fail",
        help_text="what to do when a run with this id is open",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = sorted(registry.workflows())
        cast(forms.ChoiceField, self.fields["workflow"]).choices = [(name, name) for name in names]
