"""Supporting Families claims: the workflow's rules (pathway.claims), who may do what
(pathway.claims_permissions) and the pages (pathway.views_claims), including the episode page's list."""

import datetime as dt
import html
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ehcase.models import AuditEvent
from pathway import claims, services
from pathway.claims import ClaimChangedError, ClaimError
from pathway.claims_permissions import can_change_claim_status, can_draft_claim
from pathway.models import ClaimStatus, OutcomeArea, SupportingFamiliesClaim
from tests.test_permission_matrix import sams_draft_claim

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate
C = ClaimStatus
CLAIM = "pathway.supportingfamiliesclaim"


def errors(response) -> list[str]:
    return [
        html.unescape(e)
        for e in re.findall(
            r'class="govuk-error-message"><span class="govuk-visually-hidden">Error:</span> (.*?)</p>',
            response.content.decode(),
        )
    ]


def summary(response) -> list[str]:
    """The messages in the GOV.UK error summary at the top of the page."""
    body = response.content.decode()
    box = re.search(r'govuk-error-summary__list">(.*?)</ul>', body, re.S)
    return (
        [html.unescape(m) for m in re.findall(r"<li>(?:<a [^>]*>)?(.*?)(?:</a>)?</li>", box.group(1))]
        if box
        else []
    )


@pytest.fixture
def draft(personas, active, areas):
    """Sam (the Ashworth episode's lead professional) drafts a claim for school attendance."""
    return claims.claim_create(
        actor=personas.sam, episode=active, areas=[areas[0]], evidence="Attendance 96% for two terms"
    )


def audit_events(claim) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_type=CLAIM, object_id=str(claim.pk)).order_by("id"))


def move(personas, claim, to, reason=""):
    """An early help manager moves the claim on, with the version they see."""
    claim.refresh_from_db()
    return claims.claim_set_status(
        actor=personas.morgan, claim=claim, status=to, version=claim.version, reason=reason
    )


# --- services -----------------------------------------------------------------------------------


def test_a_claim_starts_as_an_audited_draft(personas, active, areas):
    claim = claims.claim_create(
        actor=personas.sam,
        episode=active,
        areas=[areas[0], areas[1]],
        evidence="  Attendance 96% for two terms  ",
    )
    assert claim.status == C.DRAFT and claim.status_changed_on == TODAY() and claim.version == 1
    assert claim.family_id == active.family_id and claim.created_by == claim.updated_by == personas.sam
    assert set(claim.areas.all()) == {areas[0], areas[1]} and claim.evidence == "Attendance 96% for two terms"
    [event] = audit_events(claim)
    assert event.action == "create" and event.actor == personas.sam and event.family_id == active.family_id
    assert event.summary == "Supporting Families claim drafted"
    assert event.changes["status"] == [None, "draft"]
    assert event.changes["areas"] == [None, sorted([areas[0].code, areas[1].code])]


@pytest.mark.parametrize(
    ("use_areas", "evidence", "field", "message"),
    [
        (False, "Attendance up", "areas", "Select at least one outcome area the claim evidences"),
        (True, "   ", "evidence", "Enter the evidence of sustained progress"),
        (True, "x" * 8001, "evidence", "Evidence of sustained progress must be 8000 characters or fewer"),
    ],
)
def test_a_claim_needs_outcome_areas_and_evidence(
    personas, active, areas, use_areas, evidence, field, message
):
    with pytest.raises(ClaimError) as raised:
        claims.claim_create(
            actor=personas.sam, episode=active, areas=areas[:1] if use_areas else [], evidence=evidence
        )
    assert (raised.value.field, raised.value.message) == (field, message)
    assert not SupportingFamiliesClaim.objects.exists()
    assert not AuditEvent.objects.filter(object_type=CLAIM).exists()


def test_a_claim_needs_something_to_show_progress_from(personas, started, areas):
    """No identified needs and no baseline yet: there is nothing to have made progress from."""
    with pytest.raises(ClaimError, match="Record the family's identified needs or baseline scores"):
        claims.claim_create(actor=personas.morgan, episode=started, areas=areas[:1], evidence="Better")
    services.need_add(actor=personas.sam, episode=started, area=areas[0], description="Attendance")
    claim = claims.claim_create(actor=personas.morgan, episode=started, areas=areas[:1], evidence="Better")
    assert claim.status == C.DRAFT


