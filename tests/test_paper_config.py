"""config/paper.yaml and config/paper_etd_1path.yaml: the papers' full grids build as DAGs
(dry run, no data loaded, seconds) and agree with config/paper_results.yaml."""

from __future__ import annotations

import time

import pytest
import yaml
from test_workflow import REPO, job_counts, snakemake, work_copy

from mathdistill.workflow.grid import Grid
from mathdistill.workflow.jobs import Jobs

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
    grid = Grid(cfg)
    assert grid.problems == []
    work = work_copy(tmp_path / "wf")
    t0 = time.perf_counter()
    out = snakemake(work, "-n", "--configfile", str(path), data_dir=data_dir).stdout
    seconds = time.perf_counter() - t0
    counts = job_counts(out)
    print(f"\n{path.name}: {counts['total']} jobs, dry run {seconds:.1f} s")
    results = cfg["results_dir"]
    assert _runs(cfg) == len(list(grid.cells()))
    # every trained model answers all its eval sets in one job that predicts and scores
    # (predict, predict_multi, tailored_predict, or a round0_from copy: reuse_predictions),
    # and is trained once per round (the train rule, Tailored Learning's own train rule, or
    # a round0_from copy: SIKeD's of Combined)
    assert "evaluate" not in counts
    predicted = sum(counts.get(r, 0) for r in ("predict", "predict_multi", "tailored_predict",
                                               "reuse_predictions"))
    assert predicted == len(list(grid.cells()))
    for run, st, r in grid.cells():  # one folder of predictions and one of metrics each
        assert f"{results}/{run}/{st}/round{r}/predictions," in out
        assert f"{results}/{run}/{st}/round{r}/metrics" in out
    trained = sum(counts.get(r, 0) for r in ("train", "siked_train", "fdd_train", "tailored_train",
                                             "reuse_round0"))
    assert trained == _runs(cfg)
    teachers = grid.teacher_strategies()
    assert counts["teacher_generate"] == sum(len(s) for s in teachers.values())
    for teacher, strategies in teachers.items():
        for s in strategies:
            assert f"{results}/teacher/{teacher}/{s}/raw.jsonl" in out
    fewshot = grid.fewshot_runs()
    assert counts.get("tailored_pretrained", 0) == sum(
        len(grid.eval_sets_of(r)) * len(grid.students_of(r)) for r in fewshot)
    assert "evaluate_pretrained" not in counts
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
                assert (name.startswith("flan-t5-") and st["model"] == f"google/{name}") or (
                    name == "qwen2-0.5b-cyclic" and st["model"] == "Qwen/Qwen2-0.5B"), name
        keys = set()
        for name, m in cfg["methods"].items():
            key = m.get("paper_key", name)
            keys |= set(key) if isinstance(key, list) else {key}
        assert keys - {"tailored_no_sr", "tailored_csqa"} <= set(reported["methods"]), path.name
    mapped = Grid(_load(PAPER)).paper_keys("methods").values()
    keys = {k for v in mapped for k in ([v] if isinstance(v, str) else v)} | set(
        _load(PAPER)["methods"])
    assert {"cotd", "potd", "eotd", "etd", "l2md", "combined", "siked_all", "siked_sparse",
            "siked_onpolicy", "siked_offpolicy", "fdd", "tailored"} <= keys
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
    assert all("limit" not in e for e in cfg["eval_sets"].values())
    one = _load(ONE_PATH)["teachers"]["chatgpt_1path"]
    assert one["n"] == 1 and one["options"]["prompt_style"] == "etd"


# ---------------------------------------------------------------- per-paper protocols
def test_paper_grid_has_a_teacher_per_protocol_and_data_under_it():
    cfg = _load(PAPER)
    grid = Grid(cfg)
    jobs = Jobs(grid, REPO)
    teachers = cfg["teachers"]
    assert len(grid.teacher_strategies()) >= 2
    for run in grid.runs:
        t = grid.teacher_of(run)
        for f in jobs.filtered(run):
            assert f.startswith(f"{cfg['results_dir']}/teacher/{t}/"), (run, f)
    etd, llama = teachers["chatgpt"], teachers["llama3-70b"]
    # ETD [P]: ChatGPT, 4 paths, its appendix prompts; FDD and Tailored share it [D]
    assert (etd["options"]["model"], etd["n"], etd["options"]["prompt_style"]) == (
        "gpt-3.5-turbo", 4, "etd")
    for m in ("cotd", "potd", "eotd", "etd", "etd_1k", "etd_500", "fdd", "tailored"):
        assert grid.teacher_of(m) == "chatgpt", m
    # SIKeD [P][C]: a Llama-3-70B-class endpoint, greedy, one chain, Figs. 8-10 prompts
    assert "70B" in llama["options"]["model"] and llama["options"]["temperature"] == 0
    assert llama["n"] == 1 and llama["options"]["prompt_style"] == "siked"
    assert llama["options"]["demo_source"] == "train" and llama["options"]["n_shots"] == 8
    siked = [n for n, m in cfg["methods"].items()
             if m["type"] in ("combined", "siked") or n.startswith("siked_")]
    assert {grid.teacher_of(m) for m in siked} == {"llama3-70b"}
    # Tailored's CSQA student: its own train set, so its own teacher
    assert grid.teacher_of("tailored_csqa") == "chatgpt_csqa"
    assert grid.loader(grid.train_set_of("tailored_csqa"))["dataset"] == "csqa"


