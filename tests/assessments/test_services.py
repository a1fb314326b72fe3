"""Consent, the Early Help Assessment and the family plan, through assessments.services against PostgreSQL:
the rules of the work, the bad inputs of the issue (each refused at its field, with nothing stored), and
an audit event for every write."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from assessments import services
from assessments.models import (
    Assessment,
    AssessmentStatus,
    AssessmentVersion,
    ConsentRecord,
    PlanAction,
    PlanOutcome,
)
from assessments.services import AssessmentChangedError
from ehcase.models import AuditEvent, FamilyMember, HouseholdRole, Person
from pathway import services as pathway_services
from pathway.models import (
    EpisodeStatus,
    IdentifiedNeed,
    OutcomeArea,
    Review,
    TafMember,
)
from pathway.services import PathwayError
from tests.factories import EpisodeFactory, consent_everyone

pytestmark = pytest.mark.django_db
S = EpisodeStatus
A = AssessmentStatus


def today() -> dt.date:
    return timezone.localdate()


def days_ago(n: int) -> dt.date:
    return today() - dt.timedelta(days=n)


def audited(obj, family_id: int, summary: str | None = None) -> bool:
    events = AuditEvent.objects.filter(
        object_type=obj._meta.label_lower, object_id=str(obj.pk), family_id=family_id
    )
    if summary is not None:
        events = events.filter(summary__startswith=summary)
    return events.exists()


# --- The cast: the Ashworth family, an episode opened by the hub with Sam as assessor ---------------


@pytest.fixture
def ashworths(personas) -> dict[str, Person]:
    """Kerry (parent), Jayden (about 10) and Mia (about 6), by first name."""
    return {
        m.person.first_name: m.person
        for m in FamilyMember.objects.filter(family=personas.ashworth).select_related("person")
    }


@pytest.fixture
def episode(personas):
    """Opened by the North hub coordinator 30 days ago, Sam allocated as assessor: status open."""
    from pathway.models import LevelOfNeed

    return pathway_services.episode_open(
        actor=personas.chris,
        family=personas.ashworth,
        source="triage",
        level=LevelOfNeed.objects.get(code="3"),
        opened_on=days_ago(30),
        reason="Hub triage: early help assessment",
        assessor=personas.sam,
    )


@pytest.fixture
def consented(personas, episode):
    consent_everyone(actor=personas.sam, episode=episode, given_on=days_ago(28))
    return episode


@pytest.fixture
def assessment(personas, consented, ashworths) -> Assessment:
    """Sam's draft assessment of the whole family, dated 20 days ago."""
    return services.assessment_start(
        actor=personas.sam,
        episode=consented,
        members=list(ashworths.values()),
        assessment_date=days_ago(20),
    )


def answers(people: dict[str, Person]) -> dict:
    kerry, jayden = people["Kerry"], people["Jayden"]
    return {
        "domains": {
            "child.education": "Jayden's attendance is 81% this term.",
            "parenting.boundaries": "Kerry finds bedtimes hard since the move.",
        },
        "members": {str(kerry.pk): {"strengths": "Loving and honest", "needs": "Support with routines"}},
        "child_voice": {str(jayden.pk): "I like football and I want my mum to be less tired."},
        "family_view": "We want mornings to be calmer and Jayden to get to school on time.",
        "needs": [
            {"area": "education", "description": "Jayden's attendance has fallen to 81%"},
            {"area": "health", "description": "Kerry's low mood"},
        ],
        "scores": {"education": 3, "health": 4, "housing": 7},
    }


@pytest.fixture
def filled(personas, assessment, ashworths) -> Assessment:
    return services.assessment_save(
        actor=personas.sam,
        assessment=assessment,
        expected_version=assessment.version,
        changes=answers(ashworths),
    )


@pytest.fixture
def completed(personas, filled) -> Assessment:
    return services.assessment_complete(
        actor=personas.sam, assessment=filled, expected_version=filled.version
    )


def consent(personas, episode, person, given_by, **extra) -> ConsentRecord:
    return services.consent_record(
        actor=personas.sam,
        episode=episode,
        person=person,
        given_by=given_by,
        given_on=extra.pop("given_on", days_ago(10)),
        method=extra.pop("method", "written"),
        agrees_to_sharing=True,
        sharing_basis="consent",
        **extra,
    )


def add_young_person(family, age: int) -> Person:
    born = today().replace(year=today().year - age) - dt.timedelta(days=40)
    person = Person.objects.create(first_name="Casey", last_name="Ashworth", date_of_birth=born)
    FamilyMember.objects.create(family=family, person=person, role=HouseholdRole.CHILD, start_date=born)
    return person


def hold_first_meeting(personas, episode):
    meeting = pathway_services.meeting_schedule(
        actor=personas.sam,
        episode=episode,
        starts_at=timezone.now() - dt.timedelta(days=5),
        location="Riverside Primary School",
        online=False,
        invited=list(TafMember.objects.filter(episode=episode)),
        already_held=True,
    )
    return pathway_services.meeting_record(
        actor=personas.sam,
        meeting=meeting,
        attendance={m.pk: "attended" for m in TafMember.objects.filter(episode=episode)},
        decisions="Family plan agreed; Sam to lead",
        lead=personas.sam,
        family_view="Kerry asked for Sam",
    )


