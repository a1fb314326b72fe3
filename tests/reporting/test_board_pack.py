"""The board pack (reporting/views_export.py, reporting/pdf.py): the commentary page (save, someone else's
newer save, over-long text, who may write), and the PDF read back with pdftotext (headline figures,
commentary, the charts' table values, only the scope's figures, no one named, audited).

The dataset and quarter are those of tests/reporting/test_exports.py (2026-27 Q2, figures in its
docstring)."""

from __future__ import annotations

import subprocess

import pytest
from django.urls import reverse

from ehcase.models import AuditAction, AuditEvent, Role
from reporting.models import BoardPackCommentary
from reporting.services import text_digest
from tests.factories import MembershipFactory, UserFactory

from .test_exports import FAMILY_NAMES, PERSON_NAMES, QUERY, Q, build_dataset

PAGE = reverse("reporting:board-pack")
PDF = reverse("reporting:board-pack-pdf")


def pdf_text(content: bytes) -> str:
    """The PDF's text as pdftotext reads it, runs of whitespace made one space."""
    assert content.startswith(b"%PDF-")
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=content, capture_output=True, check=True
    )
    return " ".join(result.stdout.decode().split())


def page_url(**params) -> str:
    query = "&".join(f"{k}={v}" for k, v in {**QUERY, **params}.items())
    return f"{PAGE}?{query}"


def saved(section: str, **scope) -> BoardPackCommentary | None:
    return BoardPackCommentary.objects.filter(
        quarter=Q.slug, hub_id=scope.get("hub_id", 0), agency_id=scope.get("agency_id", 0), section=section
    ).first()


def form_values(response, section: str) -> dict[str, str]:
    """What the page's form would send for one section, as the user found it."""
    form = response.context["form"]
    return {
        section: form[section].value() or "",
        f"{section}-version": str(form[f"{section}-version"].value()),
        f"{section}-loaded": form[f"{section}-loaded"].value(),
    }


@pytest.fixture
def dataset(personas):
    return build_dataset(personas)


@pytest.fixture
def other_manager(personas):
    """A second early help manager, who edits the same board pack."""
    user = UserFactory(first_name="Robin", last_name="Ellery")
    MembershipFactory(user=user, agency=personas.council, role=Role.EARLY_HELP_MANAGER)
    return user


# --- The commentary page -----------------------------------------------------------------------


def test_page_shows_a_box_per_section_prefilled_with_its_version(login, personas, dataset, other_manager):
    BoardPackCommentary.objects.create(
        quarter=Q.slug,
        section="episodes",
        text="Fewer closures than planned.",
        version=3,
        updated_by=other_manager,
    )
    response = login(personas.morgan).get(PAGE, QUERY)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="govuk-textarea govuk-js-character-count') == 7
    assert "Fewer closures than planned." in html
    assert 'name="episodes-version" value="3"' in html
    assert 'name="requests-version" value="0"' in html
    assert "Last saved by Robin Ellery" in html
    assert (
        "Download board pack (PDF)" in html
        and f'href="{PDF}?quarter=2026-27-q2&amp;hub=&amp;agency="' in html
    )
    assert "All hubs, all agencies" in html


def test_saving_creates_then_updates_with_audit(login, personas, dataset):
    client = login(personas.morgan)
    values = form_values(client.get(PAGE, QUERY), "requests")
    values["requests"] = "Requests rose\r\nafter the summer."
    response = client.post(page_url(), values)
    assert response.status_code == 302 and response["Location"] == page_url(hub="", agency="")
    row = saved("requests")
    assert (row.text, row.version, row.updated_by) == ("Requests rose\nafter the summer.", 1, personas.morgan)
    event = AuditEvent.objects.filter(object_type="reporting.boardpackcommentary").latest("id")
    assert (event.action, event.actor, event.object_id) == (AuditAction.CREATE, personas.morgan, str(row.pk))
    assert event.changes == {"text": [None, "Requests rose\nafter the summer."], "version": [None, 1]}

    values = form_values(client.get(PAGE, QUERY), "requests")
    assert values["requests-version"] == "1"
    values["requests"] = "Requests rose after the summer term."
    assert client.post(page_url(), values).status_code == 302
    row.refresh_from_db()
    assert (row.text, row.version) == ("Requests rose after the summer term.", 2)
    event = AuditEvent.objects.filter(object_type="reporting.boardpackcommentary").latest("id")
    assert event.action == AuditAction.UPDATE
    assert event.changes["text"] == [
        "Requests rose\nafter the summer.",
        "Requests rose after the summer term.",
    ]


