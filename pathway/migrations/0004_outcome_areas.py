from django.db import migrations

from pathway.defaults import DEFAULT_OUTCOME_AREAS


def add_areas(apps, schema_editor):
    OutcomeArea = apps.get_model("pathway", "OutcomeArea")
    for order, (code, name) in enumerate(DEFAULT_OUTCOME_AREAS, start=1):
        OutcomeArea.objects.get_or_create(code=code, defaults={"name": name, "order": order * 10})


class Migration(migrations.Migration):
    dependencies = [("pathway", "0003_pathway")]
    operations = [migrations.RunPython(add_areas, migrations.RunPython.noop)]
