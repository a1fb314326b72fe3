from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from ehcase.govuk_forms import GovukDateField, GovukFormMixin
from ehcase.models import Person, User

from .models import ClosureReason, LevelOfNeed, NeedOutcome, OutcomeArea, ReviewDecision, TafMember


class StartForm(GovukFormMixin, forms.Form):
    consent_given_by = forms.CharField(
        label="Who in the family agreed to early help",
        max_length=200,
        help_text="For example, Kerry Ashworth (mother), for herself and her children",
    )
    consent_on = GovukDateField(label="Date they agreed", past=True)
    level = forms.ModelChoiceField(
        queryset=LevelOfNeed.objects.all(), label="Level of need", empty_label="Select a level"
    )


class StepDownForm(GovukFormMixin, forms.Form):
    social_care_reference = forms.CharField(label="Social care reference", max_length=40)
    handover_notes = forms.CharField(
        label="Handover notes from social care", widget=forms.Textarea, max_length=8000
    )
    accepted_on = GovukDateField(label="Date accepted", past=True)


class CaseNoteForm(GovukFormMixin, forms.Form):
    occurred_on = GovukDateField(label="Date of the event", past=True)
    title = forms.CharField(label="Summary", max_length=200)
    detail = forms.CharField(label="What happened", widget=forms.Textarea, max_length=8000, required=False)
    significant = forms.BooleanField(label="This is a significant event", required=False)


class TafWorkerForm(GovukFormMixin, forms.Form):
    user = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True, memberships__role="practitioner")
        .distinct()
        .order_by("first_name", "last_name"),
        label="Practitioner",
        empty_label="Select a practitioner",
    )
    role = forms.CharField(
        label="Their role in the team", max_length=120, required=False, help_text="For example, school nurse"
    )
    joined_on = GovukDateField(label="Date they joined", past=True)


