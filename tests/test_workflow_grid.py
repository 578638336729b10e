"""mathdistill.workflow: the grid (runs per seed, students, rounds, eval sets, teachers,
round-0 reuse), the jobs' inputs and params, experiment vs operational settings, local
resources and the data check -- as library objects, without Snakemake."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from mathdistill.workflow.data_check import FETCH_HINT, DataMissing, check_data, needed_files
from mathdistill.workflow.grid import Grid
from mathdistill.workflow.jobs import Jobs
from mathdistill.workflow.resources import LocalResources, visible_gpus
from mathdistill.workflow.settings import OPERATIONAL, experimental, full, operational, section

REPO = Path(__file__).resolve().parents[1]


def _cfg(name="grid.yaml"):
    """tests/configs/<name> (a rich grid), or config/<name> for a shipped config."""
    path = REPO / "tests" / "configs" / name
    return yaml.safe_load((path if path.is_file() else REPO / "config" / name).read_text())


@pytest.fixture
def cfg():
    return _cfg()


def test_default_grid_runs_students_rounds_and_sets(cfg):
    g = Grid(cfg)
    assert g.problems == []
    assert list(g.runs) == list(cfg["methods"])  # one seed: runs keep the method names
    assert g.students_of("cotd") == ["tiny-t5"] and g.rounds("fdd") == [0, 1]
    cells = list(g.cells())
    assert len(cells) == sum(m.get("rounds", 1) for m in cfg["methods"].values())
    jobs = Jobs(g, REPO)
    assert len(jobs.metrics()) == len(cells) * len(cfg["eval_sets"])
    assert jobs.metrics()[0] == "results/cotd/tiny-t5/round0/metrics/synthetic.json"
    assert g.of_type("siked") == ["siked_all", "siked_sparse"]
    assert set(g.of_type("single", "fdd", exclude=True)) == set(g.runs) - {
        "cotd", "potd", "eotd", "l2md", "fdd"}
    assert g.eval_strategy("etd") == "cot" and g.strategy("fdd") == "pot"


def test_seeds_make_runs_with_their_own_seed(cfg):
    cfg["seeds"] = [0, 1, 2]
    cfg["methods"]["potd"]["seeds"] = [5]
    g = Grid(cfg)
    assert {"cotd", "cotd-s1", "cotd-s2", "potd"} <= set(g.runs) and "potd-s5" not in g.runs
    assert g.meta("cotd-s2") == {"method": "cotd", "run": "cotd-s2", "seed": 2}
    assert g.train("cotd-s1", "tiny-t5")["train"]["seed"] == 1
    assert g.generation("cotd-s2", "tiny-t5")["seed"] == 2
    assert g.train("potd", "tiny-t5")["train"]["seed"] == 5
    clash = copy.deepcopy(cfg)
    clash["methods"]["cotd-s1"] = {"type": "single", "strategies": ["cot"]}
    problems = Grid(clash).problems
    clash_message = "run 'cotd-s1' (seed 1) clashes with another method's name"
    assert (("methods", "cotd", "seeds"), clash_message) in problems


def test_params_hold_experiment_settings_only(cfg):
    st = cfg["students"]["tiny-t5"]
    st["train"].update(logging_steps=3, gradient_checkpointing=True, epochs=5)
    st["generation"].update(batch_size=7, progress=True, max_new_tokens=99)
    cfg["methods"]["cotd"]["train"] = {"lr": 0.1, "logging_steps": 9}
    g = Grid(cfg)
    train = g.train("cotd", "tiny-t5")
    assert train["train"]["lr"] == 0.1 and train["train"]["epochs"] == 5
    assert not set(train["train"]) & OPERATIONAL["train"]
    assert train["model"] == "tiny-t5" and train["finetune"] == "full"
    gen = g.generation("cotd", "tiny-t5")
    assert gen["max_new_tokens"] == 99 and not set(gen) & OPERATIONAL["generation"]
    other = copy.deepcopy(cfg)
    other["students"]["tiny-t5"]["generation"]["batch_size"] = 1
    other["students"]["tiny-t5"]["train"]["logging_steps"] = 100
    assert Grid(other).generation("cotd", "tiny-t5") == gen
    assert Grid(other).train("cotd", "tiny-t5") == train
    # an exam's own batch_size (options.exam) is part of the exam's settings
    assert g.generation("fdd", "tiny-t5", batch_size=3)["batch_size"] == 3


def test_job_settings_add_the_operational_keys_back(cfg):
    cfg["students"]["tiny-t5"]["generation"].update(batch_size=7, progress=True)
    cfg["methods"]["cotd"]["generation"] = {"batch_size": 5}
    g = Grid(cfg)
    gen = g.generation("cotd", "tiny-t5")
    whole = full("generation", gen, cfg, g.source("cotd", "tiny-t5"))
    assert whole == {**gen, "batch_size": 5, "progress": True}
    assert full("generation", {**gen, "batch_size": 3}, cfg, g.source("cotd", "tiny-t5"))[
        "batch_size"] == 3  # a key the params hold wins
    teacher = {"backend": "openai", "options": {"model": "m", "concurrency": 4,
                                                "base_url": "http://x", "temperature": 0.7}}
    paper = {**cfg, "teachers": {"gpt": teacher}}
    assert experimental("teacher", teacher["options"]) == {"model": "m", "temperature": 0.7}
    assert operational("teacher", teacher["options"]) == {"concurrency": 4, "base_url": "http://x"}
    params = Grid(paper).teacher_params("gpt")
    assert params == {"name": "gpt", "backend": "openai",
                      "options": {"model": "m", "temperature": 0.7}}
    assert full("teacher", params["options"], paper, {"teacher": "gpt"}) == teacher["options"]
    assert section(paper, "filter", teacher="gpt") == {}
    with pytest.raises(KeyError, match="no teacher 'hf'"):
        section(paper, "teacher", teacher="hf")


def test_teachers_per_method_and_their_strategies(cfg):
    cfg["methods"]["tailored"]["options"]["positive_strategies"] = ["eot"]
    cfg["methods"] = {k: cfg["methods"][k] for k in ("cotd", "tailored")}
    g = Grid(cfg)
    assert g.teacher_of("cotd") == "annotated" and g.run_backend("tailored") == "annotated"
    assert g.teacher_strategies() == {"annotated": ["cot", "eot"]}
    jobs = Jobs(g, REPO)
    assert jobs.teacher_outputs("cost.json") == ["results/teacher/annotated/cot/cost.json",
                                                 "results/teacher/annotated/eot/cost.json"]
    inputs = jobs.round_inputs("tailored", "tiny-t5", 0)
    assert inputs["positive_files"] == ["results/teacher/annotated/eot/filtered.jsonl"]


def test_round0_reuse_and_its_problems(cfg):
    g = Grid(cfg)
    assert g.round0_from("fdd") == "potd" and g.round0_from("siked_all") == "combined"
    assert set(g.reuse_round0) == {"fdd", "siked_all", "siked_sparse"}
    assert set(g.reuse_predictions) == {"fdd", "siked_all", "siked_sparse"}
    jobs = Jobs(g, REPO)
    assert jobs.reused("fdd", "tiny-t5", "checkpoint") == "results/potd/tiny-t5/round0/checkpoint"
    # other decoding settings: the checkpoint is reused, its predictions are not
    cfg["methods"]["fdd"]["generation"] = {"max_new_tokens": 17}
    # an operational difference does not matter
    cfg["methods"]["siked_all"]["generation"] = {"batch_size": 2, "progress": True}
    g = Grid(cfg)
    assert "fdd" in g.reuse_round0 and "fdd" not in g.reuse_predictions
    assert "siked_all" in g.reuse_predictions
    bad = copy.deepcopy(cfg)
    bad["methods"]["fdd"]["round0_from"] = "cotd"        # another strategy
    bad["methods"]["siked_all"]["round0_from"] = "nope"  # no such method
    bad["methods"]["etd"]["round0_from"] = "combined"    # etd cannot reuse
    problems = dict(Grid(bad).problems)
    assert "strategies ['cot']" in problems[("methods", "fdd", "round0_from")]
    assert "no method 'nope'" in problems[("methods", "siked_all", "round0_from")]
    assert "only siked/fdd/tailored methods" in problems[("methods", "etd", "round0_from")]


def test_tailored_reuses_a_single_round0_only_without_self_reflection(cfg):
    """Tailored Learning without L_SR (lambda 0) and with the project's prompt trains round
    0 exactly as the single method on its strategy does: it may copy that run's round 0."""
    cfg["methods"]["tailored"]["round0_from"] = "cotd"
    opts = cfg["methods"]["tailored"].setdefault("options", {})
    opts["lambda"] = 0
    g = Grid(cfg)
    assert g.problems == [] and g.round0_from("tailored") == "cotd"
    assert "tailored" in g.reuse_round0
    jobs = Jobs(g, REPO)
    assert jobs.reused("tailored", "tiny-t5", "checkpoint") == \
        "results/cotd/tiny-t5/round0/checkpoint"
    # round 1 reads its own exam (of the copied round 0) and feedback, nothing of round 0
    assert not any("round0" in str(v) for v in jobs.round_inputs("tailored", "tiny-t5", 1).values())
    for change, needle in [({"lambda": 0.5}, "without self-reflection"),
                           ({"prompt": "fewshot"}, "project's prompt")]:
        bad = copy.deepcopy(cfg)
        bad["methods"]["tailored"]["options"].update(change)
        assert needle in dict(Grid(bad).problems)[("methods", "tailored", "round0_from")]
    bad = copy.deepcopy(cfg)
    bad["methods"]["tailored"]["round0_from"] = "potd"
    assert "strategies ['pot']" in dict(Grid(bad).problems)[("methods", "tailored", "round0_from")]


