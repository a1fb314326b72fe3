"""Who sees which family: the access layer's list filter and single-object helper agree."""

import pytest
from django.http import Http404

from ehcase.models import AuditEvent
from ehcase.permissions import families_visible_to, family_for_user, grant_family_access, revoke_family_access

EXPECTED = {
    "sam.practitioner": {"ashworth", "bennett"},
    "hana.healthvisitor": {"ashworth", "carter"},
    "chris.coordinator": {"ashworth", "bennett", "carter", "dixon"},
    "alex.schoolmanager": {"ashworth", "bennett"},
    "morgan.manager": {"ashworth", "bennett", "carter", "dixon", "evans"},
    "quinn.auditor": {"ashworth", "bennett", "carter", "dixon", "evans"},
    "ola.outsider": {"evans"},
    "admin": set(),
}
ANCHORS = ["ashworth", "bennett", "carter", "dixon", "evans"]


@pytest.mark.parametrize("username", EXPECTED)
def test_list_filter_matches_policy(personas, username):
    user = personas.all_users()[username]
    anchors = {getattr(personas, name).pk: name for name in ANCHORS}
    visible = {
        anchors[pk] for pk in families_visible_to(user=user).values_list("pk", flat=True) if pk in anchors
    }
    assert visible == EXPECTED[username]


@pytest.mark.parametrize("username", EXPECTED)
def test_single_object_helper_matches_list(personas, username):
    user = personas.all_users()[username]
    for name in ANCHORS:
        family = getattr(personas, name)
        if name in EXPECTED[username]:
            assert family_for_user(user=user, family_id=family.pk) == family
        else:
            with pytest.raises(Http404):
                family_for_user(user=user, family_id=family.pk)


def test_grant_and_revoke_take_effect_at_once(personas):
    with pytest.raises(Http404):
        family_for_user(user=personas.ola, family_id=personas.dixon.pk)
    grant_family_access(user=personas.ola, family=personas.dixon)
    assert family_for_user(user=personas.ola, family_id=personas.dixon.pk) == personas.dixon
    revoke_family_access(user=personas.ola, family=personas.dixon, actor=personas.chris)
    with pytest.raises(Http404):
        family_for_user(user=personas.ola, family_id=personas.dixon.pk)
    events = AuditEvent.objects.filter(family_id=personas.dixon.pk, action__in=["grant", "revoke"]).order_by(
        "id"
    )
    assert [(e.action, e.object_id) for e in events] == [
        ("grant", str(personas.ola.pk)),
        ("revoke", str(personas.ola.pk)),
    ]
    assert events[1].actor == personas.chris


def test_agency_manager_sees_families_of_own_practitioners_only(personas):
    # Hana (health visiting) works with Carter; Riverside's manager must not see it.
    assert not families_visible_to(user=personas.alex).filter(pk=personas.carter.pk).exists()
    grant_family_access(user=personas.sam, family=personas.carter)
    assert families_visible_to(user=personas.alex).filter(pk=personas.carter.pk).exists()


def test_model_level_permission_does_not_open_every_family(personas):
    """A global view_family permission (guardian's trap) must not widen the access layer."""
    from django.contrib.auth.models import Permission

    personas.ola.user_permissions.add(Permission.objects.get(codename="view_family"))
    visible = set(families_visible_to(user=personas.ola).values_list("pk", flat=True))
    assert personas.ashworth.pk not in visible


def test_inactive_user_sees_nothing(personas):
    personas.morgan.is_active = False
    personas.morgan.save()
    assert not families_visible_to(user=personas.morgan).exists()
