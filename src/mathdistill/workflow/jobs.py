"""Paths, input files and code digests of the workflow's jobs (rules/*.smk wire these in).

    from mathdistill.workflow.jobs import Jobs
    jobs = Jobs(grid, root=".")                       # root: the workflow (Snakefile) folder
    jobs = Jobs(grid, ".", cache_file=".snakemake/mathdistill/code.json")  # kept between runs
    jobs.round_dir("fdd", "tiny-t5", 1)               # "results/fdd/tiny-t5/round1"
    jobs.round_inputs("fdd", "tiny-t5", 1)            # {"rationales": [D_0, G_1]}
    jobs.train_inputs("fdd", "tiny-t5", 1)            # + {"base": <the tiny student>}
    jobs.code("train", method="etd")                  # digest of the script + its library
    jobs.metrics()                                    # every metrics file of the grid
    jobs.metrics_dirs()                               # ... and the folders (rule outputs)

`code(script, **choose)` is one digest of the normalised source of
`workflow/scripts/<script>.py` and the library modules it runs (closure.ImportGraph over
`<root>/src`); `choose` picks what the script imports by name (`teacher=<backend>`,
`method=<type>`). A rule passes it as a param, so editing a module reruns exactly the jobs
whose scripts import it, transitively, and a comment or docstring edit reruns nothing.
"""

from __future__ import annotations

from pathlib import Path

from mathdistill.workflow.closure import ImportGraph
from mathdistill.workflow.grid import Grid

__all__ = ["Jobs"]


