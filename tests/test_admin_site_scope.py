"""Issue 25, defect 3: the Django admin is for superusers only (config/admin_site.py). Walked as the attacker would:
signed in as a member of alpha (its admin, ML staff, annotator; all but the annotator are staff), every ModelAdmin
registered in admin.site._registry, against beta's objects (tests/test_project_isolation.py's world): its list,
its search, its add page, beta's object's change, delete and history pages, its actions and the autocomplete.
Nothing answers with a page and nothing of beta appears in any body; a superuser reaches each page, so the URLs are
real. A ModelAdmin registered later is walked without a change here.
"""
import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse

from labeling.models import ProjectMember, Role
from tests.test_project_isolation import MARK, ROLES, world  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db
User = get_user_model()
REGISTERED = sorted(admin.site._registry, key=lambda m: m._meta.label)


def _beta_object(model, beta):
    """Beta's object of this model where it has a project, else the newest one (beta's labeller, their lease...)."""
    qs = model._default_manager.all()
    if "project" in {f.name for f in model._meta.get_fields()}:
        qs = qs.filter(project=beta)
    return qs.order_by("-pk").first()


def _pages(model, beta) -> list[tuple[str, str, dict | None]]:
    opts = model._meta
    name = f"admin:{opts.app_label}_{opts.model_name}"
    pages = [("GET", reverse(f"{name}_changelist"), None), ("GET", reverse(f"{name}_changelist"), {"q": MARK}),
             ("GET", reverse(f"{name}_add"), None)]
    obj = _beta_object(model, beta)
    if obj is not None:
        pages += [("GET", reverse(f"{name}_change", args=[obj.pk]), None),
                  ("GET", reverse(f"{name}_delete", args=[obj.pk]), None),
                  ("GET", reverse(f"{name}_history", args=[obj.pk]), None),
                  ("POST", reverse(f"{name}_changelist"), {"action": "delete_selected", "post": "yes",
                                                           "_selected_action": [str(obj.pk)]})]
    return pages


def _refused(response) -> bool:
    return response.status_code == 403 or (response.status_code == 302
                                           and response["Location"].startswith(reverse("admin:login")))


@pytest.mark.parametrize("role", ROLES)
def test_a_member_of_alpha_reaches_no_admin_page(world, role):  # noqa: F811
    client = Client()
    client.force_login(world["people"][role])
    before = {m: m._default_manager.count() for m in REGISTERED}
    seen = []
    for model in REGISTERED:
        for method, url, data in _pages(model, world["beta"]):
            r = client.post(url, data) if method == "POST" else client.get(url, data or {})
            body = r.content.decode(errors="replace")
            if not _refused(r) or MARK in body:
                seen.append(f"{method} {url} {data or ''}: {r.status_code}")
    for url, data in ((reverse("admin:index"), {}), (reverse("admin:app_list", args=["labeling"]), {}),
                      (reverse("admin:autocomplete"), {"app_label": "labeling", "model_name": "projectmember",
                                                       "field_name": "user", "term": "b"})):
        r = client.get(url, data)
        if not _refused(r) or MARK in r.content.decode(errors="replace"):
            seen.append(f"GET {url}: {r.status_code}")
    assert not seen, "the Django admin answered a member of alpha:\n" + "\n".join(seen)
    assert before == {m: m._default_manager.count() for m in REGISTERED}  # nothing deleted


def test_a_superuser_reaches_every_page(world):  # noqa: F811
    """The walk above is not vacuous: the same pages answer a superuser (and show beta's objects)."""
    client = Client()
    client.force_login(world["root"])
    for model in REGISTERED:
        for method, url, data in _pages(model, world["beta"]):
            if method == "POST":
                continue
            r = client.get(url, data or {})
            assert r.status_code in (200, 403), (url, r.status_code)  # 403: an add or delete the ModelAdmin refuses
        opts = model._meta
        assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")).status_code == 200
    assert MARK in client.get(reverse("admin:labeling_problem_changelist")).content.decode()


@pytest.mark.parametrize("role", (Role.ADMIN, Role.ML_STAFF))
def test_staff_cannot_raise_rights_through_the_admin(world, role):  # noqa: F811
    """Make themselves superuser, put themselves in a group with every permission, change the superuser's
    password, add themselves to beta: all refused, nothing changed."""
    user = world["people"][role]
    client = Client()
    client.force_login(user)
    group = Group.objects.create(name="everything")
    attempts = [
        (reverse("admin:auth_user_change", args=[user.pk]),
         {"username": user.username, "is_active": "on", "is_staff": "on", "is_superuser": "on",
          "groups": [str(group.pk)], "user_permissions": [str(p.pk) for p in Permission.objects.all()[:5]],
          "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"}),
        (reverse("admin:auth_group_change", args=[group.pk]),
         {"name": "everything", "permissions": [str(p.pk) for p in Permission.objects.all()]}),
        (reverse("admin:auth_user_password_change", args=[world["root"].pk]),
         {"password1": "taken-over-9x", "password2": "taken-over-9x"}),
        (reverse("admin:labeling_project_change", args=[world["beta"].pk]),
         {"slug": MARK, "name": "Beta", "members-TOTAL_FORMS": "1", "members-INITIAL_FORMS": "0",
          "members-0-user": str(user.pk), "members-0-role": "admin"}),
    ]
    for url, data in attempts:
        assert _refused(client.post(url, data)), url
    user.refresh_from_db()
    root = User.objects.get(pk=world["root"].pk)
    assert not user.is_superuser and not user.groups.filter(pk=group.pk).exists()
    assert not user.user_permissions.exists() and not group.permissions.exists()
    assert root.check_password("pw-long-enough")
    assert not ProjectMember.objects.filter(project=world["beta"], user=user).exists()
