"""A policy connection: which OpenAI-compatible server samples solutions, and how.

A connection is a set of options (`OPTIONS`) checked by the one option parser: where the server is
(`base_url`, allowed by POLICY_ALLOWED_HOSTS when set), which model, which endpoint, the versioned
prompt, the sampling parameters, the splitting rule and the answer extraction, and client limits.
Three kinds exist:

- `demo`: the built-in demo generator (activelearn.policy.demo), no server at all;
- `default`: the deployment's, from the POLICY_* settings (when POLICY_BASE_URL is set);
- named ones that ML staff store (activelearn.models.PolicyConnection).

A round or the `generate_solutions` command names one and may override any option but the key.
The API key is never an option: a connection names an environment variable of the workers
(`api_key_env`, POLICY_API_KEY or POLICY_API_KEY_<NAME>) that holds it, so no key is ever stored,
shown, logged or exported by Stepwise.
"""
import os
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings

from activelearn import options
from activelearn.models import PolicyConnection
from activelearn.options import Option, OptionError
from activelearn.policy import prompts, splitting

DEMO, DEFAULT = "demo", "default"
ENDPOINTS = ("completions", "chat")
ANSWERS = ("grader",)  # the grader's extraction: `# Answer`, \boxed{}, "The final answer is"
KEY_ENV = re.compile(r"^POLICY_API_KEY(_[A-Z0-9_]{1,64})?$")
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class ConnectionConfigError(OptionError):
    """A connection option refused: `field` names it."""


def check_base_url(url: str) -> str:
    """http(s) only, a host name, and one of POLICY_ALLOWED_HOSTS when that is set (so a request
    can never point a worker at a service it should not reach)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise ValueError("must not carry a user name or password (name a key variable in api_key_env)")
    if parts.query or parts.fragment:
        raise ValueError("must not have a query or a fragment")
    allowed = allowed_hosts()
    if allowed and not host_allowed(parts.hostname, parts.port, allowed):
        raise ValueError(f"host {parts.hostname} is not in POLICY_ALLOWED_HOSTS")
    return url.rstrip("/")


def allowed_hosts() -> list[str]:
    raw = settings.POLICY_ALLOWED_HOSTS
    return [h.strip().lower() for h in (raw.split(",") if isinstance(raw, str) else raw) if h.strip()]


def host_allowed(host: str, port: int | None, allowed: list[str]) -> bool:
    """`host` or `host:port` entries; `.example.org` allows its subdomains."""
    host = host.lower()
    for entry in allowed:
        name, _, want_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if want_port and str(port) != want_port:
            continue
        if host == name or (name.startswith(".") and host.endswith(name)):
            return True
    return False


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
OVERRIDABLE = [o for o in OPTIONS]  # a round or a command may override any of them (there is no key option)


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


def names() -> list[str]:
    out = [DEMO, *([DEFAULT] if settings.POLICY_BASE_URL else [])]
    return out + list(PolicyConnection.objects.order_by("name").values_list("name", flat=True))


def check_name(name: str) -> str:
    if name and name not in names():
        raise ValueError(f"no connection named {name!r}: one of {', '.join(names())}")
    return name


def resolve(name: str, overrides: dict | None = None, project: int | None = None) -> Connection:
    """The connection called `name` with `overrides` applied and checked, its key read from the
    environment. ConnectionConfigError for an unknown name (field `policy`; a stored connection of another
    project than `project`, when given, is unknown too) or a connection that lacks a server or a model."""
    if name == DEMO:
        base = parse({})
    elif name == DEFAULT and settings.POLICY_BASE_URL:
        base = deployment_settings()
    else:
        rows = PolicyConnection.objects.filter(name=name)
        row = (rows if project is None else rows.filter(project_id=project)).first()
        if row is None:
            raise ConnectionConfigError("policy", f"no connection named {name!r}")
        base = parse(row.settings)
    merged = parse({**base, **check_overrides(overrides or {})})
    if name != DEMO:
        for key in ("base_url", "model"):
            if not merged[key]:
                raise ConnectionConfigError(key, f"connection {name!r} needs a {key}")
        if merged["split"] == "pattern" and not merged["split_pattern"]:
            raise ConnectionConfigError("split_pattern", "is required with split=pattern")
    key_env = merged["api_key_env"]
    return Connection(name, merged, os.environ.get(key_env, "") if key_env else "")
