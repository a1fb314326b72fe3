from django.apps import AppConfig


class RetentionConfig(AppConfig):
    name = "ehcase.retention"
    label = "retention"
    verbose_name = "Retention and destruction"
    default_auto_field = "django.db.models.BigAutoField"
