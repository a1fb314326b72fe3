"""Who may act on consent, the assessment and the plan (assessments.permissions): outsiders get 404, people
who can see the family but may not act get 403, and the assessor never signs off their own assessment."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from assessments import permissions, services
from ehcase.models import Agency, AgencyType, Membership, Role
from pathway import services as pathway_services
from pathway.models import LevelOfNeed
from tests.factories import UserFactory, consent_everyone

pytestmark = pytest.mark.django_db


def days_ago(n: int) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=n)


@pytest.fixture
def episode(personas):
    """The Ashworths' episode: Sam assesses, Hana is in the team (read access), everyone consented."""
    episode = pathway_services.episode_open(
        actor=personas.chris,
        family=personas.ashworth,
        source="triage",
        level=LevelOfNeed.objects.get(code="3"),
        opened_on=days_ago(30),
        reason="Hub triage",
        assessor=personas.sam,
    )
    pathway_services.taf_add_worker(
        actor=personas.sam, episode=episode, user=personas.hana, role="Health visitor", joined_on=days_ago(29)
    )
    consent_everyone(actor=personas.sam, episode=episode, given_on=days_ago(28))
    return episode


@pytest.fixture
def completed(personas, episode):
    members = [m.person for m in personas.ashworth.members.select_related("person")]
    draft = services.assessment_start(
        actor=personas.sam, episode=episode, members=members, assessment_date=days_ago(20)
    )
    draft = services.assessment_save(
        actor=personas.sam,
        assessment=draft,
        expected_version=draft.version,
        changes={
            "domains": {"child.education": "Attendance 81%"},
            "family_view": "Calmer mornings",
            "needs": [{"area": "education", "description": "Attendance"}],
            "scores": {"education": 3},
        },
    )
    return services.assessment_complete(actor=personas.sam, assessment=draft, expected_version=draft.version)


@pytest.fixture
def uninvolved_manager(personas):
    """A manager of a North agency none of whose practitioners work with the Ashworths."""
    agency = Agency.objects.create(name="Northgate Housing", type=AgencyType.HOUSING)
    personas.north.member_agencies.add(agency)
    manager = UserFactory(username="una.housingmanager")
    Membership.objects.create(user=manager, agency=agency, role=Role.AGENCY_MANAGER)
    Membership.objects.create(user=UserFactory(), agency=agency, role=Role.PRACTITIONER)
    return manager


def reloaded(user, assessment):
    """The assessment as the access layer hands it to this user (fresh roles, no cached access)."""
    return permissions.assessment_for_user(user=user, assessment_id=assessment.pk)


@pytest.mark.parametrize(
    "who,expected",
    [
        ("alex", True),  # manager of Riverside, Sam's agency
        ("morgan", True),  # early help manager
        ("sam", False),  # the assessor
        ("hana", False),  # a practitioner in the team
        ("chris", False),  # the hub coordinator
        ("quinn", False),  # the quality auditor reads only
    ],
)
def test_who_can_sign_off(personas, completed, who, expected):
    user = getattr(personas, who)
    assessment = reloaded(user, completed)
    assert permissions.can_sign_off(user=user, assessment=assessment) is expected
    if expected:
        permissions.require_sign_off(user=user, assessment=assessment)
    else:
        with pytest.raises(PermissionDenied):
            permissions.require_sign_off(user=user, assessment=assessment)


def test_a_manager_of_an_uninvolved_agency_cannot_sign_off(personas, completed, uninvolved_manager):
    assert permissions.can_sign_off(user=uninvolved_manager, assessment=completed) is False
    with pytest.raises(PermissionDenied):
        permissions.require_sign_off(user=uninvolved_manager, assessment=completed)
    # ...nor even see it: their practitioners have no grant on the family.
    with pytest.raises(Http404):
        permissions.assessment_for_user(user=uninvolved_manager, assessment_id=completed.pk)


def test_a_manager_of_the_assessors_agency_loses_sign_off_if_the_assessor_moves(personas, completed):
    Membership.objects.filter(user=personas.sam, agency=personas.riverside).delete()
    assert permissions.can_sign_off(user=personas.alex, assessment=completed) is False
    assert permissions.can_sign_off(user=personas.morgan, assessment=completed) is True


