"""Teacher jobs fail loudly and fast (issue 13), against the fake server on 127.0.0.1:
permanent failures exit non-zero and the rerun asks only the failed keys, a dead or
misconfigured endpoint aborts at once, batch_samples survives a server that ignores n,
every response is on the ledger, and FDD/Tailored teacher calls fail the same way."""

import logging
import socket
import time

import pytest

from mathdistill.cli import main
from mathdistill.io import read_json, read_jsonl, write_json, write_jsonl
from mathdistill.records import Prediction, Problem
from mathdistill.teachers.backend import TeacherAbort
from mathdistill.teachers.fake_server import FakeOpenAIServer, fault_plan
from mathdistill.teachers.job import TeacherFailed, TeacherJob
from mathdistill.teachers.ledger import CostLedger, ledger_path
from mathdistill.teachers.openai_backend import OpenAITeacher, error_kind

pytestmark = pytest.mark.timeout(90)

FAST = {"timeout": 2, "backoff_initial": 0.02, "backoff_max": 0.1, "progress": False,
        "temperature": 0.7, "concurrency": 4}


def problems(k):
    return [Problem(id=f"f/{i}", dataset="f", answer=float(i + 4),
                    question=f"Bo has {i} cups and buys 4 more. How many cups now?")
            for i in range(k)]


def options(url, cache, **kw):
    return {"model": "fake-model", "base_url": url, "cache": str(cache), **FAST, **kw}


def teach(tmp_path, url, *, n=2, k=6, **kw):
    """`mathdistill teach` in-process -> (exit code, out path)."""
    write_jsonl(tmp_path / "p.jsonl", problems(k))
    cfg = tmp_path / "teacher.yaml"
    import yaml

    cfg.write_text(yaml.safe_dump(options(url, tmp_path / "cache.jsonl", **kw)))
    out = tmp_path / "t" / "raw.jsonl"
    rc = main(["-q", "teach", "--teacher", "openai", "--config", str(cfg), "--strategy", "cot",
               "--n", str(n), "--problems", str(tmp_path / "p.jsonl"), "--out", str(out)])
    return rc, out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_permanent_failures_exit_nonzero_then_rerun_asks_only_them(tmp_path, capsys):
    bad = problems(6)[2].question
    faults = fault_plan([], always=[bad], always_kind="500")
    with FakeOpenAIServer(faults=faults) as srv:
        rc, out = teach(tmp_path, srv.url, max_attempts=3)
        err = capsys.readouterr().err
        assert rc == 2 and not out.exists()  # nothing half-done is left as the output
        for part in (srv.url, "'fake-model'", "2 of 12 completions failed", "500: 2",
                     "max_failed_fraction"):
            assert part in err, err
        assert sum(srv.requests().values()) == 10 + 2 * 3  # 2 keys x max_attempts
        cost = read_json(out.parent / "cost.json")
        assert cost["status"] == "failed" and cost["failed_by_kind"] == {"500": 2}
        assert cost["ledger"]["requests"] == 16 and cost["ledger"]["errors"] == {"500": 6}
    cached = {e["key"] for e in read_jsonl(tmp_path / "cache.jsonl") if e["ok"]}
    assert len(cached) == 10  # every success is in the cache
    with FakeOpenAIServer() as clean:
        rc, out = teach(tmp_path, clean.url)
        assert rc == 0 and len(read_jsonl(out)) == 12
        asked = set(clean.requests())
        assert len(asked) == 2 and not asked & cached  # only the failed keys
    cost = read_json(out.parent / "cost.json")
    assert cost["status"] == "ok" and (cost["cached"], cost["generated"]) == (10, 2)
    assert cost["ledger"]["runs"] == 2 and cost["ledger"]["requests"] == 18


def test_max_failed_fraction_accepts_losses_and_records_them(tmp_path, capsys):
    bad = problems(6)[0].question
    with FakeOpenAIServer(faults=fault_plan([], always=[bad], always_kind="400")) as srv:
        rc, out = teach(tmp_path, srv.url, max_failed_fraction=0.2)
        assert rc == 0, capsys.readouterr().err
    rows = read_jsonl(out)
    assert len(rows) == 12 and sum(bool(r["error"]) for r in rows) == 2
    cost = read_json(out.parent / "cost.json")
    assert (cost["failed"], cost["max_failed_fraction"]) == (2, 0.2)
    assert cost["failed_fraction"] == pytest.approx(2 / 12)
    with pytest.raises(ValueError, match="max_failed_fraction"):
        TeacherJob("openai", options(srv.url, tmp_path / "c", max_failed_fraction=2))