# --- Consent -----------------------------------------------------------------------------------------


def test_consent_is_recorded_with_who_for_whom_when_and_how(personas, episode, ashworths):
    kerry, jayden = ashworths["Kerry"], ashworths["Jayden"]
    record = consent(personas, episode, jayden, kerry, method="verbal", notes="Agreed at home")
    record.refresh_from_db()
    assert (record.person, record.given_by, record.given_on, record.method) == (
        jayden,
        kerry,
        days_ago(10),
        "verbal",
    )
    assert record.recorded_by == personas.sam and record.is_current
    assert record.family_id == personas.ashworth.pk and record.sharing_basis == "consent"
    assert audited(record, personas.ashworth.pk, "Consent to early help recorded")
    assert services.current_consents(episode=episode) == {jayden.pk: record}


def test_consent_for_or_from_someone_not_in_the_family_is_refused_at_the_field(personas, episode, ashworths):
    lee = Person.objects.get(memberships__family=personas.bennett, first_name="Lee")
    with pytest.raises(PathwayError, match="Select someone in this family") as raised:
        consent(personas, episode, lee, lee)
    assert raised.value.field == "person"
    with pytest.raises(PathwayError, match="as the person giving consent") as raised:
        consent(personas, episode, ashworths["Jayden"], lee)
    assert raised.value.field == "given_by"
    assert not ConsentRecord.objects.exists()


def test_someone_who_has_left_the_household_cannot_consent(personas, episode, ashworths):
    FamilyMember.objects.filter(person=ashworths["Kerry"]).update(end_date=days_ago(60))
    with pytest.raises(PathwayError) as raised:
        consent(personas, episode, ashworths["Kerry"], ashworths["Kerry"])
    assert raised.value.field == "person"
    assert not ConsentRecord.objects.exists()


def test_a_young_person_of_16_consents_for_themself_and_a_parent_cannot(personas, episode, ashworths):
    casey = add_young_person(personas.ashworth, 16)
    with pytest.raises(PathwayError, match="Casey Ashworth gives consent for themself") as raised:
        consent(personas, episode, casey, ashworths["Kerry"])
    assert raised.value.field == "given_by"
    assert not ConsentRecord.objects.filter(person=casey).exists()
    record = consent(personas, episode, casey, casey)
    assert record.given_by == casey


def test_an_adult_consents_for_themself(personas, episode, ashworths):
    with pytest.raises(PathwayError, match="Kerry Ashworth gives consent for themself") as raised:
        consent(personas, episode, ashworths["Kerry"], ashworths["Jayden"])
    assert raised.value.field == "given_by"


def test_a_child_under_16_needs_a_parent_or_their_own_understanding(personas, episode, ashworths):
    jayden, mia = ashworths["Jayden"], ashworths["Mia"]
    with pytest.raises(PathwayError, match="Jayden Ashworth is under 16") as raised:
        consent(personas, episode, jayden, jayden)
    assert raised.value.field == "own_consent_competent"
    with pytest.raises(PathwayError, match="given by a parent or carer") as raised:
        consent(personas, episode, jayden, mia)  # a sibling is not a parent or carer
    assert raised.value.field == "given_by"
    assert not ConsentRecord.objects.exists()

    record = consent(personas, episode, jayden, jayden, own_consent_competent=True)
    assert record.given_by == jayden and record.own_consent_competent


def test_a_parent_giving_consent_does_not_mark_the_child_competent(personas, episode, ashworths):
    record = consent(personas, episode, ashworths["Mia"], ashworths["Kerry"], own_consent_competent=True)
    assert record.own_consent_competent is False


def test_consent_cannot_be_dated_in_the_future(personas, episode, ashworths):
    with pytest.raises(PathwayError) as raised:
        consent(personas, episode, ashworths["Kerry"], ashworths["Kerry"], given_on=today() + dt.timedelta(1))
    assert raised.value.field == "given_on"


def test_a_second_current_consent_for_the_same_person_is_refused(personas, episode, ashworths):
    kerry = ashworths["Kerry"]
    consent(personas, episode, kerry, kerry)
    with pytest.raises(PathwayError, match="Consent for Kerry Ashworth is already recorded") as raised:
        consent(personas, episode, kerry, kerry, given_on=days_ago(2))
    assert raised.value.field == "person"
    assert ConsentRecord.objects.filter(person=kerry).count() == 1


def test_withdrawal_is_recorded_with_its_date_and_reason(personas, episode, ashworths):
    kerry = ashworths["Kerry"]
    record = consent(personas, episode, kerry, kerry)
    withdrawn = services.consent_withdraw(
        actor=personas.sam, consent=record, withdrawn_on=days_ago(3), reason="Kerry no longer wants support"
    )
    assert withdrawn.withdrawn_on == days_ago(3) and not withdrawn.is_current
    assert withdrawn.withdrawal_reason == "Kerry no longer wants support"
    assert withdrawn.withdrawal_recorded_by == personas.sam
    assert audited(record, personas.ashworth.pk, "Consent to early help withdrawn")
    assert services.current_consents(episode=episode) == {}
    with pytest.raises(PathwayError, match="already been withdrawn"):
        services.consent_withdraw(actor=personas.sam, consent=record, withdrawn_on=today(), reason="again")