class TafFamilyMemberForm(GovukFormMixin, forms.Form):
    person = forms.ModelChoiceField(
        queryset=Person.objects.none(), label="Family member", empty_label="Select a family member"
    )
    role = forms.CharField(label="Their role in the team", max_length=120, required=False)
    joined_on = GovukDateField(label="Date they joined", past=True)

    def __init__(self, *args, family, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = Person.objects.filter(memberships__family=family).distinct()


class LeaveForm(GovukFormMixin, forms.Form):
    left_on = GovukDateField(label="Date they left the team", past=True)


class LeadForm(GovukFormMixin, forms.Form):
    user = forms.ModelChoiceField(
        queryset=User.objects.none(),
        label="Lead professional",
        empty_label="Select a practitioner from the team",
    )
    family_view = forms.CharField(
        label="What the family said about the choice", widget=forms.Textarea, max_length=2000
    )
    handover_note = forms.CharField(
        label="Handover note",
        widget=forms.Textarea,
        max_length=4000,
        required=False,
        help_text="What the new lead professional needs to know",
    )
    started_on = GovukDateField(label="Date they take over", past=True)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, episode, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(
            taf_memberships__episode=episode, taf_memberships__left_on__isnull=True
        ).distinct()


class MeetingForm(GovukFormMixin, forms.Form):
    HAPPENED = [("no", "No, it is coming up"), ("yes", "Yes, it has already happened")]

    date = GovukDateField(label="Date of the meeting")
    time = forms.TimeField(label="Time", help_text="For example, 14:30", input_formats=["%H:%M", "%H.%M"])
    location = forms.CharField(label="Place or online link", max_length=200)
    online = forms.BooleanField(label="This is an online meeting", required=False)
    already_held = forms.ChoiceField(
        choices=HAPPENED, widget=forms.RadioSelect, label="Has it already happened?"
    )
    invited = forms.ModelMultipleChoiceField(
        queryset=TafMember.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        label="Who is invited",
        required=False,
    )

    def __init__(self, *args, episode, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["invited"].queryset = TafMember.objects.filter(episode=episode, left_on__isnull=True)
        self.fields["invited"].label_from_instance = lambda m: m.name
        self.fields["time"].error_messages["invalid"] = "Enter a time like 14:30"

    def starts_at(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.cleaned_data["date"], self.cleaned_data["time"]))


class MeetingRecordForm(GovukFormMixin, forms.Form):
    decisions = forms.CharField(label="Decisions", widget=forms.Textarea, max_length=8000)
    plan_changes = forms.CharField(
        label="Changes to the plan", widget=forms.Textarea, max_length=8000, required=False
    )
    next_meeting_on = GovukDateField(label="Date of the next meeting", required=False, future=True)
    lead = forms.ModelChoiceField(
        queryset=User.objects.none(),
        label="Lead professional agreed at this meeting",
        required=False,
        empty_label="Select a practitioner",
    )
    family_view = forms.CharField(
        label="What the family said about who should be their lead professional",
        widget=forms.Textarea,
        max_length=2000,
        required=False,
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, meeting, members, needs_lead: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.members = members
        for member in members:
            self.fields[f"attendance_{member.pk}"] = forms.ChoiceField(
                choices=[
                    ("attended", "Attended"),
                    ("apologies", "Sent apologies"),
                    ("absent", "Did not attend"),
                ],
                widget=forms.RadioSelect,
                label=member.name,
                initial="attended",
            )
        if needs_lead:
            self.fields["lead"].queryset = User.objects.filter(
                taf_memberships__episode=meeting.episode, taf_memberships__left_on__isnull=True
            ).distinct()
            self.fields["lead"].required = True
            self.fields["family_view"].required = True
        else:
            del self.fields["lead"]
            del self.fields["family_view"]
        for name, field in self.fields.items():
            if name.startswith("attendance_"):
                field.error_messages["required"] = f"Select whether {field.label} attended"
        if "lead" in self.fields:
            self.fields["lead"].error_messages["required"] = (
                "Select the lead professional agreed at this meeting"
            )
            self.fields["family_view"].error_messages["required"] = (
                "Enter what the family said about who should be their lead professional"
            )

    def attendance(self) -> dict[int, str]:
        return {m.pk: self.cleaned_data[f"attendance_{m.pk}"] for m in self.members}


class NeedForm(GovukFormMixin, forms.Form):
    area = forms.ModelChoiceField(
        queryset=OutcomeArea.objects.filter(active=True),
        label="Outcome area",
        empty_label="Select an outcome area",
    )
    description = forms.CharField(label="The need, in plain words", max_length=500)


class ScoresForm(GovukFormMixin, forms.Form):
    """A score from 0 to 10 for each outcome area; areas left blank are not scored."""

    held_on = GovukDateField(label="Date", past=True)

    def __init__(self, *args, areas, with_decision: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.areas = list(areas)
        for area in self.areas:
            self.fields[area.code] = forms.IntegerField(
                label=area.name,
                required=False,
                min_value=0,
                max_value=10,
                error_messages={
                    "invalid": f"Score for {area.name.lower()} must be a whole number from 0 to 10",
                    "min_value": f"Score for {area.name.lower()} must be a whole number from 0 to 10",
                    "max_value": f"Score for {area.name.lower()} must be a whole number from 0 to 10",
                },
            )
        if with_decision:
            self.fields["decision"] = forms.ChoiceField(
                choices=ReviewDecision.choices, widget=forms.RadioSelect, label="What did the review decide?"
            )
            self.fields["decision"].error_messages["required"] = "Select what the review decided"
            self.fields["summary"] = forms.CharField(
                label="Summary of progress", widget=forms.Textarea, max_length=8000
            )
            self.fields["summary"].error_messages["required"] = "Enter a summary of progress"

    def clean(self):
        cleaned = super().clean()
        if not any(cleaned.get(a.code) is not None for a in self.areas) and not self.errors:
            raise forms.ValidationError("Enter a score from 0 to 10 for at least one outcome area")
        return cleaned

    def scores(self) -> dict[OutcomeArea, int]:
        return {a: self.cleaned_data[a.code] for a in self.areas if self.cleaned_data.get(a.code) is not None}


class LevelForm(GovukFormMixin, forms.Form):
    level = forms.ModelChoiceField(
        queryset=LevelOfNeed.objects.all(), label="New level of need", empty_label="Select a level"
    )
    changed_on = GovukDateField(label="Date of the change", past=True)
    reason = forms.CharField(label="Why the level changed", widget=forms.Textarea, max_length=500)


class StepUpForm(GovukFormMixin, forms.Form):
    reason = forms.CharField(
        label="Reason for stepping up",
        widget=forms.Textarea,
        max_length=4000,
        help_text="The safeguarding concern or unmet need",
    )
    stepped_up_on = GovukDateField(label="Date of the step up", past=True)
    social_care_reference = forms.CharField(
        label="Social care reference",
        max_length=40,
        required=False,
        help_text="If children's social care has given one",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class CloseForm(GovukFormMixin, forms.Form):
    reason = forms.ChoiceField(
        choices=[c for c in ClosureReason.choices if c[0] != ClosureReason.STEP_UP],
        widget=forms.RadioSelect,
        label="Why is the episode closing?",
    )
    note = forms.CharField(
        label="Closure summary",
        widget=forms.Textarea,
        max_length=4000,
        required=False,
        help_text="Required if you chose ‘other’",
    )
    closed_on = GovukDateField(label="Date of closure", past=True)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, needs, **kwargs):
        super().__init__(*args, **kwargs)
        self.needs = needs
        for need in needs:
            field = forms.ChoiceField(
                choices=NeedOutcome.choices, widget=forms.RadioSelect, label=f"Outcome: {need.description}"
            )
            field.error_messages["required"] = f"Select the outcome for ‘{need.description}’"
            self.fields[f"need_{need.pk}"] = field
        self.fields["reason"].error_messages["required"] = "Select why the episode is closing"

    def need_outcomes(self) -> dict[int, str]:
        return {n.pk: self.cleaned_data.get(f"need_{n.pk}") for n in self.needs}


def _worker_label(user: User) -> str:
    return user.display_name


for _form, _field in ((TafWorkerForm, "user"), (LeadForm, "user"), (MeetingRecordForm, "lead")):
    _form.base_fields[_field].label_from_instance = _worker_label


class MeetingCancelForm(GovukFormMixin, forms.Form):
    reason = forms.CharField(label="Why is the meeting cancelled?", widget=forms.Textarea, max_length=2000)