def test_round0_reuse_needs_the_same_teacher(cfg):
    cfg["teachers"]["other"] = copy.deepcopy(next(iter(cfg["teachers"].values())))
    cfg["methods"]["potd"]["teacher"] = "other"
    for name, m in cfg["methods"].items():
        if name != "potd":
            m.setdefault("teacher", next(iter(cfg["teachers"])))
    problems = dict(Grid(cfg).problems)
    assert "teacher other" in problems[("methods", "fdd", "round0_from")]


def test_unknown_students_are_problems(cfg):
    cfg["methods"]["cotd"]["students"] = ["tiny-t5", "ghost"]
    g = Grid(cfg)
    assert g.problems == [(("methods", "cotd", "students"),
                           "unknown student 'ghost' (students: tiny-t5)")]


def test_iterative_inputs_and_option_subsets(cfg):
    cfg["methods"]["tailored"]["options"]["accumulate"] = True
    g, jobs = Grid(cfg), None
    jobs = Jobs(g, REPO)
    d0 = "results/teacher/annotated/pot/filtered.jsonl"
    assert jobs.round_inputs("fdd", "tiny-t5", 2)["rationales"] == [
        d0, "results/fdd/tiny-t5/round1/programs.jsonl", "results/fdd/tiny-t5/round2/programs.jsonl"]
    # the exam job draws its pool P_r, then S_{r-1} answers it
    assert jobs.fdd_exam_inputs("fdd", "tiny-t5", 1) == {
        "checkpoint": "results/fdd/tiny-t5/round0/checkpoint",
        "train": "results/data/train.jsonl", "d0": d0}
    assert jobs.fdd_exam_inputs("fdd", "tiny-t5", 2) == {
        "checkpoint": "results/fdd/tiny-t5/round1/checkpoint",
        **{k: f"results/fdd/tiny-t5/round1/{k}.jsonl" for k in ("pool", "exam", "generated")}}
    with pytest.raises(ValueError, match="rounds >= 1"):
        jobs.fdd_exam_inputs("fdd", "tiny-t5", 0)
    tl = jobs.round_inputs("tailored", "tiny-t5", 2)
    assert tl["feedback_files"] == ["results/tailored/tiny-t5/round2/feedback.jsonl"]
    assert tl["previous_files"][-1] == "results/tailored/tiny-t5/round1/feedback.jsonl"
    assert jobs.tailored_exam_model("tailored", "tiny-t5", 0) == {
        "model": "results/students/tiny-t5/base"}
    assert g.option_subset("fdd", "pool") == {"pool_limit": 300}
    assert g.option_subset("tailored", "exam") == {"exam_limit": 100}
    with pytest.raises(ValueError, match="one round"):
        jobs.round_inputs("cotd", "tiny-t5", 1)
    # a train job's inputs: the model it starts from and what its examples are built from
    tl1 = jobs.train_inputs("tailored", "tiny-t5", 1)
    assert tl1["resume_from"] == "results/tailored/tiny-t5/round0/checkpoint"
    assert tl1["feedback_files"] == ["results/tailored/tiny-t5/round1/feedback.jsonl"]
    assert jobs.train_inputs("fdd", "tiny-t5", 1) == {
        "base": "results/students/tiny-t5/base",
        "rationales": [d0, "results/fdd/tiny-t5/round1/programs.jsonl"]}