def test_withdrawal_cannot_precede_consent_or_lack_a_reason(personas, episode, ashworths):
    record = consent(personas, episode, ashworths["Kerry"], ashworths["Kerry"], given_on=days_ago(10))
    with pytest.raises(PathwayError, match="on or after it was given") as raised:
        services.consent_withdraw(actor=personas.sam, consent=record, withdrawn_on=days_ago(11), reason="x")
    assert raised.value.field == "withdrawn_on"
    with pytest.raises(PathwayError) as raised:
        services.consent_withdraw(actor=personas.sam, consent=record, withdrawn_on=days_ago(1), reason="  ")
    assert raised.value.field == "reason"
    record.refresh_from_db()
    assert record.is_current and record.withdrawal_reason == ""


def test_consent_can_be_given_again_after_withdrawal(personas, episode, ashworths):
    kerry = ashworths["Kerry"]
    first = consent(personas, episode, kerry, kerry, given_on=days_ago(10))
    services.consent_withdraw(actor=personas.sam, consent=first, withdrawn_on=days_ago(5), reason="Paused")
    again = consent(personas, episode, kerry, kerry, given_on=days_ago(2))
    assert services.current_consents(episode=episode) == {kerry.pk: again}


# Evidence: a PDF, JPEG or PNG up to 5MB, checked by its first bytes as well as its declared type.


def test_evidence_upload_is_stored(personas, episode, ashworths):
    data = b"%PDF-1.7\n% signed consent form\n"
    upload = SimpleUploadedFile("consent-form.pdf", data, content_type="application/pdf")
    record = consent(personas, episode, ashworths["Kerry"], ashworths["Kerry"], evidence=upload)
    record.refresh_from_db()
    assert bytes(record.evidence) == data
    assert (record.evidence_name, record.evidence_type) == ("consent-form.pdf", "application/pdf")


@pytest.mark.parametrize(
    "name,data,content_type",
    [
        ("form.txt", b"%PDF-1.7 but declared as text", "text/plain"),
        ("form.pdf", b"MZ\x90\x00 not a PDF at all", "application/pdf"),
        ("photo.png", b"\xff\xd8\xff a JPEG called PNG", "image/png"),
        ("form.html", b"<html><script>alert(1)</script>", "text/html"),
    ],
)
def test_evidence_of_the_wrong_type_is_refused(personas, episode, ashworths, name, data, content_type):
    upload = SimpleUploadedFile(name, data, content_type=content_type)
    with pytest.raises(PathwayError, match="must be a PDF, JPEG or PNG") as raised:
        consent(personas, episode, ashworths["Kerry"], ashworths["Kerry"], evidence=upload)
    assert raised.value.field == "evidence"
    assert not ConsentRecord.objects.exists()


def test_evidence_over_5mb_is_refused(personas, episode, ashworths):
    data = b"\x89PNG\r\n\x1a\n" + b"\0" * (services.EVIDENCE_MAX_BYTES - 7)
    upload = SimpleUploadedFile("scan.png", data, content_type="image/png")
    with pytest.raises(PathwayError, match="smaller than 5MB") as raised:
        consent(personas, episode, ashworths["Kerry"], ashworths["Kerry"], evidence=upload)
    assert raised.value.field == "evidence"
    assert not ConsentRecord.objects.exists()


# Withdrawal restricts further sharing: nobody new joins the team while it stands.


def test_withdrawn_consent_stops_new_workers_joining_until_consent_is_given_again(
    personas, consented, ashworths
):
    record = ConsentRecord.objects.get(episode=consented, person=ashworths["Kerry"])
    services.consent_withdraw(actor=personas.sam, consent=record, withdrawn_on=days_ago(4), reason="Stopped")
    assert [c.pk for c in services.sharing_withdrawn(episode=consented)] == [record.pk]
    with pytest.raises(PathwayError, match="Consent was withdrawn for Kerry Ashworth") as raised:
        pathway_services.taf_add_worker(
            actor=personas.sam,
            episode=consented,
            user=personas.hana,
            role="Health visitor",
            joined_on=today(),
        )
    assert raised.value.field == "user"
    assert not TafMember.objects.filter(episode=consented, user=personas.hana).exists()

    consent(personas, consented, ashworths["Kerry"], ashworths["Kerry"], given_on=days_ago(1))
    assert services.sharing_withdrawn(episode=consented) == []
    member = pathway_services.taf_add_worker(
        actor=personas.sam, episode=consented, user=personas.hana, role="Health visitor", joined_on=today()
    )
    assert member.user == personas.hana


# --- Starting the assessment ------------------------------------------------------------------------


