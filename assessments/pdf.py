"""PDFs of the Early Help Assessment and the family plan, rendered by WeasyPrint from our own templates and
static files and nothing else.

WeasyPrint fetches every stylesheet, image and font a document names through a URL fetcher. Its default
one follows http(s), file: and redirects, so a pasted link or a wrong static setting would make the server
fetch from the network or read any file it can. `StaticOnlyFetcher` allows two things only: `data:` URLs
(decoded in memory) and our own static files, found on disk through django.contrib.staticfiles. Anything
else raises; WeasyPrint logs it and carries on without that resource.

The read helpers here shape objects the caller has already fetched through assessments.permissions (so the
user may see the family) into what each template shows, in a fixed number of queries whatever the plan's
size. docs/pdfs.md says what each PDF holds and why, and how long rendering takes.
"""

from __future__ import annotations

import logging
import mimetypes
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit
from urllib.request import DataHandler, Request

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from ehcase.models import FamilyMember, Membership, Person, User
from pathway.models import Episode, TafMember

from .models import ActionStatus, Assessment, AssessmentVersion, ConsentRecord, PlanAction, PlanOutcome
from .selectors import AssessmentView, PlanView, assessment_view, consent_overview, family_plan

logger = logging.getLogger(__name__)

# Relative URLs in the templates (such as `{% static %}` paths) resolve against this origin. It is
# never contacted: `.invalid` cannot resolve (RFC 2606), and the fetcher maps its static path to disk.
PDF_BASE_URL = "https://pdf.ehcase.invalid/"

ASSESSMENT_PDF_TEMPLATE = "assessments/pdf/assessment.html"


# WeasyPrint (and Pango under it) is not designed to be thread-safe, and gunicorn runs several threads per
# worker: renders in one process take turns. Layout is Python holding the GIL, so little is lost; separate
# worker processes still render at the same time.
_render_lock = threading.Lock()


class ResourceRefused(ValueError):
    """A PDF asked for something other than a data: URL or one of our static files."""


class StaticOnlyFetcher(URLFetcher):
    """WeasyPrint's URL fetcher, cut down to `data:` URLs and our own static files. No network, no
    redirects, no file: URLs; every refusal raises ResourceRefused (logged by WeasyPrint, which then
    renders without the resource)."""

    def __init__(self) -> None:
        # The parent's own opener is never used (fetch below does not call it); the settings restrict it
        # too, so a future WeasyPrint calling it directly still reaches nothing but data: URLs.
        super().__init__(allowed_protocols=("data",), allow_redirects=False, fail_on_errors=False, timeout=1)

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        if url[:5].lower() == "data:":
            # Decoded in memory by urllib's data: handler alone; no opener, so no other scheme is possible.
            decoded = DataHandler().data_open(Request(url))  # noqa: S310
            return URLFetcherResponse(
                url, body=decoded.read(), headers={"Content-Type": decoded.headers["Content-Type"]}
            )
        path = static_file_for(url)
        if path is None:
            raise ResourceRefused(f"PDFs use only our own static files and data: URLs, not {url[:200]}")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if content_type.startswith("text/"):
            content_type += "; charset=utf-8"
        return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": content_type})


def _static_prefixes() -> list[str]:
    # STATIC_URL relative ("/static/") or absolute (a CDN): either way the file is read from disk.
    prefixes = {urljoin(PDF_BASE_URL, settings.STATIC_URL)}
    if urlsplit(settings.STATIC_URL).scheme:
        prefixes.add(settings.STATIC_URL)
    return sorted(prefixes)


def static_file_for(url: str) -> Path | None:
    """The file on disk behind one of our static URLs, or None when the URL is anything else."""
    bare = url.split("#", 1)[0].split("?", 1)[0]
    for prefix in _static_prefixes():
        if bare.startswith(prefix):
            name = unquote(bare[len(prefix) :])
            break
    else:
        return None
    segments = name.split("/")
    if not name or "\\" in name or "\x00" in name or any(s in ("", ".", "..") for s in segments):
        return None
    found = finders.find(name)
    if not found and hasattr(staticfiles_storage, "path") and staticfiles_storage.exists(name):
        # Production: `{% static %}` gives the collected file's hashed name, which only STATIC_ROOT holds.
        found = staticfiles_storage.path(name)
    if not found:
        return None
    path = Path(found)
    return path if path.is_file() else None


@dataclass
class RenderedPdf:
    content: bytes
    pages: int


def html_to_pdf(*, html: str) -> RenderedPdf:
    """Lay out HTML as a PDF. Relative URLs resolve against PDF_BASE_URL and every resource goes through
    StaticOnlyFetcher; the PDF is tagged, so screen readers can follow headings, lists and tables."""
    with _render_lock:
        document = HTML(string=html, base_url=PDF_BASE_URL, url_fetcher=StaticOnlyFetcher()).render(
            pdf_tags=True
        )
        return RenderedPdf(content=document.write_pdf(pdf_tags=True), pages=len(document.pages))


def pdf_render(*, template_name: str, context: dict) -> RenderedPdf:
    """Render one of our templates to PDF. Callers have checked access to what the context holds."""
    return html_to_pdf(html=render_to_string(template_name, context))


# --- What each PDF shows ------------------------------------------------------------------------------


def _agency_names(*, episode: Episode, user_ids: set[int]) -> dict[int, str]:
    """The agency each practitioner works for here: their place in this family's team, else the agency of
    their first membership. Two queries however many practitioners."""
    names: dict[int, str] = {}
    if not user_ids:
        return names
    for member in (
        TafMember.objects.filter(episode=episode, user_id__in=user_ids, agency__isnull=False)
        .select_related("agency")
        .order_by(F("left_on").desc(nulls_first=True), "-joined_on", "-id")  # current first, then latest
    ):
        names.setdefault(member.user_id, member.agency.name)
    missing = user_ids - names.keys()
    if missing:
        for membership in (
            Membership.objects.filter(user_id__in=missing).select_related("agency").order_by("id")
        ):
            names.setdefault(membership.user_id, membership.agency.name)
    return names


