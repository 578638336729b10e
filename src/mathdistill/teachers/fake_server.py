"""A real OpenAI-compatible HTTP server on 127.0.0.1, for tests and dry runs, with faults.

    from mathdistill.teachers.fake_server import FakeOpenAIServer, fault_plan
    with FakeOpenAIServer(faults=fault_plan(["429", "500", "slow"], rate=0.3)) as srv:
        teacher = OpenAITeacher("fake-model", base_url=srv.url, timeout=0.5)
        ...
        srv.served()     # Counter: request key -> successful (200, well-formed) answers

    python -m mathdistill.teachers.fake_server --port 8000 --answer annotated   # dry run
    python -m mathdistill teach --teacher openai ... (base_url http://127.0.0.1:8000/v1)

Endpoints: POST /v1/chat/completions, POST /v1/completions (n, seed, temperature
honoured; `ignore_n=True`: one choice whatever n), GET /v1/models. With api_key set, other bearer tokens get 401. Answers are deterministic functions of the request: "canned"
(hash-derived text in the requested strategy's format), "annotated" (the annotated
teacher's rationale for a known GSM8K question, canned otherwise) or a callable
(payload, params, choice_index) -> str. A request is identified by the client's
X-Mathdistill-Key header (else a hash of its body).

Faults (what `faults(request_no, key, attempt, body)` returns): "429" (with Retry-After),
"500", "503", "400", "401", "slow" (no answer for `slow_s`, then the connection is
closed), "drop" (connection closed without a response), "malformed" (200 with truncated
JSON), "badshape" (200 with JSON lacking choices).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mathdistill.teachers.prompting import extract_query

logger = logging.getLogger(__name__)

FAULTS = ("429", "500", "503", "400", "401", "slow", "drop", "malformed", "badshape")
FaultFn = Callable[[int, str, int, dict], "str | None"]


def _h(*parts) -> int:
    return int(hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest(), 16)


def fault_plan(kinds: Sequence[str], *, rate: float = 1.0, attempts: int = 1, seed: int = 0,
               always: Sequence[str] = (), always_kind: str = "500") -> FaultFn:
    """Deterministic faults: each of a key's first `attempts` attempts fails with probability
    `rate` (hash of seed, key, attempt) with one of `kinds`; a request whose body contains
    one of the `always` substrings fails with `always_kind` every time."""
    bad = [k for k in [*kinds, always_kind] if k not in FAULTS]
    if bad:
        raise ValueError(f"unknown fault kind(s) {bad} ({', '.join(FAULTS)})")

    def plan(request_no: int, key: str, attempt: int, body: dict) -> str | None:
        if always and any(s in json.dumps(body) for s in always):
            return always_kind
        h = _h(seed, key, attempt)
        if attempt < attempts and kinds and (h % 10_000) < rate * 10_000:
            return kinds[(h // 10_000) % len(kinds)]
        return None

    return plan


def canned_answer(payload: dict, params: dict, index: int) -> str:
    """Deterministic text in the format the request asks for (by its prompt)."""
    sampled = (params.get("temperature") or 0) > 0
    h = _h(payload, params.get("seed") if sampled else None, index if sampled else 0)
    n = h % 997 + 3
    _, strategy = extract_query(payload)
    return {
        "cot": f"There are {n - 1} + 1 = {n} items.\nThe answer is {n}.",
        "pot": f"items = {n - 1}\ntotal = items + 1\nanswer = total",
        "eot": f"items = {n - 1}\ntotal = items + 1\nans = total",
        "l2m": (f"Sub-question 1: How many items are there?\n"
                f"Answer to Sub-question 1: {n - 1} + 1 = {n}.\nFinal Answer: {n}"),
    }.get(strategy, f"Tom has {n} apples and buys {h % 13 + 2} more. How many apples does he have?")


class AnnotatedAnswerer:
    """Answers rationale requests for known questions with the annotated teacher's text."""

    def __init__(self, problems=None, data_dir=None):
        self._problems, self._data_dir, self._by_q = problems, data_dir, None
        self._lock = threading.Lock()

    def _index(self):
        with self._lock:
            if self._by_q is None:
                from mathdistill import data
                probs = self._problems
                if probs is None:
                    probs = [p for split in ("train", "test")
                             for p in data.load("gsm8k", split, data_dir=self._data_dir)]
                self._by_q = {" ".join(p.question.split()): p for p in probs}
        return self._by_q

    def __call__(self, payload: dict, params: dict, index: int) -> str:
        from mathdistill.teachers import get_teacher
        question, strategy = extract_query(payload)
        p = self._index().get(" ".join((question or "").split()))
        if p is not None and strategy:
            rs = get_teacher("annotated").generate([p], strategy, n=1)
            if rs and rs[0].text:
                return rs[0].text
        return canned_answer(payload, params, index)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like real servers
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls between header and body
    server: _Server

    def log_message(self, fmt, *args):  # quiet
        pass

    def _send(self, status: int, body: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str, headers: dict | None = None) -> None:
        body = {"error": {"message": message, "type": "fake_error", "code": status}}
        self._send(status, json.dumps(body).encode(), headers)

    def do_GET(self):
        if self.path.rstrip("/").endswith("/models"):
            body = {"object": "list", "data": [{"id": self.server.owner.model, "object": "model"}]}
            return self._send(200, json.dumps(body).encode())
        self._error(404, f"no route {self.path}")

    def do_POST(self):
        owner = self.server.owner
        with owner._lock:
            owner.inflight += 1
            owner.max_inflight = max(owner.max_inflight, owner.inflight)
        try:
            self._post(owner)
        finally:
            with owner._lock:
                owner.inflight -= 1

    def _post(self, owner):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        chat = self.path.rstrip("/").endswith("/chat/completions")
        if not chat and not self.path.rstrip("/").endswith("/completions"):
            return self._error(404, f"no route {self.path}")
        try:
            body = json.loads(raw)
        except ValueError:
            return self._error(400, "request body is not JSON")
        if owner.api_key and self.headers.get("Authorization") != f"Bearer {owner.api_key}":
            return self._error(401, "invalid API key")
        key = self.headers.get("X-Mathdistill-Key") or hashlib.sha256(raw).hexdigest()
        arrived = time.time()
        no, attempt = owner._register(key)
        fault = owner.faults(no, key, attempt, body) if owner.faults else None
        if owner.latency:
            owner._stop.wait(owner.latency)
        owner._log(arrived, key, fault or "ok")
        if fault is None:
            return self._send(200, json.dumps(owner._answer(body, chat)).encode())
        if fault in ("429", "503"):
            return self._error(int(fault), "fake rate limit" if fault == "429" else "overloaded",
                               {"Retry-After": f"{owner.retry_after:g}"})
        if fault in ("500", "400", "401"):
            return self._error(int(fault), f"injected {fault}")
        if fault == "malformed":
            return self._send(200, b'{"id": "cmpl-x", "object": "chat.completion", "choices": [{"ind')
        if fault == "badshape":
            return self._send(200, b'{"id": "cmpl-x", "object": "chat.completion"}')
        if fault == "slow":
            owner._stop.wait(owner.slow_s)
        # "slow" and "drop": close the connection without a response
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # listen backlog: many clients connect at once
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        import sys
        if isinstance(sys.exc_info()[1], ConnectionError):  # the client left (timeout, kill)
            return
        logger.exception("fake server: error while answering %s", client_address)


