from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "ehcase.oversight"
    label = "oversight"
    verbose_name = "Emergency access, audit viewer and access alerts"
    default_auto_field = "django.db.models.BigAutoField"
