from django.db import migrations

from assessments.defaults import ensure_default_template


def forwards(apps, schema_editor):
    ensure_default_template(apps.get_model("assessments", "AssessmentTemplate"))


class Migration(migrations.Migration):
    dependencies = [("assessments", "0002_assessment_consent_plan")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
