"""``manage.py send_due_reminders``: scan for due reminders and send them now, in this process.

    python manage.py send_due_reminders --dry-run   # list what would be claimed and sent; change nothing
    python manage.py send_due_reminders             # claim and send (what beat and the worker do)

Without a broker this is how to catch up by hand: claims and sends are the same idempotent steps the
Celery tasks run, so running it alongside the workers sends nothing twice.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from ehcase.models import User
from ehcase.notifications import scans
from ehcase.notifications.models import Reminder, ReminderStatus
from ehcase.notifications.services import reminders_deliver


class Command(BaseCommand):
    help = "Claim the reminders that are due and send them (or, with --dry-run, list them)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List what would be sent; claim nothing")
        parser.add_argument(
            "--kind", action="append", choices=[s.kind for s in scans.CATALOGUE], help="Only this kind"
        )

    def handle(self, *args, dry_run: bool, kind: list[str] | None, **options):
        if dry_run:
            self._dry_run(kind)
            return
        claimed = scans.scan_all(kinds=kind)
        for name, count in claimed.items():
            self.stdout.write(f"{name}: {count} claimed")
        result = reminders_deliver()
        self.stdout.write(
            f"sent {result.sent}, withheld {result.withheld}, no longer due {result.stale}, "
            f"failed {result.failed}, to retry {result.retrying}"
        )

    def _dry_run(self, kinds: list[str] | None) -> None:
        clock = scans.Clock.at()
        rows = []
        for scan in scans.CATALOGUE:
            if kinds and scan.kind not in kinds:
                continue
            rows += [
                ("new", d.kind, d.recipient_id, d.object_id, d.due_on)
                for d in scans.unclaimed_due(scan=scan, clock=clock)
            ]
        pending = Reminder.objects.filter(status=ReminderStatus.PENDING)
        if kinds:
            pending = pending.filter(kind__in=kinds)
        rows += [
            ("claimed", r.kind, r.recipient_id, r.object_id, r.due_on)
            for r in pending.order_by("id").only("kind", "recipient_id", "object_id", "due_on")
        ]
        names = dict(User.objects.filter(id__in={r[2] for r in rows}).values_list("id", "username"))
        for state, kind, recipient_id, object_id, due_on in rows:
            self.stdout.write(
                f"{state}\t{kind}\t{names.get(recipient_id, recipient_id)}\t{object_id}\t{due_on}"
            )
        self.stdout.write(
            f"{len(rows)} reminder{'s' if len(rows) != 1 else ''} would be sent (dry run: nothing claimed)"
        )
