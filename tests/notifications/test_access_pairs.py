"""family_pairs_visible (delivery's bulk access check) agrees with families_visible_to for every persona
and every family of the demo cast, including after grants are revoked and for an inactive user."""

import pytest

from ehcase.models import Family
from ehcase.permissions import families_visible_to, family_pairs_visible, revoke_family_access

pytestmark = pytest.mark.django_db


def _agree(personas):
    users = list(personas.all_users().values())
    families = list(Family.objects.values_list("id", flat=True))
    expected = {(u.pk, f) for u in users for f in families_visible_to(user=u).values_list("id", flat=True)}
    assert family_pairs_visible(pairs=[(u.pk, f) for u in users for f in families]) == expected
    return expected


def test_bulk_check_agrees_with_the_list_filter(personas):
    expected = _agree(personas)
    assert (personas.sam.pk, personas.ashworth.pk) in expected
    assert (personas.alex.pk, personas.bennett.pk) in expected  # via Sam, his practitioner
    assert (personas.chris.pk, personas.dixon.pk) in expected  # his hub
    assert (personas.ola.pk, personas.ashworth.pk) not in expected
    assert not {pair for pair in expected if pair[0] == personas.admin.pk}


def test_bulk_check_follows_revocation_and_deactivation(personas):
    revoke_family_access(user=personas.hana, family=personas.ashworth)
    personas.quinn.is_active = False
    personas.quinn.save(update_fields=["is_active"])
    for user in personas.all_users().values():
        user.__dict__.pop("_ehcase_roles", None)
    expected = _agree(personas)
    assert (personas.hana.pk, personas.ashworth.pk) not in expected
    assert not {pair for pair in expected if pair[0] == personas.quinn.pk}


def test_empty_input_costs_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert family_pairs_visible(pairs=[]) == set()
