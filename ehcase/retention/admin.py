"""Retention rules are configuration: system administrators change them here (the record classes and
what each rule runs from are fixed by the code that applies them; years, description and whether the
rule is in force are theirs). Reviews, holds and the log are case governance, not configuration: they
live on the retention pages for early help managers, not in the admin."""

from django.contrib import admin

from .models import RetentionRule


@admin.register(RetentionRule)
class RetentionRuleAdmin(admin.ModelAdmin):
    list_display = ["record_class", "years", "runs_from", "active", "updated_at"]
    readonly_fields = ["record_class", "runs_from", "updated_at"]
    fields = ["record_class", "runs_from", "years", "description", "active", "updated_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
