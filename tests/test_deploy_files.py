"""The deployment files agree with each other, with docs/deployment.md and with the settings.

No Docker engine is needed: docker-compose.yml is parsed with PyYAML, the Dockerfile
line by line, and docs/deployment.md's "Production shape" tables are parsed and compared with
both. The entrypoint script is run for real against a throwaway SQLite database.
"""
import fnmatch
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENTRYPOINT = ROOT / "scripts" / "docker-entrypoint.sh"
DEPLOY_DOC = ROOT / "docs" / "deployment.md"  # the page that holds the production shape
SETTINGS = ROOT / "config" / "settings.py"
MAKEFILE = ROOT / "Makefile"

SERVICES = {"db", "redis", "web", "worker", "beat"}
APP_SERVICES = {"web", "worker", "beat"}
# Values for the required variables when a test expands the compose file.
FAKE_ENV = {"SECRET_KEY": "test-secret", "POSTGRES_PASSWORD": "test-password"}

# ---------------------------------------------------------------------------
# Parsing helpers
# ---------------------------------------------------------------------------

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def expand(value: str, env: dict[str, str]) -> str:
    """Compose's interpolation: $$, ${X}, ${X:-d}, ${X-d}, ${X:?err}, ${X?err}."""

    def sub(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        present = name in env
        nonempty = present and env[name] != ""
        if op is None:
            return env.get(name, "")
        if op in (":-", "-"):
            return env[name] if (nonempty if op == ":-" else present) else arg
        if not (nonempty if op == ":?" else present):
            raise KeyError(f"{name} is required: {arg}")
        return env[name]

    parts = value.split("$$")
    return "$".join(_VAR.sub(sub, part) for part in parts)


def unescape(value: str) -> str:
    """What the container sees of a value without ${...}: $$ becomes $."""
    return value.replace("$$", "$")


def interpolated_names(text: str) -> set[str]:
    return {m.group(1) for m in _VAR.finditer(text.replace("$$", ""))}


def command_text(command) -> str:
    if isinstance(command, list):
        return unescape(shlex.join(command))
    return unescape(command)


def healthcheck_text(service: dict) -> str:
    test = service["healthcheck"]["test"]
    if isinstance(test, str):
        return unescape(test)
    kind, *rest = test
    if kind == "CMD-SHELL":
        assert len(rest) == 1, test
        return unescape(rest[0])
    assert kind == "CMD", f"healthcheck test must start with CMD or CMD-SHELL: {test}"
    return unescape(shlex.join(rest))


def code_spans(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    instructions, current = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if current and line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        keyword, _, args = current.strip().partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        current = ""
    assert not current, "Dockerfile ends inside a continued line"
    return instructions


def dockerfile_env() -> dict[str, str]:
    env = {}
    for keyword, args in dockerfile_instructions():
        if keyword == "ENV":
            for token in shlex.split(args):
                name, sep, value = token.partition("=")
                assert sep, f"use ENV NAME=value, not the legacy form: {args}"
                env[name] = value
    return env


def production_section() -> str:
    text = DEPLOY_DOC.read_text()
    match = re.search(r"^## Production shape\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, "docs/deployment.md has no '## Production shape' section"
    return match.group(1)


def readme_tables() -> dict[str, list[list[str]]]:
    """Tables of the Production shape section, keyed by the first header cell."""
    tables: dict[str, list[list[str]]] = {}
    block: list[str] = []
    for line in production_section().splitlines() + [""]:
        if line.startswith("|"):
            block.append(line)
            continue
        if block:
            rows = [[cell.strip() for cell in row.strip().strip("|").split("|")] for row in block]
            header, separator, body = rows[0], rows[1], rows[2:]
            assert all(set(c) <= set("-: ") for c in separator), f"not a table separator: {block[1]}"
            for row in body:
                assert len(row) == len(header), f"row has {len(row)} cells, header {len(header)} (a '|' inside?): {row}"
            tables[header[0]] = [header] + body
            block = []
    return tables


def table(first_header: str) -> dict[str, list[str]]:
    tables = readme_tables()
    assert first_header in tables, f"docs/deployment.md Production shape has no table starting '| {first_header} |'"
    header, *body = tables[first_header]
    rows = {}
    for row in body:
        spans = code_spans(row[0])
        key = spans[0] if spans else row[0]
        assert key not in rows, f"{key} listed twice in the docs/deployment.md '{first_header}' table"
        rows[key] = row
    return rows


def settings_env_names() -> set[str]:
    names = set(re.findall(r"\benv(?:\.\w+)?\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']", SETTINGS.read_text()))
    assert {"SECRET_KEY", "DATABASE_URL"} <= names, f"regex over config/settings.py found too little: {names}"
    return names


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


# ---------------------------------------------------------------------------
# docker-compose.yml
# ---------------------------------------------------------------------------


def test_compose_has_exactly_the_five_services(services):
    assert set(services) == SERVICES


def test_infrastructure_images(services):
    assert services["db"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    assert any(v.split(":")[1] == "/var/lib/postgresql/data" for v in services["db"]["volumes"])


def test_app_services_share_the_built_image(compose, services):
    assert "x-app" in compose
    for name in APP_SERVICES:
        service = services[name]
        assert service["build"]["context"] == ".", name
        assert service["image"] == compose["x-app"]["image"], name
        assert "command" in service, f"{name} must say its command"
    for name in SERVICES - APP_SERVICES:
        assert "build" not in services[name], name


def test_app_services_point_at_db_and_redis(services):
    db_env = services["db"]["environment"]
    for name in APP_SERVICES:
        env = services[name]["environment"]
        db = urlsplit(expand(env["DATABASE_URL"], FAKE_ENV))
        assert db.scheme in {"postgres", "postgresql"}, name
        assert (db.hostname, db.port) == ("db", 5432), name
        assert db.path == "/" + db_env["POSTGRES_DB"], name
        assert db.username == db_env["POSTGRES_USER"], name
        assert db.password == expand(db_env["POSTGRES_PASSWORD"], FAKE_ENV), name
        redis = urlsplit(expand(env["REDIS_URL"], FAKE_ENV))
        assert (redis.scheme, redis.hostname, redis.port) == ("redis", "redis", 6379), name
        # No separate broker: CELERY_BROKER_URL falls back to REDIS_URL.
        assert "CELERY_BROKER_URL" not in env, name


def test_secrets_are_required_not_defaulted(services):
    for name in APP_SERVICES:
        env = services[name]["environment"]
        assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]+\}", env["SECRET_KEY"]), name
        with pytest.raises(KeyError):
            expand(env["SECRET_KEY"], {})
        with pytest.raises(KeyError):
            expand(env["DATABASE_URL"], {"SECRET_KEY": "x"})
        assert env["DEBUG"] in ("0", "false", "False")
    with pytest.raises(KeyError):
        expand(services["db"]["environment"]["POSTGRES_PASSWORD"], {})
    # Nothing anywhere gives SECRET_KEY or POSTGRES_PASSWORD a default value.
    text = COMPOSE_FILE.read_text()
    assert not re.search(r"\$\{(SECRET_KEY|POSTGRES_PASSWORD)-|\$\{(SECRET_KEY|POSTGRES_PASSWORD):-", text)


def test_only_web_runs_migrations(services):
    for name in APP_SERVICES:
        flag = services[name]["environment"].get("RUN_MIGRATIONS", "0")
        assert flag == ("1" if name == "web" else "0"), name


def test_model_dir_is_the_models_volume(compose, services):
    assert "models" in compose["volumes"]
    for name in APP_SERVICES:
        assert services[name]["environment"]["MODEL_DIR"] == "/data/models", name
        assert "models:/data/models" in services[name]["volumes"], name
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source in compose["volumes"], f"{name}: named volume {source} not declared"


def test_dependencies_wait_for_health(services):
    for name in APP_SERVICES:
        depends = services[name]["depends_on"]
        for dependency in ("db", "redis"):
            assert depends[dependency]["condition"] == "service_healthy", (name, dependency)
    for name in APP_SERVICES - {"web"}:
        # web applies the migrations; the others start after it is healthy.
        assert services[name]["depends_on"]["web"]["condition"] == "service_healthy", name


def test_web_serves_on_8000_with_healthz(services):
    web = services["web"]
    command = command_text(web["command"])
    assert command.startswith("gunicorn config.wsgi:application")
    assert "--bind 0.0.0.0:8000" in command
    assert "8000:8000" in [str(port) for port in web["ports"]]
    assert "WEB_CONCURRENCY" in web["environment"]  # gunicorn's own worker-count variable
    check = healthcheck_text(web)
    assert "http://localhost:8000/healthz/" in check
    assert check.startswith("python -c") and "urllib.request.urlopen" in check
    assert "curl" not in check and "wget" not in check  # not in python:3.11-slim
    # The health check's Host header must be allowed whatever ALLOWED_HOSTS is set to.
    allowed = web["environment"]["ALLOWED_HOSTS"]
    for outside in ({}, {"ALLOWED_HOSTS": "stepwise.example.org"}):
        assert "localhost" in expand(allowed, {**FAKE_ENV, **outside}).split(",")


def test_celery_commands(services):
    assert command_text(services["worker"]["command"]).startswith("celery -A config worker -l info")
    assert command_text(services["beat"]["command"]).startswith("celery -A config beat -l info")
    assert "inspect ping" in healthcheck_text(services["worker"])
    assert "celery@$HOSTNAME" in healthcheck_text(services["worker"])


def test_every_service_has_a_healthcheck(services):
    for name, service in services.items():
        assert "healthcheck" in service, name
        assert healthcheck_text(service), name
    assert healthcheck_text(services["db"]).startswith("pg_isready")
    assert "redis-cli ping" in healthcheck_text(services["redis"])


# ---------------------------------------------------------------------------
# docs/deployment.md "Production shape" against docker-compose.yml and settings.py
# ---------------------------------------------------------------------------


def test_readme_says_how_to_start():
    section = production_section()
    assert "docker compose up -d" in section
    required = {m.group(1) for m in re.finditer(r"\$\{(\w+):?\?", COMPOSE_FILE.read_text())}
    assert required == {"SECRET_KEY", "POSTGRES_PASSWORD"}
    line = next(li for li in section.splitlines() if "docker compose up -d" in li and "SECRET_KEY=..." in li)
    for name in required:
        assert f"{name}=..." in line, f"docs/deployment.md's start command must set {name}"


def test_readme_service_table_matches_compose(services):
    assert readme_tables()["service"][0] == ["service", "image / command", "purpose", "health check"]
    rows = table("service")
    assert set(rows) == set(services), "docs/deployment.md service table must have one row per compose service"
    for name, service in services.items():
        expected = [service["image"]]
        if "command" in service:
            expected.append(command_text(service["command"]))
        assert code_spans(rows[name][1]) == expected, f"docs/deployment.md image / command of {name}"
        assert code_spans(rows[name][3]) == [healthcheck_text(service)], f"docs/deployment.md health check of {name}"


def test_readme_settings_table_covers_settings_py():
    names = settings_env_names()
    rows = table("setting")
    assert names <= set(rows), f"read by config/settings.py, missing from the page: {sorted(names - set(rows))}"
    assert set(rows) <= names, f"the page lists settings config/settings.py does not read: {sorted(set(rows) - names)}"
    for name, row in rows.items():
        assert row[1] and row[3], f"docs/deployment.md settings row {name} needs a default and a meaning"


def test_readme_settings_show_what_the_containers_get(services):
    image_env = dockerfile_env()
    rows = table("setting")
    for name, row in rows.items():
        values = {services[s]["environment"].get(name, image_env.get(name)) for s in APP_SERVICES}
        assert len(values) == 1, f"{name} differs between the app services: {values}"
        value = values.pop()
        shown = code_spans(row[2])
        if value is None:
            assert shown == [] and row[2] in ("—", "-", ""), f"the page says containers set {name}; they do not"
        else:
            assert shown == [value], f"docs/deployment.md 'in the containers' of {name}: {shown} != {value!r}"


def test_readme_documents_every_other_variable(services):
    rows = table("variable")
    settings = set(table("setting"))
    documented = settings | set(rows)
    used = interpolated_names(COMPOSE_FILE.read_text())
    for service in services.values():
        if "build" in service:
            used |= set(service["environment"]) | set(service["build"].get("args", {}))
    used |= set(dockerfile_env()) - {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PIP_NO_CACHE_DIR",
                                     "PIP_DISABLE_PIP_VERSION_CHECK", "DJANGO_SETTINGS_MODULE"}
    used |= {args.split("=")[0] for keyword, args in dockerfile_instructions() if keyword == "ARG"}
    used |= set(re.findall(r"\$\{(\w+):-", ENTRYPOINT.read_text()))
    assert used <= documented, f"undocumented in docs/deployment.md Production shape: {sorted(used - documented)}"
    for name in rows:
        assert name in used, f"docs/deployment.md documents {name}, which nothing uses"
    image_env = dockerfile_env()
    for name in ("HF_HUB_OFFLINE", "HF_HOME"):
        assert code_spans(rows[name][1]) == [image_env[name]], name


# ---------------------------------------------------------------------------
# Dockerfile
# ---------------------------------------------------------------------------


def _torch_pin(text: str) -> str:
    pins = set(re.findall(r"torch==([\w.+]+)", text))
    assert len(pins) == 1, pins
    return pins.pop()


def test_dockerfile_base_user_workdir_offline():
    instructions = dockerfile_instructions()
    froms = [args for keyword, args in instructions if keyword == "FROM"]
    assert froms[-1] == "python:3.11-slim", "the runtime stage is the last one"
    # front-end libraries come from npm in their own stage, as `make setup` installs them
    assert froms[0] == "node:20-slim AS assets"
    assert any(k == "RUN" and "npm ci" in a for k, a in instructions)
    assert any(k == "COPY" and a.startswith("--from=assets") and "node_modules" in a for k, a in instructions)
    users = [args for keyword, args in instructions if keyword == "USER"]
    assert users and users[-1] not in ("root", "0"), "the image must run as a non-root user"
    assert ("WORKDIR", "/app") in instructions
    assert dockerfile_env()["HF_HUB_OFFLINE"] == "1"


def test_dockerfile_installs_like_make_setup():
    runs = [args for keyword, args in dockerfile_instructions() if keyword == "RUN"]
    torch_runs = [i for i, r in enumerate(runs) if "pip install" in r and "torch==" in r]
    req_runs = [i for i, r in enumerate(runs) if "pip install" in r and "-r requirements.txt" in r]
    assert len(torch_runs) == 1 and len(req_runs) == 1
    assert torch_runs[0] < req_runs[0], "torch must be installed before -r requirements.txt"
    torch_version = _torch_pin(runs[torch_runs[0]])
    assert torch_version == "2.13.0"
    assert torch_version == _torch_pin(MAKEFILE.read_text()), "Dockerfile and Makefile pin different torch"
    assert f"torch=={torch_version}" in (ROOT / "requirements.txt").read_text().split()
    requirements = runs[req_runs[0]]
    assert "-c constraints.txt" in requirements
    assert not any("requirements-dev.txt" in a for _, a in dockerfile_instructions()), "runtime dependencies only"
    copies = [args for keyword, args in dockerfile_instructions() if keyword == "COPY"]
    first_python_copy = next(c for c in copies if "package.json" not in c)
    assert "requirements.txt" in first_python_copy and "constraints.txt" in first_python_copy


def test_dockerfile_torch_index_is_optional_and_not_hard_coded():
    instructions = dockerfile_instructions()
    args = dict(a.partition("=")[::2] for keyword, a in instructions if keyword == "ARG")
    assert args.get("TORCH_INDEX_URL", "x").strip('"') == "", "TORCH_INDEX_URL must default to empty"
    torch_run = next(a for keyword, a in instructions if keyword == "RUN" and "torch==" in a)
    assert '${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}' in torch_run
    assert "://" not in DOCKERFILE.read_text(), "no index URL may be hard-coded in the Dockerfile"
    # The expansion really is optional: without the arg, pip gets no --index-url.
    shell = shutil.which("sh")
    if shell:
        for value, expected in (("", ["torch==2.13.0"]), ("IDX", ["--index-url", "IDX", "torch==2.13.0"])):
            out = subprocess.run(
                [shell, "-c", 'for a in ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} torch==2.13.0; '
                              'do echo "$a"; done'],
                env={"TORCH_INDEX_URL": value, "PATH": os.environ.get("PATH", "")},
                capture_output=True, text=True, check=True,
            ).stdout.split()
            assert out == expected


def test_dockerfile_collectstatic_with_throwaway_secret():
    instructions = dockerfile_instructions()
    collect = [a for keyword, a in instructions if keyword == "RUN" and "collectstatic" in a]
    assert len(collect) == 1 and re.search(r"\bSECRET_KEY=\S+ python manage.py collectstatic --noinput", collect[0])
    for keyword, args in instructions:
        if keyword in ("ARG", "ENV"):
            assert "SECRET_KEY" not in args, "the build secret must not persist as ARG or ENV"
    assert dockerfile_env()["STATIC_ROOT"], "STATIC_ROOT must be fixed in the image"


def test_dockerfile_entrypoint_and_build_args(services):
    instructions = dockerfile_instructions()
    entrypoint = [a for keyword, a in instructions if keyword == "ENTRYPOINT"][-1]
    assert "/app/scripts/docker-entrypoint.sh" in entrypoint
    declared = {a.split("=")[0] for keyword, a in instructions if keyword == "ARG"}
    for name in APP_SERVICES:
        assert set(services[name]["build"].get("args", {})) <= declared, name


def test_dockerignore_keeps_local_state_out():
    patterns = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    ignored = {pattern.rstrip("/") for pattern in patterns}
    assert {".env", ".venv", "var", ".git"} <= ignored
    # ...but nothing the image needs.
    needed = ["requirements.txt", "constraints.txt", "manage.py", "config/settings.py",
              "scripts/docker-entrypoint.sh", "static", "templates"]
    for path in needed:
        for pattern in patterns:
            assert not fnmatch.fnmatch(path, pattern.rstrip("/")) and path.split("/")[0] != pattern.rstrip("/"), \
                f".dockerignore pattern {pattern!r} drops {path}"


# ---------------------------------------------------------------------------
# scripts/docker-entrypoint.sh, run for real on SQLite
# ---------------------------------------------------------------------------


def test_entrypoint_text():
    text = ENTRYPOINT.read_text()
    assert text.startswith("#!/bin/sh")
    assert re.search(r'if \[ "\$\{RUN_MIGRATIONS:-0\}" = "1" \]; then\s+python manage.py migrate --noinput', text)
    assert text.rstrip().endswith('exec "$@"')


def _run_entrypoint(tmp_path: Path, *command: str, **extra: str) -> subprocess.CompletedProcess:
    shell = shutil.which("sh")
    if not shell:
        pytest.skip("no POSIX sh")
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "RUN_MIGRATIONS",
                        "STATIC_ROOT", "MEDIA_ROOT", "MODEL_DIR"}}
    env.update({
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "STEPWISE_VAR_DIR": str(tmp_path / "var"),
        "SECRET_KEY": "entrypoint-test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **extra,
    })
    return subprocess.run([shell, str(ENTRYPOINT), *command], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def _tables(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {row[0] for row in conn.execute("select name from sqlite_master where type='table'")}


def test_entrypoint_execs_the_command_without_migrating(tmp_path):
    result = _run_entrypoint(tmp_path, "python", "-c", "print('command ran')")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("command ran")
    assert "django_migrations" not in _tables(tmp_path / "db.sqlite3")


def test_entrypoint_migrates_when_asked(tmp_path):
    result = _run_entrypoint(tmp_path, "true", RUN_MIGRATIONS="1")
    assert result.returncode == 0, result.stderr
    assert "django_migrations" in _tables(tmp_path / "db.sqlite3")


def test_entrypoint_gives_up_on_an_unreachable_database(tmp_path):
    result = _run_entrypoint(tmp_path, "touch", str(tmp_path / "ran"),
                             DATABASE_URL="postgres://u:p@127.0.0.1:9/none", DB_WAIT_TIMEOUT="2")
    assert result.returncode != 0
    assert "database not reachable" in result.stderr
    assert not (tmp_path / "ran").exists()
