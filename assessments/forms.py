from __future__ import annotations

from django import forms

from ehcase.govuk_forms import GovukDateField, GovukFormMixin
from ehcase.models import Agency, FamilyMember, Person, User
from pathway.models import Episode, OutcomeArea, TafMember

from .models import ActionStatus, ConsentMethod, PlanOutcome, SharingBasis
from .services import ANSWER_MAX_LENGTH


class ActionForm(GovukFormMixin, forms.Form):
    description = forms.CharField(
        label="What will be done", max_length=500, help_text="In words the family would use"
    )
    owner = forms.ChoiceField(label="Who will do it", choices=())
    due_on = GovukDateField(label="Due date", future=True)
    outcome = forms.ModelChoiceField(
        label="Which outcome is it for? (optional)",
        queryset=PlanOutcome.objects.none(),
        required=False,
        empty_label="Not tied to one outcome",
    )

    def __init__(self, *args, episode: Episode, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["outcome"].queryset = PlanOutcome.objects.filter(episode=episode)
        if not self.fields["outcome"].queryset.exists():
            del self.fields["outcome"]
        members = list(
            TafMember.objects.filter(episode=episode, left_on__isnull=True).select_related(
                "user", "person", "agency"
            )
        )
        choices: list[tuple[str, str]] = [("", "Select who will do it")]
        agencies: dict[int, str] = {}
        for m in members:
            if m.user_id:
                choices.append((f"user:{m.user_id}", m.user.display_name))
                if m.agency_id:
                    agencies[m.agency_id] = m.agency.name
            else:
                choices.append((f"person:{m.person_id}", f"{m.person.full_name} (family)"))
        choices += [(f"agency:{pk}", name) for pk, name in sorted(agencies.items(), key=lambda kv: kv[1])]
        self.fields["owner"].choices = choices
        self.fields["owner"].error_messages["required"] = "Select who will do it"
        self.fields["owner"].error_messages["invalid_choice"] = "Select someone from the family's team"

    def owner_kwargs(self) -> dict:
        kind, _, pk = self.cleaned_data["owner"].partition(":")
        model = {"user": User, "agency": Agency, "person": Person}[kind]
        return {f"owner_{kind}": model.objects.get(pk=pk)}


class ActionStatusForm(GovukFormMixin, forms.Form):
    status = forms.ChoiceField(choices=ActionStatus.choices, widget=forms.RadioSelect, label="Status")
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


# --- Consent ---------------------------------------------------------------------------------------

YES_NO = [("yes", "Yes"), ("no", "No")]


def _member_choices(episode: Episode, prompt: str) -> list[tuple[str, str]]:
    members = FamilyMember.objects.filter(family_id=episode.family_id, end_date__isnull=True).select_related(
        "person"
    )
    return [("", prompt)] + [
        (str(m.person_id), f"{m.person.full_name} ({m.get_role_display().lower()})") for m in members
    ]


class ConsentForm(GovukFormMixin, forms.Form):
    person = forms.ChoiceField(label="Who is the consent for?", choices=())
    given_by = forms.ChoiceField(
        label="Who gave consent?",
        choices=(),
        help_text="A young person aged 16 or over gives consent for themself. For a younger child, a parent "
        "or carer, or the child themself if they have enough understanding.",
    )
    own_consent_competent = forms.BooleanField(
        label="The child gave consent themself and has enough understanding to do so",
        required=False,
        help_text="Only for a child under 16 who consented for themself",
    )
    given_on = GovukDateField(label="Date consent was given", past=True)
    method = forms.ChoiceField(
        label="How was consent given?", choices=ConsentMethod.choices, widget=forms.RadioSelect
    )
    agrees_to_sharing = forms.ChoiceField(
        label="Do they agree to information being shared with the Team Around the Family?",
        choices=YES_NO,
        widget=forms.RadioSelect,
    )
    sharing_basis = forms.ChoiceField(
        label="Lawful basis for sharing information",
        choices=SharingBasis.choices,
        widget=forms.RadioSelect,
        help_text="Recorded separately from their agreement to receive early help",
    )
    notes = forms.CharField(label="Notes (optional)", widget=forms.Textarea, max_length=2000, required=False)
    evidence = forms.FileField(
        label="Upload the signed consent form (optional)",
        required=False,
        help_text="A PDF, JPEG or PNG smaller than 5MB",
    )

    def __init__(self, *args, episode: Episode, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = _member_choices(episode, "Select a family member")
        self.fields["given_by"].choices = _member_choices(episode, "Select who gave consent")
        self.fields["person"].error_messages["required"] = "Select who the consent is for"
        self.fields["given_by"].error_messages["required"] = "Select who gave consent"
        self.fields["person"].error_messages["invalid_choice"] = "Select someone in this family"
        self.fields["given_by"].error_messages["invalid_choice"] = (
            "Select someone in this family as the person giving consent"
        )
        self.fields["method"].error_messages["required"] = "Select how consent was given"
        self.fields["agrees_to_sharing"].error_messages["required"] = (
            "Select yes if they agree to information being shared"
        )
        self.fields["sharing_basis"].error_messages["required"] = (
            "Select the lawful basis for sharing information"
        )

    def people(self) -> tuple[Person, Person]:
        people = Person.objects.in_bulk([self.cleaned_data["person"], self.cleaned_data["given_by"]])
        return people[int(self.cleaned_data["person"])], people[int(self.cleaned_data["given_by"])]


class ConsentWithdrawForm(GovukFormMixin, forms.Form):
    withdrawn_on = GovukDateField(label="Date consent was withdrawn", past=True)
    reason = forms.CharField(
        label="What did they say?",
        widget=forms.Textarea,
        max_length=2000,
        help_text="In their words if you can",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].error_messages["required"] = "Enter what they said when they withdrew consent"


# --- The assessment --------------------------------------------------------------------------------


def _text(label: str, hint: str = "", rows: int = 5) -> forms.CharField:
    field = forms.CharField(
        label=label,
        help_text=hint,
        required=False,
        strip=False,
        max_length=ANSWER_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": rows}),
    )
    return field


class AssessmentForm(GovukFormMixin, forms.Form):
    """One page of the assessment, built from the form version the assessment uses. Field names are the
    content paths the service takes ("domains.child.health", "members.12.strengths", "scores.housing")."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    edit_token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=32)

    def __init__(self, *args, fields: dict[str, forms.Field], **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in fields.items():
            self.fields[name] = field
        # GOV.UK wording for the text limit, naming the part of the form.
        for field in self.fields.values():
            if isinstance(field, forms.CharField) and field.max_length == ANSWER_MAX_LENGTH:
                field.error_messages["max_length"] = (
                    f"{field.label} must be {ANSWER_MAX_LENGTH:,} characters or fewer"
                )

    def changes(self) -> dict:
        """The cleaned answers as a partial content update for assessments.services.assessment_save."""
        changes: dict = {}
        for name, value in self.cleaned_data.items():
            if name in ("version", "edit_token") or name.startswith("needs-"):
                continue
            parts = name.split(".")
            if parts[0] == "domains":
                changes.setdefault("domains", {})[f"{parts[1]}.{parts[2]}"] = value
            elif parts[0] == "members":
                changes.setdefault("members", {}).setdefault(parts[1], {})[parts[2]] = value
            elif parts[0] == "child_voice":
                changes.setdefault("child_voice", {})[parts[1]] = value
            elif parts[0] == "scores":
                changes.setdefault("scores", {})[parts[1]] = value
            elif parts[0] == "family_view":
                changes["family_view"] = value
        return changes


def score_field(area) -> forms.IntegerField:
    message = f"Score for {area.name.lower()} must be a whole number from 0 to 10"
    return forms.IntegerField(
        label=area.name,
        required=False,
        min_value=0,
        max_value=10,
        error_messages={"invalid": message, "min_value": message, "max_value": message},
    )


class AssessmentStartForm(GovukFormMixin, forms.Form):
    members = forms.MultipleChoiceField(
        label="Who does the assessment cover?",
        widget=forms.CheckboxSelectMultiple,
        choices=(),
        help_text="Everyone covered needs their consent recorded first",
    )
    assessment_date = GovukDateField(label="Date of the assessment", past=True)

    def __init__(self, *args, episode: Episode, consented: set[int], **kwargs):
        super().__init__(*args, **kwargs)
        members = FamilyMember.objects.filter(
            family_id=episode.family_id, end_date__isnull=True
        ).select_related("person")
        self.fields["members"].choices = [
            (
                str(m.person_id),
                f"{m.person.full_name} ({m.get_role_display().lower()})"
                + ("" if m.person_id in consented else ": no consent recorded"),
            )
            for m in members
        ]
        self.fields["members"].error_messages["required"] = "Select the family members the assessment covers"
        self.fields["members"].error_messages["invalid_choice"] = "Select people who are in this family"


class DecisionForm(GovukFormMixin, forms.Form):
    decision = forms.ChoiceField(
        label="Your decision",
        choices=[
            ("sign_off", "Sign off the assessment"),
            ("return", "Return it to the assessor for changes"),
        ],
        widget=forms.RadioSelect,
    )
    comments = forms.CharField(
        label="Comments",
        widget=forms.Textarea,
        required=False,
        max_length=4000,
        help_text="Needed when you return it: say what should change",
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["decision"].error_messages["required"] = (
            "Select whether to sign off or return the assessment"
        )


# --- The plan's outcomes ---------------------------------------------------------------------------


class OutcomeForm(GovukFormMixin, forms.Form):
    wording = forms.CharField(
        label="What does the family want to be different?",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="In the family's own words",
    )
    said_by = forms.ChoiceField(label="Who said it? (optional)", choices=(), required=False)
    area = forms.ModelChoiceField(
        label="Outcome it is about (optional)",
        queryset=OutcomeArea.objects.filter(active=True),
        required=False,
        empty_label="Select an outcome",
    )
    achieved = forms.BooleanField(label="The family says this has been achieved", required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, episode: Episode, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["said_by"].choices = _member_choices(episode, "The family together")
        self.fields["wording"].error_messages["required"] = (
            "Enter what the family wants to be different, in their words"
        )
        if not editing:
            del self.fields["achieved"]

    def said_by_person(self) -> Person | None:
        value = self.cleaned_data.get("said_by")
        return Person.objects.get(pk=value) if value else None