def test_siked_teacher_data_is_one_chain_per_question_and_strategy(tmp_path):
    """The paper grid's SIKeD data rules keep one correct teacher chain per (question,
    strategy), whatever the teacher returned (SIKeD [C]); ETD keeps all 4 paths [P]."""
    from mathdistill.io import read_jsonl, write_jsonl
    from mathdistill.records import Rationale
    from mathdistill.stages.rounds import build_round

    grid = Grid(_load(PAPER))
    files = {}
    for s in ("cot", "l2m", "pot", "eot"):
        files[s] = tmp_path / f"{s}.jsonl"
        write_jsonl(files[s], [Rationale(id=f"gsm8k/train/{q}", question=f"Q{q}?", answer=1.0,
                                         strategy=s, text=f"{s} chain {k} of {q}", correct=True)
                               for q in range(5) for k in range(3)])

    def built(run):
        inputs = {"rationales": [str(files[s]) for s in grid.strategies(run)]}
        out = tmp_path / f"{run}.jsonl"
        build_round(grid.method_params(run), 0, inputs, out, seed=0)
        return read_jsonl(out)

    for run in ("combined", "siked_cotd", "siked_potd", "siked_l2md"):
        rows = built(run)
        keys = [(r.get("id"), r.get("strategy")) for r in rows]
        assert len(keys) == len(set(keys)) == 5 * len(grid.strategies(run)), run
    assert len(built("cotd")) == 5 * 3  # ETD's CoTD: every path


def test_paper_test_sets_per_paper():
    cfg = _load(PAPER)
    grid = Grid(cfg)
    sets = cfg["eval_sets"]
    assert sets["asdiv_all"]["options"] == {"all_problems": True}
    assert sets["multiarith_180"]["split"] == "chilled_test"
    assert grid.paper_keys("eval_sets") == {"asdiv_all": "asdiv", "multiarith_180": "multiarith"}
    siked = ["gsm8k", "asdiv_all", "svamp", "multiarith_180"]
    etd = ["gsm8k", "asdiv", "svamp", "multiarith"]
    for run in ("siked_cotd", "combined", "siked_all", "siked_sparse", "siked_offpolicy"):
        assert grid.eval_sets_of(run) == siked, run
    for run in ("cotd", "etd", "etd_1k", "fdd"):
        assert grid.eval_sets_of(run) == etd, run
    assert grid.eval_sets_of("tailored") == ["gsm8k"]
    assert grid.eval_sets_of("tailored_csqa") == ["csqa"] and sets["csqa"]["split"] == "dev"


def test_tailored_runs_as_published():
    """Few-shot prompts in the wired jobs (exam, round data, evaluation), the pretrained
    round under .../pretrained/, compared with the paper's 2.7."""
    from mathdistill.methods import tailored, tailored_prompt
    from mathdistill.records import Problem
    from mathdistill.stages.tailored import parse_options

    cfg = _load(PAPER)
    grid = Grid(cfg)
    jobs = Jobs(grid, REPO)
    assert set(grid.fewshot_runs()) == {"tailored", "tailored_no_sr", "tailored_csqa"}
    p = Problem(id="gsm8k/train/0", dataset="gsm8k", question="Tom has 3 pens. How many?",
                answer=3.0)
    demos = tailored_prompt.demos("gsm8k")
    for step in ("exam", "round"):
        opts = parse_options(grid.option_subset("tailored", step))
        text = tailored.student_input(p, opts["prompt"], opts["task"])
        assert text.count("Question:") == len(demos) + 1 and text.endswith("Reasoning:")
        assert demos[0]["question"] in text
    assert grid.option_subset("tailored", "eval") == {"prompt": "fewshot"}
    assert grid.eval_task("tailored") == "gsm8k" and grid.eval_task("tailored_csqa") == "csqa"
    assert parse_options(grid.option_subset("tailored", "train"))["prefix_cache"] is True
    assert grid.option_subset("tailored", "train")["unique_questions"] is True
    pre = jobs.pretrained_metrics()
    assert f"{cfg['results_dir']}/tailored/gpt-j-6b/pretrained/metrics/gsm8k.json" in pre
    reported = _load(REPORTED)["papers"]["tailored"]["tables"][0]["rows"]
    assert {"round": "pretrained", "values": {"gsm8k": 2.7}}.items() <= reported[0].items()


def test_missing_rows_are_in_the_grid():
    cfg = _load(PAPER)
    grid = Grid(cfg)
    m, st = cfg["methods"], cfg["students"]
    # ETD Fig. 5: 1K and 0.5K ETD examples on CodeT5-Base, matched on train_examples
    settings = grid.paper_settings()
    assert (settings["etd_1k"]["train_examples"], settings["etd_500"]["train_examples"],
            settings["etd"]["train_examples"]) == (1000, 500, "all")
    assert m["etd_1k"]["students"] == m["etd_500"]["students"] == ["codet5-base"]
    # SIKeD §5: the on-policy row is siked_all's Gemma 2B (one run, both keys); off-policy
    assert grid.paper_keys("methods")["siked_all"] == ["siked_all", "siked_onpolicy"]
    assert "gemma-2b" in grid.students_of("siked_all")
    assert m["siked_offpolicy"]["options"]["policy"] == "off"
    # Qwen2: the authors' cosine [C]; the paper's "cyclic" as restarts, a variant row [D]
    assert st["qwen2-0.5b"]["train"]["scheduler"] == "cosine"
    cyc = st["qwen2-0.5b-cyclic"]["train"]
    assert (cyc["scheduler"], cyc["num_cycles"]) == ("cosine_with_restarts", 3)
    assert "paper_key" not in st["qwen2-0.5b-cyclic"]
    assert "qwen2-0.5b-cyclic" in grid.students_of("siked_all")