def test_an_assessment_cannot_start_without_consent_and_says_whose_is_missing(personas, episode, ashworths):
    consent(personas, episode, ashworths["Kerry"], ashworths["Kerry"])
    with pytest.raises(PathwayError) as raised:
        services.assessment_start(
            actor=personas.sam,
            episode=episode,
            members=[ashworths["Kerry"], ashworths["Jayden"]],
            assessment_date=days_ago(5),
        )
    assert raised.value.message == "Record consent for Jayden Ashworth before starting the assessment"
    assert raised.value.field == "members"
    assert not Assessment.objects.exists()
    episode.refresh_from_db()
    assert episode.status == S.OPEN


def test_starting_moves_an_open_episode_into_assessment(personas, assessment, ashworths, consented):
    consented.refresh_from_db()
    assert consented.status == S.ASSESSMENT
    assert consented.transitions.filter(from_status=S.OPEN, to_status=S.ASSESSMENT).exists()
    assert assessment.assessor == personas.sam and assessment.status == A.DRAFT
    assert set(assessment.members.all()) == set(ashworths.values())
    assert assessment.template.published and assessment.content == {}
    assert audited(assessment, personas.ashworth.pk, "Early help assessment started")


def test_only_one_assessment_in_progress_per_episode(personas, assessment, ashworths):
    with pytest.raises(PathwayError, match="already has an assessment in progress"):
        services.assessment_start(
            actor=personas.sam,
            episode=assessment.episode,
            members=[ashworths["Kerry"]],
            assessment_date=days_ago(2),
        )
    assert Assessment.objects.count() == 1


def test_an_assessment_cannot_predate_the_episode_or_cover_other_families(personas, consented, ashworths):
    with pytest.raises(PathwayError) as raised:
        services.assessment_start(
            actor=personas.sam, episode=consented, members=[ashworths["Kerry"]], assessment_date=days_ago(31)
        )
    assert raised.value.field == "assessment_date"
    lee = Person.objects.get(memberships__family=personas.bennett, first_name="Lee")
    with pytest.raises(PathwayError, match="people who are in this family") as raised:
        services.assessment_start(
            actor=personas.sam, episode=consented, members=[lee], assessment_date=days_ago(5)
        )
    assert raised.value.field == "members"
    assert not Assessment.objects.exists()


# --- Saving as the practitioner goes -----------------------------------------------------------------


def test_saves_merge_partial_answers(personas, assessment, ashworths):
    first = services.assessment_save(
        actor=personas.sam,
        assessment=assessment,
        expected_version=assessment.version,
        changes={"domains": {"child.health": "Asthma well controlled"}},
    )
    second = services.assessment_save(
        actor=personas.sam,
        assessment=first,
        expected_version=first.version,
        changes={"domains": {"child.education": "Attendance 81%"}, "family_view": "Mornings are hard"},
    )
    assert second.version == assessment.version + 2
    assert second.content == {
        "domains": {"child.health": "Asthma well controlled", "child.education": "Attendance 81%"},
        "family_view": "Mornings are hard",
    }
    assert (
        AuditEvent.objects.filter(
            object_type="assessments.assessment",
            object_id=str(assessment.pk),
            family_id=personas.ashworth.pk,
            summary="Early help assessment saved",
        ).count()
        == 2
    )


def test_a_stale_save_is_refused_and_nothing_is_overwritten(personas, assessment):
    opened_at = assessment.version
    kept = services.assessment_save(
        actor=personas.sam,
        assessment=assessment,
        expected_version=opened_at,
        changes={"family_view": "Kerry's words, saved first"},
    )
    with pytest.raises(AssessmentChangedError, match="Someone else saved this assessment"):
        services.assessment_save(
            actor=personas.sam,
            assessment=assessment,
            expected_version=opened_at,
            changes={"family_view": "Saved from a page opened earlier"},
        )
    stored = Assessment.objects.get(pk=assessment.pk)
    assert stored.content == {"family_view": "Kerry's words, saved first"}
    assert stored.version == kept.version


@pytest.mark.parametrize("score", [11, -1, 5.5, "5", True])
def test_scores_must_be_whole_numbers_from_0_to_10(personas, assessment, score):
    with pytest.raises(PathwayError, match="whole number from 0 to 10") as raised:
        services.assessment_save(
            actor=personas.sam,
            assessment=assessment,
            expected_version=assessment.version,
            changes={"scores": {"education": 4, "health": score}},
        )
    assert raised.value.field == "scores.health"
    stored = Assessment.objects.get(pk=assessment.pk)
    assert stored.content == {} and stored.version == assessment.version


def test_scores_at_the_ends_of_the_scale_and_blank_are_kept(personas, assessment):
    saved = services.assessment_save(
        actor=personas.sam,
        assessment=assessment,
        expected_version=assessment.version,
        changes={"scores": {"education": 0, "health": 10, "housing": None}},
    )
    assert saved.content["scores"] == {"education": 0, "health": 10, "housing": None}


