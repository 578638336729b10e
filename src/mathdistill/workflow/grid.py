"""The benchmark grid of a workflow config: method runs x students x rounds x eval sets.

    from mathdistill.workflow.grid import Grid
    grid = Grid(config)                      # a schema-valid config (workflow.load_grid)
    grid.problems                            # [(key path, message)]: cross-key errors
    grid.runs                                # {"cotd": Run(...), "cotd-s1": Run(...), ...}
    grid.students_of("cotd"), grid.rounds("fdd"), grid.teacher_of("fdd")
    grid.train_set_of("cotd"), grid.eval_sets_of("cotd")   # "train", ["gsm8k", ...]
    grid.train("cotd", "tiny-t5")            # the train rule's params (experiment settings)
    grid.round0_from("fdd")                  # "potd": the run whose round 0 fdd reuses

Seeds: every method runs once per training seed (its own `seeds`, else the global list).
The first seed's run keeps the method's name, the others are `<name>-s<seed>`; a run is
the method's config with train.seed and generation.seed set, so every rule treats it as a
method of its own (own paths and params). `Run.method` is the configured name.

Teachers, train and eval sets: `teacher_of(run)` is the one place that says which teacher
serves a method (`teachers: {name: spec}`, the method's `teacher`; its results live under
teacher/<name>/), `train_set_of` / `eval_sets_of` which questions it learns from and is
scored on (workflow.assign); `settings.teacher_spec` reads a teacher's config.
Input paths and code digests of the rules: `workflow.jobs.Jobs`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mathdistill.workflow.assign import assign
from mathdistill.workflow.settings import experimental, merge, teacher_spec

__all__ = ["CONTINUES", "MULTI_TYPES", "ROUND0_OF", "STRATEGIES", "Grid", "Run", "canon"]

STRATEGIES = ("cot", "pot", "eot", "l2m")
MULTI_TYPES = ("etd", "combined", "siked")  # predicted by rule predict_multi
# type -> the type of method whose round 0 it may reuse (methods.<name>.round0_from)
# (tailored: only without self-reflection, lambda 0, and the project's prompt: its round 0
# is then plain distillation of the teacher's rationales, i.e. the single method's run)
ROUND0_OF = {"siked": "combined", "fdd": "single", "tailored": "single"}
# type: (option, its default, the value that continues from round r-1)
CONTINUES = {"siked": ("policy", "on", "on"), "fdd": ("init", "base", "previous"),
             "tailored": ("init", "previous", "previous")}
# train keys a `budget` replaces (students.budget.LENGTH_KEYS; that module imports torch)
BUDGET_LENGTH_KEYS = ("epochs", "max_steps")
# the options each step of an iterative method reads (its rule's params): changing one
# reruns only the rules that read it (Tailored's round and train subsets: one train rule).
# Every option of these types is read by at least one rule or is CONTINUES' key (which
# decides the train rule's inputs): tests/test_workflow_protocol.py checks it against the
# schema and rules/*.smk.
OPTION_KEYS = {
    "fdd": {"pool": ["pool_limit"], "exam": ["exam"],
            "generate": ["k", "min_agree", "rouge_threshold", "dedup_within_round"]},
    # prompt/task: the student's prompt (the paper's few-shot one or the project's), in the
    # exam, the round's examples, training (the examples carry it) and evaluation
    "tailored": {"exam": ["exam_limit", "exam", "prompt", "task"],
                 "feedback": ["feedback_per_question"],
                 "round": ["max_pos", "max_neg", "accumulate", "positives_from_exam",
                           "positive_strategies", "prompt", "task"],
                 "train": ["margin", "lambda", "max_sr_len", "prompt_loss_weight",
                           "prefix_cache", "unique_questions"],
                 "eval": ["prompt", "task"]},
}


def canon(obj):
    """`obj` with dict keys sorted (recursively): params compare by repr, so a config that
    only lists keys in another order must not rerun anything."""
    if isinstance(obj, Mapping):
        return {k: canon(obj[k]) for k in sorted(obj)}
    if isinstance(obj, (list, tuple)):
        return [canon(v) for v in obj]
    return obj


@dataclass(frozen=True)
class Run:
    """One seed replicate of a configured method."""

    name: str    # run name: the method's name (first seed) or <method>-s<seed>
    method: str  # the configured method (methods.<method>)
    seed: int
    cfg: dict    # the method's config with train.seed / generation.seed of this run

    @property
    def type(self) -> str:
        return self.cfg["type"]

    @property
    def options(self) -> dict:
        return dict(self.cfg.get("options") or {})


class Grid:
    """The runs, students, rounds, eval sets and teachers of a config; `problems` lists
    what the schema cannot check (unknown students, run-name clashes, round-0 reuse)."""

    def __init__(self, config: Mapping):
        self.config = config
        self.results = str(config.get("results_dir", "results")).rstrip("/")
        self.seed = config.get("seed", 0)
        self.students = dict(config["students"])
        self.eval_sets = dict(config["eval_sets"])
        self.problems: list[tuple[tuple, str]] = []
        self._assigned = assign(config)
        self.problems += self._assigned.problems
        self.train_sets = self._assigned.train_sets  # name -> loader spec
        self._check_budget()
        self.runs = self._seed_runs()
        self._round0 = {r: self._round0_from(r) for r in self.runs}
        self.reuse_round0 = [r for r in self.runs if self._round0[r]]
        self.reuse_predictions = [r for r in self.reuse_round0 if self._same_predictions(r)]

    def _check_budget(self) -> None:
        """With a `budget`, no student or method may set its own training length."""
        if not self.config.get("budget"):
            return
        for kind in ("students", "methods"):
            for name, cfg in self.config[kind].items():
                for key in BUDGET_LENGTH_KEYS:
                    if (cfg.get("train") or {}).get(key) is not None:
                        why = "budget.steps_per_round sets every run's length: remove this key"
                        self.problems.append(((kind, name, "train", key), why))

    # ---------------------------------------------------------------- runs
    def _seed_runs(self) -> dict[str, Run]:
        runs: dict[str, Run] = {}
        seeds = self.config.get("seeds") or [self.seed]
        methods = self.config["methods"]
        for name, cfg in methods.items():
            for bad in sorted(set(cfg.get("students") or []) - set(self.students)):
                known = ", ".join(self.students)
                self.problems.append((("methods", name, "students"),
                                      f"unknown student {bad!r} (students: {known})"))
            for i, seed in enumerate(cfg.get("seeds") or seeds):
                run = name if i == 0 else f"{name}-s{seed}"
                if run in runs or (i and run in methods):
                    clash = f"run {run!r} (seed {seed}) clashes with another method's name"
                    self.problems.append((("methods", name, "seeds"), clash))
                    continue
                runs[run] = Run(run, name, seed, merge(cfg, {"train": {"seed": seed},
                                                             "generation": {"seed": seed}}))
        return runs

    def run(self, run: str) -> Run:
        return self.runs[run]

    def meta(self, run: str, **extra) -> dict:
        """What a run's metrics/tables/logs say about it: method, run name, seed (+ extra)."""
        r = self.runs[run]
        return {"method": r.method, "run": r.name, "seed": r.seed, **extra}

    def of_type(self, *types: str, exclude: bool = False) -> list[str]:
        """Runs whose type is (exclude=True: is not) one of `types`."""
        return [n for n, r in self.runs.items() if (r.type in types) != exclude]

    def students_of(self, run: str) -> list[str]:
        """The students a run trains (default: all)."""
        return [s for s in self.runs[run].cfg.get("students") or self.students
                if s in self.students]

    def rounds(self, run: str) -> list[int]:
        return list(range(self.runs[run].cfg.get("rounds", 1)))

    def strategies(self, run: str) -> list[str]:
        return list(self.runs[run].cfg["strategies"])

    def strategy(self, run: str) -> str:
        """The one strategy of an FDD / Tailored Learning run (the schema checks it is one)."""
        return self.runs[run].cfg["strategies"][0]

    def eval_strategy(self, run: str) -> str:
        return self.runs[run].cfg.get("eval_strategy") or self.strategies(run)[0]

    def eval_sets_of(self, run: str) -> list[str]:
        """The eval sets a run is scored on (its method's `eval_sets`, default all)."""
        return list(self._assigned.evals[self.runs[run].method])

    def train_set_of(self, run: str) -> str:
        """The name of the train set a run learns from (its data: data/<name>.jsonl)."""
        return self._assigned.train[self.runs[run].method]

    def cells(self):
        """(run, student, round) of every trained model."""
        for run in self.runs:
            for student in self.students_of(run):
                for r in self.rounds(run):
                    yield run, student, r

    def chain(self, run: str, r: int) -> int:
        """The number of training runs on the longest chain that starts with round r of
        `run`: its later rounds, and for round 0 the rounds of runs that reuse it
        (round0_from). The jobs of a round get it as their priority, so that the rounds
        others wait for start first (critical path first; ties: Snakemake's choice)."""
        r = int(r)
        nxt = [(run, r + 1)] if r + 1 < len(self.rounds(run)) else []
        if r == 0:
            nxt += [(x, 1) for x in self.runs if self._round0[x] == run and len(self.rounds(x)) > 1]
        return 1 + max((self.chain(*n) for n in nxt), default=0)

    def is_tiny(self, student: str) -> bool:
        return self.students[student]["model"].startswith("tiny-")

    def on_policy(self, run: str) -> bool:
        """Round r continues from round r-1 (SIKeD policy "on", FDD / Tailored Learning
        option init "previous": Tailored's default, not FDD's)."""
        r = self.runs[run]
        if r.type not in CONTINUES:
            return False
        key, default, value = CONTINUES[r.type]
        return r.options.get(key, default) == value

    def fewshot_runs(self) -> list[str]:
        """Tailored Learning runs with the paper's few-shot prompt (options.prompt
        "fewshot"): evaluated by rule tailored_predict, plus an untrained "pretrained"
        round (rules/tailored_eval.smk)."""
        return [n for n in self.of_type("tailored")
                if self.runs[n].options.get("prompt") == "fewshot"]

    def predicted_by_predict(self) -> list[str]:
        """The runs rule predict answers with: one strategy, the project's prompt."""
        fewshot = set(self.fewshot_runs())
        return [n for n in self.of_type(*MULTI_TYPES, exclude=True) if n not in fewshot]

    def eval_task(self, run: str) -> str:
        """Whose few-shot demos a trained Tailored student is evaluated with: options.task,
        else its train set's data set (the prompt it was trained with) [D]."""
        own = self.train_sets[self.train_set_of(run)]["dataset"]
        return self.runs[run].options.get("task") or own

    def option_subset(self, run: str, step: str) -> dict:
        """The options of an FDD / Tailored run that rule `step` reads (OPTION_KEYS)."""
        r = self.runs[run]
        opts = r.options
        return canon({k: opts[k] for k in OPTION_KEYS[r.type][step] if k in opts})

    def method_params(self, run: str) -> dict:
        """What a method's data rules read: type, strategies, options."""
        return canon({k: self.runs[run].cfg.get(k) for k in ("type", "strategies", "options")})

    # ---------------------------------------------------------------- teachers
    def teacher_of(self, run: str) -> str:
        """The teacher (name) that annotates a run's data and answers its feedback calls:
        the method's `teacher`, or the config's only teacher."""
        name = self._assigned.teacher[self.runs[run].method]
        if name is None:
            raise KeyError(f"method {self.runs[run].method}: no teacher (see Grid.problems)")
        return name

    def teacher_train_set(self, teacher: str) -> str:
        """The train set a teacher annotates (the one its methods share)."""
        return next(self.train_set_of(r) for r in self.runs if self.teacher_of(r) == teacher)

    def teacher(self, name: str) -> dict:
        return teacher_spec(self.config, name)

    def run_backend(self, run: str) -> str:
        """The backend of a run's teacher (what its teacher-calling jobs import)."""
        return self.teacher(self.teacher_of(run))["backend"]

    def teacher_strategies(self) -> dict[str, list[str]]:
        """teacher -> the strategies it annotates (methods' strategies and Tailored
        Learning's positive_strategies), in STRATEGIES order."""
        out: dict[str, set] = {}
        for name, r in self.runs.items():
            used = {*r.cfg["strategies"], *r.options.get("positive_strategies", [])}
            out.setdefault(self.teacher_of(name), set()).update(used)
        return {t: sorted(s, key=STRATEGIES.index) for t, s in out.items()}

    def teacher_params(self, name: str) -> dict:
        """A teacher's backend and experiment options (params of the rules that call it;
        `name` tells the job where its operational options are: settings.full)."""
        spec = self.teacher(name)
        return {"name": name, "backend": spec["backend"],
                "options": canon(experimental("teacher", spec["options"]))}

    def filter_params(self, name: str) -> dict:
        return canon(experimental("filter", self.teacher(name)["filter"]))

    # ---------------------------------------------------------------- paper tables
    def paper_keys(self, kind: str) -> dict:
        """{config name: paper_results.yaml key (a method: or a list of keys)} of the
        students, methods or eval sets with a paper_key."""
        return canon({n: c["paper_key"] for n, c in self.config[kind].items() if c.get("paper_key")})

    def paper_settings(self) -> dict:
        """{method: settings a paper table must match}: its teacher (name), the teacher's
        paths per question (teacher_n) and the size of its training data (train_examples:
        options.data_size, ETD Fig. 5; "all" without a subset)."""
        out = {}
        for run in self.runs.values():
            if run.method in out:
                continue
            teacher = self.teacher_of(run.name)
            opts = run.options
            size = opts.get("data_size")
            if size is not None and opts.get("data_unit", "example") == "question":
                size = f"{size} questions"
            elif size is None and opts.get("data_fraction") is not None:
                size = f"{opts['data_fraction']:g} of all"
            out[run.method] = {"teacher": teacher, "teacher_n": self.teacher(teacher)["n"],
                               "train_examples": "all" if size is None else size}
        return canon(out)

    def paper_teacher_settings(self) -> list[dict]:
        """Per teacher_outputs() file (same order): the teacher, its paths per question and
        the paper data set of its train set (ETD Table 1 compares GSM8K train only; None:
        another train set)."""
        out = []
        for t, strategies in self.teacher_strategies().items():
            spec = self.train_sets[self.teacher_train_set(t)]
            gsm = (spec["dataset"], spec["split"]) == ("gsm8k", "train")
            out += [{"teacher": t, "teacher_n": self.teacher(t)["n"],
                     "dataset": "gsm8k" if gsm else None} for _ in strategies]
        return out

    # ---------------------------------------------------------------- students' settings
    def source(self, run: str, student: str) -> dict:
        """Where a job finds its operational settings (settings.full)."""
        return {"method": self.runs[run].method, "student": student}

    def train(self, run: str, student: str) -> dict:
        """The train rule's params: model, fine-tuning, LoRA, the experiment settings of
        the student's train section with the run's overrides, and the config's training
        `budget` (students.budget applies it)."""
        cfg = self.students[student]
        train = merge(cfg.get("train"), self.runs[run].cfg.get("train"))
        train.setdefault("seed", self.seed)
        budget = {"budget": self.config["budget"]} if self.config.get("budget") else {}
        return canon({"model": cfg["model"], "finetune": cfg.get("finetune", "full"),
                      "lora": cfg.get("lora", {}), "train": experimental("train", train),
                      **budget})

    def generation(self, run: str, student: str, **override) -> dict:
        gen = merge(self.students[student].get("generation"), self.runs[run].cfg.get("generation"))
        return canon({**experimental("generation", gen), **override})

    def loader(self, name: str) -> dict:
        """The loader spec of a prepared data set (a train set or an eval set); data_dir is
        where the files are, not what they are: the job reads it from the config."""
        spec = self.train_sets[name] if name in self.train_sets else self.eval_sets[name]
        return canon({"dataset": spec["dataset"], "split": spec["split"],
                      "limit": spec.get("limit"), "options": spec.get("options", {})})

    # ---------------------------------------------------------------- round-0 reuse
    def round0_from(self, run: str) -> str | None:
        """The run (same seed) whose round 0 the run `run` copies, or None."""
        return self._round0[run]

    def _round0_from(self, run: str) -> str | None:
        r = self.runs[run]
        src = r.cfg.get("round0_from")
        if not src:
            return None
        path = ("methods", r.method, "round0_from")

        def problem(message):
            self.problems.append((path, f"{src!r}: {message}"))

        if r.type not in ROUND0_OF:
            return problem(f"only {'/'.join(ROUND0_OF)} methods can reuse round 0 "
                           f"(this one is {r.type})")
        want = ROUND0_OF[r.type]
        if src not in self.config["methods"]:
            return problem(f"no method {src!r} (a {want} method is needed)")
        same = [n for n, o in self.runs.items() if o.method == src and o.seed == r.seed]
        if not same:
            return problem(f"method {src} does not run with seed {r.seed}")
        base = self.runs[same[0]]
        wrong = []
        if base.type != want:
            wrong.append(f"type {base.type}")
        if set(base.cfg["strategies"]) != set(r.cfg["strategies"]):
            wrong.append(f"strategies {base.cfg['strategies']} (this method: "
                         f"{r.cfg['strategies']})")
        if r.type == "siked" and base.options.get("instruction") != r.options.get("instruction"):
            wrong.append("another options.instruction")
        if self._assigned.teacher[base.method] != self._assigned.teacher[r.method]:
            wrong.append(f"teacher {self._assigned.teacher[base.method]} (this method: "
                         f"{self._assigned.teacher[r.method]})")
        if r.type == "tailored" and (r.options.get("lambda") != 0
                                     or r.options.get("prompt", "project") != "project"):
            return problem("a tailored method reuses a single method's round 0 only "
                           "without self-reflection (options.lambda: 0) and with the "
                           "project's prompt (its round 0 is then that run)")
        missing = sorted(set(self.students_of(run)) - set(self.students_of(same[0])))
        if missing:
            wrong.append(f"no run of student(s) {missing}")
        if wrong:
            return problem(f"needs a {want} method with the same strategies"
                           f"{', instruction' if r.type == 'siked' else ''}, teacher and "
                           f"students; "
                           f"{src} has {'; '.join(wrong)}")
        return same[0]

    def _same_predictions(self, run: str) -> bool:
        """The reused run's round-0 predictions are this run's: same generation settings,
        (rule predict, one strategy) eval strategy, and its eval sets include this run's
        (one job copies the folder); predict_multi routes by tags."""
        src = self._round0[run]
        return all(self.generation(run, st) == self.generation(src, st)
                   for st in self.students_of(run)) and (
            self.runs[run].type == "siked" or self.eval_strategy(run) == self.eval_strategy(src)
        ) and set(self.eval_sets_of(run)) <= set(self.eval_sets_of(src))
