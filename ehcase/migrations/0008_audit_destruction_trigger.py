from django.db import migrations

# The audit trail stays append-only (0003) with two narrow exceptions, both for retention
# (docs/retention.md), both only inside a transaction that has switched them on with
# set_config(..., true), which lasts until that transaction ends:
#
# - destroying a family record: UPDATE may clear `changes` (the personal values an event recorded) to
#   {"destroyed": true} on events of that family, and nothing else: every other column must stay the
#   same. Switched on by ehcase.destroying_family = '<family id>'.
# - destroying old audit events: DELETE of events recorded before ehcase.audit_purge_before, which may
#   never be later than six years ago whatever the retention rule says.
#
# Everything else is refused as before, and the model still refuses to save an existing event.
SQL = """
CREATE OR REPLACE FUNCTION ehcase_audit_append_only() RETURNS trigger AS $$
DECLARE
    destroying text := current_setting('ehcase.destroying_family', true);
    purge_before text := current_setting('ehcase.audit_purge_before', true);
BEGIN
    IF TG_OP = 'UPDATE'
        AND coalesce(destroying, '') <> ''
        AND OLD.family_id IS NOT NULL
        AND OLD.family_id::text = destroying
        AND NEW.changes = '{"destroyed": true}'::jsonb
        AND (to_jsonb(NEW) - 'changes') = (to_jsonb(OLD) - 'changes')
    THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE'
        AND coalesce(purge_before, '') <> ''
        AND purge_before::timestamptz <= now() - interval '6 years'
        AND OLD.occurred_at < purge_before::timestamptz
    THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""

# Back to the strict function of 0003 (the trigger itself is unchanged).
REVERSE = """
CREATE OR REPLACE FUNCTION ehcase_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


class Migration(migrations.Migration):
    dependencies = [("ehcase", "0007_audit_governance_actions")]
    operations = [migrations.RunSQL(SQL, REVERSE)]