def test_a_closed_episode_can_still_be_claimed_for(personas, active, areas):
    need = services.need_add(actor=personas.sam, episode=active, area=areas[0], description="Attendance")
    closed = services.episode_close(
        actor=personas.sam,
        episode=active,
        reason="outcomes_achieved",
        closed_on=TODAY(),
        need_outcomes={need.pk: "met"},
    )
    assert can_draft_claim(user=personas.sam, episode=closed)  # still the episode's lead professional
    claim = claims.claim_create(actor=personas.sam, episode=closed, areas=areas[:1], evidence="Sustained")
    assert claim.episode.status == "closed" and claim.status == C.DRAFT


def test_the_whole_workflow_with_every_allowed_move(personas, draft):
    steps = [
        (C.VERIFIED, "", "Supporting Families claim verified"),
        (C.DRAFT, "Say which terms", "Supporting Families claim sent back to draft"),
        (C.VERIFIED, "", "Supporting Families claim verified"),
        (C.SUBMITTED, "", "Supporting Families claim submitted"),
        (C.REJECTED, "Attendance not sustained for 6 months", "Supporting Families claim rejected"),
        (C.DRAFT, "", "Supporting Families claim reopened as a draft"),
    ]
    version = draft.version
    for to, reason, said in steps:
        before = draft.status
        # Backdate the status, so that each move visibly sets the status date to today.
        SupportingFamiliesClaim.objects.filter(pk=draft.pk).update(
            status_changed_on=TODAY() - dt.timedelta(days=3)
        )
        draft = move(personas, draft, to, reason)
        assert draft.status == to and draft.status_changed_on == TODAY()
        assert draft.version == version + 1 and draft.updated_by == personas.morgan
        version = draft.version
        event = audit_events(draft)[-1]
        assert event.action == "update" and event.actor == personas.morgan and event.summary == said
        assert event.changes["status"] == [before, to]
        assert event.changes.get("reason") == ([None, reason] if reason else None)
    assert len(audit_events(draft)) == 1 + len(steps)


REFUSED = [
    (C.DRAFT, C.SUBMITTED),
    (C.DRAFT, C.REJECTED),
    (C.DRAFT, C.DRAFT),
    (C.VERIFIED, C.REJECTED),
    (C.VERIFIED, C.VERIFIED),
    (C.SUBMITTED, C.DRAFT),
    (C.SUBMITTED, C.VERIFIED),
    (C.REJECTED, C.VERIFIED),
    (C.REJECTED, C.SUBMITTED),
]


@pytest.mark.parametrize(("start", "to"), REFUSED)
def test_moves_the_workflow_does_not_allow_are_refused(personas, draft, start, to):
    SupportingFamiliesClaim.objects.filter(pk=draft.pk).update(status=start)
    before = len(audit_events(draft))
    with pytest.raises(ClaimError, match=f"A claim cannot go from ‘{start}’ to ‘{to}’") as raised:
        move(personas, draft, to, reason="Because")
    assert raised.value.field == "status"
    draft.refresh_from_db()
    assert draft.status == start and draft.version == 1 and len(audit_events(draft)) == before


def test_an_unknown_status_is_refused(personas, draft):
    with pytest.raises(ClaimError, match="Select what to do with the claim"):
        move(personas, draft, "paid")


@pytest.mark.parametrize(
    ("start", "to", "message"),
    [
        (C.VERIFIED, C.DRAFT, "Enter why the claim is going back to draft"),
        (C.SUBMITTED, C.REJECTED, "Enter why the programme rejected the claim"),
    ],
)
def test_sending_back_and_rejection_need_a_reason(personas, draft, start, to, message):
    SupportingFamiliesClaim.objects.filter(pk=draft.pk).update(status=start)
    with pytest.raises(ClaimError, match=message) as raised:
        move(personas, draft, to, reason="   ")
    assert raised.value.field == "reason"
    draft.refresh_from_db()
    assert draft.status == start


def test_a_stale_version_is_refused_and_nothing_is_overwritten(personas, draft, areas):
    seen = draft.version
    claims.claim_update(
        actor=personas.morgan, claim=draft, areas=areas[:2], evidence="Morgan's wording", version=seen
    )
    events = len(audit_events(draft))
    with pytest.raises(ClaimChangedError, match="Someone else changed this claim after you opened the page"):
        claims.claim_update(
            actor=personas.sam, claim=draft, areas=areas[:1], evidence="Sam's wording", version=seen
        )
    with pytest.raises(ClaimChangedError):
        claims.claim_set_status(actor=personas.morgan, claim=draft, status=C.VERIFIED, version=seen)
    with pytest.raises(ClaimChangedError):  # a form without its version is never taken as current
        claims.claim_set_status(actor=personas.morgan, claim=draft, status=C.VERIFIED, version=None)
    draft.refresh_from_db()
    assert draft.evidence == "Morgan's wording" and set(draft.areas.all()) == set(areas[:2])
    assert draft.status == C.DRAFT and draft.version == seen + 1 and len(audit_events(draft)) == events


