"""System administrators create users and give them agencies, roles and hubs; they see no case data."""

import pytest

from ehcase.models import Membership, Role, User
from ehcase.permissions import families_visible_to

pytestmark = pytest.mark.django_db


def test_admin_creates_a_coordinator_with_an_agency_role_and_hub(client, personas):
    client.force_login(personas.admin)
    response = client.post(
        "/admin/ehcase/user/add/",
        {
            "username": "new.coordinator",
            "password1": "a-long-enough-passphrase",
            "password2": "a-long-enough-passphrase",
            "usable_password": "true",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
            "memberships-0-agency": personas.council.pk,
            "memberships-0-role": Role.HUB_COORDINATOR,
            "memberships-0-hubs": [personas.south.pk],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(username="new.coordinator")
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.HUB_COORDINATOR and list(membership.hubs.all()) == [personas.south]
    assert user.check_password("a-long-enough-passphrase")
    assert set(families_visible_to(user=user)) >= {personas.evans}
    assert personas.ashworth not in set(families_visible_to(user=user))


def test_case_data_is_not_in_the_admin(client, personas):
    client.force_login(personas.admin)
    assert client.get("/admin/ehcase/family/").status_code == 404
    assert client.get("/admin/ehcase/person/").status_code == 404
    assert "Families" not in client.get("/admin/").content.decode()


def test_non_staff_cannot_reach_the_admin(client, personas):
    client.force_login(personas.morgan)
    response = client.get("/admin/ehcase/user/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