def test_someone_elses_newer_save_is_never_overwritten(login, personas, dataset, other_manager):
    BoardPackCommentary.objects.create(
        quarter=Q.slug, section="requests", text="First draft.", version=1, updated_by=personas.morgan
    )
    client = login(personas.morgan)
    mine = form_values(client.get(PAGE, QUERY), "requests")
    # Robin saves while Morgan is still typing.
    theirs = saved("requests")
    theirs.text, theirs.version, theirs.updated_by = "Robin's view: demand is seasonal.", 2, other_manager
    theirs.save()

    mine["requests"] = "Morgan's view: demand is rising."
    response = client.post(page_url(), mine)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Someone else saved commentary on requests for support and triage" in html
    assert 'class="govuk-error-summary"' in html and 'href="#id_requests"' in html
    assert "Robin&#x27;s view: demand is seasonal." in html  # their text, shown beside the box
    assert "The commentary saved by Robin Ellery" in html
    assert ">Morgan&#x27;s view: demand is rising.</textarea>" in html  # what Morgan typed is kept
    theirs.refresh_from_db()
    assert (theirs.text, theirs.version) == ("Robin's view: demand is seasonal.", 2)  # nothing saved
    assert not AuditEvent.objects.filter(
        action=AuditAction.UPDATE, object_type="reporting.boardpackcommentary"
    )

    # The page now carries Robin's version: saving again is a deliberate replacement.
    again = form_values(response, "requests")
    assert again["requests-version"] == "2" and again["requests"] == "Morgan's view: demand is rising."
    assert client.post(page_url(), again).status_code == 302
    theirs.refresh_from_db()
    assert (theirs.text, theirs.version, theirs.updated_by) == (
        "Morgan's view: demand is rising.",
        3,
        personas.morgan,
    )


def test_a_box_left_alone_does_not_undo_someone_elses_save(login, personas, dataset, other_manager):
    client = login(personas.morgan)
    page = client.get(PAGE, QUERY)
    values = {**form_values(page, "requests"), **form_values(page, "episodes")}
    BoardPackCommentary.objects.create(
        quarter=Q.slug, section="requests", text="Robin wrote this.", version=1, updated_by=other_manager
    )
    values["episodes"] = "Morgan wrote this."
    assert client.post(page_url(), values).status_code == 302
    assert saved("requests").text == "Robin wrote this."
    assert saved("episodes").text == "Morgan wrote this."


def test_a_conflict_saves_nothing_at_all(login, personas, dataset, other_manager):
    client = login(personas.morgan)
    page = client.get(PAGE, QUERY)
    values = {**form_values(page, "requests"), **form_values(page, "episodes")}
    BoardPackCommentary.objects.create(
        quarter=Q.slug, section="requests", text="Robin wrote this.", version=1, updated_by=other_manager
    )
    values["requests"] = "Morgan's requests."
    values["episodes"] = "Morgan's episodes."
    response = client.post(page_url(), values)
    assert response.status_code == 200
    assert saved("episodes") is None
    assert ">Morgan&#x27;s episodes.</textarea>" in response.content.decode()


