"""Forms for the referrer's pages: find the family, then one question page at a time.

Each question form can be bound in `partial` mode ("Save and come back later"): nothing is required,
but what was typed must still be valid (no over-long text, no date in the future), so a draft never
holds something the check-your-answers page would have to apologise for. The service
(hubs.services.request_submit) stays the authority on what a complete request is.
"""

from __future__ import annotations

from django import forms

from ehcase.govuk_forms import GovukDateField, GovukFormMixin
from ehcase.models import AgencyType
from pathway.models import OutcomeArea

from .matching import MatchCriteriaError, normalise_postcode
from .models import ConsentMethod, ReferralSource, RequestForSupport, Urgency

NAME_MAX = 80  # Person.first_name / last_name

# The Children in Need referral source most requests from an agency of this type carry: a guess the
# referrer can change, so that most of them never have to read the list of 21 codes.
SOURCE_FOR_AGENCY_TYPE: dict[str, str] = {
    AgencyType.SCHOOL: ReferralSource.SCHOOLS,
    AgencyType.EARLY_YEARS: ReferralSource.EDUCATION,
    AgencyType.HEALTH_VISITING: ReferralSource.HEALTH_VISITOR,
    AgencyType.SCHOOL_HEALTH: ReferralSource.SCHOOL_NURSE,
    AgencyType.GP: ReferralSource.GP,
    AgencyType.CAMHS: ReferralSource.HEALTH_OTHER,
    AgencyType.POLICE: ReferralSource.POLICE,
    AgencyType.HOUSING: ReferralSource.HOUSING,
    AgencyType.YOUTH_JUSTICE: ReferralSource.LEGAL,
    AgencyType.FAMILY_SUPPORT: ReferralSource.LA_INTERNAL,
    AgencyType.ADULT_SERVICES: ReferralSource.LA_INTERNAL,
    AgencyType.VOLUNTARY: ReferralSource.OTHER,
    AgencyType.OTHER: ReferralSource.OTHER,
}


def source_for_agency_type(agency_type: str | None) -> str:
    return SOURCE_FOR_AGENCY_TYPE.get(agency_type or "", "")


class FindFamilyForm(GovukFormMixin, forms.Form):
    """The duplicate check before a request: narrow by date of birth or postcode (hubs.matching)."""

    first_name = forms.CharField(label="First name", max_length=NAME_MAX, required=False)
    last_name = forms.CharField(label="Last name", max_length=NAME_MAX, required=False)
    date_of_birth = GovukDateField(
        label="Date of birth", required=False, past=True, help_text="For example, 27 3 2014"
    )
    postcode = forms.CharField(
        label="Postcode",
        max_length=10,
        required=False,
        help_text="A full postcode, like NE61 1AA, or the first part and the next number, like NE61 1",
    )

    def clean_postcode(self) -> str:
        value = " ".join((self.cleaned_data.get("postcode") or "").upper().split())
        if value:
            try:
                normalise_postcode(value)
            except MatchCriteriaError as error:
                raise forms.ValidationError(str(error)) from None
        return value

    def clean(self):
        cleaned = super().clean()
        dob_given = cleaned.get("date_of_birth") is not None or self.has_error("date_of_birth")
        postcode_given = bool(cleaned.get("postcode")) or self.has_error("postcode")
        if not dob_given and not postcode_given:
            self.add_error(
                "date_of_birth",
                "Enter the date of birth of someone in the family, or the family's postcode",
            )
        elif (
            not (cleaned.get("first_name") or "").strip()
            and not (cleaned.get("last_name") or "").strip()
            and not self.has_error("first_name")
            and not self.has_error("last_name")
            and not (dob_given and postcode_given)
        ):
            self.add_error("first_name", "Enter a name, or both a date of birth and a postcode")
        return cleaned