def test_a_score_for_an_unknown_outcome_area_is_refused(personas, assessment):
    with pytest.raises(PathwayError, match="outcome area does not exist") as raised:
        services.assessment_save(
            actor=personas.sam,
            assessment=assessment,
            expected_version=assessment.version,
            changes={"scores": {"astrology": 5}},
        )
    assert raised.value.field == "scores.astrology"


@pytest.mark.parametrize("part", ["domain", "family_view", "member", "child_voice"])
def test_an_over_long_answer_is_refused_at_its_field(personas, assessment, ashworths, part):
    kerry, jayden = str(ashworths["Kerry"].pk), str(ashworths["Jayden"].pk)
    long = "x" * 4001
    changes, field = {
        "domain": ({"domains": {"parenting.warmth": long}}, "domains.parenting.warmth"),
        "family_view": ({"family_view": long}, "family_view"),
        "member": ({"members": {kerry: {"strengths": "Kind", "needs": long}}}, f"members.{kerry}.needs"),
        "child_voice": ({"child_voice": {jayden: long}}, f"child_voice.{jayden}"),
    }[part]
    saved = services.assessment_save(
        actor=personas.sam,
        assessment=assessment,
        expected_version=assessment.version,
        changes={"domains": {"child.health": "Kept"}},
    )
    with pytest.raises(PathwayError, match="4,000 characters or fewer \\(you entered 4,001\\)") as raised:
        services.assessment_save(
            actor=personas.sam, assessment=saved, expected_version=saved.version, changes=changes
        )
    assert raised.value.field == field
    stored = Assessment.objects.get(pk=assessment.pk)
    assert stored.content == {"domains": {"child.health": "Kept"}} and stored.version == saved.version


def test_an_answer_of_exactly_4000_characters_is_kept(personas, assessment):
    saved = services.assessment_save(
        actor=personas.sam,
        assessment=assessment,
        expected_version=assessment.version,
        changes={"family_view": "a" * 4000},
    )
    assert len(saved.content["family_view"]) == 4000


def test_unknown_parts_of_the_form_are_refused(personas, assessment, ashworths):
    with pytest.raises(PathwayError, match="part of the assessment form does not exist") as raised:
        services.assessment_save(
            actor=personas.sam,
            assessment=assessment,
            expected_version=assessment.version,
            changes={"domains": {"child.astrology": "Leo"}},
        )
    assert raised.value.field == "domains.child.astrology"
    with pytest.raises(PathwayError, match="Unknown part of the assessment"):
        services.assessment_save(
            actor=personas.sam,
            assessment=assessment,
            expected_version=assessment.version,
            changes={"horoscope": "Leo"},
        )
    with pytest.raises(PathwayError, match="Select the outcome the need is about") as raised:
        services.assessment_save(
            actor=personas.sam,
            assessment=assessment,
            expected_version=assessment.version,
            changes={"needs": [{"area": "astrology", "description": "Stars"}]},
        )
    assert raised.value.field == "needs.0.area"
    assert Assessment.objects.get(pk=assessment.pk).content == {}


def test_answers_only_for_members_the_assessment_covers(personas, consented, ashworths):
    partial = services.assessment_start(
        actor=personas.sam, episode=consented, members=[ashworths["Kerry"]], assessment_date=days_ago(5)
    )
    with pytest.raises(PathwayError, match="family members the assessment covers") as raised:
        services.assessment_save(
            actor=personas.sam,
            assessment=partial,
            expected_version=partial.version,
            changes={"child_voice": {str(ashworths["Mia"].pk): "I like drawing"}},
        )
    assert raised.value.field == "child_voice"


def test_a_member_added_to_the_assessment_needs_consent(personas, episode, ashworths):
    consent(personas, episode, ashworths["Kerry"], ashworths["Kerry"])
    started = services.assessment_start(
        actor=personas.sam, episode=episode, members=[ashworths["Kerry"]], assessment_date=days_ago(5)
    )
    with pytest.raises(PathwayError, match="Record consent for Mia Ashworth before adding them") as raised:
        services.assessment_save(
            actor=personas.sam,
            assessment=started,
            expected_version=started.version,
            members=[ashworths["Kerry"], ashworths["Mia"]],
        )
    assert raised.value.field == "members"
    assert list(started.members.all()) == [ashworths["Kerry"]]


# --- Completion --------------------------------------------------------------------------------------


def test_completion_problems_are_listed_for_an_empty_assessment(personas, assessment):
    assert [field for field, _ in services.completion_problems(assessment=assessment)] == [
        "domains",
        "family_view",
        "needs",
        "scores",
    ]
    with pytest.raises(PathwayError, match="Answer at least one part") as raised:
        services.assessment_complete(
            actor=personas.sam, assessment=assessment, expected_version=assessment.version
        )
    assert raised.value.field == "domains"
    assert Assessment.objects.get(pk=assessment.pk).status == A.DRAFT
    assert not AssessmentVersion.objects.exists()


def test_only_the_assessor_completes(personas, filled):
    for someone in (personas.chris, personas.hana, personas.alex):
        with pytest.raises(PathwayError, match="Only the assessor can complete"):
            services.assessment_complete(actor=someone, assessment=filled, expected_version=filled.version)
    assert Assessment.objects.get(pk=filled.pk).status == A.DRAFT


