"""Issue 25, defects 1 and 9 and their siblings: a project's policy key goes only to the connection
and host it was granted for (POLICY_KEY_GRANTS), whatever another project's ML staff names, overrides
or changes; and nobody sees another project's connection names. Driven through the API as the
attacker would, against real loopback servers that record the Authorization header they get."""
import pytest
from django.core.management import CommandError, call_command

from activelearn.models import PolicyConnection
from labeling.models import AutoLabelRun, Project, ProjectMember

from .api_helpers import queued_solutions, token_client
from .recording_server import Recorder

SECRET = "sk-beta-" + "9f3a1c" * 6
DEFAULT_SECRET = "sk-deploy-" + "77ab" * 8
JSON = "application/json"


def _member_of(slug: str, username: str):
    client, person = token_client(username, "ml_staff")
    ProjectMember.objects.filter(user=person.user).delete()
    ProjectMember.objects.create(project=Project.objects.get(slug=slug), user=person.user, role="ml_staff")
    return client


@pytest.fixture
def world(settings, monkeypatch, recorders, eager):
    """Project beta's key, granted to beta for its own server (`victim`); mallory is ML staff of alpha
    only and runs `attacker`, a server of her choice on loopback."""
    Project.objects.create(slug="alpha", name="Alpha")
    Project.objects.create(slug="beta", name="Beta")
    victim, attacker = recorders(), recorders()
    monkeypatch.setenv("POLICY_API_KEY_BETA", SECRET)
    settings.POLICY_KEY_GRANTS = [f"POLICY_API_KEY_BETA=beta@127.0.0.1:{victim.port}"]
    settings.POLICY_ALLOWED_HOSTS = []  # loopback only
    mallory, bob = _member_of("alpha", "mallory"), _member_of("beta", "bob")
    r = bob.post("/api/connections/", {"project": "beta", "name": "beta-judge", "settings": {
        "base_url": victim.base_url, "model": "m", "endpoint": "chat", "api_key_env": "POLICY_API_KEY_BETA"}},
        content_type=JSON)
    assert r.status_code == 201 and r.json()["api_key_set"] is True, r.content
    queued_solutions(2, project=Project.objects.get(slug="alpha"))
    queued_solutions(2, project=Project.objects.get(slug="beta"))
    return {"mallory": mallory, "bob": bob, "victim": victim, "attacker": attacker}


def _judge(client, project: str, conn: str, key: str):
    return client.post("/api/labels/runs/", {"project": project, "source": "judge", "connection": conn, "key": key},
                       content_type=JSON)


def _fields(r) -> set[str]:
    """The fields a 400 names (the API's error body: `errors`, each with its `field`)."""
    return {e["field"].split(".")[0] for e in r.json()["errors"]}


def _never_sent(recorder: Recorder, *secrets: str) -> None:
    assert not any(s in auth for auth in recorder.auths() for s in secrets), recorder.seen


@pytest.mark.django_db(transaction=True)
def test_the_owner_uses_its_key_and_another_projects_staff_cannot_send_it_to_their_server(world):
    bob, mallory, victim, attacker = world["bob"], world["mallory"], world["victim"], world["attacker"]
    # the grant works: beta's judge run sends beta's key to beta's server
    r = _judge(bob, "beta", "beta-judge", "beta-run")
    assert r.status_code == 202 and bob.get(r["Location"]).json()["status"] == "succeeded", r.content
    assert victim.auths() and set(victim.auths()) == {f"Bearer {SECRET}"}

    # route 1: a connection of alpha naming beta's key variable, at mallory's server, and a judge run on it
    created = mallory.post("/api/connections/", {"project": "alpha", "name": "mine", "settings": {
        "base_url": attacker.base_url, "model": "m", "endpoint": "chat", "api_key_env": "POLICY_API_KEY_BETA"}},
        content_type=JSON)
    _judge(mallory, "alpha", "mine", "steal-1")
    _never_sent(attacker, SECRET)  # (today's main: her server got `Bearer <beta's key>`)
    assert created.status_code == 400 and "api_key_env" in _fields(created), created.content
    assert SECRET not in created.content.decode()
    # the same connection stored behind the API's back (an old row, the admin): its key is not read either
    PolicyConnection.objects.create(project=Project.objects.get(slug="alpha"), name="old-row", settings={
        "base_url": attacker.base_url, "model": "m", "endpoint": "chat", "api_key_env": "POLICY_API_KEY_BETA"})
    r = _judge(mallory, "alpha", "old-row", "steal-2")
    assert r.status_code == 400 and "api_key_env" in _fields(r), r.content
    _never_sent(attacker, SECRET)
    assert not AutoLabelRun.objects.filter(key__startswith="steal").exists()


