"""Keycloak's access tokens as issued: the client id in ``azp`` when ``aud`` does not name it
(CHAT_OIDC_ACCEPT_AZP, on by default); everything else as strict as with ``aud``."""

from __future__ import annotations

import pytest

from users import oidc
from users.models import User
from users.tests.test_oidc import AUDIENCE, ME, OTHER_KEY, assert_refused, bearer, provider_token

pytestmark = pytest.mark.django_db

STOCK_AUD = ["account"]  # what Keycloak puts in aud without an Audience mapper


def test_a_stock_keycloak_token_with_our_client_in_azp_is_accepted(provider):
    response = bearer(provider_token(aud=STOCK_AUD, azp=AUDIENCE)).get(ME)

    assert response.status_code == 200
    assert response.json()["username"] == "ana"


@pytest.mark.parametrize("aud", [AUDIENCE, [AUDIENCE], ["account", AUDIENCE]])
def test_aud_naming_us_is_accepted_whatever_azp_says(provider, aud):
    assert bearer(provider_token(aud=aud, azp="another-client")).get(ME).status_code == 200


def test_with_the_setting_off_aud_must_name_us(provider, settings):
    settings.CHAT_OIDC_ACCEPT_AZP = False

    assert_refused(bearer(provider_token(aud=STOCK_AUD, azp=AUDIENCE)).get(ME))
    assert bearer(provider_token(aud=[AUDIENCE], azp="another-client")).get(ME).status_code == 200


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"aud": STOCK_AUD, "azp": "another-client"}, id="another-clients-token"),
        pytest.param({"aud": STOCK_AUD}, id="no-azp"),
        pytest.param({"aud": STOCK_AUD, "azp": [AUDIENCE]}, id="azp-not-a-string"),
        pytest.param({"aud": STOCK_AUD, "azp": AUDIENCE.upper()}, id="azp-other-case"),
        pytest.param({"aud": None, "azp": AUDIENCE}, id="no-aud-at-all"),
        pytest.param({"aud": 5, "azp": AUDIENCE}, id="aud-not-a-string"),
        pytest.param({"aud": ["account", 5], "azp": AUDIENCE}, id="aud-list-with-a-number"),
        pytest.param({"aud": STOCK_AUD, "azp": AUDIENCE, "typ": "ID"}, id="an-id-token"),
        pytest.param({"aud": STOCK_AUD, "azp": AUDIENCE, "exp": 1}, id="expired"),
        pytest.param({"aud": STOCK_AUD, "azp": AUDIENCE, "iss": "https://sso.example.test/realms/x"}, id="other-iss"),
    ],
)
def test_everything_else_stays_strict(provider, overrides):
    assert_refused(bearer(provider_token(**overrides)).get(ME))
    assert not User.objects.exists()


def test_a_token_signed_by_another_key_is_refused_even_with_our_azp(provider):
    assert_refused(bearer(provider_token(OTHER_KEY, aud=STOCK_AUD, azp=AUDIENCE)).get(ME))


def test_the_setting_reaches_the_config(provider, settings):
    config = oidc.oidc_config()
    assert config is not None
    assert config.accept_azp is True
    settings.CHAT_OIDC_ACCEPT_AZP = False
    config = oidc.oidc_config()
    assert config is not None
    assert config.accept_azp is False
