"""Consent, the assessment and the plan through the pages: the journey, bad input at the field with
nothing lost, autosave, the "changed since you opened it" page, sign-off and kept versions."""

import datetime as dt
import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from assessments import services
from assessments.models import Assessment, AssessmentStatus, AssessmentVersion, ConsentRecord, PlanAction
from ehcase.models import AuditEvent
from pathway import services as pathway_services
from pathway.models import LevelOfNeed, OutcomeArea
from tests.factories import consent_everyone

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


def errors(response) -> list[str]:
    return [
        html.unescape(e)
        for e in re.findall(
            r'class="govuk-error-message"><span class="govuk-visually-hidden">Error:</span> (.*?)</p>',
            response.content.decode(),
        )
    ]


def date(prefix: str, value: dt.date) -> dict:
    return {f"{prefix}_day": value.day, f"{prefix}_month": value.month, f"{prefix}_year": value.year}


@pytest.fixture
def episode(personas):
    return pathway_services.episode_start_directly(
        actor=personas.sam,
        family=personas.ashworth,
        level=LevelOfNeed.objects.get(code="3"),
        consent_given_by="Kerry Ashworth",
        consent_on=TODAY() - dt.timedelta(days=30),
    )


def people(personas):
    members = {m.person.first_name: m.person for m in personas.ashworth.members.select_related("person")}
    return members["Kerry"], members["Jayden"], members["Mia"]


@pytest.fixture
def assessment(personas, episode):
    consent_everyone(actor=personas.sam, episode=episode)
    return services.assessment_start(
        actor=personas.sam,
        episode=episode,
        members=list(people(personas)),
        assessment_date=TODAY() - dt.timedelta(days=2),
    )


def section_url(assessment, slug):
    return reverse("assessments:assessment-section", args=[assessment.pk, slug])


