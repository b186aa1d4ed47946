"""Backbones a round may use come from PRM_ALLOWED_BACKBONES and are given by name: anything
else is a 400 naming `base_model` before a round exists, and the worker checks the name again
before it loads anything. Responses name backbones publicly and carry no server path."""
import io
import sysconfig

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from activelearn import celery_tasks
from activelearn.models import ModelVersion, Round
from activelearn.prm import allowlist, backbone, public
from activelearn.rounds import lifecycle as rounds
from activelearn.rounds.config import DEFAULTS, config_of
from labeling.people.accounts import set_user

from .api_helpers import token_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def allowed(settings, micro_bert, tmp_path):
    settings.PRM_ALLOWED_BACKBONES = [f"micro={micro_bert}", "org/tiny-hub"]
    settings.PRM_BASE_MODEL = ""
    return settings


def post(client, body):
    return client.post("/api/rounds/", body, content_type="application/json")


# --- the allow-list ----------------------------------------------------------------------------------------

def test_entries_name_paths_and_hub_ids(settings, tmp_path):
    settings.PRM_ALLOWED_BACKBONES = [f"qwen={tmp_path}/Qwen2.5-Math/", f"{tmp_path}/models/minilm",
                                      "org/hub-model", " other = org/named-hub "]
    assert allowlist.allowed_backbones() == {"qwen": f"{tmp_path}/Qwen2.5-Math", "minilm": f"{tmp_path}/models/minilm",
                                            "org/hub-model": "org/hub-model", "other": "org/named-hub"}
    settings.PRM_ALLOWED_BACKBONES = f"a={tmp_path}/a, org/b"  # a plain string is read as the env value
    assert allowlist.allowed_backbones() == {"a": f"{tmp_path}/a", "org/b": "org/b"}
    assert allowlist.resolve_backbone("a") == f"{tmp_path}/a"
    assert allowlist.resolve_backbone("") == backbone.bundled_model_path()
    settings.PRM_BASE_MODEL = f"{tmp_path}/base"
    assert allowlist.resolve_backbone("") == f"{tmp_path}/base"
    for name in (f"{tmp_path}/a", "org/c", "../a", "A"):
        with pytest.raises(allowlist.BackboneNotAllowed):
            allowlist.resolve_backbone(name)


@pytest.mark.parametrize("entries", [["a=/x", "a=/y"], ["=/x"], ["a="], ["./relative/dir"], ["/x=/y"], ["/"]])
def test_malformed_entries_are_refused(settings, entries):
    settings.PRM_ALLOWED_BACKBONES = entries
    with pytest.raises(ImproperlyConfigured, match="PRM_ALLOWED_BACKBONES"):
        allowlist.allowed_backbones()


def test_public_names(allowed, micro_bert, tmp_path):
    assert public.public_name(str(micro_bert)) == "micro"
    assert public.public_name(str(micro_bert) + "/") == "micro"
    assert public.public_name("micro") == "micro"
    assert public.public_name(backbone.bundled_model_path()) == public.BUNDLED_NAME == "all-MiniLM-L6-v2 (bundled)"
    assert public.public_name(f"{tmp_path}/cli/my-backbone") == "my-backbone"
    assert public.public_name("org/unlisted") == "unlisted"
    allowed.PRM_BASE_MODEL = f"{tmp_path}/base/qwen-math"
    assert public.public_name(f"{tmp_path}/base/qwen-math") == "qwen-math"
    allowed.PRM_ALLOWED_BACKBONES = [*allowed.PRM_ALLOWED_BACKBONES, f"q={tmp_path}/base/qwen-math"]
    assert public.public_name(f"{tmp_path}/base/qwen-math") == "q"
    text = (f"OSError: no file in {micro_bert}/config.json, {allowed.MODEL_DIR}/prm-v3, "
            f"{sysconfig.get_paths()['purelib']}/transformers/x.py or /srv/secret/dir (see https://hf.co/a/b, 1/2)")
    assert public.scrub(text) == ("OSError: no file in micro/config.json, MODEL_DIR/prm-v3, "
                                    "site-packages/transformers/x.py or dir (see https://hf.co/a/b, 1/2)")


# --- at request time ---------------------------------------------------------------------------------------

