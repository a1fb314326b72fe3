"""The consent, assessment and family plan API (assessments/api/): who may read and act, the consent
rules, optimistic locking (409, nothing overwritten), field errors for bad answers, versions kept on
every completion, sign-off by someone other than the assessor, TAF members updating their own actions,
audit and query budgets.

State is built with the services, as the web pages do: Sam started early help with the Ashworth family
30 days ago (he is the assessor and manages the episode; Chris coordinates its hub), Hana is in its team
and reads it, Alex manages Sam's agency, Morgan (early help manager) and Quinn (auditor) read everything;
Ola (South) and the system administrator see nothing of it.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from assessments import services as assessment_services
from assessments.models import (
    Assessment,
    AssessmentStatus,
    AssessmentVersion,
    ConsentRecord,
    PlanAction,
)
from ehcase.models import AuditAction, AuditEvent, HouseholdRole, Person, Role, User
from ehcase.permissions import grant_family_access
from hubs.models import HubArea
from pathway import services as pathway_services
from pathway.models import Episode, LevelOfNeed
from tests.factories import (
    AgencyFactory,
    FamilyFactory,
    FamilyMemberFactory,
    MembershipFactory,
    consent_everyone,
)

MANAGERS = {"sam.practitioner", "chris.coordinator"}
READERS = {"hana.healthvisitor", "alex.schoolmanager", "morgan.manager", "quinn.auditor"}
OUTSIDERS = {"ola.outsider", "admin"}
PERSONAS = sorted(MANAGERS | READERS | OUTSIDERS)


def today() -> dt.date:
    return timezone.localdate()


def days_ago(n: int) -> dt.date:
    return today() - dt.timedelta(days=n)


def write_status(username: str, success: int) -> int:
    """Those who manage the episode succeed; readers are refused (403); outsiders are told nothing (404)."""
    if username in MANAGERS:
        return success
    return 403 if username in READERS else 404


@pytest.fixture
def api():
    def _api(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return _api


@pytest.fixture
def people(personas) -> dict[str, Person]:
    """The Ashworths: Kerry (parent, 1990), Jayden (child, 2016) and Mia (child, 2019)."""
    return {p.first_name.lower(): p for p in Person.objects.filter(last_name="Ashworth")}


@pytest.fixture
def episode(personas, people) -> Episode:
    """The Ashworth episode Sam started 30 days ago, with Kerry and Hana in its team."""
    episode = pathway_services.episode_start_directly(
        actor=personas.sam,
        family=personas.ashworth,
        level=LevelOfNeed.objects.get(code="3"),
        consent_given_by="Kerry Ashworth",
        consent_on=days_ago(30),
    )
    pathway_services.taf_add_family_member(
        actor=personas.sam, episode=episode, person=people["kerry"], role="Mother", joined_on=days_ago(29)
    )
    pathway_services.taf_add_worker(
        actor=personas.sam, episode=episode, user=personas.hana, role="Health visitor", joined_on=days_ago(29)
    )
    return Episode.objects.get(pk=episode.pk)


@pytest.fixture
def consented(personas, episode) -> Episode:
    consent_everyone(actor=personas.sam, episode=episode, given_on=days_ago(28))
    return episode


@pytest.fixture
def assessment(personas, consented, people) -> Assessment:
    """A draft covering the whole family, dated 10 days ago."""
    return assessment_services.assessment_start(
        actor=personas.sam, episode=consented, members=list(people.values()), assessment_date=days_ago(10)
    )


ANSWERS = {
    "domains": {"child.education": "Jayden misses school on Mondays"},
    "family_view": "Mornings are hard; we want help getting to school",
    "needs": [{"area": "education", "description": "School attendance"}],
    "scores": {"education": 3},
}


def filled(personas, assessment: Assessment) -> Assessment:
    return assessment_services.assessment_save(
        actor=personas.sam, assessment=assessment, expected_version=assessment.version, changes=ANSWERS
    )


def completed(personas, assessment: Assessment) -> Assessment:
    assessment = filled(personas, assessment)
    return assessment_services.assessment_complete(
        actor=personas.sam, assessment=assessment, expected_version=assessment.version
    )


def consent_body(person: Person, given_by: Person, **overrides) -> dict:
    return {
        "person": person.pk,
        "given_by": given_by.pk,
        "given_on": days_ago(3).isoformat(),
        "method": "verbal",
        "agrees_to_sharing": True,
        "sharing_basis": "consent",
        **overrides,
    }


MEMBER_KEY_MESSAGE = "Answer for the family members the assessment covers, by their person id"


def version_of(assessment: Assessment) -> int:
    return Assessment.objects.get(pk=assessment.pk).version


# --- Reads: every persona ---------------------------------------------------------------------------


READ_PATHS = [
    "/api/episodes/{episode}/consents/",
    "/api/consents/{consent}/",
    "/api/episodes/{episode}/assessments/",
    "/api/assessments/{assessment}/",
    "/api/assessments/{assessment}/versions/1/",
    "/api/episodes/{episode}/plan/",
]


@pytest.mark.parametrize("path", READ_PATHS)
@pytest.mark.parametrize("username", PERSONAS)
def test_readers_read_audited_and_outsiders_get_404(personas, api, assessment, username, path):
    completed(personas, assessment)
    url = path.format(
        episode=assessment.episode_id,
        consent=ConsentRecord.objects.filter(episode_id=assessment.episode_id).first().pk,
        assessment=assessment.pk,
    )
    before = AuditEvent.objects.filter(action=AuditAction.VIEW).count()
    response = api(personas.all_users()[username]).get(url)
    if username in OUTSIDERS:
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}
        assert AuditEvent.objects.filter(action=AuditAction.VIEW).count() == before
    else:
        assert response.status_code == 200
        event = AuditEvent.objects.filter(action=AuditAction.VIEW).latest("id")
        assert (event.actor, event.family_id) == (personas.all_users()[username], personas.ashworth.pk)


@pytest.mark.parametrize("path", READ_PATHS)
def test_signed_out_gets_401(personas, api, assessment, path):
    url = path.format(episode=assessment.episode_id, consent=1, assessment=assessment.pk)
    assert api().get(url).status_code == 401


def test_a_family_elsewhere_is_404_even_for_posts(personas, api, assessment, people):
    """Ola works with the Evans family only: every write to the Ashworths' record is a 404, as if it did
    not exist, before any validation."""
    client = api(personas.ola)
    consent = ConsentRecord.objects.filter(episode_id=assessment.episode_id).first()
    e = f"/api/episodes/{assessment.episode_id}"
    for method, path in [
        ("post", f"{e}/consents/"),
        ("post", f"/api/consents/{consent.pk}/withdraw/"),
        ("post", f"{e}/assessments/"),
        ("patch", f"/api/assessments/{assessment.pk}/"),
        ("post", f"/api/assessments/{assessment.pk}/complete/"),
        ("post", f"/api/assessments/{assessment.pk}/decide/"),
        ("post", f"{e}/outcomes/"),
        ("post", f"{e}/actions/"),
    ]:
        response = getattr(client, method)(path, {}, format="json")
        assert response.status_code == 404, (method, path)


# --- Consent ----------------------------------------------------------------------------------------


def test_consent_list_shows_records_but_never_the_evidence(personas, api, episode, people):
    evidence = SimpleUploadedFile("signed-form.pdf", b"%PDF-1.4 secret-bytes", content_type="application/pdf")
    record = assessment_services.consent_record(
        actor=personas.sam,
        episode=episode,
        person=people["kerry"],
        given_by=people["kerry"],
        given_on=days_ago(5),
        method="written",
        agrees_to_sharing=True,
        sharing_basis="public_task",
        evidence=evidence,
    )
    client = api(personas.hana)
    listed = client.get(f"/api/episodes/{episode.pk}/consents/")
    detail = client.get(f"/api/consents/{record.pk}/")
    for response in (listed, detail):
        assert response.status_code == 200
        assert b"secret-bytes" not in response.content
    row = detail.json()
    assert listed.json() == [row]
    assert "evidence" not in row
    assert (row["has_evidence"], row["evidence_name"], row["evidence_type"]) == (
        True,
        "signed-form.pdf",
        "application/pdf",
    )
    assert row["person"] == {"id": people["kerry"].pk, "name": "Kerry Ashworth"}
    assert (row["method"], row["sharing_basis"], row["is_current"]) == ("written", "public_task", True)


def test_manager_records_consent(personas, api, episode, people):
    response = api(personas.sam).post(
        f"/api/episodes/{episode.pk}/consents/", consent_body(people["kerry"], people["kerry"]), format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["given_by"]["name"], body["has_evidence"], body["recorded_by"]["id"]) == (
        "Kerry Ashworth",
        False,
        personas.sam.pk,
    )
    record = ConsentRecord.objects.get(pk=body["id"])
    assert AuditEvent.objects.filter(
        action=AuditAction.CREATE, object_id=str(record.pk), family_id=personas.ashworth.pk
    ).exists()


@pytest.mark.parametrize("username", PERSONAS)
def test_who_may_record_consent(personas, api, episode, people, username):
    response = api(personas.all_users()[username]).post(
        f"/api/episodes/{episode.pk}/consents/", consent_body(people["kerry"], people["kerry"]), format="json"
    )
    assert response.status_code == write_status(username, 201)
    assert ConsentRecord.objects.filter(episode=episode).count() == (username in MANAGERS)


@pytest.mark.parametrize(
    "person, given_by, extra, field, message",
    [
        # Someone outside the family: the same message as an id that does not exist.
        ("kerry", "lee", {}, "given_by", "Select someone in this family"),
        ("lee", "kerry", {}, "person", "Select someone in this family"),
        # A child under 16 consenting for themself needs the competence flag...
        ("jayden", "jayden", {}, "own_consent_competent", "Jayden Ashworth is under 16"),
        # ... or a parent or carer, not a sibling.
        ("jayden", "mia", {}, "given_by", "Consent for a child is given by a parent or carer"),
        # An adult consents for themself.
        ("kerry", "jayden", {}, "given_by", "Kerry Ashworth gives consent for themself"),
        ("kerry", "kerry", {"given_on": "2999-01-01"}, "given_on", "must be today or in the past"),
        ("kerry", "kerry", {"method": "telepathy"}, "method", "Select how consent was given"),
        ("kerry", "kerry", {"sharing_basis": "x"}, "sharing_basis", "Select the lawful basis"),
        ("kerry", "kerry", {"agrees_to_sharing": "yes"}, "agrees_to_sharing", ""),
        ("kerry", "kerry", {"evidence": "JVBERi0="}, "evidence", "Unknown field"),
    ],
)
def test_consent_rules_are_400_at_the_field(
    personas, api, episode, people, person, given_by, extra, field, message
):
    everyone = {**people, "lee": Person.objects.get(first_name="Lee", last_name="Bennett")}
    response = api(personas.sam).post(
        f"/api/episodes/{episode.pk}/consents/",
        consent_body(everyone[person], everyone[given_by], **extra),
        format="json",
    )
    assert response.status_code == 400
    assert message in response.json()[field][0], response.json()
    assert not ConsentRecord.objects.filter(episode=episode).exists()


def test_young_person_consents_for_themself_with_understanding(personas, api, episode, people):
    client = api(personas.sam)
    own = client.post(
        f"/api/episodes/{episode.pk}/consents/",
        consent_body(people["jayden"], people["jayden"], own_consent_competent=True),
        format="json",
    )
    assert own.status_code == 201, own.json()
    assert own.json()["own_consent_competent"] is True
    by_parent = client.post(
        f"/api/episodes/{episode.pk}/consents/", consent_body(people["mia"], people["kerry"]), format="json"
    )
    assert by_parent.status_code == 201, by_parent.json()
    again = client.post(
        f"/api/episodes/{episode.pk}/consents/", consent_body(people["mia"], people["kerry"]), format="json"
    )
    assert again.status_code == 400
    assert again.json() == {"person": ["Consent for Mia Ashworth is already recorded"]}


def test_withdrawal_is_recorded_once(personas, api, consented, people):
    consent = ConsentRecord.objects.get(episode=consented, person=people["mia"])
    client = api(personas.chris)
    path = f"/api/consents/{consent.pk}/withdraw/"
    refused = api(personas.hana).post(
        path, {"withdrawn_on": today().isoformat(), "reason": "x"}, format="json"
    )
    assert refused.status_code == 403
    blank = client.post(path, {"withdrawn_on": today().isoformat(), "reason": " "}, format="json")
    assert blank.status_code == 400
    assert "reason" in blank.json()
    response = client.post(
        path, {"withdrawn_on": today().isoformat(), "reason": "Kerry said no"}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["is_current"], body["withdrawn_on"], body["withdrawal_reason"]) == (
        False,
        today().isoformat(),
        "Kerry said no",
    )
    assert body["withdrawal_recorded_by"] == {"id": personas.chris.pk, "name": "Chris Okafor"}
    again = client.post(path, {"withdrawn_on": today().isoformat(), "reason": "Again"}, format="json")
    assert again.status_code == 400
    assert again.json() == {"non_field_errors": ["This consent has already been withdrawn"]}


# --- Starting an assessment -------------------------------------------------------------------------


def test_start_is_refused_without_consent_naming_who(personas, api, episode, people):
    assessment_services.consent_record(
        actor=personas.sam,
        episode=episode,
        person=people["kerry"],
        given_by=people["kerry"],
        given_on=days_ago(5),
        method="verbal",
        agrees_to_sharing=True,
        sharing_basis="consent",
    )
    response = api(personas.sam).post(
        f"/api/episodes/{episode.pk}/assessments/",
        {"members": [people["kerry"].pk, people["jayden"].pk], "assessment_date": days_ago(2).isoformat()},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "members": ["Record consent for Jayden Ashworth before starting the assessment"]
    }
    assert not Assessment.objects.exists()


@pytest.mark.parametrize("username", PERSONAS)
def test_who_may_start_an_assessment(personas, api, consented, people, username):
    # Chris manages the episode but is not a practitioner: an assessment is a practitioner's work.
    response = api(personas.all_users()[username]).post(
        f"/api/episodes/{consented.pk}/assessments/",
        {"members": [people["kerry"].pk], "assessment_date": days_ago(2).isoformat()},
        format="json",
    )
    expected = 201 if username == "sam.practitioner" else 403 if username in MANAGERS | READERS else 404
    assert response.status_code == expected


def test_started_assessment_carries_its_form_and_members(personas, api, consented, people):
    response = api(personas.sam).post(
        f"/api/episodes/{consented.pk}/assessments/",
        {"members": [people["kerry"].pk, people["mia"].pk], "assessment_date": days_ago(2).isoformat()},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["version"], body["can_edit"], body["can_decide"]) == (
        "draft",
        1,
        True,
        False,
    )
    assert body["assessor"] == {"id": personas.sam.pk, "name": "Sam Patel"}
    assert {m["name"] for m in body["members"]} == {"Kerry Ashworth", "Mia Ashworth"}
    assert body["template_version"] == body["template"]["version"]
    assert [d["code"] for d in body["template"]["domains"]] == ["child", "parenting", "family"]
    assert body["content"] == {
        "domains": {},
        "members": {},
        "child_voice": {},
        "family_view": "",
        "needs": [],
        "scores": {},
    }
    assert body["versions"] == []
    listed = api(personas.quinn).get(f"/api/episodes/{consented.pk}/assessments/").json()
    assert [(row["id"], row["status"]) for row in listed] == [(body["id"], "draft")]


# --- Saving: optimistic locking and field errors ----------------------------------------------------


def test_assessor_saves_parts_and_the_rest_is_kept(personas, api, assessment, people):
    client = api(personas.sam)
    path = f"/api/assessments/{assessment.pk}/"
    jayden = str(people["jayden"].pk)
    first = client.patch(
        path,
        {
            "version": 1,
            "content": {"members": {jayden: {"strengths": "Loves football"}}, "scores": {"health": 4}},
        },
        format="json",
    )
    assert first.status_code == 200, first.json()
    second = client.patch(
        path,
        {
            "version": 2,
            "content": {"members": {jayden: {"needs": "Sleep"}}, "child_voice": {jayden: "I like PE"}},
        },
        format="json",
    )
    assert second.status_code == 200, second.json()
    body = second.json()
    assert body["version"] == 3
    assert body["content"]["members"] == {jayden: {"strengths": "Loves football", "needs": "Sleep"}}
    assert (body["content"]["child_voice"], body["content"]["scores"]) == (
        {jayden: "I like PE"},
        {"health": 4},
    )


@pytest.mark.parametrize("username", PERSONAS)
def test_only_the_assessor_saves(personas, api, assessment, username):
    response = api(personas.all_users()[username]).patch(
        f"/api/assessments/{assessment.pk}/",
        {"version": 1, "content": {"family_view": "Hello"}},
        format="json",
    )
    # Chris may change the family's record, but the assessment is the assessor's work.
    expected = 200 if username == "sam.practitioner" else 403 if username in MANAGERS | READERS else 404
    assert response.status_code == expected
    assert (Assessment.objects.get(pk=assessment.pk).content.get("family_view") == "Hello") is (
        expected == 200
    )


def test_stale_version_is_409_and_nothing_is_overwritten(personas, api, assessment):
    client = api(personas.sam)
    path = f"/api/assessments/{assessment.pk}/"
    # Two tabs open the assessment at version 1; the first saves.
    first = client.patch(path, {"version": 1, "content": {"family_view": "First words"}}, format="json")
    assert first.status_code == 200
    stale = client.patch(path, {"version": 1, "content": {"family_view": "Second words"}}, format="json")
    assert stale.status_code == 409
    assert stale.json() == {
        "detail": "Someone else saved this assessment after you opened it. "
        "Your answers have not been saved yet."
    }
    current = client.get(path).json()
    assert (current["content"]["family_view"], current["version"]) == ("First words", 2)


def test_version_is_required_to_save(personas, api, assessment):
    response = api(personas.sam).patch(
        f"/api/assessments/{assessment.pk}/", {"content": {"family_view": "x"}}, format="json"
    )
    assert response.status_code == 400
    assert "version" in response.json()


@pytest.mark.parametrize("score", [11, -1, 5.5, "7", True])
def test_score_outside_0_to_10_is_400_at_the_field(personas, api, assessment, score):
    response = api(personas.sam).patch(
        f"/api/assessments/{assessment.pk}/",
        {"version": 1, "content": {"scores": {"education": score}, "family_view": "Kept?"}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "content": {"scores": {"education": ["Score must be a whole number from 0 to 10"]}}
    }
    # Nothing of the request was saved, and the version did not move.
    saved = Assessment.objects.get(pk=assessment.pk)
    assert (saved.content, saved.version) == ({}, 1)


@pytest.mark.parametrize(
    "content, error",
    [
        # The service's rules, at the path of the answer they concern.
        ({"scores": {"astrology": 5}}, {"scores": {"astrology": ["That outcome area does not exist"]}}),
        (
            {"domains": {"child.astrology": "x"}},
            {"domains": {"child.astrology": ["That part of the assessment form does not exist"]}},
        ),
        (
            {"needs": [{"area": "nowhere", "description": "x"}]},
            {"needs": {"0": {"area": ["Select the outcome the need is about"]}}},
        ),
        (
            {"needs": [{"area": "education", "description": ""}]},
            {"needs": {"0": {"description": ["Describe the need"]}}},
        ),
        ({"horoscope": "Leo"}, {"horoscope": ["Unknown part of the assessment: horoscope"]}),
        ({"members": {"abc": {"strengths": "x"}}}, {"members": [MEMBER_KEY_MESSAGE]}),
        ({"members": {"1": {"hobbies": "x"}}}, None),
    ],
)
def test_bad_answers_are_400_under_content(personas, api, assessment, content, error):
    response = api(personas.sam).patch(
        f"/api/assessments/{assessment.pk}/", {"version": 1, "content": content}, format="json"
    )
    assert response.status_code == 400, response.json()
    if error is not None:
        assert response.json() == {"content": error}
    assert Assessment.objects.get(pk=assessment.pk).version == 1


def test_over_long_answer_is_400_at_the_field_and_nothing_is_lost(personas, api, assessment):
    client = api(personas.sam)
    path = f"/api/assessments/{assessment.pk}/"
    assert (
        client.patch(
            path, {"version": 1, "content": {"family_view": "Saved earlier"}}, format="json"
        ).status_code
        == 200
    )
    too_long = "x" * 4001
    response = client.patch(
        path,
        {"version": 2, "content": {"family_view": too_long, "domains": {"child.health": too_long}}},
        format="json",
    )
    assert response.status_code == 400
    message = ["Answer must be 4,000 characters or fewer (you entered 4,001)"]
    assert response.json() == {"content": {"family_view": message, "domains": {"child.health": message}}}
    saved = Assessment.objects.get(pk=assessment.pk)
    assert (saved.content["family_view"], saved.version) == ("Saved earlier", 2)


def test_answers_only_for_members_covered(personas, api, consented, people):
    assessment = assessment_services.assessment_start(
        actor=personas.sam, episode=consented, members=[people["kerry"]], assessment_date=days_ago(3)
    )
    client = api(personas.sam)
    mia = str(people["mia"].pk)
    refused = client.patch(
        f"/api/assessments/{assessment.pk}/",
        {"version": 1, "content": {"child_voice": {mia: "Hi"}}},
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json() == {
        "content": {"child_voice": ["Answer only for family members the assessment covers"]}
    }
    # Adding Mia to the assessment in the same request makes her answers welcome.
    accepted = client.patch(
        f"/api/assessments/{assessment.pk}/",
        {
            "version": 1,
            "members": [people["kerry"].pk, people["mia"].pk],
            "content": {"child_voice": {mia: "Hi"}},
        },
        format="json",
    )
    assert accepted.status_code == 200, accepted.json()
    assert len(accepted.json()["members"]) == 2


def test_unknown_top_level_field_is_400(personas, api, assessment):
    response = api(personas.sam).patch(
        f"/api/assessments/{assessment.pk}/",
        {"version": 1, "family_view": "Top level by mistake"},
        format="json",
    )
    assert response.status_code == 400
    assert "family_view" in response.json()
    assert Assessment.objects.get(pk=assessment.pk).version == 1


# --- Completion, sign-off and versions --------------------------------------------------------------


def test_completion_lists_every_problem(personas, api, assessment):
    response = api(personas.sam).post(
        f"/api/assessments/{assessment.pk}/complete/", {"version": 1}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "content": {
            "domains": ["Answer at least one part of the assessment domains"],
            "family_view": ["Enter the family's view"],
            "needs": ["Add at least one identified need"],
            "scores": ["Enter a baseline score for at least one outcome area"],
        }
    }
    assert Assessment.objects.get(pk=assessment.pk).status == AssessmentStatus.DRAFT


def test_completion_says_whose_consent_is_missing(personas, api, assessment, people):
    filled(personas, assessment)
    consent = ConsentRecord.objects.get(episode_id=assessment.episode_id, person=people["mia"])
    assessment_services.consent_withdraw(
        actor=personas.sam, consent=consent, withdrawn_on=today(), reason="No"
    )
    response = api(personas.sam).post(
        f"/api/assessments/{assessment.pk}/complete/", {"version": version_of(assessment)}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "members": ["Record consent for Mia Ashworth before completing the assessment"]
    }


def test_stale_completion_is_409(personas, api, assessment):
    filled(personas, assessment)
    response = api(personas.sam).post(
        f"/api/assessments/{assessment.pk}/complete/", {"version": 1}, format="json"
    )
    assert response.status_code == 409
    assert not AssessmentVersion.objects.exists()


def test_every_completion_keeps_a_readable_version(personas, api, assessment):
    sam, alex = api(personas.sam), api(personas.alex)
    path = f"/api/assessments/{assessment.pk}/"
    filled(personas, assessment)
    done = sam.post(f"{path}complete/", {"version": version_of(assessment)}, format="json")
    assert done.status_code == 200, done.json()
    assert (done.json()["status"], [v["number"] for v in done.json()["versions"]]) == ("completed", [1])
    # Completed: the assessor can no longer change it.
    locked = sam.patch(
        path, {"version": version_of(assessment), "content": {"family_view": "x"}}, format="json"
    )
    assert locked.status_code == 400
    # Alex (manager of Sam's agency) returns it with comments; a return needs them.
    assert alex.post(f"{path}decide/", {"decision": "return"}, format="json").json() == {
        "comments": ["Enter what the assessor needs to change"]
    }
    returned = alex.post(
        f"{path}decide/", {"decision": "return", "comments": "Add the school's view"}, format="json"
    )
    assert returned.status_code == 200, returned.json()
    assert returned.json()["status"] == "returned"
    # Sam changes the answers and completes it again: version 2.
    changed = sam.patch(
        path,
        {"version": version_of(assessment), "content": {"family_view": "The school sees progress"}},
        format="json",
    )
    assert changed.status_code == 200, changed.json()
    again = sam.post(f"{path}complete/", {"version": version_of(assessment)}, format="json")
    assert again.status_code == 200, again.json()
    versions = again.json()["versions"]
    assert [(v["number"], v["outcome"], v["comments"]) for v in versions] == [
        (1, "returned", "Add the school's view"),
        (2, None, ""),
    ]
    first = api(personas.quinn).get(f"{path}versions/1/")
    assert first.status_code == 200
    assert first.json()["content"]["family_view"] == ANSWERS["family_view"]
    assert first.json()["decided_by"] == {"id": personas.alex.pk, "name": "Alex Reid"}
    assert {m["name"] for m in first.json()["members"]} == {
        "Kerry Ashworth",
        "Jayden Ashworth",
        "Mia Ashworth",
    }
    second = api(personas.quinn).get(f"{path}versions/2/").json()
    assert second["content"]["family_view"] == "The school sees progress"
    assert api(personas.quinn).get(f"{path}versions/3/").status_code == 404
    assert api(personas.quinn).get(f"{path}versions/one/").status_code == 404
    assert api(personas.quinn).get(f"{path}versions/99999999999999999999/").status_code == 404


def test_assessor_cannot_decide_their_own(personas, api, assessment):
    completed(personas, assessment)
    response = api(personas.sam).post(
        f"/api/assessments/{assessment.pk}/decide/", {"decision": "sign_off"}, format="json"
    )
    assert response.status_code == 403
    assert response.json() == {
        "detail": "You cannot sign off an assessment you completed yourself: ask a manager"
    }
    assert Assessment.objects.get(pk=assessment.pk).status == AssessmentStatus.COMPLETED


def _agency_manager(agency=None):
    return MembershipFactory(role=Role.AGENCY_MANAGER, **({"agency": agency} if agency else {})).user


@pytest.mark.parametrize(
    "who, expected",
    [
        ("alex.schoolmanager", 200),  # manages Sam's agency
        ("morgan.manager", 200),  # early help manager
        ("sam.practitioner", 403),  # the assessor
        ("chris.coordinator", 403),  # manages the episode, but is not a manager
        ("hana.healthvisitor", 403),
        ("quinn.auditor", 403),
        ("health visiting manager", 403),  # sees the family through Hana, but Sam is not theirs
        ("uninvolved manager", 404),  # a manager of an agency not working with the family
        ("ola.outsider", 404),
        ("admin", 404),
    ],
)
def test_who_may_sign_off(personas, api, assessment, who, expected):
    completed(personas, assessment)
    users = {
        **personas.all_users(),
        "health visiting manager": _agency_manager(personas.health_visiting),
        "uninvolved manager": _agency_manager(AgencyFactory(name="Hexham Youth Club")),
    }
    response = api(users[who]).post(
        f"/api/assessments/{assessment.pk}/decide/", {"decision": "sign_off"}, format="json"
    )
    assert response.status_code == expected
    saved = Assessment.objects.get(pk=assessment.pk)
    assert (saved.status == AssessmentStatus.SIGNED_OFF) is (expected == 200)
    if expected == 200:
        assert response.json()["signed_off_by"] == {"id": users[who].pk, "name": users[who].display_name}


def test_decision_with_a_stale_version_is_409(personas, api, assessment):
    completed(personas, assessment)
    response = api(personas.morgan).post(
        f"/api/assessments/{assessment.pk}/decide/", {"decision": "sign_off", "version": 1}, format="json"
    )
    assert response.status_code == 409
    assert Assessment.objects.get(pk=assessment.pk).status == AssessmentStatus.COMPLETED


# --- The family plan --------------------------------------------------------------------------------


def add_action(personas, episode, *, due=7, **owner) -> PlanAction:
    return assessment_services.action_add(
        actor=personas.sam,
        episode=episode,
        description="Walk to school",
        due_on=today() + dt.timedelta(days=due),
        **owner,
    )


def test_plan_shows_outcomes_with_their_actions(personas, api, episode, people):
    outcome = assessment_services.plan_outcome_add(
        actor=personas.sam, episode=episode, wording="Jayden gets to school on time", said_by=people["kerry"]
    )
    linked = assessment_services.action_add(
        actor=personas.sam,
        episode=episode,
        description="Morning routine chart",
        due_on=today(),
        owner_person=people["kerry"],
        outcome=outcome,
    )
    unlinked = add_action(personas, episode, owner_user=personas.hana)
    body = api(personas.hana).get(f"/api/episodes/{episode.pk}/plan/").json()
    assert body["can_manage"] is False
    [row] = body["outcomes"]
    assert (row["wording"], row["said_by"]["name"], row["version"]) == (
        "Jayden gets to school on time",
        "Kerry Ashworth",
        1,
    )
    assert [(a["id"], a["owner"], a["can_update"]) for a in row["actions"]] == [
        (linked.pk, {"kind": "person", "id": people["kerry"].pk, "name": "Kerry Ashworth"}, False)
    ]
    # Hana may update her own action, not Kerry's.
    assert [(a["id"], a["owner"]["kind"], a["can_update"]) for a in body["unlinked_actions"]] == [
        (unlinked.pk, "user", True)
    ]


@pytest.mark.parametrize("username", PERSONAS)
def test_who_may_add_outcomes_and_actions(personas, api, episode, people, username):
    client = api(personas.all_users()[username])
    outcome = client.post(
        f"/api/episodes/{episode.pk}/outcomes/",
        {"wording": "Calmer mornings", "said_by": people["kerry"].pk},
        format="json",
    )
    assert outcome.status_code == write_status(username, 201)
    action = client.post(
        f"/api/episodes/{episode.pk}/actions/",
        {
            "description": "Bedtime routine",
            "owner": {"person": people["kerry"].pk},
            "due_on": today().isoformat(),
        },
        format="json",
    )
    assert action.status_code == write_status(username, 201)


@pytest.mark.parametrize(
    "owner, kind",
    [("user", "user"), ("agency", "agency"), ("person", "person")],
)
def test_action_owner_is_a_practitioner_agency_or_family_member(personas, api, episode, people, owner, kind):
    ids = {"user": personas.hana.pk, "agency": personas.health_visiting.pk, "person": people["mia"].pk}
    response = api(personas.sam).post(
        f"/api/episodes/{episode.pk}/actions/",
        {"description": "Health check", "owner": {owner: ids[owner]}, "due_on": today().isoformat()},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert (response.json()["owner"]["kind"], response.json()["owner"]["id"], response.json()["status"]) == (
        kind,
        ids[owner],
        "not_started",
    )


@pytest.mark.parametrize(
    "owner, message",
    [
        ({}, "Select who owns the action"),
        ("two", "Select who owns the action"),
        ({"user": "ola"}, "Incorrect type"),
        ({"nobody": 1}, "Unknown field"),
    ],
)
def test_action_needs_exactly_one_owner(personas, api, episode, owner, message):
    if owner == "two":
        owner = {"user": personas.sam.pk, "person": Person.objects.get(first_name="Kerry").pk}
    response = api(personas.sam).post(
        f"/api/episodes/{episode.pk}/actions/",
        {"description": "x", "owner": owner, "due_on": today().isoformat()},
        format="json",
    )
    assert response.status_code == 400
    assert message in str(response.json()["owner"])


def test_action_owner_from_outside_the_team_is_refused(personas, api, episode):
    # Ola is a practitioner who cannot see the family: she cannot be given its actions either.
    response = api(personas.sam).post(
        f"/api/episodes/{episode.pk}/actions/",
        {"description": "x", "owner": {"user": personas.ola.pk}, "due_on": today().isoformat()},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"owner": {"user": ["Select a practitioner from the family's team"]}}


def test_action_due_before_the_assessment_date_is_400_at_due_on(personas, api, assessment, people):
    # The assessment is dated 10 days ago; the episode opened 30 days ago.
    response = api(personas.sam).post(
        f"/api/episodes/{assessment.episode_id}/actions/",
        {
            "description": "Walk to school",
            "owner": {"person": people["kerry"].pk},
            "due_on": days_ago(20).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 400
    expected = f"Due date must be on or after the date of the assessment ({days_ago(10):%-d %B %Y})"
    assert response.json() == {"due_on": [expected]}
    assert not PlanAction.objects.exists()


def test_outcome_changes_need_the_current_version(personas, api, episode, people):
    outcome = assessment_services.plan_outcome_add(
        actor=personas.sam, episode=episode, wording="Calmer mornings"
    )
    client = api(personas.chris)
    path = f"/api/outcomes/{outcome.pk}/"
    changed = client.patch(
        path, {"version": 1, "achieved": True, "area": "family_relationships"}, format="json"
    )
    assert changed.status_code == 200, changed.json()
    assert (
        changed.json()["achieved"],
        changed.json()["area"],
        changed.json()["wording"],
        changed.json()["version"],
    ) == (
        True,
        "family_relationships",
        "Calmer mornings",
        2,
    )
    stale = client.patch(path, {"version": 1, "wording": "Overwritten?"}, format="json")
    assert stale.status_code == 409
    assert api(personas.hana).patch(path, {"version": 2, "achieved": False}, format="json").status_code == 403
    assert api(personas.ola).patch(path, {"version": 2, "achieved": False}, format="json").status_code == 404
    long = client.patch(path, {"version": 2, "wording": "x" * 501}, format="json")
    assert long.json() == {"wording": ["Outcome must be 500 characters or fewer"]}


@pytest.mark.parametrize(
    "username, own, expected",
    [
        ("hana.healthvisitor", True, 200),  # a TAF member updates her own action...
        ("hana.healthvisitor", False, 403),  # ... but not someone else's
        ("sam.practitioner", False, 200),  # the lead professional / assessor updates any
        ("chris.coordinator", False, 200),
        ("alex.schoolmanager", False, 403),
        ("morgan.manager", False, 403),
        ("quinn.auditor", False, 403),
        ("ola.outsider", False, 404),
        ("admin", False, 404),
    ],
)
def test_who_may_update_an_action(personas, api, episode, people, username, own, expected):
    action = add_action(
        personas, episode, **({"owner_user": personas.hana} if own else {"owner_person": people["kerry"]})
    )
    response = api(personas.all_users()[username]).patch(
        f"/api/actions/{action.pk}/", {"status": "in_progress", "version": 1}, format="json"
    )
    assert response.status_code == expected
    action.refresh_from_db()
    assert (action.status == "in_progress") is (expected == 200)
    if expected == 200:
        assert (response.json()["version"], response.json()["can_update"]) == (2, True)


def test_action_update_with_a_stale_version_is_409(personas, api, episode):
    action = add_action(personas, episode, owner_user=personas.hana)
    client = api(personas.hana)
    assert (
        client.patch(
            f"/api/actions/{action.pk}/", {"status": "done", "version": 1}, format="json"
        ).status_code
        == 200
    )
    stale = client.patch(f"/api/actions/{action.pk}/", {"status": "dropped", "version": 1}, format="json")
    assert stale.status_code == 409
    assert "Someone else updated this action" in stale.json()["detail"]
    action.refresh_from_db()
    assert (action.status, action.version) == ("done", 2)
    bad = client.patch(f"/api/actions/{action.pk}/", {"status": "finished", "version": 2}, format="json")
    assert bad.json() == {"status": ["Select the action's status"]}


# --- Query budgets ----------------------------------------------------------------------------------


def _worked_family(personas, *, adults: int):
    """A North hub family with `adults` adults, Sam's episode with it, and Sam and Hana able to see it."""
    family = FamilyFactory(area=HubArea.objects.get(name="Morpeth"))
    members = [
        FamilyMemberFactory(
            family=family, role=HouseholdRole.PARENT_CARER, person__date_of_birth=dt.date(1980, 1, 1)
        )
        for _ in range(adults)
    ]
    grant_family_access(user=personas.sam, family=family, change=True)
    episode = pathway_services.episode_start_directly(
        actor=personas.sam,
        family=family,
        level=LevelOfNeed.objects.get(code="3"),
        consent_given_by="The family",
        consent_on=days_ago(30),
    )
    return episode, [m.person for m in members]