@dataclass
class ActionLine:
    description: str
    owner: str  # who will do it, as the reader knows them
    owner_agency: str
    due_on: object
    status: str
    status_label: str
    is_open: bool


@dataclass
class OutcomeLines:
    wording: str
    said_by: str
    area: str
    achieved: bool
    actions: list[ActionLine] = field(default_factory=list)


@dataclass
class PlanLines:
    outcomes: list[OutcomeLines]
    other_actions: list[ActionLine]

    @property
    def is_empty(self) -> bool:
        return not self.outcomes and not self.other_actions


# Action statuses as the family reads them.
FAMILY_STATUS_WORDS = {
    ActionStatus.NOT_STARTED: "Not started yet",
    ActionStatus.IN_PROGRESS: "Started",
    ActionStatus.DONE: "Done",
    ActionStatus.DROPPED: "No longer needed",
}


def _first_name(person: Person) -> str:
    return person.known_as or person.first_name


def _plan_lines(*, episode: Episode, plan: PlanView, for_family: bool) -> PlanLines:
    actions: list[PlanAction] = [a for o in plan.outcomes for a in o.plan_actions] + plan.unlinked_actions
    agencies = _agency_names(episode=episode, user_ids={a.owner_user_id for a in actions if a.owner_user_id})

    def line(action: PlanAction) -> ActionLine:
        if action.owner_user_id:
            owner, agency = action.owner_user.display_name, agencies.get(action.owner_user_id, "")
        elif action.owner_agency_id:
            owner, agency = action.owner_agency.name, ""
        else:
            person = action.owner_person
            owner, agency = (_first_name(person) if for_family else person.full_name), ""
        return ActionLine(
            description=action.description,
            owner=owner,
            owner_agency=agency,
            due_on=action.due_on,
            status=action.status,
            status_label=FAMILY_STATUS_WORDS.get(action.status, "")
            if for_family
            else action.get_status_display(),
            is_open=action.is_open,
        )

    def said_by(outcome: PlanOutcome) -> str:
        if outcome.said_by is None:
            return ""
        return _first_name(outcome.said_by) if for_family else outcome.said_by.full_name

    return PlanLines(
        outcomes=[
            OutcomeLines(
                wording=o.wording,
                said_by=said_by(o),
                area=o.area.name if o.area and not for_family else "",
                achieved=o.achieved,
                actions=[line(a) for a in o.plan_actions],
            )
            for o in plan.outcomes
        ],
        other_actions=[line(a) for a in plan.unlinked_actions],
    )


@dataclass
class ConsentLine:
    record: ConsentRecord
    withdrawn: bool
    replaced: bool  # withdrawn, then given again: sharing is no longer restricted by it


@dataclass
class CoveredMember:
    person: Person
    role: str
    date_of_birth: object
    expected: bool  # the date is an expected date of birth


def assessment_pdf_context(*, assessment: Assessment, version: AssessmentVersion | None = None) -> dict:
    """Everything the professionals' PDF shows: the assessment (or a kept version), consent and the plan.
    The caller fetched `assessment` through assessment_for_user."""
    episode = assessment.episode
    view: AssessmentView = assessment_view(assessment=assessment, version=version)
    roles = dict(FamilyMember._meta.get_field("role").choices)
    members = [
        CoveredMember(
            person=m.person,
            role=roles.get(m.role, "No longer in the household"),
            date_of_birth=m.person.date_of_birth or m.person.expected_date_of_birth,
            expected=m.person.date_of_birth is None and m.person.expected_date_of_birth is not None,
        )
        for m in view.members
    ]
    _current, records = consent_overview(episode=episode)
    current_people = {r.person_id for r in records if r.withdrawn_on is None}
    consents = [
        ConsentLine(
            record=r,
            withdrawn=r.withdrawn_on is not None,
            replaced=r.withdrawn_on is not None and r.person_id in current_people,
        )
        for r in records
    ]
    plan = _plan_lines(episode=episode, plan=family_plan(episode=episode), for_family=False)
    assessor_agency = _agency_names(episode=episode, user_ids={assessment.assessor_id}).get(
        assessment.assessor_id, ""
    )
    return {
        "family": episode.family,
        "episode": episode,
        "assessment": assessment,
        "view": view,
        "members": members,
        "children": [m for m in view.members if m.is_child],
        "consents": consents,
        "withdrawals": [c for c in consents if c.withdrawn and not c.replaced],
        "plan": plan,
        "assessor_agency": assessor_agency,
        "printed_at": timezone.localtime(),
    }


def family_plan_pdf_context(*, episode: Episode) -> dict:
    """What the family's own copy of the plan shows, and nothing more: the family's name, their outcomes,
    who will do what by when, their main contact and the next review. The caller fetched `episode`
    through episode_for_user."""
    lead: User | None = episode.lead_professional
    lead_agency = (
        _agency_names(episode=episode, user_ids={lead.pk}).get(lead.pk, "") if lead is not None else ""
    )
    return {
        "family_name": episode.family.name,
        "plan": _plan_lines(episode=episode, plan=family_plan(episode=episode), for_family=True),
        "lead_name": lead.display_name if lead is not None else "",
        "lead_agency": lead_agency,
        "next_review": episode.next_review_due,
        "is_open": episode.is_open,
        "printed_on": timezone.localdate(),
    }