@pytest.mark.parametrize("concurrency", [8, 1])
def test_dead_server_aborts_fast_naming_the_url(tmp_path, capsys, concurrency):
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    t0 = time.perf_counter()
    rc, out = teach(tmp_path, url, k=20, concurrency=concurrency, backoff_initial=0.05)
    took = time.perf_counter() - t0
    err = capsys.readouterr().err
    assert rc == 2 and not out.exists() and took < 60
    assert url in err and "connection failures in a row" in err and "aborted" in err
    cost = read_json(out.parent / "cost.json")
    assert cost["status"] == "aborted" and set(cost["ledger"]["errors"]) == {"connection"}
    assert 5 <= cost["ledger"]["requests"] < 5 + concurrency  # the default 5, + in flight


def test_unanswered_connects_abort_fast(tmp_path, capsys):
    """A blackholed address: the listen queue is full, connects time out (connect_timeout)."""
    with socket.socket() as srv, socket.socket() as filler:
        srv.bind(("127.0.0.1", 0))
        srv.listen(0)
        filler.connect(srv.getsockname())  # takes the one queue slot; nothing is accepted
        url = f"http://127.0.0.1:{srv.getsockname()[1]}/v1"
        t0 = time.perf_counter()
        rc, _ = teach(tmp_path, url, k=10, connect_timeout=0.3)
        took = time.perf_counter() - t0
    err = capsys.readouterr().err
    assert rc == 2 and "connection failures in a row" in err and url in err and took < 30


def test_auth_failure_aborts_at_once(tmp_path, capsys):
    with FakeOpenAIServer(api_key="right") as srv:
        rc, _ = teach(tmp_path, srv.url, api_key="wrong", k=20)
        assert rc == 2 and sum(srv.requests().values()) == 0  # 401 before it counts a key
    err = capsys.readouterr().err
    assert srv.url in err and "401" in err.replace(srv.url, "") and "api_key" in err


def test_a_run_of_failed_requests_aborts(tmp_path, capsys):
    with FakeOpenAIServer(faults=fault_plan([], always=["cups"], always_kind="500")) as srv:
        rc, _ = teach(tmp_path, srv.url, k=20, max_attempts=2, max_failed_streak=4,
                      concurrency=1)
        assert rc == 2 and sum(srv.requests().values()) == 4 * 2
    assert "4 requests in a row failed" in capsys.readouterr().err


def test_connect_timeout_counts_as_a_connection_failure():
    import openai

    class ConnectTimeout(Exception):  # httpx's name; the SDK raises APITimeoutError from it
        pass

    e = openai.APITimeoutError(request=None)
    assert error_kind(e) == "timeout"
    e.__cause__ = ConnectTimeout()
    assert error_kind(e) == "connection"


def test_batch_samples_against_a_server_that_ignores_n(tmp_path, caplog):
    probs = problems(5)
    with FakeOpenAIServer() as ref_srv:
        ref = OpenAITeacher(**options(ref_srv.url, tmp_path / "ref.jsonl")).generate(
            probs, "pot", n=3)
    with FakeOpenAIServer(ignore_n=True) as srv, caplog.at_level(logging.WARNING):
        t = OpenAITeacher(**options(srv.url, tmp_path / "c.jsonl", batch_samples=True,
                                    concurrency=2))
        got = t.generate(probs, "pot", n=3)
        assert [(r.id, r.text, r.error) for r in got] == [(r.id, r.text, r.error) for r in ref]
        assert caplog.text.count("ignores n") == 1 and "malformed" not in caplog.text
        assert sum(srv.requests().values()) == 15  # = problems x n: the lone choice is sample 0
        cost = t.cost()
        assert cost["failed"] == 0 and cost["errors"] == {} and cost["short"] >= 1
        assert cost["requests"] == 15 and cost["prompt_tokens"] > 0
        assert len(t.ledger.lines()) == 15  # every response counted, the short ones too
        srv.reset_log()
        again = OpenAITeacher(**options(srv.url, tmp_path / "c.jsonl", batch_samples=True))
        assert [r.text for r in again.generate(probs, "pot", n=3)] == [r.text for r in got]
        assert srv.log == []  # per-sample answers serve the batched rerun