def test_a_draft_change_is_audited_with_what_changed(personas, draft, areas):
    claim = claims.claim_update(
        actor=personas.sam,
        claim=draft,
        areas=[areas[0], areas[2]],
        evidence="Attendance 97% for three terms",
        version=draft.version,
    )
    assert claim.version == 2 and claim.evidence == "Attendance 97% for three terms"
    event = audit_events(claim)[-1]
    assert event.action == "update" and event.summary == "Supporting Families claim changed"
    assert event.changes == {
        "areas": [[areas[0].code], sorted([areas[0].code, areas[2].code])],
        "evidence": ["Attendance 96% for two terms", "Attendance 97% for three terms"],
    }


def test_only_a_draft_can_be_changed(personas, draft, areas):
    verified = move(personas, draft, C.VERIFIED)
    with pytest.raises(ClaimError, match="This claim is verified, so it can no longer be changed"):
        claims.claim_update(
            actor=personas.morgan, claim=verified, areas=areas[:1], evidence="New", version=verified.version
        )


def test_an_outcome_is_claimed_once_per_episode(personas, draft, active, areas):
    with pytest.raises(ClaimError, match=f"{areas[0].name} is already in another claim") as raised:
        claims.claim_create(actor=personas.sam, episode=active, areas=areas[:2], evidence="Again")
    assert raised.value.field == "areas"
    other = claims.claim_create(actor=personas.sam, episode=active, areas=[areas[1]], evidence="Health")
    with pytest.raises(ClaimError, match="already in another claim"):
        claims.claim_update(
            actor=personas.sam, claim=other, areas=areas[:2], evidence="Health", version=other.version
        )
    # A rejected claim frees its outcomes for a new claim; it cannot then be reopened over them.
    for to, reason in ((C.VERIFIED, ""), (C.SUBMITTED, ""), (C.REJECTED, "Not sustained")):
        draft = move(personas, draft, to, reason)
    again = claims.claim_create(actor=personas.sam, episode=active, areas=[areas[0]], evidence="Sustained")
    with pytest.raises(ClaimError, match="already in another claim"):
        move(personas, draft, C.DRAFT)
    assert again.status == C.DRAFT and SupportingFamiliesClaim.objects.get(pk=draft.pk).status == C.REJECTED


# --- who may do what ----------------------------------------------------------------------------


def test_the_lead_professional_and_early_help_managers_draft(personas, active):
    drafters = {u.username for u in personas.all_users().values() if can_draft_claim(user=u, episode=active)}
    assert drafters == {"sam.practitioner", "morgan.manager"}
    movers = {u.username for u in personas.all_users().values() if can_change_claim_status(user=u)}
    assert movers == {"morgan.manager"}


def test_before_a_lead_professional_is_agreed_only_the_manager_drafts(personas, started):
    assert started.lead_professional_id is None and started.assessor_id == personas.sam.pk
    assert not can_draft_claim(user=personas.sam, episode=started)
    assert can_draft_claim(user=personas.morgan, episode=started)


