"""The words of each reminder. A family is named only by its reference: the text is stored, emailed (it
leaves the system) and may outlive the recipient's access; the notification centre shows the family's
name beside it only while the recipient may still see the family."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

from .models import ReminderKind

K = ReminderKind


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    url: str


def _d(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def compose(
    *,
    kind: str,
    due_on: dt.date,
    object_id: int,
    family_id: int | None = None,
    family_reference: str = "",
    meeting_starts_at: dt.datetime | None = None,
    summary: dict | None = None,
) -> Message:
    """Title, body and link for one reminder. Only the reference, dates and counts: no names, no case
    details."""
    ref = family_reference or "(reference not available)"
    if kind == K.REVIEW_DUE:
        return Message(
            f"Review due on {_d(due_on)}",
            f"The Team Around the Family review for family {ref} is due on {_d(due_on)}.",
            reverse("pathway:episode-detail", args=[object_id]),
        )
    if kind == K.REVIEW_OVERDUE:
        return Message(
            "Review overdue",
            f"The Team Around the Family review for family {ref} was due on {_d(due_on)} and has not been "
            "recorded.",
            reverse("pathway:episode-detail", args=[object_id]),
        )
    if kind == K.MEETING_TOMORROW:
        when = f" at {meeting_starts_at:%H:%M}" if meeting_starts_at else ""
        return Message(
            "TAF meeting tomorrow",
            f"You are invited to a Team Around the Family meeting for family {ref} tomorrow, "
            f"{_d(due_on)}{when}.",
            reverse("pathway:meeting-detail", args=[object_id]),
        )
    if kind == K.EHA_DRAFT_STALE:
        weeks = int(getattr(settings, "REMINDER_EHA_DRAFT_DAYS", 28)) // 7
        return Message(
            "Early help assessment not completed",
            f"The early help assessment you started for family {ref} is still a draft {weeks} weeks after "
            "it was started.",
            reverse("ehcase:family-detail", args=[family_id]) if family_id else "",
        )
    if kind == K.NO_LEAD:
        weeks = int(getattr(settings, "REMINDER_NO_LEAD_DAYS", 14)) // 7
        return Message(
            "No lead professional agreed",
            f"The early help assessment for family {ref} was completed more than {weeks} weeks ago and no "
            "lead professional has been agreed. Convene the first TAF meeting to agree one.",
            reverse("pathway:episode-detail", args=[object_id]),
        )
    if kind == K.TRIAGE_OVERDUE:
        return Message(
            "Request past the triage target",
            f"Request for support {object_id} (family {ref}) was due a decision by {_d(due_on)}.",
            reverse("hubs:request-detail", args=[object_id]),
        )
    if kind == K.ACTION_OVERDUE:
        return Message(
            "Plan action overdue",
            f"An action you own in the family plan for family {ref} was due on {_d(due_on)}.",
            reverse("assessments:action-update", args=[object_id]),
        )
    if kind == K.SUSTAINMENT_CHECK:
        months = int(getattr(settings, "REMINDER_SUSTAINMENT_MONTHS", 6))
        return Message(
            "Supporting Families sustainment check",
            f"Early help with family {ref} closed {months} months ago with outcomes achieved. Check whether "
            "the progress has lasted: a Supporting Families claim needs it.",
            reverse("pathway:episode-detail", args=[object_id]),
        )
    if kind == K.REREFERRAL_WINDOW_END:
        months = int(getattr(settings, "REMINDER_REREFERRAL_MONTHS", 12))
        return Message(
            "Re-referral window ends",
            f"It is {months} months since early help with family {ref} closed. A new request for support "
            "from now on will not count as a re-referral.",
            reverse("pathway:episode-detail", args=[object_id]),
        )
    if kind == K.WEEKLY_DIGEST:
        s = summary or {}
        lines = [
            f"Reviews overdue: {s.get('reviews_overdue', 0)}",
            f"Reviews due in the next 7 days: {s.get('reviews_due', 0)}",
            f"Open episodes with no lead professional: {s.get('no_lead', 0)}",
            f"Plan actions overdue: {s.get('actions_overdue', 0)}",
        ]
        return Message(
            f"Your weekly summary for the week of {_d(due_on)}",
            "For the families you oversee:\n" + "\n".join(lines),
            reverse("pathway:caseloads"),
        )
    raise ValueError(f"No message for {kind}")
