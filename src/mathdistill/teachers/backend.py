"""Shared driver of the real teacher backends (openai, vllm, hf).

    class MyTeacher(CompletionBackend):
        name = "mine"
        def _execute(self, requests, deliver):      # the only backend-specific part
            for req in requests:
                deliver(req, result={"choices": [{"text": ..., "finish_reason": "stop"}],
                                     "usage": {"prompt_tokens": 9, "completion_tokens": 3}})

    t = MyTeacher("model-name", cache="results/.teacher_cache/x.jsonl", temperature=0.7)
    t.generate(problems, "pot", n=4)                 # -> list[Rationale], n per problem
    t.generate_questions(problems, mode="harder")   # FDD: -> list[str | None]
    t.feedback(problems, wrong_rationales)          # Tailored Learning: -> list[Rationale]
    t.write_cost("results/teacher/openai/pot/cost.json")

A request is (prompt, sample indexes): one per sample, or one per prompt asking for all n
samples with `batch_samples=True`. Requests already in the cache are never sent again;
each answer is cached the moment it arrives (see cache.py). A request that keeps failing
comes back as a Rationale with `error` set (and `meta["failed"] = True`), is counted in the
cost record, and is retried on the next run; whether the job then fails is decided by
job.TeacherJob (`max_failed_fraction`). `max_failed_streak` requests given up in a row
abort the call at once (TeacherAbort: the endpoint is broken, not one prompt).

batch_samples against a server that ignores `n` (one choice back): the answer is kept as
sample 0's (the body is that of sample 0's own request), the other samples are requested one
by one, with one warning; a prompt with some samples already cached is asked per sample.
Every response received is counted (meters per call kind, and the ledger, see ledger.py).
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from tqdm.auto import tqdm

from mathdistill.filtering import TEACHER_FAILED
from mathdistill.io import write_json
from mathdistill.records import Problem, Rationale
from mathdistill.teachers.cache import CompletionCache, request_key
from mathdistill.teachers.ledger import CostLedger, CostMeter, sum_meters
from mathdistill.teachers.prompting import Prompt, PromptBuilder, parse_question, parse_rationale

logger = logging.getLogger(__name__)

DEFAULT_CACHE_DIR = "results/.teacher_cache"


class TeacherError(RuntimeError):
    """A teacher cannot serve at all (bad credentials, unknown model, missing install)."""


class TeacherAbort(TeacherError):
    """A run stopped early: the endpoint is unreachable, rejects us, or fails every request."""


@dataclass
class Request:
    index: int  # position of the prompt in the complete() call
    prompt: Prompt
    payload: dict  # {"messages": [...]} or {"prompt": "..."}
    samples: tuple[int, ...]
    params: dict  # sampling params sent (temperature, top_p, max_tokens, stop, seed, ...)
    key: str
    call: str = ""  # the kind of call: "rationale:cot", "question:harder", "feedback", ...


@dataclass
class Completion:
    text: str | None  # raw completion; None when the request failed
    error: str | None = None
    finish_reason: str | None = None
    cached: bool = False


def model_fingerprint(model: str) -> str:
    """A short hash of a local model directory's files; "" for a hub id."""
    path = Path(model)
    if not path.is_dir():
        return ""
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(f"{f.relative_to(path)}:{f.stat().st_size}:".encode())
        with open(f, "rb") as fh:
            h.update(fh.read(1 << 20))
    return h.hexdigest()[:16]


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", s).strip("_")[-80:] or "model"


