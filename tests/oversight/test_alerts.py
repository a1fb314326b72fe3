"""Unusual-access alerts: the detection's boundaries, exactly once per user, day and kind, the early
help managers told, the alerts page, and a run through a real Celery worker."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from ehcase.notifications.models import Notification
from ehcase.oversight.models import AccessAlert, BreakGlassAccess
from ehcase.oversight.services import access_alerts_raise
from ehcase.permissions import grant_family_access
from tests.factories import FamilyFactory

from .conftest import expire, start

YESTERDAY = timezone.localdate() - dt.timedelta(days=1)


def _views(user, families, *, day: dt.date = YESTERDAY, hour: int = 10) -> None:
    """VIEW events of each family by `user`, dated `day` at `hour` (written with SQL: the model dates a
    new event now, and the table refuses updates afterwards)."""
    when = timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))
    with connection.cursor() as cursor:
        for family in families:
            cursor.execute(
                "INSERT INTO ehcase_auditevent (occurred_at, actor_id, actor_username, action, object_type, "
                "object_id, family_id, summary, changes, user_agent, path) "
                "VALUES (%s, %s, %s, 'view', '', '', %s, 'Family record', '{}', '', '')",
                [when, user.pk, user.username, family.pk],
            )


def _families(personas, n: int):
    return [FamilyFactory(area=personas.ashworth.area) for _ in range(n)]


@pytest.mark.django_db
def test_more_than_the_limit_of_families_not_worked_with_raises_one_alert(personas, settings):
    settings.ACCESS_ALERT_FAMILIES_PER_DAY = 3
    p = personas
    _views(p.morgan, _families(p, 3))  # exactly the limit: no alert
    _views(p.quinn, _families(p, 4))  # one over: an alert
    _views(p.quinn, [p.ashworth, p.ashworth])  # the same family twice counts once... plus one more
    alerts = access_alerts_raise(day=YESTERDAY)
    assert [(a.user_id, a.kind, a.count) for a in alerts] == [(p.quinn.pk, "many_families", 5)]
    assert len(alerts[0].family_ids) == 5 and p.ashworth.pk in alerts[0].family_ids
    # Each early help manager is told, once.
    notes = Notification.objects.filter(kind="access_alert")
    assert list(notes.values_list("recipient_id", flat=True)) == [p.morgan.pk]
    assert "quinn.auditor" in notes.get().title
    # A rerun raises nothing new and tells no one again.
    assert access_alerts_raise(day=YESTERDAY) == []
    assert AccessAlert.objects.count() == 1 and notes.count() == 1


@pytest.mark.django_db
def test_families_they_work_with_do_not_count(personas, settings):
    settings.ACCESS_ALERT_FAMILIES_PER_DAY = 2
    p = personas
    own = _families(p, 3)
    for family in own:
        grant_family_access(user=p.sam, family=family)
    _views(p.sam, [*own, p.ashworth, p.bennett])  # all his: nothing
    _views(p.chris, _families(p, 2))  # his hub, at the limit: nothing
    assert access_alerts_raise(day=YESTERDAY) == []
    _views(p.chris, _families(p, 1), hour=23)
    assert [a.user_id for a in access_alerts_raise(day=YESTERDAY)] == [p.chris.pk]


@pytest.mark.django_db
def test_only_the_day_looked_at_counts(personas, settings):
    settings.ACCESS_ALERT_FAMILIES_PER_DAY = 1
    p = personas
    two_days_ago = YESTERDAY - dt.timedelta(days=1)
    _views(p.morgan, _families(p, 2), day=two_days_ago, hour=23)
    _views(p.morgan, _families(p, 2), day=timezone.localdate(), hour=0)
    _views(p.morgan, _families(p, 1), day=YESTERDAY, hour=0)
    assert access_alerts_raise(day=YESTERDAY) == []
    alerts = access_alerts_raise(day=two_days_ago)
    assert [(a.day, a.count) for a in alerts] == [(two_days_ago, 2)]


@pytest.mark.django_db
def test_more_than_the_limit_of_emergency_accesses_in_seven_days(personas, settings):
    settings.ACCESS_ALERT_BREAK_GLASS_PER_WEEK = 2
    p = personas
    families = _families(p, 4)

    def use(family, days_ago: float):
        access = expire(start(p.ola, family))
        hours = days_ago * 24
        BreakGlassAccess.objects.filter(pk=access.pk).update(
            started_at=access.started_at - dt.timedelta(hours=hours),
            expires_at=access.expires_at - dt.timedelta(hours=hours),
        )

    noon_yesterday = timezone.make_aware(dt.datetime.combine(YESTERDAY, dt.time(12)))
    noon_yesterday_offset = (timezone.now() - noon_yesterday).total_seconds() / 86400
    use(families[0], noon_yesterday_offset + 7)  # eight days before: outside the week
    use(families[1], noon_yesterday_offset + 6)  # first day of the week
    use(families[2], noon_yesterday_offset)
    assert access_alerts_raise(day=YESTERDAY) == []  # two in the week: at the limit
    use(families[3], noon_yesterday_offset + 3)
    alerts = access_alerts_raise(day=YESTERDAY)
    assert [(a.user_id, a.kind, a.count) for a in alerts] == [(p.ola.pk, "many_break_glass", 3)]
    assert sorted(alerts[0].family_ids) == sorted(f.pk for f in families[1:])
    assert access_alerts_raise(day=YESTERDAY) == []


@pytest.mark.django_db
def test_the_alerts_page_lists_and_an_early_help_manager_reviews(client, personas, settings):
    settings.ACCESS_ALERT_FAMILIES_PER_DAY = 1
    p = personas
    _views(p.quinn, [p.ashworth, p.bennett])
    (alert,) = access_alerts_raise(day=YESTERDAY)
    client.force_login(p.quinn)
    body = client.get(reverse("oversight:alert-list")).content.decode()
    assert "F-DEMOASH" in body and "F-DEMOBEN" in body and "quinn.auditor opened 2 families" in body
    url = reverse("oversight:alert-review", args=[alert.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"note": "x", "version": alert.version}).status_code == 403
    for who in (p.sam, p.hana, p.chris, p.alex, p.ola, p.admin):
        client.force_login(who)
        assert client.get(reverse("oversight:alert-list")).status_code == 404
        assert client.get(url).status_code == 404
    client.force_login(p.morgan)
    assert "Enter a review note" in client.post(url, {"note": "", "version": alert.version}).content.decode()
    assert (
        client.post(url, {"note": "Audit sample for the quarter", "version": alert.version}).status_code
        == 302
    )
    alert.refresh_from_db()
    assert alert.reviewed_by == p.morgan and alert.review_note == "Audit sample for the quarter"
    stale = client.post(url, {"note": "Again", "version": alert.version - 1}).content.decode()
    assert "Someone else reviewed this alert" in stale


@pytest.mark.django_db(transaction=True)
def test_the_task_runs_once_through_a_real_worker(personas, workers):
    """The beat's task in a real worker on the test database: the alert once, however often it runs."""
    from ehcase.oversight.tasks import raise_access_alerts
    from tests.notifications import email_backend
    from tests.notifications.conftest import wait_for

    workers.env["ACCESS_ALERT_FAMILIES_PER_DAY"] = "1"
    _views(personas.quinn, [personas.ashworth, personas.bennett])
    workers.start()
    raise_access_alerts.delay(YESTERDAY.isoformat())
    wait_for(lambda: AccessAlert.objects.exists(), what="the worker to raise the alert")
    raise_access_alerts.delay(YESTERDAY.isoformat())
    raise_access_alerts.delay()  # yesterday by default
    broker = email_backend.client()
    wait_for(
        lambda: broker.llen("celery") == 0 and broker.hlen("unacked") == 0,
        what="the worker to finish the reruns",
    )
    assert list(AccessAlert.objects.values_list("user_id", "kind", "count", "day")) == [
        (personas.quinn.pk, "many_families", 2, YESTERDAY)
    ]
    assert Notification.objects.filter(kind="access_alert").count() == 1
