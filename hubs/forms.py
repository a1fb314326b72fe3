"""Forms for the hub's side of the front door: the queue filters, triage decisions and hub meetings.

(The referrer's forms live with the referrer's pages.) Validation here catches what can be said at
the field before the service runs; the service stays the authority on the rules (hubs.services).
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from ehcase.govuk_forms import GovukDateField, GovukFormMixin
from ehcase.models import Agency, Role, User

from .models import Hub, HubArea, HubMeeting, RequestForSupport, RequestStatus, TriageOutcome, Urgency

# --- The queue --------------------------------------------------------------------------------------


class QueueFilterForm(GovukFormMixin, forms.Form):
    """Filters for a hub's queue (a GET form: every field is optional)."""

    area = forms.ModelChoiceField(
        queryset=HubArea.objects.none(), label="Locality", required=False, empty_label="All localities"
    )
    urgency = forms.ChoiceField(
        choices=[("", "Any urgency"), *Urgency.choices], label="Urgency", required=False
    )
    agency = forms.ModelChoiceField(
        queryset=Agency.objects.none(),
        label="Referring agency",
        required=False,
        empty_label="All agencies",
    )
    older_than = forms.IntegerField(
        label="Waiting more than",
        required=False,
        min_value=0,
        max_value=999,
        help_text="Working days since received",
        error_messages={
            "invalid": "Working days waiting must be a whole number, like 5",
            "min_value": "Working days waiting must be 0 or more",
            "max_value": "Working days waiting must be 999 or fewer",
        },
    )
    overdue = forms.BooleanField(label="Only requests past the hub's target", required=False)

    def __init__(self, *args, hub: Hub, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = HubArea.objects.filter(hub=hub).order_by("name")
        # Agencies that have sent this hub a request: one probe of the index request_agency_hub per
        # agency, however many requests the hub has had (a semi-join on the hub's requests reads them all).
        sent = RequestForSupport.objects.filter(referrer_agency=OuterRef("pk"), hub=hub)
        self.fields["agency"].queryset = Agency.objects.filter(Exists(sent)).order_by("name")
        self.fields["area"].error_messages["invalid_choice"] = "Select a locality from the list"
        self.fields["agency"].error_messages["invalid_choice"] = "Select an agency from the list"
        self.fields["urgency"].error_messages["invalid_choice"] = "Select an urgency from the list"


# --- Deciding a request -----------------------------------------------------------------------------


def _practitioner_label(user: User) -> str:
    return f"{user.display_name}, {user.job_title}" if user.job_title else user.display_name


def _meeting_label(meeting: HubMeeting) -> str:
    return f"{timezone.localtime(meeting.starts_at):%-d %B %Y, %H:%M}, {meeting.location}"


# Which extra field each outcome reveals (the radios' conditional content).
OUTCOME_FIELDS = {
    TriageOutcome.SIGNPOSTING: "signposting",
    TriageOutcome.SINGLE_AGENCY: "agency",
    TriageOutcome.EARLY_HELP: "allocated_to",
    TriageOutcome.STEP_UP: "social_care_reference",
}
OUTCOME_HINTS = {
    TriageOutcome.NO_FURTHER_ACTION: "Level 1: no support is needed from the partnership",
    TriageOutcome.SIGNPOSTING: "Level 1: the referrer gets information to pass on to the family",
    TriageOutcome.SINGLE_AGENCY: "Level 2: one agency supports the family",
    TriageOutcome.EARLY_HELP: "Level 3: an assessor starts an Early Help Assessment with the family",
    TriageOutcome.STEP_UP: "Level 4: safeguarding concerns or unmet need for children's social care",
}


class DecisionForm(GovukFormMixin, forms.Form):
    """The hub's decision on a request. `version` is the request's version when the page was opened."""

    outcome = forms.ChoiceField(
        choices=TriageOutcome.choices, widget=forms.RadioSelect, label="What has the hub decided?"
    )
    signposting = forms.CharField(
        label="Information and signposting for the referrer",
        widget=forms.Textarea,
        max_length=8000,
        required=False,
        help_text="The referrer sees this with the decision, to pass on to the family",
    )
    agency = forms.ModelChoiceField(
        queryset=Agency.objects.order_by("name"),
        label="Agency that will support the family",
        required=False,
        empty_label="Select an agency",
    )
    allocated_to = forms.ModelChoiceField(
        queryset=User.objects.none(),
        label="Assessor or lead professional",
        required=False,
        empty_label="Select a practitioner",
        help_text="They will be able to see the family's record and start the assessment",
    )
    social_care_reference = forms.CharField(label="Social care reference", max_length=40, required=False)
    rationale = forms.CharField(
        label="Reasons for the decision",
        widget=forms.Textarea,
        max_length=8000,
        help_text="For a step up, the safeguarding concern or unmet need",
    )
    decided_on = GovukDateField(label="Date of the decision", past=True)
    meeting = forms.ModelChoiceField(
        queryset=HubMeeting.objects.none(),
        label="Hub meeting",
        required=False,
        empty_label="Not decided at a hub meeting",
        help_text="If the decision was made at a hub meeting",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    change_decision = forms.BooleanField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, request: RequestForSupport, meeting_id: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        hub = request.hub
        practitioners = User.objects.filter(is_active=True, memberships__role=Role.PRACTITIONER)
        # One filter() call, so the practitioner membership is the one at a member agency.
        members = User.objects.filter(
            is_active=True, memberships__role=Role.PRACTITIONER, memberships__agency__hubs=hub
        )
        # The hub's member agencies' practitioners; every practitioner if the hub has none yet.
        chosen = members if hub.member_agencies.exists() else practitioners
        self.fields["allocated_to"].queryset = chosen.distinct().order_by("first_name", "last_name", "id")
        self.fields["allocated_to"].label_from_instance = _practitioner_label
        today = timezone.localdate()
        # Recent and coming meetings, and any meeting with this request on its agenda (never 25 years'
        # worth of weekly meetings).
        self.fields["meeting"].queryset = (
            HubMeeting.objects.filter(hub=hub)
            .filter(
                Q(starts_at__date__range=(today - dt.timedelta(days=56), today + dt.timedelta(days=14)))
                | Q(items__request=request)
                | Q(pk=meeting_id or 0)
            )
            .distinct()
            .order_by("-starts_at")
        )
        self.fields["meeting"].label_from_instance = _meeting_label
        self.fields["decided_on"].error_messages["required"] = "Enter the date of the decision"
        self.fields["outcome"].error_messages["required"] = "Select the decision"
        self.fields["rationale"].error_messages["required"] = "Enter the reasons for the decision"
        self.fields["meeting"].error_messages["invalid_choice"] = "Select a hub meeting from the list"

    def clean(self):
        cleaned = super().clean()
        outcome = cleaned.get("outcome")
        messages = {
            "signposting": "Enter the information and signposting for the referrer",
            "agency": "Select the agency that will support the family",
            "allocated_to": "Select the assessor or lead professional to allocate",
            "social_care_reference": "Enter the social care reference",
        }
        field = OUTCOME_FIELDS.get(outcome)
        if field and not self.errors.get(field):
            value = cleaned.get(field)
            if value is None or (isinstance(value, str) and not value.strip()):
                self.add_error(field, messages[field])
        # Only the chosen outcome's extra detail is kept: a hidden, stale value is not a decision.
        for other in OUTCOME_FIELDS.values():
            if other != field and other in cleaned:
                cleaned[other] = None if other in ("agency", "allocated_to") else ""
        return cleaned

    def outcome_choices(self) -> list[dict]:
        """The radios with the field each reveals, for the template's conditional content."""
        bound = self["outcome"]
        value = bound.value()
        return [
            {
                "id": f"{bound.auto_id}_{index}",
                "value": code,
                "label": label,
                "hint": OUTCOME_HINTS.get(code, ""),
                "checked": value == code,
                "reveals": self[OUTCOME_FIELDS[code]] if code in OUTCOME_FIELDS else None,
            }
            for index, (code, label) in enumerate(TriageOutcome.choices)
        ]


# --- Hub meetings -----------------------------------------------------------------------------------


class HubMeetingForm(GovukFormMixin, forms.Form):
    date = GovukDateField(label="Date of the meeting")
    time = forms.TimeField(label="Time", help_text="For example, 09:30", input_formats=["%H:%M", "%H.%M"])
    location = forms.CharField(
        label="Place or online link", max_length=200, help_text="For example, Morpeth Family Hub"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["date"].error_messages["required"] = "Enter the date of the meeting"
        self.fields["time"].error_messages["invalid"] = "Enter a time like 09:30"
        self.fields["time"].error_messages["required"] = "Enter the time of the meeting"
        self.fields["location"].error_messages["required"] = "Enter where the meeting is"

    def starts_at(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.cleaned_data["date"], self.cleaned_data["time"]))


def _agenda_label(request: RequestForSupport) -> str:
    family = request.family
    urgent = ", urgent" if request.urgency == Urgency.URGENT else ""
    return f"{family.name} family ({family.reference}), received {request.received_on:%-d %b %Y}{urgent}"


class HubAgendaForm(GovukFormMixin, forms.Form):
    """Undecided requests of the hub not yet on this meeting's agenda."""

    requests = forms.ModelMultipleChoiceField(
        queryset=RequestForSupport.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        label="Undecided requests to add",
    )

    def __init__(self, *args, meeting: HubMeeting, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["requests"]
        field.queryset = (
            RequestForSupport.objects.filter(
                hub_id=meeting.hub_id, status__in=[RequestStatus.NEW, RequestStatus.AWAITING_DECISION]
            )
            .exclude(pk__in=meeting.items.values("request_id"))
            .select_related("family")
            .order_by("received_on", "id")
        )
        field.label_from_instance = _agenda_label
        field.error_messages["required"] = "Select at least one request to add to the agenda"
        field.error_messages["invalid_choice"] = (
            "A request you selected has been decided or is already on the agenda: check the list again"
        )
        field.error_messages["invalid_pk_value"] = field.error_messages["invalid_choice"]


class HubAttendanceForm(GovukFormMixin, forms.Form):
    attendees = forms.CharField(
        label="Who attended",
        widget=forms.Textarea,
        max_length=4000,
        help_text="Names and agencies, one a line. For example, Chris Okafor (Early Help Service)",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attendees"].error_messages["required"] = "Enter who attended"
