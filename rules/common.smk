# Wiring of the library's grid (mathdistill.workflow; the Snakefile builds GRID and JOBS)
# into Snakemake: resources of a local run, adaptors for input/param functions, the one
# wildcard_constraints block, paper-table settings. No grid logic lives here.
import re

import yaml

from mathdistill.workflow.grid import MULTI_TYPES, STRATEGIES, canon
from mathdistill.workflow.resources import LocalResources, visible_gpus

R = GRID.results

# ---- resources of a local run (a profile overrides them by rule: profiles/slurm). On a
# machine with GPUs every student job (train, predict) asks for gpu=1, and the gpu resource
# is capped at the number of GPUs unless --resources gpu=N says otherwise: one GPU, one
# GPU job at a time. Not for cluster runs (--jobs), whose jobs get their own GPUs.
RES = LocalResources(visible_gpus())
if (RES.gpus and workflow.is_main_process and workflow.resource_settings.nodes is None
        and "gpu" not in workflow.global_resources):
    workflow.global_resources["gpu"] = RES.gpus


def res(stage, key):
    return RES.get(stage, key)


def teacher_gpu(w):
    """A teacher job's GPU: only an in-process backend (hf, vllm) on a GPU machine."""
    return RES.get("teacher", "gpu", teacher_backend=GRID.teacher(w.teacher)["backend"])


def run_teacher_gpu(w):
    """The same for the teacher calls of a run's jobs (FDD questions, Tailored feedback)."""
    return RES.get("teacher", "gpu", teacher_backend=GRID.run_backend(w.method))


# Tiny jobs run in the main Snakemake process (on a cluster: the login node), not as jobs
# of their own: copies/hard links (+ the metrics of copied predictions), the tables.
localrules: reuse_round0, reuse_predictions, tables, claims, plots, paper_tables, all


# ---- adaptors: library functions of (run, student, round) as input/param functions
def job(fn, *args, **kwargs):
    return lambda w: fn(w.method, w.student, int(w.round), *args, **kwargs)


def per_run(fn, *args, **kwargs):
    return lambda w: fn(w.method, *args, **kwargs)


def run_meta(w):
    """method/run/seed/student of a run's job, for its logs and metrics."""
    return GRID.meta(w.method, student=w.student)


def round_meta(w):  # (no **kwargs: Snakemake would pass input, resources, ... into them)
    return GRID.meta(w.method, student=w.student, round=int(w.round))


def round_priority(w):
    """Priority of a round's jobs: the training runs on the longest chain it starts."""
    return GRID.chain(w.method, int(w.round))


def eval_sets(w):
    """The eval sets a prediction job answers, sorted: the config's key order reruns
    nothing (params; input: eval_problems, in the same order)."""
    return sorted(GRID.eval_sets_of(w.method))


def eval_problems(w):
    return [JOBS.data(d) for d in eval_sets(w)]


def source(w):
    """Where the job's script finds its operational settings (workflow.settings.full)."""
    return GRID.source(w.method, w.student)


def _alt(names):
    return "|".join(sorted((re.escape(n) for n in names), key=len, reverse=True))


def only(names):
    """A rule-level wildcard constraint matching exactly `names` (none: matches nothing)."""
    return _alt(names) if names else "(?!)"


wildcard_constraints:
    method=_alt(GRID.runs),
    student=_alt(GRID.students),
    dataset=_alt([*GRID.eval_sets, *GRID.train_sets]),
    strategy=_alt(STRATEGIES),
    teacher=_alt(GRID.teacher_strategies()),
    round=r"\d+",


# ---- paper tables (rules/paper.smk): the papers in config/paper_results.yaml
PAPER_RESULTS = os.path.relpath(os.path.join(workflow.basedir, "config", "paper_results.yaml"))
with open(PAPER_RESULTS, encoding="utf-8") as _f:
    PAPERS = list(yaml.load(_f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))["papers"])


def print_tables(paths):
    """Print the Markdown tables (called when the run succeeds)."""
    for path in paths:
        if path.endswith(".md") and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                print(f"\n{f.read()}")
