"""Form fields, widgets and messages in the GOV.UK Design System's style.

Every error names the field in words a user would use ("Enter a date of birth"), and a
bound form always re-renders what the user typed, even when it is invalid.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError


class DateInputWidget(forms.MultiWidget):
    """Day, month and year boxes (GOV.UK date input)."""

    template_name = "components/widgets/noop.html"

    def __init__(self, attrs=None):
        super().__init__(
            {"day": forms.TextInput(), "month": forms.TextInput(), "year": forms.TextInput()}, attrs
        )

    def decompress(self, value):
        if isinstance(value, dt.date):
            return [str(value.day), str(value.month), str(value.year)]
        return [None, None, None]


class GovukDateField(forms.MultiValueField):
    widget = DateInputWidget

    def __init__(
        self, *, label: str, required: bool = True, past: bool = False, future: bool = False, **kwargs
    ):
        self.past = past
        self.future = future
        self.noun = label[0].lower() + label[1:]
        fields = (forms.CharField(), forms.CharField(), forms.CharField())
        super().__init__(fields=fields, required=required, require_all_fields=False, label=label, **kwargs)
        self.error_messages["required"] = f"Enter {self._article()}{self.noun}"

    def _article(self) -> str:
        return "" if self.noun.startswith(("the ", "your ")) else ("an " if self.noun[0] in "aeiou" else "a ")

    def clean(self, value):
        value = value or [None, None, None]
        day, month, year = ((v or "").strip() for v in value)
        if not (day or month or year):
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return None
        missing = [name for name, part in (("day", day), ("month", month), ("year", year)) if not part]
        label = self.label[0].upper() + self.label[1:]
        if missing:
            raise ValidationError(f"{label} must include a {' and '.join(missing)}", code="incomplete")
        if not (day.isdigit() and month.isdigit() and year.isdigit()) or len(year) != 4:
            raise ValidationError(f"{label} must be a real date", code="invalid")
        try:
            value = dt.date(int(year), int(month), int(day))
        except ValueError:
            raise ValidationError(f"{label} must be a real date", code="invalid") from None
        today = dt.date.today()
        if self.past and value > today:
            raise ValidationError(f"{label} must be today or in the past", code="future")
        if self.future and value < today:
            raise ValidationError(f"{label} must be today or in the future", code="past")
        return value

    def compress(self, data_list):  # clean() does the work
        return data_list


class GovukFormMixin:
    """Rewrites Django's default messages into GOV.UK ones, naming the field."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            label = str(field.label or "")
            noun = label[0].lower() + label[1:] if label else "a value"
            if isinstance(field, GovukDateField):
                continue
            if isinstance(field, forms.ChoiceField | forms.ModelChoiceField | forms.MultipleChoiceField):
                field.error_messages["required"] = (
                    f"Select {noun}" if noun.startswith(("the ", "a ")) else f"Select the {noun}"
                )
                field.error_messages["invalid_choice"] = f"Select a valid {noun}"
            else:
                field.error_messages["required"] = (
                    f"Enter {noun}" if noun.startswith(("the ", "a ", "an ")) else f"Enter the {noun}"
                )
            max_length = getattr(field, "max_length", None)
            if max_length:
                field.error_messages["max_length"] = f"{label} must be {max_length} characters or fewer"
                # The browser must not silently cut what the user typed: let the server explain.
                field.widget.attrs.pop("maxlength", None)

    def error_summary(self) -> list[tuple[str, str]]:
        """(anchor id, message) for the GOV.UK error summary, in field order."""
        items: list[tuple[str, str]] = []
        for error in self.non_field_errors():
            items.append(("", error))
        for name, field in self.fields.items():
            bound = self[name]
            if bound.errors:
                anchor = bound.auto_id + ("_day" if isinstance(field, GovukDateField) else "")
                if isinstance(field.widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
                    anchor = bound.auto_id + "_0"
                items.extend((anchor, e) for e in bound.errors)
        return items
