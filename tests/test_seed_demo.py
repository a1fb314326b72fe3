"""seed_demo: the demo county around the personas, the large tier, and the rules they keep."""

import datetime as dt
import io
from collections import Counter, defaultdict

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.test import override_settings
from django.utils import timezone

from assessments import demo as assessments_demo
from assessments.models import (
    ActionStatus,
    Assessment,
    AssessmentStatus,
    AssessmentTemplate,
    AssessmentVersion,
    ConsentRecord,
    PlanAction,
    PlanOutcome,
)
from assessments.permissions import can_sign_off
from ehcase import codes, seeding
from ehcase.demo import DEMO_PASSWORD, build_personas
from ehcase.models import (
    Agency,
    AgencyType,
    AuditAction,
    AuditEvent,
    Family,
    FamilyMember,
    FamilyUserObjectPermission,
    HouseholdRole,
    Membership,
    Person,
    Relationship,
    Role,
    User,
)
from ehcase.permissions import families_visible_to
from ehcase.validators import nhs_number_is_valid, validate_upn
from hubs.demo import seed_requests
from hubs.models import Hub, HubArea, RequestForSupport, RequestStatus, TriageDecision, TriageOutcome
from hubs.permissions import requests_visible_to
from hubs.referral_forms import SOURCE_FOR_AGENCY_TYPE
from pathway.models import (
    ChronologyEntry,
    ChronologyKind,
    ClaimStatus,
    ClosureReason,
    Episode,
    EpisodeSource,
    EpisodeStatus,
    EpisodeTransition,
    IdentifiedNeed,
    LeadProfessional,
    LevelChange,
    MeetingAttendance,
    MeetingStatus,
    OutcomeScore,
    Review,
    ReviewDecision,
    SupportingFamiliesClaim,
    TafMeeting,
    TafMember,
)
from pathway.selectors import my_work
from tests.test_access import ANCHORS, EXPECTED

pytestmark = pytest.mark.django_db
COUNTY_REF = r"^F-D[0-9]{6}$"  # the anchors are F-DEMO...

ANCHOR_GRANTS = {
    ("ashworth", "sam.practitioner", "view_family"),
    ("ashworth", "sam.practitioner", "change_family"),
    ("ashworth", "hana.healthvisitor", "view_family"),
    ("bennett", "sam.practitioner", "view_family"),
    ("bennett", "sam.practitioner", "change_family"),
    ("carter", "hana.healthvisitor", "view_family"),
    ("carter", "hana.healthvisitor", "change_family"),
    ("evans", "ola.outsider", "view_family"),
    ("evans", "ola.outsider", "change_family"),
}


def seed(**options) -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            Agency,
            User,
            Membership,
            Hub,
            HubArea,
            Family,
            Person,
            FamilyMember,
            Relationship,
            FamilyUserObjectPermission,
            AuditEvent,
            *PATHWAY_MODELS,
        )
    } | {"hub agencies": Hub.member_agencies.through.objects.count()}


PATHWAY_MODELS = (
    Episode,
    EpisodeTransition,
    LevelChange,
    TafMember,
    LeadProfessional,
    TafMeeting,
    TafMeeting.invited.through,
    MeetingAttendance,
    Review,
    OutcomeScore,
    IdentifiedNeed,
    ChronologyEntry,
    ConsentRecord,
    Assessment,
    Assessment.members.through,
    AssessmentVersion,
    PlanOutcome,
    PlanAction,
    RequestForSupport,
    RequestForSupport.needs.through,
    TriageDecision,
    SupportingFamiliesClaim,
    SupportingFamiliesClaim.areas.through,
)


def visible_ids(user) -> set[int]:
    return set(families_visible_to(user=user).values_list("pk", flat=True))


