"""Forms for recording information sharing and opening a subject access request (GOV.UK style,
ehcase.govuk_forms). The services check the rules again; the forms give each message its field."""

from __future__ import annotations

from django import forms

from assessments.models import SharingBasis
from ehcase.govuk_forms import GovukDateField, GovukFormMixin
from ehcase.models import Agency, Family

from . import selectors
from .models import Requester, SharingConsent, SharingDecision, SharingMethod

DECISION_REVEALS = {
    SharingDecision.SHARED: ("method", "lawful_basis"),
    SharingDecision.NOT_SHARED: ("reason_not_shared",),
}
CONSENT_REVEALS = {SharingConsent.NOT_SOUGHT: ("consent_note",)}
REQUESTER_REVEALS = {Requester.PARENT: ("requester_name",), Requester.REPRESENTATIVE: ("requester_name",)}


def _choices_with_reveals(form: forms.Form, name: str, reveals: dict) -> list[dict]:
    """The radios of `name` with the fields each reveals (GOV.UK conditional content)."""
    bound = form[name]
    value = bound.value()
    return [
        {
            "id": f"{bound.auto_id}_{index}",
            "value": code,
            "label": label,
            "checked": value == code,
            "reveals": [form[f] for f in reveals.get(code, ())],
        }
        for index, (code, label) in enumerate(bound.field.choices)
    ]


class SharingRecordForm(GovukFormMixin, forms.Form):
    decision = forms.ChoiceField(
        choices=SharingDecision.choices, widget=forms.RadioSelect, label="Was the information shared?"
    )
    method = forms.ChoiceField(
        choices=SharingMethod.choices, widget=forms.RadioSelect, label="How was it shared?", required=False
    )
    lawful_basis = forms.ChoiceField(
        choices=SharingBasis.choices,
        widget=forms.RadioSelect,
        label="Lawful basis for sharing",
        required=False,
    )
    reason_not_shared = forms.CharField(
        label="Why was it not shared?", widget=forms.Textarea, max_length=4000, required=False
    )
    shared_on = GovukDateField(label="Date", past=True, help_text="For example, 27 3 2026")
    what = forms.CharField(
        label="What information",
        widget=forms.Textarea,
        max_length=4000,
        help_text="What was shared, or what was asked for: for example the assessment and plan",
    )
    recipient_agency = forms.ModelChoiceField(
        queryset=Agency.objects.order_by("name"),
        required=False,
        label="Agency (if it is one of the partnership's)",
        empty_label="Not a partner agency",
    )
    recipient = forms.CharField(
        label="Who with: their name and role",
        max_length=200,
        help_text="For example, Jo Smith, duty social worker",
    )
    purpose = forms.CharField(label="Why", widget=forms.Textarea, max_length=4000)
    consent = forms.ChoiceField(
        choices=SharingConsent.choices, widget=forms.RadioSelect, label="Consent to share"
    )
    consent_note = forms.CharField(
        label="Why was consent not sought?", widget=forms.Textarea, max_length=2000, required=False
    )
    people = forms.ModelMultipleChoiceField(
        queryset=None,  # set per family
        widget=forms.CheckboxSelectMultiple,
        label="Who in the family is it about?",
        help_text="Select everyone the information is about",
    )

    def __init__(self, *args, family: Family, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["people"].queryset = selectors.family_people(family=family)
        self.fields["people"].label_from_instance = lambda p: p.full_name
        self.fields["decision"].error_messages["required"] = "Select whether the information was shared"
        self.fields["people"].error_messages["required"] = "Select who in the family the information is about"
        self.fields["consent"].error_messages["required"] = "Select whether consent was given"
        self.fields["shared_on"].error_messages["required"] = "Enter the date"
        self.fields["what"].error_messages["required"] = "Enter what information was shared or asked for"
        self.fields["recipient"].error_messages["required"] = "Enter the name and role of the recipient"
        self.fields["purpose"].error_messages["required"] = "Enter why"

    def clean(self):
        data = super().clean()
        decision = data.get("decision")
        if decision == SharingDecision.SHARED:
            if not data.get("method"):
                self.add_error("method", "Select how the information was shared")
            if not data.get("lawful_basis"):
                self.add_error("lawful_basis", "Select the lawful basis for sharing")
        elif decision == SharingDecision.NOT_SHARED and not (data.get("reason_not_shared") or "").strip():
            self.add_error("reason_not_shared", "Enter why the information was not shared")
        if data.get("consent") == SharingConsent.NOT_SOUGHT and not (data.get("consent_note") or "").strip():
            self.add_error("consent_note", "Enter why consent was not sought")
        return data

    def decision_choices(self) -> list[dict]:
        return _choices_with_reveals(self, "decision", DECISION_REVEALS)

    def consent_choices(self) -> list[dict]:
        return _choices_with_reveals(self, "consent", CONSENT_REVEALS)


class InErrorForm(GovukFormMixin, forms.Form):
    reason = forms.CharField(label="Why is the record wrong?", widget=forms.Textarea, max_length=2000)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].error_messages["required"] = "Enter why the record is wrong"


class SubjectAccessRequestForm(GovukFormMixin, forms.Form):
    received_on = GovukDateField(
        label="Date the request was received", past=True, help_text="For example, 3 11 2026"
    )
    requester = forms.ChoiceField(
        choices=Requester.choices, widget=forms.RadioSelect, label="Who made the request?"
    )
    requester_name = forms.CharField(
        label="Their name", max_length=200, required=False, help_text="And their relationship to the person"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["requester"].error_messages["required"] = "Select who made the request"
        self.fields["received_on"].error_messages["required"] = "Enter the date the request was received"

    def clean(self):
        data = super().clean()
        if (
            data.get("requester") in (Requester.PARENT, Requester.REPRESENTATIVE)
            and not (data.get("requester_name") or "").strip()
        ):
            self.add_error("requester_name", "Enter the name of the person who made the request")
        return data

    def requester_choices(self) -> list[dict]:
        return _choices_with_reveals(self, "requester", REQUESTER_REVEALS)


class VersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