def refused_paths(micro_bert) -> list[str]:
    return ["/etc", "../", "../../etc/passwd", str(micro_bert), "~/models/x", "sentence-transformers/all-MiniLM-L6-v2",
            "org/other-hub", "micro\x00", "micro/", " micro", "MICRO", "all-MiniLM-L6-v2 (bundled)"]


def test_a_backbone_not_allowed_is_400_and_creates_nothing(allowed, ml, dispatched, micro_bert):
    for name in refused_paths(micro_bert):
        r = post(ml, {"base_model": name})
        assert r.status_code == 400, (name, r.content)
        assert r.json()["field"] == "base_model", name
        assert str(micro_bert) not in r.content.decode()
    assert "must be empty (the default backbone) or one of: micro, org/tiny-hub" in r.json()["error"]
    assert not Round.objects.exists() and not ModelVersion.objects.exists() and not dispatched


def test_with_nothing_configured_only_the_default_is_allowed(settings, ml, dispatched):
    settings.PRM_ALLOWED_BACKBONES = []
    r = post(ml, {"base_model": "/etc"})
    assert r.status_code == 400 and r.json()["field"] == "base_model"
    assert "no other backbone is configured" in r.json()["error"]
    assert post(ml, {}).status_code == 201


@pytest.mark.parametrize("name", ["micro", "org/tiny-hub", ""])
def test_an_allowed_name_or_empty_starts_a_round_that_stores_the_name(allowed, ml, dispatched, name):
    r = post(ml, {"base_model": name})
    assert r.status_code == 201, r.content
    assert config_of(Round.objects.get()).base_model == name == r.json()["config"]["base_model"]


def test_start_round_command_takes_names_only(allowed, dispatched, micro_bert):
    with pytest.raises(CommandError, match=r"--base-model: must be empty \(the default backbone\) or one of"):
        call_command("start_round", "--base-model", str(micro_bert), stdout=io.StringIO(), stderr=io.StringIO())
    assert not Round.objects.exists()
    call_command("start_round", "--base-model", "micro", stdout=io.StringIO(), stderr=io.StringIO())
    assert config_of(Round.objects.get()).base_model == "micro"


def test_the_page_offers_the_allowed_names(allowed):
    c = Client()
    c.force_login(set_user("p-ml", "pw-for-tests-only", "ml_staff").user)
    page = c.get("/rounds/").content.decode()
    assert '<select id="opt-base_model" name="base_model"' in page
    assert '<option value="" selected>default</option><option value="micro">micro</option>' \
           '<option value="org/tiny-hub">org/tiny-hub</option>' in page


# --- on the worker -----------------------------------------------------------------------------------------

@pytest.fixture
def no_loading(monkeypatch):
    loaded = []
    monkeypatch.setattr(backbone, "load_tokenizer", lambda path: loaded.append(path) or 1 / 0)
    monkeypatch.setattr(backbone, "load_model", lambda path, *a, **k: loaded.append(path) or 1 / 0)
    return loaded


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("stored", ["micro", "/etc", "org/tiny-hub"])
def test_the_worker_refuses_a_name_no_longer_allowed(allowed, dispatched, no_loading, stored):
    """A round stored while the allow-list said otherwise (or with a path, before there was one)."""
    r = Round.objects.create(generation=1, slot="active", attempt=1, config={**DEFAULTS, "base_model": stored},
                             stages={"train": {"status": "pending"}})
    allowed.PRM_ALLOWED_BACKBONES = ["other=/srv/other"]
    with pytest.raises(allowlist.BackboneNotAllowed):
        celery_tasks.run_round(r.pk, 1)
    r.refresh_from_db()
    assert r.status == "failed" and r.stages["train"]["status"] == "failed"
    assert "stage 'train': BackboneNotAllowed: base_model must be empty (the default backbone) or one of: other" \
           in r.error
    assert no_loading == [] and not ModelVersion.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_worker_loads_what_the_name_stands_for(allowed, dispatched, no_loading, micro_bert):
    from labeling.demo.seed import seed_problems

    seed_problems()
    r = rounds.start_round({"base_model": "micro", "generate_with": ""})  # straight to training
    with pytest.raises(ZeroDivisionError):
        celery_tasks.run_round(r.pk, 1)
    assert no_loading == [str(micro_bert)]
    assert ModelVersion.objects.get().base_model == str(micro_bert)