class CompletionBackend:
    """Prompts, cache, sampling and cost for a backend that only implements `_execute`."""

    name = "base"
    supports_seed = True
    local_weights = False  # True: the model may be a local dir, fingerprinted in cache keys
    records_responses = False  # True: _execute calls self._record for every response itself

    def __init_subclass__(cls, **kw):
        # Publish every accepted option (the subclass's own + these) as the class signature,
        # so `get_teacher(name, **cfg)` rejects a misspelt option before building anything.
        super().__init_subclass__(**kw)
        own = [p for p in inspect.signature(cls.__init__).parameters.values()
               if p.name != "self" and p.kind is not p.VAR_KEYWORD]
        names = {p.name for p in own}
        common = [p for p in inspect.signature(CompletionBackend.__init__).parameters.values()
                  if p.kind is p.KEYWORD_ONLY and p.name not in names]
        cls.__signature__ = inspect.Signature(own + common)

    def __init__(self, model: str, *, mode: str = "chat", temperature: float = 0.0,
                 top_p: float = 1.0, max_tokens: int = 512, stop: Sequence[str] | None = None,
                 max_stop: int | None = None, seed: int | None = 0, batch_samples: bool = False,
                 cache: str | os.PathLike | bool | None = True, cache_dir: str | None = None,
                 n_shots: int = 8, prompt_style: str | dict | None = None,
                 demo_source: str = "file", demo_seed: int = 0, data_dir: str | None = None,
                 question_sampling: dict | None = None, feedback_sampling: dict | None = None,
                 max_failed_streak: int | None = 16, progress: bool = True):
        if not model:
            raise TeacherError(f"{self.name} teacher: no model given (config key 'model')")
        if mode not in ("chat", "completions"):
            raise ValueError(f"mode must be 'chat' or 'completions', not {mode!r}")
        self.model, self.mode = str(model), mode
        self.sampling = {"temperature": float(temperature), "top_p": float(top_p),
                         "max_tokens": int(max_tokens)}
        self.stop = list(stop) if stop is not None else None
        self.max_stop, self.seed, self.batch_samples = max_stop, seed, batch_samples
        self.question_sampling = dict(question_sampling or {})
        self.feedback_sampling = dict(feedback_sampling or {})
        self.prompts = PromptBuilder(n_shots=n_shots, style=prompt_style, demo_source=demo_source,
                                     demo_seed=demo_seed, data_dir=data_dir)
        if cache is True:
            cache_dir = cache_dir or os.environ.get("MATHDISTILL_TEACHER_CACHE", DEFAULT_CACHE_DIR)
            cache = Path(cache_dir) / f"{self.name}-{_slug(self.model)}.jsonl"
        self.cache = CompletionCache(cache or None)
        self.progress = progress
        if max_failed_streak is not None and int(max_failed_streak) < 1:
            raise ValueError("max_failed_streak must be >= 1 or null (never abort)")
        self.max_failed_streak = max_failed_streak
        self.meters: dict[str, CostMeter] = {}  # per call kind, this run
        self.ledger = CostLedger(None)  # job.TeacherJob sets one on disk
        self._fail_streak = 0
        self._n_ignored = False  # the server answered a batched request with fewer choices
        self._warned_greedy = False
        self._fingerprint = model_fingerprint(self.model) if self.local_weights else ""

    # ---- what a backend implements -------------------------------------------------
    @property
    def model_id(self) -> str:
        """Model identity in cache keys: `model@fingerprint` for a local model directory."""
        return f"{self.model}@{self._fingerprint}" if self._fingerprint else self.model

    @property
    def endpoint(self) -> str:
        """Where requests go, for messages (a server URL; a local model's path)."""
        return f"local {self.name} model {self.model}"

    def _execute(self, requests: list[Request], deliver: Callable[..., None]) -> None:
        """Serve `requests`; call deliver(req, result=..., attempts=k) for each success
        (result: {"choices": [{"text", "finish_reason"}] * len(req.samples), "usage": {...}};
        fewer choices: the server ignored n, see the module docstring) or deliver(req,
        error="...", attempts=k, kind="500") for a request given up on; deliver(req,
        deferred=True) hands a batched request back unsent (self._n_ignored is set). Raise
        TeacherError when nothing can be served."""
        raise NotImplementedError

    # ---- requests -------------------------------------------------------------------
    def _params(self, prompt: Prompt, samples: tuple[int, ...], overrides: dict) -> dict:
        p = {**self.sampling, **overrides}
        stop = self.stop if self.stop is not None else list(prompt.stop)
        p["stop"] = stop[: self.max_stop] if self.max_stop else stop
        if self.seed is not None and self.supports_seed:
            p["seed"] = int(self.seed) + (0 if len(samples) > 1 else samples[0])
        return p

    def _meter(self, call: str) -> CostMeter:
        return self.meters.setdefault(call, CostMeter())

    @property
    def meter(self) -> CostMeter:
        """This run's totals over every kind of call (a sum: read, don't update)."""
        return sum_meters(self.meters.values())

    def _record(self, req: Request, outcome: str, usage: dict | None = None) -> None:
        """One response (outcome "ok" | "short") or failed attempt (its kind) received."""
        self._meter(req.call).add_response(outcome, usage)
        self.ledger.record(req.call, req.key, outcome, usage)

    def _request(self, i: int, prompt: Prompt, samples: tuple[int, ...], overrides: dict,
                 call: str) -> Request:
        payload = prompt.payload(self.mode)
        params = self._params(prompt, samples, overrides)
        key = request_key(self.name, self.model_id, payload, params, samples)
        return Request(i, prompt, payload, samples, params, key, call)

    def _plan(self, grid, i: int, prompt: Prompt, samples: Sequence[int], batched: bool,
              overrides: dict, call: str) -> list[Request]:
        """Fill the cached samples of prompt i into `grid`; the requests still to send."""
        if batched:
            req = self._request(i, prompt, tuple(samples), overrides, call)
            hit = self.cache.get(req.key)
            if hit is not None and len(hit.get("choices", ())) == len(samples):
                self._fill(grid, req, hit, cached=True)
                return []
        singles = [self._request(i, prompt, (s,), overrides, call) for s in samples]
        todo = []
        for r in singles:
            hit = self.cache.get(r.key)
            if hit is not None and len(hit.get("choices", ())) == 1:
                self._fill(grid, r, hit, cached=True)
            else:
                todo.append(r)
        if batched and len(todo) == len(singles) and not self._n_ignored:
            return [req]  # nothing cached per sample: one request for all of them
        return todo

    def complete(self, prompts: Sequence[Prompt], n: int = 1, *, call: str | None = None,
                 **overrides) -> list[list[Completion]]:
        """n raw completions per prompt, from the cache where present, else from the backend.
        `call` names the kind of call in the cost records (default: from the prompts)."""
        t0 = time.perf_counter()
        if n > 1 and {**self.sampling, **overrides}["temperature"] == 0 and not self._warned_greedy:
            logger.warning("%s: n=%d samples with temperature 0 will be identical", self.name, n)
            self._warned_greedy = True
        call = call or (":".join(filter(None, (prompts[0].kind, prompts[0].strategy)))
                        if prompts else "none")
        grid: list[list[Completion | None]] = [[None] * n for _ in prompts]
        batched = self.batch_samples and n > 1
        todo = [r for i, p in enumerate(prompts)
                for r in self._plan(grid, i, p, range(n), batched, overrides, call)]
        try:
            deferred = self._send(grid, todo)
            if deferred:  # the server ignored n: the rest one sample at a time
                todo = [r for i, samples in deferred
                        for r in self._plan(grid, i, prompts[i], samples, False, overrides, call)]
                self._send(grid, todo)
        finally:
            self._meter(call).wall_s += time.perf_counter() - t0
        missing = sum(c is None for row in grid for c in row)
        if missing:  # a backend bug: never drop a completion silently
            raise TeacherError(f"{self.name}: {missing} completion(s) neither served nor failed")
        m = self.meter
        logger.info("%s %s: %d completions requested; so far %d cached, %d new, %d failed, "
                    "%d requests, tokens in/out %d/%d", self.name, self.model, len(prompts) * n,
                    m.cached, m.generated, m.failed, m.requests, m.prompt_tokens, m.completion_tokens)
        return grid  # type: ignore[return-value]

    def _send(self, grid, todo: list[Request]) -> list[tuple[int, tuple]]:
        """Run `todo` through the backend (one request per distinct key); returns the
        (prompt index, samples) a short or deferred batched answer left to ask one by one."""
        pending: dict[str, list[Request]] = {}
        for r in todo:
            pending.setdefault(r.key, []).append(r)
        if not pending:
            return []
        later: list[tuple[int, tuple]] = []
        unique = [reqs[0] for reqs in pending.values()]
        bar = tqdm(total=len(unique), desc=f"{self.name} {unique[0].call}",
                   disable=not self.progress, leave=False)

        def deliver(req: Request, result: dict | None = None, error: str | None = None,
                    attempts: int = 1, kind: str | None = None, deferred: bool = False) -> None:
            got = len(result.get("choices") or ()) if result is not None else 0
            if result is not None and not self.records_responses:
                self._record(req, "ok" if got >= len(req.samples) else "short",
                             result.get("usage"))
            if result is not None and got > len(req.samples):
                error, kind = f"expected {len(req.samples)} choices, got {got}", "malformed"
                result = None
            if deferred or (result is not None and got < len(req.samples)):
                later.extend(self._short(req, result, pending[req.key], grid))
            elif result is not None:
                entry = self.cache.put(req.key, {**result, "samples": list(req.samples)})
                self._fail_streak = 0
                for r in pending[req.key]:
                    self._fill(grid, r, entry, cached=False)
            else:
                self._failed(req, error, attempts, kind, pending[req.key], grid)
            bar.update()

        try:
            self._execute(unique, deliver)
        finally:
            bar.close()
        return later

    def _short(self, req: Request, result: dict | None, reqs: list[Request],
               grid) -> list[tuple[int, tuple]]:
        """A batched request answered with fewer choices than samples (or handed back
        unsent): keep a lone choice as sample 0's, return what is left to ask one by one."""
        if not self._n_ignored:
            got = len((result or {}).get("choices") or ())
            logger.warning("%s at %s: asked for %d samples in one request, got %d choice(s): "
                           "the server ignores n; asking one sample per request from now on",
                           self.name, self.endpoint, len(req.samples), got)
            self._n_ignored = True
        if result is None or len(result["choices"]) != 1 or req.samples[0] != 0:
            return [(r.index, r.samples) for r in reqs]
        # the body sent was sample 0's own request (same seed) plus an ignored n
        first = replace(req, samples=(0,), key=request_key(self.name, self.model_id, req.payload,
                                                           req.params, (0,)))
        entry = self.cache.put(first.key, {**result, "samples": [0]})
        self._fail_streak = 0
        for r in reqs:
            self._fill(grid, replace(r, samples=(0,), key=first.key), entry, cached=False)
        return [(r.index, r.samples[1:]) for r in reqs]

    def _failed(self, req: Request, error: str | None, attempts: int, kind: str | None,
                reqs: list[Request], grid) -> None:
        error = error or "unknown error"
        kind = kind or error.split(":", 1)[0].strip() or "error"
        if not self.records_responses:
            self._record(req, kind)
        self.cache.put_failure(req.key, error, attempts=attempts, samples=list(req.samples),
                               kind=kind)
        for r in reqs:
            for s in r.samples:
                grid[r.index][s] = Completion(None, error=error)
        self._meter(req.call).add_failed(len(req.samples), kind)
        logger.warning("%s: request failed after %d attempt(s): %s", self.name, attempts, error)
        self._fail_streak += 1
        if self.max_failed_streak and self._fail_streak >= self.max_failed_streak:
            raise TeacherAbort(f"{self.name} teacher at {self.endpoint}, model {self.model!r}: "
                               f"{self._fail_streak} requests in a row failed (last: {error}); "
                               "giving up on this endpoint (option max_failed_streak)")

    def _fill(self, grid, req: Request, entry: dict, *, cached: bool) -> None:
        for s, ch in zip(req.samples, entry["choices"]):
            grid[req.index][s] = Completion(ch.get("text") or "", finish_reason=ch.get("finish_reason"),
                                            cached=cached)
        meter = self._meter(req.call)
        if cached:
            meter.add_cached(len(req.samples), entry.get("usage"))
        else:
            meter.generated += len(req.samples)

    # ---- the Teacher API -------------------------------------------------------------
    def _meta(self, sample: int, c: Completion, prompt: Prompt, parsed: str) -> dict:
        meta = {"teacher": self.name, "model": self.model, "sample": sample, "cached": c.cached}
        if prompt.style:
            meta["prompt_style"] = prompt.style
        if c.finish_reason:
            meta["finish_reason"] = c.finish_reason
        if c.text is not None and c.text.strip() != parsed:
            meta["raw"] = c.text
        if c.error:
            meta["failed"] = True
        return meta

    def generate(self, problems: Sequence[Problem], strategy: str, n: int = 1) -> list[Rationale]:
        """n rationales per problem in `strategy` (failed requests: text "", error set)."""
        prompts = [self.prompts.rationale(p, strategy) for p in problems]
        grid = self.complete(prompts, n)
        out = []
        for p, prompt, row in zip(problems, prompts, grid):
            for s, c in enumerate(row):
                text = parse_rationale(c.text, prompt) if c.text is not None else ""
                out.append(Rationale(
                    id=p.id, question=p.question, answer=p.answer, strategy=strategy, text=text,
                    error=f"{TEACHER_FAILED}: {c.error}" if c.error else None,
                    meta=self._meta(s, c, prompt, text)))
        return out

    def generate_questions(self, problems: Sequence[Problem], mode: str = "harder") -> list[str | None]:
        """FDD: one new question per problem ("harder" | "similar"); None if failed/empty."""
        prompts = [self.prompts.question(p, mode) for p in problems]
        grid = self.complete(prompts, 1, call=f"question:{mode}", **self.question_sampling)
        return [parse_question(row[0].text, pr, p.question) if row[0].text is not None else None
                for p, pr, row in zip(problems, prompts, grid)]

    def feedback(self, problems: Sequence[Problem], wrong_rationales: Sequence[Rationale | str],
                 n: int = 1) -> list[Rationale]:
        """Tailored Learning: a corrected CoT rationale for each (problem, wrong rationale)."""
        if len(problems) != len(wrong_rationales):
            raise ValueError(f"{len(problems)} problems but {len(wrong_rationales)} rationales")
        wrong = [w.text if isinstance(w, Rationale) else str(w) for w in wrong_rationales]
        prompts = [self.prompts.feedback(p, w) for p, w in zip(problems, wrong)]
        grid = self.complete(prompts, n, call="feedback", **self.feedback_sampling)
        out = []
        for p, w, prompt, row in zip(problems, wrong, prompts, grid):
            for s, c in enumerate(row):
                text = parse_rationale(c.text, prompt) if c.text is not None else ""
                meta = {**self._meta(s, c, prompt, text), "feedback": True, "wrong": w}
                out.append(Rationale(
                    id=p.id, question=p.question, answer=p.answer, strategy="cot", text=text,
                    error=f"{TEACHER_FAILED}: {c.error}" if c.error else None, meta=meta))
        return out

    # ---- cost -----------------------------------------------------------------------
    def cost(self) -> dict:
        """This run's record: totals, then per kind of call under "calls"."""
        return {"teacher": self.name, "model": self.model, "endpoint": self.endpoint,
                **self.meter.as_dict(),
                "calls": {c: m.as_dict() for c, m in sorted(self.meters.items())}}

    def write_cost(self, path: str | os.PathLike) -> dict:
        """Write cost() as JSON (atomically), e.g. to cost.json beside the stage output."""
        record = self.cost()
        write_json(path, record)
        return record

    def reset_cost(self) -> None:
        self.meters = {}
