from django.apps import AppConfig


class DisclosureConfig(AppConfig):
    name = "ehcase.disclosure"
    label = "disclosure"
    verbose_name = "Information sharing and subject access"
    default_auto_field = "django.db.models.BigAutoField"
