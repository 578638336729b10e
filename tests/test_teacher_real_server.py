"""The openai teacher against a real OpenAI-compatible server nobody here wrote:
`transformers serve` (extra `test`) with a tiny random-init Llama built here, on 127.0.0.1,
behind a small fault-injecting proxy that also logs every request (by cache key).

Facts this relies on (transformers 5.x): a Llama-family model answers chat completions
(the Qwen2 response parser returns empty content); `do_sample: true` must be in the
model's generation_config for temperature and seed to apply; the server ignores `n`
(one choice back), which batch_samples must survive. The server's own access log counts
the requests it answered."""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import yaml

from mathdistill.io import read_json, read_jsonl, write_json, write_jsonl
from mathdistill.records import Problem

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ACCESS = re.compile(r'"POST /v1/chat/completions HTTP/1\.1" (\d{3})')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(base URL, model dir, server log path): `transformers serve` on a free port."""
    from transformers import GenerationConfig

    from mathdistill.students.presets import make_tiny

    d = tmp_path_factory.mktemp("served")
    model_dir = d / "tiny-llama"
    model, tok, _ = make_tiny("tiny-llama", seed=0)
    tok.chat_template = ("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n"
                         "{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}")
    model.generation_config = GenerationConfig(do_sample=True, pad_token_id=tok.pad_token_id,
                                               eos_token_id=tok.eos_token_id,
                                               bos_token_id=tok.bos_token_id)
    model.save_pretrained(model_dir)
    tok.save_pretrained(model_dir)
    port, log = free_port(), d / "serve.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    with open(log, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "transformers.cli.transformers", "serve",
                                 "--host", "127.0.0.1", "--port", str(port), "--device", "cpu",
                                 str(model_dir)], stdout=fh, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            pytest.fail(f"transformers serve did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)
    yield url, str(model_dir), log
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def answered(log) -> int:
    """Chat completion requests the server logged (any status)."""
    return len(ACCESS.findall(log.read_text(errors="replace")))


class FaultProxy:
    """Forwards POSTs to `upstream`; logs (arrival time, cache key, status | "drop");
    `fault(key, body) -> None | "500" | "401" | "drop"` replaces the answer."""

    def __init__(self, upstream: str):
        up, proxy = urlsplit(upstream), self
        self.log: list[tuple[float, str, object]] = []
        self.fault = None

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                t, size = time.time(), int(self.headers["Content-Length"])
                raw = self.rfile.read(size)
                key = self.headers.get("X-Mathdistill-Key", "")
                kind = proxy.fault(key, raw) if proxy.fault else None
                if len(raw) < size:  # the client died mid-request: nothing to forward
                    proxy.log.append((t, key, "incomplete"))
                    return
                if kind == "drop":
                    proxy.log.append((t, key, "drop"))
                    self.close_connection = True
                    return self.connection.shutdown(socket.SHUT_RDWR)
                if kind:
                    status, body = int(kind), json.dumps({"error": {"message": kind}}).encode()
                else:
                    conn = http.client.HTTPConnection(up.hostname, up.port, timeout=600)
                    conn.request("POST", self.path, raw, {"Content-Type": "application/json"})
                    resp = conn.getresponse()
                    status, body = resp.status, resp.read()
                    conn.close()
                proxy.log.append((t, key, status))
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client was killed while the server answered
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def since(self, t0: float) -> list[tuple[str, object]]:
        return [(k, s) for t, k, s in list(self.log) if t >= t0]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def proxy(server):
    p = FaultProxy(server[0])
    yield p
    p.close()


def problems(k: int) -> list[Problem]:
    return [Problem(id=f"r/{i}", dataset="r", answer=float(i + 2),
                    question=f"Kim has {i} pens and gets 2 more. How many pens?")
            for i in range(k)]


def teach_cmd(tmp_path, url, model, *, n=1, k=4, name="run", **opts):
    tmp_path.mkdir(parents=True, exist_ok=True)
    write_jsonl(tmp_path / "problems.jsonl", problems(k))
    cfg = {"model": model, "base_url": url, "cache": str(tmp_path / "cache.jsonl"),
           "n_shots": 1, "max_tokens": 12, "temperature": 0.7, "concurrency": 2,
           "timeout": 300, "backoff_initial": 0.1, "progress": False, **opts}
    (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(cfg))
    out = tmp_path / "teach" / "raw.jsonl"
    return [sys.executable, "-m", "mathdistill", "-q", "teach", "--teacher", "openai",
            "--config", str(tmp_path / f"{name}.yaml"), "--strategy", "cot", "--n", str(n),
            "--problems", str(tmp_path / "problems.jsonl"), "--out", str(out)], out


def run(cmd) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)


def stored(tmp_path) -> set[str]:
    return {e["key"] for e in read_jsonl(tmp_path / "cache.jsonl") if e["ok"]}


def test_teach_n2_batched_fallback_and_noop_rerun(tmp_path, server, proxy):
    _, model, log = server
    before = answered(log)
    cmd, out = teach_cmd(tmp_path, proxy.url, model, n=2)
    done = run(cmd)
    assert done.returncode == 0, done.stderr
    rows = read_jsonl(out)
    assert len(rows) == 8 and all(r["error"] is None for r in rows)
    assert len({r["meta"].get("raw", r["text"]) for r in rows}) > 1  # sampled, seeded per sample
    assert len(proxy.log) == 8 and answered(log) - before == 8  # one request per sample
    cost = read_json(out.parent / "cost.json")
    assert (cost["generated"], cost["failed"]) == (8, 0) and cost["prompt_tokens"] > 0

    t0 = time.time()
    again = run(cmd)  # a finished job reruns from the cache
    assert again.returncode == 0 and proxy.since(t0) == [] and answered(log) - before == 8
    assert read_json(out.parent / "cost.json")["cached"] == 8

    # batch_samples: the server ignores n -> one warning, no malformed retries, no loss
    bcmd, bout = teach_cmd(tmp_path / "b", proxy.url, model, n=3, k=3, batch_samples=True)
    t0 = time.time()
    batched = run(bcmd)
    assert batched.returncode == 0, batched.stderr
    assert batched.stderr.count("ignores n") == 1 and "malformed" not in batched.stderr
    assert len(proxy.since(t0)) == 9  # 3 problems x 3 samples, the first answer reused
    bcost = read_json(bout.parent / "cost.json")
    assert (bcost["failed"], bcost["errors"], bcost["requests"]) == (0, {}, 9)
    assert bcost["short"] >= 1 and bcost["ledger"]["requests"] == 9


def test_kill9_then_resume_repeats_no_stored_request(tmp_path, server, proxy):
    model = server[1]
    cmd, out = teach_cmd(tmp_path, proxy.url, model, k=14)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cache = tmp_path / "cache.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if cache.exists() and cache.read_bytes().count(b"\n") >= 5:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL and not out.exists()
    kept = stored(tmp_path)
    assert 5 <= len(kept) < 14
    on_ledger = len(read_jsonl(out.parent / "cost.ledger.jsonl"))
    assert on_ledger >= len(kept)  # the killed run's paid calls are on record
    t0 = time.time()
    resumed = run(cmd)
    assert resumed.returncode == 0, resumed.stderr
    asked = [k for k, _ in proxy.since(t0)]
    assert not set(asked) & kept and len(asked) == len(set(asked)) == 14 - len(kept)
    sent_before = len(proxy.log) - len(asked)
    assert sent_before - 2 <= on_ledger <= sent_before  # all but <= concurrency in flight
    cost = read_json(out.parent / "cost.json")
    assert cost["ledger"]["runs"] == 2 and cost["ledger"]["requests"] == on_ledger + len(asked)
    assert (cost["cached"], cost["generated"]) == (len(kept), 14 - len(kept))


def test_failures_exit_nonzero_and_rerun_asks_only_them(tmp_path, server, proxy):
    model = server[1]
    bad = problems(4)[1].question.encode()
    proxy.fault = lambda key, body: "500" if bad in body else None
    cmd, out = teach_cmd(tmp_path, proxy.url, model, max_attempts=2)
    failed = run(cmd)
    assert failed.returncode == 2 and not out.exists()
    for part in (proxy.url, repr(model), "1 of 4 completions failed", "500: 1"):
        assert part in failed.stderr, failed.stderr
    assert len(stored(tmp_path)) == 3

    accept, _ = teach_cmd(tmp_path, proxy.url, model, max_attempts=2, max_failed_fraction=0.25,
                          name="accept")
    t0 = time.time()
    assert run(accept).returncode == 0 and len(proxy.since(t0)) == 2  # the failed key only
    assert read_json(out.parent / "cost.json")["max_failed_fraction"] == 0.25

    proxy.fault = None
    t0 = time.time()
    assert run(cmd).returncode == 0
    assert [s for _, s in proxy.since(t0)] == [200] and len(stored(tmp_path)) == 4

    proxy.fault = lambda key, body: "401"  # a wrong key: aborts at once
    t0 = time.time()
    denied = run(teach_cmd(tmp_path / "auth", proxy.url, model, k=6)[0])
    assert denied.returncode == 2 and proxy.url in denied.stderr
    assert "401" in denied.stderr.replace(proxy.url, "")  # not a port number
    assert len(proxy.since(t0)) <= 2  # only what was already in flight

    proxy.fault = lambda key, body: "drop"  # the server went away mid-run
    t0 = time.perf_counter()
    gone = run(teach_cmd(tmp_path / "gone", proxy.url, model, k=6, backoff_initial=1.0)[0])
    took = time.perf_counter() - t0
    assert gone.returncode == 2 and "connection failures in a row" in gone.stderr
    assert proxy.url in gone.stderr and took < 60


def test_tailored_feedback_on_the_real_server(tmp_path, server, proxy):
    from mathdistill.stages import tailored

    model = server[1]
    probs = problems(2)
    write_jsonl(tmp_path / "train.jsonl", probs)
    write_json(tmp_path / "mistakes.json", {p.id: ["He has 1 pen."] for p in probs})
    opts = {"model": model, "base_url": proxy.url, "cache": str(tmp_path / "c.jsonl"),
            "max_tokens": 12, "temperature": 0.7, "progress": False}
    out = tmp_path / "r1" / "feedback.jsonl"
    n = tailored.feedback(tmp_path / "train.jsonl", tmp_path / "mistakes.json", out,
                          teacher="openai", teacher_options=opts)
    assert n == 2 and len(proxy.log) == 2
    cost = read_json(out.parent / "teacher_cost.json")
    assert cost["calls"]["feedback"]["generated"] == 2 and cost["ledger"]["requests"] == 2
