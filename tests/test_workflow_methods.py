"""Multi-strategy methods in the workflow: ETD (+ Table 3 unions), Combined, SIKeD.

Fast: the default config's DAG (rules and per-round dependencies), config errors, the
predict/mix/metrics/report/plot functions on hand-made inputs. Slow: forced output prefixes
in `students.generate` (trains two tiny models), and a tiny end-to-end run of
tests/configs/methods.yaml in a temporary work copy (per-round outputs, queried_as,
fallbacks, strategy shares, alpha, on/off-policy training, plots).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from test_workflow import (
    check_recorded_imports,
    job_counts,
    recording_imports,
    snakemake,
    work_copy,
)

from mathdistill.io import read_json, read_jsonl, write_jsonl
from mathdistill.records import Problem, Rationale

REPO = Path(__file__).resolve().parents[1]
METHODS_CFG = REPO / "tests" / "configs" / "methods.yaml"


def dry_jobs(output: str) -> list[dict]:
    """Jobs of a dry run: [{"rule", "input": [...], "output": [...], "wildcards": {...}}]."""
    jobs, job = [], None
    for line in output.splitlines():
        m = re.match(r"^(?:local)?rule (\S+):$", line)
        if m:
            job = {"rule": m.group(1), "input": [], "output": [], "wildcards": {}}
            jobs.append(job)
            continue
        m = re.match(r"^    (input|output|wildcards): (.*)$", line)
        if job is not None and m:
            if m.group(1) == "wildcards":
                job["wildcards"] = dict(kv.split("=", 1) for kv in m.group(2).split(", "))
            else:
                job[m.group(1)] = m.group(2).split(", ")
    return jobs


def find(jobs, rule, **wildcards) -> dict:
    hits = [j for j in jobs if j["rule"] == rule
            and all(j["wildcards"].get(k) == str(v) for k, v in wildcards.items())]
    assert len(hits) == 1, (rule, wildcards, len(hits))
    return hits[0]


# ------------------------------------------------------------------ fast: DAG
@pytest.fixture(scope="module")
def default_dag(tmp_path_factory, data_dir):
    work = work_copy(tmp_path_factory.mktemp("dag") / "wf")
    out = snakemake(work, "-n", "--cores", "2", data_dir=data_dir).stdout
    return {"out": out, "jobs": dry_jobs(out),
            "cfg": yaml.safe_load((REPO / "config" / "config.yaml").read_text())}


def test_default_config_runs_every_multi_strategy_method(default_dag):
    cfg, counts = default_dag["cfg"], job_counts(default_dag["out"])
    types = {m: c["type"] for m, c in cfg["methods"].items()}
    assert {"etd", "combined", "siked"} <= set(types.values())
    multi = [m for m, t in types.items() if t in ("etd", "combined", "siked")]
    runs = sum(cfg["methods"][m].get("rounds", 1) for m in multi)
    reused = [j for j in default_dag["jobs"]  # (round0_from; FDD's reuse is not multi)
              if j["rule"] == "reuse_predictions" and j["wildcards"]["method"] in multi]
    assert counts["predict_multi"] + len(reused) == runs  # one job per model: every eval set
    siked = [m for m in multi if types[m] == "siked"]
    assert counts["siked_generate"] == sum(cfg["methods"][m]["rounds"] - 1 for m in siked)
    # each round builds its mix and trains in one job; a copied round 0 (round0_from) neither
    assert counts["siked_train"] == sum(cfg["methods"][m]["rounds"]
                                        - bool(cfg["methods"][m].get("round0_from"))
                                        for m in siked)
    assert counts["plots"] == 1


def test_default_dag_round_dependencies(default_dag):
    jobs, cfg = default_dag["jobs"], default_dag["cfg"]
    siked = [m for m, c in cfg["methods"].items() if c["type"] == "siked"]
    assert siked
    for m in siked:
        c = cfg["methods"][m]
        on = (c.get("options") or {}).get("policy", "on") == "on"
        for r in range(1, c["rounds"]):
            prev = f"results/{m}/tiny-t5/round{r - 1}/checkpoint"
            gen = find(jobs, "siked_generate", method=m, round=r)
            assert prev in gen["input"] and "results/data/train.jsonl" in gen["input"]
            assert gen["output"] == [f"results/{m}/tiny-t5/round{r}/self_samples.jsonl"]
            train = find(jobs, "siked_train", method=m, round=r)  # the mix, then training
            assert f"results/{m}/tiny-t5/round{r}/self_samples.jsonl" in train["input"]
            assert {f"results/{m}/tiny-t5/round{r}/{f}" for f in (
                "mixed.jsonl", "mix_stats.json", "checkpoint")} <= set(train["output"])
            assert (prev in train["input"]) == on  # on-policy: resume_from round r-1
        if c.get("round0_from"):  # round 0 = the Combined run's checkpoint, not retrained
            reuse = find(jobs, "reuse_round0", method=m, round=0)
            assert f"results/{c['round0_from']}/tiny-t5/round0/checkpoint" in reuse["input"]
            assert not [j for j in jobs if j["rule"] in ("train", "siked_train")
                        and j["wildcards"].get("method") == m and j["wildcards"]["round"] == "0"]
    etd = [m for m, c in cfg["methods"].items() if c["type"] == "etd"]
    for m in etd:
        pred = find(jobs, "predict_multi", method=m, round=0)  # one job: every eval set
        assert f"results/{m}/tiny-t5/round0/checkpoint" in pred["input"]
        assert {f"results/data/{d}.jsonl" for d in cfg["eval_sets"]} <= set(pred["input"])
        assert pred["output"] == [f"results/{m}/tiny-t5/round0/predictions",
                                  f"results/{m}/tiny-t5/round0/metrics"]
    plots = find(jobs, "plots")
    own = {(m, r) for m in siked for r in range(cfg["methods"][m]["rounds"])
           if r or not cfg["methods"][m].get("round0_from")}  # a copied round 0 has no mix
    assert {f"results/{m}/tiny-t5/round{r}/mix_stats.json" for m, r in own} == {
        f for f in plots["input"] if f.endswith("mix_stats.json")}


def _bad_config(tmp_path, change) -> Path:
    cfg = yaml.safe_load(METHODS_CFG.read_text())
    change(cfg)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.parametrize("change, message", [
    (lambda c: c["methods"]["siked_all"].update(round0_from="potd_eotd"), "round0_from"),
    (lambda c: c["methods"]["siked_all"].update(round0_from="nosuch"), "round0_from"),
    (lambda c: c["methods"]["combined"].update(rounds=2),
     "methods.combined.rounds: 1 was expected (one round)"),
])
def test_bad_method_configs_stop_with_the_key(tmp_path, data_dir, change, message):
    work = work_copy(tmp_path / "wf")
    proc = snakemake(work, "-n", "--configfile", str(_bad_config(tmp_path, change)),
                     data_dir=data_dir, check=False)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr


# ------------------------------------------------------------------ fast: stages on fakes
def _problems(tmp_path, answers=(6.0, 10.0, 3.0)) -> Path:
    path = tmp_path / "problems.jsonl"
    write_jsonl(path, [Problem(id=f"t/test/{i}", dataset="t", question=f"Q{i}?", answer=a,
                               gold=None, choices=None) for i, a in enumerate(answers)])
    return path


def _fake_generate(monkeypatch, reply):
    """students.generate -> reply(prompt, prefix) for each prompt; no model is loaded."""
    from mathdistill import students
    from mathdistill.stages import multi_predict

    def generate(model, prompts, cfg=None, prefixes=None):
        prefixes = prefixes or [None] * len(prompts)
        k = getattr(cfg, "num_samples", 1)
        return [[reply(p, f)] * k for p, f in zip(prompts, prefixes, strict=True)]

    monkeypatch.setattr(students, "generate", generate)
    monkeypatch.setattr(multi_predict, "_load", lambda c, g, t: (None, students.GenerationConfig()))


def test_etd_predict_falls_back_and_records_each_format(tmp_path, monkeypatch):
    from mathdistill.metrics import compute
    from mathdistill.records import Prediction
    from mathdistill.stages.multi_predict import predict

    texts = {  # per question: PoT ok / PoT fails -> EoT ok / PoT and EoT fail -> CoT
        "Q0?": {"code": "x = 2 * 3\nanswer = x", "equations": "x = 1", "step": "The answer is 5."},
        "Q1?": {"code": "answer = (", "equations": "a = 4 + 6\nans = a", "step": "The answer is 9."},
        "Q2?": {"code": "answer = ", "equations": "ans = b", "step": "The answer is 3."},
    }

    def reply(prompt, prefix):
        q = prompt.split("\n")[0].removeprefix("Question: ")
        kind = "code" if "code" in prompt else "equations" if "equations" in prompt else "step"
        return texts[q][kind]

    _fake_generate(monkeypatch, reply)
    out = tmp_path / "preds.jsonl"
    preds = predict("ckpt", _problems(tmp_path), {"type": "etd",
                    "strategies": ["cot", "pot", "eot"]}, out, {})
    assert [p.strategy for p in preds] == ["pot", "eot", "cot"]
    assert [p.correct for p in preds] == [True, True, True]
    m = compute([Prediction.from_dict(d) for d in read_jsonl(out)])
    assert m["fallbacks"] == {"pot->eot": 2, "eot->cot": 1}
    assert m["queried_as"]["pot"] == {"n": 3, "correct": 1, "accuracy": pytest.approx(1 / 3)}
    assert m["queried_as"]["eot"]["correct"] == 1 and m["queried_as"]["cot"]["correct"] == 1
    assert m["strategy_share"] == {"cot": pytest.approx(1 / 3), "eot": pytest.approx(1 / 3),
                                   "pot": pytest.approx(1 / 3)}


def test_combined_predict_routes_by_the_students_tag(tmp_path, monkeypatch):
    from mathdistill.metrics import compute
    from mathdistill.stages.multi_predict import predict

    replies = {"Q0?": "[pot]: x = 2 * 3\nanswer = x", "Q1?": "[cot]: 4 + 6 = 10.\nThe answer is 10.",
               "Q2?": "no tag, the answer is 3"}
    _fake_generate(monkeypatch, lambda p, f: replies[p.split("\n")[0].removeprefix("Question: ")])
    for kind in ("combined", "siked"):
        preds = predict("ckpt", _problems(tmp_path), {"type": kind, "strategies": ["cot", "pot"]},
                        tmp_path / f"{kind}.jsonl", {})
        assert [p.strategy for p in preds] == ["pot", "cot", "untagged"]
        assert [p.correct for p in preds] == [True, True, True]  # untagged: graded as cot
        assert compute(preds)["strategy_share"]["untagged"] == pytest.approx(1 / 3)


def _teacher_file(tmp_path, n=4) -> Path:
    from mathdistill.strategies import get

    path = tmp_path / "teacher.jsonl"
    rows = [Rationale(id=f"s/train/{i}", question=f"Q{i}?", answer=float(i + 1), strategy=s,
                      text=get(s).render([{"var": "a", "expr": str(i + 1), "value": float(i + 1),
                                           "text": f"It is {i + 1}.", "question": "What?"}],
                                         float(i + 1)), correct=True)
            for i in range(n) for s in ("cot", "pot")]
    write_jsonl(path, rows)
    return path


def test_siked_self_generate_and_mix_log_alpha(tmp_path, monkeypatch, data_dir):
    from mathdistill.stages.siked import build_round, self_generate

    teacher = _teacher_file(tmp_path)
    problems = tmp_path / "train.jsonl"
    write_jsonl(problems, [Problem(id=f"s/train/{i}", dataset="s", question=f"Q{i}?",
                                   answer=float(i + 1), gold=None, choices=None) for i in range(4)])

    def reply(prompt, prefix):  # correct PoT for Q0 and Q1, wrong CoT everywhere
        q = int(prompt.split("\n")[0].removeprefix("Question: Q").rstrip("?"))
        if prefix.startswith("[pot]"):
            return f"{prefix} answer = {q + 1 if q < 2 else 99}"
        return f"{prefix} The answer is 0."

    _fake_generate(monkeypatch, reply)
    cfg = {"type": "siked", "strategies": ["cot", "pot"],
           "options": {"k": 2, "variant": "sparse", "questions": 3}}
    samples = tmp_path / "self.jsonl"
    scored = self_generate("ckpt", problems, cfg, samples, {}, round=1, seed=0)
    assert len(scored) == 3 * 2 * 2  # questions x strategies x k
    assert {r.strategy for r in scored} == {"cot", "pot"} and all(r.round == 1 for r in scored)
    stats = build_round(cfg, 1, {"rationales": [str(teacher)], "self_samples": [str(samples)]},
                        tmp_path / "mixed.jsonl", tmp_path / "mix_stats.json",
                        meta={"method": "siked_sparse", "student": "tiny"})
    n_self = stats["n_self"]
    assert n_self == sum(1 for r in scored if r.correct and r.strategy == "pot" and r.meta["sample"] == 0)
    assert stats["n_llm"] == 8 - n_self  # sparse: teacher data only where no self sample
    assert stats["alpha"] == pytest.approx(stats["n_llm"] / (stats["n_llm"] + n_self))
    saved = read_json(tmp_path / "mix_stats.json")
    assert saved["method"] == "siked_sparse" and saved["alpha"] == stats["alpha"]
    examples = read_jsonl(tmp_path / "mixed.jsonl")
    assert len(examples) == stats["n_examples"] == 8
    assert all(e["target"].startswith(("[cot]: ", "[pot]: ")) for e in examples)
    with pytest.raises(ValueError, match="rounds >= 1"):
        self_generate("ckpt", problems, cfg, samples, {}, round=0)


def test_strategy_table_and_plots(tmp_path):
    import pandas as pd

    from mathdistill.plots import pooled_share, write_plots
    from mathdistill.report import strategy_table

    metrics, files = [], []
    for r, share in enumerate(({"cot": 0.5, "pot": 0.5}, {"pot": 0.75, "untagged": 0.25})):
        for d, n in (("a", 10), ("b", 30)):
            metrics.append({"method": "siked", "student": "t", "round": r, "dataset": d,
                            "accuracy": 0.1 * (r + 1), "n": n, "strategy_share": share})
    metrics.append({"method": "etd", "student": "t", "round": 0, "dataset": "a", "accuracy": None,
                    "n": 10, "strategy_share": {"pot": 1.0}, "fallbacks": {"pot->eot": 0},
                    "queried_as": {"pot": {"accuracy": 0.2, "n": 10}}})
    for i, m in enumerate(metrics):
        files.append(tmp_path / f"m{i}.json")
        files[-1].write_text(json.dumps(m))
    df = strategy_table(metrics)
    assert list(df.columns[-2:]) == ["queried_pot", "pot->eot"]
    etd = df[df["method"] == "etd"].iloc[0]
    assert etd["queried_pot"] == pytest.approx(20.0) and etd["pot->eot"] == 0
    assert pd.isna(etd["accuracy"])
    assert pooled_share(metrics[2:4]) == {"pot": pytest.approx(0.75), "untagged": pytest.approx(0.25)}
    mix = tmp_path / "mix.json"
    mix.write_text(json.dumps({"method": "siked", "student": "t", "round": 1, "alpha": 0.8}))
    paths = write_plots(files, [mix], tmp_path / "plots", share_methods=["siked", "etd"])
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000


# ------------------------------------------------------------------ slow: a tiny model
@pytest.mark.slow
@pytest.mark.parametrize("preset", ["tiny-t5", "tiny-qwen2"])
def test_generate_forces_prefixes(tmp_path, preset):
    """A model trained on two tagged answers per prompt writes the one whose tag is forced."""
    import torch

    from mathdistill.students import GenerationConfig, TrainConfig, build_tiny, generate, train

    torch.set_num_threads(1)
    ex = []
    for i in range(4):
        prompt = f"Question: {i} + {i + 1}\nSolve\n"
        ex += [{"prompt": prompt, "target": f"[cot]: {i} + {i + 1} = {2 * i + 1}\nThe answer is {2 * i + 1}."},
               {"prompt": prompt, "target": f"[pot]: x = {i} + {i + 1}\nanswer = x"}]
    base = build_tiny(preset, [e["prompt"] + e["target"] for e in ex], tmp_path / "base",
                      seed=0, vocab_size=300)
    train(base, ex, tmp_path / "ft", TrainConfig(lr=5e-3, max_steps=120, batch_size=8,
                                                 logging_steps=20, warmup=5, group_by_length=False))
    prompts = [e["prompt"] for e in ex]
    prefixes = [e["target"].split(" ")[0] + " " for e in ex]  # "[cot]: " / "[pot]: "
    cfg = GenerationConfig(max_new_tokens=40, batch_size=3, progress=False)
    outs = generate(tmp_path / "ft", prompts, cfg, prefixes=prefixes)
    assert [o[0] for o in outs] == [e["target"] for e in ex]
    sampled = generate(tmp_path / "ft", prompts[:2], cfg.replace(do_sample=True, num_samples=2,
                       temperature=0.05), prefixes=["[pot]:", "[cot]:"])
    assert sampled == [[ex[1]["target"]] * 2, [ex[0]["target"]] * 2]
    with pytest.raises(ValueError, match="prefixes"):
        generate(tmp_path / "ft", prompts, cfg, prefixes=["[pot]:"])


# ------------------------------------------------------------------ slow: end to end
@pytest.fixture(scope="module")
def methods_run(tmp_path_factory, data_dir):
    base = tmp_path_factory.mktemp("methods")
    work = work_copy(base / "wf", METHODS_CFG)
    proc = snakemake(work, "--cores", "2", data_dir=data_dir, timeout=900,
                     env=recording_imports(base))
    return {"dir": work, "res": work / "results", "stdout": proc.stdout,
            "imports": base / "imports", "cfg": yaml.safe_load(METHODS_CFG.read_text())}


@pytest.mark.slow
def test_multi_strategy_jobs_import_only_what_their_code_digest_covers(methods_run):
    scripts = check_recorded_imports(methods_run["dir"], methods_run["imports"],
                                     {"teacher": "annotated"})
    assert {"predict_multi", "siked_generate", "siked_train", "reuse_round0"} <= scripts


@pytest.mark.slow
def test_end_to_end_per_round_outputs(methods_run):
    res, cfg = methods_run["res"], methods_run["cfg"]
    for m, c in cfg["methods"].items():
        for r in range(c.get("rounds", 1)):
            d = res / m / "tiny-t5" / f"round{r}"
            assert (d / "checkpoint" / "config.json").is_file() and (d / "train_log.json").is_file()
            for ds in cfg["eval_sets"]:
                assert (d / "predictions" / f"{ds}.jsonl").is_file()
                assert read_json(d / "metrics" / f"{ds}.json")["round"] == r
            if c["type"] == "siked":  # a copied round 0 (round0_from) has no data of its own
                own = r > 0 or not c.get("round0_from")
                assert (d / "mix_stats.json").is_file() == (d / "mixed.jsonl").is_file() == own
                assert (d / "self_samples.jsonl").is_file() == (r > 0)
    for p in ("accuracy.png", "strategy_share.png"):
        assert (res / "plots" / p).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_end_to_end_etd_metrics(methods_run):
    from mathdistill.paper_tables import rows_from_metrics

    res, cfg = methods_run["res"], methods_run["cfg"]
    n = cfg["eval_sets"]["synthetic"]["options"]["n"]
    for m in ("etd", "potd_eotd"):
        strategies = cfg["methods"][m]["strategies"]
        metrics = read_json(res / m / "tiny-t5" / "round0" / "metrics" / "synthetic.json")
        assert set(metrics["queried_as"]) == set(strategies)
        assert all(q["n"] == n for q in metrics["queried_as"].values())
        preds = read_jsonl(res / m / "tiny-t5" / "round0" / "predictions" / "synthetic.jsonl")
        fell = sum(1 for p in preds if p["strategy"] != "pot")
        assert metrics["fallbacks"]["pot->eot"] == fell  # every non-PoT answer is a fallback
        assert sum(metrics["strategy_share"].values()) == pytest.approx(1.0)
        rows = rows_from_metrics([metrics])
        assert {r["strategy"] for r in rows} >= set(strategies)


@pytest.mark.slow
def test_end_to_end_siked_rounds(methods_run):
    res, cfg = methods_run["res"], methods_run["cfg"]
    logs = {(m, r): read_json(res / m / "tiny-t5" / f"round{r}" / "train_log.json")
            for m in ("siked_all", "siked_sparse") for r in (0, 1)}
    for m in ("siked_all", "siked_sparse"):
        c = cfg["methods"][m]["options"]
        stats = read_json(res / m / "tiny-t5" / "round1" / "mix_stats.json")
        assert stats["variant"] == c["variant"] and stats["round"] == 1
        assert stats["alpha"] == pytest.approx(stats["n_llm"] / (stats["n_llm"] + stats["n_self"]))
        samples = read_jsonl(res / m / "tiny-t5" / "round1" / "self_samples.jsonl")
        assert len(samples) == c["questions"] * 3 * c["k"]
        assert all(s["correct"] is not None for s in samples)
        assert not (res / m / "tiny-t5" / "round0" / "mix_stats.json").exists()  # copied
        # round 0 is the Combined run's checkpoint and predictions
        assert logs[(m, 0)]["reused_from"] == "combined" and logs[(m, 0)]["method"] == m
        for ds in cfg["eval_sets"]:
            assert (res / m / "tiny-t5" / "round0" / "predictions" / f"{ds}.jsonl").read_bytes() \
                == (res / "combined" / "tiny-t5" / "round0" / "predictions" / f"{ds}.jsonl").read_bytes()
        share = read_json(res / m / "tiny-t5" / "round1" / "metrics" / "synthetic.json")["strategy_share"]
        assert sum(share.values()) == pytest.approx(1.0)
    # on-policy round 1 starts where round 0 ended; off-policy starts from the base model
    on, off = logs[("siked_all", 1)], logs[("siked_sparse", 1)]
    assert on["first_loss"] < 0.5 * logs[("siked_all", 0)]["first_loss"] < off["first_loss"]
    saved = read_json(res / "siked_all" / "tiny-t5" / "round1" / "checkpoint" / "train_config.json")
    assert saved["resume_from"].endswith("siked_all/tiny-t5/round0/checkpoint")


@pytest.mark.slow
def test_end_to_end_tables_and_no_op(methods_run, data_dir):
    tables = methods_run["res"] / "tables"
    strategies = (tables / "strategies.md").read_text()
    assert "queried_eot" in strategies and "pot->eot" in strategies
    acc = (tables / "accuracy.csv").read_text()
    assert re.search(r"^siked_all,tiny-t5,1,", acc, re.MULTILINE)
    proc = snakemake(methods_run["dir"], "-n", data_dir=data_dir)
    assert "Nothing to be done" in proc.stdout + proc.stderr
