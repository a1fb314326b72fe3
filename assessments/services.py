"""Writes on the family plan. Atomic and audited; callers have checked access (assessments.permissions)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F

from ehcase.audit import audit_record
from ehcase.models import Agency, AuditAction, Person, User
from pathway.models import Episode
from pathway.services import PathwayError

from .models import ActionStatus, PlanAction


@transaction.atomic
def action_add(
    *,
    actor: User,
    episode: Episode,
    description: str,
    due_on: dt.date,
    owner_user: User | None = None,
    owner_agency: Agency | None = None,
    owner_person: Person | None = None,
) -> PlanAction:
    """The lead professional (or whoever manages the episode) adds an action to the family plan."""
    if not episode.is_open:
        raise PathwayError("This episode is closed, so it can no longer be changed")
    owners = [o for o in (owner_user, owner_agency, owner_person) if o is not None]
    if len(owners) != 1:
        raise PathwayError(
            "Select who owns the action: a practitioner, an agency or a family member", field="owner"
        )
    if owner_person is not None and not owner_person.memberships.filter(family_id=episode.family_id).exists():
        raise PathwayError("Select someone from this family", field="owner")
    if due_on < episode.opened_on:
        raise PathwayError(
            f"Due date must be on or after the episode opened ({episode.opened_on:%-d %B %Y})", field="due_on"
        )
    action = PlanAction.objects.create(
        episode=episode,
        description=description,
        due_on=due_on,
        owner_user=owner_user,
        owner_agency=owner_agency,
        owner_person=owner_person,
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=action,
        family_id=episode.family_id,
        summary="Plan action added",
        changes={"description": [None, description], "due_on": [None, due_on.isoformat()]},
    )
    return action


@transaction.atomic
def action_set_status(
    *, actor: User, action: PlanAction, status: str, expected_version: int | None
) -> PlanAction:
    """A TAF member updates their own action; the lead professional may update any."""
    if not action.episode.is_open:
        raise PathwayError("This episode is closed, so it can no longer be changed")
    if status not in ActionStatus.values:
        raise PathwayError("Select the action's status", field="status")
    version = action.version if expected_version is None else expected_version
    before = action.status
    if not PlanAction.objects.filter(pk=action.pk, version=version).update(
        status=status, version=F("version") + 1
    ):
        raise PathwayError(
            "Someone else updated this action after you opened the page. Check it and try again."
        )
    action.refresh_from_db()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=action,
        family_id=action.episode.family_id,
        summary="Plan action status changed",
        changes={"status": [before, status]},
    )
    return action
