"""The audit table becomes range-partitioned by `occurred_at`, one partition per calendar month in UTC,
plus a DEFAULT partition so that an insert never fails (docs/audit.md).

Set-based and in one transaction: the table is renamed aside, a partitioned table with the same columns
takes its name, the partitions for every month from the oldest event to this month and the months ahead
are created (ehcase.partitions), the rows are copied with one INSERT ... SELECT, the old table is dropped,
the id sequence carries on from where it was, and the indexes and the append-only trigger (with the
retention exceptions of 0008) are created on the partitioned table, which creates them on every partition.

PostgreSQL requires the partition key in the primary key: it is (id, occurred_at). Django keeps `id` as
the model's primary key; ids stay unique because they all come from the one sequence, and nothing has a
foreign key to the audit table (audit rows hold plain ids, and no table refers to them).

The actor_id index Django made for the actor column is not recreated: `audit_actor_recent`
(actor_id, occurred_at DESC) answers everything it did, and every index costs on the fastest-growing table.
`audit_recent` (occurred_at DESC, id DESC) is new: the audit viewer's search by date alone, newest first.

Reversible: backwards copies the rows into a plain table again with the original indexes and trigger.
Both directions hold an exclusive lock on the audit table while they copy (every audited request waits):
about 16 s per million rows forwards on a 2-core machine (docs/audit.md), so run it in a maintenance
window at a large council.
"""

import datetime as dt

from django.db import migrations, models

FUNCTIONS = """
-- Create the monthly partitions missing from first_month to last_month (UTC months) and for the months of
-- any rows waiting in DEFAULT; move those rows into their partitions, so DEFAULT is empty afterwards.
-- Returns the names of the partitions created. Idempotent; concurrent calls wait for each other.
CREATE OR REPLACE FUNCTION ehcase_audit_partitions_ensure(first_month date, last_month date)
RETURNS SETOF text AS $$
DECLARE
    months date[];
    month date;
    name text;
    stray boolean;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('ehcase_audit_partitions_ensure'));
    SELECT coalesce(array_agg(m ORDER BY m), '{}') INTO months FROM (
        SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date AS m
        FROM ehcase_auditevent_default
        UNION
        SELECT generate_series(
            date_trunc('month', first_month), date_trunc('month', last_month), interval '1 month'
        )::date
    ) wanted
    WHERE to_regclass(quote_ident('ehcase_auditevent_' || to_char(m, 'YYYY_MM'))) IS NULL;
    IF months = '{}' THEN
        RETURN;
    END IF;
    -- Rows in DEFAULT whose month gets a partition would make creating it fail: take DEFAULT out while
    -- the partitions are created, route its rows through the parent, and put it back empty.
    stray := EXISTS (SELECT 1 FROM ehcase_auditevent_default);
    IF stray THEN
        ALTER TABLE ehcase_auditevent DETACH PARTITION ehcase_auditevent_default;
    END IF;
    FOREACH month IN ARRAY months LOOP
        name := 'ehcase_auditevent_' || to_char(month, 'YYYY_MM');
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF ehcase_auditevent FOR VALUES FROM (%L) TO (%L)',
            name,
            to_char(month, 'YYYY-MM-DD') || ' 00:00:00+00',
            to_char(month + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00+00'
        );
        RETURN NEXT name;
    END LOOP;
    IF stray THEN
        INSERT INTO ehcase_auditevent SELECT * FROM ehcase_auditevent_default;
        TRUNCATE ehcase_auditevent_default;
        ALTER TABLE ehcase_auditevent ATTACH PARTITION ehcase_auditevent_default DEFAULT;
    END IF;
END;
$$ LANGUAGE plpgsql;
"""

SET_ASIDE = """
LOCK TABLE ehcase_auditevent IN ACCESS EXCLUSIVE MODE;
ALTER TABLE ehcase_auditevent RENAME TO ehcase_auditevent_unpartitioned;
CREATE TABLE ehcase_auditevent (LIKE ehcase_auditevent_unpartitioned INCLUDING DEFAULTS)
    PARTITION BY RANGE (occurred_at);
CREATE TABLE ehcase_auditevent_default PARTITION OF ehcase_auditevent DEFAULT;
"""

INDEXES = """
ALTER TABLE ehcase_auditevent ADD CONSTRAINT ehcase_auditevent_pkey PRIMARY KEY (id, occurred_at);
CREATE INDEX audit_family_recent ON ehcase_auditevent (family_id, occurred_at DESC);
CREATE INDEX audit_actor_recent ON ehcase_auditevent (actor_id, occurred_at DESC);
CREATE INDEX audit_object ON ehcase_auditevent (object_type, object_id);
CREATE INDEX audit_recent ON ehcase_auditevent (occurred_at DESC, id DESC);
CREATE TRIGGER ehcase_audit_no_update_delete
    BEFORE UPDATE OR DELETE ON ehcase_auditevent
    FOR EACH ROW EXECUTE FUNCTION ehcase_audit_append_only();
"""