class Jobs:
    def __init__(self, grid: Grid, root: str | Path, cache_file: str | Path | None = None):
        self.grid = grid
        self.root = Path(root)
        self.R = grid.results
        self.graph = ImportGraph(self.root / "src", cache_file=cache_file)

    # ---------------------------------------------------------------- code
    def script(self, name: str) -> Path:
        return self.root / "workflow" / "scripts" / f"{name}.py"

    def code(self, script: str, **choose) -> str:
        return self.graph.digest(self.script(script), choose or None)

    # ---------------------------------------------------------------- paths
    def data(self, name: str) -> str:
        return f"{self.R}/data/{name}.jsonl"

    def train_file(self, run: str) -> str:
        """The prepared train set a run learns from (its teacher annotated it)."""
        return self.data(self.grid.train_set_of(run))

    def teacher_problems(self, teacher: str) -> str:
        """The prepared train set a teacher annotates."""
        return self.data(self.grid.teacher_train_set(teacher))

    def teacher_file(self, teacher: str, strategy: str, name: str = "filtered.jsonl") -> str:
        return f"{self.R}/teacher/{teacher}/{strategy}/{name}"

    def round_dir(self, run: str, student: str, r: int) -> str:
        return f"{self.R}/{run}/{student}/round{int(r)}"

    def filtered(self, run: str, strategies=None) -> list[str]:
        """The filtered rationales of a run's teacher for its (or the given) strategies."""
        teacher = self.grid.teacher_of(run)
        return [self.teacher_file(teacher, s)
                for s in (strategies or self.grid.strategies(run))]

    # ---------------------------------------------------------------- inputs
    def base_model(self, run: str, student: str, r: int) -> dict:
        """The built tiny student (a rule output), or nothing for a hub model id/path; an
        on-policy round r >= 1 adds `resume_from`: the round r-1 checkpoint."""
        r = int(r)
        out = {"base": f"{self.R}/students/{student}/base"} if self.grid.is_tiny(student) else {}
        if self.grid.on_policy(run) and r > 0:
            out["resume_from"] = f"{self.round_dir(run, student, r - 1)}/checkpoint"
        return out

    def train_inputs(self, run: str, student: str, r: int) -> dict:
        """Inputs of a round's train job: the model it starts from (base_model) and what
        its training examples are built from (round_inputs)."""
        return {**self.base_model(run, student, r), **self.round_inputs(run, student, r)}

    def round_inputs(self, run: str, student: str, r: int) -> dict:
        """What a round's training examples are built from, by method type."""
        r, kind = int(r), self.grid.run(run).type
        if kind in ("single", "etd", "combined"):
            if r != 0:
                raise ValueError(f"method {run}: type {kind!r} has one round (round0 only)")
            return {"rationales": self.filtered(run)}
        if kind == "siked":  # round r >= 1: the samples of the round r-1 student
            extra = {"self_samples": f"{self.round_dir(run, student, r)}/self_samples.jsonl"}
            return {"rationales": self.filtered(run), **(extra if r else {})}
        if kind == "fdd":  # D_r = D_0 ∪ G_1 .. G_r
            return {"rationales": self.fdd_rationales(run, student, r)}
        if kind == "tailored":
            return self.tailored_round_inputs(run, student, r)
        raise ValueError(f"method {run}: unknown type {kind!r}")

    def reused(self, run: str, student: str, name: str) -> str:
        """A file of the round 0 that `run` reuses (Grid.round0_from)."""
        return f"{self.round_dir(self.grid.round0_from(run), student, 0)}/{name}"

    def previous_checkpoint(self, run: str, student: str, r: int, rule: str) -> str:
        """Round r-1's checkpoint (rules that need r >= 1: exams, self-generation)."""
        r = int(r)
        if r < 1:
            raise ValueError(f"method {run}: rule {rule} runs in rounds >= 1, not {r}")
        return f"{self.round_dir(run, student, r - 1)}/checkpoint"

    # ---- FDD
    def fdd_rationales(self, run: str, student: str, upto: int) -> list[str]:
        """D_upto's files: D_0, then G_1 .. G_upto (programs.jsonl of those rounds)."""
        return self.filtered(run) + [f"{self.round_dir(run, student, r)}/programs.jsonl"
                                     for r in range(1, int(upto) + 1)]

    def fdd_exam_inputs(self, run: str, student: str, r: int) -> dict:
        """Round r's exam job: the round r-1 student (`checkpoint`) and what its question
        pool P_r is drawn from (round 1: the questions of D_0; else hard(P_{r-1}) and the
        questions generated in round r-1); the job writes P_r, then the exam on it."""
        r = int(r)
        out = {"checkpoint": self.previous_checkpoint(run, student, r, "fdd_exam")}
        if r == 1:
            return {**out, "train": self.train_file(run), "d0": self.filtered(run)[0]}
        prev = self.round_dir(run, student, r - 1)
        return {**out, "pool": f"{prev}/pool.jsonl", "exam": f"{prev}/exam.jsonl",
                "generated": f"{prev}/generated.jsonl"}

    # ---- Tailored Learning
    def tailored_exam_model(self, run: str, student: str, r: int) -> dict:
        """The student that sits round r's exam: round r-1's checkpoint; round 0: the base
        (a tiny-* build; a hub model is loaded by name, params.model)."""
        r = int(r)
        if r > 0:
            return {"model": f"{self.round_dir(run, student, r - 1)}/checkpoint"}
        return {"model": f"{self.R}/students/{student}/base"} if self.grid.is_tiny(student) else {}

    def tailored_round_inputs(self, run: str, student: str, r: int) -> dict:
        """This round's exam and mistakes, the teacher's data (round 0) or feedback (r >= 1;
        + earlier rounds' with `accumulate`), and the extra positives."""
        r, opts = int(r), self.grid.run(run).options
        d = self.round_dir(run, student, r)
        extra = opts.get("positive_strategies") or []
        out = {"exam_file": f"{d}/exam.jsonl", "mistakes_file": f"{d}/mistakes.json",
               "positive_files": self.filtered(run, extra) if extra else [],
               "train_file": self.train_file(run)}  # answer choices (CSQA's prompt)
        if r == 0:
            out["teacher_files"] = self.filtered(run)
        else:
            out["feedback_files"] = [f"{d}/feedback.jsonl"]
            if opts.get("accumulate", False):
                out["previous_files"] = self.filtered(run) + [
                    f"{self.round_dir(run, student, k)}/feedback.jsonl" for k in range(1, r)]
        return out

    # ---- predictions: one job per model writes a folder of each (stages.eval_sets)
    def _cells_dirs(self, name: str) -> list[str]:
        return [f"{self.round_dir(run, st, r)}/{name}" for run, st, r in self.grid.cells()]

    # ---------------------------------------------------------------- targets
    def metrics(self) -> list[str]:
        """Every metrics file of the grid: <round>/metrics/<eval set>.json."""
        return [f"{self.round_dir(run, st, r)}/metrics/{d}.json"
                for run, st, r in self.grid.cells() for d in self.grid.eval_sets_of(run)]

    def metrics_dirs(self) -> list[str]:
        """The metrics folders the files of metrics() are in (rule outputs)."""
        return self._cells_dirs("metrics")

    def predictions_dirs(self) -> list[str]:
        return self._cells_dirs("predictions")

    def claim_runs(self) -> list[dict]:
        """What the claims rule reads: one entry per run, student, round and eval set with
        the run's meta and its predictions file (mathdistill.claims)."""
        runs = [{**self.grid.meta(run), "student": st, "round": r, "dataset": d,
                 "path": f"{self.round_dir(run, st, r)}/predictions/{d}.jsonl"}
                for run, st, r in self.grid.cells() for d in self.grid.eval_sets_of(run)]
        return sorted(runs, key=lambda x: x["path"])  # params: not the config's key order

    def train_logs(self) -> list[str]:
        return [f"{self.round_dir(run, st, r)}/train_log.json" for run, st, r in self.grid.cells()]

    def mix_stats(self) -> list[str]:
        """SIKeD's per-round mix statistics (alpha) of every siked run; a round 0 copied from
        another run (round0_from) has no mix of its own."""
        return [f"{self.round_dir(run, st, r)}/mix_stats.json" for run, st, r in self.grid.cells()
                if self.grid.run(run).type == "siked"
                and not (r == 0 and self.grid.round0_from(run))]

    def pretrained_dir(self, run: str, student: str) -> str:
        """The untrained student's outputs of a few-shot Tailored run (Grid.fewshot_runs)."""
        return f"{self.R}/{run}/{student}/pretrained"

    def pretrained_metrics(self) -> list[str]:
        return [f"{self.pretrained_dir(run, st)}/metrics/{d}.json"
                for run in self.grid.fewshot_runs() for st in self.grid.students_of(run)
                for d in self.grid.eval_sets_of(run)]

    def pretrained_metrics_dirs(self) -> list[str]:
        return [f"{self.pretrained_dir(run, st)}/metrics"
                for run in self.grid.fewshot_runs() for st in self.grid.students_of(run)]

    def teacher_call_costs(self) -> list[str]:
        """The cost records of the teacher calls made by FDD (question generation and
        labels) and Tailored Learning (feedback) in rounds >= 1."""
        return [f"{self.round_dir(run, st, r)}/teacher_cost.json"
                for run, st, r in self.grid.cells()
                if r >= 1 and self.grid.run(run).type in ("fdd", "tailored")]

    def teacher_outputs(self, name: str) -> list[str]:
        """filter_stats.json / cost.json of every (teacher, strategy) the grid uses."""
        return [self.teacher_file(t, s, name)
                for t, strategies in self.grid.teacher_strategies().items() for s in strategies]
