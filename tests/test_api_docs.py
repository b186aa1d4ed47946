"""The OpenAPI schema and Swagger UI: served offline, from npm's swagger-ui-dist."""
import re

import pytest
import yaml

pytestmark = pytest.mark.django_db


def test_schema_is_openapi3_with_token_auth(client):
    r = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")
    assert r.status_code == 200
    schema = yaml.safe_load(r.content)
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "http", "scheme": "bearer", "description": "A per-user API token from /api/tokens/."}
    assert {"/api/tasks/next/", "/api/tasks/{lease_id}/submit/", "/api/passes/", "/api/tokens/"} <= set(schema["paths"])


def test_swagger_ui_loads_local_assets_only(client, settings):
    settings.WHITENOISE_USE_FINDERS = True
    page = client.get("/api/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    assert not [a for a in assets if a.startswith(("http:", "https:", "//"))], assets
    for asset in assets:
        if asset.startswith("/static/"):
            assert client.get(asset).status_code == 200, asset


def test_swagger_ui_page_has_no_inline_script_or_style(client):
    """The split view: the init script is a request of its own, so the CSP needs no 'unsafe-inline'."""
    page = client.get("/api/docs/").content.decode()
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.S)
    assert len(scripts) == 3 and all('src="' in attrs and not body.strip() for attrs, body in scripts), scripts
    assert "<style" not in page and " style=" not in page
    (init,) = [src for src in re.findall(r'<script src="([^"]+)"', page) if not src.startswith("/static/")]
    assert init == "/api/docs/?script="


def test_swagger_ui_init_script_is_javascript_without_a_validator(client):
    r = client.get("/api/docs/?script=")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/javascript")
    script = r.content.decode()
    assert 'url: "/api/schema/"' in script and "SwaggerUIBundle(" in script
    # The validator badge would send the schema's URL to validator.swagger.io.
    assert '"validatorUrl": null' in script