@pytest.mark.django_db(transaction=True)
def test_overrides_name_neither_a_key_nor_a_host(world, settings, monkeypatch, recorders, dispatched):
    mallory, attacker = world["mallory"], world["attacker"]
    r = mallory.post("/api/connections/", {"project": "alpha", "name": "plain", "settings": {
        "base_url": attacker.base_url, "model": "m", "endpoint": "chat"}}, content_type=JSON)
    assert r.status_code == 201 and r.json()["api_key_set"] is False
    # route 2: a keyless connection and a round that overrides the key variable
    r = mallory.post("/api/rounds/", {"project": "alpha", "generate_with": "plain",
                                      "policy_overrides": {"api_key_env": "POLICY_API_KEY_BETA"}}, content_type=JSON)
    assert r.status_code == 400 and "policy_overrides" in _fields(r), r.content
    # the deployment's own server and key: a round may not send them elsewhere by overriding the host
    deploy = recorders()
    settings.POLICY_BASE_URL, settings.POLICY_MODEL = deploy.base_url, "m"
    monkeypatch.setenv("POLICY_API_KEY", DEFAULT_SECRET)
    r = mallory.post("/api/rounds/", {"project": "alpha", "generate_with": "default",
                                      "policy_overrides": {"base_url": attacker.base_url}}, content_type=JSON)
    assert r.status_code == 400 and "policy_overrides" in _fields(r), r.content
    assert dispatched == []
    # nor on the command line
    with pytest.raises(CommandError):
        call_command("generate_solutions", "--connection", "default", "--project", "alpha", "--base-url",
                     attacker.base_url, "--no-progress")
    _never_sent(attacker, SECRET, DEFAULT_SECRET)


@pytest.mark.django_db(transaction=True)
def test_a_new_host_does_not_take_the_key_along(world, dispatched):
    bob, attacker = world["bob"], world["attacker"]
    r = bob.patch("/api/connections/beta-judge/", {"settings": {"base_url": attacker.base_url}}, content_type=JSON)
    assert r.status_code == 400 and "api_key_env" in _fields(r), r.content
    # changed behind the API's back: the run refuses before a request leaves
    row = PolicyConnection.objects.get(name="beta-judge")
    row.settings = {**row.settings, "base_url": attacker.base_url}
    row.save()
    r = _judge(bob, "beta", "beta-judge", "moved")
    assert r.status_code == 400 and "api_key_env" in _fields(r)
    r = bob.post("/api/rounds/", {"project": "beta", "auto_label_with": "judge", "auto_label_connection": "beta-judge"},
                 content_type=JSON)  # a round refuses it when it is asked for, not on the worker
    assert r.status_code == 400 and "auto_label_connection" in _fields(r), r.content
    _never_sent(attacker, SECRET)


@pytest.mark.django_db(transaction=True)
def test_a_grant_names_the_connection_and_a_key_variable_is_no_pointer_at_any_variable(world, settings):
    bob, victim = world["bob"], world["victim"]
    settings.POLICY_KEY_GRANTS = [f"POLICY_API_KEY_BETA=beta/beta-judge@127.0.0.1:{victim.port}"]
    r = bob.post("/api/connections/", {"project": "beta", "name": "other", "settings": {
        "base_url": victim.base_url, "model": "m", "api_key_env": "POLICY_API_KEY_BETA"}}, content_type=JSON)
    assert r.status_code == 400 and "api_key_env" in _fields(r)
    assert bob.get("/api/connections/beta-judge/").json()["api_key_set"] is True
    for var in ("SECRET_KEY", "DATABASE_URL", "POLICY_API_KEY_beta", "PATH"):
        r = bob.post("/api/connections/", {"project": "beta", "name": "other", "settings": {
            "base_url": victim.base_url, "model": "m", "api_key_env": var}}, content_type=JSON)
        assert r.status_code == 400 and "api_key_env" in _fields(r), var


