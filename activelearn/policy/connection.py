"""A policy connection: which OpenAI-compatible server samples solutions, and how.

A connection is a set of options (`OPTIONS`) checked by the one option parser: where the server is
(`base_url`: activelearn.policy.hosts), which model, which endpoint, the versioned
prompt, the sampling parameters, the splitting rule and the answer extraction, and client limits.
Three kinds exist:

- `demo`: the built-in demo generator (activelearn.policy.demo), no server at all;
- `default`: the deployment's, from the POLICY_* settings (when POLICY_BASE_URL is set);
- named ones that ML staff store (activelearn.models.PolicyConnection).

A round or the `generate_solutions` command names one and may override any option but the key
variable and the server (`FIXED`). The API key is never an option: a connection names an
environment variable of the workers (`api_key_env`, POLICY_API_KEY or POLICY_API_KEY_<NAME>) that
holds it, so no key is ever stored, shown, logged or exported by Stepwise, and the key is read only
for a connection the operator granted it to, towards the granted host (activelearn.policy.keys).
"""
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings

from activelearn import options
from activelearn.models import PolicyConnection
from activelearn.options import Option, OptionError
from activelearn.policy import hosts, keys, prompts, splitting

DEMO, DEFAULT = "demo", "default"
ENDPOINTS = ("completions", "chat")
ANSWERS = ("grader",)  # the grader's extraction: `# Answer`, \boxed{}, "The final answer is"
KEY_ENV = re.compile(r"^POLICY_API_KEY(_[A-Z0-9_]{1,64})?$")
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class ConnectionConfigError(OptionError):
    """A connection option refused: `field` names it."""


def check_base_url(url: str) -> str:
    """http(s) only, a host name, and a host a worker may reach (activelearn.policy.hosts: one of
    POLICY_ALLOWED_HOSTS, else loopback), so a request can never point a worker at a service it
    should not reach."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise ValueError("must not carry a user name or password (name a key variable in api_key_env)")
    if parts.query or parts.fragment:
        raise ValueError("must not have a query or a fragment")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("has a port that is not a number from 0 to 65535") from None
    hosts.check_host(parts.hostname, port)
    return url.rstrip("/")


def check_key_env(name: str) -> str:
    if name and not KEY_ENV.match(name):
        raise ValueError("must name an environment variable POLICY_API_KEY or POLICY_API_KEY_<NAME> (upper case)")
    return name


def _check_prompt(prompt: str) -> str:
    if prompt and prompt not in prompts.TEMPLATES:
        raise ValueError(f"must be one of {', '.join(prompts.TEMPLATES)}")
    return prompt


OPTIONS = [
    Option("base_url", str, "", "The server's OpenAI-compatible API, e.g. http://gpu-1:8000/v1 (vLLM, SGLang, TGI, "
           "llama.cpp, transformers serve).", check=lambda v: check_base_url(v) if v else v),
    Option("model", str, "", "The model name the server knows (vLLM: --served-model-name; transformers serve: the "
           "model's directory)."),
    Option("api_key_env", str, "", "The workers' environment variable holding the API key: POLICY_API_KEY or "
           "POLICY_API_KEY_<NAME>. Empty: no key.", check=check_key_env),
    Option("endpoint", str, "completions", "completions (a prompt to continue) or chat (messages).", choices=ENDPOINTS),
    Option("prompt", str, "", "Versioned prompt template; empty = the endpoint's default.", check=_check_prompt),
    Option("few_shot", int, 0, "Worked examples in the prompt.", min=0, max=len(prompts.EXAMPLES)),
    Option("temperature", float, 1.0, "Sampling temperature.", min=0, max=2),
    Option("top_p", float, 1.0, "Nucleus sampling.", min=0.01, max=1),
    Option("max_tokens", int, 1024, "Tokens per sample at most; a sample cut there is dropped as truncated.",
           min=1, max=65536),
    Option("stop", list, [], "Stop sequences."),
    Option("seed", int, None, "Base seed (sample k of a problem asks with base + k) where the server honours one.",
           min=0, max=2**31 - 1, nullable=True),
    Option("split", str, "newline", "newline (one step per line, as PRM800K's generator), blank_line, pattern, or "
           "for long chains of thought numbered (Step N / N.), markers (<step>, ---) or sentences.",
           choices=splitting.RULES),
    Option("split_pattern", str, "", "The regular expression between steps, for split=pattern.",
           check=lambda v: splitting.check_pattern(v) if v else v),
    Option("max_steps", int, 64, "A sample with more steps is dropped as too_long.", min=1, max=2000),
    Option("max_step_chars", int, 4000, "A sample with a longer step is dropped as too_long.", min=10, max=100_000),
    Option("answer", str, "grader", "Final-answer extraction: the grader's.", choices=ANSWERS),
    Option("concurrency", int, 4, "Requests in flight at once, per worker process.", min=1, max=256),
    Option("timeout", float, 120.0, "Seconds a request may take.", min=1, max=3600),
    Option("max_retries", int, 4, "Retries of a request on 429, 5xx, a timeout or a lost connection, with "
           "exponential backoff.", min=0, max=20),
]
# What a round or a command may override: neither the key variable nor the server, so a key
# configured for one host never goes to another.
FIXED = ("base_url", "api_key_env")
OVERRIDABLE = [o for o in OPTIONS if o.name not in FIXED]


@dataclass(frozen=True)
class Connection:
    """A resolved connection: what the client needs. `api_key` is read from the workers' environment
    when the connection is resolved; it is kept out of repr() and of `public()`."""

    name: str
    settings: dict
    api_key: str = field(default="", repr=False)

    def __getattr__(self, item):
        try:
            return self.settings[item]
        except KeyError:
            raise AttributeError(item) from None

    @property
    def is_demo(self) -> bool:
        return self.name == DEMO

    @property
    def template(self) -> prompts.Template:
        return prompts.TEMPLATES[self.settings["prompt"] or prompts.DEFAULT[self.settings["endpoint"]]]

    def public(self) -> dict:
        """What is recorded as provenance and shown in responses: everything but the key, with the
        template's id and digest."""
        out = {"connection": self.name, **self.settings, "prompt": self.template.id,
               "prompt_digest": self.template.digest(self.settings["few_shot"])}
        out["api_key_set"] = bool(self.api_key)
        return out


