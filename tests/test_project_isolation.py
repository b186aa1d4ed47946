"""No way from one project into another: every API endpoint walked as a member of project alpha (an admin, an ML
staff member, an annotator there, in no other project) against the objects of project beta.

* an object of beta, by its id or name: 404, exactly like one that does not exist, wherever the caller's role in
  alpha allows the endpoint at all (else 403, as the permission matrix says);
* a list: nothing of beta in it, and `?project=beta` answers 404;
* a write naming beta (`"project": "beta"`): 404;
* someone in no project: 403 on every project endpoint; a superuser reaches beta's objects.

The patterns come from the URL conf: a new endpoint with a path parameter fails here until it is classified.
"""
import io
import json
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from activelearn.models import GenerationRun, ModelVersion, PolicyConnection, Round
from api.tokens import create_token
from labeling.models import (
    AuditAction,
    AutoLabelRun,
    ExportJob,
    FinishReason,
    ImportJob,
    LabeledPass,
    Problem,
    Project,
    ProjectMember,
    Role,
    Solution,
)
from labeling.people import accounts, audit
from labeling.queue import claims as queue
from tests.test_permission_matrix import PATTERNS, class_methods, is_api, view_class

pytestmark = pytest.mark.django_db
User = get_user_model()
MARK = "beta"  # in every name and text of beta's objects: a response that shows one shows this

# Path-parameter endpoints that reach instance-wide objects, not a project's: people and API tokens.
INSTANCE_WIDE = {"api-user", "api-user-screening", "api-token"}
# Lists that are not a project's objects (or take no project), so `?project=` means nothing to them.
NOT_PROJECT_LISTS = {"api-schema", "api-docs", "api-me", "api-projects", "api-users", "api-tokens", "api-workers",
                     "api-task-next"}
ROLES = (Role.ADMIN, Role.ML_STAFF, Role.ANNOTATOR)
# valid bodies, so that what answers is the object's lookup, not the body's validation
RECEIPT = {"client_id": str(uuid.uuid4()), "reason_text": "x"}
BODIES = {"api-task-draft": {"ratings": [{"rating": 1}]}, "api-task-give-up": RECEIPT, "api-task-bad-problem": RECEIPT,
          "api-task-resegment": {"action": "merge", "step": 0}, "api-task-bad-segmentation": {"note": "x"},
          "api-task-submit": {**RECEIPT, "ratings": [{"rating": 1}], "finish_reason": "solution", "total_time": 10}}


