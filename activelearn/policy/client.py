"""Sampling from an OpenAI-compatible server (vLLM, SGLang, TGI, llama.cpp, `transformers serve`)
with the official `openai` client.

- Retries: a 429, a 5xx, a timeout or a lost connection is asked again after an exponential
  backoff with jitter (honouring Retry-After), up to the connection's `max_retries`; every retry is
  counted. Any other error (a 400, a 401, an unknown model) is a PolicyError at once.
- `n`: some servers ignore it (`transformers serve` does) and answer one choice. Whatever came
  back is kept and the rest is asked for again, until there are `n`.
- Seeds: with a base `seed`, the request for samples k.. asks with seed + k, so sample k is asked
  the same way however the samples were split into requests.
- Accounting: requests, retries, failed requests, prompt and completion tokens, time in requests.

The API key is given to the client and goes nowhere else: not into errors (which name the server
by its host and keep no more of its answer than a scrubbed line, `scrub`), logs, provenance or
responses; a completion that echoes it has it blanked out.

Where requests go: the client is made only after the host was checked again by name and by what it
resolves to (activelearn.policy.hosts), and it never follows a redirect (an allowed host answering
307 elsewhere is a refusal, not a request to the other host).
"""
import logging
import random
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import openai

from activelearn.policy import hosts
from activelearn.policy.connection import Connection
from activelearn.policy.samples import ProblemSamples, Sampled, Usage

log = logging.getLogger(__name__)
RETRYABLE = (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError, openai.APITimeoutError)
BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = 30.0


class PolicyError(RuntimeError):
    """The server refused the request, or answered nothing usable."""


class PolicyUnavailable(PolicyError):
    """The server did not answer (or kept failing) through every retry."""


def _host(conn: Connection) -> str:
    return urlsplit(conn.base_url).netloc


REDACTED = "[redacted]"
# Long runs of key-like characters with a digit in them: a key a server echoes in some form
# (prefixed, cut, masked at one end) is blanked with the rest of such words.
_TOKENISH = re.compile(r"(?=[A-Za-z0-9_\-+/=.*]*\d)[A-Za-z0-9_\-+/=.*]{20,}")
MAX_REASON = 200


def scrub(text: str, key: str = "") -> str:
    """A server's words made safe to store: the key blanked (and any key-like long word), one line,
    printable, at most MAX_REASON characters."""
    if key:
        text = text.replace(key, REDACTED)
    text = _TOKENISH.sub(REDACTED, text)
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return text[:MAX_REASON]


def _checked_host(conn: Connection) -> None:
    """The server's host, checked again where the request leaves (settings may have changed since the
    connection was stored) and by what it resolves to now."""
    parts = urlsplit(conn.base_url)
    try:
        hosts.check_host(parts.hostname or "", parts.port)
        hosts.check_resolved(parts.hostname or "", parts.port)
    except ValueError as exc:
        raise PolicyError(f"the policy server {_host(conn)} may not be reached: {exc}") from None
    except OSError as exc:
        raise PolicyUnavailable(f"the policy server {_host(conn)} does not resolve: {type(exc).__name__}") from None


def _retry_after(exc) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return min(float(value), BACKOFF_MAX_S) if value else None
    except ValueError:
        return None