def test_completion_needs_every_member_still_consented(personas, filled, ashworths):
    record = ConsentRecord.objects.get(episode=filled.episode, person=ashworths["Mia"])
    services.consent_withdraw(
        actor=personas.sam, consent=record, withdrawn_on=today(), reason="Kerry said no"
    )
    with pytest.raises(PathwayError) as raised:
        services.assessment_complete(actor=personas.sam, assessment=filled, expected_version=filled.version)
    assert raised.value.message == "Record consent for Mia Ashworth before completing the assessment"
    assert raised.value.field == "members"
    assert Assessment.objects.get(pk=filled.pk).status == A.DRAFT
    assert not AssessmentVersion.objects.exists()


def test_a_stale_completion_is_refused(personas, filled):
    with pytest.raises(AssessmentChangedError):
        services.assessment_complete(
            actor=personas.sam, assessment=filled, expected_version=filled.version - 1
        )
    assert Assessment.objects.get(pk=filled.pk).status == A.DRAFT


def test_completion_keeps_version_1_and_sends_needs_and_baseline_to_the_episode(personas, completed):
    assert completed.status == A.COMPLETED and completed.completed_at is not None
    version = AssessmentVersion.objects.get(assessment=completed)
    assert version.number == 1 and version.completed_by == personas.sam
    assert version.content == completed.content and version.template == completed.template
    assert version.assessment_date == days_ago(20)
    assert version.member_ids == sorted(completed.members.values_list("pk", flat=True))
    assert version.outcome == ""

    episode = completed.episode
    needs = set(IdentifiedNeed.objects.filter(episode=episode).values_list("area__code", "description"))
    assert needs == {
        ("education", "Jayden's attendance has fallen to 81%"),
        ("health", "Kerry's low mood"),
    }
    baseline = Review.objects.get(episode=episode, is_baseline=True)
    assert baseline.held_on == days_ago(20)
    assert dict(baseline.scores.values_list("area__code", "score")) == {
        "education": 3,
        "health": 4,
        "housing": 7,
    }
    assert audited(completed, personas.ashworth.pk, "Early help assessment completed (version 1)")
    # No team meeting yet: the plan is not active until the first TAF meeting agrees a lead.
    episode.refresh_from_db()
    assert episode.status == S.ASSESSMENT


def test_a_completed_assessment_can_no_longer_be_saved(personas, completed):
    with pytest.raises(PathwayError, match="can no longer be changed"):
        services.assessment_save(
            actor=personas.sam,
            assessment=completed,
            expected_version=completed.version,
            changes={"family_view": "Changed after completion"},
        )
    assert Assessment.objects.get(pk=completed.pk).content["family_view"].startswith("We want mornings")


def test_plan_becomes_active_at_the_first_meeting_after_completion(personas, completed):
    episode = completed.episode
    hold_first_meeting(personas, episode)
    episode.refresh_from_db()
    assert episode.status == S.PLAN_ACTIVE and episode.lead_professional == personas.sam
    assert episode.next_review_due is not None


def test_a_first_meeting_before_completion_waits_for_the_assessment(personas, filled):
    episode = filled.episode
    hold_first_meeting(personas, episode)
    episode.refresh_from_db()
    assert episode.status == S.ASSESSMENT  # the lead is agreed, the plan waits for the assessment
    assert episode.lead_professional == personas.sam and episode.next_review_due is None

    services.assessment_complete(actor=personas.sam, assessment=filled, expected_version=filled.version)
    episode.refresh_from_db()
    assert episode.status == S.PLAN_ACTIVE
    assert episode.transitions.filter(from_status=S.ASSESSMENT, to_status=S.PLAN_ACTIVE).exists()
    assert episode.next_review_due is not None


def test_an_existing_baseline_is_kept_on_completion(personas, filled):
    education = OutcomeArea.objects.get(code="education")
    pathway_services.baseline_record(
        actor=personas.sam, episode=filled.episode, held_on=days_ago(25), scores={education: 2}
    )
    services.assessment_complete(actor=personas.sam, assessment=filled, expected_version=filled.version)
    baseline = Review.objects.get(episode=filled.episode, is_baseline=True)
    assert dict(baseline.scores.values_list("area__code", "score")) == {"education": 2}


# --- Sign-off, return and versions -------------------------------------------------------------------


def test_the_assessor_cannot_sign_off_their_own(personas, completed):
    with pytest.raises(PathwayError, match="cannot sign off an assessment you completed yourself"):
        services.assessment_decide(actor=personas.sam, assessment=completed, sign_off=True, comments="")
    assert Assessment.objects.get(pk=completed.pk).status == A.COMPLETED


