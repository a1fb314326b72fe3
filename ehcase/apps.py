from django.apps import AppConfig


class EhcaseConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ehcase"
    verbose_name = "Early Help core"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (audit of logins and logouts)
