"""Episodes: one period of early help for a family. The pathway work extends these."""

from django.conf import settings
from django.db import models


class LevelOfNeed(models.Model):
    """A partnership's threshold level, mapped to one of the four national bands."""

    class Band(models.IntegerChoices):
        UNIVERSAL = 1, "Universal"
        ADDITIONAL = 2, "Additional (single agency)"
        MULTIPLE = 3, "Multiple or complex (multi-agency)"
        ACUTE = 4, "Acute or statutory (children's social care)"

    code = models.CharField(max_length=8, unique=True)
    name = models.CharField(max_length=80)
    band = models.PositiveSmallIntegerField(choices=Band.choices)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class EpisodeStatus(models.TextChoices):
    OPEN = "open", "Open"
    ASSESSMENT = "assessment", "Assessment in progress"
    PLAN_ACTIVE = "plan_active", "Plan active"
    REVIEWING = "reviewing", "Reviewing"
    CLOSED = "closed", "Closed"


class Episode(models.Model):
    family = models.ForeignKey("ehcase.Family", on_delete=models.CASCADE, related_name="episodes")
    status = models.CharField(max_length=20, choices=EpisodeStatus.choices, default=EpisodeStatus.OPEN)
    level = models.ForeignKey(LevelOfNeed, on_delete=models.PROTECT, related_name="episodes")
    opened_on = models.DateField()
    closed_on = models.DateField(null=True, blank=True)
    closure_reason = models.CharField(max_length=40, blank=True)
    social_care_reference = models.CharField(max_length=40, blank=True)
    assessor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lead_professional = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="lead_episodes",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-opened_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["family"], condition=~models.Q(status="closed"), name="episode_one_open_per_family"
            ),
            models.CheckConstraint(
                condition=models.Q(closed_on__isnull=True) | models.Q(closed_on__gte=models.F("opened_on")),
                name="episode_dates_ordered",
            ),
        ]
        indexes = [models.Index(fields=["lead_professional", "status"])]

    def __str__(self) -> str:
        return f"Episode {self.pk} for {self.family_id}"

    @property
    def is_open(self) -> bool:
        return self.status != EpisodeStatus.CLOSED