def test_text_over_4000_characters_is_refused_and_kept(login, personas, dataset):
    client = login(personas.morgan)
    values = form_values(client.get(PAGE, QUERY), "equality")
    values["equality"] = "x" * 4001
    response = client.post(page_url(), values)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Commentary on equality must be 4,000 characters or fewer" in html
    assert "govuk-textarea--error" in html and ("x" * 4001) in html
    assert saved("equality") is None
    # 4,000 characters with Windows line ends counts each line end once.
    values["equality"] = ("y" * 99 + "\r\n") * 40
    assert client.post(page_url(), values).status_code == 302
    assert len(saved("equality").text) == 3999  # the last line end is trimmed


def test_the_digest_is_of_the_text_shown(login, personas, dataset, other_manager):
    BoardPackCommentary.objects.create(
        quarter=Q.slug, section="reviews", text="On time.", version=1, updated_by=other_manager
    )
    values = form_values(login(personas.morgan).get(PAGE, QUERY), "reviews")
    assert values["reviews-loaded"] == text_digest("On time.")


@pytest.mark.parametrize(
    ("persona", "params", "get", "post"),
    [
        ("sam", {}, 404, 404),
        ("hana", {}, 404, 404),
        ("ola", {}, 404, 404),
        ("admin", {}, 404, 404),
        ("morgan", {}, 200, 302),
        ("quinn", {}, 200, 403),
        ("alex", {}, 200, 302),
        ("alex", {"agency": "health_visiting"}, 404, 404),
        ("alex", {"hub": "north"}, 200, 302),
        ("chris", {}, 200, 302),
        ("chris", {"hub": "south"}, 404, 404),
        ("chris", {"agency": "riverside"}, 200, 302),
    ],
)
def test_who_may_read_and_write_commentary(client, personas, persona, params, get, post):
    query = {name: getattr(personas, value).pk for name, value in params.items()}
    client.force_login(getattr(personas, persona))
    assert client.get(PAGE, {**QUERY, **query}).status_code == get
    response = client.post(page_url(**query), {"requests": "A note.", "requests-version": "0"})
    assert response.status_code == post
    assert BoardPackCommentary.objects.exists() == (post == 302)


def test_auditor_reads_the_commentary_without_a_form(login, personas, dataset):
    BoardPackCommentary.objects.create(
        quarter=Q.slug,
        section="equality",
        text="More fathers this quarter.",
        version=1,
        updated_by=personas.morgan,
    )
    html = login(personas.quinn).get(PAGE, QUERY).content.decode()
    assert "More fathers this quarter." in html
    assert "<textarea" not in html and "Save commentary" not in html
    assert "Download board pack (PDF)" in html


def test_commentary_belongs_to_its_scope(login, personas, dataset):
    client = login(personas.alex)  # his agency, Riverside, fixed
    values = form_values(client.get(PAGE, QUERY), "requests")
    values["requests"] = "Riverside's note."
    assert client.post(page_url(), values).status_code == 302
    assert saved("requests", agency_id=personas.riverside.pk).text == "Riverside's note."
    assert saved("requests") is None
    assert "Riverside&#x27;s note." not in login(personas.morgan).get(PAGE, QUERY).content.decode()


# --- The PDF -----------------------------------------------------------------------------------


def test_pdf_has_the_headline_figures_charts_tables_and_commentary(login, personas, dataset):
    BoardPackCommentary.objects.create(
        quarter=Q.slug,
        section="requests",
        text="Requests rose after the summer.",
        version=1,
        updated_by=personas.morgan,
    )
    response = login(personas.morgan).get(PDF, QUERY)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        'attachment; filename="early-help-board-pack-2026-27-q2-all-hubs-all-agencies.pdf"'
    )
    text = pdf_text(response.content)
    # The cover.
    assert "Early help performance: board pack" in text
    assert "2026-27 Q2 July to September 2026" in text
    assert "All hubs, all agencies" in text
    assert "Figures calculated at" in text and "Page 1 of" in text
    # The headline table: 11 this quarter, 4 the previous, 8 a year before; up, neither better nor worse.
    assert "Requests for support received 11 4 8 Up 7 from 4 Neither better nor worse" in text
    assert "33.3%" in text and "1 of 3" in text  # step up rate
    assert "10 days" in text
    # The commentary, and a section without any.
    assert "Requests rose after the summer." in text
    assert "Written by Morgan Hughes" in text
    assert "No commentary has been written for this section." in text
    # The chart tables: each agency's requests in the three quarters.
    assert "Riverside Primary School 6 4 8 Up" in text
    assert "North Health Visiting Team 3 0 0 Up" in text
    assert "Southfield Academy 2 0 0 Up" in text
    assert "Single-agency support 2 0 0 Up" in text
    # The charts themselves are drawn (an SVG's values are text in the PDF too).
    assert "Solid bars: 2026-27 Q2" in text


