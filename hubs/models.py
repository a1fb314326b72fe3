from django.db import models


class Hub(models.Model):
    """A locality hub: triages requests for support for the families in its areas."""

    name = models.CharField(max_length=120, unique=True)
    meeting_pattern = models.CharField(max_length=200, blank=True)
    triage_target_working_days = models.PositiveSmallIntegerField(default=5)
    member_agencies = models.ManyToManyField("ehcase.Agency", blank=True, related_name="hubs")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class HubArea(models.Model):
    """A locality (town, ward or postcode district) that a hub covers."""

    hub = models.ForeignKey(Hub, on_delete=models.PROTECT, related_name="areas")
    name = models.CharField(max_length=120, unique=True)
    postcode_district = models.CharField(max_length=8, blank=True, help_text="For example NE61")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