# --- no server path in any response -------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_no_server_path_in_model_and_round_responses(allowed, eager, micro_bert, model_dir, tmp_path):
    from labeling.demo.seed import seed_problems

    missing = tmp_path / "backbones" / "missing-backbone"
    base = tmp_path / "base" / "qwen-math"
    cli = tmp_path / "cli" / "my-backbone"
    allowed.PRM_ALLOWED_BACKBONES = [*allowed.PRM_ALLOWED_BACKBONES, str(missing)]  # bare path: its basename
    site = sysconfig.get_paths()["purelib"]
    ml, _ = token_client("ml", "ml_staff")
    seed_problems()
    bodies = []

    # a real round on the micro backbone, and one whose configured directory is not there
    r = post(ml, {"base_model": "micro", "epochs": 1, "max_length": 256})
    assert r.status_code == 201, r.content
    bodies.append(r)
    assert Round.objects.get(pk=r.json()["id"]).status == "succeeded", Round.objects.get(pk=r.json()["id"]).error
    r = post(ml, {"base_model": "missing-backbone", "epochs": 1, "max_length": 256})
    assert r.status_code == 201, r.content
    bodies.append(r)
    failed = Round.objects.get(pk=r.json()["id"])
    assert failed.status == "failed" and str(missing) in failed.error  # what the worker wrote names the path
    assert "missing-backbone" in ml.get(f"/api/rounds/{failed.pk}/").json()["error"]
    # older rows and what a worker or a library may have written
    Round.objects.create(generation=9, status="failed", attempt=1, config={**DEFAULTS, "base_model": str(micro_bert)},
                         error=f"stage 'train': OSError: {site}/transformers/x.py: no {missing}/config.json in /tmp",
                         stages={"train": {"status": "failed", "note": f"{model_dir}/prm-v9"}},
                         metrics={"training": {"where": f"{model_dir}/.work-9"}})
    ModelVersion.objects.create(base_model=backbone.bundled_model_path(), status="failed", path=f"{model_dir}/prm-v7",
                                error=f"OSError: {backbone.bundled_model_path()}/model.safetensors: {site}/torch",
                                hyperparameters={"output": f"{model_dir}/.tmp-7"}, metrics={"log": "/tmp/x/y.log"})
    ModelVersion.objects.create(base_model=str(cli), status="ready", path=f"{model_dir}/prm-v8",
                                data_snapshot={"source": str(cli)})
    allowed.PRM_BASE_MODEL = str(base)
    ModelVersion.objects.create(base_model=str(base), status="ready", path=f"{model_dir}/prm-v10")

    for url in ("/api/models/", "/api/rounds/"):
        listed = ml.get(url)
        bodies.append(listed)
        for item in listed.json()["results"]:
            bodies.append(ml.get(f"{url}{item['id']}/"))
    bodies.append(ml.post(f"/api/models/{ModelVersion.objects.filter(status='ready').first().pk}/activate/"))
    assert len(bodies) == 2 + 1 + 5 + 1 + 3 + 1
    secrets = [str(model_dir), str(micro_bert), str(missing), str(base), str(cli), backbone.bundled_model_path(),
               site, "/tmp"]
    for r in bodies:
        assert r.status_code in (200, 201), r.content
        text = r.content.decode()
        for secret in secrets:
            assert secret not in text, (r.request["PATH_INFO"], secret, text)

    names = {v["base_model"] for v in ml.get("/api/models/").json()["results"]}
    assert names == {"micro", "missing-backbone", public.BUNDLED_NAME, "my-backbone", "qwen-math"}
    configs = [x["config"]["base_model"] for x in ml.get("/api/rounds/").json()["results"]]
    assert configs == ["micro", "missing-backbone", "micro"]


def test_the_admin_lists_models_by_name(allowed, micro_bert, tmp_path, admin_client):
    ModelVersion.objects.create(base_model=str(micro_bert), status="ready")
    ModelVersion.objects.create(base_model=backbone.bundled_model_path(), status="ready")
    ModelVersion.objects.create(base_model=str(tmp_path / "cli" / "my-backbone"), status="ready")
    page = admin_client.get("/admin/activelearn/modelversion/").content.decode()
    assert "<td class=\"field-base_model_name\">micro</td>" in page
    assert public.BUNDLED_NAME in page and ">my-backbone<" in page
    for secret in (str(micro_bert), backbone.bundled_model_path(), str(tmp_path)):
        assert secret not in page
