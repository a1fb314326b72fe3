from django.db import migrations

DEFAULT_LEVELS = [
    ("1", "Universal", 1, 10),
    ("2", "Additional", 2, 20),
    ("3", "Multiple or complex", 3, 30),
    ("4", "Acute or statutory", 4, 40),
]


def add_levels(apps, schema_editor):
    LevelOfNeed = apps.get_model("pathway", "LevelOfNeed")
    for code, name, band, order in DEFAULT_LEVELS:
        LevelOfNeed.objects.get_or_create(code=code, defaults={"name": name, "band": band, "order": order})


class Migration(migrations.Migration):
    dependencies = [("pathway", "0001_initial")]
    operations = [migrations.RunPython(add_levels, migrations.RunPython.noop)]
