"""GOV.UK forms for retention decisions (ehcase.govuk_forms conventions)."""

from __future__ import annotations

from django import forms

from ehcase.govuk_forms import GovukDateField, GovukFormMixin

from .services import REASON_MAX


class ApproveForm(GovukFormMixin, forms.Form):
    confirm = forms.BooleanField(
        label="I confirm the record should be destroyed. This cannot be undone.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["confirm"].error_messages["required"] = "Confirm that the record should be destroyed"


class DeferForm(GovukFormMixin, forms.Form):
    reason = forms.CharField(
        label="Why is the destruction deferred?",
        widget=forms.Textarea,
        max_length=REASON_MAX,
        help_text="For example, a complaint about the service is still open",
    )
    until = GovukDateField(label="Date to look at it again", future=True, help_text="For example, 1 6 2027")
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].error_messages["required"] = "Enter why the destruction is deferred"


class HoldPlaceForm(GovukFormMixin, forms.Form):
    reason = forms.CharField(
        label="Why must the record be kept?",
        widget=forms.Textarea,
        max_length=REASON_MAX,
        help_text="For example, a request from the council's legal team about a court case",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].error_messages["required"] = "Enter why the record must be kept"


class HoldLiftForm(GovukFormMixin, forms.Form):
    reason = forms.CharField(label="Why is the hold lifted?", widget=forms.Textarea, max_length=REASON_MAX)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].error_messages["required"] = "Enter why the hold is lifted"


class FamilyReferenceForm(GovukFormMixin, forms.Form):
    reference = forms.CharField(
        label="Place a legal hold on a family record",
        max_length=20,
        help_text="Enter the family's reference, for example F-7K2M9QX",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reference"].error_messages["required"] = "Enter the family's reference"
