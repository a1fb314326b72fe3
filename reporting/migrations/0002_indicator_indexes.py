"""Indexes the quarterly indicators' date ranges read (reporting/indicators.py, docs/indicators.md). They
sit on other apps' tables but exist for the indicators, so they live here, named reporting_*.

Already there and used as they are: episodes by opening date (pathway episode_recent), closed episodes by
closing date (notify_episode_closed_on), claims by status date (claim_status_changed) and the foreign-key
indexes of needs, scores, family members and reviews."""

from django.db import migrations

INDEXES = [
    # Requests received in a quarter (drafts have no received date worth reading).
    ("reporting_request_received", "hubs_requestforsupport", "(received_on) WHERE status <> 'draft'"),
    # Requests' first triage decisions (those superseding no other) made in a quarter.
    ("reporting_first_decision", "hubs_triagedecision", "(decided_on) WHERE supersedes_id IS NULL"),
    # Assessments started, first completed and signed off in a quarter.
    ("reporting_assessment_started", "assessments_assessment", "(started_on)"),
    (
        "reporting_assessment_signed_off",
        "assessments_assessment",
        "(signed_off_at) WHERE signed_off_at IS NOT NULL",
    ),
    # Assessments first completed in a quarter: version 1 is the first completion.
    ("reporting_first_completion", "assessments_assessmentversion", "(completed_at) WHERE number = 1"),
    # Reviews held in a quarter, and an episode's reviews in date order (the previous review, the
    # latest one by the quarter end).
    ("reporting_review_held", "pathway_review", "(held_on) WHERE NOT is_baseline"),
    ("reporting_review_episode_held", "pathway_review", "(episode_id, held_on)"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0001_initial"),
        ("pathway", "0008_supporting_families_claims"),
        ("assessments", "0004_assessment_edit_token"),
        ("hubs", "0002_requests_and_triage"),
    ]

    operations = [
        migrations.RunSQL(
            sql=f"CREATE INDEX IF NOT EXISTS {name} ON {table} {definition}",
            reverse_sql=f"DROP INDEX IF EXISTS {name}",
        )
        for name, table, definition in INDEXES
    ]
