"""The notification centre in Chromium: the header's count, the list, marking one as read with htmx,
the email choice. axe-core on each page."""

import re

import pytest

from ehcase.notifications import scans
from ehcase.notifications.models import Notification
from ehcase.notifications.services import reminders_deliver
from tests.notifications.conftest import build_world

from .conftest import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_notification_centre(page, personas, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    build_world(personas)
    scans.scan_all()
    reminders_deliver()
    unread = Notification.objects.filter(recipient=personas.sam).count()
    assert unread == 3

    sign_in(page, "sam.practitioner")
    nav = page.get_by_role("navigation", name="Menu")
    assert nav.get_by_role("link", name=f"Notifications {unread} unread").is_visible()
    nav.get_by_role("link", name=f"Notifications {unread} unread").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Notifications", level=1).is_visible()
    assert page.get_by_text("Family: Bennett").is_visible()
    assert_accessible(page)

    page.get_by_role("button", name=re.compile(r"^Mark as read\W+Review overdue$")).click()
    page.get_by_text("Marked as read").wait_for()
    assert Notification.objects.filter(recipient=personas.sam, read_at__isnull=True).count() == unread - 1
    assert_accessible(page)

    page.get_by_role("link", name="Choose how often we email you").click()
    page.wait_for_load_state()
    assert_accessible(page)
    assert page.get_by_label("Straight away").is_checked()
    page.get_by_label("In one email each morning").check()
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    assert page.get_by_text("Your email choice has been saved").is_visible()
    page.get_by_role("button", name="Mark all as read").click()
    page.wait_for_load_state()
    assert page.get_by_text("You have no unread notifications.").is_visible()
    assert_accessible(page)