def test_ledger_sums_every_run_and_survives_reopening(tmp_path):
    path = ledger_path(tmp_path / "cost.json")
    assert path.endswith("cost.ledger.jsonl")
    a = CostLedger(path, label="teach cot")
    a.record("rationale:cot", "k1", "ok", {"prompt_tokens": 10, "completion_tokens": 3})
    a.record("rationale:cot", "k2", "500")
    b = CostLedger(path, label="teach cot")  # the rerun of a killed job
    b.record("rationale:cot", "k2", "short", {"prompt_tokens": 10, "completion_tokens": 2})
    tot = b.totals()
    assert (tot["runs"], tot["requests"], tot["short"], tot["prompt_tokens"]) == (2, 3, 1, 20)
    assert tot["errors"] == {"500": 1} and tot["by_call"]["rationale:cot"]["requests"] == 3


def fdd_inputs(tmp_path):
    pool = problems(4)
    write_jsonl(tmp_path / "pool.jsonl", pool)
    write_jsonl(tmp_path / "exam.jsonl", [Prediction(p.id, "f", "pot", "answer = 1", 1.0,
                                                     i % 2 == 0) for i, p in enumerate(pool)])
    write_jsonl(tmp_path / "d0.jsonl", [])
    return [tmp_path / f for f in ("pool.jsonl", "exam.jsonl")], [tmp_path / "d0.jsonl"]


def test_fdd_question_generation_failures_fail_the_job(tmp_path):
    from mathdistill.stages import fdd

    ins, prev = fdd_inputs(tmp_path)
    outs = [tmp_path / "r1" / f for f in ("generated.jsonl", "programs.jsonl", "stats.json")]
    bad = problems(4)[1].question  # a hard seed: its "similar" question request fails
    kw = {"teacher": "openai", "round": 1, "options": {"k": 2, "min_agree": 1}}
    srv = FakeOpenAIServer(faults=fault_plan([], always=[bad], always_kind="400"))
    with srv, pytest.raises(TeacherFailed, match=f"{srv.url}.*model 'fake-model'") as e:
        fdd.generate(*ins, prev, *outs, teacher_options=options(srv.url, tmp_path / "c"), **kw)
    assert "400: 1" in str(e.value) and not any(p.exists() for p in outs)
    cost = read_json(tmp_path / "r1" / "teacher_cost.json")
    assert cost["calls"]["question:similar"]["failed"] == 1 and cost["status"] == "failed"
    with FakeOpenAIServer() as clean:
        stats = fdd.generate(*ins, prev, *outs, teacher_options=options(clean.url,
                                                                        tmp_path / "c"), **kw)
        questions = [k for _, k, _ in clean.log]
    assert stats["teacher"]["failed"] == 0 and stats["teacher"]["max_failed_fraction"] == 0
    cost = read_json(tmp_path / "r1" / "teacher_cost.json")
    assert cost["calls"]["question:similar"]["generated"] == 1  # the failed one, asked again
    assert cost["calls"]["question:harder"]["generated"] == 0
    assert len(questions) == 1 + cost["calls"]["rationale:pot"]["generated"]


def test_tailored_feedback_failures_fail_the_job(tmp_path):
    from mathdistill.stages import tailored

    probs = problems(3)
    write_jsonl(tmp_path / "train.jsonl", probs)
    write_json(tmp_path / "mistakes.json", {p.id: ["She has 3 cups."] for p in probs})
    out = tmp_path / "r1" / "feedback.jsonl"
    bad = probs[2].question
    srv = FakeOpenAIServer(faults=fault_plan([], always=[bad], always_kind="500"))
    with srv, pytest.raises(TeacherFailed, match="500: 1"):
        tailored.feedback(tmp_path / "train.jsonl", tmp_path / "mistakes.json", out,
                          teacher="openai",
                          teacher_options=options(srv.url, tmp_path / "c", max_attempts=2))
    assert not out.exists()
    with FakeOpenAIServer() as clean:
        n = tailored.feedback(tmp_path / "train.jsonl", tmp_path / "mistakes.json", out,
                              teacher="openai", teacher_options=options(clean.url, tmp_path / "c"))
        assert n == 3 and sum(clean.requests().values()) == 1
    cost = read_json(out.parent / "teacher_cost.json")
    assert cost["calls"]["feedback"]["cached"] == 2 and cost["ledger"]["runs"] == 2


def test_abort_is_a_teacher_error_the_job_turns_into_a_summary(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(TeacherAbort):
        OpenAITeacher(**options(url, tmp_path / "c")).generate(problems(2), "cot")
