"""FDD and Tailored Learning in the workflow: dry-run DAG (their rules, round r-1 -> round r
dependencies, no generic train jobs for them, FDD's round 0 copied from potd
by round0_from), config checks, the stages' option parsing, and (slow) a tiny end-to-end run checking every round's files and
statistics, the tables, and which jobs an option change reruns.

Runs in a temporary work copy (test_workflow.work_copy) with tests/configs/iterative.yaml.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import ClassVar

import pytest
import yaml
from test_workflow import (
    REPO,
    check_recorded_imports,
    job_counts,
    recording_imports,
    snakemake,
    work_copy,
)

from mathdistill.io import read_json, read_jsonl
from mathdistill.stages import fdd as fdd_stage
from mathdistill.stages import tailored as tl_stage

CONFIG = REPO / "tests" / "configs" / "iterative.yaml"


def _config(tmp_path, change=None) -> Path:
    cfg = yaml.safe_load(CONFIG.read_text())
    if change:
        change(cfg)
    path = tmp_path / "iterative.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def jobs(out: str) -> list[dict]:
    """The jobs of a dry run: [{"rule", "input": [...], "output": [...]}, ...]."""
    found = []
    for line in out.splitlines():
        if line.startswith("rule ") and line.endswith(":"):
            found.append({"rule": line[5:-1], "input": [], "output": []})
        elif found and line.strip().startswith(("input:", "output:")):
            key, _, files = line.strip().partition(": ")
            found[-1][key] = [f.strip() for f in files.split(",")]
    return found


def job(all_jobs, rule: str, output: str) -> dict:
    hits = [j for j in all_jobs if j["rule"] == rule and output in j["output"]]
    assert len(hits) == 1, f"{rule} -> {output}: {len(hits)} jobs"
    return hits[0]


def dry_run(tmp_path, data_dir, config: Path, *args: str) -> str:
    work = work_copy(tmp_path / "wf", config)
    return snakemake(work, "-n", "--cores", "2", *args, data_dir=data_dir).stdout


# ------------------------------------------------------------------ fast tests
def test_dry_run_dag_of_fdd_and_tailored(tmp_path, data_dir):
    out = dry_run(tmp_path, data_dir, CONFIG)
    counts = job_counts(out)
    # 2 rounds each; FDD builds its data and trains with fdd_train, Tailored with
    # tailored_train, potd with train; FDD's round 0 is potd's (round0_from): copied, not
    # trained or predicted again
    assert {k: counts.get(k, 0) for k in (
        "fdd_exam", "fdd_generate", "fdd_train", "train",
        "tailored_exam", "tailored_feedback", "tailored_train", "predict",
        "reuse_round0", "reuse_predictions")} == {
        "fdd_exam": 1, "fdd_generate": 1, "fdd_train": 1, "train": 1,
        "tailored_exam": 2, "tailored_feedback": 1, "tailored_train": 2, "predict": 4,
        "reuse_round0": 1, "reuse_predictions": 1}
    assert not {"build_round", "siked_round", "fdd_round", "tailored_round",
                "fdd_pool"} & set(counts)
    js = jobs(out)
    fdd, tl = "results/fdd/tiny-t5", "results/tailored/tiny-t5"
    potd = "results/potd/tiny-t5/round0"
    assert {f"{potd}/checkpoint", f"{potd}/train_log.json"} <= set(
        job(js, "reuse_round0", f"{fdd}/round0/checkpoint")["input"])
    reused = job(js, "reuse_predictions", f"{fdd}/round0/predictions")
    assert reused["input"] == [f"{potd}/predictions"]  # the folder: every eval set
    assert f"{fdd}/round0/metrics" in reused["output"]  # scored in the same job
    # a model's metrics come from the job that writes its predictions (no evaluate jobs)
    for j in js:
        preds = [f for f in j["output"] if f.endswith("/predictions")]
        assert [f[:-len("predictions")] + "metrics" for f in preds] == [
            f for f in j["output"] if f.endswith("/metrics")], j["rule"]
    assert not [j for j in js if f"{fdd}/round0/mixed.jsonl" in j["output"]]
    # FDD round 1: the exam is the round-0 student's; S_1 retrains from the base model
    assert f"{fdd}/round0/checkpoint" in job(js, "fdd_exam", f"{fdd}/round1/exam.jsonl")["input"]
    # ... on the pool P_1 the same job draws from D_0's questions
    exam1 = job(js, "fdd_exam", f"{fdd}/round1/exam.jsonl")
    assert f"{fdd}/round1/pool.jsonl" in exam1["output"]
    assert {"results/data/train.jsonl", "results/teacher/annotated/pot/filtered.jsonl"} <= set(
        exam1["input"])
    train1 = job(js, "fdd_train", f"{fdd}/round1/checkpoint")["input"]
    assert "results/students/tiny-t5/base" in train1 and f"{fdd}/round0/checkpoint" not in train1
    pot = "results/teacher/annotated/pot/filtered.jsonl"
    assert {pot, f"{fdd}/round1/programs.jsonl"} <= set(train1)  # D_1 = D_0 ∪ G_1
    assert f"{fdd}/round1/mixed.jsonl" in job(js, "fdd_train", f"{fdd}/round1/checkpoint")[
        "output"]
    gen = job(js, "fdd_generate", f"{fdd}/round1/programs.jsonl")
    assert {f"{fdd}/round1/generated.jsonl", f"{fdd}/round1/fdd_stats.json"} <= set(gen["output"])
    assert pot in gen["input"]  # dedup against D_0
    # Tailored: round 0's exam by the base, round 1's by S_0, which round 1 continues from
    assert "results/students/tiny-t5/base" in job(
        js, "tailored_exam", f"{tl}/round0/exam.jsonl")["input"]
    assert f"{tl}/round0/checkpoint" in job(js, "tailored_exam", f"{tl}/round1/exam.jsonl")["input"]
    assert f"{tl}/round0/checkpoint" in job(js, "tailored_train", f"{tl}/round1/checkpoint")["input"]
    assert f"{tl}/round0/checkpoint" not in job(
        js, "tailored_train", f"{tl}/round0/checkpoint")["input"]
    r1 = set(job(js, "tailored_train", f"{tl}/round1/mixed.jsonl")["input"])
    assert {f"{tl}/round1/feedback.jsonl", f"{tl}/round1/mistakes.json",
            f"{tl}/round1/exam.jsonl", "results/teacher/annotated/l2m/filtered.jsonl"} <= r1
    assert "results/teacher/annotated/cot/filtered.jsonl" not in r1  # new data only
    assert "results/teacher/annotated/cot/filtered.jsonl" in job(
        js, "tailored_train", f"{tl}/round0/mixed.jsonl")["input"]


def test_dry_run_options_init_and_accumulate(tmp_path, data_dir):
    def change(cfg):
        cfg["methods"]["fdd"]["options"]["init"] = "previous"
        cfg["methods"]["fdd"]["rounds"] = 3
        cfg["methods"]["tailored"]["options"].update(init="base", accumulate=True)
        cfg["methods"]["tailored"]["rounds"] = 3

    js = jobs(dry_run(tmp_path, data_dir, _config(tmp_path, change)))
    fdd, tl = "results/fdd/tiny-t5", "results/tailored/tiny-t5"
    assert f"{fdd}/round1/checkpoint" in job(js, "fdd_train", f"{fdd}/round2/checkpoint")["input"]
    pool2 = set(job(js, "fdd_exam", f"{fdd}/round2/pool.jsonl")["input"])
    assert {f"{fdd}/round1/{f}" for f in ("pool.jsonl", "exam.jsonl", "generated.jsonl")} <= pool2
    assert {f"{fdd}/round{r}/programs.jsonl" for r in (1, 2)} <= set(
        job(js, "fdd_train", f"{fdd}/round2/mixed.jsonl")["input"])
    assert f"{tl}/round1/checkpoint" not in job(
        js, "tailored_train", f"{tl}/round2/checkpoint")["input"]
    assert {f"{tl}/round1/feedback.jsonl", f"{tl}/round2/feedback.jsonl",
            "results/teacher/annotated/cot/filtered.jsonl"} <= set(
        job(js, "tailored_train", f"{tl}/round2/mixed.jsonl")["input"])


def test_dry_run_fdd_round0_own_or_reused(tmp_path, data_dir):
    """Without round0_from FDD trains and predicts its own round 0 (on D_0 only); with it,
    each seed's run copies the potd run of its seed, and the predictions only while the
    generation settings match."""
    def own(cfg):
        cfg["methods"]["fdd"].pop("round0_from")

    js = jobs(dry_run(tmp_path / "own", data_dir, _config(tmp_path, own)))
    fdd, pot = "results/fdd/tiny-t5", "results/teacher/annotated/pot/filtered.jsonl"
    assert f"{fdd}/round0/mixed.jsonl" in job(js, "fdd_train", f"{fdd}/round0/checkpoint")[
        "output"]
    mixed0 = job(js, "fdd_train", f"{fdd}/round0/mixed.jsonl")["input"]
    assert pot in mixed0 and f"{fdd}/round1/programs.jsonl" not in mixed0
    job(js, "predict", f"{fdd}/round0/predictions")
    assert not [j for j in js if j["rule"].startswith("reuse_")]

    def seeds(cfg):
        cfg["seeds"] = [0, 1]
        cfg["methods"]["fdd"]["generation"] = {"max_new_tokens": 40}

    js = jobs(dry_run(tmp_path / "seeds", data_dir, _config(tmp_path, seeds)))
    for run, src in (("fdd", "potd"), ("fdd-s1", "potd-s1")):
        reuse = job(js, "reuse_round0", f"results/{run}/tiny-t5/round0/checkpoint")
        assert f"results/{src}/tiny-t5/round0/checkpoint" in reuse["input"]
        # other generation settings: the copied student predicts again
        job(js, "predict", f"results/{run}/tiny-t5/round0/predictions")
    assert not [j for j in js if j["rule"] == "reuse_predictions"]


def _two_strategies(cfg):
    cfg["methods"]["fdd"].pop("round0_from")  # (else: round0_from's strategy check first)
    cfg["methods"]["fdd"]["strategies"] = ["pot", "cot"]


def _second_student(cfg):
    cfg["students"]["tiny-t5b"] = cfg["students"]["tiny-t5"]
    cfg["methods"]["potd"]["students"] = ["tiny-t5"]


@pytest.mark.parametrize("change, message", [
    (lambda c: c["methods"]["fdd"].update(round0_from="tailored"),
     "methods.fdd.round0_from: 'tailored': needs a single method"),
    (lambda c: c["methods"]["potd"].update(strategies=["cot"]), "methods.fdd.round0_from"),
    (lambda c: c["methods"]["fdd"].update(round0_from="nosuch"), "methods.fdd.round0_from"),
    (lambda c: c["methods"]["tailored"].update(round0_from="potd"),
     "methods.tailored.round0_from"),
    (lambda c: c["methods"]["fdd"].update(seeds=[0, 1]), "does not run with seed 1"),
    (_second_student, "no run of student(s) ['tiny-t5b']"),
    (lambda c: c["methods"]["fdd"]["options"].update(pool_limt=3),
     "methods.fdd.options.pool_limt: unknown key"),
    (lambda c: c["methods"]["tailored"]["options"].update(rounds=3),
     "methods.tailored.options.rounds: unknown key"),
    (_two_strategies, "methods.fdd.strategies: ['pot', 'cot'] is too long (one strategy)"),
    (lambda c: c["methods"]["tailored"]["options"].update(init="best"),
     "methods.tailored.options.init: 'best' is not one of ['base', 'previous']"),
    (lambda c: c["methods"]["tailored"]["options"].update(positive_strategies=["l2n"]),
     "methods.tailored.options.positive_strategies[0]: 'l2n' is not one of"),
])
def test_bad_method_config_stops_the_dry_run(tmp_path, data_dir, change, message):
    work = work_copy(tmp_path / "wf", _config(tmp_path, change))
    proc = snakemake(work, "-n", data_dir=data_dir, check=False)
    assert proc.returncode != 0 and message in proc.stdout + proc.stderr


def test_stage_options():
    opts = fdd_stage.parse_options({"pool_limit": 5, "k": 2})
    assert opts["pool_limit"] == 5 and opts["k"] == 2 and opts["rouge_threshold"] == 0.7
    with pytest.raises(ValueError, match="methods.<name>.rounds"):
        fdd_stage.parse_options({"rounds": 2})
    with pytest.raises(ValueError, match="unknown"):
        tl_stage.parse_options({"lamda": 0.5})
    opts = tl_stage.parse_options({"exam": {"num_samples": 2}})
    assert (opts["lambda"], opts["margin"], opts["max_sr_len"]) == (0.5, 1.0, 192)
    gen = tl_stage.exam_generation({"batch_size": 8, "do_sample": False}, opts, seed=3)
    assert gen == {"batch_size": 8, "do_sample": True, "num_samples": 2, "temperature": 1.0,
                   "top_k": 50, "max_new_tokens": 128, "seed": 3}


class TextTeacher:
    """A teacher like the LLM backends: new questions as text, k programs per question."""

    name = "fake"
    programs: ClassVar[dict[str, list[str]]] = {"Q-a": ["answer = 7", "x = 3 + 4\nanswer = x", "answer = 14 / 2", "answer = 8"],
                "Q-b": ["answer = 1", "answer = 2", "answer = 1", "answer = 2"],
                "Q-c": ["answer = 5", "answer = 5", "answer = 5", "answer = 5"]}

    def generate_questions(self, problems, mode="harder"):
        return [{"p1": "Q-a", "p2": "Q-b", "p3": "Q-c"}[p.id] for p in problems]

    def generate(self, problems, strategy, n=1):
        from mathdistill.records import Rationale

        return [Rationale(id=p.id, question=p.question, answer=p.answer, strategy=strategy,
                          text=t) for p in problems for t in self.programs[p.question][:n]]


def test_fdd_generate_labels_text_questions_by_majority(tmp_path, monkeypatch):
    """A real teacher's questions have no answer: only majority-labelled ones are written."""
    from mathdistill.io import write_jsonl
    from mathdistill.records import Prediction, Problem, Rationale

    monkeypatch.setattr("mathdistill.teachers.get_teacher", lambda name, **kw: TextTeacher())
    pool = [Problem(f"p{i}", "t", f"Question number {i} about apples?", 1.0) for i in (1, 2, 3)]
    write_jsonl(tmp_path / "pool.jsonl", pool)
    write_jsonl(tmp_path / "exam.jsonl", [
        Prediction(p.id, "t", "pot", "answer = 1", 1.0, p.id == "p1") for p in pool])
    write_jsonl(tmp_path / "d0.jsonl", [Rationale("d", "Q-c", 5.0, "pot", "answer = 5")])
    out = {k: tmp_path / f"{k}.out" for k in ("generated", "programs", "stats")}
    stats = fdd_stage.generate(tmp_path / "pool.jsonl", tmp_path / "exam.jsonl",
                               [tmp_path / "d0.jsonl"], out["generated"], out["programs"],
                               out["stats"], teacher="fake", round=1)
    # p1 easy -> harder "Q-a" (3 of 4 programs agree on 7); p2 hard -> "Q-b" (2 vs 2: no
    # majority); p3 -> "Q-c" is a copy of a D_0 question (ROUGE-L 1.0): deduped
    generated = read_jsonl(out["generated"])
    assert [(g["id"], g["question"], g["answer"]) for g in generated] == [
        ("p1/fdd1-harder", "Q-a", 7.0)]
    programs = read_jsonl(out["programs"])
    assert len(programs) == 3 and {p["answer"] for p in programs} == {7.0}
    assert (stats["easy"], stats["hard"], stats["deduped"]) == (1, 2, 1)
    assert stats["labels"]["no_majority"] == 1 and stats["labels"]["accepted"] == 1
    assert read_json(out["stats"])["generated"] == 1


