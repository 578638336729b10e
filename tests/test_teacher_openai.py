"""OpenAI-compatible teacher against a real HTTP server on 127.0.0.1 with injected faults."""

import json
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
import yaml

from mathdistill.io import read_json, read_jsonl, read_records, write_jsonl
from mathdistill.records import Problem, Rationale
from mathdistill.teachers import get_teacher
from mathdistill.teachers.backend import TeacherError
from mathdistill.teachers.fake_server import FakeOpenAIServer, fault_plan
from mathdistill.teachers.openai_backend import OpenAITeacher

pytestmark = pytest.mark.timeout(60)

ALL_FAULTS = ["429", "500", "503", "slow", "drop", "malformed", "badshape"]


def problems(k=8):
    return [Problem(id=f"t/{i}", dataset="t", answer=float(3 * i + 2),
                    question=f"Ann has {i} bags with 3 apples each and 2 loose apples. "
                             f"How many apples does she have?") for i in range(k)]


def teacher(srv, cache, **kw):
    cfg = {"base_url": srv.url, "cache": cache, "timeout": 0.5, "backoff_initial": 0.02,
           "backoff_max": 0.1, "concurrency": 4, "progress": False, "temperature": 0.7}
    cfg.update(kw)
    return OpenAITeacher("fake-model", **cfg)


def rows(rationales):
    return [(r.id, r.meta["sample"], r.text, r.error) for r in rationales]


def cache_times(path):
    """key -> time the client stored its successful completion."""
    return {e["key"]: e["t"] for e in read_jsonl(path) if e.get("ok")}


@pytest.mark.parametrize("mode", ["chat", "completions"])
def test_fault_free_run_then_rerun_makes_no_calls(tmp_path, mode):
    probs = problems(5)
    with FakeOpenAIServer() as srv:
        t = teacher(srv, tmp_path / "c.jsonl", mode=mode)
        first = t.generate(probs, "cot", n=2)
        assert len(first) == 10 and all(r.error is None and r.text for r in first)
        assert all(r.text.splitlines()[-1].startswith("The answer is") for r in first)
        assert sum(srv.requests().values()) == 10 and set(srv.served().values()) == {1}
        cost = t.cost()
        assert (cost["requests"], cost["generated"], cost["cached"], cost["failed"]) == (10, 10, 0, 0)
        assert cost["prompt_tokens"] > 0 and cost["completion_tokens"] > 0
        srv.reset_log()
        t2 = teacher(srv, tmp_path / "c.jsonl", mode=mode)
        again = t2.generate(probs, "cot", n=2)
        assert srv.log == []  # a rerun of a finished stage makes no calls
        assert rows(again) == rows(first)
        c2 = t2.cost()
        assert (c2["requests"], c2["cached"], c2["prompt_tokens"]) == (0, 10, 0)
        assert c2["total_prompt_tokens"] == cost["prompt_tokens"]  # cost of the data, from cache


def test_faults_lose_nothing_repeat_nothing_and_match_fault_free_run(tmp_path):
    probs = problems(10)
    with FakeOpenAIServer() as clean:
        reference = teacher(clean, tmp_path / "ref.jsonl").generate(probs, "pot", n=2)
    plan = fault_plan(ALL_FAULTS, rate=0.7, attempts=2, seed=3)

    def faults(no, key, attempt, body):  # every kind twice first, then the random plan
        return ALL_FAULTS[no % len(ALL_FAULTS)] if no < 2 * len(ALL_FAULTS) else plan(
            no, key, attempt, body)

    with FakeOpenAIServer(faults=faults, retry_after=0.05, slow_s=1.5) as srv:
        t = teacher(srv, tmp_path / "c.jsonl", max_attempts=8)
        got = t.generate(probs, "pot", n=2)
    assert rows(got) == rows(reference)  # identical output, nothing lost or failed
    kinds = Counter(kind for _, _, kind in srv.log)
    assert set(ALL_FAULTS) <= set(kinds), kinds  # every fault kind was exercised
    stored = cache_times(tmp_path / "c.jsonl")
    assert len(stored) == 20
    # none requested again after the client stored its success
    late = [k for t_arr, k, _ in srv.log if t_arr > stored[k]]
    assert late == []
    # a key served twice only if the client timed out on a 200 (a slow machine), never else
    served = srv.served()
    assert set(served) == set(stored) and min(served.values()) == 1
    cost = t.cost()
    spurious = cost["errors"].get("timeout", 0) - kinds["slow"]
    assert sum(served.values()) - len(served) <= spurious
    assert cost["requests"] == len(srv.log) and cost["retries"] == len(srv.log) - 20
    assert cost["errors"]["429"] == kinds["429"] and cost["errors"]["malformed"] == (
        kinds["malformed"] + kinds["badshape"])
    t.write_cost(tmp_path / "cost.json")
    assert read_json(tmp_path / "cost.json")["failed"] == 0


