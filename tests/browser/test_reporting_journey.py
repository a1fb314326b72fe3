"""The performance figures in Chromium: Morgan (early help manager) opens the dashboard, changes the quarter
and the hub, follows a figure to the families behind it, writes the board pack commentary, saves it and
downloads the PDF, which holds the commentary. axe-core on every page.

The dataset is tests/reporting/test_exports.py's, built in the quarter the dashboard opens on (the last one
that has ended) so the figures are not zero: 11 requests this quarter (9 in the North hub), 4 the quarter
before (all North, Riverside)."""

import re
import subprocess

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from reporting.models import BoardPackCommentary
from reporting.quarters import Quarter
from tests.reporting.test_exports import build_dataset

from .conftest import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COMMENTARY = "Requests from schools rose after the summer term; the hub added a second weekly meeting."


def pdf_text(path: str) -> str:
    content = open(path, "rb").read()
    assert content.startswith(b"%PDF-")
    result = subprocess.run(["pdftotext", "-enc", "UTF-8", path, "-"], capture_output=True, check=True)
    return " ".join(result.stdout.decode().split())


def show_figures(page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Show figures").click()


def test_reporting_journey(page, personas):
    quarter = Quarter.default(timezone.localdate())
    build_dataset(personas, quarter)
    previous = quarter.previous()

    sign_in(page, "morgan.manager")
    page.get_by_role("link", name="Performance").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Performance: {quarter.label}")
    assert_accessible(page)

    # Printed: the filters, buttons and downloads drop out; the charts and their tables stay.
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Show figures")).to_be_hidden()
    expect(page.get_by_role("button", name=re.compile("Recalculate now"))).to_be_hidden()
    expect(page.locator("svg.app-chart__svg").first).to_be_visible()
    expect(page.get_by_role("table").first).to_be_visible()
    page.emulate_media(media="screen")

    # The previous quarter, North hub only: the 4 Riverside requests.
    page.get_by_label("Quarter", exact=True).select_option(previous.slug)
    page.get_by_label("Hub", exact=True).select_option(label="North hub")
    show_figures(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Performance: {previous.label}")
    expect(page.locator(".govuk-caption-l").first).to_contain_text("North hub")
    assert_accessible(page)

    # Back to the dashboard's quarter for the North hub, then down to the families behind a figure.
    page.get_by_label("Quarter", exact=True).select_option(quarter.slug)
    show_figures(page)
    link = page.get_by_role(
        "link", name=re.compile(r"list the families behind requests for support received$")
    )
    expect(link).to_contain_text("9")
    with page.expect_navigation():
        link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Families behind: Requests for support received"
    )
    expect(page.locator("#family-count")).to_have_text("You can see all 9 families behind this figure.")
    assert_accessible(page)
    page.get_by_role("link", name="Back to the dashboard").click()

    # The board pack: write the commentary, save it, download the PDF.
    page.get_by_role("link", name="Board pack (PDF, with commentary)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Board pack: {quarter.label}")
    expect(page.locator(".govuk-caption-l").first).to_have_text("North hub, all agencies")
    assert_accessible(page)
    page.get_by_label("Commentary on requests for support and triage").fill(COMMENTARY)
    with page.expect_navigation():
        page.get_by_role("button", name="Save commentary").click()
    expect(page.get_by_text(f"Commentary saved for {quarter.label}")).to_be_visible()
    expect(page.get_by_label("Commentary on requests for support and triage")).to_have_value(COMMENTARY)
    assert_accessible(page)
    saved = BoardPackCommentary.objects.get(
        quarter=quarter.slug, hub_id=personas.north.pk, section="requests"
    )
    assert (saved.text, saved.updated_by) == (COMMENTARY, personas.morgan)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download board pack (PDF)").click()
    assert (
        download.value.suggested_filename
        == f"early-help-board-pack-{quarter.slug}-north-hub-all-agencies.pdf"
    )
    text = pdf_text(download.value.path())
    assert COMMENTARY in text
    assert "North hub, all agencies" in text
    assert "Requests for support received 9 4" in text
