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
by its host), logs, provenance or responses.
"""
import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import openai

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
        self.conn = conn
        self.sleep = sleep
        self.client = openai.OpenAI(base_url=conn.base_url, api_key=conn.api_key or "no-key", timeout=conn.timeout,
                                    max_retries=0)  # retries are ours: counted, with our backoff

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
            usage.requests += 1
            start = time.monotonic()
            try:
                if self.conn.endpoint == "chat":
                    resp = self.client.chat.completions.create(messages=prompt, **self._params(n, seed))
                    texts = [(ch.message.content or "", ch.finish_reason) for ch in resp.choices]
                else:
                    resp = self.client.completions.create(prompt=prompt, **self._params(n, seed))
                    texts = [(ch.text or "", ch.finish_reason) for ch in resp.choices]
            except RETRYABLE as exc:
                usage.failed_requests += 1
                usage.request_seconds += time.monotonic() - start
                if attempt >= self.conn.max_retries:
                    raise PolicyUnavailable(f"the policy server {_host(self.conn)} did not answer after "
                                            f"{attempt + 1} tries: {type(exc).__name__}") from None
                delay = _retry_after(exc) or min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** attempt)
                self.sleep(delay * random.uniform(0.5, 1.5))
                attempt += 1
                usage.retries += 1
                continue
            except openai.APIStatusError as exc:
                usage.failed_requests += 1
                raise PolicyError(f"the policy server {_host(self.conn)} refused the request: HTTP "
                                  f"{exc.status_code} {str(getattr(exc, 'message', ''))[:300]}") from None
            usage.request_seconds += time.monotonic() - start
            if resp.usage is not None:
                usage.prompt_tokens += resp.usage.prompt_tokens or 0
                usage.completion_tokens += resp.usage.completion_tokens or 0
            per_choice = (resp.usage.completion_tokens // max(1, len(texts))) if resp.usage else None
            return [Sampled(text, reason or "stop", per_choice) for text, reason in texts]

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
