"""Who may call what: every URL pattern (outside the Django admin) and every HTTP method its
view allows, checked for every role against the explicit table MATRIX below.

The patterns come from the URL conf itself, so a new endpoint, or a new method on one, fails
here until it has a row. Methods: what a class-based view (DRF or Django) implements; for a
function view, GET and POST unless the superuser gets 405 for them (require_POST & co.).

Outcomes:
* ALLOW: any status but 401/403 and not a redirect to the login page (200, 201, 202, 204,
  400, 404, 409 all count: permissions are checked before bodies and objects);
* DENY: 403;
* LOGIN: anonymous, asked to log in: 401 with a WWW-Authenticate header from the API, a 302
  to the login page from an HTML view.

API calls use API tokens, HTML calls a logged-in session (force_login). Also here: CSRF on
session writes, CSRF tokens in the templates' POST forms, and django-axes' login lockout.
"""
import json
import re
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.views import APIView

from activelearn.models import ModelVersion
from api.tokens import create_token
from labeling.demo import seed as demo
from labeling.models import Role, Solution
from labeling.people import accounts as services
from labeling.queue import claims as queue

User = get_user_model()

ALLOW, DENY, LOGIN = "allow", "deny", "login"
ROLES = ("anonymous", "annotator", "admin", "ml_staff", "superuser")

# Outcomes in ROLES order:  anonymous annotator admin  ml_staff superuser
EVERYONE = (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW)
SIGNED_IN = (LOGIN, ALLOW, ALLOW, ALLOW, ALLOW)
LABEL = (LOGIN, ALLOW, ALLOW, ALLOW, ALLOW)  # labeling.label_task
VIEW_DATA = (LOGIN, DENY, ALLOW, ALLOW, ALLOW)  # labeling.view_data
IMPORT = (LOGIN, DENY, ALLOW, DENY, ALLOW)  # labeling.import_data
EXPORT = (LOGIN, DENY, ALLOW, ALLOW, ALLOW)  # labeling.export_data
VIEW_PASSES = (LOGIN, DENY, ALLOW, DENY, ALLOW)  # labeling.view_labeledpass
QUALITY = (LOGIN, DENY, ALLOW, ALLOW, ALLOW)  # labeling.view_quality
MANAGE_USERS = (LOGIN, DENY, ALLOW, DENY, ALLOW)  # labeling.manage_users
VIEW_MODELS = (LOGIN, DENY, DENY, ALLOW, ALLOW)  # activelearn.view_modelversion
RUN_ROUNDS = (LOGIN, DENY, DENY, ALLOW, ALLOW)  # activelearn.run_rounds
VIEW_AUDIT = (LOGIN, DENY, ALLOW, DENY, ALLOW)  # labeling.view_auditevent
MODELS_OR_QUALITY = (LOGIN, DENY, ALLOW, ALLOW, ALLOW)

