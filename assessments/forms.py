from __future__ import annotations

from django import forms

from ehcase.govuk_forms import GovukDateField, GovukFormMixin
from ehcase.models import Agency, Person, User
from pathway.models import Episode, TafMember

from .models import ActionStatus


class ActionForm(GovukFormMixin, forms.Form):
    description = forms.CharField(
        label="What will be done", max_length=500, help_text="In words the family would use"
    )
    owner = forms.ChoiceField(label="Who will do it", choices=())
    due_on = GovukDateField(label="Due date", future=True)

    def __init__(self, *args, episode: Episode, **kwargs):
        super().__init__(*args, **kwargs)
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