@pytest.fixture
def world(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    alpha = Project.objects.create(slug="alpha", name="Alpha")
    beta = Project.objects.create(slug=MARK, name="Beta", protocol="every_step")
    people = {}
    for role in ROLES:  # the account's role, and that role in alpha only
        user = accounts.set_user(f"a-{role}", "pw-long-enough", role).user
        ProjectMember.objects.filter(user=user).delete()
        ProjectMember.objects.create(project=alpha, user=user, role=role)
        people[role] = user
    nobody = accounts.set_user("a-nobody", "pw-long-enough", Role.ADMIN).user
    ProjectMember.objects.filter(user=nobody).delete()
    root = User.objects.create_superuser("a-root", "root@example.com", "pw-long-enough")

    # people are the instance's (the audit trail of accounts shows their names to admins): no MARK in this one
    labeller = accounts.set_user("b-annotator", "pw-long-enough", Role.ANNOTATOR)
    ProjectMember.objects.filter(user=labeller.user).update(project=beta)
    problem = Problem.objects.create(project=beta, text=f"{MARK} problem", content_hash=f"{MARK}-p")
    labelled, queued = (Solution.objects.create(project=beta, problem=problem, steps=[f"{MARK} step {i}"],
                                                content_hash=f"{MARK}-s{i}") for i in range(2))
    passed = LabeledPass.objects.create(project=beta, annotator=labeller, problem=problem, solution=labelled,
                                        submitted_at=timezone.now(), finish_reason=FinishReason.SOLUTION,
                                        steps=[{"completions": [{"text": "x", "rating": 1}]}],
                                        natural_key=f"{MARK}-pass")
    queue.enqueue([queued])
    lease = queue.next_task(labeller)
    assert lease.solution_id == queued.pk
    imported = ImportJob.objects.create(project=beta, original_filename=f"{MARK}.jsonl")
    exported = ExportJob.objects.create(project=beta)
    model = ModelVersion.objects.create(project=beta, base_model=f"{MARK}-micro", status=ModelVersion.Status.READY,
                                        finished_at=timezone.now())
    rnd = Round.objects.create(project=beta, generation=77, config={"strategy": MARK}, status="failed")
    conn = PolicyConnection.objects.create(project=beta, name=f"{MARK}-conn",
                                           settings={"base_url": "http://127.0.0.1:9/v1", "model": MARK})
    gen = GenerationRun.objects.create(project=beta, key=f"{MARK}-gen", connection=conn.name, config={})
    run = AutoLabelRun.objects.create(project=beta, key=f"{MARK}-run", source="judge", labeller_version=MARK)
    audit.record(root, AuditAction.ROUND_START, rnd, config={"note": MARK})
    objects = {
        "api-problem": problem.pk, "api-solution": labelled.pk, "api-pass": passed.pk, "api-import": imported.pk,
        "api-export": exported.pk, "api-export-download": exported.pk, "api-model": model.pk,
        "api-model-activate": model.pk, "api-round": rnd.pk, "api-round-cancel": rnd.pk, "api-round-resume": rnd.pk,
        "api-connection": conn.name, "api-generation": gen.pk, "api-label-run": run.pk, "api-project": MARK,
        "api-project-members": MARK, "api-project-member": {"slug": MARK, "username": labeller.user.username},
        **{f"api-task-{a}": lease.id for a in ("draft", "submit", "give-up", "bad-problem", "resegment",
                                                "bad-segmentation")},
    }
    keys = {who: create_token(u, "walk")[1] for who, u in [*people.items(), ("nobody", nobody), ("root", root)]}
    return {"people": people, "nobody": nobody, "root": root, "objects": objects, "keys": keys, "beta": beta}


def _call(world, who: str, method: str, url: str, body: dict | None = None):
    client, auth = Client(), {"HTTP_AUTHORIZATION": f"Bearer {world['keys'][who]}"}
    if method == "GET":
        return client.get(url, **auth)
    return client.generic(method, url, json.dumps(body or {}), content_type="application/json", **auth)


def _permitted(cls, method: str, user) -> bool:
    """Whether the view's permission classes let `user` through for `method` (then only the object decides)."""
    request = Request(APIRequestFactory().generic(method, "/"))
    request.user = user
    view = cls()
    view.request, view.args, view.kwargs, view.format_kwarg = request, (), {}, None
    return all(p.has_permission(request, view) for p in view.get_permissions())


def _url(name: str, pattern, value) -> str:
    if isinstance(value, dict):
        return reverse(name, kwargs=value)
    (param,) = pattern.pattern.converters
    return reverse(name, kwargs={param: value})


API = {name: p for name, (route, p) in PATTERNS.items() if is_api(p)}
WITH_PARAMS = sorted(n for n, p in API.items() if p.pattern.converters)
LISTS = sorted(n for n, p in API.items() if not p.pattern.converters)


def test_every_endpoint_with_a_path_parameter_is_classified(world):
    unknown = [n for n in WITH_PARAMS if n not in world["objects"] and n not in INSTANCE_WIDE]
    assert not unknown, f"say which project object these reach (world's objects) or that they are instance-wide: " \
                        f"{unknown}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", WITH_PARAMS)
def test_another_projects_object_is_not_found(world, name, role):
    if name in INSTANCE_WIDE:
        pytest.skip("instance-wide: people and tokens (the permission matrix covers them)")
    pattern, user = API[name], world["people"][role]
    url = _url(name, pattern, world["objects"][name])
    for method in sorted(class_methods(view_class(pattern))):
        response = _call(world, role, method, url, BODIES.get(name))
        expected = 404 if _permitted(view_class(pattern), method, user) else 403
        assert response.status_code == expected, (method, url, response.status_code, response.content[:300])
        assert MARK not in response.content.decode().replace(url, ""), (method, url, response.content[:300])


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", LISTS)
def test_lists_show_nothing_of_another_project_and_refuse_to_name_it(world, name, role):
    pattern, user = API[name], world["people"][role]
    if "GET" not in class_methods(view_class(pattern)) or not _permitted(view_class(pattern), "GET", user):
        pytest.skip("not a list this role may read")
    url = reverse(name)
    response = _call(world, role, "GET", url)
    assert response.status_code == 200, response.content[:300]
    if name not in ("api-schema", "api-docs"):  # the schema names parameters, not objects
        assert MARK not in response.content.decode(), response.content[:500]
    if name not in NOT_PROJECT_LISTS:
        named = _call(world, role, "GET", f"{url}?project={MARK}")
        assert named.status_code == 404 and named.json()["field"] == "project", named.content[:300]
        assert _call(world, role, "GET", f"{url}?project=alpha").status_code == 200