class FakeOpenAIServer:
    """See the module docstring. `log` holds (time, key, "ok" | fault kind) per request."""

    def __init__(self, answer: str | Callable = "canned", *, faults: FaultFn | None = None,
                 latency: float = 0.0, retry_after: float = 0.2, slow_s: float = 2.0,
                 host: str = "127.0.0.1", port: int = 0, model: str = "fake-model",
                 problems=None, data_dir=None, api_key: str | None = None,
                 ignore_n: bool = False):
        if answer == "canned":
            answer = canned_answer
        elif answer == "annotated":
            answer = AnnotatedAnswerer(problems, data_dir)
        elif not callable(answer):
            raise ValueError(f"answer must be 'canned', 'annotated' or a callable, not {answer!r}")
        self.answer, self.faults, self.latency = answer, faults, latency
        self.retry_after, self.slow_s, self.model = retry_after, slow_s, model
        self.api_key = api_key  # when set, other bearer tokens get 401
        self.ignore_n = ignore_n  # answer one choice whatever n asks (like transformers serve)
        self.log: list[tuple[float, str, str]] = []  # (time.time() on arrival, key, kind)
        self.inflight = self.max_inflight = 0
        self._attempts: Counter = Counter()
        self._count = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = _Server((host, port), _Handler)
        self._httpd.owner = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeOpenAIServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.05})
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- bookkeeping ------------------------------------------------------------------
    def _register(self, key: str) -> tuple[int, int]:
        with self._lock:
            no, attempt = self._count, self._attempts[key]
            self._count += 1
            self._attempts[key] += 1
        return no, attempt

    def _log(self, t: float, key: str, kind: str) -> None:
        with self._lock:
            self.log.append((t, key, kind))

    def requests(self) -> Counter:
        """key -> requests received."""
        with self._lock:
            return Counter(k for _, k, _ in self.log)

    def served(self) -> Counter:
        """key -> successful answers sent."""
        with self._lock:
            return Counter(k for _, k, kind in self.log if kind == "ok")

    def reset_log(self) -> None:
        with self._lock:
            self.log.clear()
            self.max_inflight = 0

    # ---- answers ------------------------------------------------------------------------
    def _answer(self, body: dict, chat: bool) -> dict:
        payload = {"messages": body.get("messages", [])} if chat else {"prompt": body.get("prompt", "")}
        params = {k: body.get(k) for k in ("temperature", "top_p", "max_tokens", "seed")}
        n = 1 if self.ignore_n else int(body.get("n") or 1)
        texts = [self.answer(payload, params, i) for i in range(n)]
        prompt_words = len(json.dumps(payload).split())
        choices = []
        for i, text in enumerate(texts):
            c = {"index": i, "finish_reason": "stop", "logprobs": None}
            if chat:
                c["message"] = {"role": "assistant", "content": text}
            else:
                c["text"] = text
            choices.append(c)
        out_words = sum(len(t.split()) for t in texts)
        return {
            "id": f"cmpl-{self._count}", "object": "chat.completion" if chat else "text_completion",
            "created": int(time.time()), "model": body.get("model", self.model), "choices": choices,
            "usage": {"prompt_tokens": prompt_words, "completion_tokens": out_words,
                      "total_tokens": prompt_words + out_words},
        }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="OpenAI-compatible fake teacher server")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--answer", choices=("canned", "annotated"), default="canned")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    ap.add_argument("--faults", default="", help=f"comma list of {','.join(FAULTS)}")
    ap.add_argument("--fault-rate", type=float, default=0.1)
    ap.add_argument("--retry-after", type=float, default=1.0)
    ap.add_argument("--slow", type=float, default=30.0, help="seconds a 'slow' fault stalls")
    a = ap.parse_args(argv)
    kinds = [k for k in a.faults.split(",") if k]
    srv = FakeOpenAIServer(a.answer, faults=fault_plan(kinds, rate=a.fault_rate) if kinds else None,
                           latency=a.latency, retry_after=a.retry_after, slow_s=a.slow,
                           host=a.host, port=a.port, data_dir=a.data_dir)
    print(f"listening on {srv.url}", flush=True)
    try:
        srv._httpd.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        srv._httpd.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
