"""Workspace roles: in every user payload, admins are staff, only admins change roles, guests see only
the rooms they were added to."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from messaging.models import Room
from messaging.services import room_add_member
from messaging.tests.factories import general, make_room, send
from users.models import AuditEntry, User
from users.services import user_set_role
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db


def client_of(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_every_user_payload_carries_role_and_bot_fields(api, user, other_user):
    body = api.get(f"/api/v1/users/{other_user.pk}/").json()

    assert body["role"] == "member"
    assert body["is_bot"] is False
    assert body["owner"] is None
    assert api.get("/api/v1/users/me/").json()["role"] == "member"


def test_staff_and_superusers_are_admins_and_admins_are_staff():
    assert make_user(is_staff=True).role == "admin"
    assert make_user(is_superuser=True).role == "admin"
    promoted = make_user(role="admin")
    assert promoted.is_staff


def test_an_admin_changes_roles_over_rest_and_it_is_audited(admin_api, staff_user, user):
    response = admin_api.patch(f"/api/v1/users/{user.pk}/", {"role": "moderator"}, format="json")

    assert response.status_code == 200
    assert response.json()["role"] == "moderator"
    entry = AuditEntry.objects.get(action="user.role")
    assert (entry.actor, entry.target_id, entry.reason, entry.via) == (staff_user, user.pk, "moderator", "rest")


def test_demoting_an_admin_clears_is_staff_and_promoting_sets_it(staff_user, user):
    user_set_role(actor=staff_user, user=user, role="admin")
    user.refresh_from_db()
    assert user.is_staff
    assert user.role == "admin"

    user_set_role(actor=staff_user, user=user, role="member")
    user.refresh_from_db()
    assert not user.is_staff
    assert user.role == "member"


def test_unsetting_is_staff_makes_an_admin_a_member(admin_api, staff_user):
    admin = make_user("second-admin", role="admin")

    admin_api.patch(f"/api/v1/users/{admin.pk}/", {"is_staff": False}, format="json")

    admin.refresh_from_db()
    assert (admin.is_staff, admin.role) == (False, "member")


def test_a_member_or_moderator_cannot_change_roles(api, user, other_user):
    user.role = "moderator"
    user.save()

    response = api.patch(f"/api/v1/users/{other_user.pk}/", {"role": "guest"}, format="json")
    assert response.status_code == 403
    assert api.patch("/api/v1/users/me/", {"role": "admin"}, format="json").status_code == 403
    other_user.refresh_from_db()
    assert other_user.role == "member"


def test_an_unknown_role_is_400(admin_api, user):
    assert admin_api.patch(f"/api/v1/users/{user.pk}/", {"role": "owner"}, format="json").status_code == 400


def test_a_superuser_stays_an_admin(admin_api):
    boss = make_user("boss", is_superuser=True)

    assert admin_api.patch(f"/api/v1/users/{boss.pk}/", {"role": "member"}, format="json").status_code == 403


def test_the_admin_actions_change_roles_and_are_audited(client, staff_user, user):
    client.force_login(staff_user)
    response = client.post("/admin/users/user/", {"action": "make_guest", "_selected_action": [user.pk]})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.role == "guest"
    assert AuditEntry.objects.get(action="user.role").via == "admin"


# Guests


@pytest.fixture
def guest():
    return make_user("guest", role="guest")


def test_a_guest_sees_no_public_room_it_was_not_added_to(guest, user):
    general()
    send(user, "public chatter")
    client = client_of(guest)

    assert client.get("/api/v1/rooms/").json()["results"] == []
    assert client.get("/api/v1/rooms/general/").status_code == 404
    assert client.get("/api/v1/messages/?room=general").status_code == 404
    assert client.post("/api/v1/rooms/general/members/", {}, format="json").status_code == 404
    assert client.post("/api/v1/messages/", {"content": "hi", "room": "general"}, format="json").status_code == 404
    assert client.get("/api/v1/rooms/general/members/").status_code == 404


def test_a_guest_reads_and_writes_the_rooms_it_was_added_to(guest, user):
    project = make_room(kind=Room.Kind.PRIVATE, members=(user,))
    public = make_room(kind=Room.Kind.PUBLIC, members=(user,))
    room_add_member(actor=user, room=project, user=guest)
    room_add_member(actor=user, room=public, user=guest)
    client = client_of(guest)

    slugs = {room["slug"] for room in client.get("/api/v1/rooms/").json()["results"]}
    assert slugs == {project.slug, public.slug}
    posted = client.post("/api/v1/messages/", {"content": "hello", "room": public.slug}, format="json")
    assert posted.status_code == 201
    assert client.get(f"/api/v1/messages/?room={project.slug}").status_code == 200


def test_a_guest_cannot_create_rooms(guest):
    response = client_of(guest).post("/api/v1/rooms/", {"name": "Mine"}, format="json")

    assert response.status_code == 403
    assert not Room.objects.filter(name="Mine").exists()
