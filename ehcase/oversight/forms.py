"""Forms of the oversight pages, in the GOV.UK style (ehcase.govuk_forms): errors next to the field and
in the summary, and what the user typed is kept."""

from __future__ import annotations

from django import forms

from ehcase.govuk_forms import GovukDateField, GovukFormMixin
from ehcase.models import AuditAction

from . import services


class BreakGlassForm(GovukFormMixin, forms.Form):
    reference = forms.CharField(
        label="Family reference",
        max_length=20,
        help_text="The reference on the family's record, for example F-7K2Q9ZX4",
    )
    reason = forms.CharField(
        label="Why do you need to see this record now?",
        widget=forms.Textarea,
        max_length=services.REASON_MAX,
        help_text="Your manager and the early help manager will read this. For example, a safeguarding "
        "concern raised out of hours about a child you are working with.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reference"].error_messages["required"] = "Enter the family's reference"
        self.fields["reason"].error_messages["required"] = "Enter why you need to see this record"
        self.fields["reference"].widget.attrs["spellcheck"] = "false"

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if len(reason) < services.REASON_MIN:
            raise forms.ValidationError(
                f"Explain why you need the record in at least {services.REASON_MIN} characters"
            )
        return reason


class ReviewForm(GovukFormMixin, forms.Form):
    note = forms.CharField(
        label="Review note",
        widget=forms.Textarea,
        max_length=services.NOTE_MAX,
        help_text="What you checked and what you concluded, for example that the reason was sound",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["note"].error_messages["required"] = "Enter a review note"


class AuditSearchForm(GovukFormMixin, forms.Form):
    user = forms.CharField(
        label="Username", max_length=150, required=False, help_text="For example, sam.practitioner"
    )
    family = forms.CharField(
        label="Family reference", max_length=20, required=False, help_text="For example, F-DEMOASH"
    )
    date_from = GovukDateField(label="From", required=False, past=True, help_text="For example, 27 3 2026")
    date_to = GovukDateField(label="To", required=False, help_text="For example, 31 3 2026")
    action = forms.ChoiceField(
        label="Action", required=False, choices=[("", "Any action"), *AuditAction.choices]
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The ‘to’ date must be the same as or after the ‘from’ date")
        return data