MATRIX: dict[tuple[str, str], tuple[str, ...]] = {
    ("healthz", "GET"): EVERYONE,
    # --- API ---
    ("api-schema", "GET"): EVERYONE,
    ("api-docs", "GET"): EVERYONE,
    ("api-task-next", "POST"): LABEL,
    ("api-task-draft", "POST"): LABEL,
    ("api-task-submit", "POST"): LABEL,
    ("api-task-give-up", "POST"): LABEL,
    ("api-task-bad-problem", "POST"): LABEL,
    ("api-task-resegment", "POST"): LABEL,
    ("api-task-bad-segmentation", "POST"): LABEL,
    ("api-problems", "GET"): VIEW_DATA,
    ("api-problem", "GET"): VIEW_DATA,
    ("api-solutions", "GET"): VIEW_DATA,
    ("api-solution", "GET"): VIEW_DATA,
    ("api-passes", "GET"): VIEW_PASSES,
    ("api-pass", "GET"): VIEW_PASSES,
    ("api-imports", "GET"): IMPORT,
    ("api-imports", "POST"): IMPORT,
    ("api-import", "GET"): IMPORT,
    ("api-exports", "GET"): EXPORT,
    ("api-exports", "POST"): EXPORT,
    ("api-export", "GET"): EXPORT,
    ("api-export-download", "GET"): EXPORT,
    ("api-me", "GET"): SIGNED_IN,
    ("api-projects", "GET"): SIGNED_IN,
    ("api-project", "GET"): SIGNED_IN,  # a member's or a superuser's; another looks missing (404)
    ("api-projects", "POST"): MANAGE_USERS,  # account admins make projects
    ("api-project", "PATCH"): MANAGE_USERS,  # the project's admins (the default project's: the admin role)
    ("api-project-members", "GET"): MANAGE_USERS,
    ("api-project-member", "PUT"): MANAGE_USERS,
    ("api-project-member", "DELETE"): MANAGE_USERS,
    ("api-users", "GET"): MANAGE_USERS,
    ("api-users", "POST"): MANAGE_USERS,
    ("api-user", "GET"): MANAGE_USERS,
    ("api-user", "PATCH"): MANAGE_USERS,
    ("api-user-screening", "POST"): MANAGE_USERS,
    ("api-tokens", "GET"): SIGNED_IN,  # your own; admins see everyone's
    ("api-tokens", "POST"): SIGNED_IN,
    ("api-token", "GET"): SIGNED_IN,
    ("api-token", "DELETE"): SIGNED_IN,
    ("api-stats-annotators", "GET"): QUALITY,
    ("api-models", "GET"): VIEW_MODELS,
    ("api-model", "GET"): VIEW_MODELS,
    ("api-model-activate", "POST"): RUN_ROUNDS,
    ("api-model-register", "POST"): RUN_ROUNDS,
    ("api-rounds", "GET"): VIEW_MODELS,
    ("api-rounds", "POST"): RUN_ROUNDS,
    ("api-round", "GET"): VIEW_MODELS,
    ("api-round-cancel", "POST"): RUN_ROUNDS,
    ("api-round-resume", "POST"): RUN_ROUNDS,
    ("api-workers", "GET"): MODELS_OR_QUALITY,
    ("api-connections", "GET"): VIEW_MODELS,
    ("api-connections", "POST"): RUN_ROUNDS,
    ("api-connection", "GET"): VIEW_MODELS,
    ("api-connection", "PATCH"): RUN_ROUNDS,
    ("api-connection", "DELETE"): RUN_ROUNDS,
    ("api-generations", "GET"): VIEW_MODELS,
    ("api-generation", "GET"): VIEW_MODELS,
    ("api-label-runs", "GET"): VIEW_MODELS,
    ("api-label-runs", "POST"): RUN_ROUNDS,
    ("api-label-run", "GET"): VIEW_MODELS,
    ("api-label-agreement", "GET"): QUALITY,
    ("api-audit", "GET"): VIEW_AUDIT,
    # --- accounts (django.contrib.auth); FormViews take PUT like POST ---
    ("login", "GET"): EVERYONE,
    ("login", "POST"): EVERYONE,
    ("login", "PUT"): EVERYONE,
    ("logout", "POST"): EVERYONE,
    ("password_change", "GET"): SIGNED_IN,
    ("password_change", "POST"): SIGNED_IN,
    ("password_change", "PUT"): SIGNED_IN,
    ("password_change_done", "GET"): SIGNED_IN,
    ("password_reset", "GET"): EVERYONE,
    ("password_reset", "POST"): EVERYONE,
    ("password_reset", "PUT"): EVERYONE,
    ("password_reset_done", "GET"): EVERYONE,
    ("password_reset_confirm", "GET"): EVERYONE,
    ("password_reset_confirm", "POST"): EVERYONE,
    ("password_reset_confirm", "PUT"): EVERYONE,
    ("password_reset_complete", "GET"): EVERYONE,
    # --- HTML pages ---
    ("home", "GET"): EVERYONE,
    ("label", "GET"): LABEL,
    ("progress", "GET"): SIGNED_IN,
    ("quality", "GET"): QUALITY,
    ("label-agreement", "GET"): QUALITY,
    ("screening-decision", "POST"): MANAGE_USERS,
    ("project-settings", "GET"): MANAGE_USERS,  # the project's admins (the default project's: the admin role)
    ("project-settings", "POST"): MANAGE_USERS,
    ("rounds", "GET"): VIEW_MODELS,
}

PROBED = ("GET", "POST")  # what a function view is tried with
SKIPPED_PREFIXES = ("admin/", "static/", "media/")


# --- Walking the URL conf ---------------------------------------------------------------

def _walk(resolver: URLResolver, prefix: str = ""):
    for p in resolver.url_patterns:
        route = prefix + str(p.pattern)
        if route.startswith(SKIPPED_PREFIXES):
            continue
        if isinstance(p, URLResolver):
            yield from _walk(p, route)
        elif isinstance(p, URLPattern):
            yield route, p


WALKED = list(_walk(get_resolver()))
PATTERNS = {p.name or f"<unnamed {route}>": (route, p) for route, p in WALKED}


def view_class(pattern: URLPattern):
    cb = pattern.callback
    return getattr(cb, "cls", None) or getattr(cb, "view_class", None)


