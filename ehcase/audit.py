"""Recording audit events. Services call `audit_record`; the request's address and browser
come from RequestContextMiddleware, so tasks and commands audit with the same call."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import models

from .models import AuditAction, AuditEvent, User


@dataclass(frozen=True)
class RequestContext:
    ip_address: str | None = None
    user_agent: str = ""
    path: str = ""


current_request: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "ehcase_request",
    default=RequestContext(),  # noqa: B039 - frozen dataclass, immutable
)


def _plain(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields whose value changed."""
    return {
        name: [_plain(before.get(name)), _plain(after.get(name))]
        for name in after
        if _plain(before.get(name)) != _plain(after.get(name))
    }


def snapshot(instance: models.Model, fields: list[str]) -> dict[str, Any]:
    return {name: _plain(getattr(instance, name)) for name in fields}


def audit_record(
    *,
    actor: User | None,
    action: str,
    obj: models.Model | None = None,
    family_id: int | None = None,
    summary: str = "",
    changes: dict | None = None,
) -> AuditEvent:
    """Append one audit event. Personal data values are kept only in `changes`, never in the summary."""
    context = current_request.get()
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_username=getattr(actor, "username", "") or "",
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        family_id=family_id,
        summary=summary[:255],
        changes=changes or {},
        ip_address=context.ip_address,
        user_agent=context.user_agent[:255],
        path=context.path[:255],
    )


def audit_view_family(*, actor: User, family_id: int, what: str = "Family record") -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.VIEW, family_id=family_id, summary=what, obj=None)
