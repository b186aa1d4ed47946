"""Property-based API tests: schemathesis generates requests from /api/schema/ and checks every
response against it: no 5xx, and status code, content type, body and headers as documented
(api/schema.py documents the error responses).

Runs in process: schemathesis calls the WSGI app (config.wsgi.application) directly, inside
the pytest-django test transaction, once per operation and role (annotator, admin, ML staff)
with that role's Bearer token, over a small data set (demo problems, a labelled pass, model
versions, a bare superuser, an open task per role). In about half of the generated cases the
path parameters are replaced by real objects, so the 200 paths are exercised as well as the
404 ones. The schema endpoint itself is left out (it serves YAML). A second test sends every
operation without valid credentials and checks the documented 401.

Bounded by default: 10 examples per operation and role, a fixed seed, no coverage phase.
A longer run, random seed, with schemathesis' coverage phase (boundary and negative values):

    pytest tests/test_api_schemathesis.py --schemathesis-examples 200
    SCHEMATHESIS_EXAMPLES=200 pytest tests/test_api_schemathesis.py
"""
import os
import uuid

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from activelearn.models import ModelVersion
from api.tokens import create_token, revoke_token
from config.wsgi import application
from labeling.demo import seed as demo
from labeling.models import FinishReason, Role
from labeling.people import accounts
from labeling.queue import claims as queue
from labeling.queue.submission import submit_pass

pytestmark = pytest.mark.django_db
User = get_user_model()

DEFAULT_EXAMPLES = 10
ROLES = [Role.ANNOTATOR, Role.ADMIN, Role.ML_STAFF]
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "response_headers_conformance"]


def examples() -> tuple[int, bool]:
    """(examples per operation, whether that is the bounded default). tests/conftest.py turns
    --schemathesis-examples into the environment variable before this module is imported."""
    n = os.environ.get("SCHEMATHESIS_EXAMPLES")
    return (int(n), False) if n else (DEFAULT_EXAMPLES, True)


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """The WSGI handler closes the database connection after each request when it is inside a
    transaction, which the test's is (PostgreSQL; SQLite's in-memory one is never closed).
    Django's test client disconnects the same handler."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def world(db, settings):
    """Users of every role (plus a second annotator and a bare superuser), demo problems, a
    pass, model versions, an open task per role."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # PBKDF2 is most of the setup
    users = {r: accounts.set_user(f"st-{r}", "pw-long-enough", r).user for r in ROLES}
    other = accounts.set_user("st-other", "pw-long-enough", Role.ANNOTATOR)
    User.objects.create_superuser("st-root", "root@example.com", "pw-long-enough")  # no annotator profile yet
    demo.seed_problems(6, 2, seed=3)
    lease = queue.next_task(other)
    labeled = submit_pass(other, lease.id, uuid.uuid4(), [{"rating": 1} for _ in lease.solution.steps],
                          FinishReason.SOLUTION, 1000)
    parent = ModelVersion.objects.create(base_model="micro", status=ModelVersion.Status.READY,
                                         finished_at=timezone.now())
    ModelVersion.objects.create(base_model="micro", parent=parent, status=ModelVersion.Status.FAILED,
                                error="out of memory")
    leases = {r: queue.next_task(accounts.annotator_for(u)) for r, u in users.items()}
    return {"users": users, "pass": labeled, "models": [parent.pk], "leases": leases}


@pytest.fixture
def real_params(world, role) -> dict[tuple[str, str], object]:
    """(path, parameter) -> a value naming a real object, for this role. The token is another
    one than the role authenticates with, so DELETE can revoke it and the run goes on."""
    token, _ = create_token(world["users"][role], "listed")
    labeled, model = world["pass"], world["models"][0]
    lease = world["leases"][role]
    found = {
        ("/api/problems/{id}/", "id"): labeled.problem_id, ("/api/solutions/{id}/", "id"): labeled.solution_id,
        ("/api/passes/{id}/", "id"): labeled.pk, ("/api/models/{id}/", "id"): model,
        ("/api/models/{id}/activate/", "id"): model, ("/api/tokens/{id}/", "id"): str(token.pk),
        ("/api/users/{username}/", "username"): "st-other",
        ("/api/users/{username}/screening/", "username"): "st-other",
    }
    if hasattr(lease, "id"):  # else the role has no task (NoTask)
        found.update({(f"/api/tasks/{{lease_id}}/{action}/", "lease_id"): str(lease.id)
                      for action in ("draft", "submit", "give-up", "bad-problem", "resegment", "bad-segmentation")})
    return found