def is_api(pattern: URLPattern) -> bool:
    cls = view_class(pattern)
    return cls is not None and issubclass(cls, APIView)


def class_methods(cls) -> set[str]:
    return {m.upper() for m in cls.http_method_names if m not in ("options", "head") and hasattr(cls, m)}


# --- Data and identities ------------------------------------------------------------------

@pytest.fixture
def world(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    users = {r: services.set_user(f"pm-{r}", "pw-long-enough", r).user for r in (Role.ANNOTATOR, Role.ADMIN,
                                                                                   Role.ML_STAFF)}
    users["superuser"] = User.objects.create_superuser("pm-root", "root@example.com", "pw-long-enough")
    other = services.set_user("pm-other", "pw-long-enough", Role.ANNOTATOR)
    demo.seed_problems(4, 2, seed=5)
    solution = Solution.objects.order_by("id").first()
    model = ModelVersion.objects.create(base_model="micro", status=ModelVersion.Status.READY,
                                        finished_at=timezone.now())
    keys, own_tokens, leases = {}, {}, {}
    for role, user in users.items():
        keys[role] = create_token(user, "matrix")[1]
        own_tokens[role] = create_token(user, "to revoke")[0]
        lease = queue.next_task(services.annotator_for(user))
        leases[role] = getattr(lease, "id", None)
    return {"users": users, "keys": keys, "own_tokens": own_tokens, "leases": leases, "other": other,
            "solution": solution, "model": model}


def url_kwargs(name: str, pattern: URLPattern, world: dict, role: str) -> dict:
    """Real objects where cheap, else values of the right type that name nothing (-> 404, allowed)."""
    solution, other = world["solution"], world["other"]
    token = world["own_tokens"].get(role) or world["own_tokens"]["annotator"]
    known = {
        ("api-problem", "pk"): solution.problem_id, ("api-solution", "pk"): solution.pk,
        ("api-model", "pk"): world["model"].pk, ("api-model-activate", "pk"): world["model"].pk,
        ("api-token", "pk"): token.pk, ("api-user", "username"): other.user.username,
        ("api-user-screening", "username"): other.user.username,
        ("screening-decision", "annotator_uuid"): other.uuid, ("api-project", "slug"): "default",
        ("project-settings", "slug"): "default", ("api-project-members", "slug"): "default",
        ("api-project-member", "slug"): "default", ("api-project-member", "username"): other.user.username,
    }
    if world["leases"].get(role):
        known.update({(n, "lease_id"): world["leases"][role] for n in (
            "api-task-draft", "api-task-submit", "api-task-give-up", "api-task-bad-problem", "api-task-resegment",
            "api-task-bad-segmentation")})
    by_converter = {"IntConverter": 987654, "UUIDConverter": uuid.uuid4()}
    return {key: known.get((name, key), by_converter.get(type(conv).__name__, "x"))
            for key, conv in pattern.pattern.converters.items()}


def call(world: dict, role: str, method: str, url: str, api: bool):
    client = Client()
    headers = {}
    if role != "anonymous":
        if api:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {world['keys'][role]}"
        else:
            client.force_login(world["users"][role])
    if method == "GET":
        return client.get(url, **headers)
    if api:
        return client.generic(method, url, json.dumps({}), content_type="application/json", **headers)
    return client.generic(method, url, "", content_type="application/x-www-form-urlencoded", **headers)


def outcome(response, api: bool) -> str:
    code = response.status_code
    if api and code == 401:
        return LOGIN if response.has_header("WWW-Authenticate") else "401 without WWW-Authenticate"
    if not api and code == 302 and response["Location"].startswith(f"{settings.LOGIN_URL}?next="):
        return LOGIN
    if code == 403:
        return DENY
    if code == 401:
        return "401 from an HTML view"
    return ALLOW


def allowed_methods(name: str, pattern: URLPattern, world: dict) -> set[str]:
    cls = view_class(pattern)
    if cls is not None:
        return class_methods(cls)
    url = reverse(name, kwargs=url_kwargs(name, pattern, world, "superuser"))
    return {m for m in PROBED if call(world, "superuser", m, url, api=False).status_code != 405}


# --- The matrix -------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_permission_matrix(name, world):
    route, pattern = PATTERNS[name]
    assert pattern.name, f"the URL pattern {route!r} has no name: name it and add its rows to MATRIX"
    api = is_api(pattern)
    methods = allowed_methods(name, pattern, world)
    missing = sorted(m for m in methods if (name, m) not in MATRIX)
    assert not missing, (f"{route} ({name}) allows {', '.join(missing)} but MATRIX in {Path(__file__).name} has no "
                         f"row for it: add ({name!r}, METHOD): (anonymous, annotator, admin, ml_staff, superuser)")
    stale = sorted(m for (n, m) in MATRIX if n == name and m not in methods)
    assert not stale, f"MATRIX has rows for {name} {', '.join(stale)}, which its view does not allow: remove them"

    wrong = []
    for method in sorted(methods):
        for role, expected in zip(ROLES, MATRIX[(name, method)], strict=True):
            url = reverse(name, kwargs=url_kwargs(name, pattern, world, role))
            response = call(world, role, method, url, api)
            got = outcome(response, api)
            if got != expected:
                wrong.append(f"{method} {url} as {role}: expected {expected}, got {got} ({response.status_code})")
    assert not wrong, "\n".join(wrong)


def test_url_names_are_unique():
    names = [p.name for _, p in WALKED if p.name]
    assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})


