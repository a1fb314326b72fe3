from django.db import migrations

# The Supporting Families headline outcomes, as the default outcome areas for distance travelled.
AREAS = [
    ("education", "Getting a good education"),
    ("early_years", "Good early years development"),
    ("health", "Improved mental and physical health"),
    ("substance_use", "Promoting recovery and reducing harm from substance use"),
    ("family_relationships", "Improved family relationships"),
    ("safety", "Children safe from abuse and exploitation"),
    ("crime", "Crime prevention and tackling crime"),
    ("domestic_abuse", "Safe from domestic abuse"),
    ("housing", "Secure housing"),
    ("financial_stability", "Financial stability"),
]


def add_areas(apps, schema_editor):
    OutcomeArea = apps.get_model("pathway", "OutcomeArea")
    for order, (code, name) in enumerate(AREAS, start=1):
        OutcomeArea.objects.get_or_create(code=code, defaults={"name": name, "order": order * 10})


class Migration(migrations.Migration):
    dependencies = [("pathway", "0003_pathway")]
    operations = [migrations.RunPython(add_areas, migrations.RunPython.noop)]
