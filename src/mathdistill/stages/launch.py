"""Multi-process training: run a stage function under `accelerate launch`, one process per GPU.

    from mathdistill.stages.launch import run, rank
    log = run("mathdistill.stages.students:train", {"base": ..., "examples_file": ...,
              "out_dir": ..., "log_out": ..., "cfg": {...}}, num_processes=4)

`num_processes` <= 1 calls the function in this process. Above 1 it writes the call to a JSON
spec and runs

    python -m accelerate.commands.launch --num_machines 1 --num_processes N
        --main_process_port <a free port> --multi_gpu -m mathdistill.stages.launch SPEC

where every rank calls the function with the same arguments; the HF Trainer picks the
distributed setup (DDP) up from accelerate's environment, so each GPU trains on its shard of
every batch (the global batch is N x batch_size x grad_accum). `rank()` tells a function
which process it is: rank 0 writes the outputs (see stages.students.train). The workflow's
train, siked_train and fdd_train rules take N from their `gpu` resource
(stages.students.train_on; profiles/slurm: `set-resources: train: gpu: 4`).

Environment: MATHDISTILL_ACCELERATE_CONFIG = an `accelerate config` file used instead of
--multi_gpu (FSDP or DeepSpeed ZeRO-3 for students whose weights and optimizer states do
not fit one GPU, e.g. GPT-J-6B full fine-tuning). Without a GPU the ranks run on the CPU
under `torch.distributed.run` (gloo; accelerate's multi-CPU launch needs MPI): that is how
the tests exercise this path.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from mathdistill.io import read_json, write_json

__all__ = ["launch_command", "main", "rank", "run"]

logger = logging.getLogger(__name__)

CONFIG_ENV = "MATHDISTILL_ACCELERATE_CONFIG"


def rank() -> int:
    """This process's global rank under a distributed launcher (0 when not distributed)."""
    return int(os.environ.get("RANK", "0"))


def _call(target: str, kwargs: Mapping):
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)(**dict(kwargs))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def launch_command(spec, num_processes: int, *, cpu: bool | None = None,
                   config_file: str | None = None) -> list[str]:
    """The `accelerate launch` command line that runs `spec` on `num_processes` ranks."""
    cpu = (not _cuda()) if cpu is None else cpu
    config_file = config_file if config_file is not None else os.environ.get(CONFIG_ENV)
    n, port = str(int(num_processes)), str(_free_port())
    if cpu and not config_file:  # accelerate's multi-CPU launch needs MPI; torchrun does not
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1",
               "--nproc_per_node", n, "--master_port", port]
    else:
        cmd = [sys.executable, "-m", "accelerate.commands.launch", "--num_machines", "1",
               "--num_processes", n, "--main_process_port", port]
        if config_file:
            cmd += ["--config_file", str(config_file)]
        else:  # the Trainer decides bf16 itself
            cmd += ["--multi_gpu", "--mixed_precision", "no", "--dynamo_backend", "no"]
    return cmd + ["-m", "mathdistill.stages.launch", str(spec)]


def run(target: str, kwargs: Mapping, num_processes: int = 1, *, log_out=None,
        cpu: bool | None = None):
    """Call `target` ("module:function") with `kwargs` here (N <= 1) or on N ranks.

    With N > 1 the ranks' output goes to this process's stderr (the rule's log file) and
    the return value is read from `log_out` (a JSON the function writes on rank 0), or None.
    """
    n = int(num_processes or 1)
    if n <= 1:
        return _call(target, kwargs)
    with tempfile.TemporaryDirectory(prefix="mathdistill-launch-") as tmp:
        spec = Path(tmp) / "spec.json"
        write_json(spec, {"target": target, "kwargs": dict(kwargs)})
        cmd = launch_command(spec, n, cpu=cpu)
        logger.info("launching %s on %d processes: %s", target, n, " ".join(cmd))
        sys.stderr.flush()
        try:
            sink = sys.stderr if sys.stderr.fileno() >= 0 else None
        except (AttributeError, OSError, ValueError):  # no real file (e.g. captured)
            sink = None
        proc = subprocess.run(cmd, stdout=sink, stderr=sink, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"accelerate launch of {target} on {n} processes failed "
                               f"(exit {proc.returncode}); the ranks' output is above")
    return read_json(log_out) if log_out is not None else None


def main(argv: list[str] | None = None) -> None:
    """Entry point of each rank: `python -m mathdistill.stages.launch SPEC.json`."""
    argv = sys.argv[1:] if argv is None else argv
    spec = read_json(argv[0])
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, force=True,
                        format=f"%(asctime)s rank {rank()} %(levelname)s %(name)s: %(message)s")
    _call(spec["target"], spec["kwargs"])


if __name__ == "__main__":
    main()
