from django.db import migrations

from pathway.defaults import DEFAULT_LEVELS


def add_levels(apps, schema_editor):
    LevelOfNeed = apps.get_model("pathway", "LevelOfNeed")
    for code, name, band, order in DEFAULT_LEVELS:
        LevelOfNeed.objects.get_or_create(code=code, defaults={"name": name, "band": band, "order": order})


class Migration(migrations.Migration):
    dependencies = [("pathway", "0001_initial")]
    operations = [migrations.RunPython(add_levels, migrations.RunPython.noop)]
