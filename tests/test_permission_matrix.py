"""Persona × route × method → expected status, for every route the project serves.

`test_every_route_has_a_row` fails when a new route is added without rows here.
Family-scoped routes use the Ashworth family: Sam is its lead professional (change), Hana is in
its TAF (read), Chris coordinates its hub (change), Alex manages Sam's agency (read), Morgan and
Quinn are partnership-wide (read); Ola (another hub) and the system administrator get 404.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests import (
    matrix_rows_disclosure,
    matrix_rows_hardening,
    matrix_rows_oversight,
    matrix_rows_retention,
    matrix_rows_security,
)
from tests.matrix_support import ANON, PERSONAS, _row


def ashworth(p):
    return {"family_id": p.ashworth.pk}


def ashworth_person(p):
    return {"family_id": p.ashworth.pk, "person_id": p.ashworth.members.order_by("id").first().person_id}


def ashworth_episode(p) -> dict:
    """An open episode for the Ashworth family (Sam assessor), Kerry in its team, a meeting next week."""
    import datetime as dt

    from django.utils import timezone

    from assessments.services import action_add
    from pathway import services
    from pathway.models import Episode, LevelOfNeed

    episode = Episode.objects.filter(family=p.ashworth).first()
    if episode is None:
        episode = services.episode_start_directly(
            actor=p.sam,
            family=p.ashworth,
            level=LevelOfNeed.objects.get(code="3"),
            consent_given_by="Kerry",
            consent_on=timezone.localdate(),
        )
        kerry = p.ashworth.members.get(person__first_name="Kerry").person
        services.taf_add_family_member(
            actor=p.sam, episode=episode, person=kerry, role="Mother", joined_on=timezone.localdate()
        )
        services.meeting_schedule(
            actor=p.sam,
            episode=episode,
            starts_at=timezone.now() + dt.timedelta(days=7),
            location="School",
            online=False,
            invited=[],
        )
        action_add(
            actor=p.sam,
            episode=episode,
            description="Walk to school together",
            owner_person=kerry,
            due_on=timezone.localdate() + dt.timedelta(days=7),
        )
    return {
        "episode_id": episode.pk,
        "member_id": episode.taf_members.get(person__isnull=False).pk,
        "meeting_id": episode.meetings.get().pk,
        "action_id": episode.actions.get(description="Walk to school together").pk,
    }


def episode_kwargs(p):
    return {"episode_id": ashworth_episode(p)["episode_id"]}


def member_kwargs(p):
    ids = ashworth_episode(p)
    return {"episode_id": ids["episode_id"], "member_id": ids["member_id"]}


def action_kwargs(p):
    return {"action_id": ashworth_episode(p)["action_id"]}


def ashworth_assessment(p) -> dict:
    """Consent recorded for the Ashworth family (Kerry's with a signed form), Sam's assessment completed
    once and returned by Alex (so version 1 is kept and Sam may edit again), a plan outcome, and an
    action owned by Hana (a TAF member updates her own action)."""
    import datetime as dt

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from assessments import services as eha
    from assessments.models import Assessment, ConsentRecord
    from tests.factories import consent_everyone

    ids = ashworth_episode(p)
    assessment = Assessment.objects.filter(episode_id=ids["episode_id"]).first()
    if assessment is None:
        from pathway.models import Episode

        episode = Episode.objects.get(pk=ids["episode_id"])
        kerry = p.ashworth.members.get(person__first_name="Kerry").person
        eha.consent_record(
            actor=p.sam,
            episode=episode,
            person=kerry,
            given_by=kerry,
            given_on=timezone.localdate(),
            method="written",
            agrees_to_sharing=True,
            sharing_basis="consent",
            evidence=SimpleUploadedFile("signed.pdf", b"%PDF-1.4 signed", content_type="application/pdf"),
        )
        consent_everyone(actor=p.sam, episode=episode)
        people = [m.person for m in p.ashworth.members.select_related("person")]
        assessment = eha.assessment_start(
            actor=p.sam, episode=episode, members=people, assessment_date=timezone.localdate()
        )
        assessment = eha.assessment_save(
            actor=p.sam,
            assessment=assessment,
            expected_version=assessment.version,
            changes={
                "domains": {"child.health": "Well"},
                "family_view": "Calmer mornings",
                "needs": [{"area": "education", "description": "School on time"}],
                "scores": {"education": 4},
            },
        )
        assessment = eha.assessment_complete(
            actor=p.sam, assessment=assessment, expected_version=assessment.version
        )
        eha.assessment_decide(actor=p.alex, assessment=assessment, sign_off=False, comments="Say more")
        eha.plan_outcome_add(actor=p.sam, episode=episode, wording="Calm mornings")
        eha.action_add(
            actor=p.sam,
            episode=episode,
            description="Home visit",
            owner_user=p.hana,
            due_on=timezone.localdate() + dt.timedelta(days=3),
        )
    episode_id = ids["episode_id"]
    return {
        "assessment_id": assessment.pk,
        "consent_id": ConsentRecord.objects.filter(episode_id=episode_id).exclude(evidence_name="").get().pk,
        "outcome_id": assessment.episode.plan_outcomes.get().pk,
        "hana_action_id": assessment.episode.actions.get(owner_user=p.hana).pk,
    }


def assessed_episode(p):
    ashworth_assessment(p)
    return episode_kwargs(p)


def assessment_kwargs(p):
    return {"assessment_id": ashworth_assessment(p)["assessment_id"]}


def assessment_section_kwargs(p):
    return {"assessment_id": ashworth_assessment(p)["assessment_id"], "section": "domain-child"}


def assessment_version_kwargs(p):
    return {"assessment_id": ashworth_assessment(p)["assessment_id"], "number": 1}


def consent_kwargs(p):
    return {"consent_id": ashworth_assessment(p)["consent_id"]}


def outcome_kwargs(p):
    return {"outcome_id": ashworth_assessment(p)["outcome_id"]}


def hanas_action(p):
    return {"action_id": ashworth_assessment(p)["hana_action_id"]}


def bennett_request(p):
    """A request Sam sent to the North hub for the Bennett family."""
    from django.utils import timezone

    from hubs import services as hub_services
    from hubs.models import RequestForSupport
    from pathway.models import OutcomeArea

    sent = RequestForSupport.objects.filter(family=p.bennett, referrer=p.sam).exclude(status="draft").first()
    if sent is None:
        draft = hub_services.request_save_draft(
            actor=p.sam,
            family=p.bennett,
            needs=[OutcomeArea.objects.get(code="education")],
            data={
                "source": "2A",
                "urgency": "routine",
                "reasons": "Attendance",
                "consent_given": True,
                "consent_by": "Lee",
                "consent_on": timezone.localdate(),
                "consent_method": "verbal",
            },
        )
        sent = hub_services.request_submit(actor=p.sam, request=draft)
    return sent


def bennett_draft(p):
    """A draft request Sam started for the Bennett family."""
    from hubs.models import RequestForSupport
    from hubs.services import request_save_draft

    draft = RequestForSupport.objects.filter(referrer=p.sam, family=p.bennett, status="draft").first()
    return {"request_id": (draft or request_save_draft(actor=p.sam, family=p.bennett, data={})).pk}


def north_hub(p):
    return {"hub_id": p.north.pk}


def north_meeting(p):
    import datetime as dt

    from django.utils import timezone

    from hubs.models import HubMeeting
    from hubs.services import hub_meeting_schedule

    meeting = HubMeeting.objects.filter(hub=p.north).first() or hub_meeting_schedule(
        actor=p.chris, hub=p.north, starts_at=timezone.now() + dt.timedelta(days=2), location="Morpeth hub"
    )
    return {"meeting_id": meeting.pk}


def hub_request(p):
    return {"request_id": bennett_request(p).pk}


def request_kwargs(p):
    return {"pk": bennett_request(p).pk}


def api_episode(p):
    return {"pk": ashworth_episode(p)["episode_id"]}


def api_meeting(p):
    return {"pk": ashworth_episode(p)["meeting_id"]}


def api_member(p):
    return {"pk": ashworth_episode(p)["member_id"]}


def api_consent(p):
    return {"pk": ashworth_assessment(p)["consent_id"]}


def api_assessment(p):
    return {"pk": ashworth_assessment(p)["assessment_id"]}


def meeting_kwargs(p):
    return {"meeting_id": ashworth_episode(p)["meeting_id"]}


def sams_claimable_episode(p):
    """The Ashworth episode of ashworth_episode with Sam agreed as lead professional and a need."""
    from django.utils import timezone

    from pathway import services
    from pathway.models import Episode, OutcomeArea

    episode = Episode.objects.get(pk=ashworth_episode(p)["episode_id"])
    if episode.lead_professional_id != p.sam.pk:
        services.lead_professional_set(
            actor=p.sam,
            episode=episode,
            user=p.sam,
            family_view="Kerry chose Sam",
            started_on=timezone.localdate(),
        )
        education = OutcomeArea.objects.get(code="education")
        services.need_add(actor=p.sam, episode=episode, area=education, description="School on time")
    return episode


def sams_draft_claim(p) -> dict:
    """Sam's draft Supporting Families claim (education) on sams_claimable_episode."""
    from pathway import claims
    from pathway.models import OutcomeArea, SupportingFamiliesClaim

    episode = sams_claimable_episode(p)
    claim = SupportingFamiliesClaim.objects.filter(episode=episode).first()
    if claim is None:
        education = OutcomeArea.objects.get(code="education")
        claim = claims.claim_create(
            actor=p.sam, episode=episode, areas=[education], evidence="96% attendance"
        )
    return {"episode_id": episode.pk, "claim_id": claim.pk}


def claim_episode_kwargs(p):
    return {"episode_id": sams_draft_claim(p)["episode_id"]}


def claim_kwargs(p):
    return {"claim_id": sams_draft_claim(p)["claim_id"]}


def sams_notification(p):
    """A notification of Sam's: only he may mark it read; anyone else gets 404."""
    from ehcase.notifications.models import Notification

    notification = Notification.objects.filter(recipient=p.sam).first() or Notification.objects.create(
        recipient=p.sam, kind="review_due", title="Review due", body="Review due", url="/my-work/"
    )
    return {"notification_id": notification.pk}


def sams_pdf_job(p):
    """Sam's job for the Ashworth assessment PDF, rendered (the task called directly): only he may see
    it or download it; everyone else, readers of the family included, gets 404."""
    from assessments.models import AssessmentPdfJob
    from assessments.permissions import assessment_for_user
    from assessments.services import assessment_pdf_request, pdf_job_render

    assessment_id = ashworth_assessment(p)["assessment_id"]
    job = AssessmentPdfJob.objects.filter(requested_by=p.sam, assessment_id=assessment_id).first()
    if job is None:
        assessment = assessment_for_user(user=p.sam, assessment_id=assessment_id)
        job = assessment_pdf_request(actor=p.sam, assessment=assessment, version=None)
        pdf_job_render(job_id=job.pk)
    return {"job_id": job.pk}


# Readers of the Ashworth record and those who may change it.
FAMILY_READ = _row(
    sam=200, hana=200, chris=200, alex=200, morgan=200, quinn=200, ola=404, admin=404, anon=302
)
FAMILY_CHANGE = _row(
    sam=200, chris=200, hana=403, alex=403, morgan=403, quinn=403, ola=404, admin=404, anon=302
)
CASE_WORKERS = _row(admin=404, anon=302, others=200)
ASSESSOR = _row(sam=200, hana=403, chris=403, alex=403, morgan=403, quinn=403, ola=404, admin=404, anon=302)
SIGN_OFF = _row(alex=302, morgan=302, sam=403, hana=403, chris=403, quinn=403, ola=404, admin=404, anon=302)
API_SIGNED_IN = _row(anon=401, others=200)
API_FAMILY_READ = {**FAMILY_READ, ANON: 401}
# An empty body is a 400 for those allowed to add a member: the access check comes first.
API_FAMILY_CHANGE = {**FAMILY_CHANGE, ANON: 401, "sam.practitioner": 400, "chris.coordinator": 400}
# Only the assessor (Sam) writes the assessment; a manager of his agency (Alex) or an early help manager
# (Morgan) decides on it. An empty body is a 400 for them.
API_ASSESSOR = _row(
    sam=400, hana=403, chris=403, alex=403, morgan=403, quinn=403, ola=404, admin=404, anon=401
)
API_SIGN_OFF = _row(
    alex=400, morgan=400, sam=403, hana=403, chris=403, quinn=403, ola=404, admin=404, anon=401
)
NOTE_WRITERS = _row(
    sam=200, hana=200, chris=200, alex=403, morgan=403, quinn=403, ola=404, admin=404, anon=302
)
PRACTITIONERS = _row(
    sam=200, hana=200, ola=200, chris=404, alex=404, morgan=404, quinn=404, admin=404, anon=302
)
OVERSEERS = _row(chris=200, alex=200, morgan=200, quinn=200, sam=404, hana=404, ola=404, admin=404, anon=302)
CLAIM_DRAFTERS = _row(
    sam=200, morgan=200, hana=403, chris=403, alex=403, quinn=403, ola=404, admin=404, anon=302
)
CLAIM_MANAGER = _row(
    morgan=200, sam=403, hana=403, chris=403, alex=403, quinn=403, ola=404, admin=404, anon=302
)
HUB_READ = _row(chris=200, morgan=200, quinn=200, anon=302, others=404)
HUB_ACT = _row(chris=200, morgan=403, quinn=403, anon=302, others=404)
CREATORS_REDIRECT = _row(
    sam=302, hana=302, chris=302, ola=302, alex=404, morgan=404, quinn=404, admin=404, anon=302
)
OWN_DRAFT = _row(sam=200, anon=302, others=404)
OWN_DRAFT_REDIRECT = _row(sam=302, anon=302, others=404)
CREATORS = _row(sam=200, hana=200, chris=200, ola=200, alex=404, morgan=404, quinn=404, admin=404, anon=302)

# (route name, url kwargs, method, form data, expected statuses)
MATRIX = [
    (
        "home",
        None,
        "get",
        None,
        _row(admin=302, anon=302, alex=302, sam=302, hana=302, chris=302, morgan=302, quinn=302, ola=302),
    ),
    ("ehcase:family-list", None, "get", None, CASE_WORKERS),
    ("ehcase:family-create", None, "get", None, CREATORS),
    ("ehcase:family-create", None, "post", {}, CREATORS),
    ("ehcase:family-detail", ashworth, "get", None, FAMILY_READ),
    ("ehcase:family-history", ashworth, "get", None, FAMILY_READ),
    ("ehcase:family-edit", ashworth, "get", None, FAMILY_CHANGE),
    ("ehcase:family-edit", ashworth, "post", {}, FAMILY_CHANGE),
    ("ehcase:member-add", ashworth, "get", None, FAMILY_CHANGE),
    ("ehcase:member-add", ashworth, "post", {}, FAMILY_CHANGE),
    ("ehcase:relationship-add", ashworth, "get", None, FAMILY_CHANGE),
    ("ehcase:relationship-add", ashworth, "post", {}, FAMILY_CHANGE),
    ("ehcase:person-detail", ashworth_person, "get", None, FAMILY_READ),
    ("ehcase:person-edit", ashworth_person, "get", None, FAMILY_CHANGE),
    ("ehcase:person-edit", ashworth_person, "post", {}, FAMILY_CHANGE),
    ("ehcase:member-end", ashworth_person, "get", None, FAMILY_CHANGE),
    ("ehcase:member-end", ashworth_person, "post", {}, FAMILY_CHANGE),
    # The pathway: the Ashworth episode (Sam assessor; Chris coordinates its hub).
    ("pathway:episode-start", ashworth, "get", None, FAMILY_CHANGE),
    ("pathway:episode-start", ashworth, "post", {}, FAMILY_CHANGE),
    ("pathway:step-down", ashworth, "get", None, FAMILY_CHANGE),
    ("pathway:step-down", ashworth, "post", {}, FAMILY_CHANGE),
    ("pathway:chronology", ashworth, "get", None, FAMILY_READ),
    ("pathway:case-note-add", ashworth, "get", None, NOTE_WRITERS),
    ("pathway:case-note-add", ashworth, "post", {}, NOTE_WRITERS),
    ("pathway:episode-detail", episode_kwargs, "get", None, FAMILY_READ),
    ("pathway:meeting-detail", meeting_kwargs, "get", None, FAMILY_READ),
    ("pathway:my-work", None, "get", None, PRACTITIONERS),
    ("pathway:caseloads", None, "get", None, OVERSEERS),
    # Quarterly performance: agency managers, hub coordinators and the partnership-wide roles.
    ("assessments:sign-off-queue", None, "get", None, _row(alex=200, morgan=200, anon=302, others=404)),
    ("reporting:dashboard", None, "get", None, OVERSEERS),
    ("reporting:drilldown", None, "get", {"indicator": "episodes_opened"}, OVERSEERS),
    (
        "reporting:recalculate",
        None,
        "post",
        None,
        _row(chris=302, alex=302, morgan=302, quinn=302, sam=404, hana=404, ola=404, admin=404, anon=302),
    ),
    ("reporting:csv", lambda p: {"table": "all"}, "get", None, OVERSEERS),
    ("reporting:board-pack", None, "get", None, OVERSEERS),
    (
        "reporting:board-pack",
        None,
        "post",
        {},
        _row(chris=302, alex=302, morgan=302, quinn=403, sam=404, hana=404, ola=404, admin=404, anon=302),
    ),
    ("reporting:board-pack-pdf", None, "get", None, OVERSEERS),
    ("api:indicators", None, "get", None, {**OVERSEERS, ANON: 401}),
    ("pathway:episode-level", episode_kwargs, "get", None, FAMILY_CHANGE),
    ("pathway:episode-level", episode_kwargs, "post", {}, FAMILY_CHANGE),
    ("pathway:taf-add", episode_kwargs, "get", None, FAMILY_CHANGE),
    ("pathway:taf-add", episode_kwargs, "post", {}, FAMILY_CHANGE),
    ("pathway:taf-remove", member_kwargs, "get", None, FAMILY_CHANGE),
    ("pathway:taf-remove", member_kwargs, "post", {}, FAMILY_CHANGE),
    ("pathway:lead-change", episode_kwargs, "get", None, FAMILY_CHANGE),
    ("pathway:lead-change", episode_kwargs, "post", {}, FAMILY_CHANGE),
    ("pathway:meeting-new", episode_kwargs, "get", None, FAMILY_CHANGE),
    ("pathway:meeting-new", episode_kwargs, "post", {}, FAMILY_CHANGE),
    ("pathway:need-add", episode_kwargs, "get", None, FAMILY_CHANGE),
    ("pathway:need-add", episode_kwargs, "post", {}, FAMILY_CHANGE),
    ("pathway:baseline", episode_kwargs, "get", None, FAMILY_CHANGE),
    ("pathway:baseline", episode_kwargs, "post", {}, FAMILY_CHANGE),
    ("pathway:review-new", episode_kwargs, "get", None, FAMILY_CHANGE),
    ("pathway:review-new", episode_kwargs, "post", {}, FAMILY_CHANGE),
    ("pathway:episode-step-up", episode_kwargs, "get", None, FAMILY_CHANGE),
    ("pathway:episode-step-up", episode_kwargs, "post", {}, FAMILY_CHANGE),
    ("pathway:episode-close", episode_kwargs, "get", None, FAMILY_CHANGE),
    ("pathway:episode-close", episode_kwargs, "post", {}, FAMILY_CHANGE),
    # Supporting Families claims: the lead professional and early help managers draft; managers move them on.
    ("pathway:claim-new", claim_episode_kwargs, "get", None, CLAIM_DRAFTERS),
    ("pathway:claim-new", claim_episode_kwargs, "post", {}, CLAIM_DRAFTERS),
    ("pathway:claim-edit", claim_kwargs, "get", None, CLAIM_DRAFTERS),
    ("pathway:claim-edit", claim_kwargs, "post", {}, CLAIM_DRAFTERS),
    ("pathway:claim-status", claim_kwargs, "get", None, CLAIM_MANAGER),
    ("pathway:claim-status", claim_kwargs, "post", {}, CLAIM_MANAGER),
    ("pathway:meeting-record", meeting_kwargs, "get", None, FAMILY_CHANGE),
    ("pathway:meeting-record", meeting_kwargs, "post", {}, FAMILY_CHANGE),
    ("pathway:meeting-cancel", meeting_kwargs, "get", None, FAMILY_CHANGE),
    ("pathway:meeting-cancel", meeting_kwargs, "post", {}, FAMILY_CHANGE),
    ("assessments:action-add", episode_kwargs, "get", None, FAMILY_CHANGE),
    ("assessments:action-add", episode_kwargs, "post", {}, FAMILY_CHANGE),
    ("assessments:action-update", action_kwargs, "get", None, FAMILY_CHANGE),
    ("assessments:action-update", action_kwargs, "post", {}, FAMILY_CHANGE),
    # Hana (TAF) updates her own action; those who manage the episode may update any.
    ("assessments:action-update", hanas_action, "get", None, {**FAMILY_CHANGE, "hana.healthvisitor": 200}),
    ("assessments:action-update", hanas_action, "post", {}, {**FAMILY_CHANGE, "hana.healthvisitor": 200}),
    # Consent, the assessment (Sam's, returned by Alex with version 1 kept) and the plan's outcomes.
    ("assessments:consent-list", episode_kwargs, "get", None, FAMILY_READ),
    ("assessments:consent-add", episode_kwargs, "get", None, FAMILY_CHANGE),
    ("assessments:consent-add", episode_kwargs, "post", {}, FAMILY_CHANGE),
    ("assessments:consent-withdraw", consent_kwargs, "get", None, FAMILY_CHANGE),
    ("assessments:consent-withdraw", consent_kwargs, "post", {}, FAMILY_CHANGE),
    ("assessments:consent-evidence", consent_kwargs, "get", None, FAMILY_READ),
    # Sam is redirected to the assessment in progress; only practitioners who manage the episode start one.
    (
        "assessments:assessment-start",
        assessed_episode,
        "get",
        None,
        {**FAMILY_CHANGE, "sam.practitioner": 302, "chris.coordinator": 403},
    ),
    (
        "assessments:assessment-start",
        assessed_episode,
        "post",
        {},
        {**FAMILY_CHANGE, "sam.practitioner": 302, "chris.coordinator": 403},
    ),
    ("assessments:assessment-detail", assessment_kwargs, "get", None, FAMILY_READ),
    ("assessments:assessment-version", assessment_version_kwargs, "get", None, FAMILY_READ),
    # Only the assessor writes the assessment.
    ("assessments:assessment-section", assessment_section_kwargs, "get", None, ASSESSOR),
    ("assessments:assessment-section", assessment_section_kwargs, "post", {}, ASSESSOR),
    (
        "assessments:assessment-autosave",
        assessment_kwargs,
        "post",
        {"section": "domain-child", "version": 0},
        ASSESSOR,
    ),
    ("assessments:assessment-check", assessment_kwargs, "get", None, ASSESSOR),
    ("assessments:assessment-check", assessment_kwargs, "post", {}, ASSESSOR),
    # Sign-off: a manager of the assessor's agency (Alex) or an early help manager (Morgan), never the
    # assessor. The assessment is back with Sam, so they are sent to its page.
    ("assessments:assessment-decide", assessment_kwargs, "get", None, SIGN_OFF),
    ("assessments:assessment-decide", assessment_kwargs, "post", {}, SIGN_OFF),
    ("assessments:outcome-add", episode_kwargs, "get", None, FAMILY_CHANGE),
    ("assessments:outcome-add", episode_kwargs, "post", {}, FAMILY_CHANGE),
    ("assessments:outcome-edit", outcome_kwargs, "get", None, FAMILY_CHANGE),
    ("assessments:outcome-edit", outcome_kwargs, "post", {}, FAMILY_CHANGE),
    # The PDFs: everyone who may see the family downloads both (tests/assessments/test_pdf.py).
    # Asking for the assessment PDF makes (or reuses) the asker's job and sends them to its page; the
    # job's page and its download are the asker's alone (tests/assessments/test_pdf_jobs.py).
    (
        "assessments:assessment-pdf",
        assessment_kwargs,
        "post",
        {},
        _row(sam=302, hana=302, chris=302, alex=302, morgan=302, quinn=302, ola=404, admin=404, anon=302),
    ),
    ("assessments:assessment-pdf", assessment_kwargs, "get", None, _row(anon=302, others=405)),
    ("assessments:pdf-job", sams_pdf_job, "get", None, _row(sam=200, anon=302, others=404)),
    ("assessments:pdf-job-download", sams_pdf_job, "get", None, _row(sam=200, anon=302, others=404)),
    ("assessments:plan-pdf", assessed_episode, "get", None, FAMILY_READ),
    # The pathway API: reads for every persona; writes with an empty body (400 for those allowed).
    ("api:episode-list", None, "get", None, API_SIGNED_IN),
    ("api:level-of-need-list", None, "get", None, API_SIGNED_IN),
    ("api:outcome-area-list", None, "get", None, API_SIGNED_IN),
    ("api:family-episode-list", lambda p: {"pk": p.ashworth.pk}, "get", None, API_FAMILY_READ),
    ("api:family-episode-list", lambda p: {"pk": p.ashworth.pk}, "post", {}, API_FAMILY_CHANGE),
    ("api:family-episode-step-down", lambda p: {"pk": p.ashworth.pk}, "post", {}, API_FAMILY_CHANGE),
    ("api:episode-detail", api_episode, "get", None, API_FAMILY_READ),
    ("api:episode-distance-travelled", api_episode, "get", None, API_FAMILY_READ),
    ("api:meeting-detail", api_meeting, "get", None, API_FAMILY_READ),
    ("api:meeting-record", api_meeting, "post", {}, API_FAMILY_CHANGE),
    ("api:taf-member-remove", api_member, "post", {}, API_FAMILY_CHANGE),
    ("api:episode-taf-members", api_episode, "get", None, API_FAMILY_READ),
    ("api:episode-taf-members", api_episode, "post", {}, API_FAMILY_CHANGE),
    ("api:episode-meetings", api_episode, "get", None, API_FAMILY_READ),
    ("api:episode-meetings", api_episode, "post", {}, API_FAMILY_CHANGE),
    ("api:episode-needs", api_episode, "get", None, API_FAMILY_READ),
    ("api:episode-needs", api_episode, "post", {}, API_FAMILY_CHANGE),
    ("api:episode-reviews", api_episode, "get", None, API_FAMILY_READ),
    ("api:episode-reviews", api_episode, "post", {}, API_FAMILY_CHANGE),
    ("api:episode-level", api_episode, "post", {}, API_FAMILY_CHANGE),
    ("api:episode-step-up", api_episode, "post", {}, API_FAMILY_CHANGE),
    ("api:episode-close", api_episode, "post", {}, API_FAMILY_CHANGE),
    ("api:episode-lead-professional", api_episode, "post", {}, API_FAMILY_CHANGE),
    ("api:episode-baseline", api_episode, "post", {}, API_FAMILY_CHANGE),
    # The consent, assessment and plan API on the same record (ashworth_assessment); tests/api/test_api.py
    # has valid bodies. Empty bodies here: a 400 for those allowed, after the access checks.
    ("api:episode-consent-list", api_episode, "get", None, API_FAMILY_READ),
    ("api:episode-consent-list", api_episode, "post", {}, API_FAMILY_CHANGE),
    ("api:consent-detail", api_consent, "get", None, API_FAMILY_READ),
    ("api:consent-withdraw", api_consent, "post", {}, API_FAMILY_CHANGE),
    ("api:episode-assessment-list", api_episode, "get", None, API_FAMILY_READ),
    ("api:episode-assessment-list", api_episode, "post", {}, {**API_FAMILY_CHANGE, "chris.coordinator": 403}),
    ("api:assessment-detail", api_assessment, "get", None, API_FAMILY_READ),
    ("api:assessment-detail", api_assessment, "patch", {}, API_ASSESSOR),
    ("api:assessment-complete", api_assessment, "post", {}, API_ASSESSOR),
    ("api:assessment-decide", api_assessment, "post", {}, API_SIGN_OFF),
    (
        "api:assessment-version",
        lambda p: {**api_assessment(p), "number": 1},
        "get",
        None,
        API_FAMILY_READ,
    ),
    ("api:episode-plan-list", api_episode, "get", None, API_FAMILY_READ),
    ("api:episode-outcome-list", api_episode, "post", {}, API_FAMILY_CHANGE),
    (
        "api:outcome-detail",
        lambda p: {"pk": ashworth_assessment(p)["outcome_id"]},
        "patch",
        {},
        API_FAMILY_CHANGE,
    ),
    ("api:episode-action-list", api_episode, "post", {}, API_FAMILY_CHANGE),
    (
        "api:action-detail",
        lambda p: {"pk": ashworth_assessment(p)["hana_action_id"]},
        "patch",
        {},
        {**API_FAMILY_CHANGE, "hana.healthvisitor": 400},
    ),
    # Requests for support (a request Sam sent for the Bennett family, North hub).
    ("api:request-list", None, "get", None, API_SIGNED_IN),
    (
        "api:request-list",
        None,
        "post",
        {},
        _row(sam=400, hana=400, chris=400, ola=400, alex=403, morgan=403, quinn=403, admin=403, anon=401),
    ),
    (
        "api:request-detail",
        request_kwargs,
        "get",
        None,
        _row(sam=200, chris=200, morgan=200, quinn=200, hana=404, alex=404, ola=404, admin=404, anon=401),
    ),
    (
        "api:request-decide",
        request_kwargs,
        "post",
        {},
        _row(chris=400, sam=403, morgan=403, quinn=403, hana=404, alex=404, ola=404, admin=404, anon=401),
    ),
    # The referrer's pages: practitioners and coordinators start requests; a draft is its referrer's alone.
    ("referrals:start", None, "get", None, CREATORS),
    ("referrals:start", None, "post", {}, CREATORS),
    ("referrals:matches", None, "get", None, CREATORS_REDIRECT),  # no search in the session: back to start
    ("referrals:matches", None, "post", {}, CREATORS_REDIRECT),
    ("referrals:family-new", None, "get", None, CREATORS),
    ("referrals:family-new", None, "post", {}, CREATORS),
    *[
        (name, bennett_draft, method, data, OWN_DRAFT)
        for name in (
            "referrals:people",
            "referrals:needs",
            "referrals:source",
            "referrals:tried",
            "referrals:consent",
            "referrals:check",
        )
        for method, data in (("get", None), ("post", {}))
    ],
    ("referrals:sent", bennett_draft, "get", None, OWN_DRAFT_REDIRECT),  # still a draft: to the check page
    ("referrals:my-requests", None, "get", None, CREATORS),
    ("referrals:my-request", bennett_draft, "get", None, OWN_DRAFT),
    # The hub's pages: coordinators of the North hub act; partnership-wide roles read; the referrer
    # and everyone else get 404 (the referrer has My requests).
    ("hubs:hub-list", None, "get", None, _row(chris=302, morgan=200, quinn=200, anon=302, others=404)),
    ("hubs:queue", north_hub, "get", None, HUB_READ),
    ("hubs:meeting-list", north_hub, "get", None, HUB_READ),
    ("hubs:meeting-new", north_hub, "get", None, HUB_ACT),
    ("hubs:meeting-new", north_hub, "post", {}, HUB_ACT),
    ("hubs:meeting-detail", north_meeting, "get", None, HUB_READ),
    ("hubs:meeting-detail", north_meeting, "post", {}, HUB_ACT),
    ("hubs:request-detail", hub_request, "get", None, HUB_READ),
    ("hubs:request-decide", hub_request, "get", None, HUB_ACT),
    ("hubs:request-decide", hub_request, "post", {}, HUB_ACT),
    # The notification centre: everyone signed in has their own; another's notification is a 404.
    ("notifications:list", None, "get", None, _row(anon=302, others=200)),
    ("notifications:read-all", None, "post", {}, _row(others=302)),
    ("notifications:preferences", None, "get", None, _row(anon=302, others=200)),
    ("notifications:preferences", None, "post", {}, _row(anon=302, others=200)),  # empty: the form again
    ("notifications:read", sams_notification, "post", {}, _row(sam=302, anon=302, others=404)),
    ("login", None, "get", None, _row(anon=200, others=302)),
    ("logout", None, "post", {}, _row(others=302)),
    ("admin:index", None, "get", None, _row(admin=200, others=302)),
    ("healthz", None, "get", None, _row(others=503)),  # no Celery worker in this test: 503 naming it
    ("schema", None, "get", None, _row(others=200)),
    ("api-docs", None, "get", None, _row(others=200)),
    ("api-token", None, "post", {}, _row(others=400)),
    # The API: reads here for every persona and the signed-out; tests/api/test_api.py adds every
    # write route with valid bodies, so that statuses there say only who is allowed.
    ("api:api-root", None, "get", None, API_SIGNED_IN),
    ("api:agency-list", None, "get", None, API_SIGNED_IN),
    ("api:agency-detail", lambda p: {"pk": p.riverside.pk}, "get", None, API_SIGNED_IN),
    ("api:hub-list", None, "get", None, API_SIGNED_IN),
    ("api:hub-detail", lambda p: {"pk": p.north.pk}, "get", None, API_SIGNED_IN),
    ("api:family-list", None, "get", None, API_SIGNED_IN),
    ("api:family-detail", lambda p: {"pk": p.ashworth.pk}, "get", None, API_FAMILY_READ),
    ("api:family-members", lambda p: {"pk": p.ashworth.pk}, "post", {}, API_FAMILY_CHANGE),
    ("api:person-list", None, "get", None, API_SIGNED_IN),
    ("api:person-detail", lambda p: {"pk": ashworth_person(p)["person_id"]}, "get", None, API_FAMILY_READ),
    # Information governance and security: each area keeps its rows beside its own fixtures.
    *matrix_rows_security.ROWS,
    *matrix_rows_hardening.ROWS,
    *matrix_rows_oversight.ROWS,
    *matrix_rows_disclosure.ROWS,
    *matrix_rows_retention.ROWS,
]


def _route_names(resolver=None, namespace: str = "") -> set[str]:
    resolver = resolver or get_resolver()
    names: set[str] = set()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= _route_names(pattern, ns)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(namespace + pattern.name)
    return names


def test_every_route_has_a_row():
    covered = {row[0] for row in MATRIX}
    # Django admin's own pages are reached only by system administrators (staff): its index stands for them.
    routes = {name for name in _route_names() if not name.startswith("admin:")} | {"admin:index"}
    missing = routes - covered
    assert not missing, f"routes without a permission-matrix row: {sorted(missing)}"


ROUTE_CASES = [
    pytest.param(name, kwargs, method, data, expected, id=f"{name}-{method}")
    for name, kwargs, method, data, expected in MATRIX
]


@pytest.mark.parametrize(("name", "kwargs", "method", "data", "expected"), ROUTE_CASES)
def test_permission_matrix(client, personas, name, kwargs, method, data, expected):
    """Every persona against one route. The route's records are built once; each persona's request
    runs inside a savepoint that is rolled back, so a persona that changes something (a sign-off, a
    withdrawal) leaves the next one the same starting point as a fresh database would."""
    users = personas.all_users()
    url = reverse(name, kwargs=kwargs(personas) if kwargs else None)
    wrong = []
    for persona in PERSONAS:
        client.logout()
        if persona != ANON:
            client.force_login(users[persona])
        savepoint = transaction.savepoint()
        try:
            if name.startswith("api:"):
                response = getattr(client, method)(url, data or {}, content_type="application/json")
            else:
                response = getattr(client, method)(url, data or {})
        finally:
            transaction.savepoint_rollback(savepoint)
        if response.status_code != expected[persona]:
            got, want = response.status_code, expected[persona]
            wrong.append(f"{persona} {method.upper()} {url}: {got}, expected {want}")
    assert not wrong, "\n".join(wrong)
