"""The family plan's actions. The Early Help Assessment and consent records build on these."""

from django.conf import settings
from django.db import models


class ActionStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    DROPPED = "dropped", "No longer needed"


OPEN_ACTION_STATUSES = [ActionStatus.NOT_STARTED, ActionStatus.IN_PROGRESS]


class PlanAction(models.Model):
    """Something someone will do for the family: a practitioner, an agency or a family member owns it."""

    episode = models.ForeignKey("pathway.Episode", on_delete=models.CASCADE, related_name="actions")
    description = models.CharField("What will be done", max_length=500)
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="plan_actions"
    )
    owner_agency = models.ForeignKey(
        "ehcase.Agency", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    owner_person = models.ForeignKey(
        "ehcase.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    due_on = models.DateField("Due date")
    status = models.CharField(max_length=12, choices=ActionStatus.choices, default=ActionStatus.NOT_STARTED)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(owner_user__isnull=False, owner_agency__isnull=True, owner_person__isnull=True)
                    | models.Q(owner_user__isnull=True, owner_agency__isnull=False, owner_person__isnull=True)
                    | models.Q(owner_user__isnull=True, owner_agency__isnull=True, owner_person__isnull=False)
                ),
                name="plan_action_one_owner",
            ),
        ]
        indexes = [
            models.Index(
                fields=["owner_user", "due_on"],
                condition=models.Q(status__in=["not_started", "in_progress"]),
                name="plan_action_open_by_owner",
            ),
        ]

    def __str__(self) -> str:
        return self.description

    @property
    def owner_name(self) -> str:
        if self.owner_user_id:
            return self.owner_user.display_name
        if self.owner_agency_id:
            return self.owner_agency.name
        return self.owner_person.full_name

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ACTION_STATUSES
