"""`manage.py check --deploy` with the environment docker-compose gives the app containers.

The environment is read from docker-compose.yml and the Dockerfile themselves, so a change
there is checked too; only the paths that would point into the image move to a temporary
folder. Each check runs in a fresh process, as settings are read once at start-up.
"""
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .test_deploy_files import COMPOSE_FILE, dockerfile_env, expand

ROOT = Path(__file__).resolve().parents[1]
HTTPS_WARNINGS = {"security.W004", "security.W008", "security.W012", "security.W016"}


def production_env(tmp_path: Path, **changes: str) -> dict[str, str]:
    """What the web container's process sees (a real-looking SECRET_KEY, as an operator would set)."""
    web = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["web"]["environment"]
    given = {"SECRET_KEY": secrets.token_urlsafe(50), "POSTGRES_PASSWORD": secrets.token_hex(12)}
    env = {**dockerfile_env(), **{k: expand(str(v), given) for k, v in web.items()}}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update({"STEPWISE_VAR_DIR": str(tmp_path / "var"), "STATIC_ROOT": str(tmp_path / "static"),
                "MEDIA_ROOT": str(tmp_path / "media"), "MODEL_DIR": str(tmp_path / "models"),
                "HF_HOME": str(tmp_path / "hf"), "PATH": os.environ.get("PATH", ""),
                "HOME": str(tmp_path), **changes})
    return env


def run_django(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
                          capture_output=True, text=True, timeout=120)


def settings_under(env: dict[str, str], names: list[str]) -> dict:
    """The values config/settings.py derives from env (JSON: tuples become lists)."""
    code = ("import json, django; from django.conf import settings; django.setup(); "
            f"print(json.dumps({{n: getattr(settings, n, None) for n in {names!r}}}))")
    result = run_django(env, "-c", code)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_compose_environment_passes_check_deploy(tmp_path):
    env = production_env(tmp_path)
    assert env["DEBUG"] == "0" and env["HTTPS"] == "1", "the production environment changed: look again"
    result = run_django(env, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize(("change", "expected"), [
    ({"HTTPS": "0"}, HTTPS_WARNINGS),  # plain http: exactly what HTTPS=1 turns on is missing
    ({"DEBUG": "1"}, {"security.W018"}),
    ({"SECRET_KEY": "too-short"}, {"security.W009"}),
])
def test_check_deploy_catches_a_weaker_environment(tmp_path, change, expected):
    result = run_django(production_env(tmp_path, **change), "manage.py", "check", "--deploy",
                        "--fail-level", "WARNING")
    assert result.returncode != 0
    assert set(re.findall(r"\((security\.[EW]\d+)\)", result.stderr + result.stdout)) == expected, result.stderr


def test_https_switch_sets_redirect_hsts_and_secure_cookies(tmp_path):
    names = ["SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
             "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_PROXY_SSL_HEADER"]
    on = settings_under(production_env(tmp_path), names)
    assert on == {"SECURE_SSL_REDIRECT": True, "SECURE_HSTS_SECONDS": 31_536_000,
                  "SECURE_HSTS_INCLUDE_SUBDOMAINS": True, "SECURE_HSTS_PRELOAD": True,
                  "SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True,
                  "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"]}
    # The quickstart: nothing set, plain http keeps working, no proxy header is trusted.
    quickstart = {k: v for k, v in production_env(tmp_path).items()
                  if k in ("PATH", "HOME", "STEPWISE_VAR_DIR", "STATIC_ROOT", "SECRET_KEY")}
    off = settings_under(quickstart, names)
    assert off == {"SECURE_SSL_REDIRECT": False, "SECURE_HSTS_SECONDS": 0, "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
                   "SECURE_HSTS_PRELOAD": True, "SESSION_COOKIE_SECURE": False, "CSRF_COOKIE_SECURE": False,
                   "SECURE_PROXY_SSL_HEADER": None}
