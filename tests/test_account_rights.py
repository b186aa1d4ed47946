"""Issue 25, defect 2 and its siblings: nobody obtains a credential for, or power over, someone with rights they
lack (labeling.people.authority). Driven through the API with token clients, as the attacker would.

The attacker is an account admin whose only project is alpha. Above them: a superuser, the admin of another
project, a user a superuser gave a permission the attacker lacks. Beside and below them: alpha's annotator.
"""
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from api.models import ApiToken
from api.tokens import create_token
from labeling.models import DEFAULT_PROJECT_ID, Annotator, Project, ProjectMember, Role
from labeling.people import accounts, authority, projects

pytestmark = pytest.mark.django_db
User = get_user_model()
JSON = "application/json"


def _client(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {create_token(user, 'tests')[1]}")


def _only_in(user, project, role):
    ProjectMember.objects.filter(user=user).delete()
    ProjectMember.objects.create(project=project, user=user, role=role)


@pytest.fixture
def world(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    alpha = Project.objects.create(slug="alpha", name="Alpha")
    beta = Project.objects.create(slug="beta", name="Beta")
    mallory = accounts.set_user("mallory", "pw-long-enough", Role.ADMIN).user
    _only_in(mallory, alpha, Role.ADMIN)
    root = User.objects.create_superuser("root", "root@example.org", "root-password-1")
    beta_admin = accounts.set_user("beta-admin", "pw-long-enough", Role.ANNOTATOR).user
    _only_in(beta_admin, beta, Role.ADMIN)
    both = accounts.set_user("both", "pw-long-enough", Role.ANNOTATOR).user  # annotator in alpha, admin in beta
    _only_in(both, alpha, Role.ANNOTATOR)
    ProjectMember.objects.create(project=beta, user=both, role=Role.ADMIN)
    gifted = accounts.set_user("gifted", "pw-long-enough", Role.ANNOTATOR).user  # a right given by a superuser
    _only_in(gifted, alpha, Role.ANNOTATOR)
    gifted.user_permissions.add(Permission.objects.get(content_type__app_label="auth", codename="delete_user"))
    plain = accounts.set_user("plain", "pw-long-enough", Role.ANNOTATOR).user
    _only_in(plain, alpha, Role.ANNOTATOR)
    return {"mallory": mallory, "root": root, "beta_admin": beta_admin, "both": both, "gifted": gifted,
            "plain": plain, "alpha": alpha, "beta": beta, "client": _client(mallory)}


ABOVE = ("root", "beta_admin", "both", "gifted")


def test_an_admin_of_one_project_gets_no_superuser_token(world):
    """The issue's attack: POST /api/tokens/ naming the superuser, then PATCH the superuser with the token."""
    r = world["client"].post("/api/tokens/", {"name": "x", "user": "root"}, content_type=JSON)
    assert r.status_code == 403, r.content
    assert "key" not in r.json() and not ApiToken.objects.filter(user=world["root"]).exists()


@pytest.mark.parametrize("target", ABOVE)
def test_no_token_password_role_activation_or_screening_for_someone_above(world, target):
    c, user = world["client"], world[target]
    name = user.username
    r = c.post("/api/tokens/", {"name": "x", "user": name}, content_type=JSON)
    assert r.status_code == 403 and "key" not in r.json()
    assert not ApiToken.objects.filter(user=user).exists()
    for change in ({"password": "a-new-password-9"}, {"is_active": False}, {"role": "annotator"}):
        assert c.patch(f"/api/users/{name}/", change, content_type=JSON).status_code == 403, change
    user.refresh_from_db()
    assert user.check_password("pw-long-enough" if target != "root" else "root-password-1") and user.is_active
    assert c.post(f"/api/users/{name}/screening/", {"action": "approve"}, content_type=JSON).status_code == 403
    assert Annotator.objects.filter(user=user, screening_passed_at__isnull=False).count() == 0


def test_their_tokens_are_neither_listed_nor_revocable(world):
    theirs = {t: create_token(world[t], "theirs")[0] for t in ABOVE}
    mine = create_token(world["plain"], "below")[0]
    listed = {t["id"] for t in world["client"].get("/api/tokens/?page_size=100").json()["results"]}
    assert str(mine.pk) in listed and not listed & {str(t.pk) for t in theirs.values()}
    for token in theirs.values():
        assert world["client"].delete(f"/api/tokens/{token.pk}/").status_code == 404
        token.refresh_from_db()
        assert token.revoked_at is None


def test_someone_below_is_still_theirs_to_manage(world):
    c = world["client"]
    r = c.post("/api/tokens/", {"name": "ci", "user": "plain"}, content_type=JSON)
    assert r.status_code == 201 and r.json()["user"] == "plain"
    assert c.patch("/api/users/plain/", {"password": "a-new-password-9"}, content_type=JSON).status_code == 200
    assert c.post("/api/users/plain/screening/", {"action": "approve"}, content_type=JSON).status_code == 200


def test_no_role_given_in_a_project_one_does_not_administer(world):
    """An account's role is its role in the default project, which mallory does not administer: she can neither
    make an account (it joins the default project) nor change one's role."""
    c = world["client"]
    r = c.patch("/api/users/plain/", {"role": "admin"}, content_type=JSON)
    assert r.status_code == 403
    assert not ProjectMember.objects.filter(user=world["plain"], project_id=DEFAULT_PROJECT_ID).exists()
    r = c.post("/api/users/", {"username": "newadmin", "password": "long-enough-pw", "role": "admin"},
               content_type=JSON)
    assert r.status_code == 403 and not User.objects.filter(username="newadmin").exists()
    # made admin of the default project, she may
    projects.set_member(Project.objects.get(pk=DEFAULT_PROJECT_ID), world["mallory"], Role.ADMIN)
    r = c.post("/api/users/", {"username": "newadmin", "password": "long-enough-pw", "role": "admin"},
               content_type=JSON)
    assert r.status_code == 201


def test_a_project_admin_cannot_make_someone_admin_of_another_project(world):
    c = world["client"]
    assert c.put("/api/projects/beta/members/plain/", {"role": "admin"}, content_type=JSON).status_code == 404
    assert c.put("/api/projects/alpha/members/plain/", {"role": "admin"}, content_type=JSON).status_code == 200
    assert not ProjectMember.objects.filter(project=world["beta"], user=world["plain"]).exists()


def test_covers_is_one_rule_for_a_user_and_for_the_list(world):
    mallory = world["mallory"]
    listed = set(authority.covered_users(mallory).values_list("username", flat=True))
    assert listed == {"mallory", "plain"}
    for user in User.objects.all():
        assert authority.covers(mallory, user) == (user.username in listed), user.username
    assert set(authority.covered_users(world["root"])) == set(User.objects.all())
    world["mallory"].is_active = False
    assert not authority.covered_users(world["mallory"]).exists()


def test_the_pages_hold_the_same_rules(world):
    """The HTML side: the screening decision for someone above, and beta's settings page (members), as mallory."""
    page = Client()
    page.force_login(world["mallory"])
    target = Annotator.objects.get(user=world["beta_admin"])
    r = page.post(f"/quality/annotators/{target.uuid}/screening", {"action": "approve"})
    assert r.status_code == 403
    target.refresh_from_db()
    assert target.screening_passed_at is None
    r = page.post("/projects/beta/settings/", {"action": "member", "username": "mallory", "role": "admin"})
    assert r.status_code == 404
    assert not ProjectMember.objects.filter(project=world["beta"], user=world["mallory"]).exists()


def test_a_deactivated_account_loses_its_sessions_and_tokens_at_once(world):
    plain = world["plain"]
    token = _client(plain)
    page = Client()
    page.force_login(plain)
    assert token.get("/api/me/").status_code == 200 and page.get("/api/me/").status_code == 200
    assert world["client"].patch("/api/users/plain/", {"is_active": False}, content_type=JSON).status_code == 200
    assert token.get("/api/me/").status_code == 401
    assert page.get("/api/me/").status_code in (401, 403)


def test_a_password_set_by_an_admin_ends_the_accounts_sessions(world):
    page = Client()
    page.force_login(world["plain"])
    assert page.get("/api/me/").status_code == 200
    r = world["client"].patch("/api/users/plain/", {"password": "a-new-password-9"}, content_type=JSON)
    assert r.status_code == 200
    assert page.get("/api/me/").status_code in (401, 403)
