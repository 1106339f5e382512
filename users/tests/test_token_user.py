"""The access token's user, read with SQL compiled once (users.authentication.FreshUserJWTAuthentication):
read fresh on every request, one query, and every refusal in simplejwt's own words."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.exceptions import APIException
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.tokens import AccessToken

from users.authentication import FreshUserJWTAuthentication
from users.tests.factories import make_user, token_for

pytestmark = pytest.mark.django_db


def outcome(authentication, token):
    try:
        return authentication.get_user(token).pk
    except APIException as exc:
        return type(exc), exc.detail, exc.status_code


def tokens():
    alice, gone, changed, deleted = (make_user() for _ in range(4))
    valid = AccessToken.for_user(alice)
    inactive = AccessToken.for_user(gone)
    gone.is_active = False
    gone.save()
    stale = AccessToken.for_user(changed)
    changed.set_password("another-long-passphrase")
    changed.save()
    orphan = AccessToken.for_user(deleted)
    deleted.delete()
    as_int = AccessToken.for_user(alice)
    as_int["user_id"] = alice.pk
    huge = AccessToken.for_user(alice)
    huge["user_id"] = str(2**70)
    no_claim = AccessToken.for_user(alice)
    del no_claim["user_id"]
    return [valid, inactive, stale, orphan, as_int, huge, no_claim]


def test_every_token_gets_the_user_or_the_refusal_simplejwt_gives():
    for token in tokens():
        assert outcome(FreshUserJWTAuthentication(), token) == outcome(JWTAuthentication(), token)


def test_the_user_is_one_query_and_read_fresh_each_time():
    user = make_user()
    token = AccessToken.for_user(user)
    with CaptureQueriesContext(connection) as queries:
        assert FreshUserJWTAuthentication().get_user(token) == user
    assert len(queries) == 1

    user.is_active = False
    user.save()

    assert outcome(FreshUserJWTAuthentication(), token)[1]["code"] == "user_inactive"


def test_a_deactivated_user_is_refused_on_the_next_request(client):
    user = make_user()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token_for(user)}"}
    assert client.get("/api/v1/messages/", **headers).status_code == 200

    user.is_active = False
    user.save()
    refused = client.get("/api/v1/messages/", **headers)

    assert refused.status_code == 401
    assert refused.json()["code"] == "user_inactive"