def test_mix_stats_only_of_rounds_with_their_own_data(cfg):
    g = Grid(cfg)
    jobs = Jobs(g, REPO)
    siked = [run for run in g.runs if g.run(run).type == "siked"]
    assert siked and all(g.round0_from(run) for run in siked)  # the default copies Combined's
    assert jobs.mix_stats() == [f"results/{run}/tiny-t5/round{r}/mix_stats.json"
                                for run in siked for r in g.rounds(run) if r > 0]
    for run in siked:
        cfg["methods"][run].pop("round0_from")
    own = Jobs(Grid(cfg), REPO).mix_stats()
    assert own == [f"results/{run}/tiny-t5/round{r}/mix_stats.json"
                   for run in siked for r in g.rounds(run)]


def test_base_model_and_on_policy_rounds(cfg):
    cfg["students"]["hub"] = {"model": "google/flan-t5-small"}
    g = Grid(cfg)
    jobs = Jobs(g, REPO)
    assert jobs.base_model("cotd", "tiny-t5", 0) == {"base": "results/students/tiny-t5/base"}
    assert jobs.base_model("cotd", "hub", 0) == {}
    assert g.on_policy("siked_all") and g.on_policy("tailored") and not g.on_policy("fdd")
    assert jobs.base_model("siked_all", "hub", 1) == {
        "resume_from": "results/siked_all/hub/round0/checkpoint"}
    assert jobs.base_model("fdd", "hub", 1) == {}  # FDD's default: retrain from the base


