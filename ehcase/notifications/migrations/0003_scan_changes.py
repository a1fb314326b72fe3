"""What the reminder scans need to look only at what is new (docs/reminders.md, "Scanning what is new").

A change stamp on the tables whose rows make reminders due: `changed_at`, set by the database on every
INSERT (its default) and UPDATE (a trigger), so a write through the ORM, `QuerySet.update()`, COPY or
raw SQL is stamped alike. The stamp is the database clock at the moment of the write. It is not a model
field: nothing in the application reads or writes it but the scans' SQL. Each table gets an index on it,
named notify_* like the scans' other indexes.

Existing rows are stamped '-infinity' (never changed since any scan), which adds the column without
rewriting the table; the default then becomes `clock_timestamp()` for new rows. That is safe because
the first scan after this migration has no ScanMark and so scans every kind in full, reading every row
as it is; every write after the migration is stamped.

Also the scan marks (ScanMark) and the per-kind scan record on ScanRun.
"""

from django.db import migrations, models

TABLES = [
    ("pathway_episode", "notify_episode_changed"),
    ("assessments_assessment", "notify_assessment_changed"),
    ("assessments_planaction", "notify_action_changed"),
    ("hubs_requestforsupport", "notify_request_changed"),
]

FUNCTION = """
CREATE OR REPLACE FUNCTION notify_stamp_changed_at() RETURNS trigger AS $$
BEGIN
    NEW.changed_at := clock_timestamp();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


def _forward(table: str, index: str) -> str:
    return (
        f"ALTER TABLE {table} ADD COLUMN changed_at timestamptz NOT NULL DEFAULT '-infinity';"
        f"ALTER TABLE {table} ALTER COLUMN changed_at SET DEFAULT clock_timestamp();"
        f"CREATE INDEX {index} ON {table} (changed_at);"
        # Without statistics on the new column the planner guesses a third of the table changed and reads
        # all of it; with them it takes the index.
        f"ANALYZE {table} (changed_at);"
        f"CREATE TRIGGER notify_changed_at BEFORE UPDATE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION notify_stamp_changed_at();"
    )


def _backward(table: str, index: str) -> str:
    return (
        f"DROP TRIGGER IF EXISTS notify_changed_at ON {table};"
        f"DROP INDEX IF EXISTS {index};"
        f"ALTER TABLE {table} DROP COLUMN IF EXISTS changed_at;"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0002_scan_indexes"),
        ("pathway", "0008_supporting_families_claims"),
        ("assessments", "0004_assessment_edit_token"),
        ("hubs", "0003_request_agency_hub_index"),
    ]

    operations = [
        migrations.RunSQL(sql=FUNCTION, reverse_sql="DROP FUNCTION IF EXISTS notify_stamp_changed_at()"),
        *[migrations.RunSQL(sql=_forward(t, i), reverse_sql=_backward(t, i)) for t, i in TABLES],
        migrations.CreateModel(
            name="ScanMark",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("review_due", "Review due soon"),
                            ("review_overdue", "Review overdue"),
                            ("meeting_tomorrow", "TAF meeting tomorrow"),
                            ("eha_draft_stale", "Assessment still a draft"),
                            ("no_lead", "No lead professional after the assessment"),
                            ("triage_overdue", "Request past the hub's triage target"),
                            ("action_overdue", "Plan action overdue"),
                            ("sustainment_check", "Supporting Families sustainment check"),
                            ("rereferral_window_end", "Re-referral window ends"),
                            ("weekly_digest", "Weekly summary for managers"),
                            ("daily_email", "Daily email of notifications"),
                        ],
                        max_length=32,
                        unique=True,
                    ),
                ),
                ("scanned_for", models.DateField()),
                ("limits", models.CharField(max_length=200)),
                ("started_at", models.DateTimeField()),
            ],
        ),
        migrations.AddField(model_name="scanrun", name="scanned", field=models.JSONField(default=dict)),
    ]
