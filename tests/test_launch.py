"""stages.launch: training under a multi-process launcher (one process per GPU; here CPU
ranks with gloo), directly and through the workflow's train rule (`gpu` resource > 1)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from mathdistill.io import write_jsonl
from mathdistill.stages.launch import launch_command, rank, run


def test_launch_command_per_device(monkeypatch):
    monkeypatch.delenv("MATHDISTILL_ACCELERATE_CONFIG", raising=False)
    gpu = launch_command("spec.json", 4, cpu=False)
    assert gpu[:3] == [sys.executable, "-m", "accelerate.commands.launch"]
    assert gpu[gpu.index("--num_processes") + 1] == "4" and "--multi_gpu" in gpu
    assert gpu[-3:] == ["-m", "mathdistill.stages.launch", "spec.json"]
    port = int(gpu[gpu.index("--main_process_port") + 1])
    assert 0 < port < 65536  # a free port: two jobs on one node do not collide
    cpu = launch_command("spec.json", 2, cpu=True)
    assert cpu[2] == "torch.distributed.run" and cpu[cpu.index("--nproc_per_node") + 1] == "2"
    monkeypatch.setenv("MATHDISTILL_ACCELERATE_CONFIG", "/cfg/fsdp.yaml")
    fsdp = launch_command("spec.json", 8, cpu=False)
    assert fsdp[fsdp.index("--config_file") + 1] == "/cfg/fsdp.yaml" and "--multi_gpu" not in fsdp


def test_one_process_calls_in_place(tmp_path):
    assert rank() == 0
    out = run("json:dumps", {"obj": [1, 2]}, num_processes=1)
    assert out == "[1, 2]"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from mathdistill.students import build_tiny

    d = tmp_path_factory.mktemp("launch")
    ex = [{"prompt": f"Question: what is {i} plus {i}?\n",
           "target": f"{i} + {i} = {2 * i}. The answer is {2 * i}."} for i in range(32)]
    write_jsonl(d / "examples.jsonl", ex)
    build_tiny("tiny-t5", [e["prompt"] + e["target"] for e in ex], d / "base", seed=0,
               vocab_size=300)
    return d


def _train(d: Path, n: int) -> dict:
    cfg = {"model": "tiny-t5", "finetune": "full", "lora": {},
           "train": {"epochs": 1, "batch_size": 4, "lr": 1e-3, "logging_steps": 1,
                     "max_source_len": 64, "max_target_len": 64, "group_by_length": False}}
    kwargs = {"base": str(d / "base"), "examples_file": str(d / "examples.jsonl"),
              "out_dir": str(d / f"ckpt{n}"), "log_out": str(d / f"log{n}.json"), "cfg": cfg,
              "meta": {"processes": n}, "threads": 1}
    return run("mathdistill.stages.students:train", kwargs, num_processes=n,
               log_out=d / f"log{n}.json")


@pytest.mark.slow
def test_two_ranks_split_each_batch(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the ranks' scratch dirs land here
    one, two = _train(tiny, 1), _train(tiny, 2)
    assert one["steps"] == 8 and two["steps"] == 4  # 32 examples, batch 4 per rank
    assert two["processes"] == 2 and json.loads((tiny / "log2.json").read_text()) == two
    assert (tiny / "ckpt2" / "config.json").is_file()
    assert not list(tmp_path.glob("mathdistill-rank*"))  # rank 1's copy was removed
    from mathdistill.students import generate

    out = generate(str(tiny / "ckpt2"), ["Question: what is 3 plus 3?\n"])
    assert len(out) == 1 and isinstance(out[0][0], str)


@pytest.mark.slow
def test_train_rule_launches_one_rank_per_gpu_resource(tmp_path, data_dir):
    """`--set-resources train:gpu=2` (what a profile sets) -> the train job runs 2 ranks."""
    from test_workflow import REPO, snakemake, work_copy

    cfg = yaml.safe_load((REPO / "tests" / "configs" / "tiny.yaml").read_text())
    cfg["methods"] = {"cotd": cfg["methods"]["cotd"]}
    cfg["train_set"]["options"]["n"] = 64
    cfg["students"]["tiny-t5"]["train"].update(epochs=1, batch_size=8, logging_steps=1)
    path = tmp_path / "one.yaml"
    path.write_text(yaml.safe_dump(cfg))
    work = work_copy(tmp_path / "wf")
    target = "results/cotd/tiny-t5/round0/train_log.json"
    snakemake(work, target, "--cores", "2", "--configfile", str(path),
              "--set-resources", "train:gpu=2", data_dir=data_dir, timeout=900)
    log = json.loads((work / target).read_text())
    log_text = (work / "results/logs/train/cotd/tiny-t5/round0.log").read_text()
    assert "torch.distributed.run" in log_text and "rank 1 " in log_text
    assert log["steps"] == -(-log["examples"] // 16)  # ceil(examples / (2 ranks x 8))
    assert log["method"] == "cotd" and log["seed"] == 0
