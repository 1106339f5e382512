import pytest
import yaml

pytestmark = pytest.mark.django_db


def test_openapi_schema_describes_the_api(client):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    paths = schema["paths"]
    for path in ["/api/v1/users/", "/api/v1/users/{id}/", "/api/v1/users/me/", "/api/v1/auth/token/"]:
        assert path in paths, path
    assert "jwtAuth" in schema["components"]["securitySchemes"]
    token_operation = schema["paths"]["/api/v1/auth/token/"]["post"]
    assert token_operation.get("security", []) in ([], [{}])


def test_schema_generation_has_no_warnings():
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_swagger_ui_is_served_without_a_cdn(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn.jsdelivr.net" not in html
    assert "unpkg.com" not in html