class PolicyClient:
    """One connection's client; safe to share between the threads of one worker process."""

    def __init__(self, conn: Connection, *, sleep=time.sleep):
        _checked_host(conn)
        self.conn = conn
        self.sleep = sleep
        self.spent = Usage()  # every request this client made, whatever became of it (`take`)
        self._lock = threading.Lock()
        http = openai.DefaultHttpxClient(follow_redirects=False, timeout=conn.timeout)
        self.client = openai.OpenAI(base_url=conn.base_url, api_key=conn.api_key or "no-key", timeout=conn.timeout,
                                    max_retries=0, http_client=http)  # retries are ours: counted, with our backoff

    def take(self) -> Usage:
        """What the client spent since the last `take` (a run adds it to its counters even when a
        request failed and its caller's accounting went with the exception)."""
        with self._lock:
            spent, self.spent = self.spent, Usage()
        return spent

    def _count(self, usage: Usage, **amounts) -> None:
        for name, amount in amounts.items():
            setattr(usage, name, getattr(usage, name) + amount)
        with self._lock:
            for name, amount in amounts.items():
                setattr(self.spent, name, getattr(self.spent, name) + amount)

    def _params(self, n: int, seed: int | None) -> dict:
        c = self.conn
        params = {"model": c.model, "n": n, "temperature": c.temperature, "top_p": c.top_p, "max_tokens": c.max_tokens}
        if c.stop:
            params["stop"] = c.stop
        if seed is not None:
            params["seed"] = seed
        return params

    def request(self, prompt, n: int, seed: int | None, usage: Usage) -> list[Sampled]:
        attempt = 0
        while True:
            self._count(usage, requests=1)
            start = time.monotonic()
            try:
                if self.conn.endpoint == "chat":
                    resp = self.client.chat.completions.create(messages=prompt, **self._params(n, seed))
                    texts = [(ch.message.content or "", ch.finish_reason) for ch in resp.choices]
                else:
                    resp = self.client.completions.create(prompt=prompt, **self._params(n, seed))
                    texts = [(ch.text or "", ch.finish_reason) for ch in resp.choices]
            except RETRYABLE as exc:
                self._count(usage, failed_requests=1, request_seconds=time.monotonic() - start)
                if attempt >= self.conn.max_retries:
                    raise PolicyUnavailable(f"the policy server {_host(self.conn)} did not answer after "
                                            f"{attempt + 1} tries: {type(exc).__name__}") from None
                delay = _retry_after(exc) or min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** attempt)
                self.sleep(delay * random.uniform(0.5, 1.5))
                attempt += 1
                self._count(usage, retries=1)
                continue
            except openai.APIStatusError as exc:
                self._count(usage, failed_requests=1, request_seconds=time.monotonic() - start)
                raise PolicyError(self._refusal(exc)) from None
            except openai.APIError as exc:  # an answer that is not the API's (not JSON, a redirect body)
                self._count(usage, failed_requests=1, request_seconds=time.monotonic() - start)
                raise PolicyError(f"the policy server {_host(self.conn)} answered something unusable: "
                                  f"{type(exc).__name__}") from None
            self._count(usage, request_seconds=time.monotonic() - start)
            if resp.usage is not None:
                self._count(usage, prompt_tokens=resp.usage.prompt_tokens or 0,
                            completion_tokens=resp.usage.completion_tokens or 0)
            per_choice = (resp.usage.completion_tokens // max(1, len(texts))) if resp.usage else None
            key = self.conn.api_key
            return [Sampled(text.replace(key, REDACTED) if key else text, reason or "stop", per_choice)
                    for text, reason in texts]

    def _refusal(self, exc: "openai.APIStatusError") -> str:
        """A refusal as it may be stored and shown: the status, and the server's reason scrubbed (a server
        may echo the request's headers, the key among them); a redirect names no place."""
        if 300 <= exc.status_code < 400:
            return (f"the policy server {_host(self.conn)} answered HTTP {exc.status_code}, a redirect: it is not "
                    "followed (point the connection's base_url at the server itself)")
        reason = scrub(str(getattr(exc, "message", "") or ""), self.conn.api_key)
        return f"the policy server {_host(self.conn)} refused the request: HTTP {exc.status_code} {reason}".rstrip()

    def sample(self, problem_id: int, problem_text: str, indices: list[int]) -> ProblemSamples:
        """Samples `indices` of one problem (asking again for what a server did not return)."""
        out = ProblemSamples(problem_id)
        prompt = self.conn.template.render(problem_text, self.conn.few_shot)
        todo = list(indices)
        while todo:
            seed = self.conn.seed + todo[0] if self.conn.seed is not None else None
            got = self.request(prompt, len(todo), seed, out.usage)[:len(todo)]
            if not got:
                raise PolicyError(f"the policy server {_host(self.conn)} answered no choices")
            if len(got) < len(todo):
                out.usage.short_answers += 1
            for k, s in zip(todo, got, strict=False):
                out.samples[k] = s
            todo = todo[len(got):]
        return out

    def sample_many(self, jobs: list[tuple[int, str, list[int]]]):
        """(problem id, text, indices) for many problems, `concurrency` requests in flight; yields
        each problem's samples as soon as they are in (the first error is raised)."""
        with ThreadPoolExecutor(max_workers=self.conn.concurrency, thread_name_prefix="policy") as pool:
            futures = [pool.submit(self.sample, *job) for job in jobs]
            try:
                for future in futures:
                    yield future.result()
            finally:
                for future in futures:
                    future.cancel()
