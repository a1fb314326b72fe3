from django.db import migrations

from ehcase.retention.defaults import ensure_default_rules


def add_rules(apps, schema_editor):
    ensure_default_rules(apps.get_model("retention", "RetentionRule"))


class Migration(migrations.Migration):
    dependencies = [("retention", "0001_retention"), ("ehcase", "0008_audit_destruction_trigger")]
    operations = [migrations.RunPython(add_rules, migrations.RunPython.noop)]