def load_schema():
    n, bounded = examples()
    config = schemathesis.Config.from_dict({
        "generation": {"max-examples": n, "database": "none", "with-security-parameters": False,
                       **({"deterministic": True} if bounded else {})},
        # The coverage phase (boundary values, every negative variant) is the slow part: long runs only.
        "phases": {"coverage": {"enabled": not bounded}, "stateful": {"enabled": False}},
        "checks": {"enabled": False, **{c: {"enabled": True} for c in CHECKS}},
        **({"seed": 1} if bounded else {}),
    })
    # The schema endpoint itself is not under test (it serves YAML; its errors too).
    return schemathesis.openapi.from_wsgi("/api/schema/", application, config=config).exclude(path="/api/schema/")


schema = load_schema()


@pytest.fixture
def auth(world, role):
    _, key = create_token(world["users"][role], "schemathesis")
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize("role", ROLES)
@schema.given(use_real=st.booleans())
@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # fixtures are per operation on purpose
def test_api_conforms_to_its_schema(case, use_real, role, auth, real_params):
    if use_real and case.path_parameters:
        for name in case.path_parameters:
            if (case.path, name) in real_params:
                case.path_parameters[name] = real_params[(case.path, name)]
    case.call_and_validate(headers=auth)


SAMPLE = {"integer": 1, "uuid": "00000000-0000-4000-8000-000000000000", "string": "someone"}


@pytest.mark.parametrize("credentials", ["none", "unknown token", "revoked token"])
def test_every_operation_answers_401_as_documented(world, credentials):
    """Without valid credentials every operation answers 401 with WWW-Authenticate and the
    error body, as the schema says (the property-based run above always authenticates)."""
    headers = {}
    if credentials == "unknown token":
        headers["Authorization"] = "Bearer sw_" + "x" * 40
    elif credentials == "revoked token":
        token, key = create_token(world["users"][Role.ADMIN], "revoked")
        revoke_token(token)
        headers["Authorization"] = f"Bearer {key}"
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        raw = schema.raw_schema["paths"][operation.path][operation.method.lower()]
        params = {p["name"]: SAMPLE[p["schema"].get("format", p["schema"]["type"])]
                  for p in raw.get("parameters", []) if p["in"] == "path"}
        case = operation.Case(path_parameters=params)
        response = case.call(headers=headers)
        assert response.status_code == 401, f"{operation.label}: {response.status_code} {response.text[:200]}"
        got = {k.lower(): v for k, v in response.headers.items()}.get("www-authenticate")
        assert got in ('Bearer realm="api"', ['Bearer realm="api"']), f"{operation.label}: WWW-Authenticate {got!r}"
        case.validate_response(response, headers=headers)
        checked += 1
    assert checked >= 20


# --- Regressions: what schemathesis found, pinned down ------------------------------------

@pytest.fixture
def admin_client(world, client):
    _, key = create_token(world["users"][Role.ADMIN], "regressions")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return client


def test_a_url_that_matches_no_api_pattern_is_a_json_404(admin_client):
    response = admin_client.get("/api/problems/-1/")  # <int:pk> does not match: the URL resolver's 404
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json() == {"error": "not found", "field": None, "errors": [{"field": None, "message": "not found"}]}
    assert admin_client.get("/no-such-page/")["Content-Type"].startswith("text/html")


def test_a_form_body_with_too_many_fields_is_a_400_not_a_500(admin_client, settings):
    body = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = admin_client.post("/api/users/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400, response.content
    assert "DATA_UPLOAD_MAX_NUMBER_FIELDS" in response.json()["error"]


def test_a_form_patch_without_is_active_keeps_the_user_active(admin_client):
    response = admin_client.patch("/api/users/st-other/", "role=ml_staff",
                                  content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200, response.content
    assert response.json()["role"] == Role.ML_STAFF and response.json()["is_active"] is True
    assert User.objects.get(username="st-other").is_active


def test_a_json_body_over_the_size_limit_is_a_413_not_a_500(admin_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = admin_client.post("/api/users/", {"username": "x" * 2000}, content_type="application/json")
    assert response.status_code == 413 and response.json()["field"] is None, response.content


def test_a_user_without_an_annotator_profile_lists_with_nulls(admin_client):
    root = admin_client.get("/api/users/st-root/").json()
    assert (root["role"], root["annotator"], root["screening_passed_at"]) == (None, None, None)


def test_annotator_stats_name_steps_rated_as_documented(admin_client):
    row = admin_client.get("/api/stats/annotators/").json()["annotators"][0]
    assert "steps_rated" in row
    props = schema.raw_schema["components"]["schemas"]["AnnotatorStatsOut"]["properties"]
    assert set(props) <= set(row)