@pytest.mark.parametrize(
    "who,expected",
    [("sam", True), ("hana", False), ("chris", False), ("alex", False), ("morgan", False), ("quinn", False)],
)
def test_only_the_assessor_edits_the_assessment(personas, completed, who, expected):
    user = getattr(personas, who)
    assessment = reloaded(user, completed)
    assert permissions.can_edit_assessment(user=user, assessment=assessment) is expected
    if not expected:
        with pytest.raises(PermissionDenied):
            permissions.require_edit_assessment(user=user, assessment=assessment)


def test_an_assessor_who_loses_change_rights_can_no_longer_edit(personas, completed):
    from ehcase.permissions import revoke_family_access

    revoke_family_access(user=personas.sam, family=personas.ashworth)
    assert permissions.can_edit_assessment(user=personas.sam, assessment=completed) is False


@pytest.mark.parametrize("who", ["ola", "admin"])
def test_outsiders_get_404_for_every_object(personas, completed, who):
    user = getattr(personas, who)
    consent = completed.episode.consents.first()
    outcome = services.plan_outcome_add(
        actor=personas.sam, episode=completed.episode, wording="Calm mornings"
    )
    action = services.action_add(
        actor=personas.sam,
        episode=completed.episode,
        description="Visit",
        due_on=timezone.localdate(),
        owner_user=personas.hana,
        outcome=outcome,
    )
    for lookup, pk in (
        (permissions.assessment_for_user, {"assessment_id": completed.pk}),
        (permissions.consent_for_user, {"consent_id": consent.pk}),
        (permissions.outcome_for_user, {"outcome_id": outcome.pk}),
        (permissions.action_for_user, {"action_id": action.pk}),
    ):
        with pytest.raises(Http404):
            lookup(user=user, **pk)
    # Team members see each of them.
    assert permissions.consent_for_user(user=personas.hana, consent_id=consent.pk) == consent
    assert permissions.outcome_for_user(user=personas.hana, outcome_id=outcome.pk) == outcome
    assert permissions.action_for_user(user=personas.hana, action_id=action.pk) == action


@pytest.mark.parametrize("bad", ["abc", None, "", "1.5", 10**12])
def test_lookups_of_nonsense_ids_are_404(personas, bad):
    for lookup, key in (
        (permissions.assessment_for_user, "assessment_id"),
        (permissions.consent_for_user, "consent_id"),
        (permissions.outcome_for_user, "outcome_id"),
        (permissions.action_for_user, "action_id"),
    ):
        with pytest.raises(Http404):
            lookup(user=personas.morgan, **{key: bad})


def test_consent_is_recorded_by_those_who_manage_the_episode(personas, episode):
    for user in (personas.sam, personas.chris):
        permissions.require_record_consent(user=user, episode=episode)
    for user in (personas.hana, personas.alex, personas.morgan, personas.quinn):
        with pytest.raises(PermissionDenied):
            permissions.require_record_consent(user=user, episode=episode)


def test_an_assessment_is_started_by_a_practitioner_who_manages_the_episode(personas, episode):
    permissions.require_start_assessment(user=personas.sam, episode=episode)
    # The coordinator manages the episode but is not a practitioner; Hana is a practitioner reading only.
    for user in (personas.chris, personas.hana, personas.morgan):
        with pytest.raises(PermissionDenied):
            permissions.require_start_assessment(user=user, episode=episode)


def test_an_actions_owner_and_the_lead_update_it_and_nobody_else(personas, completed):
    action = services.action_add(
        actor=personas.sam,
        episode=completed.episode,
        description="Health visitor to visit",
        due_on=timezone.localdate(),
        owner_user=personas.hana,
    )
    for user in (personas.hana, personas.sam, personas.chris):
        permissions.require_update_action(
            user=user, action=permissions.action_for_user(user=user, action_id=action.pk)
        )
    for user in (personas.alex, personas.morgan, personas.quinn):
        with pytest.raises(PermissionDenied):
            permissions.require_update_action(
                user=user, action=permissions.action_for_user(user=user, action_id=action.pk)
            )