def _upload(name: str = "x.jsonl"):
    f = io.BytesIO(b'{"question": {"problem": "1+1"}, "steps": ["2"]}\n')
    f.name = name
    return f


@pytest.mark.parametrize("name, body", [
    ("api-exports", {"project": MARK}),
    ("api-rounds", {"project": MARK}),
    ("api-connections", {"project": MARK, "name": "x-conn", "settings": {"base_url": "http://127.0.0.1:9/v1",
                                                                        "model": "m"}}),
    ("api-label-runs", {"project": MARK, "source": "judge"}),
    ("api-task-next", {"project": MARK}),
])
def test_a_write_naming_another_project_is_not_found_and_makes_nothing(world, name, body):
    role = Role.ADMIN if name == "api-exports" else Role.ML_STAFF
    counts = [m.objects.count() for m in (ExportJob, Round, PolicyConnection, AutoLabelRun)]
    response = _call(world, role, "POST", reverse(name), body)
    assert response.status_code == 404 and response.json()["field"] == "project", response.content[:300]
    assert [m.objects.count() for m in (ExportJob, Round, PolicyConnection, AutoLabelRun)] == counts


def test_an_upload_naming_another_project_is_not_found(world):
    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {world['keys'][Role.ADMIN]}"}
    before = ImportJob.objects.count()
    response = client.post(reverse("api-imports"), {"file": _upload(), "project": MARK}, **auth)
    assert response.status_code == 404, response.content
    ok = client.post(reverse("api-imports"), {"file": _upload(), "project": "alpha"}, **auth)
    assert ok.status_code == 202 and ok.json()["project"] == "alpha", ok.content
    assert ImportJob.objects.count() == before + 1


def test_someone_in_no_project_is_refused_everywhere_a_project_is(world):
    for name in sorted(API):
        pattern = API[name]
        cls = view_class(pattern)
        if name in INSTANCE_WIDE or name in NOT_PROJECT_LISTS or name.startswith(("api-task-", "api-project")):
            continue
        value = world["objects"].get(name)
        url = _url(name, pattern, value) if pattern.pattern.converters else reverse(name)
        for method in sorted(class_methods(cls)):
            response = _call(world, "nobody", method, url)
            assert response.status_code == 403, (name, method, response.status_code, response.content[:200])
    task = _call(world, "nobody", "POST", reverse("api-task-next"))
    assert task.status_code == 200 and task.json()["reason"] == "no_project"


def test_a_superuser_reaches_every_project(world):
    for name in ("api-problem", "api-pass", "api-model", "api-round", "api-connection", "api-label-run"):
        response = _call(world, "root", "GET", _url(name, API[name], world["objects"][name]))
        assert response.status_code == 200 and MARK in response.content.decode(), (name, response.content[:200])
    listed = _call(world, "root", "GET", f"{reverse('api-problems')}?project={MARK}").json()
    assert [p["project"] for p in listed["results"]] == [MARK]


def test_an_admin_of_two_projects_must_name_one_to_write(world):
    admin = world["people"][Role.ADMIN]
    ProjectMember.objects.create(project=world["beta"], user=admin, role=Role.ADMIN)
    response = _call(world, Role.ADMIN, "POST", reverse("api-exports"), {})
    assert response.status_code == 400 and response.json()["field"] == "project", response.content
    assert "alpha" in response.json()["error"] and MARK in response.json()["error"]
    made = _call(world, Role.ADMIN, "POST", reverse("api-exports"), {"project": MARK})
    assert made.status_code == 202 and made.json()["project"] == MARK
    assert ExportJob.objects.get(pk=uuid.UUID(made.json()["id"])).project == world["beta"]