@pytest.mark.django_db(transaction=True)
def test_a_project_sees_only_its_own_connection_names(world, client, dispatched):
    """Defect 9: the round form's menu and a refused round list the project's connections only, and
    another project's name is refused exactly as a name that does not exist."""
    mallory = world["mallory"]
    PolicyConnection.objects.create(project=Project.objects.get(slug="beta"), name="beta-hidden-name",
                                    settings={"base_url": "http://127.0.0.1:9/v1", "model": "m"})
    theirs = mallory.post("/api/rounds/", {"project": "alpha", "generate_with": "beta-hidden-name"},
                          content_type=JSON)
    nothing = mallory.post("/api/rounds/", {"project": "alpha", "generate_with": "no-such-name"}, content_type=JSON)
    assert theirs.status_code == nothing.status_code == 400
    assert theirs.json()["error"].replace("beta-hidden-name", "X") == nothing.json()["error"].replace(
        "no-such-name", "X")
    others = [nothing, mallory.post("/api/rounds/", {"project": "alpha", "auto_label_with": "judge",
                                                      "auto_label_connection": "nope"}, content_type=JSON),
              mallory.get("/api/connections/"), mallory.get("/api/connections/beta-judge/"),
              mallory.get("/api/schema/")]
    assert b"beta-judge" not in theirs.content
    for r in others:
        assert b"beta-judge" not in r.content and b"beta-hidden" not in r.content, r.content[:500]
    from django.contrib.auth.models import User

    client.force_login(User.objects.get(username="mallory"))
    page = client.get("/rounds/?project=alpha")
    assert page.status_code == 200 and b"beta-judge" not in page.content and b"beta-hidden" not in page.content
    assert dispatched == []


def test_a_misspelt_grant_is_an_error_naming_it_when_a_process_starts(settings):
    from django.core.management.base import SystemCheckError

    settings.POLICY_KEY_GRANTS = ["POLICY_API_KEY_BETA=beta@gpu-2:8000", "SECRET_KEY=beta@gpu-2:8000"]
    with pytest.raises(SystemCheckError, match="stepwise.E101.*'SECRET_KEY=beta@gpu-2:8000'"):
        call_command("check")
    settings.POLICY_KEY_GRANTS = "POLICY_API_KEY_BETA=beta@gpu-2:8000,POLICY_API_KEY_BETA=alpha/one@[::1]:9000"
    call_command("check")


@pytest.mark.django_db(transaction=True)
def test_a_name_another_project_took_is_free_so_a_refusal_tells_nothing(world, dispatched):
    mallory, bob, attacker = world["mallory"], world["bob"], world["attacker"]
    r = mallory.post("/api/connections/", {"project": "alpha", "name": "beta-judge", "settings": {
        "base_url": attacker.base_url, "model": "m", "endpoint": "chat"}}, content_type=JSON)
    assert r.status_code == 201, r.content  # (today's main: 400 "a connection named 'beta-judge' exists")
    again = mallory.post("/api/connections/", {"project": "alpha", "name": "beta-judge", "settings": {
        "base_url": attacker.base_url, "model": "m"}}, content_type=JSON)
    assert again.status_code == 400 and "in this project" in again.content.decode()
    r = mallory.post("/api/rounds/", {"project": "alpha", "generate_with": "beta-judge"}, content_type=JSON)
    assert r.status_code == 201 and r.json()["project"] == "alpha"  # her own, which has no key
    assert bob.get("/api/connections/beta-judge/").json()["settings"]["api_key_env"] == "POLICY_API_KEY_BETA"
    assert mallory.get("/api/connections/beta-judge/").json()["settings"]["api_key_env"] == ""
    # someone in both projects names the one they mean
    carol = _member_of("alpha", "carol")
    from django.contrib.auth.models import User

    ProjectMember.objects.create(project=Project.objects.get(slug="beta"), user=User.objects.get(username="carol"),
                                 role="ml_staff")
    assert carol.get("/api/connections/beta-judge/").status_code == 400
    assert carol.get("/api/connections/beta-judge/?project=beta").json()["project"] == "beta"
    r = carol.patch("/api/connections/beta-judge/?project=alpha", {"settings": {"max_tokens": 64}}, content_type=JSON)
    assert r.status_code == 200 and r.json()["project"] == "alpha"
    assert PolicyConnection.objects.get(project__slug="beta").settings["max_tokens"] == 1024
    _never_sent(attacker, SECRET)