def test_retry_after_is_honoured(tmp_path):
    faults = fault_plan(["429"], rate=1.0, attempts=1)
    with FakeOpenAIServer(faults=faults, retry_after=0.4) as srv:
        teacher(srv, None, backoff_initial=0.01).generate(problems(3), "cot")
    by_key = {}
    for t_arr, k, kind in srv.log:
        by_key.setdefault(k, []).append((t_arr, kind))
    assert len(by_key) == 3
    for events in by_key.values():
        assert [kind for _, kind in events] == ["429", "ok"]
        assert events[1][0] - events[0][0] >= 0.38


def test_persistent_failure_is_recorded_then_retried_next_run(tmp_path):
    probs = problems(4)
    bad = probs[2].question
    with FakeOpenAIServer(faults=fault_plan([], always=[bad], always_kind="500")) as srv:
        t = teacher(srv, tmp_path / "c.jsonl", max_attempts=3)
        got = t.generate(probs, "cot", n=2)
        assert len(got) == 8
        failed = [r for r in got if r.error]
        assert [r.id for r in failed] == ["t/2", "t/2"]
        assert all(r.text == "" and r.meta["failed"] and "500" in r.error for r in failed)
        assert t.cost()["failed"] == 2 and t.cost()["errors"]["500"] == 6
        assert sorted(srv.requests().values()) == [1] * 6 + [3, 3]  # max_attempts each
    entries = read_jsonl(tmp_path / "c.jsonl")
    assert sum(not e["ok"] for e in entries) == 2  # failures are on record
    with FakeOpenAIServer() as srv2:
        t2 = teacher(srv2, tmp_path / "c.jsonl")
        again = t2.generate(probs, "cot", n=2)
        assert sum(srv2.requests().values()) == 2  # only the failed ones
        assert all(r.error is None for r in again) and t2.cost()["cached"] == 6


def test_bad_request_is_not_retried(tmp_path):
    with FakeOpenAIServer(faults=fault_plan([], always=["Ann"], always_kind="400")) as srv:
        got = teacher(srv, None).generate(problems(3), "cot")
    assert all(r.error and "400" in r.error for r in got)
    assert sorted(srv.requests().values()) == [1, 1, 1]


def test_auth_error_aborts_the_run(tmp_path):
    with (FakeOpenAIServer(faults=fault_plan([], always=["Ann"], always_kind="401")) as srv,
          pytest.raises(TeacherError, match="127.0.0.1.*fake-model.*401") as err):
        teacher(srv, None).generate(problems(3), "cot")
    assert srv.url in str(err.value)


def test_concurrency_and_rate_limit(tmp_path):
    with FakeOpenAIServer(latency=0.1) as srv:
        teacher(srv, None, concurrency=3).generate(problems(9), "cot")
        assert srv.max_inflight == 3
    with FakeOpenAIServer() as srv:
        t0 = time.perf_counter()
        teacher(srv, None, concurrency=8, rate_limit=20).generate(problems(30), "cot")
        # aiolimiter: a burst of 20, then 20/s -> 30 requests take >= 0.5 s
        assert time.perf_counter() - t0 >= 0.45


def test_batched_samples_and_key_header(tmp_path):
    with FakeOpenAIServer() as srv:
        t = teacher(srv, tmp_path / "c.jsonl", batch_samples=True)
        got = t.generate(problems(3), "eot", n=3)
        assert len(got) == 9 and len({r.text for r in got}) == 9  # T=0.7: distinct samples
        assert sorted(srv.requests().values()) == [1, 1, 1]  # one n=3 request per problem
        srv.reset_log()
        teacher(srv, tmp_path / "c.jsonl", batch_samples=True).generate(problems(3), "eot", n=3)
        assert srv.log == []


def test_questions_and_feedback(tmp_path):
    probs = problems(3)
    with FakeOpenAIServer() as srv:
        t = teacher(srv, tmp_path / "c.jsonl")
        qs = t.generate_questions(probs, mode="similar")
        assert all(isinstance(q, str) and q.endswith("?") for q in qs)
        wrong = [Rationale(p.id, p.question, p.answer, "cot", "She has 3 apples.") for p in probs]
        fb = t.feedback(probs, wrong)
        assert [r.id for r in fb] == [p.id for p in probs]
        assert all(r.meta["feedback"] and r.meta["wrong"] == "She has 3 apples." for r in fb)
        body = json.dumps(srv.log)  # both kinds went over HTTP, one request each
        assert len(srv.log) == 6, body


