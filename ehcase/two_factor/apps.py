from django.apps import AppConfig


class TwoFactorConfig(AppConfig):
    name = "ehcase.two_factor"
    label = "two_factor"
    verbose_name = "Two-factor authentication"
    default_auto_field = "django.db.models.BigAutoField"
