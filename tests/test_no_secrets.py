"""No secret in the repository: every file git tracks (or would add) is scanned for private keys,
literal SECRET_KEY values, Stepwise API tokens, cloud keys and passwords inside URLs. Secrets
come from the environment; the quickstart generates var/secret_key, which git ignores."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Placeholders the docs use and the image build's throwaway key; nothing else outside tests/.
PLACEHOLDERS = {"...", "collectstatic-build-only", "password"}
# Tests set short, readable fakes (a real SECRET_KEY has 50 characters, a generated database
# password 48): in tests/ a value shorter than this passes.
TEST_FAKE_MAX = 20

_Q = "[\"']"
CHECKS = {
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "Stepwise API token": re.compile(r"\bsw_[A-Za-z0-9_-]{30,}"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}"),
    # SECRET_KEY = "x", "SECRET_KEY": "x", SECRET_KEY: x (YAML), SECRET_KEY=x (shell, .env, Dockerfile);
    # not compose's ${SECRET_KEY:?...}. Group 1: a quoted value, group 2: a bare one.
    "SECRET_KEY literal": re.compile(
        rf"(?<!\$\{{)SECRET_KEY{_Q}?\s*[:=]\s*(?:{_Q}([^\"'\n]*){_Q}|([^\s\"'$(`][^\s\"',)}}`]*))"),
    "password in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@\"'<>]+:([^@\s/\"'<>]+)@"),
}


def findings(path: str, text: str) -> list[str]:
    out = []
    python = path.endswith(".py")
    for lineno, line in enumerate(text.splitlines(), 1):
        for what, pattern in CHECKS.items():
            for m in pattern.finditer(line):
                if what == "SECRET_KEY literal":
                    quoted, bare = m.groups()
                    if quoted is None and python:
                        continue  # Python: a bare value is a name or a call, e.g. _secret_key()
                    if not _secret_value(path, quoted if quoted is not None else bare):
                        continue
                if what == "password in a URL" and not _secret_value(path, m[1]):
                    continue
                out.append(f"{path}:{lineno}: {what}: {line.strip()[:100]}")
    return out


def _secret_value(path: str, value: str) -> bool:
    if value in PLACEHOLDERS or value.startswith("$") or not value.strip():
        return False
    return not (path.startswith("tests/") and len(value) < TEST_FAKE_MAX)


def repository_files() -> list[str]:
    if not shutil.which("git") or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                         capture_output=True, check=True).stdout.decode()
    return [p for p in out.split("\0") if p]


def test_no_secret_in_the_repository():
    files = repository_files()
    assert "config/settings.py" in files and "docker-compose.yml" in files
    found = []
    for path in files:
        file = ROOT / path
        if not file.is_file() or file.stat().st_size > 5_000_000:
            continue
        try:
            text = file.read_text()
        except UnicodeDecodeError:  # images
            continue
        found += findings(path, text)
    assert not found, "looks like a secret; take it from the environment instead:\n" + "\n".join(found)


def test_local_secrets_are_ignored_by_git():
    repository_files()
    paths = ["var/secret_key", ".env"]
    ignored = subprocess.run(["git", "check-ignore", *paths], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert ignored == paths


# The scanner itself, on lines built at run time (so that this file does not trip it).
KEY = "k" * 30 + "Q9"  # as long as a real key
NAME = "SECRET" + "_KEY"


@pytest.mark.parametrize(("path", "line"), [
    ("id_rsa", "-----BEGIN " + "RSA PRIVATE KEY-----"),
    ("deploy/key", "-----BEGIN " + "OPENSSH PRIVATE KEY-----"),
    ("client.py", "token = 'sw_" + "a1B2" * 10 + "'"),
    ("config/settings.py", f"{NAME} = '{KEY}'"),
    ("tests/test_x.py", f'env = {{"{NAME}": "{KEY}"}}'),  # a real-length key, even in tests
    ("scripts/run.sh", f"{NAME}={KEY} python manage.py runserver"),
    ("docker-compose.yml", f"    {NAME}: {KEY}"),
    (".env.example", f'{NAME}="{KEY}"'),
    ("docker-compose.yml", "DATABASE_URL: postgres://stepwise:" + "hunter2" + "@db:5432/stepwise"),
    ("README.md", "redis://default:" + "s3cret" + "@cache:6379/0"),
    ("settings.py", "AKIA" + "ABCDEFGHIJKLMNOP"),
])
def test_scanner_finds(path, line):
    assert findings(path, line), line


@pytest.mark.parametrize(("path", "line"), [
    ("config/settings.py", f"{NAME} = _secret_key()"),
    ("config/settings.py", f'key = env("{NAME}", default=None)'),
    ("docker-compose.yml", f"    {NAME}: ${{{NAME}:?set {NAME}}}"),
    ("README.md", f"{NAME}=$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))') \\"),
    ("README.md", f"In short: `{NAME}=... POSTGRES_PASSWORD=... docker compose up -d`"),
    ("README.md", f"| `{NAME}` | generated once | `${{{NAME}:?set {NAME}}}` | Django's secret key |"),
    ("Dockerfile", f"RUN {NAME}=collectstatic-build-only python manage.py collectstatic --noinput"),
    ("tests/test_x.py", f'env = {{"{NAME}": secrets.token_urlsafe(50), "B": 1}}'),
    ("tests/test_x.py", f'env = {{"{NAME}": "entrypoint-test"}}'),  # a short fake in a test
    ("docker-compose.yml", "DATABASE_URL: postgres://stepwise:${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}@db:5432/x"),
    ("README.md", "(`postgres://user:password@host:port/name`)"),
    ("README.md", "`Authorization: Bearer sw_…`"),
])
def test_scanner_passes(path, line):
    assert not findings(path, line), findings(path, line)
