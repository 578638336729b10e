"""Completion cache (keys, durability, torn lines, shared files) and the backend driver."""

import json
import logging
import multiprocessing as mp

import pytest

from mathdistill.records import Problem
from mathdistill.teachers.backend import CompletionBackend, TeacherError
from mathdistill.teachers.cache import CompletionCache, request_key

BASE = {"backend": "openai", "model": "m",
        "payload": {"messages": [{"role": "user", "content": "q"}]},
        "params": {"temperature": 0.7, "top_p": 1.0, "stop": ["\n\n"], "seed": 1}, "samples": [0]}


def key(**changes):
    parts = {**BASE, **changes}
    return request_key(parts["backend"], parts["model"], parts["payload"], parts["params"],
                       parts["samples"])


def test_request_key_is_stable_and_covers_every_part():
    k = key()
    assert k == key() and len(k) == 64
    # dict order and None-valued params do not matter
    assert k == key(params={"seed": 1, "stop": ["\n\n"], "top_p": 1.0, "temperature": 0.7,
                            "top_k": None})
    variants = [key(backend="hf"), key(model="m2"), key(samples=[1]), key(samples=[0, 1]),
                key(payload={"prompt": "q"}),
                key(payload={"messages": [{"role": "user", "content": "q "}]}),
                key(params={**BASE["params"], "temperature": 0.0}),
                key(params={**BASE["params"], "stop": []}),
                key(params={**BASE["params"], "seed": 2}),
                key(params={**BASE["params"], "max_tokens": 10})]
    assert len({k, *variants}) == len(variants) + 1


def entry(text="x = 1", usage=(10, 3)):
    return {"choices": [{"text": text, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1]}}


def test_entries_are_on_disk_as_soon_as_put(tmp_path):
    path = tmp_path / "sub" / "c.jsonl"
    c = CompletionCache(path)
    c.put("k1", entry("a"))
    assert CompletionCache(path).get("k1")["choices"][0]["text"] == "a"  # no close needed
    c.put("k2", entry("b"))
    again = CompletionCache(path)
    assert len(again) == 2 and "k2" in again and again.get("nope") is None
    with pytest.raises(ValueError, match="choices"):
        c.put("k3", {"text": "no choices"})


def test_torn_last_line_is_dropped_and_appends_stay_readable(tmp_path, caplog):
    path = tmp_path / "c.jsonl"
    c = CompletionCache(path)
    c.put("k1", entry())
    c.put("k2", entry())
    with open(path, "ab") as f:  # a writer killed mid-line
        f.write(b'{"key": "k3", "ok": true, "choi')
    with caplog.at_level(logging.WARNING):
        c2 = CompletionCache(path)
    assert set(c2.entries) == {"k1", "k2"} and "torn" in caplog.text
    assert path.read_bytes().endswith(b"\n")
    c2.put("k3", entry())
    assert set(CompletionCache(path).entries) == {"k1", "k2", "k3"}


def test_torn_line_from_another_writer_after_load_is_isolated(tmp_path):
    path = tmp_path / "c.jsonl"
    c = CompletionCache(path)
    c.put("k1", entry())
    with open(path, "ab") as f:  # another process dies mid-line after we loaded
        f.write(b'{"key": "k9", "ok": tr')
    c.put("k2", entry())
    c3 = CompletionCache(path)
    assert set(c3.entries) == {"k1", "k2"} and c3.skipped_lines == 1


def test_corrupt_middle_line_is_skipped_with_a_warning(tmp_path, caplog):
    path = tmp_path / "c.jsonl"
    CompletionCache(path).put("k1", entry())
    with open(path, "a") as f:
        f.write("not json\n" + json.dumps({"no": "key"}) + "\n")
    CompletionCache(path).put("k2", entry())
    with caplog.at_level(logging.WARNING):
        c = CompletionCache(path)
    assert set(c.entries) == {"k1", "k2"} and c.skipped_lines == 2
    assert "c.jsonl:2: unreadable" in caplog.text


def test_failures_are_recorded_but_not_served(tmp_path):
    path = tmp_path / "c.jsonl"
    c = CompletionCache(path)
    c.put_failure("k1", "500: boom", attempts=6)
    c2 = CompletionCache(path)
    assert c2.get("k1") is None and c2.failures["k1"]["error"] == "500: boom"
    c2.put("k1", entry())
    c3 = CompletionCache(path)
    assert c3.get("k1") is not None and "k1" not in c3.failures


def test_memory_only_cache(tmp_path):
    c = CompletionCache(None)
    c.put("k", entry())
    assert c.get("k") and list(tmp_path.iterdir()) == []


def _writer(path, prefix, n):
    c = CompletionCache(path)
    for i in range(n):
        c.put(f"{prefix}{i}", entry("y" * 5000))  # long lines: interleaving would show


def test_processes_can_share_one_cache_file(tmp_path):
    path = tmp_path / "c.jsonl"
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(path, p, 100)) for p in "ab"]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    c = CompletionCache(path)
    assert len(c) == 200 and c.skipped_lines == 0


