"""Every model has a working Django admin (list, search, detail)."""
import pytest
from django.contrib import admin
from django.urls import reverse

from labeling.models import Role
from labeling.people import accounts

from .helpers import run

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model, shared_data):
    user = django_user_model.objects.create_superuser("root", "root@example.org", "pw-for-tests-only")
    client.force_login(user)
    run("import_prm800k", str(shared_data / "prm800k" / "sample.jsonl"))
    from labeling.models import Solution
    from labeling.queue import claims as queue

    queue.enqueue(Solution.objects.all())
    lease = queue.next_task(accounts.set_user("labeller", "pw-for-tests-only", Role.ANNOTATOR))  # a member: claims
    from labeling.models import ExportJob, ImportJob, SegmentationReport

    SegmentationReport.objects.create(solution=lease.solution, annotator=lease.annotator, note="cut mid-sentence")

    ImportJob.objects.create(created_by=user, original_filename="sample.jsonl", error_message="x:line 1: bad")
    ExportJob.objects.create(created_by=user)
    return client


@pytest.mark.parametrize("model", [m for m in admin.site._registry if m._meta.app_label == "labeling"],
                         ids=lambda m: m.__name__)
def test_admin_pages(admin_client, model):
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    assert admin_client.get(changelist).status_code == 200
    assert admin_client.get(changelist, {"q": "sequence"}).status_code == 200
    obj = model.objects.first()
    assert obj is not None
    r = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
    assert r.status_code == 200


def test_api_tokens_are_listed_and_revoked_in_the_admin(admin_client):
    from django.contrib.auth import get_user_model

    from api.models import ApiToken
    from api.tokens import create_token

    token, key = create_token(get_user_model().objects.get(username="root"), "laptop")
    page = admin_client.get(reverse("admin:api_apitoken_changelist")).content.decode()
    assert "laptop" in page and token.prefix in page and key not in page
    assert admin_client.get(reverse("admin:api_apitoken_add")).status_code == 403
    r = admin_client.post(reverse("admin:api_apitoken_changelist"),
                          {"action": "revoke", "_selected_action": [str(token.pk)]})
    assert r.status_code == 302 and ApiToken.objects.get(pk=token.pk).revoked_at is not None