def test_code_digests_depend_on_what_the_job_imports(cfg):
    jobs = Jobs(Grid(cfg), REPO)
    assert jobs.code("train", method="single") != jobs.code("train", method="etd")
    assert jobs.code("teacher_generate", teacher="annotated") != jobs.code(
        "teacher_generate", teacher="openai")
    files = jobs.graph.files(jobs.script("teacher_generate"), {"teacher": "annotated"})
    names = {f.name for f in files}
    assert "annotated.py" in names and "openai_backend.py" not in names
    openai = {f.name for f in jobs.graph.files(jobs.script("teacher_generate"),
                                               {"teacher": "openai"})}
    assert {"openai_backend.py", "demos.yaml"} <= openai  # few-shot prompt data counts


def test_paper_settings(cfg):
    paper = _cfg("paper.yaml")
    g = Grid(paper)
    assert g.problems == []
    settings = g.paper_settings()
    assert set(settings) == set(paper["methods"])
    assert settings["etd"] == {"teacher": "chatgpt", "teacher_n": 4, "train_examples": "all"}
    teachers = g.paper_teacher_settings()
    assert len(teachers) == len(Jobs(g, REPO).teacher_outputs("filter_stats.json"))
    assert {"teacher": "chatgpt", "teacher_n": 4, "dataset": "gsm8k"} in teachers
    assert {t["dataset"] for t in Grid(cfg).paper_teacher_settings()} == {None}  # synthetic
    assert g.paper_keys("methods")["siked_cotd"] == "cotd"


# ---------------------------------------------------------------- local resources
def test_visible_gpus(tmp_path):
    proc, dev = tmp_path / "gpus", tmp_path / "dev"
    dev.mkdir()
    (dev / "nvidiactl").write_text("")
    assert visible_gpus({}, proc, dev) == 0  # no NVIDIA GPU (a control device is none)
    (dev / "nvidia0").write_text("")
    assert visible_gpus({}, proc, dev) == 1  # a container: device files only
    for i in range(2):
        (proc / f"0000:0{i}:00.0").mkdir(parents=True)
    assert visible_gpus({}, proc, dev) == 2
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "1"}, proc, dev) == 1
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": ""}, proc, dev) == 0
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "0,-1,1"}, proc, dev) == 1
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "0,1,2,3"}, proc, dev) == 2
    assert visible_gpus({"MATHDISTILL_GPUS": "3"}, proc, dev) == 3
    with pytest.raises(ValueError, match="MATHDISTILL_GPUS"):
        visible_gpus({"MATHDISTILL_GPUS": "-1"}, proc, dev)