# ---- the backend driver (prompts -> cache -> requests), with an in-process backend ----
class EchoBackend(CompletionBackend):
    """Answers every request itself; can be told to fail some, or to drop them (a bug)."""

    name = "echo"

    def __init__(self, *a, fail=(), drop=False, **kw):
        super().__init__(*a, **kw)
        self.calls, self.fail, self.drop = [], set(fail), drop

    def _execute(self, requests, deliver):
        for req in requests:
            self.calls.append(req.key)
            if self.drop:
                continue
            q = req.payload["messages"][-1]["content"]
            if any(f in q for f in self.fail):
                deliver(req, error="boom", attempts=2)
                continue
            choices = [{"text": f"{q[-30:]} s{s} seed{req.params.get('seed')}\nThe answer is {s}.",
                        "finish_reason": "stop"} for s in req.samples]
            deliver(req, result={"choices": choices,
                                 "usage": {"prompt_tokens": 100, "completion_tokens": 7}})


def probs(k):
    return [Problem(id=f"p/{i}", dataset="p", question=f"What is {i} plus {i}?", answer=2.0 * i)
            for i in range(k)]


def test_driver_caches_dedupes_and_accounts(tmp_path):
    path = tmp_path / "c.jsonl"
    ps = probs(3) + [Problem(id="p/dup", dataset="p", question="What is 1 plus 1?", answer=2.0)]
    t = EchoBackend("m", cache=path, progress=False)
    got = t.generate(ps, "cot", n=2)
    assert len(got) == 8 and len(t.calls) == 6  # the duplicate question is asked once
    assert [r.text for r in got if r.id == "p/dup"] == [r.text for r in got if r.id == "p/1"]
    assert got[0].meta["sample"] == 0 and got[1].meta["sample"] == 1
    assert "seed0" in got[0].text and "seed1" in got[1].text  # per-sample seeds
    c = t.cost()
    assert (c["generated"], c["cached"], c["prompt_tokens"], c["completion_tokens"]) == (8, 0, 600, 42)
    t2 = EchoBackend("m", cache=path, progress=False)
    again = t2.generate(ps, "cot", n=3)  # one more sample: only that one is requested
    assert len(t2.calls) == 3 and t2.cost()["cached"] == 8 and t2.cost()["prompt_tokens"] == 300
    assert [r.text for r in again if r.meta["sample"] < 2] == [r.text for r in got]


def test_driver_records_failures_and_never_drops_silently(tmp_path):
    t = EchoBackend("m", cache=tmp_path / "c.jsonl", fail=["What is 1 "], progress=False)
    got = t.generate(probs(3), "pot", n=1)
    assert [r.error for r in got] == [None, "teacher_failed: boom", None]
    assert got[1].meta["failed"] and t.cost()["failed"] == 1
    with pytest.raises(TeacherError, match="neither served nor failed"):
        EchoBackend("m", cache=None, drop=True, progress=False).generate(probs(2), "pot")


def test_default_cache_location_and_config_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("MATHDISTILL_TEACHER_CACHE", str(tmp_path / "tc"))
    t = EchoBackend("org/model:v1", progress=False)
    t.generate(probs(1), "cot")
    assert (tmp_path / "tc" / "echo-org_model_v1.jsonl").is_file()
    with pytest.raises(TeacherError, match="no model"):
        EchoBackend("", cache=None)
    with pytest.raises(ValueError, match="mode"):
        EchoBackend("m", cache=None, mode="stream")


class OneChoiceBackend(EchoBackend):
    """Answers every request with a single choice, whatever n asks (like transformers serve)."""

    def _execute(self, requests, deliver):
        for req in requests:
            self.calls.append(len(req.samples))
            deliver(req, result={"choices": [{"text": f"s{req.samples[0]} {req.params['seed']}"}],
                                 "usage": {"prompt_tokens": 5, "completion_tokens": 1}})


def test_driver_falls_back_to_one_request_per_sample(tmp_path, caplog):
    t = OneChoiceBackend("m", cache=tmp_path / "c.jsonl", batch_samples=True, progress=False)
    with caplog.at_level(logging.WARNING):
        got = t.generate(probs(3), "cot", n=2)
    assert [r.error for r in got] == [None] * 6 and caplog.text.count("ignores n") == 1
    assert [r.meta.get("raw", r.text) for r in got] == ["s0 0", "s1 1"] * 3  # per-sample seeds
    # batched requests (each answer kept as sample 0's), then one per missing sample: no waste
    assert t.calls == [2, 2, 2, 1, 1, 1]
    c = t.cost()
    assert (c["requests"], c["short"], c["failed"], c["prompt_tokens"]) == (6, 3, 0, 30)
    again = OneChoiceBackend("m", cache=tmp_path / "c.jsonl", batch_samples=True, progress=False)
    assert [r.text for r in again.generate(probs(3), "cot", n=2)] == [r.text for r in got]
    assert again.calls == []


def test_driver_rejects_more_choices_than_asked(tmp_path):
    class Chatty(EchoBackend):
        def _execute(self, requests, deliver):
            for req in requests:
                deliver(req, result={"choices": [{"text": "a"}, {"text": "b"}]})

    got = Chatty("m", cache=None, progress=False).generate(probs(1), "cot")
    assert got[0].error == "teacher_failed: expected 1 choices, got 2"