def parse(data, *, defaults: bool = True) -> dict:
    return options.parse_options(data, OPTIONS, ConnectionConfigError, defaults=defaults, what="connection")


def check_overrides(data: dict) -> dict:
    """A round's `policy_overrides`: any connection option, checked, nothing filled in."""
    return options.parse_options(data, OVERRIDABLE, ConnectionConfigError, defaults=False, what="policy_overrides")


def deployment_settings() -> dict:
    """The `default` connection, from the POLICY_* settings."""
    return parse({"base_url": settings.POLICY_BASE_URL, "model": settings.POLICY_MODEL,
                  "api_key_env": "POLICY_API_KEY",
                  "endpoint": settings.POLICY_ENDPOINT or "completions"})


def builtin_names() -> list[str]:
    return [DEMO, *([DEFAULT] if settings.POLICY_BASE_URL else [])]


def names(project: int) -> list[str]:
    """The connections a round of `project` may name: the built-in ones and the project's own."""
    rows = PolicyConnection.objects.filter(project_id=project).order_by("name")
    return builtin_names() + list(rows.values_list("name", flat=True))


def check_name(name: str) -> str:
    """The form of a connection's name (whether the project has it: `check_in_project`)."""
    if name and name not in builtin_names() and not NAME.match(name):
        raise ValueError("must be a connection's name: demo, default or a stored one")
    return name


def check_in_project(name: str, project: int) -> None:
    """ValueError unless `project` may name the connection `name` (other projects' names are not told)."""
    if name and name not in names(project):
        raise ValueError(f"no connection named {name!r} in this project: one of {', '.join(names(project))}")


def _key(name: str, merged: dict, row: PolicyConnection | None) -> str:
    """The key this connection may send to its server: read only where it is granted."""
    var = merged["api_key_env"]
    if not var:
        return ""
    if row is None:
        ok = name == DEFAULT and var == keys.DEFAULT_KEY and keys.default_granted(merged["base_url"])
    else:
        ok = keys.granted(var, row.project.slug, row.name, merged["base_url"])
    if not ok:
        raise ConnectionConfigError("api_key_env", not_granted(var, row.project.slug if row else "",
                                                              name, merged["base_url"]))
    return keys.read(var)


def not_granted(var: str, project: str, name: str, base_url: str) -> str:
    return (f"{var} is not granted to connection {name!r} of project {project!r} for host "
            f"{urlsplit(base_url).netloc} (an operator grants keys in POLICY_KEY_GRANTS)")


def check_key_grant(settings_: dict, project: str, name: str) -> None:
    """A stored connection's key variable must be granted to it, for its host."""
    var = settings_.get("api_key_env")
    if var and not keys.granted(var, project, name, settings_["base_url"]):
        raise ConnectionConfigError("api_key_env", not_granted(var, project, name, settings_["base_url"]))


def resolve(name: str, overrides: dict | None = None, project: int | None = None) -> Connection:
    """The connection called `name` with `overrides` applied and checked, its key read from the
    environment where it is granted. ConnectionConfigError for an unknown name (field `policy`; a
    stored connection of another project than `project`, when given, is unknown too), a key not
    granted to it (`api_key_env`) or a connection that lacks a server or a model."""
    row = None
    if name == DEMO:
        base = parse({})
    elif name == DEFAULT and settings.POLICY_BASE_URL:
        base = deployment_settings()
    else:
        rows = PolicyConnection.objects.filter(name=name).select_related("project")
        found = list((rows if project is None else rows.filter(project_id=project))[:2])
        if not found:
            raise ConnectionConfigError("policy", f"no connection named {name!r}")
        if len(found) > 1:  # only without a project (a bench, a shell): names are a project's
            raise ConnectionConfigError("policy", f"connections named {name!r} exist in several projects: name one")
        row = found[0]
        base = parse(row.settings)
    merged = parse({**base, **check_overrides(overrides or {})})
    if name != DEMO:
        for key in ("base_url", "model"):
            if not merged[key]:
                raise ConnectionConfigError(key, f"connection {name!r} needs a {key}")
        if merged["split"] == "pattern" and not merged["split_pattern"]:
            raise ConnectionConfigError("split_pattern", "is required with split=pattern")
    return Connection(name, merged, _key(name, merged, row))


def key_state(name: str, merged: dict, row: PolicyConnection | None) -> tuple[bool, str]:
    """(whether this process would send a key for the connection: granted and set, why not if it names a
    variable that is not granted to it)."""
    try:
        return bool(_key(name, merged, row)), ""
    except ConnectionConfigError as exc:
        return False, f"{exc.field}: {exc.message}"