def test_sign_off_by_a_manager(personas, completed):
    signed = services.assessment_decide(
        actor=personas.alex, assessment=completed, sign_off=True, comments="Thorough"
    )
    assert signed.status == A.SIGNED_OFF and signed.signed_off_by == personas.alex
    assert signed.signed_off_at is not None
    version = AssessmentVersion.objects.get(assessment=completed, number=1)
    assert (version.outcome, version.decided_by, version.comments) == (
        "signed_off",
        personas.alex,
        "Thorough",
    )
    assert audited(completed, personas.ashworth.pk, "Early help assessment signed off")
    with pytest.raises(PathwayError, match="Only a completed assessment"):
        services.assessment_decide(actor=personas.morgan, assessment=signed, sign_off=True, comments="")


def test_a_draft_cannot_be_signed_off(personas, filled):
    with pytest.raises(PathwayError, match="Only a completed assessment"):
        services.assessment_decide(actor=personas.alex, assessment=filled, sign_off=True, comments="")
    assert Assessment.objects.get(pk=filled.pk).status == A.DRAFT


def test_returning_needs_comments(personas, completed):
    with pytest.raises(PathwayError, match="Enter what the assessor needs to change") as raised:
        services.assessment_decide(actor=personas.morgan, assessment=completed, sign_off=False, comments=" ")
    assert raised.value.field == "comments"
    with pytest.raises(PathwayError, match="4,000 characters or fewer") as raised:
        services.assessment_decide(
            actor=personas.morgan, assessment=completed, sign_off=False, comments="c" * 4001
        )
    assert raised.value.field == "comments"
    assert Assessment.objects.get(pk=completed.pk).status == A.COMPLETED


def test_returned_assessment_is_edited_and_completed_again_as_version_2(personas, completed):
    v1_content = dict(completed.content)
    returned = services.assessment_decide(
        actor=personas.morgan,
        assessment=completed,
        sign_off=False,
        comments="Add Mia's view of home life",
    )
    assert returned.status == A.RETURNED and returned.is_editable
    assert audited(completed, personas.ashworth.pk, "Early help assessment returned for changes")

    mia = returned.members.get(first_name="Mia")
    edited = services.assessment_save(
        actor=personas.sam,
        assessment=returned,
        expected_version=returned.version,
        changes={"child_voice": {str(mia.pk): "I like it when mum reads to me"}},
    )
    again = services.assessment_complete(
        actor=personas.sam, assessment=edited, expected_version=edited.version
    )
    assert again.status == A.COMPLETED

    v1, v2 = AssessmentVersion.objects.filter(assessment=completed).order_by("number")
    assert (v1.number, v2.number) == (1, 2)
    assert v1.content == v1_content and str(mia.pk) not in v1.content["child_voice"]
    assert (v1.outcome, v1.decided_by, v1.comments) == (
        "returned",
        personas.morgan,
        "Add Mia's view of home life",
    )
    assert v2.content["child_voice"][str(mia.pk)] == "I like it when mum reads to me"
    assert v2.outcome == "" and v2.decided_by is None
    # The needs and baseline from version 1 are not written twice.
    assert IdentifiedNeed.objects.filter(episode=completed.episode).count() == 2
    assert Review.objects.filter(episode=completed.episode, is_baseline=True).count() == 1
    assert audited(completed, personas.ashworth.pk, "Early help assessment completed (version 2)")

    signed = services.assessment_decide(actor=personas.alex, assessment=again, sign_off=True, comments="")
    assert signed.status == A.SIGNED_OFF
    assert AssessmentVersion.objects.get(pk=v1.pk).outcome == "returned"
    assert AssessmentVersion.objects.get(pk=v2.pk).outcome == "signed_off"


# --- The plan: outcomes in the family's words, actions with an owner --------------------------------


def test_plan_outcome_in_the_familys_words(personas, completed, ashworths):
    outcome = services.plan_outcome_add(
        actor=personas.sam,
        episode=completed.episode,
        wording="  Jayden gets to school on time and happy  ",
        said_by=ashworths["Jayden"],
        area=OutcomeArea.objects.get(code="education"),
    )
    assert outcome.wording == "Jayden gets to school on time and happy"
    assert outcome.said_by == ashworths["Jayden"] and outcome.order == 1
    assert audited(outcome, personas.ashworth.pk, "Plan outcome added")


@pytest.mark.parametrize(
    "wording,message",
    [("   ", "Enter what the family wants to be different"), ("w" * 501, "500 characters or fewer")],
)
def test_plan_outcome_wording_is_required_and_limited(personas, completed, wording, message):
    with pytest.raises(PathwayError, match=message) as raised:
        services.plan_outcome_add(actor=personas.sam, episode=completed.episode, wording=wording)
    assert raised.value.field == "wording"
    assert not PlanOutcome.objects.exists()


def test_plan_outcome_said_by_someone_in_the_family(personas, completed):
    lee = Person.objects.get(memberships__family=personas.bennett, first_name="Lee")
    with pytest.raises(PathwayError, match="Select someone in this family") as raised:
        services.plan_outcome_add(
            actor=personas.sam, episode=completed.episode, wording="Calmer mornings", said_by=lee
        )
    assert raised.value.field == "said_by"
    assert not PlanOutcome.objects.exists()


