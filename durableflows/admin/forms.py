"""The forms behind the admin's operations (signal, query, cancel/terminate reason, start) and schedule edits."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from .. import registry, serialization
from ..arguments import check_arguments
from ..client import ID_CONFLICT_POLICIES
from ..conf import df_settings
from ..errors import InvalidArguments, SerializationError
from ..models import Schedule

JSON_WIDGET = forms.Textarea(
    attrs={"rows": 4, "cols": 60, "class": "vLargeTextField df-json-input", "spellcheck": "false"}
)


class OptionalJSONField(forms.JSONField):
    """A JSON value that may be left empty (no payload): shown empty rather than as ``null``."""

    def prepare_value(self, value: Any) -> Any:
        return "" if value is None else super().prepare_value(value)


class JSONListField(OptionalJSONField):
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
    payload = OptionalJSONField(
        required=False, widget=JSON_WIDGET, help_text='any JSON value, e.g. {"approved": true}; empty for none'
    )


class QueryForm(forms.Form):
    name = forms.CharField(max_length=255, help_text="a query handler name, e.g. progress")
    args = JSONListField(required=False, widget=JSON_WIDGET, help_text="a JSON array of arguments; empty for none")


class UpdateForm(forms.Form):
    name = forms.CharField(max_length=255, help_text="an update handler name, e.g. add_item")
    args = JSONListField(required=False, widget=JSON_WIDGET, help_text="a JSON array of arguments; empty for none")
    update_id = forms.CharField(
        max_length=255, required=False, help_text="optional; send the same id again to see the first outcome"
    )


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


class ScheduleForm(forms.ModelForm):
    """A schedule's edit form, checked like a start: a registered workflow, and arguments that fit its signature.

    Arguments are the stored (encoded) JSON, so values ``df.schedule`` tagged (datetimes, decimals) stay editable.
    """

    workflow_name = forms.ChoiceField(label="Workflow", help_text="a workflow registered in this process")
    args = JSONListField(
        required=False, widget=JSON_WIDGET, help_text="a JSON array of the arguments of each run; empty for none"
    )

    class Meta:
        model = Schedule
        fields = "__all__"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = sorted(registry.workflows())
        choices = [(name, name) for name in names]
        current = self.initial.get("workflow_name")
        if current and current not in names:  # shown as it is, refused until a registered one is chosen
            choices.insert(0, (current, f"{current} (not registered)"))
        cast(forms.ChoiceField, self.fields["workflow_name"]).choices = choices

    def clean_workflow_name(self) -> str:
        name = self.cleaned_data["workflow_name"]
        if name not in registry.workflows():
            raise forms.ValidationError(f"No workflow named {name!r} is registered in this process.", code="unknown")
        return name

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        name, args = cleaned.get("workflow_name"), cleaned.get("args")
        if name is None or args is None:
            return cleaned
        fn = registry.get_workflow(name).fn
        what = f"arguments of scheduled workflow {name!r}"
        try:
            decoded, _ = serialization.decode_arguments(fn, args)
            check_arguments(fn, decoded, what=what)
            cleaned["args"] = serialization.check(decoded, what=what, limit=df_settings.MAX_PAYLOAD_BYTES)
        except (InvalidArguments, SerializationError) as exc:
            self.add_error("args", str(exc))
        except (TypeError, ValueError) as exc:  # a tagged value that does not parse, a model that refuses its fields
            self.add_error("args", f"{what} cannot be decoded: {exc}")
        return cleaned
