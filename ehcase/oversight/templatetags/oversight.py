"""`{% emergency_access_banner family %}`: the banner on a family's pages while the user reads it
through emergency access. `family` came from ehcase.permissions.family_for_user, which annotates
`emergency_access_id`: nothing is queried unless it is set."""

from __future__ import annotations

from django import template
from django.utils import timezone

from ehcase.oversight.models import BreakGlassAccess

register = template.Library()


@register.inclusion_tag("oversight/_banner.html", takes_context=True)
def emergency_access_banner(context, family) -> dict:
    access_id = getattr(family, "emergency_access_id", None)
    access = None
    if access_id is not None:
        access = BreakGlassAccess.objects.filter(pk=access_id).first()
    return {
        "access": access,
        "until": timezone.localtime(access.expires_at) if access else None,
        "csrf_token": context.get("csrf_token"),
    }
