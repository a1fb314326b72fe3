"""Django admin for system administrators: users, roles, agencies, hubs, levels. No case data here."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from hubs.models import Hub, HubArea
from pathway.models import LevelOfNeed

from .models import Agency, AuditEvent, Membership, User
from .two_factor.admin import reset_two_factor


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    filter_horizontal = ["hubs"]
    autocomplete_fields = ["agency"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [MembershipInline]
    list_display = ["username", "first_name", "last_name", "email", "is_active"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal details", {"fields": ("first_name", "last_name", "email", "job_title")}),
        ("Status", {"fields": ("is_active", "is_staff")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = ["last_login", "date_joined"]
    actions = [reset_two_factor]  # docs/two-factor.md


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["name", "type"]
    list_filter = ["type"]
    search_fields = ["name"]


class HubAreaInline(admin.TabularInline):
    model = HubArea
    extra = 1


@admin.register(Hub)
class HubAdmin(admin.ModelAdmin):
    inlines = [HubAreaInline]
    filter_horizontal = ["member_agencies"]
    list_display = ["name", "triage_target_working_days"]


@admin.register(LevelOfNeed)
class LevelOfNeedAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "band", "order"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: audit rows cannot be added, changed or deleted through the application."""

    list_display = ["occurred_at", "actor_username", "action", "object_type", "family_id", "summary"]
    list_filter = ["action"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        # Audit viewing for early help managers and auditors comes with the audit viewer (not admin).
        return False
