"""Recent sends and failures for system administrators: what kind, for whom, when, and what went wrong.
No case data: no family, no text of the notification."""

from django.contrib import admin

from .models import Reminder, ScanRun


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "kind",
        "recipient_name",
        "due_on",
        "status",
        "email",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["recipient__username"]
    date_hierarchy = "created_at"
    list_select_related = ["recipient"]
    fields = [
        "kind",
        "recipient_name",
        "due_on",
        "status",
        "email",
        "attempts",
        "last_error",
        "next_attempt_at",
        "created_at",
        "sent_at",
    ]
    readonly_fields = fields
    show_full_result_count = False

    @admin.display(description="Recipient", ordering="recipient__username")
    def recipient_name(self, obj: Reminder) -> str:
        return obj.recipient.username


@admin.register(ScanRun)
class ScanRunAdmin(ReadOnlyAdmin):
    list_display = ["finished_at", "started_at", "total"]
    fields = ["started_at", "finished_at", "claimed"]
    readonly_fields = fields
    show_full_result_count = False