def test_a_successful_post_redirects_to_the_episode(client, personas):
    ids = sams_draft_claim(personas)
    client.force_login(personas.morgan)
    claim = SupportingFamiliesClaim.objects.get()
    response = client.post(
        reverse("pathway:claim-status", kwargs={"claim_id": ids["claim_id"]}),
        {"status": "verified", "version": claim.version},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("pathway:episode-detail", args=[ids["episode_id"]]) + "#claims"


# --- pages --------------------------------------------------------------------------------------


def test_the_lead_drafts_a_claim_through_the_page(client, personas, active, areas):
    client.force_login(personas.sam)
    url = reverse("pathway:claim-new", args=[active.pk])
    page = client.get(url).content.decode()
    assert "Start a Supporting Families claim" in page
    for area in OutcomeArea.objects.filter(active=True):
        assert f'value="{area.pk}"' in page
    response = client.post(url, {"areas": [areas[0].pk, areas[1].pk], "evidence": "Attendance 96%"})
    assert response.status_code == 302
    assert response["Location"].endswith(f"/episodes/{active.pk}/#claims")
    claim = SupportingFamiliesClaim.objects.get()
    assert claim.created_by == personas.sam and set(claim.areas.all()) == set(areas[:2])


def test_retired_outcome_areas_are_not_offered(client, personas, active, areas):
    OutcomeArea.objects.filter(pk=areas[2].pk).update(active=False)
    client.force_login(personas.sam)
    page = client.get(reverse("pathway:claim-new", args=[active.pk])).content.decode()
    assert f'value="{areas[2].pk}"' not in page and f'value="{areas[1].pk}"' in page


def test_bad_input_is_explained_at_the_field_and_nothing_typed_is_lost(client, personas, active, areas):
    client.force_login(personas.sam)
    url = reverse("pathway:claim-new", args=[active.pk])
    response = client.post(url, {"evidence": "Attendance up to 96% since September"})
    assert response.status_code == 200
    assert errors(response) == ["Select at least one outcome area the claim evidences"]
    assert summary(response) == ["Select at least one outcome area the claim evidences"]
    assert "Attendance up to 96% since September</textarea>" in response.content.decode()

    response = client.post(url, {"areas": [areas[1].pk], "evidence": ""})
    assert errors(response) == ["Enter the evidence of sustained progress"]
    assert re.search(rf'value="{areas[1].pk}" checked', response.content.decode())

    # A rule of the service (an outcome already claimed) comes back at the field too.
    claims.claim_create(actor=personas.sam, episode=active, areas=[areas[0]], evidence="First")
    response = client.post(url, {"areas": [areas[0].pk], "evidence": "Second claim"})
    assert errors(response) == [
        f"{areas[0].name} is already in another claim for this episode: an outcome can be claimed once"
    ]
    assert "Second claim</textarea>" in response.content.decode()
    assert SupportingFamiliesClaim.objects.count() == 1


def test_an_episode_without_needs_or_baseline_is_explained(client, personas, started, areas):
    client.force_login(personas.morgan)
    response = client.post(
        reverse("pathway:claim-new", args=[started.pk]), {"areas": [areas[0].pk], "evidence": "Better"}
    )
    assert response.status_code == 200
    assert summary(response)[0].startswith("Record the family's identified needs or baseline scores")
    assert not SupportingFamiliesClaim.objects.exists()


def test_editing_a_draft(client, personas, draft, areas):
    client.force_login(personas.sam)
    url = reverse("pathway:claim-edit", args=[draft.pk])
    page = client.get(url).content.decode()
    assert "Attendance 96% for two terms</textarea>" in page
    assert re.search(rf'value="{areas[0].pk}" checked', page)
    assert f'name="version" value="{draft.version}"' in page
    response = client.post(url, {"areas": [areas[1].pk], "evidence": "Better", "version": draft.version})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.evidence == "Better" and list(draft.areas.all()) == [areas[1]] and draft.version == 2


def test_two_people_editing_at_once_the_second_is_told_and_keeps_their_text(personas, draft, areas):
    sam, morgan = Client(), Client()
    sam.force_login(personas.sam)
    morgan.force_login(personas.morgan)
    url = reverse("pathway:claim-edit", args=[draft.pk])
    seen = draft.version  # both opened the page at this version
    assert (
        morgan.post(url, {"areas": [areas[0].pk], "evidence": "Morgan's", "version": seen}).status_code == 302
    )
    response = sam.post(
        url, {"areas": [areas[0].pk, areas[2].pk], "evidence": "Sam's longer text", "version": seen}
    )
    assert response.status_code == 200
    assert summary(response) == [
        "Someone else changed this claim after you opened the page. Nothing was saved: check the claim and "
        "try again."
    ]
    assert "Sam's longer text</textarea>" in html.unescape(response.content.decode())
    draft.refresh_from_db()
    assert draft.evidence == "Morgan's" and list(draft.areas.all()) == [areas[0]]


def test_a_verified_claim_has_no_edit_page(client, personas, draft):
    move(personas, draft, C.VERIFIED)
    client.force_login(personas.sam)
    assert client.get(reverse("pathway:claim-edit", args=[draft.pk])).status_code == 404


def test_a_manager_moves_the_claim_on_through_the_confirmation_page(personas, draft, areas):
    morgan = Client()
    morgan.force_login(personas.morgan)
    url = reverse("pathway:claim-status", args=[draft.pk])
    page = morgan.get(url).content.decode()
    assert "Attendance 96% for two terms" in page and areas[0].name in page
    assert 'value="verified"' in page and 'value="submitted"' not in page  # only the moves open from draft
    response = morgan.post(url, {"status": "verified", "version": 1})
    assert response.status_code == 302
    # Sending back needs a reason, explained at the field; the choice made is kept.
    response = morgan.post(url, {"status": "draft", "reason": "", "version": 2})
    assert errors(response) == ["Enter why the claim is going back to draft"]
    assert 'value="draft" checked' in response.content.decode()
    response = morgan.post(url, {"status": "draft", "reason": "Say which terms", "version": 2})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == C.DRAFT and draft.version == 3
    # The lead professional sees why on the edit page.
    sam = Client()
    sam.force_login(personas.sam)
    page = html.unescape(sam.get(reverse("pathway:claim-edit", args=[draft.pk])).content.decode())
    assert "Sent back to draft by Morgan" in page and "Say which terms" in page
    # A stale confirmation (opened before the send back) is refused with the conflict message.
    response = morgan.post(url, {"status": "verified", "version": 2})
    assert summary(response)[0].startswith("Someone else changed this claim")
    draft.refresh_from_db()
    assert draft.status == C.DRAFT
    # So is one whose choice is no longer open: the page said "send back", someone verified meanwhile.
    move(personas, draft, C.VERIFIED)
    response = morgan.post(url, {"status": "verified", "version": 3})
    assert summary(response)[0].startswith("Someone else changed this claim"), summary(response)
    response = morgan.post(url, {"status": "paid", "version": 4})
    assert errors(response) == ["Select what to do with the claim"]


def test_a_reopened_claim_shows_why_the_programme_rejected_it(client, personas, draft):
    for to, reason in ((C.VERIFIED, ""), (C.SUBMITTED, ""), (C.REJECTED, "Only one term of attendance")):
        draft = move(personas, draft, to, reason)
    client.force_login(personas.morgan)
    page = html.unescape(client.get(reverse("pathway:claim-status", args=[draft.pk])).content.decode())
    assert "Rejected by the programme, recorded by Morgan" in page and "Only one term of attendance" in page
    assert 'value="draft"' in page and "Reopen as a draft" in page
    move(personas, draft, C.DRAFT)
    page = html.unescape(client.get(reverse("pathway:claim-edit", args=[draft.pk])).content.decode())
    assert "Rejected by the programme" in page and "Only one term of attendance" in page
    # Once verified again, the old reason no longer describes where the claim is.
    move(personas, draft, C.VERIFIED)
    page = html.unescape(client.get(reverse("pathway:claim-status", args=[draft.pk])).content.decode())
    assert "Only one term of attendance" not in page


# --- the episode page ---------------------------------------------------------------------------


def test_the_episode_page_lists_the_claims_for_everyone_who_may_see_the_family(personas, draft, areas):
    verified = claims.claim_create(
        actor=personas.sam, episode=draft.episode, areas=areas[1:3], evidence="Health"
    )
    move(personas, verified, C.VERIFIED)
    url = reverse("pathway:episode-detail", args=[draft.episode_id])
    pages = {}
    for who in ("sam", "hana", "morgan"):
        client = Client()
        client.force_login(getattr(personas, who))
        pages[who] = html.unescape(client.get(url).content.decode())
    for page in pages.values():
        section = page[page.index('id="claims"') : page.index('id="history"')]
        assert areas[0].name in section and f"{areas[1].name}, {areas[2].name}" in section
        assert ">Draft</strong>" in section and ">Verified</strong>" in section
        assert personas.sam.display_name in section
    edit = reverse("pathway:claim-edit", args=[draft.pk])
    status = reverse("pathway:claim-status", args=[draft.pk])
    new = reverse("pathway:claim-new", args=[draft.episode_id])
    assert edit in pages["sam"] and new in pages["sam"] and status not in pages["sam"]
    assert edit in pages["morgan"] and status in pages["morgan"] and new in pages["morgan"]
    assert edit not in pages["hana"] and status not in pages["hana"] and new not in pages["hana"]


def _episode_page_queries(client, episode) -> tuple[int, str]:
    url = reverse("pathway:episode-detail", args=[episode.pk])
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries), "\n".join(q["sql"] for q in ctx.captured_queries)


def test_the_episode_page_costs_the_same_for_one_claim_or_many(client, personas, active):
    areas = list(OutcomeArea.objects.order_by("order"))
    claims.claim_create(actor=personas.sam, episode=active, areas=[areas[0]], evidence="One")
    client.force_login(personas.morgan)
    few, _ = _episode_page_queries(client, active)
    for i in range(1, len(areas) - 1, 2):
        claim = claims.claim_create(
            actor=personas.morgan, episode=active, areas=areas[i : i + 2], evidence=f"Claim {i}"
        )
        if i % 4 == 1:
            move(personas, claim, C.VERIFIED)
    assert SupportingFamiliesClaim.objects.count() >= 5
    many, sql = _episode_page_queries(client, active)
    # The claims add one query whatever their number: claims with their people and area names.
    assert many == few, sql
    assert sql.count('FROM "pathway_supportingfamiliesclaim"') == 1, sql
