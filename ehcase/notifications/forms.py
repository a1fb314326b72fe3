from __future__ import annotations

from django import forms

from ehcase.govuk_forms import GovukFormMixin

from .models import EmailFrequency


class PreferenceForm(GovukFormMixin, forms.Form):
    email_frequency = forms.ChoiceField(
        label="How often should we email you about reminders?",
        choices=EmailFrequency.choices,
        widget=forms.RadioSelect,
        help_text=(
            "Every reminder appears in Notifications. Overdue reviews and requests past the hub's triage "
            "target are always emailed straight away."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["email_frequency"]
        field.error_messages["required"] = "Select how often we should email you"
        field.error_messages["invalid_choice"] = "Select how often we should email you"