class QuestionForm(GovukFormMixin, forms.Form):
    """A question page. `partial=True` keeps what is valid without requiring an answer."""

    messages: dict[str, str] = {}

    def __init__(self, *args, partial: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.partial = partial
        for name, message in self.messages.items():
            self.fields[name].error_messages["required"] = message
        if partial:
            for field in self.fields.values():
                field.required = False


class NeedsForm(QuestionForm):
    needs = forms.ModelMultipleChoiceField(
        queryset=OutcomeArea.objects.filter(active=True).order_by("order", "name"),
        widget=forms.CheckboxSelectMultiple,
        label="What does the family need help with?",
        help_text="Select all that apply",
    )
    reasons = forms.CharField(
        label="Why does the family need support?",
        widget=forms.Textarea,
        max_length=8000,
        help_text="What you have noticed, how long it has been happening, and what the family says",
    )
    messages = {
        "needs": "Select at least one area the family needs help with",
        "reasons": "Enter why the family needs support",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reasons"].error_messages["max_length"] = (
            "Why the family needs support must be 8000 characters or fewer"
        )


class SourceForm(QuestionForm):
    source = forms.ChoiceField(
        choices=ReferralSource.choices,
        widget=forms.RadioSelect,
        label="Where does the request come from?",
        help_text="The Children in Need census referral source. We have selected the usual one for "
        "your agency: change it if it is wrong.",
    )
    urgency = forms.ChoiceField(
        choices=Urgency.choices,
        widget=forms.RadioSelect,
        label="How urgent is it?",
        help_text="Urgent requests are looked at first. If a child is at risk of significant harm, "
        "contact children's social care now.",
    )
    messages = {
        "source": "Select where the request comes from",
        "urgency": "Select how urgent the request is",
    }


class TriedForm(QuestionForm):
    tried_already = forms.CharField(
        label="What has been tried already?",
        widget=forms.Textarea,
        max_length=8000,
        help_text="Support your agency or others have given, and how it went. If nothing has been "
        "tried yet, say so.",
    )
    messages = {"tried_already": "Enter what has been tried already, or say that nothing has"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tried_already"].error_messages["max_length"] = (
            "What has been tried already must be 8000 characters or fewer"
        )


YES_NO = [("yes", "Yes"), ("no", "No")]


class ConsentForm(QuestionForm):
    """Consent to the request. Yes: who, when, how. No: why not (the page explains the safeguarding
    route first)."""

    consent_given = forms.ChoiceField(
        choices=YES_NO, widget=forms.RadioSelect, label="Has the family agreed to this request?"
    )
    consent_by = forms.CharField(label="Who agreed", max_length=200, required=False)
    consent_on = GovukDateField(
        label="Date they agreed", required=False, past=True, help_text="For example, 27 3 2026"
    )
    consent_method = forms.ChoiceField(
        choices=ConsentMethod.choices, widget=forms.RadioSelect, label="How did they agree?", required=False
    )
    no_consent_reason = forms.CharField(
        label="Why consent was not sought", widget=forms.Textarea, max_length=4000, required=False
    )
    messages = {"consent_given": "Select whether the family agreed to this request"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["consent_given"].error_messages["invalid_choice"] = self.messages["consent_given"]
        self.fields["consent_by"].error_messages["max_length"] = "Who agreed must be 200 characters or fewer"
        self.fields["no_consent_reason"].error_messages["max_length"] = (
            "Why consent was not sought must be 4000 characters or fewer"
        )

    def clean(self):
        cleaned = super().clean()
        answer = cleaned.get("consent_given")
        # Only the branch the user chose counts: what is typed under the other answer is dropped, and so
        # are its errors (a date left under "Yes" must not stop a "No").
        hidden = {"yes": ["no_consent_reason"], "no": ["consent_by", "consent_on", "consent_method"]}
        for name in hidden.get(answer or "", []):
            self._errors.pop(name, None)
        if answer == "yes":
            cleaned["no_consent_reason"] = ""
            if not self.partial:
                if not (cleaned.get("consent_by") or "").strip() and not self.has_error("consent_by"):
                    self.add_error("consent_by", "Enter who in the family agreed")
                if cleaned.get("consent_on") is None and not self.has_error("consent_on"):
                    self.add_error("consent_on", "Enter the date they agreed")
                if not cleaned.get("consent_method"):
                    self.add_error("consent_method", "Select how they agreed")
        elif answer == "no":
            cleaned.update(consent_by="", consent_on=None, consent_method="")
            reason = (cleaned.get("no_consent_reason") or "").strip()
            if not self.partial and not reason and not self.has_error("no_consent_reason"):
                self.add_error("no_consent_reason", "Enter why consent was not sought")
        return cleaned

    def draft_data(self) -> dict:
        """The answers in the request's terms (consent_given as True, False or None)."""
        cleaned = self.cleaned_data
        answer = cleaned.get("consent_given")
        return {
            "consent_given": {"yes": True, "no": False}.get(answer),
            "consent_by": (cleaned.get("consent_by") or "").strip(),
            "consent_on": cleaned.get("consent_on"),
            "consent_method": cleaned.get("consent_method") or "",
            "no_consent_reason": (cleaned.get("no_consent_reason") or "").strip(),
        }

    @staticmethod
    def initial_for(request: RequestForSupport) -> dict:
        return {
            "consent_given": {True: "yes", False: "no"}.get(request.consent_given),
            "consent_by": request.consent_by,
            "consent_on": request.consent_on,
            "consent_method": request.consent_method,
            "no_consent_reason": request.no_consent_reason,
        }


class ChooseMatchForm(forms.Form):
    """The match chosen on the results page: its token (hubs.matching), never a family id."""

    token = forms.CharField(max_length=1000)
