from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "ehcase.notifications"
    label = "notifications"
    verbose_name = "Reminders and notifications"
    default_auto_field = "django.db.models.BigAutoField"
