from django.conf import settings
from django.db import models


class Snapshot(models.Model):
    """The indicators of one quarter for one scope (all, a hub, an agency, or both), as calculated at
    `computed_at`. The dashboard, exports, board pack and API read these rows; `reporting.services`
    calculates a missing one on first use and the nightly task recalculates recent quarters.

    hub_id and agency_id are 0 for "every hub" / "every agency" so the unique key needs no NULL rules."""

    quarter = models.CharField(max_length=10)  # Quarter.slug, "2026-27-q2"
    hub_id = models.PositiveIntegerField(default=0)
    agency_id = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()
    data = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["quarter", "hub_id", "agency_id"], name="snapshot_once_per_scope")
        ]

    def __str__(self) -> str:
        return f"{self.quarter} hub {self.hub_id} agency {self.agency_id}"


class BoardPackCommentary(models.Model):
    """A manager's commentary on one section of the board pack for a quarter and scope."""

    quarter = models.CharField(max_length=10)
    hub_id = models.PositiveIntegerField(default=0)
    agency_id = models.PositiveIntegerField(default=0)
    section = models.CharField(max_length=40)
    text = models.TextField(max_length=4000, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["quarter", "hub_id", "agency_id", "section"], name="commentary_once_per_section"
            )
        ]

    def __str__(self) -> str:
        return f"{self.quarter} {self.section}"