def test_matrix_roles_cover_every_role():
    assert set(ROLES[1:4]) == set(Role.values)


# --- CSRF -------------------------------------------------------------------------------

TEMPLATES = Path(settings.BASE_DIR) / "templates"
POST_FORM = re.compile(r"<form\b[^>]*\bmethod\s*=\s*[\"']?post\b.*?</form>", re.IGNORECASE | re.DOTALL)


def test_every_post_form_in_the_templates_has_a_csrf_token():
    forms = [(path, m.group(0)) for path in TEMPLATES.rglob("*.html") for m in POST_FORM.finditer(path.read_text())]
    assert forms, "no POST forms found: is the pattern still right?"
    missing = [f"{path.relative_to(TEMPLATES)}: {form[:80]}" for path, form in forms if "{% csrf_token %}" not in form]
    assert not missing, "POST forms without {% csrf_token %}:\n" + "\n".join(missing)


@pytest.mark.parametrize(("page", "role"), [("label", "annotator"), ("rounds", "ml_staff")])
def test_pages_that_write_through_the_api_give_their_script_the_csrf_token(world, page, role):
    """label.js and rounds.js send X-CSRFToken from the csrftoken cookie (or the form's hidden input)."""
    client = Client()
    client.force_login(world["users"][role])
    response = client.get(reverse(page))
    assert response.status_code == 200 and settings.CSRF_COOKIE_NAME in response.cookies


def _csrf_token(client: Client) -> str:
    client.get(reverse("login"))  # renders {% csrf_token %}, which sets the cookie
    return client.cookies[settings.CSRF_COOKIE_NAME].value


def test_session_write_to_the_api_needs_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["users"]["annotator"])
    url = reverse("api-task-next")
    response = client.post(url, {}, content_type="application/json")
    assert response.status_code == 403 and "CSRF" in response.json()["error"], response.content
    token = _csrf_token(client)
    assert client.post(url, {}, content_type="application/json", HTTP_X_CSRFTOKEN=token).status_code == 200


def test_token_writes_to_the_api_need_no_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("api-task-next"), {}, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {world['keys']['annotator']}")
    assert response.status_code == 200, response.content


def test_session_write_to_an_html_view_needs_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["users"]["admin"])
    url = reverse("screening-decision", args=[world["other"].uuid])
    assert client.post(url, {"action": "reset"}).status_code == 403
    token = _csrf_token(client)
    response = client.post(url, {"action": "reset", "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == reverse("quality")


# --- django-axes: brute-force lockout ------------------------------------------------------

@pytest.mark.django_db
def test_login_locks_out_after_five_failures_for_that_username_and_ip(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    assert settings.AXES_FAILURE_LIMIT == 5
    services.set_user("victim", "right-password", Role.ANNOTATOR)
    services.set_user("bystander", "right-password", Role.ANNOTATOR)
    login = reverse("login")
    client = Client()
    for _ in range(4):
        response = client.post(login, {"username": "victim", "password": "wrong-password"})
        assert response.status_code == 200 and b"Too many failed logins" not in response.content
    client.post(login, {"username": "victim", "password": "wrong-password"})  # the fifth locks
    response = client.post(login, {"username": "victim", "password": "right-password"})
    assert response.status_code == 429 and b"Too many failed logins" in response.content, response.status_code
    assert "_auth_user_id" not in client.session
    # Another username from the same address is not locked out.
    response = Client().post(login, {"username": "bystander", "password": "right-password"})
    assert response.status_code == 302 and response["Location"] == settings.LOGIN_REDIRECT_URL
    # Nor is the same username from another address.
    response = Client(REMOTE_ADDR="203.0.113.7").post(login, {"username": "victim", "password": "right-password"})
    assert response.status_code == 302 and response["Location"] == settings.LOGIN_REDIRECT_URL