def test_journey_consent_assessment_sign_off_and_versions(client, personas, episode):
    kerry, jayden, mia = people(personas)
    client.force_login(personas.sam)
    page = client.get(reverse("pathway:episode-detail", args=[episode.pk])).content.decode()
    assert "0 of 3 family members have consent to early help recorded" in page
    start = reverse("assessments:assessment-start", args=[episode.pk])
    assert (
        "No one in this family has consent to early help recorded yet" in client.get(start).content.decode()
    )

    # Consent from someone not in the family is refused at the field.
    consent_url = reverse("assessments:consent-add", args=[episode.pk])
    base = {
        "method": "verbal",
        "agrees_to_sharing": "yes",
        "sharing_basis": "consent",
        **date("given_on", TODAY()),
    }
    response = client.post(
        consent_url, {**base, "person": kerry.pk, "given_by": personas.dixon.members.first().person_id}
    )
    assert errors(response) == ["Select someone in this family as the person giving consent"]
    assert 'value="verbal" checked' in response.content.decode()  # what was entered is kept
    # A parent cannot consent for herself and a young child is consented for by the parent.
    assert client.post(consent_url, {**base, "person": kerry.pk, "given_by": kerry.pk}).status_code == 302
    response = client.post(consent_url, {**base, "person": jayden.pk, "given_by": jayden.pk})
    assert errors(response) == [
        "Jayden Ashworth is under 16: confirm they have enough understanding to consent for themself, or "
        "record consent from a parent or carer"
    ]
    assert client.post(consent_url, {**base, "person": jayden.pk, "given_by": kerry.pk}).status_code == 302

    # Starting with Mia (no consent yet) is refused, and the page says why.
    response = client.post(
        start,
        {"members": [kerry.pk, jayden.pk, mia.pk], **date("assessment_date", TODAY() - dt.timedelta(days=1))},
    )
    assert errors(response) == ["Record consent for Mia Ashworth before starting the assessment"]
    assert client.post(consent_url, {**base, "person": mia.pk, "given_by": kerry.pk}).status_code == 302
    response = client.post(
        start,
        {"members": [kerry.pk, jayden.pk, mia.pk], **date("assessment_date", TODAY() - dt.timedelta(days=1))},
    )
    assessment = Assessment.objects.get(episode=episode)
    assert response["Location"] == section_url(assessment, "domain-child")

    # Across the pages: domains, people, voice, needs, scores.
    response = client.post(
        section_url(assessment, "domain-child"),
        {"version": assessment.version, "domains.child.health": "Jayden has asthma, well managed"},
    )
    assert response["Location"] == section_url(assessment, "domain-parenting")
    assessment.refresh_from_db()
    client.post(
        section_url(assessment, "domain-parenting"),
        {"version": assessment.version, "domains.parenting.boundaries": "Mornings are hard"},
    )
    assessment.refresh_from_db()
    client.post(
        section_url(assessment, "domain-family"),
        {"version": assessment.version, "domains.family.housing": "Damp flat"},
    )
    assessment.refresh_from_db()
    client.post(
        section_url(assessment, "people"),
        {
            "version": assessment.version,
            f"members.{kerry.pk}.strengths": "Loving, wants help",
            f"members.{kerry.pk}.needs": "Sleep",
        },
    )
    assessment.refresh_from_db()
    client.post(
        section_url(assessment, "views"),
        {
            "version": assessment.version,
            f"child_voice.{jayden.pk}": "I like football",
            "family_view": "We want calmer mornings",
        },
    )
    assessment.refresh_from_db()
    response = client.post(
        section_url(assessment, "needs"),
        {
            "version": assessment.version,
            "needs-0-description": "Getting to school on time",
            "needs-0-area": "",
        },
    )
    assert errors(response) == ["Select the outcome need 1 is about"]
    assert "Getting to school on time" in response.content.decode()
    response = client.post(
        section_url(assessment, "needs"),
        {
            "version": assessment.version,
            "needs-0-description": "Getting to school on time",
            "needs-0-area": "education",
        },
    )
    assert response["Location"] == section_url(assessment, "scores")
    assessment.refresh_from_db()
    response = client.post(
        section_url(assessment, "scores"), {"version": assessment.version, "scores.education": "11"}
    )
    assert errors(response) == ["Score for getting a good education must be a whole number from 0 to 10"]
    assert 'value="11"' in response.content.decode()
    response = client.post(
        section_url(assessment, "scores"), {"version": assessment.version, "scores.education": "3"}
    )
    assert response["Location"] == reverse("assessments:assessment-check", args=[assessment.pk])

    check = client.get(response["Location"]).content.decode()
    assert "Jayden has asthma, well managed" in check and "I like football" in check
    assessment.refresh_from_db()
    response = client.post(response["Location"], {"version": assessment.version})
    assert response.status_code == 302
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.COMPLETED
    assert list(AssessmentVersion.objects.filter(assessment=assessment).values_list("number", flat=True)) == [
        1
    ]
    assert episode.needs.get().description == "Getting to school on time"
    assert episode.reviews.get(is_baseline=True).scores.get().score == 3

    # The assessor cannot sign off their own assessment; the manager of their agency returns it.
    decide = reverse("assessments:assessment-decide", args=[assessment.pk])
    assert client.get(decide).status_code == 403
    client.force_login(personas.alex)
    response = client.post(decide, {"decision": "return", "comments": "", "version": assessment.version})
    assert errors(response) == ["Enter what the assessor needs to change"]
    response = client.post(
        decide, {"decision": "return", "comments": "Say more about Mia", "version": assessment.version}
    )
    assert response.status_code == 302
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.RETURNED

    client.force_login(personas.sam)
    detail = client.get(reverse("assessments:assessment-detail", args=[assessment.pk])).content.decode()
    assert "Say more about Mia" in detail
    client.post(
        section_url(assessment, "domain-child"),
        {"version": assessment.version, "domains.child.health": "Mia is well; Jayden's asthma is managed"},
    )
    assessment.refresh_from_db()
    client.post(
        reverse("assessments:assessment-check", args=[assessment.pk]), {"version": assessment.version}
    )
    client.force_login(personas.morgan)
    assessment.refresh_from_db()
    assert (
        client.post(
            decide, {"decision": "sign_off", "comments": "", "version": assessment.version}
        ).status_code
        == 302
    )
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.SIGNED_OFF and assessment.signed_off_by == personas.morgan

    # Version 1 is kept as it was completed.
    first = client.get(reverse("assessments:assessment-version", args=[assessment.pk, 1])).content.decode()
    second = client.get(reverse("assessments:assessment-version", args=[assessment.pk, 2])).content.decode()
    assert "Jayden has asthma, well managed" in first and "Mia is well" not in first
    assert "Mia is well; Jayden&#x27;s asthma is managed" in second
    assert "Returned by Alex" in first


def test_over_long_answer_is_refused_at_the_field_and_kept(client, personas, assessment):
    client.force_login(personas.sam)
    long_text = "x" * 4001
    response = client.post(
        section_url(assessment, "domain-child"),
        {"version": assessment.version, "domains.child.health": long_text},
    )
    assert errors(response) == ["Health must be 4,000 characters or fewer"]
    assert long_text in response.content.decode()
    assessment.refresh_from_db()
    assert assessment.content == {}


