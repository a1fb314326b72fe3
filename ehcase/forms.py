from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from hubs.models import HubArea

from . import codes
from .govuk_forms import GovukDateField, GovukFormMixin
from .models import PERSON_FIELDS, Family, HouseholdRole, Person, RelationshipType, Sex
from .validators import disabilities_error, normalise_nhs_number, person_date_errors

POSTCODE_RE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$")


class LoginForm(GovukFormMixin, AuthenticationForm):
    error_messages = {
        "invalid_login": "Enter a correct username and password. Both are case-sensitive.",
        "inactive": "This account is not active. Ask your system administrator.",
    }


class FamilySearchForm(GovukFormMixin, forms.Form):
    q = forms.CharField(label="Name, reference or postcode", required=False, max_length=100)
    date_of_birth = GovukDateField(label="Date of birth of a family member", required=False, past=True)


class VersionedFormMixin(forms.Form):
    """Carries the record's version so that an edit made by someone else in the meantime is
    refused rather than silently overwritten."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class FamilyForm(GovukFormMixin, forms.ModelForm):
    area = forms.ModelChoiceField(
        queryset=HubArea.objects.select_related("hub").order_by("name"),
        label="Locality",
        empty_label="Select a locality",
        help_text="Decides which locality hub the family belongs to",
    )

    class Meta:
        model = Family
        fields = [
            "name",
            "address_line_1",
            "address_line_2",
            "town",
            "postcode",
            "area",
            "address_withheld",
            "young_carer",
            "send",
        ]
        labels = {"name": "Family name"}

    def clean_postcode(self) -> str:
        value = " ".join(self.cleaned_data["postcode"].upper().split())
        if value and not POSTCODE_RE.match(value):
            raise forms.ValidationError("Enter a real postcode, like NE61 1AA")
        return value


class FamilyEditForm(VersionedFormMixin, FamilyForm):
    pass


class PersonForm(GovukFormMixin, forms.ModelForm):
    date_of_birth = GovukDateField(
        label="Date of birth", required=False, past=True, help_text="For example, 27 3 2014"
    )
    expected_date_of_birth = GovukDateField(
        label="Expected date of birth", required=False, help_text="Only for an unborn child"
    )
    sex = forms.ChoiceField(choices=Sex.choices, widget=forms.RadioSelect, label="Sex")
    ethnicity = forms.ChoiceField(
        choices=[("", "Select ethnicity"), *codes.ETHNICITY_CHOICES], label="Ethnicity"
    )
    disabilities = forms.MultipleChoiceField(
        choices=codes.DISABILITY_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Disability",
        help_text="Select all that apply",
    )

    # Longer than the stored 10 digits: people type spaces, which are removed before checking.
    nhs_number = forms.CharField(label="NHS number", max_length=14, required=False)
    upn = forms.CharField(label="Unique pupil number (UPN)", max_length=16, required=False)

    class Meta:
        model = Person
        fields = PERSON_FIELDS
        error_messages = {
            "nhs_number": {"unique": "This NHS number is already recorded for another person"},
            "upn": {"unique": "This unique pupil number is already recorded for another person"},
        }

    def clean_nhs_number(self) -> str | None:
        value = normalise_nhs_number(self.cleaned_data.get("nhs_number") or "")
        return value or None

    def clean_upn(self) -> str | None:
        value = (self.cleaned_data.get("upn") or "").strip().upper()
        return value or None

    def clean(self):
        cleaned = super().clean()
        if not (self.has_error("date_of_birth") or self.has_error("expected_date_of_birth")):
            problems = person_date_errors(
                cleaned.get("date_of_birth"), cleaned.get("expected_date_of_birth"), today=dt.date.today()
            )
            for field, message in problems.items():
                self.add_error(field, message)
        problem = disabilities_error(cleaned.get("disabilities") or [])
        if problem:
            self.add_error("disabilities", problem)
        return cleaned


class PersonEditForm(VersionedFormMixin, PersonForm):
    pass


class MemberForm(GovukFormMixin, forms.Form):
    role = forms.ChoiceField(
        choices=HouseholdRole.choices, widget=forms.RadioSelect, label="Role in household"
    )
    start_date = GovukDateField(
        label="Date they joined the household", past=True, help_text="If you do not know, use today's date"
    )


class RelationshipForm(GovukFormMixin, forms.Form):
    from_person = forms.ModelChoiceField(
        queryset=Person.objects.none(), label="Person", empty_label="Select a person"
    )
    type = forms.ChoiceField(choices=RelationshipType.choices, label="Relationship")
    to_person = forms.ModelChoiceField(
        queryset=Person.objects.none(), label="Related to", empty_label="Select a person"
    )

    def __init__(self, *args, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from_person"].queryset = people
        self.fields["to_person"].queryset = people

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("from_person") and cleaned.get("from_person") == cleaned.get("to_person"):
            self.add_error("to_person", "Select a different person: someone cannot be related to themself")
        return cleaned


class MemberEndForm(GovukFormMixin, forms.Form):
    end_date = GovukDateField(label="Date they left the household", past=True)

    def __init__(self, *args, start_date: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.start_date = start_date

    def clean_end_date(self):
        value = self.cleaned_data["end_date"]
        if value and value < self.start_date:
            raise forms.ValidationError(
                f"Date they left the household must be on or after they joined ({self.start_date:%-d %B %Y})"
            )
        return value
