"""Security headers on every response, and what HTTPS=1 changes: the redirect (behind the proxy's
X-Forwarded-Proto), HSTS, Secure cookies."""
import re
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from .test_deploy_check import production_env, settings_under

pytestmark = pytest.mark.django_db

# The policy, directive by directive (django-csp writes them in no fixed order).
POLICY = {
    "default-src": ["'self'"], "script-src": ["'self'"], "style-src": ["'self'"], "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"], "connect-src": ["'self'"], "frame-ancestors": ["'none'"],
    "object-src": ["'none'"], "base-uri": ["'self'"], "form-action": ["'self'"],
}
# The labelling page: KaTeX's style attributes (labeling/views.py says why).
LABEL_POLICY = {**POLICY, "style-src-attr": ["'unsafe-inline'"]}


def policy(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    return {d.split()[0]: d.split()[1:] for d in header.split(";") if d.strip()}


def every_url() -> list[str]:
    """One concrete URL per route of the URL conf, admin included; ids that name nothing are fine."""
    fill = {"IntConverter": "987654", "UUIDConverter": str(uuid.uuid4())}

    def walk(resolver, prefix=""):
        for p in resolver.url_patterns:
            if isinstance(p, URLResolver):
                yield from walk(p, prefix + str(p.pattern))
            elif isinstance(p.pattern, RoutePattern):  # the admin's few regexes: its app index, a catch-all
                kinds = {name: type(conv).__name__ for name, conv in p.pattern.converters.items()}
                yield "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m, kinds=kinds: fill.get(kinds[m[1]], "x"),
                                   prefix + str(p.pattern))

    urls = sorted(set(walk(get_resolver())))
    assert {"/api/tasks/next/", "/admin/auth/user/", "/api/users/x/"} <= set(urls), urls
    return urls + ["/admin/auth/"]


def test_every_response_carries_the_headers(settings):
    settings.WHITENOISE_USE_FINDERS = True
    root = get_user_model().objects.create_superuser("hdr-root", "root@example.com", "pw-long-enough")
    signed_in = Client()
    signed_in.force_login(root)
    urls = every_url() + ["/api/docs/?script=", "/no/such/page/", "/api/no/such/", "/static/css/stepwise.css"]
    wrong = []
    for url in urls:
        for who, client in (("anonymous", Client()), ("superuser", signed_in)):
            r = client.get(url)
            expected = LABEL_POLICY if url == "/label/" and who == "superuser" else POLICY
            got = {"csp": policy(r), "nosniff": r.headers.get("X-Content-Type-Options"),
                   "referrer": r.headers.get("Referrer-Policy"), "coop": r.headers.get("Cross-Origin-Opener-Policy")}
            want = {"csp": expected, "nosniff": "nosniff", "referrer": "same-origin", "coop": "same-origin"}
            if not url.startswith("/static/"):  # whitenoise answers before the X-Frame-Options middleware
                got["frame"], want["frame"] = r.headers.get("X-Frame-Options"), "DENY"
            if got != want:
                wrong.append(f"GET {url} as {who} ({r.status_code}): {got}")
    assert not wrong, "\n".join(wrong)


def test_no_inline_script_or_eval_is_allowed_anywhere():
    for directives in (POLICY, LABEL_POLICY):
        for name in ("default-src", "script-src"):
            assert not {"'unsafe-inline'", "'unsafe-eval'", "data:", "*"} & set(directives[name])
        assert not {k for k in directives if k.startswith("script-src-")}


def test_the_quickstart_serves_plain_http(client):
    """HTTPS off (the default): no redirect, no HSTS, cookies without Secure, so http://127.0.0.1 works."""
    r = client.get("/accounts/login/")
    assert r.status_code == 200 and "Strict-Transport-Security" not in r.headers
    assert not r.cookies["csrftoken"]["secure"]


# --- HTTPS=1, as docker-compose sets it ------------------------------------------------------

NAMES = ["SECURE_SSL_REDIRECT", "SECURE_PROXY_SSL_HEADER", "SECURE_REDIRECT_EXEMPT", "SECURE_HSTS_SECONDS",
         "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"]


@pytest.fixture(scope="module")
def compose_security(tmp_path_factory):
    """The security settings config/settings.py derives from docker-compose's environment."""
    values = settings_under(production_env(tmp_path_factory.mktemp("https")), NAMES)
    values["SECURE_PROXY_SSL_HEADER"] = tuple(values["SECURE_PROXY_SSL_HEADER"])
    return values


@pytest.fixture
def https(settings, compose_security):
    for name, value in compose_security.items():
        setattr(settings, name, value)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return Client()  # made after the settings change: its middleware reads them


def test_plain_http_is_redirected_to_https(https):
    r = https.get("/label/?x=1")
    assert r.status_code == 301 and r["Location"] == "https://testserver/label/?x=1"
    r = https.get("/label/", HTTP_X_FORWARDED_PROTO="http")
    assert r.status_code == 301
    # The container health check asks over plain http on localhost.
    assert https.get("/healthz/").status_code != 301


def test_behind_the_proxy_https_is_served_with_hsts(https):
    r = https.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert r.status_code == 200
    assert r["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert https.get("/api/me/", secure=True)["Strict-Transport-Security"].startswith("max-age=31536000")


def test_cookies_are_secure_over_https(https):
    from labeling.people.accounts import set_user

    set_user("cookie-ann", "pw-long-enough", "annotator")
    r = https.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    csrf = r.cookies["csrftoken"]
    assert csrf["secure"] and csrf["samesite"] == "Lax"
    r = https.post("/accounts/login/", {"username": "cookie-ann", "password": "pw-long-enough"},
                   HTTP_X_FORWARDED_PROTO="https")
    assert r.status_code == 302, r.content
    session = r.cookies["sessionid"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
