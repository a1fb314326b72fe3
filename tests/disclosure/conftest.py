"""A world in which Jayden Ashworth (the subject) has data of every kind, and his mother Kerry and his
sister Mia have their own: identifiers, parts of the assessment, consent, actions and sharing records."""

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from assessments import services as eha
from assessments.models import Assessment
from ehcase.disclosure import services as disclosure
from ehcase.models import Person
from hubs import services as hub_services
from pathway import services
from pathway.models import Episode, OutcomeArea
from tests.test_permission_matrix import ashworth_assessment, sams_draft_claim

JAYDEN_NHS, MIA_NHS, KERRY_NHS = "4857773456", "4857773457", "4857773458"
JAYDEN_UPN, MIA_UPN = "A123456789012", "B123456789012"


@dataclass
class World:
    jayden: Person
    kerry: Person
    mia: Person
    episode: Episode


def add_records(personas, world: World, *, n: int = 1) -> None:
    """More of every kind that grows with use (for the query-count test)."""
    today = timezone.localdate()
    education = OutcomeArea.objects.get(code="education")
    for i in range(n):
        services.case_note_add(
            actor=personas.sam,
            family=personas.ashworth,
            occurred_on=today,
            title=f"Home visit {i}",
            detail="Mia stayed with her grandmother; Jayden was settled and Kerry was tired",
        )
        disclosure.sharing_record_create(
            actor=personas.sam,
            family=personas.ashworth,
            decision="shared",
            shared_on=today,
            what=f"Jayden's attendance record {i}",
            recipient="Education welfare officer",
            method="secure_email",
            purpose="Attendance support",
            lawful_basis="public_task",
            consent="given",
            people=[world.jayden],
        )
        disclosure.sharing_record_create(
            actor=personas.sam,
            family=personas.ashworth,
            decision="shared",
            shared_on=today,
            what=f"Mia's health visitor notes {i}",
            recipient="Nursery manager",
            method="verbal",
            purpose="Nursery place",
            lawful_basis="consent",
            consent="given",
            people=[world.mia],
        )
        eha.action_add(
            actor=personas.sam,
            episode=world.episode,
            description=f"Jayden to pack his bag the night before {i}",
            owner_person=world.jayden,
            due_on=today + dt.timedelta(days=7),
        )
        draft = hub_services.request_save_draft(
            actor=personas.hana,
            family=personas.ashworth,
            needs=[education],
            data={
                "source": "3B",
                "urgency": "routine",
                "reasons": f"Mia's development and Jayden's attendance {i}",
                "consent_given": True,
                "consent_by": "Kerry Ashworth",
                "consent_on": today,
                "consent_method": "verbal",
            },
        )
        sent = hub_services.request_submit(actor=personas.hana, request=draft)
        hub_services.triage_decide(
            actor=personas.chris,
            request=sent,
            outcome="signposting",
            rationale="Kerry already has support for Mia",
            signposting="Jayden's school offers a breakfast club",
            decided_on=today,
            expected_version=None,
        )


@pytest.fixture
def world(personas, client) -> World:
    ashworth_assessment(personas)
    sams_draft_claim(personas)
    people = {m.person.first_name: m.person for m in personas.ashworth.members.select_related("person")}
    jayden, kerry, mia = people["Jayden"], people["Kerry"], people["Mia"]
    Person.objects.filter(pk=jayden.pk).update(nhs_number=JAYDEN_NHS, upn=JAYDEN_UPN, known_as="Jay")
    Person.objects.filter(pk=mia.pk).update(nhs_number=MIA_NHS, upn=MIA_UPN, known_as="Mimi")
    Person.objects.filter(pk=kerry.pk).update(nhs_number=KERRY_NHS)
    jayden.refresh_from_db()
    episode = Episode.objects.get(family=personas.ashworth)
    assessment = Assessment.objects.get(episode=episode)
    content = dict(assessment.content)
    content["members"] = {
        str(jayden.pk): {"strengths": "Loves football", "needs": "Gets to school late"},
        str(mia.pk): {"strengths": "Chatty", "needs": "Waiting for a nursery place"},
    }
    content["child_voice"] = {str(jayden.pk): "I like PE best", str(mia.pk): "I want a puppy"}
    Assessment.objects.filter(pk=assessment.pk).update(content=content)
    assert episode.reviews.exists()  # the baseline scores, from the completed assessment
    services.taf_add_family_member(
        actor=personas.sam,
        episode=episode,
        person=jayden,
        role="Young person",
        joined_on=timezone.localdate(),
    )
    w = World(jayden=jayden, kerry=kerry, mia=mia, episode=episode)
    add_records(personas, w)
    # Someone reads the family's record: the export's audit section must say who.
    client.force_login(personas.hana)
    client.get(f"/families/{personas.ashworth.pk}/")
    client.logout()
    return w
