"""Form fields shared by every app."""

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from amanat.ui.formatting import jalali_input_value, parse_jalali_date


class JalaliDateInput(forms.TextInput):
    """A text input that shows and accepts a Jalali date; the date picker script enhances it."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        base = {"data-jdp": "", "placeholder": "۱۴۰۵/۰۱/۰۱", "autocomplete": "off", "dir": "ltr"}
        super().__init__({**base, **(attrs or {})})

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, dt.date):
            return jalali_input_value(value)
        return super().format_value(value)


class JalaliDateField(forms.DateField):
    """A date typed in the Jalali calendar (YYYY/MM/DD, Persian or Latin digits), stored as a date."""

    widget = JalaliDateInput
    default_error_messages = {"invalid": _("Enter a Jalali date as YYYY/MM/DD, for example 1405/12/15.")}

    def to_python(self, value: Any) -> dt.date | None:
        if value in self.empty_values:
            return None
        if isinstance(value, dt.date):
            return value
        try:
            return parse_jalali_date(str(value))
        except ValueError as exc:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from exc


def add_service_errors(form: forms.BaseForm, exc: Any) -> None:
    """Show a service's ValidationError on the form: on the named field when the form has it."""
    if hasattr(exc, "error_dict"):
        for field, messages in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, exc.messages)
