"""Emergency access in the access layer (ehcase.permissions): the family becomes visible to that user
only, read only, and disappears the moment the access expires or is ended."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from ehcase.models import Family
from ehcase.oversight import services
from ehcase.oversight.models import BreakGlassAccess
from ehcase.permissions import (
    can_change_family,
    families_visible_to,
    family_for_user,
    family_pairs_visible,
    people_visible_to,
)

from .conftest import REASON, expire, forget_roles, shift, start

pytestmark = pytest.mark.django_db


def _visible(user) -> set[int]:
    forget_roles(user)
    return set(families_visible_to(user=user).values_list("id", flat=True))


def test_live_access_adds_the_family_for_that_user_only_and_read_only(personas):
    p = personas
    assert p.ashworth.pk not in _visible(p.ola)
    before = _visible(p.ola)
    start(p.ola, p.ashworth)
    assert _visible(p.ola) == before | {p.ashworth.pk}
    family = family_for_user(user=p.ola, family_id=p.ashworth.pk)
    assert family.emergency_access_id is not None
    assert not can_change_family(user=p.ola, family=family)
    kerry = p.ashworth.members.get(person__first_name="Kerry").person
    assert people_visible_to(user=p.ola).filter(pk=kerry.pk).exists()
    # Nobody else gains anything from Ola's access (no manager of Southfield in the cast; Alex manages
    # Riverside and still sees what he saw).
    assert p.ashworth.pk not in _visible(p.admin)


def test_an_agency_manager_does_not_inherit_a_practitioners_emergency_access(personas):
    p = personas
    start(p.sam, p.evans)  # Evans is a South family; Sam works for Riverside, managed by Alex
    assert p.evans.pk in _visible(p.sam)
    assert p.evans.pk not in _visible(p.alex)


def test_expiry_and_ending_take_effect_at_once(personas):
    p = personas
    access = start(p.ola, p.ashworth)
    expire(access)
    forget_roles(p.ola)
    with pytest.raises(Http404):
        family_for_user(user=p.ola, family_id=p.ashworth.pk)
    second = start(p.ola, p.ashworth)
    assert services.break_glass_end(actor=p.ola, access=second)
    forget_roles(p.ola)
    assert p.ashworth.pk not in _visible(p.ola)
    assert not services.break_glass_end(actor=p.ola, access=second)  # already ended: nothing more


def test_access_counts_only_between_its_start_and_its_end(personas):
    p = personas
    access = start(p.ola, p.ashworth)
    now = timezone.now()
    BreakGlassAccess.objects.filter(pk=access.pk).update(
        started_at=now + dt.timedelta(hours=1), expires_at=now + dt.timedelta(hours=5)
    )
    assert p.ashworth.pk not in _visible(p.ola)  # not started yet
    BreakGlassAccess.objects.filter(pk=access.pk).update(
        started_at=now - dt.timedelta(hours=1), expires_at=now + dt.timedelta(hours=3)
    )
    assert p.ashworth.pk in _visible(p.ola)
    shift(access, hours=2.9)
    assert p.ashworth.pk in _visible(p.ola)  # a few minutes left
    shift(access, hours=0.2)
    assert p.ashworth.pk not in _visible(p.ola)  # ended a few minutes ago


def test_bulk_pair_check_agrees_with_the_list_filter_under_emergency_access(personas):
    p = personas
    start(p.ola, p.ashworth)
    ended = start(p.sam, p.evans)
    expire(ended)
    users = list(p.all_users().values())
    forget_roles(*users)
    families = list(Family.objects.values_list("id", flat=True))
    expected = {(u.pk, f) for u in users for f in families_visible_to(user=u).values_list("id", flat=True)}
    assert family_pairs_visible(pairs=[(u.pk, f) for u in users for f in families]) == expected
    assert (p.ola.pk, p.ashworth.pk) in expected
    assert (p.sam.pk, p.evans.pk) not in expected


def test_family_page_shows_the_banner_and_refuses_changes(client, personas):
    p = personas
    access = start(p.ola, p.ashworth)
    client.force_login(p.ola)
    body = client.get(reverse("ehcase:family-detail", args=[p.ashworth.pk])).content.decode()
    until = timezone.localtime(access.expires_at)
    assert f"You have emergency access to this record until {until:%H:%M}" in body
    assert REASON.replace("'", "&#x27;") in body
    assert reverse("oversight:break-glass-end", args=[access.pk]) in body
    assert client.get(reverse("ehcase:family-edit", args=[p.ashworth.pk])).status_code == 403
    assert client.post(reverse("ehcase:family-edit", args=[p.ashworth.pk]), {}).status_code == 403
    # Found by search in the family list too, while the access lasts.
    listing = client.get(reverse("ehcase:family-list"), {"q": "Ashworth"}).content.decode()
    assert p.ashworth.reference in listing
    expire(access)
    assert client.get(reverse("ehcase:family-detail", args=[p.ashworth.pk])).status_code == 404
    assert (
        p.ashworth.reference
        not in client.get(reverse("ehcase:family-list"), {"q": "Ashworth"}).content.decode()
    )


def test_no_banner_for_those_who_see_the_family_anyway(client, personas):
    client.force_login(personas.hana)
    body = client.get(reverse("ehcase:family-detail", args=[personas.ashworth.pk])).content.decode()
    assert "You have emergency access" not in body
    assert "I no longer need access" not in body