def teach_cmd(tmp_path, url, cache, out, problems_path, strategy="cot", n=2):
    cfg = tmp_path / "teacher.yaml"
    cfg.write_text(yaml.safe_dump({"model": "fake-model", "base_url": url, "cache": str(cache),
                                   "concurrency": 2, "temperature": 0.7, "timeout": 5,
                                   "progress": False}))
    return [sys.executable, "-m", "mathdistill", "-q", "teach", "--teacher", "openai",
            "--config", str(cfg), "--strategy", strategy, "--n", str(n),
            "--problems", str(problems_path), "--out", str(out)]


def test_sigkill_midway_then_rerun_repeats_no_successful_call(tmp_path):
    probs = problems(20)
    write_jsonl(tmp_path / "problems.jsonl", probs)
    cache, out = tmp_path / "c.jsonl", tmp_path / "stage" / "raw.jsonl"

    with FakeOpenAIServer(latency=0.05) as srv:
        cmd = teach_cmd(tmp_path, srv.url, cache, out, tmp_path / "problems.jsonl")
        proc = subprocess.Popen(cmd)
        deadline = time.time() + 30
        while time.time() < deadline:
            if cache.exists() and cache.read_bytes().count(b"\n") >= 10:
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL and not out.exists()
        done = set(cache_times(cache))
        assert 10 <= len(done) < 40, len(done)
        t_rerun = time.time()
        assert subprocess.run(cmd, check=False, timeout=60).returncode == 0
        rerun_keys = [k for t_arr, k, _ in srv.log if t_arr >= t_rerun]
        assert not done & set(rerun_keys)  # zero repeated successful calls
        assert len(rerun_keys) == 40 - len(done)  # and only the missing ones, once each
        cost = read_json(out.parent / "cost.json")
        assert cost["cached"] == len(done) and cost["generated"] == 40 - len(done)
        # the killed run's paid calls are on the ledger: all but those in flight (<= 2)
        paid = cost["ledger"]
        assert paid["runs"] == 2 and len(srv.log) - 2 <= paid["requests"] <= len(srv.log)
        assert paid["by_call"]["rationale:cot"]["prompt_tokens"] > cost["prompt_tokens"]
        t_final = time.time()
        assert subprocess.run(cmd, check=False, timeout=60).returncode == 0  # finished stage: no calls
        assert [k for t_arr, k, _ in srv.log if t_arr >= t_final] == []
    killed = read_jsonl(out)
    with FakeOpenAIServer() as clean:
        reference = teacher(clean, tmp_path / "ref.jsonl", concurrency=2).generate(probs, "cot", n=2)
    assert [(r["id"], r["meta"]["sample"], r["text"]) for r in killed] == [
        (r.id, r.meta["sample"], r.text) for r in reference]


def test_cli_teach_with_annotated_answers_then_filter(tmp_path, data_dir):
    from mathdistill.cli import main

    probs_path, out = tmp_path / "gsm8k.jsonl", tmp_path / "t" / "raw.jsonl"
    assert main(["-q", "prepare", "--dataset", "gsm8k", "--split", "train", "--limit", "12",
                 "--out", str(probs_path), "--data-dir", str(data_dir)]) == 0
    probs = read_records(probs_path, Problem)
    with FakeOpenAIServer("annotated", problems=probs) as srv:
        argv = teach_cmd(tmp_path, srv.url, tmp_path / "c.jsonl", out, probs_path, "cot", 1)
        assert main(argv[3:]) == 0
    rows = read_jsonl(out)
    annotated = get_teacher("annotated").generate(probs, "cot")
    assert [r["text"] for r in rows] == [r.text for r in annotated]  # parsed back exactly
    cost = read_json(out.parent / "cost.json")
    assert cost["teacher"] == "openai" and cost["generated"] == 12 and cost["prompt_tokens"] > 0
    kept = tmp_path / "kept.jsonl"
    assert main(["-q", "filter", "--in", str(out), "--out", str(kept)]) == 0
    assert len(read_jsonl(kept)) == 12  # annotated CoT states the gold answer


def test_api_key_from_env_is_sent(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_TEACHER_KEY", "sk-test-123")
    with FakeOpenAIServer(api_key="sk-test-123") as srv:
        got = teacher(srv, None, api_key_env="MY_TEACHER_KEY").generate(problems(2), "cot")
        assert all(r.error is None for r in got)
        with pytest.raises(TeacherError, match="401"):
            teacher(srv, None, api_key="wrong").generate(problems(1), "cot")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(TeacherError, match="no API key"):
        OpenAITeacher("gpt-x", cache=None)
