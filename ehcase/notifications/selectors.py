"""Reads of the notification centre. Every function takes the acting user and returns only their own
notifications; a family's name is added only while the user may still see the family."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404

from ehcase.models import User
from ehcase.permissions import families_visible_to

from .models import EmailFrequency, Notification, NotificationPreference


def notifications_for(*, user: User) -> QuerySet[Notification]:
    """The user's notifications, newest first, each with `family_name` when the user may see the family
    (one query whatever the number of rows: the name is a correlated lookup through the access layer)."""
    visible_name = families_visible_to(user=user).filter(pk=OuterRef("family_id")).values("name")[:1]
    return (
        Notification.objects.filter(recipient=user)
        .annotate(family_name=Subquery(visible_name))
        .order_by("-created_at", "-id")
    )


def unread_count(*, user: User) -> int:
    """Unread notifications of the user: one count over a partial index (the header shows it)."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notification_for_user(*, user: User, notification_id: int | str) -> Notification:
    """One of the user's own notifications; anyone else's is a 404."""
    try:
        notification_id = int(notification_id)
    except (TypeError, ValueError):
        raise Http404 from None
    notification = Notification.objects.filter(pk=notification_id, recipient=user).first()
    if notification is None:
        raise Http404
    return notification


def email_frequency_for(*, user: User) -> str:
    preference = NotificationPreference.objects.filter(user=user).first()
    return preference.email_frequency if preference else EmailFrequency.IMMEDIATELY