def test_pdf_has_only_the_scopes_figures(login, personas, dataset):
    text = pdf_text(login(personas.alex).get(PDF, QUERY).content)
    assert "All hubs, Riverside Primary School" in text
    assert "Requests for support received 6 4 8" in text
    assert "North Health Visiting Team" not in text and "Southfield Academy" not in text
    text = pdf_text(login(personas.chris).get(PDF, QUERY).content)
    assert "North hub, all agencies" in text
    assert "Requests for support received 9 4 8" in text
    assert "Southfield Academy" not in text and "South hub" not in text


def test_pdf_names_no_family_or_person(login, personas, dataset):
    BoardPackCommentary.objects.create(
        quarter=Q.slug, section="requests", text="Seasonal.", version=1, updated_by=personas.morgan
    )
    text = pdf_text(login(personas.morgan).get(PDF, QUERY).content)
    for name in [
        *FAMILY_NAMES,
        *PERSON_NAMES,
        personas.ashworth.name,
        personas.ashworth.reference,
        "Sam Patel",
    ]:
        assert name not in text, name


def test_pdf_download_is_audited(login, personas, dataset):
    login(personas.alex).get(PDF, QUERY)
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert (event.actor, event.summary, event.family_id) == (
        personas.alex,
        "Performance board pack PDF downloaded",
        None,
    )
    assert event.changes["quarter"] == Q.slug and event.changes["agency_id"] == personas.riverside.pk
    assert event.changes["hub_id"] is None and event.changes["pages"] > 5


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("sam", 404), ("hana", 404), ("ola", 404), ("admin", 404), ("quinn", 200), ("alex", 200)],
)
def test_pdf_access(client, personas, persona, expected):
    client.force_login(getattr(personas, persona))
    assert client.get(PDF, QUERY).status_code == expected
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT).exists() == (expected == 200)


def test_pdf_of_a_scope_one_may_not_see_is_404(login, personas):
    assert login(personas.chris).get(PDF, {**QUERY, "hub": personas.south.pk}).status_code == 404
    assert login(personas.alex).get(PDF, {**QUERY, "agency": personas.southfield.pk}).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


def test_an_empty_save_changes_nothing(login, personas, other_manager):
    """A post without the boxes (not this page's form) is not a request to empty them."""
    BoardPackCommentary.objects.create(
        quarter=Q.slug, section="requests", text="Kept.", version=1, updated_by=other_manager
    )
    response = login(personas.morgan).post(page_url(), {})
    assert response.status_code == 302
    assert (saved("requests").text, saved("requests").version) == ("Kept.", 1)
    assert not AuditEvent.objects.filter(object_type="reporting.boardpackcommentary").exists()


def test_pdf_cover_names_the_partnership_when_there_is_a_setting(login, personas, settings):
    settings.PARTNERSHIP_NAME = "Northumberland Early Help Partnership"
    text = pdf_text(login(personas.chris).get(PDF, QUERY).content)
    assert text.startswith(
        "OFFICIAL-SENSITIVE Northumberland Early Help Partnership Early help performance: board pack"
    )
    assert "North hub, all agencies" in text
