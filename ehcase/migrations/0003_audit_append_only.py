from django.db import migrations

# The application may only INSERT audit events. The trigger refuses UPDATE and DELETE whoever
# issues them (ORM, admin, raw SQL through the application's connection).
SQL = """
CREATE OR REPLACE FUNCTION ehcase_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ehcase_audit_no_update_delete
    BEFORE UPDATE OR DELETE ON ehcase_auditevent
    FOR EACH ROW EXECUTE FUNCTION ehcase_audit_append_only();
"""

REVERSE = """
DROP TRIGGER IF EXISTS ehcase_audit_no_update_delete ON ehcase_auditevent;
DROP FUNCTION IF EXISTS ehcase_audit_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("ehcase", "0002_initial")]
    operations = [migrations.RunSQL(SQL, REVERSE)]