def test_autosave_saves_as_the_assessor_types(client, personas, assessment):
    client.force_login(personas.sam)
    url = reverse("assessments:assessment-autosave", args=[assessment.pk])
    response = client.post(
        url,
        {"section": "domain-child", "version": assessment.version, "domains.child.health": "Half a thought"},
    )
    assert "Saved at" in response.content.decode()
    assessment.refresh_from_db()
    assert assessment.content["domains"]["child.health"] == "Half a thought"
    assert f'value="{assessment.version}"' in response.content.decode()
    # The page's own autosave is not "someone else": submitting the page afterwards with the version it
    # was opened at (the autosave's reply may not have reached it) saves, since the page token matches.
    response = client.post(
        url,
        {
            "section": "domain-child",
            "version": assessment.version,
            "edit_token": "page1",
            "domains.child.health": "More",
        },
    )
    assert "Saved at" in response.content.decode()
    response = client.post(
        section_url(assessment, "domain-child"),
        {"version": assessment.version, "edit_token": "page1", "domains.child.health": "More, and the rest"},
    )
    assert response.status_code == 302
    assessment.refresh_from_db()
    assert assessment.content["domains"]["child.health"] == "More, and the rest"
    # An autosave from that page arriving after it was submitted cannot save over what came after.
    late = client.post(
        url,
        {
            "section": "domain-child",
            "version": assessment.version - 1,
            "edit_token": "page1",
            "domains.child.health": "More",
        },
    )
    assert "Not saved" in late.content.decode()
    assessment.refresh_from_db()
    assert assessment.content["domains"]["child.health"] == "More, and the rest"
    # From another page (another token) the same stale version is a conflict.
    response = client.post(
        section_url(assessment, "domain-child"),
        {"version": assessment.version - 2, "edit_token": "page2", "domains.child.health": "Other tab"},
    )
    assert "This assessment changed since you opened it" in response.content.decode()
    assessment.refresh_from_db()
    assert assessment.content["domains"]["child.health"] == "More, and the rest"
    # A stale version is not saved, and says so.
    response = client.post(
        url, {"section": "domain-child", "version": assessment.version - 1, "domains.child.health": "Other"}
    )
    assert "Not saved: someone else saved this assessment" in response.content.decode()
    assessment.refresh_from_db()
    assert assessment.content["domains"]["child.health"] == "More, and the rest"