def test_local_resources_ask_for_a_gpu_only_where_the_student_runs_on_one():
    cpu, gpu = LocalResources(0), LocalResources(1)
    assert cpu.get("train", "gpu") == cpu.get("predict", "gpu") == 0
    assert gpu.get("train", "gpu") == gpu.get("predict", "gpu") == 1
    assert gpu.get("default", "gpu") == 0
    assert gpu.get("teacher", "gpu", teacher_backend="openai") == 0
    assert gpu.get("teacher", "gpu", teacher_backend="vllm") == 1
    assert cpu.get("teacher", "gpu", teacher_backend="vllm") == 0
    assert gpu.get("train", "mem_mb") == 6000 and gpu.get("teacher", "runtime") == 120
    assert gpu.get("default", "threads") == 1
    with pytest.raises(KeyError, match="no local default 'mem_mb'"):
        gpu.get("default", "mem_mb")  # left to a profile's default-resources


# ---------------------------------------------------------------- data check
def test_data_check_names_directory_files_and_the_fetch_command(cfg, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no prepared outputs here
    data = tmp_path / "data"
    (data / "gsm8k").mkdir(parents=True)
    (data / "gsm8k" / "test.jsonl").write_text("")
    cfg["data_dir"] = str(data)
    with pytest.raises(DataMissing) as err:
        check_data(Grid(cfg))
    text = str(err.value)
    assert str(data) in text and "svamp/SVAMP.json (svamp)" in text
    assert "gsm8k/test.jsonl" not in text and FETCH_HINT in text
    assert "python -m mathdistill data fetch" in text
    # data sets whose prepared file exists need no source
    for name in ("svamp", "asdiv", "multiarith"):
        Path(f"results/data/{name}.jsonl").parent.mkdir(parents=True, exist_ok=True)
        Path(f"results/data/{name}.jsonl").write_text("")
    assert check_data(Grid(cfg)) == data
    cfg["data_dir"] = str(tmp_path / "nowhere")
    with pytest.raises(DataMissing, match="data directory not found"):
        check_data(Grid(cfg))
    cfg["eval_sets"] = {"s": cfg["eval_sets"]["synthetic"]}  # synthetic: no files
    assert check_data(Grid(cfg)) is None


def test_needed_files_follow_the_loader_registry():
    assert needed_files({"dataset": "gsm8k", "split": "test"}) == ["gsm8k/test.jsonl"]
    assert needed_files({"dataset": "gsm8k", "split": "test", "options": {"socratic": True}}) \
        == ["gsm8k/test_socratic.jsonl"]
    assert needed_files({"dataset": "synthetic", "split": "train"}) == []


def test_a_budget_forbids_per_run_training_lengths():
    from mathdistill.students.budget import LENGTH_KEYS
    from mathdistill.workflow.grid import BUDGET_LENGTH_KEYS

    assert BUDGET_LENGTH_KEYS == LENGTH_KEYS
    cfg = _cfg("config.yaml")
    assert cfg.get("budget") and not Grid(cfg).problems
    cfg["methods"]["cotd"]["train"] = {"epochs": 3}
    cfg["students"]["tiny-t5"]["train"]["max_steps"] = 10
    assert sorted(p[0] for p in Grid(cfg).problems) == [
        ("methods", "cotd", "train", "epochs"), ("students", "tiny-t5", "train", "max_steps")]


def test_chain_priority_puts_rounds_others_wait_for_first():
    g = Grid(_cfg("config.yaml"))
    assert g.chain("potd", 0) == 2 and g.chain("fdd", 1) == 1      # potd -> fdd round 1
    assert g.chain("combined", 0) == 2 and g.chain("siked", 0) == 2  # combined -> siked r1
    assert g.chain("cotd", 0) == 2                                   # cotd -> tailored_nosr r1
    assert g.chain("tailored", 0) == 2 and g.chain("tailored", 1) == 1
    assert g.chain("eotd", 0) == 1 and g.chain("etd", 0) == 1
