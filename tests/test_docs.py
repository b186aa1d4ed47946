"""The docs stay true: README.md, docs/**/*.md and bench/README.md.

What is checked, and how each thing is recognised:
- links: every Markdown link or image outside code whose target has no scheme (`http:`, `mailto:`...)
  is a path relative to the page; the file or folder must exist, and a `#anchor` (into the page
  itself or another Markdown page) must be the GitHub slug of one of that page's headings;
- commands: every `manage.py NAME` inside code (a code span or a fenced block) must be a command
  Django can call (`django.core.management.get_commands()`), and the README's command table must
  list every command this project's apps define;
- settings: a code span that is an upper-case name with an underscore (`LABEL_QC_EVERY`), a
  prefix (`LABEL_*`), or an assignment (`HTTPS=1`), and an assignment of such a name in a fenced
  block (`REDIS_URL=... bench/x.py`; not a shell variable `TOKEN=$(...)`), names a
  setting: it must be an environment variable config/settings.py reads, one of the deployment
  page's "variable" table (the compose file's and the image's, checked by test_deploy_files.py),
  or one of OTHER_VARIABLES below, each read where it says;
- dependencies: every package of requirements.txt and requirements-dev.txt has a row in
  docs/dependencies.md;
- size: README.md stays under 15,000 bytes.
Each check is a function of a page's text, tried on small Markdown strings that must fail, so
none of them can pass by finding nothing.
"""
import re
from pathlib import Path

import pytest
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), ROOT / "bench" / "README.md"]
PROJECT_APPS = ("labeling", "activelearn", "api")

# Environment variables the docs name that neither config/settings.py nor the deployment files
# read: the file that reads each (the test checks it still does).
OTHER_VARIABLES = {
    "POLICY_API_KEY": "activelearn/policy/connection.py",  # a worker's key, named by a connection
    "BENCH_REDIS_URL": "bench/peer.py",
    "STEPWISE_SHARED_DATA": "tests/conftest.py",
    "GPU_CHECK_TIMEOUT": "bench/gpu_check.sh",
}

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)((?:(?!\n\s*\n).)+?)(?<!`)\1(?!`)", re.S)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$", re.M)
COMMAND = re.compile(r"\bmanage\.py\s+([a-z][a-z0-9_]*)")
NAME = r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+"
SETTING_SPAN = re.compile(rf"^(?:({NAME})|([A-Z][A-Z0-9_]*_)\*|([A-Z][A-Z0-9_]*)=.*)$", re.S)
FENCED_ASSIGNMENT = re.compile(rf"(?<![\w$.-])({NAME})=")  # with an underscore: not a shell's TOKEN=
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


# ---------------------------------------------------------------------------
# Reading a page
# ---------------------------------------------------------------------------


def fenced_blocks(text: str) -> list[str]:
    return [m.group(0) for m in FENCE.finditer(text)]


def code_spans(text: str) -> list[str]:
    return [m.group(2).strip() for m in CODE_SPAN.finditer(FENCE.sub("", text))]


