"""Every admin page renders, and no admin form can break a database constraint it cannot check.

Django validates a model's constraints in its admin forms, but skips every constraint that involves a
field the form does not edit (a read-only field, for instance). A form that edits some of a
constraint's fields and not all of them can therefore store a row the database refuses: an
IntegrityError, a 500 (a room's kind changed to "direct" while its key is read-only). Such a
constraint needs a form that checks it itself, named here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib import admin
from django.db.models import BaseConstraint, CheckConstraint, F, Model, Q, UniqueConstraint
from django.urls import reverse

from messaging.admin import MembershipForm, RoomAdminForm
from messaging.services import direct_room_get_or_create, files_upload
from messaging.tests.factories import general, make_notification, png, send
from users.tests.factories import refresh_for

pytestmark = pytest.mark.django_db

# (model label, constraint name) -> the admin form that checks the constraint itself.
CHECKED_BY_THEIR_FORM = {
    ("messaging.Room", "room_direct_key_iff_direct"): RoomAdminForm,  # kind through room_kind_check
    ("messaging.Membership", "membership_unique_room_user"): MembershipForm,  # existing rows, user read-only
}


def _names(expression: Any) -> Iterator[str]:
    if isinstance(expression, F):
        yield str(expression.deconstruct()[1][0])
        return
    for source in expression.get_source_expressions():
        if source is not None:
            yield from _names(source)


def constraint_fields(constraint: BaseConstraint) -> set[str]:
    if isinstance(constraint, CheckConstraint):
        return set(Q(constraint.condition).referenced_base_fields)
    assert isinstance(constraint, UniqueConstraint), constraint
    if constraint.fields:
        return set(constraint.fields)
    return {name for expression in constraint.expressions for name in _names(expression)}


def admin_forms(request) -> Iterator[tuple[type[Model], type, set[str]]]:
    """Each admin form that can write (model admins and inlines, add and change), with the fields it edits."""
    for model, model_admin in admin.site._registry.items():
        for obj in (None, model()):
            can_write = (
                model_admin.has_add_permission(request)
                if obj is None
                else (model_admin.has_change_permission(request, obj))
            )
            if can_write:
                form = model_admin.get_form(request, obj)
                yield model, form, set(form.base_fields)
            for inline in model_admin.get_inline_instances(request, obj):
                if inline.has_add_permission(request, obj) or inline.has_change_permission(request, obj):
                    formset: Any = inline.get_formset(request, obj)
                    yield inline.model, formset.form, set(formset.form.base_fields) | {formset.fk.name}


def test_every_constraint_is_checked_by_the_admin_forms_that_edit_its_fields(rf, staff_user):
    request = rf.get("/admin/")
    request.user = staff_user

    unchecked = []
    for model, form, edited in admin_forms(request):
        for constraint in model._meta.constraints:
            fields = constraint_fields(constraint)
            if fields & edited and fields - edited:
                expected = CHECKED_BY_THEIR_FORM.get((model._meta.label, constraint.name))
                if expected is None or not issubclass(form, expected):
                    unchecked.append((model._meta.label, constraint.name, sorted(fields - edited)))

    assert unchecked == []


def test_the_walk_sees_the_room_forms_that_edit_a_constrained_field(rf, staff_user):
    request = rf.get("/admin/")
    request.user = staff_user

    room_forms = [edited for model, _form, edited in admin_forms(request) if model._meta.label == "messaging.Room"]

    assert room_forms
    assert all("kind" in edited and "direct_key" not in edited for edited in room_forms)


@pytest.fixture
def one_of_each(user, other_user, staff_user) -> None:
    """A row of every model the admin shows, a direct room and a message with a file among them."""
    direct_room_get_or_create(actor=user, other=other_user)
    upload = files_upload(uploader=user, uploads=[png()])[0]
    send(user, "hello @bob", room=general(), attachment_ids=[upload.pk])
    make_notification(other_user)
    refresh_for(user).blacklist()


def test_every_admin_page_renders(client, staff_user, one_of_each):
    client.force_login(staff_user)
    client.raise_request_exception = False

    failures = []
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        urls = [reverse("admin:{}_{}_changelist".format(*info)), reverse("admin:{}_{}_add".format(*info))]
        urls += [
            reverse("admin:{}_{}_change".format(*info), args=[pk])
            for pk in model._default_manager.values_list("pk", flat=True)
        ]
        for url in urls:
            status = client.get(url).status_code
            if status >= 500 or status == 404:
                failures.append((url, status))

    assert failures == []