def test_training_table_shows_the_self_reflection_loss():
    from mathdistill.report import training_table

    base = {"student": "s", "seed": 0, "final_loss": 1.0}
    logs = [{**base, "method": "cotd", "round": 0},
            {**base, "method": "tailored", "round": 0, "sr_losses": [0.4, None, 0.3]},
            {**base, "method": "tailored", "round": 1, "sr_losses": [None]}]
    df = training_table(logs)
    assert list(df["final_sr_loss"].isna()) == [True, False, True]
    assert df.loc[1, "final_sr_loss"] == 0.3
    assert "final_sr_loss" not in training_table(logs[:1]).columns


# ------------------------------------------------------------------ slow: a real run
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_tiny_end_to_end_rounds(tmp_path, data_dir):
    cfg = yaml.safe_load(CONFIG.read_text())
    work = work_copy(tmp_path / "wf", CONFIG)
    snakemake(work, "--cores", "2", data_dir=data_dir, env=recording_imports(tmp_path))
    scripts = check_recorded_imports(work, tmp_path / "imports", {"teacher": "annotated"})
    assert {"fdd_exam", "fdd_generate", "fdd_train", "tailored_exam",
            "tailored_feedback", "tailored_train", "reuse_round0",
            "reuse_predictions", "predict"} <= scripts
    res = work / "results"
    fdd, tl = res / "fdd" / "tiny-t5", res / "tailored" / "tiny-t5"
    for method, r in [("potd", 0), ("fdd", 0), ("fdd", 1), ("tailored", 0), ("tailored", 1)]:
        d = res / method / "tiny-t5" / f"round{r}"
        assert (d / "checkpoint" / "config.json").is_file()
        assert (d / "mixed.jsonl").is_file() == ((method, r) != ("fdd", 0))  # fdd 0: copied
        assert (d / "predictions" / "synthetic.jsonl").is_file()
        assert read_json(d / "metrics" / "synthetic.json")["n"] == 16
        assert read_json(d / "train_log.json")["round"] == r

    # ---- FDD round 0 = the potd run (round0_from): checkpoint and predictions copied
    potd0, fdd0 = res / "potd" / "tiny-t5" / "round0", fdd / "round0"
    log0 = read_json(fdd0 / "train_log.json")
    assert (log0["reused_from"], log0["method"], log0["round"]) == ("potd", "fdd", 0)
    assert log0["losses"] == read_json(potd0 / "train_log.json")["losses"]
    for f in ("predictions/synthetic.jsonl", "checkpoint/config.json"):
        assert (fdd0 / f).read_bytes() == (potd0 / f).read_bytes()
    # the copied predictions' metrics: potd's numbers, the fdd run's meta
    m_fdd, m_potd = (read_json(d / "metrics" / "synthetic.json") for d in (fdd0, potd0))
    meta = ("method", "run", "seed", "student", "round", "dataset")
    assert [m_fdd[k] for k in meta] == ["fdd", "fdd", 0, "tiny-t5", 0, "synthetic"]
    assert {k: v for k, v in m_fdd.items() if k not in meta} == \
        {k: v for k, v in m_potd.items() if k not in meta}

    # ---- FDD round 1: pool -> exam -> easy/hard -> generated (labelled) -> D_1
    pool = read_jsonl(fdd / "round1" / "pool.jsonl")
    exam = read_jsonl(fdd / "round1" / "exam.jsonl")
    assert len(pool) == cfg["methods"]["fdd"]["options"]["pool_limit"]
    assert [e["id"] for e in exam] == [p["id"] for p in pool]
    stats = read_json(fdd / "round1" / "fdd_stats.json")
    assert stats["easy"] + stats["hard"] == len(pool) == stats["pool"]
    assert stats["easy"] == sum(e["correct"] for e in exam)
    assert stats["candidates"] == stats["deduped"] + stats["after_dedup"] > 0
    generated = read_jsonl(fdd / "round1" / "generated.jsonl")
    programs = read_jsonl(fdd / "round1" / "programs.jsonl")
    assert len(generated) == stats["generated"] == stats["labels"]["accepted"] > 0
    assert all(isinstance(g["answer"], float) and "/fdd1-" in g["id"] for g in generated)
    assert {p["id"] for p in programs} == {g["id"] for g in generated}
    d0 = read_jsonl(res / "teacher" / "annotated" / "pot" / "filtered.jsonl")
    # S_0 (potd) trained on D_0; D_1 = D_0 ∪ G_1
    mixed0, mixed1 = read_jsonl(potd0 / "mixed.jsonl"), read_jsonl(fdd / "round1" / "mixed.jsonl")
    assert len(mixed0) == len(d0) and len(mixed1) == len(d0) + len(programs)

    # ---- Tailored: exam (K samples), mistakes, feedback, triplet pools, reflection loss
    k = cfg["methods"]["tailored"]["options"]["exam"]["num_samples"]
    n_exam = cfg["methods"]["tailored"]["options"]["exam_limit"]
    for r in (0, 1):
        d = tl / f"round{r}"
        samples = read_jsonl(d / "exam.jsonl")
        mistakes = read_json(d / "mistakes.json")
        assert len(samples) == n_exam * k and all(s["source"] == "student" for s in samples)
        wrong = {s["id"] for s in samples if not s["correct"] and s["text"].strip()}
        assert set(mistakes) == wrong
        stats = read_json(d / "tailored_stats.json")
        assert stats["exam"]["questions_with_mistakes"] == len(mistakes)
        assert stats["data"]["with_triplet"] > 0
        examples = read_jsonl(d / "mixed.jsonl")
        assert all({"positives", "negatives"} <= set(ex) for ex in examples)
        assert stats["data"]["examples"] == len(examples)
    feedback = read_jsonl(tl / "round1" / "feedback.jsonl")
    mistakes1 = read_json(tl / "round1" / "mistakes.json")
    assert len(feedback) == sum(min(4, len(v)) for v in mistakes1.values())
    assert {ex["id"] for ex in read_jsonl(tl / "round1" / "mixed.jsonl")} == set(mistakes1)
    logs = [read_json(tl / f"round{r}" / "train_log.json") for r in (0, 1)]
    assert logs[0]["resume_from"] is None
    assert logs[1]["resume_from"].endswith("tailored/tiny-t5/round0/checkpoint")
    assert all(len(log["sr_losses"]) == len(log["losses"]) > 0 for log in logs)
    assert any(x > 0 for log in logs for x in log["sr_losses"])
    assert logs[0]["reflection"] == {"margin": 1.0, "lam": 0.5, "max_sr_len": 192,
                                     "prompt_loss_weight": 0.0, "prefix_cache": True,
                                     "unique_questions": False, "seed": 0}

    # ---- tables: one row per method x round; plots
    with open(res / "tables" / "accuracy.csv", encoding="utf-8") as f:
        rows = {(row["method"], row["round"]) for row in csv.DictReader(f)}
    assert {("fdd", "0"), ("fdd", "1"), ("tailored", "0"), ("tailored", "1")} <= rows
    assert (res / "plots" / "accuracy.png").is_file()

    # ---- reruns: nothing to do; an FDD generation option reruns FDD round 1 only
    assert "Nothing to be done" in snakemake(work, "-n", data_dir=data_dir).stdout
    cfg["methods"]["fdd"]["options"]["rouge_threshold"] = 0.9
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(cfg))
    out = snakemake(work, "-n", data_dir=data_dir).stdout
    rerun = {(j["rule"], o) for j in jobs(out) for o in j["output"]}
    assert ("fdd_generate", "results/fdd/tiny-t5/round1/programs.jsonl") in rerun
    assert not [o for _, o in rerun if o.startswith("results/tailored/") or "/round0/" in o]
    # a Tailored loss option reruns Tailored's training (and what depends on it) only
    cfg["methods"]["fdd"]["options"].pop("rouge_threshold")
    cfg["methods"]["tailored"]["options"]["margin"] = 0.5
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(cfg))
    out = snakemake(work, "-n", data_dir=data_dir).stdout
    counts = job_counts(out)
    assert counts["tailored_train"] == 2 and "fdd_generate" not in counts
    assert counts["tailored_exam"] == 1  # round 1's: S_0 changes; round 0's exam does not


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_tiny_fewshot_tailored_end_to_end(tmp_path, data_dir):
    """Tailored Learning as published, wired: the few-shot prompt in the exam, the round's
    examples and the predictions (rule tailored_predict), the untrained student's
    "pretrained" round with the string-equality score, in the tables."""
    def change(cfg):
        cfg["methods"] = {"tailored_fs": {
            "type": "tailored", "strategies": ["cot"], "rounds": 1,
            "options": {"prompt": "fewshot", "exam_limit": 8, "unique_questions": True,
                        "positives_from_exam": True, "positive_strategies": ["l2m"],
                        "exam": {"num_samples": 2, "max_new_tokens": 24}}}}

    config = _config(tmp_path, change)
    work = work_copy(tmp_path / "wf", config)
    snakemake(work, "--cores", "2", data_dir=data_dir)
    res = work / "results" / "tailored_fs" / "tiny-t5"
    examples = read_jsonl(res / "round0" / "mixed.jsonl")
    assert examples and all(ex["prompt"].count("Question:") == 4 and
                            ex["prompt"].endswith("Reasoning:") for ex in examples)  # 3 demos
    assert all(ex["target"].startswith(" ") and "\nAnswer: " in ex["target"] for ex in examples)
    log = read_json(res / "round0" / "train_log.json")
    assert log["reflection"]["unique_questions"] is True
    for where, rnd in (("round0", 0), ("pretrained", "pretrained")):
        preds = read_jsonl(res / where / "predictions" / "synthetic.jsonl")
        assert len(preds) == 16 and all(p["meta"]["fewshot"] for p in preds)
        assert {p["meta"]["round"] for p in preds} == {rnd}
        assert all("string_correct" in p["meta"] for p in preds)
        metrics = read_json(res / where / "metrics" / "synthetic.json")
        assert metrics["round"] == rnd and metrics["n"] == 16
        assert metrics["string_match"]["n"] == 16
    assert read_jsonl(res / "round0" / "predictions" / "synthetic.jsonl")[0]["meta"][
        "task"] == "gsm8k"  # synthetic problems take GSM8K's demos
    with open(work / "results" / "tables" / "accuracy.csv", encoding="utf-8") as f:
        rows = [(r["method"], r["round"]) for r in csv.DictReader(f)]
    assert rows == [("tailored_fs", "pretrained"), ("tailored_fs", "0")]
    strategies = (work / "results" / "tables" / "strategies.md").read_text()
    assert "string_match" in strategies
    logs = work / "results" / "logs"
    assert (logs / "tailored_predict" / "tailored_fs" / "tiny-t5" / "round0.log"
            ).is_file() and not (logs / "predict" / "tailored_fs").exists()
