"""``manage.py seed_demo``: the demo county, and with ``--families N`` the large benchmark tier.

    python manage.py seed_demo                     # personas, ~20 agencies, 200 families (seconds)
    python manage.py seed_demo --families 250000   # plus the DESIGN.md §9 large tier (minutes)

Families come with their histories on the early help pathway (pathway.demo): episodes at every
point from just opened to closed, step ups and step downs, re-referrals, teams, meetings, baselines,
reviews and case notes. The default tier writes them through pathway.services, with consent, Early
Help Assessments in every state and family plans through assessments.services (assessments.demo),
a queue of requests for support in each hub (hubs.demo) and a few Supporting Families claims
(pathway.claims). The large tier writes the same kind of histories with COPY as the rows the
services would have written, with requests for support and triage decisions, consent, assessments
and their versions, and Supporting Families claims; it has no family plans and no audit events
except for its access grants.

Safe to run again: what exists is kept and nothing is duplicated. Refused where
settings.DEMO_DATA_ALLOWED is False (production).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from assessments.models import Assessment, AssessmentVersion, ConsentRecord, PlanAction
from ehcase import seeding
from ehcase.demo import DEMO_TOTP_SECRET, ensure_demo_devices_for_demo_password
from ehcase.models import (
    Agency,
    AuditEvent,
    Family,
    FamilyMember,
    FamilyUserObjectPermission,
    Person,
    Relationship,
    User,
)
from ehcase.permissions import families_visible_to
from hubs.models import RequestForSupport, TriageDecision
from pathway.models import (
    ChronologyEntry,
    Episode,
    EpisodeTransition,
    Review,
    SupportingFamiliesClaim,
    TafMeeting,
)


class Command(BaseCommand):
    help = (
        "Load demo data: the personas, a county of partner agencies and families, optionally the large tier."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--families",
            type=int,
            default=0,
            metavar="N",
            help="Also build the large benchmark tier with N families (about three people each), "
            "written with COPY in chunks. For example 250000.",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=seeding.DEFAULT_SEED,
            help="Random seed (the same seed gives the same data)",
        )
        parser.add_argument(
            "--chunk-size", type=int, default=seeding.LARGE_CHUNK, help="Large-tier families per transaction"
        )

    def handle(self, *args, families: int, seed: int, chunk_size: int, verbosity: int, **options):
        if not getattr(settings, "DEMO_DATA_ALLOWED", False):
            raise CommandError(
                "Demo data is not allowed on this installation (DEMO_DATA_ALLOWED is False, as in "
                "production). seed_demo creates users with a published password and made-up families."
            )
        if families < 0:
            raise CommandError("--families must be zero or more")
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1")

        def log(message: str) -> None:
            if verbosity >= 1:
                self.stdout.write(message)
                self.stdout.flush()

        started = time.monotonic()
        personas, written = seeding.seed_county(seed=seed, log=log)
        from hubs.demo import seed_requests

        log(f"Requests for support: {seed_requests(seed=seed)} written")
        from ehcase.oversight.demo import seed_oversight

        log(f"Emergency access and access alerts: {seed_oversight(personas)} written")
        from ehcase.retention.demo import seed_retention

        log(f"Retention: {seed_retention(personas)}")
        from ehcase.disclosure.demo import seed_disclosure

        log(f"Sharing records: {seed_disclosure(personas)} written")
        if families:
            log(f"Large tier: {families:,} families in chunks of {chunk_size:,}")
            seeding.seed_large(
                personas=personas, families=families, seed=seed, chunk_size=chunk_size, log=log
            )
        log(f"Authenticator apps with the demo secret: {ensure_demo_devices_for_demo_password()} added")
        from ehcase.partitions import audit_partitions_ensure

        # Events written with past dates landed in the audit table's DEFAULT partition: give their
        # months partitions of their own (docs/audit.md).
        log(f"Audit partitions: {len(audit_partitions_ensure())} created")
        log("Analysing tables")
        seeding.analyze()

        totals = (
            ("agencies", Agency),
            ("users", User),
            ("families", Family),
            ("people", Person),
            ("family members", FamilyMember),
            ("relationships", Relationship),
            ("requests for support", RequestForSupport),
            ("triage decisions", TriageDecision),
            ("episodes", Episode),
            ("episode transitions", EpisodeTransition),
            ("TAF meetings", TafMeeting),
            ("reviews", Review),
            ("consent records", ConsentRecord),
            ("assessments", Assessment),
            ("assessment versions", AssessmentVersion),
            ("plan actions", PlanAction),
            ("Supporting Families claims", SupportingFamiliesClaim),
            ("chronology entries", ChronologyEntry),
            ("object permissions", FamilyUserObjectPermission),
            ("audit events", AuditEvent),
        )
        log("Totals: " + ", ".join(f"{label} {model.objects.count():,}" for label, model in totals))
        log(
            "Families visible: "
            + ", ".join(
                f"{name} {families_visible_to(user=user).count():,}"
                for name, user in personas.all_users().items()
            )
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready in {time.monotonic() - started:.1f}s. "
                f"Sign in as any persona with the password {seeding.DEMO_PASSWORD}, then a code from an "
                f"authenticator app set up with the key {DEMO_TOTP_SECRET} (docs/two-factor.md)."
            )
        )