def _plan_with(personas, *, actions: int) -> Episode:
    episode, adults = _worked_family(personas, adults=1)
    outcomes = [
        assessment_services.plan_outcome_add(actor=personas.sam, episode=episode, wording=f"Outcome {n}")
        for n in range(2)
    ]
    owners = [{"owner_user": personas.sam}, {"owner_agency": personas.riverside}, {"owner_person": adults[0]}]
    for n in range(actions):
        assessment_services.action_add(
            actor=personas.sam,
            episode=episode,
            description=f"Action {n}",
            due_on=today(),
            outcome=outcomes[n % 2] if n % 3 else None,
            **owners[n % 3],
        )
    return episode


def test_plan_query_budget_is_flat(personas, api, django_assert_num_queries):
    one, twenty = _plan_with(personas, actions=1), _plan_with(personas, actions=20)
    for episode, count in ((one, 1), (twenty, 20)):
        # A fresh user object, as each request has: roles are cached on it once read.
        client = api(User.objects.get(pk=personas.sam.pk))
        # 1. the episode's family id (episode_for_user)
        # 2. memberships, 3. their hubs (roles_for)
        # 4. the family, if visible, and whether Sam may change it (family_for_user)
        # 5. the episode with level, lead professional and assessor
        # 6. INSERT the audit event
        # 7. the outcomes with who said them and their area
        # 8. their actions with each owner (user, agency, person), prefetched
        # 9. the actions tied to no outcome, with their owners
        with django_assert_num_queries(9):
            response = client.get(f"/api/episodes/{episode.pk}/plan/")
        body = response.json()
        assert sum(len(o["actions"]) for o in body["outcomes"]) + len(body["unlinked_actions"]) == count


def test_consent_list_query_budget_is_flat(personas, api, django_assert_num_queries):
    for adults in (1, 20):
        # A fresh user object, as each request has: roles are cached on it once read.
        client = api(User.objects.get(pk=personas.sam.pk))
        episode, people = _worked_family(personas, adults=adults)
        for person in people:
            assessment_services.consent_record(
                actor=personas.sam,
                episode=episode,
                person=person,
                given_by=person,
                given_on=days_ago(3),
                method="written",
                agrees_to_sharing=True,
                sharing_basis="consent",
            )
        # 1. the episode's family id (episode_for_user)
        # 2. memberships, 3. their hubs (roles_for)
        # 4. the family, if visible (family_for_user)
        # 5. the episode with level, lead professional and assessor
        # 6. INSERT the audit event
        # 7. the consent records with the people and workers named on them (evidence left unread)
        with django_assert_num_queries(7):
            response = client.get(f"/api/episodes/{episode.pk}/consents/")
        assert len(response.json()) == adults
