"""Teacher on any OpenAI-compatible endpoint (OpenAI, vLLM/SGLang/TGI/llama.cpp servers).

    from mathdistill.teachers.openai_backend import OpenAITeacher
    t = OpenAITeacher("meta-llama/Meta-Llama-3-70B-Instruct", base_url="http://gpu:8000/v1",
                      mode="chat", temperature=0.7, concurrency=32, rate_limit=20)
    rationales = t.generate(problems, "cot", n=4)
    t.write_cost("results/teacher/openai/cot/cost.json")

Config keys (besides those of backend.CompletionBackend): base_url (else $OPENAI_BASE_URL),
api_key (else the variable named by api_key_env, default OPENAI_API_KEY; "EMPTY" for a
local server), concurrency (requests in flight), rate_limit (requests/s, None = no limit),
timeout (s per request), connect_timeout (s to open a connection), max_attempts,
backoff_initial/backoff_max (s, exponential with jitter), max_retry_after (cap on a
server's Retry-After, s), max_connection_failures, send_seed, max_stop (stop strings sent;
OpenAI accepts 4), extra_body (e.g. {"top_k": 20} for vLLM), max_tokens_field
("max_completion_tokens" for OpenAI o-series models).

Requests go through the official SDK (AsyncOpenAI, typed ChatCompletion/Completion).
Retries (tenacity; the SDK's own are off): 408/409/429/5xx, timeouts, connection errors
and malformed bodies; a 429/503 with Retry-After waits exactly that long. Fail fast:
401/403/404 abort the run at once, and so do `max_connection_failures` connection failures
in a row (refused, reset, DNS, connect timeout; any HTTP answer resets the count) -- a dead
or mistyped base_url -- (TeacherAbort, naming the URL); other 4xx fail only that request.
Every response and failed attempt is recorded (meters and ledger) with its usage, a
malformed 200 included; an answer with fewer choices than `n` goes back to the driver
(batch_samples fallback), never retried.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor

import openai
from openai.types import Completion
from openai.types.chat import ChatCompletion
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from mathdistill.teachers.backend import CompletionBackend, Request, TeacherAbort, TeacherError

logger = logging.getLogger(__name__)

KEY_HEADER = "X-Mathdistill-Key"


class MalformedResponse(ValueError):
    """The server answered 200 with a body that is not a usable completion."""

    def __init__(self, message: str, usage: dict | None = None):
        super().__init__(message)
        self.usage = usage  # what the response says it cost, if it says


# errors a request can end with; anything else is a bug and propagates
EXPECTED = (openai.OpenAIError, MalformedResponse, json.JSONDecodeError, asyncio.TimeoutError)


def error_kind(e: BaseException) -> str:
    if isinstance(e, openai.APIStatusError):
        return str(e.status_code)
    if type(e.__cause__).__name__ == "ConnectTimeout":  # no server answers at that address
        return "connection"
    if isinstance(e, (openai.APITimeoutError, asyncio.TimeoutError)):
        return "timeout"
    if isinstance(e, openai.APIConnectionError):
        return "connection"
    if isinstance(e, (MalformedResponse, json.JSONDecodeError, openai.APIResponseValidationError)):
        return "malformed"
    return type(e).__name__


def is_retryable(e: BaseException) -> bool:
    if isinstance(e, openai.APIStatusError):
        return e.status_code in (408, 409, 429) or e.status_code >= 500
    return isinstance(e, (openai.APIConnectionError, openai.APIResponseValidationError,
                          asyncio.TimeoutError, MalformedResponse, json.JSONDecodeError))


def is_fatal(e: BaseException) -> bool:
    return isinstance(e, (openai.AuthenticationError, openai.PermissionDeniedError,
                          openai.NotFoundError))


def retry_after(e: BaseException | None) -> float | None:
    """Seconds a 429/503 response asks us to wait (Retry-After / retry-after-ms), else None."""
    headers = getattr(getattr(e, "response", None), "headers", None)
    if headers is None:
        return None
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(float(ms) / 1000, 0.0)
        except ValueError:
            pass
    if (value := headers.get("retry-after")) is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        date = email.utils.parsedate_tz(value)
        return max(email.utils.mktime_tz(date) - time.time(), 0.0) if date else None


class OpenAITeacher(CompletionBackend):
    name = "openai"
    records_responses = True  # _call records every response and failed attempt

    def __init__(self, model: str | None = None, *, base_url: str | None = None,
                 api_key: str | None = None, api_key_env: str = "OPENAI_API_KEY",
                 concurrency: int = 8, rate_limit: float | None = None, timeout: float = 120.0,
                 connect_timeout: float = 5.0, max_attempts: int = 6,
                 backoff_initial: float = 1.0, backoff_max: float = 60.0,
                 max_retry_after: float = 300.0, max_connection_failures: int = 5,
                 send_seed: bool = True, max_stop: int | None = 4,
                 extra_body: dict | None = None, send_key_header: bool = True,
                 max_tokens_field: str = "max_tokens", **common):
        model = model or os.environ.get("MATHDISTILL_TEACHER_MODEL")
        self.supports_seed = send_seed
        super().__init__(model, max_stop=max_stop, **common)
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        self.api_key = api_key or os.environ.get(api_key_env) or ("EMPTY" if self.base_url else None)
        if not self.api_key:
            raise TeacherError(f"openai teacher: no API key (set ${api_key_env} or config api_key; "
                               "set base_url for a local server)")
        if concurrency < 1 or max_connection_failures < 1:
            raise ValueError("concurrency and max_connection_failures must be >= 1")
        self.concurrency, self.rate_limit = int(concurrency), rate_limit
        self.timeout = openai.Timeout(float(timeout), connect=min(float(connect_timeout),
                                                                  float(timeout)))
        self.max_attempts, self.max_retry_after = int(max_attempts), float(max_retry_after)
        self.max_connection_failures = int(max_connection_failures)
        self._backoff = (wait_exponential(multiplier=backoff_initial, max=backoff_max)
                         + wait_random(0, backoff_initial))
        self.extra_body, self.send_key_header = dict(extra_body or {}), send_key_header
        if max_tokens_field not in ("max_tokens", "max_completion_tokens"):
            raise ValueError("max_tokens_field must be max_tokens or max_completion_tokens")
        self.max_tokens_field = max_tokens_field
        self._down = 0  # connection failures in a row (no HTTP answer in between)

    @property
    def endpoint(self) -> str:
        return self.base_url or "https://api.openai.com/v1"

    def _params(self, prompt, samples, overrides):
        p = super()._params(prompt, samples, overrides)
        if self.extra_body:
            p["extra_body"] = self.extra_body
        return p

    # ---- sync entry point ------------------------------------------------------------
    def _execute(self, requests: list[Request], deliver) -> None:
        coro = self._run(requests, deliver)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coro)
        with ThreadPoolExecutor(1) as ex:  # called from inside an event loop (notebooks)
            return ex.submit(asyncio.run, coro).result()

    async def _run(self, requests: list[Request], deliver) -> None:
        client = openai.AsyncOpenAI(base_url=self.base_url, api_key=self.api_key, max_retries=0,
                                    timeout=self.timeout)
        limiter = None
        if self.rate_limit:
            from aiolimiter import AsyncLimiter
            rate = float(self.rate_limit)
            limiter = AsyncLimiter(1, 1 / rate) if rate < 1 else AsyncLimiter(rate, 1)
        queue = list(reversed(requests))

        async def worker():
            while queue:
                await self._one(client, queue.pop(), deliver, limiter)

        try:
            async with asyncio.TaskGroup() as tg:
                for _ in range(min(self.concurrency, len(requests))):
                    tg.create_task(worker())
        except* TeacherError as eg:  # an abort cancels the requests in flight, like a kill
            raise eg.exceptions[0] from None
        finally:
            await client.close()

    # ---- one request, with retries ---------------------------------------------------
    def _wait(self, state) -> float:
        ra = retry_after(state.outcome.exception())
        return min(ra, self.max_retry_after) if ra is not None else self._backoff(state)

    def _abort(self, why: str, e: BaseException) -> TeacherAbort:
        return TeacherAbort(f"openai teacher at {self.endpoint}, model {self.model!r}: {why}: "
                            f"{str(e)[:200]}")

    async def _one(self, client, req: Request, deliver, limiter) -> None:
        if len(req.samples) > 1 and self._n_ignored:  # the server ignores n: hand it back
            deliver(req, deferred=True)
            return
        attempts = 0

        def before_sleep(state) -> None:
            e = state.outcome.exception()
            self._meter(req.call).retries += 1
            logger.info("openai: retry %d after %s (%s) in %.2fs", state.attempt_number,
                        error_kind(e), str(e)[:120], state.next_action.sleep)

        try:
            async for attempt in AsyncRetrying(
                    stop=stop_after_attempt(self.max_attempts), wait=self._wait,
                    retry=retry_if_exception(is_retryable), before_sleep=before_sleep,
                    reraise=True):
                with attempt:
                    attempts += 1
                    result = await self._call(client, req, limiter)
        except EXPECTED as e:
            kind = error_kind(e)
            if is_fatal(e):
                raise self._abort(f"{kind} (check base_url, api_key and model)", e) from e
            deliver(req, error=f"{kind}: {str(e)[:300]}", attempts=attempts, kind=kind)
            return
        deliver(req, result=result, attempts=attempts)

    async def _call(self, client, req: Request, limiter) -> dict:
        """One attempt; its outcome (and usage, when the server says) is recorded."""
        if limiter is not None:
            await limiter.acquire()
        try:
            resp = await self._post(client, req)
            result = self._result(resp, len(req.samples))
        except Exception as e:
            kind = error_kind(e)
            self._record(req, kind, getattr(e, "usage", None))
            if kind != "connection":
                self._down = 0
            elif (down := self._down + 1) >= self.max_connection_failures:
                self._down = down
                raise self._abort(f"{down} connection failures in a row, no server answers "
                                  "(check that it runs and base_url)", e) from e
            else:
                self._down = down
            raise
        self._down = 0
        short = len(result["choices"]) < len(req.samples)
        self._record(req, "short" if short else "ok", result["usage"])
        return result

    async def _post(self, client, req: Request):
        p = req.params
        body = {"model": self.model, **req.payload, "temperature": p["temperature"],
                "top_p": p["top_p"], self.max_tokens_field: p["max_tokens"]}
        if p.get("stop"):
            body["stop"] = list(p["stop"])
        if "seed" in p:
            body["seed"] = p["seed"]
        if len(req.samples) > 1:
            body["n"] = len(req.samples)
        body.update(p.get("extra_body") or {})
        headers = {"Authorization": f"Bearer {self.api_key}"}
        if self.send_key_header:
            headers[KEY_HEADER] = req.key
        # The SDK's low-level post: same HTTP stack, errors and typed responses as
        # chat.completions.create, without its per-request TypedDict transform of the
        # messages (4x less client CPU for an 8-shot chat prompt, see bench/teacher.py).
        path, cast = (("/chat/completions", ChatCompletion) if self.mode == "chat"
                      else ("/completions", Completion))
        return await client.post(path, cast_to=cast, body=body, options={"headers": headers})

    def _result(self, resp, n: int) -> dict:
        """{"choices", "model", "usage"}: 1..n choices (fewer: the server ignored n)."""
        u = getattr(resp, "usage", None)
        usage = {"prompt_tokens": getattr(u, "prompt_tokens", None),
                 "completion_tokens": getattr(u, "completion_tokens", None)}
        choices = getattr(resp, "choices", None)
        if not isinstance(choices, list) or not 1 <= len(choices) <= n:
            raise MalformedResponse(f"expected {n} choice(s), got {type(resp).__name__} "
                                    f"with choices={str(choices)[:80]}", usage)
        out = []
        for c in sorted(choices, key=lambda c: getattr(c, "index", 0) or 0):
            if self.mode == "chat":
                text = getattr(getattr(c, "message", None), "content", None)
            else:
                text = getattr(c, "text", None)
            if not isinstance(text, str):
                raise MalformedResponse(f"choice without text: {str(c)[:80]}", usage)
            out.append({"text": text, "finish_reason": getattr(c, "finish_reason", None)})
        return {"choices": out, "model": getattr(resp, "model", None), "usage": usage}
