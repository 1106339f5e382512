import pytest

from users import selectors
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_users_by_ids_are_the_active_ones_by_username():
    zed, ana = make_user("zed"), make_user("ana")
    asleep = make_user("asleep", is_active=False)

    found = selectors.users_by_ids(actor=ana, ids=[zed.pk, asleep.pk, ana.pk, 424242])

    assert list(found) == [ana, zed]


def test_a_user_and_administrators_see_the_private_fields_others_do_not():
    from django.contrib.auth.models import AnonymousUser

    ana, bob, admin = make_user("ana"), make_user("bob"), make_user("admin", is_staff=True)

    assert selectors.user_hidden_fields(viewer=ana, user=ana) == ()
    assert selectors.user_hidden_fields(viewer=admin, user=ana) == ()
    assert selectors.user_hidden_fields(viewer=bob, user=ana) == selectors.PRIVATE_FIELDS
    assert selectors.user_hidden_fields(viewer=AnonymousUser(), user=ana) == selectors.PRIVATE_FIELDS
    assert selectors.user_hidden_fields(viewer=None, user=ana) == selectors.PRIVATE_FIELDS
    assert "email" in selectors.PRIVATE_FIELDS