def prose(text: str) -> str:
    """The page without code: fenced blocks dropped, code spans replaced by a placeholder."""
    return CODE_SPAN.sub("CODE", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: code and links as their text, lower case, punctuation out."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for match in HEADING.finditer(FENCE.sub("", text)):
        base = slug(match.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


# ---------------------------------------------------------------------------
# The checks: each returns the problems it found on one page
# ---------------------------------------------------------------------------


def link_problems(text: str, page: Path) -> list[str]:
    problems = []
    for match in LINK.finditer(prose(text)):
        target = match.group(1)
        if not target or SCHEME.match(target):
            continue
        path_part, _, anchor = target.partition("#")
        if path_part.startswith("/"):
            problems.append(f"{target}: a site path, not a file of the repository (write it as code)")
            continue
        dest = (page.parent / path_part).resolve() if path_part else page
        if path_part and not dest.exists():
            problems.append(f"{target}: no such file")
            continue
        if anchor:
            if dest.suffix != ".md":
                problems.append(f"{target}: anchors are checked only into Markdown pages")
            elif anchor not in anchors(dest.read_text() if path_part else text):
                problems.append(f"{target}: no heading #{anchor} in {dest.name}")
    return problems


def command_problems(text: str, commands: set[str]) -> list[str]:
    code = code_spans(text) + fenced_blocks(text)
    return [f"manage.py {name}: no such command" for piece in code for name in COMMAND.findall(piece)
            if name not in commands]


def setting_names(text: str) -> list[str]:
    """Names the page uses as settings; a prefix `LABEL_*` comes back as `LABEL_*`."""
    names = []
    for span in code_spans(text):
        match = SETTING_SPAN.match(span)
        if match:
            names.append(match.group(1) or (match.group(2) and match.group(2) + "*") or match.group(3))
    for block in fenced_blocks(text):
        for line in block.splitlines()[1:-1]:
            names += FENCED_ASSIGNMENT.findall(line.split("#", 1)[0])
    return names


def setting_problems(text: str, known: set[str]) -> list[str]:
    problems = []
    for name in setting_names(text):
        if name.endswith("*"):
            if not any(k.startswith(name[:-1]) for k in known):
                problems.append(f"{name}: no setting starts so")
        elif name not in known:
            problems.append(f"{name}: not read by config/settings.py, nor a deployment variable")
    return problems


def requirement_names(text: str) -> list[str]:
    names = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(re.split(r"[\[=<>~! ;]", line, maxsplit=1)[0])
    return names


def undocumented_packages(requirements: str, dependencies_page: str) -> list[str]:
    rows = [line.split("|")[1] for line in dependencies_page.splitlines() if line.startswith("| ")]
    named = {re.sub(r"\[.*\]|==.*", "", span).lower() for row in rows for span in re.findall(r"`([^`]+)`", row)}
    return [name for name in requirement_names(requirements) if name.lower() not in named]


# ---------------------------------------------------------------------------
# What the project has
# ---------------------------------------------------------------------------


def known_settings() -> set[str]:
    source = (ROOT / "config" / "settings.py").read_text()
    names = set(re.findall(r"\benv(?:\.\w+)?\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']", source))
    assert {"SECRET_KEY", "DATABASE_URL", "LABEL_QC_EVERY"} <= names, f"the regex found too little: {names}"
    deployment = (ROOT / "docs" / "deployment.md").read_text()
    variables = set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", deployment.split("| variable |", 1)[1], re.M))
    assert {"POSTGRES_PASSWORD", "HF_HOME"} <= variables, "docs/deployment.md's variable table not found"
    return names | variables | set(OTHER_VARIABLES)


@pytest.fixture(scope="module")
def settings_names() -> set[str]:
    return known_settings()


@pytest.fixture(scope="module")
def commands() -> set[str]:
    return set(get_commands())


def rel(page: Path) -> str:
    return str(page.relative_to(ROOT))


# ---------------------------------------------------------------------------
# The real pages
# ---------------------------------------------------------------------------


def test_the_pages_are_there():
    names = {rel(p) for p in PAGES}
    assert {"README.md", "bench/README.md", "docs/deployment.md", "docs/security.md", "docs/architecture.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_links_resolve(page):
    assert link_problems(page.read_text(), page) == []


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_commands_named_exist(page, commands):
    assert command_problems(page.read_text(), commands) == []


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_settings_named_are_read(page, settings_names):
    # POLICY_API_KEY_<NAME>: a family of key variables a connection names (activelearn/policy/keys.py)
    problems = [p for p in setting_problems(page.read_text(), settings_names) if not p.startswith("POLICY_API_KEY_")]
    assert problems == []


def test_readme_stays_short():
    """A newcomer reads it in five minutes; the rest belongs in a page of docs/ (issue 27)."""
    size = (ROOT / "README.md").stat().st_size
    assert size <= 15_000, f"README.md is {size:,} bytes: move a section into docs/ and link it from the index"


def test_the_checks_found_things_to_check():
    text = "\n".join(p.read_text() for p in PAGES)
    assert len([m for m in LINK.finditer(prose(text)) if not SCHEME.match(m.group(1))]) > 50
    assert len({n for piece in code_spans(text) + fenced_blocks(text) for n in COMMAND.findall(piece)}) >= 16
    assert len(set(setting_names(text))) > 40


def test_readme_lists_every_command_of_the_project(commands):
    ours = {name for name, app in get_commands().items() if app in PROJECT_APPS}
    assert len(ours) >= 16, ours
    table = [line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| `manage.py ")]
    listed = {COMMAND.search(line).group(1) for line in table}
    assert ours - listed == set(), f"commands missing from the README's table: {sorted(ours - listed)}"
    assert len(table) == len(listed), "a command listed twice in the README's table"


def test_other_variables_are_read_where_the_test_says():
    for name, path in OTHER_VARIABLES.items():
        assert name in (ROOT / path).read_text(), f"{path} no longer reads {name}: drop it from OTHER_VARIABLES"


def test_every_requirement_has_a_reason():
    page = (ROOT / "docs" / "dependencies.md").read_text()
    for requirements in ("requirements.txt", "requirements-dev.txt"):
        missing = undocumented_packages((ROOT / requirements).read_text(), page)
        assert missing == [], f"{requirements}: no row in docs/dependencies.md for {missing}"


# ---------------------------------------------------------------------------
# The checks fail where they should (small pages)
# ---------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "api.md").write_text("# API\n\n## Roles and `tokens`\n\n## Roles and `tokens`\n")
    (tmp_path / "docs" / "shot.png").write_bytes(b"png")
    return tmp_path


@pytest.mark.parametrize(("markdown", "problem"), [
    ("[the API](docs/api.md)", None),
    ("![a shot](docs/shot.png)", None),
    ("[roles](docs/api.md#roles-and-tokens) and [again](docs/api.md#roles-and-tokens-1)", None),
    ("# Here\n\nsee [above](#here)", None),
    ("[the site](https://example.org/x) and `[not a link](nowhere.md)`", None),
    ("```\n[in a block](nowhere.md)\n```", None),
    ("[gone](docs/nope.md)", "docs/nope.md: no such file"),
    ("![gone](docs/nope.png)", "docs/nope.png: no such file"),
    ("[moved](bench/README.md)", "no such file"),
    ("[bad anchor](docs/api.md#roles)", "no heading #roles in api.md"),
    ("[too many](docs/api.md#roles-and-tokens-2)", "no heading #roles-and-tokens-2"),
    ("# Here\n\nsee [below](#there)", "no heading #there"),
    ("[a picture's part](docs/shot.png#top)", "anchors are checked only into Markdown"),
    ("[the page](/label/)", "a site path"),
])
def test_link_check_on_small_pages(tree, markdown, problem):
    found = link_problems(markdown, tree / "README.md")
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and problem in found[0], found


@pytest.mark.parametrize(("markdown", "problem"), [
    ("Run `python manage.py seed_demo` first.", None),
    ("```bash\n.venv/bin/python manage.py create_api_token annotator laptop\n```", None),
    ("Django's own: `manage.py check --deploy`.", None),
    ("the manage.py commands below", None),  # prose is not a command
    ("Run `python manage.py frobnicate --all`.", "manage.py frobnicate"),
    ("```bash\npython manage.py seed_demo\npython manage.py import_prm80k data.jsonl\n```", "manage.py import_prm80k"),
    ("| `manage.py start_rounds` | start a round |", "manage.py start_rounds"),
])
def test_command_check_on_small_pages(commands, markdown, problem):
    found = command_problems(markdown, commands)
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and problem in found[0], found


@pytest.mark.parametrize(("markdown", "problem"), [
    ("`LABEL_QC_EVERY` sets the interval.", None),
    ("Set `HTTPS=1` and `CELERY_TRAIN_QUEUE=train`.", None),
    ("The `LABEL_*` settings seed the default project.", None),
    ("`POSTGRES_PASSWORD` and `STEPWISE_SHARED_DATA`", None),
    ("```bash\nDATABASE_URL=postgres://x@127.0.0.1/db make test   # DEBUG=1 is a comment\n```", None),
    ("```bash\nTOKEN=$(python manage.py create_api_token a b)\nH=\"Authorization: Bearer $TOKEN\"\n```", None),
    ("`labeling_auditevent`, `GET /api/me/`, `ALTER TABLE x`, `HTTP`", None),  # not settings
    ("`LABEL_LEASE_MINUTES` sets the lease.", "LABEL_LEASE_MINUTES"),
    ("Set `LABEL_LEASE_MINUTES=30`.", "LABEL_LEASE_MINUTES"),
    ("Set `HTTPZ=1`.", "HTTPZ"),
    ("The `LABELS_*` settings", "LABELS_*"),
    ("```bash\nSTEPWISE_DEBUG_SQL=1 make run\n```", "STEPWISE_DEBUG_SQL"),
])
def test_setting_check_on_small_pages(settings_names, markdown, problem):
    found = setting_problems(markdown, settings_names)
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0].startswith(problem + ":"), found


def test_dependency_check_on_a_small_page():
    page = "| package | why |\n|---|---|\n| `Django` | the app |\n| `celery[redis]`, `orjson` | jobs; JSON |\n"
    assert undocumented_packages("Django==5.2\ncelery[redis]==5.7\norjson==3\n", page) == []
    assert undocumented_packages("# tools\nDjango==5.2\nleftpad==1.0  # new\n", page) == ["leftpad"]


@pytest.mark.parametrize(("heading", "anchor"), [
    ("Labelling in the browser (`/label/`)", "labelling-in-the-browser-label"),
    ("The paper's findings on a domain a program checks", "the-papers-findings-on-a-domain-a-program-checks"),
    ("More workers, and a GPU worker for training", "more-workers-and-a-gpu-worker-for-training"),
    ("REST API (`/api/`) and roles", "rest-api-api-and-roles"),
    ("Bulk imports and exports (background jobs)", "bulk-imports-and-exports-background-jobs"),
])
def test_slug_is_githubs(heading, anchor):
    assert slug(heading) == anchor
