"""Partial indexes the reminder scans read (docs/reminders.md). They sit on other apps' tables but
exist for the scans, so they live here, named notify_*."""

from django.db import migrations

INDEXES = [
    # Sustainment checks and the end of the re-referral window: closures by date.
    ("notify_episode_closed_on", "pathway_episode", "(closed_on) WHERE status = 'closed'"),
    # No lead professional after the assessment: the few open episodes without one.
    (
        "notify_episode_no_lead",
        "pathway_episode",
        "(id) WHERE lead_professional_id IS NULL AND status <> 'closed'",
    ),
    # Plan actions overdue: open actions owned by a worker, by due date.
    (
        "notify_action_open_due",
        "assessments_planaction",
        "(due_on) WHERE status IN ('not_started', 'in_progress') AND owner_user_id IS NOT NULL",
    ),
    # Requests past the triage target: the undecided requests, by the day they arrived.
    (
        "notify_request_undecided",
        "hubs_requestforsupport",
        "(received_on) WHERE status IN ('new', 'awaiting')",
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_reminders"),
        ("pathway", "0007_chronology_plural"),
        ("assessments", "0001_plan_actions"),
        ("hubs", "0002_requests_and_triage"),
    ]

    operations = [
        migrations.RunSQL(
            sql=f"CREATE INDEX IF NOT EXISTS {name} ON {table} {definition}",
            reverse_sql=f"DROP INDEX IF EXISTS {name}",
        )
        for name, table, definition in INDEXES
    ]
