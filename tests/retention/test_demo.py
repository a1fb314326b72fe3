"""The retention demo: a legal hold on Carter, and (on request) two old families listed for review."""

import pytest

from ehcase.retention.demo import seed_retention
from ehcase.retention.models import DestructionReview, LegalHold

pytestmark = pytest.mark.django_db


def test_seed_retention_lists_the_old_families_and_holds_carter(personas):
    first = seed_retention(personas, old_families=True)
    again = seed_retention(personas, old_families=True)

    listed = set(
        DestructionReview.objects.filter(record_class="family").values_list("family_reference", flat=True)
    )
    assert listed == {"F-DEMOOLD", "F-DEMOQUI"}
    assert first["families"] == 2 and again["families"] == 0
    assert LegalHold.objects.filter(family=personas.carter, lifted_at__isnull=True).count() == 1
