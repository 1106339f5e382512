import pytest

from users import selectors
from users.tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_users_by_ids_are_the_active_ones_by_username():
    zed, ana = make_user("zed"), make_user("ana")
    asleep = make_user("asleep", is_active=False)

    found = selectors.users_by_ids(ids=[zed.pk, asleep.pk, ana.pk, 424242])

    assert list(found) == [ana, zed]