def test_a_stale_save_shows_what_changed_and_keeps_what_was_typed(client, personas, assessment):
    opened_at = assessment.version
    # Meanwhile the page is saved from another tab.
    services.assessment_save(
        actor=personas.sam,
        assessment=assessment,
        expected_version=opened_at,
        changes={"domains": {"child.health": "Their answer"}},
    )
    client.force_login(personas.sam)
    response = client.post(
        section_url(assessment, "domain-child"), {"version": opened_at, "domains.child.health": "My answer"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "This assessment changed since you opened it" in page
    assert "Their answer" in page and "My answer" in page
    assessment.refresh_from_db()
    assert assessment.content["domains"]["child.health"] == "Their answer"
    assert f'name="version" value="{assessment.version}"' in page
    # Saving again, having seen theirs, keeps the user's answer.
    response = client.post(
        section_url(assessment, "domain-child"),
        {"version": assessment.version, "domains.child.health": "My answer"},
    )
    assert response.status_code == 302
    assessment.refresh_from_db()
    assert assessment.content["domains"]["child.health"] == "My answer"


def test_completion_is_refused_while_consent_is_withdrawn_and_the_page_says_why(client, personas, assessment):
    services.assessment_save(
        actor=personas.sam,
        assessment=assessment,
        expected_version=assessment.version,
        changes={
            "domains": {"child.health": "Fine"},
            "family_view": "Help please",
            "needs": [{"area": "education", "description": "School"}],
            "scores": {"education": 4},
        },
    )
    kerry, _jayden, mia = people(personas)
    services.consent_withdraw(
        actor=personas.sam,
        consent=ConsentRecord.objects.get(episode=assessment.episode, person=mia),
        withdrawn_on=TODAY(),
        reason="Kerry does not want Mia involved",
    )
    client.force_login(personas.sam)
    check = reverse("assessments:assessment-check", args=[assessment.pk])
    assert "there is no current consent for Mia Ashworth" in client.get(check).content.decode()
    assessment.refresh_from_db()
    response = client.post(check, {"version": assessment.version})
    assert "Record consent for Mia Ashworth before completing the assessment" in response.content.decode()
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.DRAFT


def test_outcomes_in_the_familys_words_with_their_actions(client, personas, episode):
    kerry = people(personas)[0]
    client.force_login(personas.sam)
    response = client.post(
        reverse("assessments:outcome-add", args=[episode.pk]),
        {
            "wording": "Mornings without shouting",
            "said_by": kerry.pk,
            "area": OutcomeArea.objects.get(code="family_relationships").pk,
        },
    )
    assert response.status_code == 302
    outcome = episode.plan_outcomes.get()
    pathway_services.taf_add_family_member(
        actor=personas.sam, episode=episode, person=kerry, role="Mother", joined_on=TODAY()
    )
    response = client.post(
        reverse("assessments:action-add", args=[episode.pk]),
        {
            "description": "Bedtime by 8",
            "owner": f"person:{kerry.pk}",
            "outcome": outcome.pk,
            **date("due_on", TODAY() + dt.timedelta(days=7)),
        },
    )
    assert response.status_code == 302
    assert PlanAction.objects.get().outcome == outcome
    page = client.get(reverse("pathway:episode-detail", args=[episode.pk])).content.decode()
    assert "“Mornings without shouting”" in page and "Bedtime by 8" in page
    response = client.post(
        reverse("assessments:outcome-edit", args=[outcome.pk]),
        {"wording": "", "said_by": kerry.pk, "version": outcome.version},
    )
    assert errors(response) == ["Enter what the family wants to be different, in their words"]
    response = client.post(
        reverse("assessments:outcome-edit", args=[outcome.pk]),
        {"wording": "Calm mornings", "said_by": kerry.pk, "achieved": "on", "version": outcome.version},
    )
    assert response.status_code == 302
    outcome.refresh_from_db()
    assert outcome.wording == "Calm mornings" and outcome.achieved
    # A second edit on the old version is refused rather than overwriting.
    response = client.post(
        reverse("assessments:outcome-edit", args=[outcome.pk]),
        {"wording": "Something else", "said_by": "", "version": outcome.version - 1},
    )
    assert "Someone else changed this outcome" in response.content.decode()
    outcome.refresh_from_db()
    assert outcome.wording == "Calm mornings"


def test_reads_are_audited(client, personas, assessment):
    client.force_login(personas.hana)
    assert client.get(reverse("assessments:assessment-detail", args=[assessment.pk])).status_code == 200
    assert client.get(reverse("assessments:consent-list", args=[assessment.episode_id])).status_code == 200
    summaries = set(
        AuditEvent.objects.filter(actor=personas.hana, family_id=assessment.episode.family_id).values_list(
            "summary", flat=True
        )
    )
    assert f"Early help assessment {assessment.pk}" in summaries
    assert f"Consent records, episode {assessment.episode_id}" in summaries


def test_evidence_upload_and_audited_download(client, personas, episode):
    from django.core.files.uploadedfile import SimpleUploadedFile

    kerry = people(personas)[0]
    client.force_login(personas.sam)
    url = reverse("assessments:consent-add", args=[episode.pk])
    data = {
        "person": kerry.pk,
        "given_by": kerry.pk,
        "method": "written",
        "agrees_to_sharing": "yes",
        "sharing_basis": "consent",
        **date("given_on", TODAY()),
    }
    bad = SimpleUploadedFile("form.exe", b"MZ...", content_type="application/octet-stream")
    response = client.post(url, {**data, "evidence": bad})
    assert errors(response) == ["The evidence file must be a PDF, JPEG or PNG"]
    good = SimpleUploadedFile("signed.pdf", b"%PDF-1.4 signed", content_type="application/pdf")
    assert client.post(url, {**data, "evidence": good}).status_code == 302
    consent = ConsentRecord.objects.get(person=kerry)
    client.force_login(personas.hana)
    response = client.get(reverse("assessments:consent-evidence", args=[consent.pk]))
    assert response.status_code == 200 and response.content == b"%PDF-1.4 signed"
    assert AuditEvent.objects.filter(actor=personas.hana, summary="Consent evidence downloaded").count() == 1


def _episode_page_queries(client, personas, episode) -> int:
    client.force_login(personas.sam)
    url = reverse("pathway:episode-detail", args=[episode.pk])
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_episode_page_costs_the_same_for_one_or_many_outcomes_and_actions(client, personas, episode):
    kerry = people(personas)[0]
    consent_everyone(actor=personas.sam, episode=episode)
    outcome = services.plan_outcome_add(actor=personas.sam, episode=episode, wording="One")
    services.action_add(
        actor=personas.sam,
        episode=episode,
        description="A",
        due_on=TODAY(),
        owner_person=kerry,
        outcome=outcome,
    )
    few = _episode_page_queries(client, personas, episode)
    for i in range(15):
        more = services.plan_outcome_add(
            actor=personas.sam, episode=episode, wording=f"Outcome {i}", said_by=kerry
        )
        services.action_add(
            actor=personas.sam,
            episode=episode,
            description=f"B{i}",
            due_on=TODAY(),
            owner_person=kerry,
            outcome=more,
        )
        services.action_add(
            actor=personas.sam, episode=episode, description=f"C{i}", due_on=TODAY(), owner_user=personas.hana
        )
    assert _episode_page_queries(client, personas, episode) == few
