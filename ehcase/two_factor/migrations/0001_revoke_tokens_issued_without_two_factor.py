"""API tokens issued before two-factor authentication were given for a password alone: revoke them, so
that every token in use was obtained with a current code (docs/two-factor.md)."""

from django.db import migrations


def revoke_tokens(apps, schema_editor):
    apps.get_model("authtoken", "Token").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("otp_totp", "0003_add_timestamps"),
        ("otp_static", "0003_add_timestamps"),
    ]

    operations = [migrations.RunPython(revoke_tokens, migrations.RunPython.noop)]