def test_plan_outcome_update_is_optimistic(personas, completed, ashworths):
    outcome = services.plan_outcome_add(
        actor=personas.sam, episode=completed.episode, wording="Calmer mornings"
    )
    opened_at = outcome.version
    updated = services.plan_outcome_update(
        actor=personas.sam,
        outcome=outcome,
        wording="Calmer mornings before school",
        said_by=ashworths["Kerry"],
        area=None,
        achieved=False,
        expected_version=opened_at,
    )
    assert updated.version == opened_at + 1
    assert audited(outcome, personas.ashworth.pk, "Plan outcome changed")
    with pytest.raises(AssessmentChangedError, match="Someone else changed this outcome"):
        services.plan_outcome_update(
            actor=personas.sam,
            outcome=outcome,
            wording="Overwritten from a stale page",
            said_by=None,
            area=None,
            achieved=True,
            expected_version=opened_at,
        )
    stored = PlanOutcome.objects.get(pk=outcome.pk)
    assert (stored.wording, stored.said_by, stored.achieved) == (
        "Calmer mornings before school",
        ashworths["Kerry"],
        False,
    )
    with pytest.raises(PathwayError) as raised:
        services.plan_outcome_update(
            actor=personas.sam,
            outcome=stored,
            wording="",
            said_by=None,
            area=None,
            achieved=False,
            expected_version=stored.version,
        )
    assert raised.value.field == "wording"


def test_an_action_cannot_fall_due_before_the_assessment(personas, completed):
    episode = completed.episode
    before = days_ago(25)  # after the opening (30 days ago), before the assessment (20 days ago)
    with pytest.raises(PathwayError) as raised:
        services.action_add(
            actor=personas.sam,
            episode=episode,
            description="School to agree an attendance plan",
            due_on=before,
            owner_agency=personas.riverside,
        )
    assert raised.value.field == "due_on"
    assert raised.value.message == (
        f"Due date must be on or after the date of the assessment ({days_ago(20):%-d %B %Y})"
    )
    assert not PlanAction.objects.exists()


def test_actions_are_linked_to_the_plans_outcomes_with_one_owner(personas, completed, ashworths):
    episode = completed.episode
    outcome = services.plan_outcome_add(actor=personas.sam, episode=episode, wording="Calmer mornings")
    action = services.action_add(
        actor=personas.sam,
        episode=episode,
        description="Kerry to try the new bedtime routine",
        due_on=today() + dt.timedelta(days=14),
        owner_person=ashworths["Kerry"],
        outcome=outcome,
    )
    assert action.outcome == outcome and action.owner_name == "Kerry Ashworth"
    assert list(outcome.actions.all()) == [action]
    assert audited(action, personas.ashworth.pk, "Plan action added")

    with pytest.raises(PathwayError) as raised:
        services.action_add(
            actor=personas.sam,
            episode=episode,
            description="Two owners",
            due_on=today(),
            owner_user=personas.hana,
            owner_agency=personas.riverside,
        )
    assert raised.value.field == "owner"
    other = EpisodeFactory(family=personas.dixon)
    elsewhere = PlanOutcome.objects.create(
        episode=other, wording="Not this family's", created_by=personas.sam
    )
    with pytest.raises(PathwayError, match="Select one of this plan's outcomes") as raised:
        services.action_add(
            actor=personas.sam,
            episode=episode,
            description="Linked to another family's outcome",
            due_on=today(),
            owner_user=personas.hana,
            outcome=elsewhere,
        )
    assert raised.value.field == "outcome"
    assert PlanAction.objects.count() == 1


def test_action_status_update_is_optimistic_and_audited(personas, completed):
    action = services.action_add(
        actor=personas.sam,
        episode=completed.episode,
        description="Health visitor to visit",
        due_on=today(),
        owner_user=personas.hana,
    )
    opened_at = action.version
    done = services.action_set_status(
        actor=personas.hana, action=action, status="done", expected_version=opened_at
    )
    assert done.status == "done" and done.version == opened_at + 1
    assert AuditEvent.objects.filter(
        object_type="assessments.planaction",
        object_id=str(action.pk),
        family_id=personas.ashworth.pk,
        actor=personas.hana,
        summary="Plan action status changed",
    ).exists()
    with pytest.raises(PathwayError, match="Someone else updated this action"):
        services.action_set_status(
            actor=personas.sam, action=action, status="dropped", expected_version=opened_at
        )
    assert PlanAction.objects.get(pk=action.pk).status == "done"
    with pytest.raises(PathwayError) as raised:
        services.action_set_status(actor=personas.hana, action=done, status="finished", expected_version=None)
    assert raised.value.field == "status"


def test_a_parent_consents_for_an_unborn_child(personas, episode, ashworths):
    from tests.factories import FamilyMemberFactory, PersonFactory

    baby = PersonFactory(
        first_name="Baby", date_of_birth=None, expected_date_of_birth=today() + dt.timedelta(days=60)
    )
    FamilyMemberFactory(family=personas.ashworth, person=baby, start_date=today())
    record = consent(personas, episode, baby, ashworths["Kerry"])
    assert record.given_by == ashworths["Kerry"] and not record.own_consent_competent
