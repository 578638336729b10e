"""config/paper.yaml and config/paper_etd_1path.yaml: the papers' full grids build as DAGs
(dry run, no data loaded, seconds) and agree with config/paper_results.yaml."""

from __future__ import annotations

import time

import pytest
import yaml
from test_workflow import REPO, job_counts, snakemake, work_copy

PAPER = REPO / "config" / "paper.yaml"
ONE_PATH = REPO / "config" / "paper_etd_1path.yaml"
REPORTED = REPO / "config" / "paper_results.yaml"


def _load(path):
    return yaml.safe_load(path.read_text())


def _runs(cfg: dict) -> int:
    """(method run, student, round) triples of a grid."""
    seeds = cfg.get("seeds") or [cfg.get("seed", 0)]
    return sum(len(m.get("seeds") or seeds) * len(m.get("students") or cfg["students"])
               * m.get("rounds", 1) for m in cfg["methods"].values())


@pytest.mark.parametrize("path", [PAPER, ONE_PATH], ids=["paper", "etd_1path"])
def test_paper_grid_dry_run(tmp_path, data_dir, path):
    cfg = _load(path)
    work = work_copy(tmp_path / "wf")
    t0 = time.perf_counter()
    out = snakemake(work, "-n", "--configfile", str(path), data_dir=data_dir).stdout
    seconds = time.perf_counter() - t0
    counts = job_counts(out)
    print(f"\n{path.name}: {counts['total']} jobs, dry run {seconds:.1f} s")
    runs = _runs(cfg)
    # every run is evaluated on every eval set, and trained once per round (the train rule,
    # Tailored Learning's own train rule, or a round0_from copy: SIKeD's of the Combined round 0)
    assert counts["evaluate"] == runs * len(cfg["eval_sets"])
    trained = sum(counts.get(r, 0) for r in ("train", "tailored_train", "reuse_round0"))
    assert trained == runs
    strategies = {s for m in cfg["methods"].values() for s in m["strategies"]}
    assert counts["teacher_generate"] == len(strategies)
    results = cfg["results_dir"]
    for s in strategies:
        assert f"{results}/teacher/openai/{s}/raw.jsonl" in out
    for paper in _load(REPORTED)["papers"]:
        for ext in ("md", "csv", "tex"):
            assert f"{results}/tables/paper_{paper}.{ext}" in out
    assert "tiny-" not in out and "results/cotd/" not in out  # nothing of the default


def test_paper_students_and_methods_match_the_reported_keys():
    """Hub ids are the ones paper_results.yaml names; every paper method/student the grid
    runs maps to a reported key (by name or paper_key), so the tables can match them."""
    reported = _load(REPORTED)
    for path in (PAPER, ONE_PATH):
        cfg = _load(path)
        for name, st in cfg["students"].items():
            key = st.get("paper_key", name)
            if key in reported["students"]:
                assert st["model"] == reported["students"][key]["hf_id"], name
            else:
                assert name.startswith("flan-t5-") and st["model"] == f"google/{name}", name
        keys = {m.get("paper_key", name) for name, m in cfg["methods"].items()}
        assert keys - {"tailored_no_sr"} <= set(reported["methods"]), path.name
    keys = {m.get("paper_key", n) for n, m in _load(PAPER)["methods"].items()}
    assert {"cotd", "potd", "eotd", "etd", "l2md", "combined", "siked_all", "siked_sparse",
            "siked_offpolicy", "fdd", "tailored"} <= keys
    assert {"etd_cot_pot", "etd_cot_eot", "etd_pot_eot"} <= set(_load(ONE_PATH)["methods"])


def test_paper_hyperparameters():
    cfg = _load(PAPER)
    st = cfg["students"]
    for name in ("codet5-small", "codet5-base", "codet5-large", "flan-t5-large"):
        assert (st[name]["train"]["lr"], st[name]["train"]["epochs"]) == (5e-4, 10)
    for name in ("gemma-2b", "gemma-7b", "smollm-1.7b", "qwen2-0.5b", "qwen2-1.5b"):
        s = st[name]
        assert s["finetune"] == "lora" and (s["lora"]["r"], s["lora"]["alpha"]) == (16, 32)
        t = s["train"]
        assert (t["epochs"], t["batch_size"], t["grad_accum"], t["max_len"]) == (3, 2, 4, 1024)
        assert t["lr"] == (3e-4 if name.startswith("qwen") else 2e-4)
    tl = st["gpt-j-6b"]["train"]
    assert (tl["lr"], tl["epochs"]) == (7e-6, 10)
    m = cfg["methods"]
    assert m["tailored"]["options"]["lambda"] == 0.5 and m["tailored"]["options"]["margin"] == 1.0
    assert m["tailored"]["options"]["exam"]["num_samples"] == 4
    assert m["tailored_no_sr"]["options"]["lambda"] == 0.0
    for name in ("siked_all", "siked_sparse"):
        assert (m[name]["options"]["k"], m[name]["options"]["temperature"]) == (10, 0.7)
    assert m["fdd"]["rounds"] >= 3 and m["fdd"]["options"]["rouge_threshold"] == 0.7
    assert cfg["teacher"]["name"] == "openai" and cfg["teacher"]["options"]["base_url"] is None
    assert cfg["teacher"]["n"] == 4 and _load(ONE_PATH)["teacher"]["n"] == 1
    assert set(cfg["eval_sets"]) == {"gsm8k", "asdiv", "svamp", "multiarith"}
    assert all("limit" not in e for e in cfg["eval_sets"].values())