COPY_FORWARD = """
INSERT INTO ehcase_auditevent SELECT * FROM ehcase_auditevent_unpartitioned;
DO $$
DECLARE
    last bigint;
    called boolean;
BEGIN
    EXECUTE format('SELECT last_value, is_called FROM %s',
        pg_get_serial_sequence('ehcase_auditevent_unpartitioned', 'id')) INTO last, called;
    DROP TABLE ehcase_auditevent_unpartitioned;
    CREATE SEQUENCE ehcase_auditevent_id_seq OWNED BY ehcase_auditevent.id;
    PERFORM setval('ehcase_auditevent_id_seq', last, called);
END;
$$;
ALTER TABLE ehcase_auditevent ALTER COLUMN id SET DEFAULT nextval('ehcase_auditevent_id_seq');
"""

BACKWARD = """
LOCK TABLE ehcase_auditevent IN ACCESS EXCLUSIVE MODE;
ALTER TABLE ehcase_auditevent RENAME TO ehcase_auditevent_partitioned;
ALTER SEQUENCE ehcase_auditevent_id_seq RENAME TO ehcase_auditevent_partitioned_id_seq;
CREATE TABLE ehcase_auditevent (LIKE ehcase_auditevent_partitioned);
ALTER TABLE ehcase_auditevent ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY;
INSERT INTO ehcase_auditevent SELECT * FROM ehcase_auditevent_partitioned;
DO $$
DECLARE
    last bigint;
    called boolean;
BEGIN
    SELECT last_value, is_called INTO last, called FROM ehcase_auditevent_partitioned_id_seq;
    DROP TABLE ehcase_auditevent_partitioned;
    PERFORM setval(pg_get_serial_sequence('ehcase_auditevent', 'id'), last, called);
END;
$$;
DROP FUNCTION ehcase_audit_partitions_ensure(date, date);
ALTER TABLE ehcase_auditevent ADD CONSTRAINT ehcase_auditevent_pkey PRIMARY KEY (id);
CREATE INDEX audit_family_recent ON ehcase_auditevent (family_id, occurred_at DESC);
CREATE INDEX audit_actor_recent ON ehcase_auditevent (actor_id, occurred_at DESC);
CREATE INDEX audit_object ON ehcase_auditevent (object_type, object_id);
CREATE INDEX ehcase_auditevent_actor_id_5fd085ca ON ehcase_auditevent (actor_id);
CREATE TRIGGER ehcase_audit_no_update_delete
    BEFORE UPDATE OR DELETE ON ehcase_auditevent
    FOR EACH ROW EXECUTE FUNCTION ehcase_audit_append_only();
ANALYZE ehcase_auditevent;
"""


def create_partitions(apps, schema_editor):
    """The partitions for every month of the existing rows (so that the copy lands in them, not in
    DEFAULT) and for this month and the months ahead."""
    from ehcase.partitions import audit_partitions_ensure

    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT min(occurred_at), max(occurred_at) FROM ehcase_auditevent_unpartitioned")
        oldest, newest = cursor.fetchone()
    today = dt.datetime.now(dt.UTC).date()
    audit_partitions_ensure(since=oldest.astimezone(dt.UTC).date() if oldest else today)
    if newest is not None and newest.astimezone(dt.UTC).date() > today:
        # Events dated after the months ahead (a clock set wrong): give their months partitions too.
        last = newest.astimezone(dt.UTC).date()
        months = (last.year - today.year) * 12 + last.month - today.month
        audit_partitions_ensure(ahead=months)


class Migration(migrations.Migration):
    atomic = True
    dependencies = [("ehcase", "0008_audit_destruction_trigger")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(FUNCTIONS + SET_ASIDE, migrations.RunSQL.noop),
                migrations.RunPython(create_partitions, migrations.RunPython.noop),
                migrations.RunSQL([COPY_FORWARD, INDEXES, "ANALYZE ehcase_auditevent"], BACKWARD),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="auditevent",
                    name="actor",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=models.deletion.DO_NOTHING,
                        related_name="+",
                        to="ehcase.user",
                    ),
                ),
                migrations.AddIndex(
                    model_name="auditevent",
                    index=models.Index(fields=["-occurred_at", "-id"], name="audit_recent"),
                ),
            ],
        ),
    ]