@pytest.fixture(scope="class")
def county_db(django_db_setup, django_db_blocker):
    """The default seed, built once for a class of tests inside a transaction rolled back after the
    last of them (each test runs in a savepoint inside it)."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield seed()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def seeded(county_db):
    return build_personas(), county_db


def county_episodes():
    """The episodes the pathway demo plans (hubs/demo.py's triage decisions open a few more, today)."""
    from hubs.models import TriageDecision

    opened_by_hub = TriageDecision.objects.filter(episode__isnull=False).values("episode_id")
    return Episode.objects.filter(family__reference__regex=COUNTY_REF).exclude(id__in=opened_by_hub)


def seeding_can_change(user_id: int, family_id: int) -> bool:
    return FamilyUserObjectPermission.objects.filter(
        user_id=user_id, content_object_id=family_id, permission__codename="change_family"
    ).exists()


@pytest.mark.usefixtures("county_db")
class TestDefaultCounty:
    """The default seed, built once for the class (under make test's pytest-xdist, one worker runs the
    whole class: tests/conftest.py)."""

    def test_default_seed_builds_the_county(self, seeded):
        personas, output = seeded
        assert Hub.objects.count() == 4
        assert HubArea.objects.count() == 11
        assert Agency.objects.count() >= 15
        expected_types = set(AgencyType.values) - {AgencyType.OTHER}
        assert set(Agency.objects.values_list("type", flat=True)) == expected_types
        for hub in Hub.objects.all():
            assert hub.member_agencies.count() >= 5, hub
            assert hub.families.count() >= 20, hub
            assert hub.coordinator_memberships.filter(role=Role.HUB_COORDINATOR).exists(), hub
        assert Family.objects.filter(reference__regex=COUNTY_REF).count() == seeding.DEFAULT_FAMILIES
        assert Family.objects.count() == seeding.DEFAULT_FAMILIES + len(ANCHORS)
        assert set(Family.objects.values_list("area__name", flat=True)) == set(
            HubArea.objects.values_list("name", flat=True)
        )
        assert all(f.hub_id == f.area.hub_id for f in Family.objects.select_related("area"))

        # Staff: a few practitioners per agency, some agency managers, everyone on the demo password.
        practitioners = Membership.objects.filter(role=Role.PRACTITIONER)
        per_agency = Counter(practitioners.values_list("agency_id", flat=True))
        assert len(per_agency) == Agency.objects.count()
        assert min(per_agency.values()) >= 2
        assert practitioners.count() >= 50
        assert Membership.objects.filter(role=Role.AGENCY_MANAGER).count() >= 5
        for user in User.objects.exclude(username="AnonymousUser").order_by("?")[:10]:
            assert user.check_password(DEMO_PASSWORD), user
        assert personas.sam.check_password(DEMO_PASSWORD)
        assert "Demo data ready" in output

    def test_every_hub_has_requests_in_every_state_and_every_outcome(self, seeded):
        """The demo county gives every hub a realistic queue (was tests/hubs/test_demo.py, which seeded
        the same default county a second time)."""
        for hub in Hub.objects.all():
            statuses = set(RequestForSupport.objects.filter(hub=hub).values_list("status", flat=True))
            assert statuses == {"new", "awaiting", "decided"}, hub
            outcomes = set(TriageDecision.objects.filter(request__hub=hub).values_list("outcome", flat=True))
            assert outcomes == set(TriageOutcome.values), hub
        assert RequestForSupport.objects.filter(status="draft").count() == Hub.objects.count()
        chris = User.objects.get(username="chris.coordinator")
        queue = requests_visible_to(user=chris).filter(hub__name="North hub").exclude(status="decided")
        assert queue.count() == 4
        assert seed_requests() == 0  # a second run writes nothing

    def test_households_are_varied_and_valid(self, seeded):
        generated = Family.objects.filter(reference__regex=COUNTY_REF)
        sizes = Counter(generated.annotate(n=Count("members")).values_list("n", flat=True))
        assert min(sizes) >= 1 and max(sizes) <= 8
        assert len(sizes) >= 5
        mean = sum(k * v for k, v in sizes.items()) / sum(sizes.values())
        assert 2.5 <= mean <= 4

        people = Person.objects.filter(memberships__family__in=generated).distinct()
        for person in people:
            person.full_clean(validate_unique=False)  # names, codes, NHS number and UPN check digits
        roles = Counter(FamilyMember.objects.filter(family__in=generated).values_list("role", flat=True))
        assert set(roles) == set(HouseholdRole.values)
        unborn = people.filter(expected_date_of_birth__isnull=False)
        assert unborn.exists() and not unborn.filter(date_of_birth__isnull=False).exists()
        assert people.filter(date_of_birth__isnull=True, expected_date_of_birth__isnull=True).count() == 0
        with_nhs = people.exclude(nhs_number=None)
        assert with_nhs.count() >= 100 and all(
            nhs_number_is_valid(n) for n in with_nhs.values_list("nhs_number", flat=True)
        )
        with_upn = people.exclude(upn=None)
        assert with_upn.count() >= 50
        for value in with_upn.values_list("upn", flat=True):
            validate_upn(value)
        ethnicities = Counter(people.values_list("ethnicity", flat=True))
        assert set(ethnicities) <= set(codes.ETHNICITY_LABELS)
        assert len(ethnicities) >= 10
        assert ethnicities["WBRI"] < people.count() * 0.8
        assert people.exclude(disabilities=[]).count() >= 10
        assert people.exclude(language__in=["", "English"]).count() >= 10

        left = FamilyMember.objects.filter(family__in=generated, end_date__isnull=False)
        assert left.count() >= 10
        assert all(m.end_date >= m.start_date for m in left)
        assert generated.filter(young_carer=True).exists()
        assert generated.filter(send=True).exists()
        assert generated.filter(address_withheld=True).exists()

        relationships = Relationship.objects.filter(family__in=generated)
        assert {"parent_of", "sibling_of", "partner_of", "step_parent_of", "grandparent_of"} <= set(
            relationships.values_list("type", flat=True)
        )
        members = defaultdict(set)
        for family_id, person_id in FamilyMember.objects.values_list("family_id", "person_id"):
            members[family_id].add(person_id)
        for r in relationships:
            assert {r.from_person_id, r.to_person_id} <= members[r.family_id]

    def test_running_twice_changes_nothing(self, seeded):
        before = counts()
        output = seed()
        assert counts() == before
        assert "0 families written with 0 episodes, 200 already present" in output

    def test_county_has_supporting_families_claims(self, seeded):
        """A few claims, through pathway.claims at the time of each step, in every status."""
        claims = SupportingFamiliesClaim.objects.filter(family__reference__regex=COUNTY_REF).select_related(
            "episode"
        )
        assert 5 <= claims.count() <= 12
        assert set(claims.values_list("status", flat=True)) == set(ClaimStatus.values)
        today = timezone.localdate()
        met = set(IdentifiedNeed.objects.filter(outcome="met").values_list("episode_id", "area_id"))
        for claim in claims:
            e = claim.episode
            assert e.family_id == claim.family_id and e.closure_reason == ClosureReason.OUTCOMES_ACHIEVED
            assert e.closed_on < claim.status_changed_on <= today, claim.pk
            assert claim.areas.exists() and all((e.pk, a.pk) in met for a in claim.areas.all()), claim.pk
            assert claim.evidence and claim.version == 1 + ClaimStatus.values.index(claim.status)
            audited = AuditEvent.objects.filter(
                object_type="pathway.supportingfamiliesclaim", object_id=str(claim.pk)
            )
            assert audited.count() == claim.version, claim.pk  # drafted, then each move
            assert timezone.localtime(audited.order_by("-occurred_at").first().occurred_at).date() == (
                claim.status_changed_on
            )

    def test_visibility_follows_the_policy(self, seeded):
        personas, _ = seeded
        users = personas.all_users()
        north_ids = set(Family.objects.filter(hub=personas.north).values_list("pk", flat=True))
        south_ids = set(Family.objects.filter(hub=personas.south).values_list("pk", flat=True))
        all_ids = set(Family.objects.values_list("pk", flat=True))
        anchors = {getattr(personas, name).pk: name for name in ANCHORS}

        # The anchors are seen exactly as ehcase/demo.py documents, and nobody new holds grants on them.
        for username, user in users.items():
            seen = {anchors[pk] for pk in visible_ids(user) if pk in anchors}
            assert seen == EXPECTED[username], username
        anchor_grants = {
            (anchors[fid], username, codename)
            for fid, username, codename in FamilyUserObjectPermission.objects.filter(
                content_object_id__in=anchors
            ).values_list("content_object_id", "user__username", "permission__codename")
        }
        assert anchor_grants == ANCHOR_GRANTS

        sam, hana, ola = (
            visible_ids(users[n]) for n in ("sam.practitioner", "hana.healthvisitor", "ola.outsider")
        )
        assert sam <= north_ids and len(sam) >= 12
        assert hana <= north_ids and len(hana) >= 8
        assert len((sam & hana) - set(anchors)) >= 5  # Hana visits some of Sam's further families
        assert ola <= south_ids and len(ola) >= 8
        assert not ola & north_ids
        assert visible_ids(users["chris.coordinator"]) == north_ids
        assert visible_ids(users["morgan.manager"]) == all_ids
        assert visible_ids(users["quinn.auditor"]) == all_ids
        assert visible_ids(users["admin"]) == set()
        riverside_staff = Membership.objects.filter(agency=personas.riverside, role=Role.PRACTITIONER).values(
            "user"
        )
        riverside_families = set(
            FamilyUserObjectPermission.objects.filter(
                user__in=riverside_staff, permission__codename="view_family"
            ).values_list("content_object_id", flat=True)
        )
        assert visible_ids(users["alex.schoolmanager"]) == riverside_families
        assert sam <= riverside_families <= north_ids

        # Sam leads further Riverside families: change rights and the episodes' lead professional.
        led = set(
            FamilyUserObjectPermission.objects.filter(user=personas.sam, permission__codename="change_family")
            .exclude(content_object_id__in=anchors)
            .values_list("content_object_id", flat=True)
        )
        assert len(led) >= 10
        assert Person.objects.filter(
            memberships__family_id__in=led, school_or_setting="Riverside Primary School"
        ).values("memberships__family_id").distinct().count() == len(led)
        assert Episode.objects.filter(lead_professional=personas.sam).exists()

        # Every practitioner works with several families; nobody is granted a family outside their hubs.
        caseload = Counter(
            FamilyUserObjectPermission.objects.filter(permission__codename="view_family").values_list(
                "user_id", flat=True
            )
        )
        for user_id in Membership.objects.filter(role=Role.PRACTITIONER).values_list("user_id", flat=True):
            assert caseload[user_id] >= 3, user_id
        grants = FamilyUserObjectPermission.objects.filter(permission__codename="view_family").values_list(
            "user_id", "content_object__hub_id"
        )
        member_hubs = defaultdict(set)
        for user_id, hub_id in Membership.objects.filter(role=Role.PRACTITIONER).values_list(
            "user_id", "agency__hubs"
        ):
            member_hubs[user_id].add(hub_id)
        for user_id, hub_id in grants:
            assert hub_id in member_hubs[user_id], (user_id, hub_id)

    def test_families_at_every_point_of_the_pathway(self, seeded):
        episodes = county_episodes()
        assert episodes.count() >= 120
        statuses = Counter(episodes.values_list("status", flat=True))
        assert set(statuses) == set(EpisodeStatus.values)
        assert min(statuses.values()) >= 5, statuses
        closed = episodes.filter(status=EpisodeStatus.CLOSED)
        reasons = Counter(closed.values_list("closure_reason", flat=True))
        assert set(reasons) == set(ClosureReason.values), reasons
        assert not closed.filter(Q(closed_on=None) | Q(closure_reason="")).exists()
        assert all(e.closed_on >= e.opened_on for e in closed)
        open_episodes = episodes.exclude(status=EpisodeStatus.CLOSED)
        assert not open_episodes.exclude(closed_on=None).exclude(closure_reason="").exists()
        assert max(Counter(open_episodes.values_list("family_id", flat=True)).values()) == 1
        assert Counter(episodes.values_list("source", flat=True)).keys() == set(EpisodeSource.values)

        # Step ups carry a reason and a social care reference; step downs carry theirs over with notes.
        stepped_up = closed.filter(closure_reason=ClosureReason.STEP_UP)
        assert stepped_up.count() >= 3
        assert not stepped_up.filter(Q(social_care_reference="") | Q(step_up_reason="")).exists()
        stepped_down = episodes.filter(source=EpisodeSource.STEP_DOWN)
        assert stepped_down.count() >= 3 and stepped_down.exclude(status=EpisodeStatus.CLOSED).exists()
        assert not stepped_down.filter(Q(social_care_reference="") | Q(handover_notes="")).exists()
        # ...some after a step up from early help, under the same reference.
        assert any(
            stepped_up.filter(family_id=e.family_id, social_care_reference=e.social_care_reference).exists()
            for e in stepped_down
        )

        # Re-referrals: flagged when opened (other than by a step down) within 12 months of the family's
        # last closure, and only then.
        returns = 0
        for e in episodes.order_by("opened_on"):
            last = (
                closed.filter(family_id=e.family_id, closed_on__lte=e.opened_on)
                .exclude(pk=e.pk)
                .order_by("-closed_on")
                .first()
            )
            flagged = (
                e.source != EpisodeSource.STEP_DOWN
                and last is not None
                and (e.opened_on - last.closed_on).days <= 365
            )
            assert e.is_re_referral == flagged, e.pk
            returns += last is not None
        assert episodes.filter(is_re_referral=True, source=EpisodeSource.TRIAGE).exists()
        assert returns > episodes.filter(is_re_referral=True).count()  # some came back after a year

    def test_every_episode_has_its_history(self, seeded):
        episodes = Episode.objects.filter(
            Q(family__reference__regex=COUNTY_REF) | Q(family__reference="F-DEMOASH")
        ).select_related("level")
        transitions = defaultdict(list)
        for t in EpisodeTransition.objects.order_by("occurred_at", "id"):
            transitions[t.episode_id].append(t)
        levels = defaultdict(list)
        for change in LevelChange.objects.select_related("level").order_by("changed_on", "id"):
            levels[change.episode_id].append(change)
        order = [
            EpisodeStatus.OPEN,
            EpisodeStatus.ASSESSMENT,
            EpisodeStatus.PLAN_ACTIVE,
            EpisodeStatus.REVIEWING,
        ]
        today = timezone.localdate()
        for e in episodes:
            steps = transitions[e.pk]
            assert steps and steps[0].from_status == "" and steps[0].to_status == EpisodeStatus.OPEN, e.pk
            assert all(a.to_status == b.from_status for a, b in zip(steps, steps[1:])), e.pk
            assert steps[-1].to_status == e.status, e.pk
            path = [t.to_status for t in steps if t.to_status != EpisodeStatus.CLOSED]
            assert path == order[: len(path)], e.pk
            # Dated when they happened: from the opening to the closure (or today).
            dates = [timezone.localtime(t.occurred_at).date() for t in steps]
            assert dates == sorted(dates) and dates[0] == e.opened_on, e.pk
            assert dates[-1] <= (e.closed_on or today), e.pk
            history = levels[e.pk]
            assert history and history[0].changed_on == e.opened_on and history[0].level.code == "3", e.pk
            assert history[-1].level_id == e.level_id, e.pk
        assert {e.level.code for e in episodes} == {"2", "3"}  # some stepped down to single-agency support

    def test_lead_professionals_and_teams(self, seeded):
        personas, _ = seeded
        episodes = Episode.objects.select_related("family")
        current_leads = {
            lp.episode_id: lp
            for lp in LeadProfessional.objects.filter(ended_on__isnull=True).select_related("user")
        }
        visible: dict[int, set[int]] = {}
        for e in episodes.filter(lead_professional__isnull=False):
            if e.status == EpisodeStatus.CLOSED:
                assert e.pk not in current_leads and e.lead_history.exists(), e.pk
                assert not e.lead_history.filter(ended_on__gt=e.closed_on).exists()
                continue
            lead = current_leads[e.pk]
            assert lead.user_id == e.lead_professional_id and lead.family_view, e.pk
            if lead.user_id not in visible:
                visible[lead.user_id] = visible_ids(lead.user)
            assert e.family_id in visible[lead.user_id], e.pk
            assert TafMember.objects.filter(episode=e, user_id=lead.user_id, left_on__isnull=True).exists()
            assert seeding_can_change(lead.user_id, e.family_id)
        # The lead is agreed at the first TAF meeting: before it there is none.
        early = episodes.filter(status__in=[EpisodeStatus.OPEN, EpisodeStatus.ASSESSMENT])
        assert early.exists() and not early.filter(lead_professional__isnull=False).exists()
        assert not LeadProfessional.objects.filter(episode__in=early).exists()
        first = LeadProfessional.objects.filter(agreed_at__isnull=False).select_related("agreed_at")
        assert first.exists() and all(
            lp.started_on == timezone.localtime(lp.agreed_at.starts_at).date() for lp in first
        )
        # Some leads handed over, with a note; the previous lead stays in the team with read access.
        handovers = LeadProfessional.objects.exclude(handover_note="").exclude(
            episode__status=EpisodeStatus.CLOSED
        )
        assert handovers.exists()
        for lp in handovers:
            previous = LeadProfessional.objects.get(episode=lp.episode_id, ended_on=lp.started_on)
            assert TafMember.objects.filter(
                episode=lp.episode_id, user=previous.user_id, left_on=None
            ).exists()
            assert previous.user_id != lp.user_id and lp.user_id == lp.episode.lead_professional_id
        for e in episodes:
            assert e.assessor_id is not None and seeding_can_change(e.assessor_id, e.family_id), e.pk

        # Teams: workers and family members; meetings record attendance for those invited.
        members = TafMember.objects.filter(episode__family__reference__regex=COUNTY_REF)
        assert members.filter(person__isnull=False).count() >= 100
        assert members.filter(user__isnull=False).count() >= 200
        held = TafMeeting.objects.filter(status=MeetingStatus.HELD)
        assert held.count() >= 200
        for meeting in held.prefetch_related("invited", "attendance")[:100]:
            assert {a.member_id for a in meeting.attendance.all()} == {m.pk for m in meeting.invited.all()}
            assert meeting.decisions
        assert not TafMeeting.objects.filter(
            status=MeetingStatus.SCHEDULED, starts_at__lte=timezone.now()
        ).exists()
        tomorrow = timezone.localdate() + dt.timedelta(days=1)
        upcoming = TafMeeting.objects.filter(status=MeetingStatus.SCHEDULED)
        assert upcoming.count() >= 20
        assert any(timezone.localtime(m.starts_at).date() == tomorrow for m in upcoming)

    def test_needs_baselines_reviews_and_closures(self, seeded):
        episodes = county_episodes()
        for e in episodes.filter(status__in=[EpisodeStatus.PLAN_ACTIVE, EpisodeStatus.REVIEWING]):
            assert e.reviews.filter(is_baseline=True).exists(), e.pk
            assert e.meetings.filter(status=MeetingStatus.HELD).exists(), e.pk
            assert e.next_review_due is not None, e.pk
        assert not episodes.filter(status=EpisodeStatus.PLAN_ACTIVE, reviews__is_baseline=False).exists()
        reviewing = episodes.filter(status=EpisodeStatus.REVIEWING).annotate(
            n=Count("reviews", filter=Q(reviews__is_baseline=False))
        )
        assert {r.n for r in reviewing} >= {1, 2, 3, 4}
        baselines = {r.episode_id: r for r in Review.objects.filter(is_baseline=True)}
        reviews = Review.objects.filter(is_baseline=False).select_related("meeting")
        assert reviews.count() >= 150
        for review in reviews:
            baseline = baselines[review.episode_id]
            assert review.held_on >= baseline.held_on and review.decision and review.summary
            assert review.meeting is not None and review.meeting.status == MeetingStatus.HELD
        scores = OutcomeScore.objects.all()
        assert scores.count() >= 1500 and all(0 <= s <= 10 for s in scores.values_list("score", flat=True))
        per_review = Counter(scores.values_list("review_id", flat=True))
        assert min(per_review.values()) >= 6 and max(per_review.values()) <= 10
        assert set(reviews.values_list("decision", flat=True)) >= {
            ReviewDecision.CONTINUE,
            ReviewDecision.CLOSE,
            ReviewDecision.STEP_DOWN,
        }
        # Distance travelled: scores for the needs' areas mostly rise from the baseline.
        rises = falls = 0
        for e in episodes.filter(status=EpisodeStatus.REVIEWING)[:40]:
            need_areas = set(e.needs.values_list("area_id", flat=True))
            first = dict(baselines[e.pk].scores.values_list("area_id", "score"))
            last = dict(e.reviews.filter(is_baseline=False).last().scores.values_list("area_id", "score"))
            for area in need_areas:
                rises += last[area] > first[area]
                falls += last[area] < first[area]
        assert rises > falls

        # Review dates: some due in the next fortnight, some overdue, some later.
        today = timezone.localdate()
        due = list(
            episodes.exclude(status=EpisodeStatus.CLOSED)
            .exclude(next_review_due=None)
            .values_list("next_review_due", flat=True)
        )
        assert any(d < today for d in due)
        assert any(today <= d <= today + dt.timedelta(days=14) for d in due)
        assert any(d > today + dt.timedelta(days=14) for d in due)

        # A closure states the outcome of every need; a step up passes them to social care.
        closed_needs = IdentifiedNeed.objects.filter(episode__status=EpisodeStatus.CLOSED)
        assert closed_needs.exists() and not closed_needs.filter(outcome="").exists()
        assert (
            not IdentifiedNeed.objects.exclude(episode__status=EpisodeStatus.CLOSED)
            .exclude(outcome="")
            .exists()
        )
        assert (
            not closed_needs.filter(episode__closure_reason=ClosureReason.STEP_UP)
            .exclude(outcome="transferred")
            .exists()
        )
        assert (
            episodes.filter(closure_reason=ClosureReason.OTHER).exclude(closure_note="").count()
            == episodes.filter(closure_reason=ClosureReason.OTHER).count()
        )

    def test_chronology_and_case_notes(self, seeded):
        generated = Family.objects.filter(reference__regex=COUNTY_REF)
        entries = ChronologyEntry.objects.filter(family__in=generated)
        kinds = Counter(entries.values_list("kind", flat=True))
        assert set(kinds) == set(ChronologyKind.values)
        assert kinds[ChronologyKind.NOTE] >= 300
        for e in county_episodes():
            assert entries.filter(
                episode=e, kind=ChronologyKind.TRANSITION, occurred_on=e.opened_on
            ).exists(), e.pk
        today = timezone.localdate()
        assert not entries.filter(occurred_on__gt=today + dt.timedelta(days=60)).exists()
        notes = entries.filter(kind=ChronologyKind.NOTE)
        assert not notes.filter(author=None).exists() and not notes.filter(occurred_on__gt=today).exists()
        assert notes.filter(episode=None).exists()  # single-agency contact with no episode
        # Audit events dated with what they record.
        opened = AuditEvent.objects.filter(
            object_type="pathway.episode", summary__startswith="Episode opened"
        )
        assert opened.count() == Episode.objects.count()
        dates = {str(e.pk): e.opened_on for e in Episode.objects.all()}
        assert all(timezone.localtime(a.occurred_at).date() == dates[a.object_id] for a in opened)

    def test_sam_and_hana_work_with_families_at_every_point(self, seeded):
        personas, _ = seeded
        sam, hana = personas.sam, personas.hana
        led = Episode.objects.filter(lead_professional=sam).exclude(status=EpisodeStatus.CLOSED)
        assert led.count() >= 5 and all(e.family.hub_id == personas.north.pk for e in led)
        assert {EpisodeStatus.PLAN_ACTIVE, EpisodeStatus.REVIEWING} <= set(
            led.values_list("status", flat=True)
        )
        assessing = Episode.objects.filter(
            assessor=sam, status__in=[EpisodeStatus.OPEN, EpisodeStatus.ASSESSMENT]
        )
        assert {EpisodeStatus.OPEN, EpisodeStatus.ASSESSMENT} <= set(
            assessing.values_list("status", flat=True)
        )
        work = my_work(user=sam)
        today = timezone.localdate()
        assert any(e.next_review_due < today for e in work.reviews_due)
        assert any(e.next_review_due >= today for e in work.reviews_due)
        assert work.next_meetings
        assert timezone.localtime(work.next_meetings[0].starts_at).date() == today + dt.timedelta(days=1)
        # Hana is in the team of several of Sam's families, the Ashworths among them.
        shared = TafMember.objects.filter(user=hana, left_on__isnull=True, episode__in=led)
        assert shared.count() >= 3
        ashworth = Episode.objects.get(family=personas.ashworth)
        assert ashworth.lead_professional == sam and ashworth.status == EpisodeStatus.REVIEWING
        workers = set(
            TafMember.objects.filter(episode=ashworth, user__isnull=False).values_list("user", flat=True)
        )
        assert workers == {sam.pk, hana.pk}
        assert my_work(user=hana).team_episodes
        # Sam assessed the Ashworths with everyone's consent (Kerry's for the children), and Alex,
        # the headteacher, signed it off; the plan has the family's outcomes with actions.
        eha = ashworth.assessments.get()
        assert eha.assessor == sam and eha.signed_off_by == personas.alex
        assert eha.status == AssessmentStatus.SIGNED_OFF and eha.versions.count() >= 1
        assert set(eha.members.values_list("first_name", flat=True)) == {"Kerry", "Jayden", "Mia"}
        assert set(
            ConsentRecord.objects.filter(episode=ashworth, withdrawn_on=None).values_list(
                "person__first_name", "given_by__first_name"
            )
        ) == {("Kerry", "Kerry"), ("Jayden", "Kerry"), ("Mia", "Kerry")}
        assert PlanOutcome.objects.filter(episode=ashworth).exists()
        assert PlanAction.objects.filter(episode=ashworth, outcome__isnull=False).exists()
        # Sam also has a draft on the go and one waiting for Alex to sign off.
        mine = Assessment.objects.filter(assessor=sam).exclude(episode__status=EpisodeStatus.CLOSED)
        assert {AssessmentStatus.DRAFT, AssessmentStatus.COMPLETED} <= set(
            mine.values_list("status", flat=True)
        )
        waiting = mine.filter(status=AssessmentStatus.COMPLETED)
        assert all(can_sign_off(user=personas.alex, assessment=a) for a in waiting)
        for anchor in ("bennett", "carter", "dixon", "evans"):
            assert not Episode.objects.filter(family=getattr(personas, anchor)).exists()

    def test_assessments_in_every_state(self, seeded):
        episodes = Episode.objects.filter(
            Q(family__reference__regex=COUNTY_REF) | Q(family__reference="F-DEMOASH")
        )
        assessments = Assessment.objects.filter(episode__in=episodes).select_related(
            "episode", "template", "signed_off_by"
        )
        statuses = Counter(assessments.values_list("status", flat=True))
        assert set(statuses) == set(AssessmentStatus.values), statuses
        # The plan is active only once the assessment is completed (signed off or awaiting it).
        done = [AssessmentStatus.COMPLETED, AssessmentStatus.SIGNED_OFF]
        active = episodes.filter(status__in=[EpisodeStatus.PLAN_ACTIVE, EpisodeStatus.REVIEWING])
        assert active.count() >= 40
        assert not active.exclude(assessments__status__in=done).exists()
        # Episodes still in assessment show a draft, one awaiting sign-off and one returned; episodes
        # not yet at assessment have none.
        assessing = Counter(
            assessments.filter(episode__status=EpisodeStatus.ASSESSMENT).values_list("status", flat=True)
        )
        assert {AssessmentStatus.DRAFT, AssessmentStatus.COMPLETED, AssessmentStatus.RETURNED} <= set(
            assessing
        )
        assert not assessments.filter(episode__status=EpisodeStatus.OPEN).exists()
        in_assessment = episodes.filter(status=EpisodeStatus.ASSESSMENT)
        assert in_assessment.exists() and not in_assessment.filter(assessments=None).exists()

        # Every completion kept a version; drafts have none; earlier versions stay as they were.
        versions = defaultdict(list)
        for v in AssessmentVersion.objects.filter(assessment__in=assessments).order_by("number"):
            versions[v.assessment_id].append(v)
        second = 0
        for a in assessments:
            kept = versions[a.pk]
            if a.status == AssessmentStatus.DRAFT:
                assert not kept, a.pk
                continue
            assert [v.number for v in kept] == list(range(1, len(kept) + 1)), a.pk
            latest = kept[-1]
            assert latest.content == a.content and latest.template_id == a.template_id, a.pk
            assert latest.member_ids == sorted(a.members.values_list("pk", flat=True)), a.pk
            for earlier in kept[:-1]:
                assert earlier.outcome == AssessmentStatus.RETURNED and earlier.comments, a.pk
                assert earlier.content != latest.content, a.pk
            second += len(kept) > 1
            if a.status == AssessmentStatus.SIGNED_OFF:
                assert latest.outcome == AssessmentStatus.SIGNED_OFF and a.signed_off_by_id != a.assessor_id
                assert can_sign_off(user=a.signed_off_by, assessment=a), a.pk
            elif a.status == AssessmentStatus.RETURNED:
                assert latest.outcome == AssessmentStatus.RETURNED and latest.comments, a.pk
            else:
                assert latest.outcome == "", a.pk
            # The needs and the baseline came from the assessment.
            needs = set(a.episode.needs.values_list("area__code", "description"))
            assert {(n["area"], n["description"]) for n in a.content["needs"]} <= needs, a.pk
            baseline = a.episode.reviews.get(is_baseline=True)
            assert baseline.held_on == a.assessment_date, a.pk
            scores = {k: v for k, v in a.content["scores"].items() if v is not None}
            assert dict(baseline.scores.values_list("area__code", "score")) == scores, a.pk
        assert second >= 3  # some were returned, revised and completed again
        deciders = set(
            assessments.exclude(signed_off_by=None).values_list("signed_off_by__username", flat=True)
        )
        assert "morgan.manager" in deciders and len(deciders) >= 4  # agency managers too
        assert AuditEvent.objects.filter(
            summary__startswith="Early help assessment completed (version", family_id__isnull=False
        ).count() == sum(len(v) for v in versions.values())

        # Drafts are saved as the practitioner goes: some parts written, not all.
        drafts = assessments.filter(status=AssessmentStatus.DRAFT)
        assert all(d.content.get("domains") for d in drafts)
        assert any("scores" not in d.content for d in drafts)
        for a in assessments.exclude(status=AssessmentStatus.DRAFT)[:40]:
            assert a.content["family_view"] and a.content["child_voice"] is not None
            assert set(a.content["members"]) == {str(pk) for pk in a.members.values_list("pk", flat=True)}

    def test_consent_before_every_assessment(self, seeded):
        episodes = Episode.objects.filter(
            Q(family__reference__regex=COUNTY_REF) | Q(family__reference="F-DEMOASH")
        )
        consents = ConsentRecord.objects.filter(episode__in=episodes).select_related("person", "given_by")
        roles = dict(
            FamilyMember.objects.filter(family__in=episodes.values("family")).values_list("person_id", "role")
        )
        for c in consents:
            born = c.person.date_of_birth
            age = c.given_on.year - born.year - ((c.given_on.month, c.given_on.day) < (born.month, born.day))
            if c.given_by_id == c.person_id:
                assert roles[c.person_id] != HouseholdRole.CHILD or age >= 16 or c.own_consent_competent
            else:
                assert roles[c.person_id] == HouseholdRole.CHILD and age < 16, c.pk
                assert roles[c.given_by_id] == HouseholdRole.PARENT_CARER, c.pk
        assert consents.exclude(given_by=F("person")).exists()  # parents for their children
        assert consents.filter(given_by=F("person"), person__memberships__role=HouseholdRole.CHILD).exists()
        assert set(consents.values_list("method", flat=True)) == {"written", "verbal"}
        for a in Assessment.objects.filter(episode__in=episodes).prefetch_related("members"):
            given = {c.person_id: c for c in consents if c.episode_id == a.episode_id}
            for person in a.members.all():
                assert person.pk in given and given[person.pk].given_on <= a.assessment_date, a.pk

        # Withdrawals: a family that withdrew consent, and a member withdrawn while the assessment is a
        # draft (the assessment waits, and nobody new joins the team).
        withdrawn = consents.filter(withdrawn_on__isnull=False)
        assert not withdrawn.filter(withdrawal_reason="").exists()
        assert all(c.withdrawn_on >= c.given_on for c in withdrawn)
        closed = episodes.filter(
            closure_reason=ClosureReason.CONSENT_WITHDRAWN, consents__isnull=False
        ).distinct()
        assert closed.exists()
        for e in closed:
            assert not e.consents.filter(withdrawn_on__isnull=True).exists(), e.pk
            assert not e.consents.exclude(withdrawn_on=e.closed_on).exists(), e.pk
        paused = withdrawn.exclude(episode__status=EpisodeStatus.CLOSED)
        assert paused.exists()
        for c in paused:
            assert not consents.filter(episode=c.episode_id, person=c.person_id, withdrawn_on=None).exists()
            assert c.episode.assessments.get().status == AssessmentStatus.DRAFT
            joined = TafMember.objects.filter(episode=c.episode_id, user__isnull=False)
            assert not joined.filter(joined_on__gt=c.withdrawn_on).exists()

    def test_family_plans_in_the_familys_words(self, seeded):
        episodes = Episode.objects.filter(
            Q(family__reference__regex=COUNTY_REF) | Q(family__reference="F-DEMOASH")
        )
        active = episodes.filter(status__in=[EpisodeStatus.PLAN_ACTIVE, EpisodeStatus.REVIEWING])
        assert not active.filter(plan_outcomes=None).exists()
        outcomes = PlanOutcome.objects.filter(episode__in=episodes).select_related("episode")
        members = set(FamilyMember.objects.values_list("family_id", "person_id"))
        for o in outcomes:
            assert o.wording and "{" not in o.wording, o.pk
            assert o.said_by_id is None or (o.episode.family_id, o.said_by_id) in members, o.pk
        assert outcomes.filter(said_by__memberships__role=HouseholdRole.CHILD).exists()  # young people's own
        assert not outcomes.filter(actions=None).exists()
        actions = PlanAction.objects.filter(episode__in=episodes).select_related("episode")
        assert actions.exists() and not actions.filter(outcome=None).exists()
        assert actions.exclude(owner_user=None).exists()
        assert actions.exclude(owner_agency=None).exists()
        assert actions.exclude(owner_person=None).exists()
        assert not any("{" in a.description for a in actions)
        assessed_on = dict(Assessment.objects.values_list("episode_id", "assessment_date"))
        assert all(a.due_on >= assessed_on[a.episode_id] for a in actions)
        assert set(actions.values_list("status", flat=True)) == set(ActionStatus.values)
        # Owners update their own actions at reviews.
        assert AuditEvent.objects.filter(
            summary="Plan action status changed",
            actor_id__in=actions.exclude(owner_user=None).values("owner_user"),
        ).exists()
        achieved = outcomes.filter(episode__closure_reason=ClosureReason.OUTCOMES_ACHIEVED)
        assert achieved.exists() and not achieved.filter(achieved=False).exists()

    def test_seed_is_deterministic(self, seeded):
        personas, _ = seeded
        county, practitioners = seeding.build_county_structure(personas, seeding.DEFAULT_SEED, "unused")
        today = timezone.localdate()
        plans = seeding.plan_county_families(
            personas, county, practitioners, seeding.DEFAULT_SEED, today, seeding.DEFAULT_FAMILIES
        )
        stored = {
            f.reference: (f.name, f.postcode, sorted(m.person.full_name for m in f.members.all()))
            for f in Family.objects.filter(reference__regex=COUNTY_REF).prefetch_related("members__person")
        }
        planned = {
            p.reference: (p.name, p.postcode, sorted(f"{pp.first_name} {pp.last_name}" for pp in p.people))
            for p in plans
        }
        assert planned == stored
        # ...and so are their histories.
        stored_episodes = defaultdict(list)
        for e in county_episodes().order_by("opened_on", "id").select_related("family"):
            stored_episodes[e.family.reference].append((e.opened_on, e.status, e.closure_reason, e.source))
        planned_episodes = {
            p.reference: [
                (s.opened_on, s.status, s.closure.reason if s.closure else "", s.source) for s in p.episodes
            ]
            for p in plans
            if p.episodes
        }
        assert planned_episodes == stored_episodes
        # ...and their assessments.
        stored_eha = defaultdict(list)
        for e in county_episodes().order_by("opened_on", "id").select_related("family"):
            stored_eha[e.family.reference].append(
                next(iter(e.assessments.values_list("status", flat=True)), None)
            )
        planned_eha = {
            p.reference: [
                plan.status if (plan := assessments_demo.plan_assessment(s, today)) else None
                for s in p.episodes
            ]
            for p in plans
            if p.episodes
        }
        assert planned_eha == stored_eha
        other = seeding.plan_county_families(personas, county, practitioners, 7, today, 20)
        assert [p.name for p in other] != [p.name for p in plans[:20]]

    def test_large_tier_builds_quickly_and_resumes(self, seeded):
        baseline = Family.objects.count()
        output = seed(families=200, chunk_size=100)
        assert "chunk 2/2" in output
        seed(families=300, chunk_size=100)  # tops up the third chunk only
        large = Family.objects.filter(reference__startswith="F-L")
        assert large.count() == 300
        assert Family.objects.count() == baseline + 300
        assert set(large.values_list("reference", flat=True)) == {
            seeding.large_reference(i) for i in range(300)
        }

        before = counts()
        seed(families=300, chunk_size=100)
        assert counts() == before

        people = FamilyMember.objects.filter(family__in=large)
        assert 2.6 <= people.count() / 300 <= 3.6
        assert Relationship.objects.filter(family__in=large).count() >= 300
        assert not large.annotate(n=Count("familyuserobjectpermission")).filter(n=0).exists()
        episodes = Episode.objects.filter(family__in=large)
        assert episodes.filter(status=EpisodeStatus.CLOSED).exists()
        assert episodes.exclude(status=EpisodeStatus.CLOSED).exists()
        change = set(
            FamilyUserObjectPermission.objects.filter(
                permission__codename="change_family", content_object__in=large
            ).values_list("user_id", "content_object_id")
        )
        assert all(
            (e.lead_professional_id, e.family_id) in change for e in episodes if e.lead_professional_id
        )
        assert all((e.assessor_id, e.family_id) in change for e in episodes)
        # Each grant is audited as grant_family_access audits it.
        views = FamilyUserObjectPermission.objects.filter(
            permission__codename="view_family", content_object__in=large
        )
        audited = AuditEvent.objects.filter(action=AuditAction.GRANT, family_id__in=large.values("pk"))
        assert sorted(audited.values_list("object_id", "family_id")) == sorted(
            (str(u), f) for u, f in views.values_list("user_id", "content_object_id")
        )
        for person in Person.objects.filter(memberships__family__in=large).exclude(nhs_number=None, upn=None)[
            :200
        ]:
            try:
                person.full_clean(validate_unique=False)
            except ValidationError as error:  # pragma: no cover - the message says which identifier
                pytest.fail(f"{person.pk}: {error}")

        # The large tier's own agencies and practitioners, with managers.
        large_practitioners = Membership.objects.filter(
            role=Role.PRACTITIONER, agency__name__contains="Locality"
        )
        assert large_practitioners.exists()
        assert Agency.objects.count() > 200

        personas = build_personas()
        assert visible_ids(personas.ola) <= set(
            Family.objects.filter(hub=personas.south).values_list("pk", flat=True)
        )
        assert visible_ids(personas.sam) <= set(
            Family.objects.filter(hub=personas.north).values_list("pk", flat=True)
        )
        assert len(visible_ids(personas.sam)) < 60
        assert visible_ids(personas.admin) == set()
        assert len(visible_ids(personas.morgan)) == Family.objects.count()
        large_tier_pathway_is_consistent(large)
        large_tier_requests_are_consistent(large)
        large_tier_assessments_are_consistent(large)
        large_tier_claims_are_consistent(large)


def large_tier_pathway_is_consistent(large):
    """The large tier's episodes (written with COPY) carry what pathway.services would have written."""
    connection.check_constraints()
    episodes = Episode.objects.filter(family__in=large)
    statuses = Counter(episodes.values_list("status", flat=True))
    assert set(statuses) == set(EpisodeStatus.values), statuses
    assert episodes.count() >= 150
    transitions = defaultdict(list)
    for t in EpisodeTransition.objects.filter(episode__in=episodes).order_by("occurred_at", "id"):
        transitions[t.episode_id].append(t)
    levels = defaultdict(list)
    for change in LevelChange.objects.filter(episode__in=episodes).order_by("changed_on", "id"):
        levels[change.episode_id].append(change)
    leads = {lp.episode_id: lp for lp in LeadProfessional.objects.filter(episode__in=episodes, ended_on=None)}
    members = set(
        TafMember.objects.filter(episode__in=episodes, left_on=None, user__isnull=False).values_list(
            "episode_id", "user_id"
        )
    )
    for e in episodes:
        steps = transitions[e.pk]
        assert steps[0].from_status == "" and timezone.localtime(steps[0].occurred_at).date() == e.opened_on
        assert all(a.to_status == b.from_status for a, b in zip(steps, steps[1:], strict=False)), e.pk
        assert steps[-1].to_status == e.status, e.pk
        if e.status == EpisodeStatus.CLOSED:
            assert timezone.localtime(steps[-1].occurred_at).date() == e.closed_on, e.pk
        assert (
            levels[e.pk]
            and levels[e.pk][0].changed_on == e.opened_on
            and levels[e.pk][-1].level_id == e.level_id
        )
        assert (e.pk, e.assessor_id) in members, e.pk
        if e.lead_professional_id:
            assert (e.pk, e.lead_professional_id) in members, e.pk
            if e.status != EpisodeStatus.CLOSED:
                assert leads[e.pk].user_id == e.lead_professional_id, e.pk
        else:
            assert e.status in (EpisodeStatus.OPEN, EpisodeStatus.ASSESSMENT, EpisodeStatus.CLOSED), e.pk
    active = episodes.filter(status__in=[EpisodeStatus.PLAN_ACTIVE, EpisodeStatus.REVIEWING])
    assert not active.exclude(reviews__is_baseline=True).exists()
    assert not active.filter(next_review_due=None).exists()
    reviewing = episodes.filter(status=EpisodeStatus.REVIEWING).annotate(
        n=Count("reviews", filter=Q(reviews__is_baseline=False))
    )
    assert reviewing.exists() and min(r.n for r in reviewing) >= 1
    scores = OutcomeScore.objects.filter(review__episode__in=episodes)
    assert (
        not Review.objects.filter(episode__in=episodes).annotate(n=Count("scores")).filter(n__lt=2).exists()
    )
    assert scores.count() >= 4 * Review.objects.filter(episode__in=episodes).count()
    assert not IdentifiedNeed.objects.filter(
        episode__in=episodes.filter(status=EpisodeStatus.CLOSED), outcome=""
    ).exists()
    assert not TafMeeting.objects.filter(
        episode__in=episodes, status=MeetingStatus.SCHEDULED, starts_at__lte=timezone.now()
    ).exists()
    notes = ChronologyEntry.objects.filter(family__in=large, kind=ChronologyKind.NOTE)
    assert notes.count() >= 300
    assert {
        k for k in ChronologyEntry.objects.filter(family__in=large).values_list("kind", flat=True)
    } == set(ChronologyKind.values)
    assert (
        episodes.filter(is_re_referral=True).exists()
        and episodes.filter(source=EpisodeSource.STEP_DOWN).exists()
    )


def large_tier_requests_are_consistent(large):
    """Requests for support and triage decisions, as hubs.services would have written them."""
    families = large.count()
    requests = RequestForSupport.objects.filter(family__in=large).select_related("referrer_agency")
    decisions = TriageDecision.objects.filter(request__family__in=large)
    episodes = Episode.objects.filter(family__in=large)
    # About as many as DESIGN.md §9 (700,000 for 250,000 families), a fifth to a quarter opening an episode.
    assert 2.0 <= requests.count() / families <= 3.2
    outcomes = Counter(decisions.values_list("outcome", flat=True))
    assert set(outcomes) == set(TriageOutcome.values), outcomes
    assert 0.12 <= outcomes[TriageOutcome.EARLY_HELP] / decisions.count() <= 0.35, outcomes
    assert 0.03 <= outcomes[TriageOutcome.STEP_UP] / decisions.count() <= 0.15, outcomes
    # Sent, complete and decided once, never before they were received.
    assert not requests.filter(status=RequestStatus.DRAFT).exists()
    assert not decisions.filter(request__status=RequestStatus.DRAFT).exists()
    assert not decisions.filter(decided_on__lt=F("request__received_on")).exists()
    assert not decisions.filter(decided_on__gt=timezone.localdate()).exists()
    per_request = Counter(decisions.values_list("request_id", flat=True))
    assert max(per_request.values()) == 1
    decided = set(requests.filter(status=RequestStatus.DECIDED).values_list("pk", flat=True))
    assert decided == set(per_request) and len(decided) < requests.count()  # a few still waiting
    waiting = requests.exclude(status=RequestStatus.DECIDED)
    assert not waiting.filter(received_on__lt=timezone.localdate() - dt.timedelta(days=5)).exists()
    lags = sorted((d.decided_on - d.request.received_on).days for d in decisions.select_related("request"))
    assert 2 <= lags[len(lags) // 2] <= 14
    assert not requests.annotate(n=Count("needs")).filter(n=0).exists()
    memberships = set(Membership.objects.values_list("user_id", "agency_id"))
    for r in requests.select_related("family"):
        assert r.hub_id == r.family.hub_id and r.received_on is not None, r.pk
        assert (r.referrer_id, r.referrer_agency_id) in memberships, r.pk
        assert r.source == SOURCE_FOR_AGENCY_TYPE[r.referrer_agency.type], r.pk
        if r.consent_given:
            assert r.consent_by and r.consent_on <= r.received_on and r.consent_method, r.pk
        else:
            assert r.no_consent_reason, r.pk
    # A re-referral comes within twelve months of a closure.
    closures = defaultdict(list)
    for family_id, closed_on in episodes.exclude(closed_on=None).values_list("family_id", "closed_on"):
        closures[family_id].append(closed_on)
    for r in requests:
        expected = any(0 <= (r.received_on - on).days <= 365 for on in closures[r.family_id])
        assert r.is_re_referral == expected, r.pk
    assert requests.filter(is_re_referral=True).exists()
    # The hub opened each triage episode by deciding a request that day; other decisions open none.
    opened = decisions.filter(outcome=TriageOutcome.EARLY_HELP).select_related("episode", "request")
    assert sorted(d.episode_id for d in opened) == sorted(
        episodes.filter(source=EpisodeSource.TRIAGE).values_list("pk", flat=True)
    )
    for d in opened:
        assert d.decided_on == d.episode.opened_on and d.allocated_to_id == d.episode.assessor_id, d.pk
    assert not decisions.exclude(outcome=TriageOutcome.EARLY_HELP).exclude(episode=None).exists()
    assert not decisions.filter(outcome=TriageOutcome.SINGLE_AGENCY, agency=None).exists()
    assert not decisions.filter(outcome=TriageOutcome.SIGNPOSTING, signposting="").exists()
    assert not decisions.filter(outcome=TriageOutcome.STEP_UP, social_care_reference="").exists()
    coordinators = set(Membership.objects.filter(role=Role.HUB_COORDINATOR).values_list("user_id", flat=True))
    assert set(decisions.values_list("decided_by", flat=True)) <= coordinators
    # Requests that ended without an episode came while the family had none open.
    open_then = Episode.objects.filter(
        family_id=OuterRef("family_id"), opened_on__lte=OuterRef("received_on")
    )
    open_then = open_then.filter(Q(closed_on=None) | Q(closed_on__gte=OuterRef("received_on")))
    assert not requests.filter(decisions__episode=None).filter(Exists(open_then)).exists()
    lines = ChronologyEntry.objects.filter(family__in=large, episode=None)
    assert lines.filter(kind=ChronologyKind.REQUEST, title__startswith="Request for support").count() == (
        requests.count()
    )
    assert lines.filter(kind=ChronologyKind.TRIAGE, title__startswith="Hub decision: ").count() == (
        decisions.count() - len(opened)
    )


def large_tier_assessments_are_consistent(large):
    """An assessment, with consent, for each episode that got as far as one, in the default tier's states."""
    episodes = Episode.objects.filter(family__in=large)
    assessments = Assessment.objects.filter(episode__in=episodes).select_related("episode")
    reached = set(
        EpisodeTransition.objects.filter(
            episode__in=episodes, to_status=EpisodeStatus.ASSESSMENT
        ).values_list("episode_id", flat=True)
    )
    assert sorted(a.episode_id for a in assessments) == sorted(reached)  # one each
    assert not assessments.filter(episode__status=EpisodeStatus.OPEN).exists()
    statuses = Counter(assessments.values_list("status", flat=True))
    assert set(statuses) == set(AssessmentStatus.values), statuses
    assert statuses[AssessmentStatus.SIGNED_OFF] > statuses[AssessmentStatus.DRAFT]
    planned = assessments.filter(episode__status__in=[EpisodeStatus.PLAN_ACTIVE, EpisodeStatus.REVIEWING])
    assert not planned.exclude(status__in=[AssessmentStatus.COMPLETED, AssessmentStatus.SIGNED_OFF]).exists()
    template = AssessmentTemplate.objects.filter(published=True).order_by("-version").first()
    assert not assessments.exclude(template=template).exists()
    assert not assessments.exclude(assessor=F("episode__assessor")).exists()
    assert not assessments.filter(assessment_date__lt=F("episode__opened_on")).exists()
    assert not assessments.filter(started_on__gt=F("assessment_date")).exists()
    versions = Counter(
        AssessmentVersion.objects.filter(assessment__in=assessments).values_list("assessment_id", flat=True)
    )
    consents = ConsentRecord.objects.filter(episode__in=episodes)
    given = {(c.episode_id, c.person_id): c for c in consents}
    members = defaultdict(set)
    for assessment_id, person_id in Assessment.members.through.objects.filter(
        assessment__in=assessments
    ).values_list("assessment_id", "person_id"):
        members[assessment_id].add(person_id)
    family_people = set(FamilyMember.objects.filter(family__in=large).values_list("family_id", "person_id"))
    for a in assessments:
        e = a.episode
        assert members[a.pk] and all((e.family_id, p) in family_people for p in members[a.pk]), a.pk
        assert all(given[(e.pk, p)].given_on <= a.assessment_date for p in members[a.pk]), a.pk
        if a.status == AssessmentStatus.DRAFT:
            assert a.completed_at is None and versions[a.pk] == 0, a.pk
        else:
            assert versions[a.pk] >= 1 and a.completed_at is not None, a.pk
            assert a.content["needs"] and a.content["scores"], a.pk
            if e.closed_on:
                assert timezone.localtime(a.completed_at).date() <= e.closed_on, a.pk
        if a.status == AssessmentStatus.SIGNED_OFF:
            assert a.signed_off_by_id not in (None, a.assessor_id) and a.signed_off_at >= a.completed_at, a.pk
        else:
            assert a.signed_off_at is None, a.pk
    last = {
        v.assessment_id: v
        for v in AssessmentVersion.objects.filter(assessment__in=assessments).order_by(
            "assessment_id", "number"
        )
    }
    for a in assessments.exclude(status=AssessmentStatus.DRAFT):
        assert last[a.pk].outcome == ("" if a.status == AssessmentStatus.COMPLETED else a.status), a.pk
    assert any(n == 2 for n in versions.values())  # returned after the first meeting, then signed off
    # Consent for each member covered, a parent for younger children; withdrawals when the family
    # withdrew consent at closure, and a member withdrawn from a draft.
    assert consents.count() == sum(len(m) for m in members.values())
    assert consents.exclude(given_by=F("person")).exists()
    withdrawn = consents.exclude(withdrawn_on=None)
    assert not withdrawn.filter(withdrawal_reason="").exists()
    assert not withdrawn.filter(withdrawn_on__lt=F("given_on")).exists()
    for e in episodes.filter(
        closure_reason=ClosureReason.CONSENT_WITHDRAWN, consents__isnull=False
    ).distinct():
        assert not e.consents.exclude(withdrawn_on=e.closed_on).exists(), e.pk
    assert withdrawn.filter(episode__status=EpisodeStatus.ASSESSMENT).exists()
    lines = ChronologyEntry.objects.filter(family__in=large, kind=ChronologyKind.ASSESSMENT)
    assert lines.filter(title="Early help assessment started").count() == assessments.count()
    assert lines.filter(title="Early help assessment completed").count() == sum(versions.values())


def large_tier_claims_are_consistent(large):
    """Supporting Families claims for a share of the episodes closed with their outcomes achieved."""
    claims = SupportingFamiliesClaim.objects.filter(family__in=large).select_related("episode")
    achieved = Episode.objects.filter(family__in=large, closure_reason=ClosureReason.OUTCOMES_ACHIEVED)
    assert 0.3 * achieved.count() <= claims.count() <= achieved.count()
    assert len(set(claims.values_list("status", flat=True))) >= 3
    met = set(
        IdentifiedNeed.objects.filter(episode__in=achieved, outcome="met").values_list(
            "episode_id", "area_id"
        )
    )
    areas = defaultdict(set)
    for claim_id, area_id in SupportingFamiliesClaim.areas.through.objects.filter(
        supportingfamiliesclaim__in=claims
    ).values_list("supportingfamiliesclaim_id", "outcomearea_id"):
        areas[claim_id].add(area_id)
    ehms = set(Membership.objects.filter(role=Role.EARLY_HELP_MANAGER).values_list("user_id", flat=True))
    for c in claims:
        e = c.episode
        assert e.family_id == c.family_id and e.closure_reason == ClosureReason.OUTCOMES_ACHIEVED, c.pk
        assert e.closed_on < c.status_changed_on <= timezone.localdate(), c.pk
        assert areas[c.pk] and all((e.pk, a) in met for a in areas[c.pk]), c.pk
        assert c.created_by_id == e.lead_professional_id, c.pk
        assert c.status == ClaimStatus.DRAFT or c.updated_by_id in ehms, c.pk
        assert c.created_at <= c.updated_at and c.evidence, c.pk
    assert len({c.episode_id for c in claims}) == claims.count()


@override_settings(DEMO_DATA_ALLOWED=False)
def test_refuses_where_demo_data_is_not_allowed():
    with pytest.raises(CommandError, match="DEMO_DATA_ALLOWED is False"):
        seed()
    with pytest.raises(CommandError, match="DEMO_DATA_ALLOWED is False"):
        seed(families=10)
    assert not Family.objects.exists()
    assert not User.objects.filter(username="sam.practitioner").exists()
