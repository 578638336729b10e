# The grid (methods x students x rounds x eval sets), config helpers, library-source
# inputs, get_* input functions and the one wildcard_constraints block.
import copy
import os
import re

import yaml
from pathlib import Path

STRATEGIES = ("cot", "pot", "eot", "l2m")
R = config["results_dir"].rstrip("/")
TEACHER = config["teacher"]["name"]
STUDENTS = config["students"]
EVAL_SETS = config["eval_sets"]


def canon(obj):
    """`obj` with dict keys sorted (recursively): params compare by repr, so a config that
    only lists keys in another order must not rerun anything."""
    if isinstance(obj, dict):
        return {k: canon(obj[k]) for k in sorted(obj)}
    if isinstance(obj, (list, tuple)):
        return [canon(v) for v in obj]
    return obj


def _merge(base, over):
    """Deep merge of two config dicts (over wins); inputs are not modified."""
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _seed_runs(methods, seeds):
    """Replicates: every method once per training seed (its own `seeds`, else the global
    list). The run of the first seed keeps the method's name, the others are named
    `<name>-s<seed>`; each run is the method's config with train.seed and generation.seed
    set, so every rule treats it as a method of its own (own paths and params)."""
    runs, base, seed_of = {}, {}, {}
    for name, cfg in methods.items():
        for i, seed in enumerate(cfg.get("seeds") or seeds):
            run = name if i == 0 else f"{name}-s{seed}"
            if run in runs or (i and run in methods):
                raise ValueError(f"config: method run {run!r} (methods.{name}, seed {seed}) "
                                 "clashes with another method's name")
            runs[run] = _merge(cfg, {"train": {"seed": seed}, "generation": {"seed": seed}})
            base[run], seed_of[run] = name, seed
    return runs, base, seed_of


# METHODS: method runs (one per seed); METHOD_BASE / METHOD_SEED: run -> method, seed.
SEEDS = config.get("seeds") or [config["seed"]]
METHODS, METHOD_BASE, METHOD_SEED = _seed_runs(config["methods"], SEEDS)


def run_meta(m):
    """What a run's metrics/tables say about it: the configured method, run name, seed."""
    return {"method": METHOD_BASE[m], "run": m, "seed": METHOD_SEED[m]}


def method_students(m):
    """The students a method trains (default: all)."""
    names = METHODS[m].get("students") or list(STUDENTS)
    unknown = sorted(set(names) - set(STUDENTS))
    if unknown:
        raise ValueError(f"config: methods.{m}.students names unknown student(s) {unknown}")
    return names


def rounds(m):
    return list(range(METHODS[m].get("rounds", 1)))


def used_strategies():
    """Every strategy some method uses (the teacher annotates these)."""
    return sorted({s for cfg in METHODS.values() for s in cfg["strategies"]},
                  key=STRATEGIES.index)


def eval_strategy(m):
    return METHODS[m].get("eval_strategy") or METHODS[m]["strategies"][0]


def is_tiny(student):
    return STUDENTS[student]["model"].startswith("tiny-")


def student_train(m, student):
    """The student's train params with the method's overrides (params of the train rule),
    and the config's `budget` (the train stages apply it: mathdistill.students.budget)."""
    cfg = STUDENTS[student]
    train = _merge(cfg.get("train", {}), METHODS[m].get("train", {}))
    train.setdefault("seed", config["seed"])
    budget = {"budget": config["budget"]} if config.get("budget") else {}
    return canon({"model": cfg["model"], "finetune": cfg.get("finetune", "full"),
                  "lora": cfg.get("lora", {}), "train": train, **budget})


def student_generation(m, student):
    return canon(_merge(STUDENTS[student].get("generation", {}), METHODS[m].get("generation", {})))


# Per-rule resource defaults for a local CPU run (runtime in minutes). They are not
# experiment config: a profile overrides them by rule name (set-resources, set-threads;
# profiles/slurm sets GPUs, memory, wall time and CPUs per rule).
RESOURCES = {
    "default": {"threads": 1, "mem_mb": 2000, "runtime": 30, "gpu": 0},
    "teacher": {"runtime": 120},
    "train": {"mem_mb": 6000, "runtime": 240},
    "predict": {"mem_mb": 4000, "runtime": 120},
}


def res(stage, key):
    """Default resource `key` of a stage (teacher, train, predict; else "default")."""
    return RESOURCES.get(stage, {}).get(key, RESOURCES["default"][key])


def loader(name):
    """The loader spec of a prepared data set ("train" is the train set)."""
    spec = config["train_set"] if name == "train" else EVAL_SETS[name]
    return canon({"dataset": spec["dataset"], "split": spec["split"], "limit": spec.get("limit"),
                  "options": spec.get("options", {}), "data_dir": config.get("data_dir")})


# ---- library sources as inputs: editing a module reruns exactly the jobs that use it.
# Snakemake tracks only the rule's own script, so each rule lists the .py files it runs.
SRC = Path(workflow.basedir) / "src" / "mathdistill"


def _rel(p):
    return os.path.relpath(p)


DATA_SUFFIXES = {".py", ".txt", ".json", ".jsonl", ".yaml"}


def lib(*names, exclude=()):
    """The source (and package data) files of library modules/packages, sorted,
    e.g. lib("io", "students"); `exclude`: paths below src/mathdistill to leave out."""
    files = set()
    for name in names:
        path = SRC / name
        if path.is_dir():
            files.update(f for f in path.rglob("*")
                         if f.suffix in DATA_SUFFIXES and "__pycache__" not in f.parts)
        elif path.with_suffix(".py").is_file():
            files.add(path.with_suffix(".py"))
        else:
            raise ValueError(f"rules/common.smk: no library module {path}(.py)")
    drop = {SRC / e for e in exclude}
    return sorted(_rel(f) for f in files if f not in drop)


BASE_LIB = ("__init__", "io", "records")


def stage_lib(*stages):
    """The shared base modules + mathdistill.stages.<stage> modules."""
    return lib(*BASE_LIB, "stages/__init__", *(f"stages/{s}" for s in stages))


def union(*lists):
    return sorted(set().union(*lists))


def strategy_lib(strategy):
    """Sources that decide a strategy's behaviour: the shared strategy code, its own module
    and (pot/eot) the sandbox; the other strategies' modules are left out."""
    others = [f"strategies/{s}.py" for s in STRATEGIES if s != strategy]
    if strategy in ("pot", "eot"):
        execution = lib("execution", exclude=[] if strategy == "eot" else ["execution/equations.py"])
    else:
        execution = lib("execution/__init__", "execution/result")
    return sorted(set(lib(*BASE_LIB, "strategies", exclude=others) + execution))


def data_lib(name):
    """The data package; a real data set's loader leaves out the synthetic generator."""
    if loader(name)["dataset"] == "synthetic":
        return lib("data")
    return lib("data", exclude=[f"data/{p.name}" for p in (SRC / "data").glob("synthetic*.py")])


def teacher_lib(strategy):
    """The teacher package without the other backends' modules, + the strategy's sources."""
    own = {f"{TEACHER}.py", f"{TEACHER}_backend.py"}
    backends = [p.name for p in (SRC / "teachers").glob("*.py")
                if p.name == "annotated.py" or p.stem.endswith("_backend") or p.stem == "fake_server"]
    others = [f"teachers/{name}" for name in backends if name not in own]
    if TEACHER == "annotated":  # few-shot prompts are for the LLM backends only
        others += [str(p.relative_to(SRC)) for p in (SRC / "teachers" / "prompts").rglob("*")]
    return union(lib("teachers", exclude=others), strategy_lib(strategy))


METHOD_DEPS = {"etd": ["single"], "siked": ["combined"], "fdd": ["rounds", "single"],
               "tailored": ["rounds"]}  # methods.<type> imports these


def method_lib(m):
    """The method's data rule (mathdistill.methods.<type>, + the method modules it imports)
    and its strategies' prompt code."""
    kind = METHODS[m]["type"]
    mods = [f"methods/{t}" for t in [kind, *METHOD_DEPS.get(kind, [])]]
    files = lib(*BASE_LIB, "methods/__init__", *mods)
    for s in METHODS[m]["strategies"]:
        files += strategy_lib(s)
    return sorted(set(files))


# ---- paths
def round_dir(w):
    return f"{R}/{w.method}/{w.student}/round{w.round}"


def get_base_model(w):
    """The built tiny student (a rule output), or nothing for a hub model id/path; an
    on-policy round r >= 1 (SIKeD) adds `resume_from`: the round r-1 checkpoint."""
    out = {"base": f"{R}/students/{w.student}/base"} if is_tiny(w.student) else {}
    if on_policy(w.method) and int(w.round) > 0:
        out["resume_from"] = f"{R}/{w.method}/{w.student}/round{int(w.round) - 1}/checkpoint"
    return out


# type: (option, its default, the value that continues from round r-1)
CONTINUES = {"siked": ("policy", "on", "on"), "fdd": ("init", "base", "previous"),
             "tailored": ("init", "previous", "previous")}


def on_policy(m):
    """Iterative methods whose round r continues from round r-1 (SIKeD policy "on", FDD /
    Tailored Learning option init "previous": Tailored's default, not FDD's)."""
    cfg = METHODS[m]
    if cfg["type"] not in CONTINUES:
        return False
    key, default, value = CONTINUES[cfg["type"]]
    return (cfg.get("options") or {}).get(key, default) == value


def methods_of(*types, exclude=False):
    """Method names whose type is (or with exclude=True: is not) one of `types`."""
    return [m for m in METHODS if (METHODS[m]["type"] in types) != exclude]


# ---- round-0 reuse (rules/reuse.smk): methods.<name>.round0_from
# type -> the type of method whose round 0 it is: SIKeD's round 0 is the Combined baseline,
# FDD's is PoT distillation (a `single` method on the same strategy, e.g. potd)
ROUND0_OF = {"siked": "combined", "fdd": "single"}


def round0_from(m):
    """The run (same seed) whose round-0 checkpoint the run `m` copies as its round 0, or
    None. Raises a ValueError naming the config key when that run cannot be `m`'s round 0."""
    src = METHODS[m].get("round0_from")
    if not src:
        return None
    cfg, kind = METHODS[m], METHODS[m]["type"]
    where = f"config: methods.{METHOD_BASE[m]}.round0_from: {src!r}"
    if kind not in ROUND0_OF:
        raise ValueError(f"{where}: only a {' or '.join(ROUND0_OF)} method can reuse round 0 "
                         f"(this one is {kind})")
    want = ROUND0_OF[kind]
    if src not in config["methods"]:
        raise ValueError(f"{where}: no method {src!r} (a {want} method is needed)")
    runs = [r for r in METHODS if METHOD_BASE[r] == src and METHOD_SEED[r] == METHOD_SEED[m]]
    if not runs:
        raise ValueError(f"{where}: method {src} does not run with seed {METHOD_SEED[m]}")
    base = METHODS[runs[0]]
    wrong = []
    if base["type"] != want:
        wrong.append(f"type {base['type']}")
    if set(base["strategies"]) != set(cfg["strategies"]):
        wrong.append(f"strategies {base['strategies']} (this method: {cfg['strategies']})")
    if kind == "siked" and (base.get("options") or {}).get("instruction") \
            != (cfg.get("options") or {}).get("instruction"):
        wrong.append("another options.instruction")
    missing = sorted(set(method_students(m)) - set(method_students(runs[0])))
    if missing:
        wrong.append(f"no run of student(s) {missing}")
    if wrong:
        raise ValueError(f"{where}: needs a {want} method with the same strategies"
                         f"{', instruction' if kind == 'siked' else ''} and students; "
                         f"{src} has {'; '.join(wrong)}")
    return runs[0]


def same_round0_predictions(m):
    """The reused run's round-0 predictions are this run's: same generation settings and
    (rule predict, one strategy) eval strategy; predict_multi routes by the strategy tags."""
    src = round0_from(m)
    return all(student_generation(m, st) == student_generation(src, st)
               for st in method_students(m)) and (
        METHODS[m]["type"] == "siked" or eval_strategy(m) == eval_strategy(src))


REUSE_ROUND0 = [m for m in METHODS if round0_from(m)]
REUSE_PREDICTIONS = [m for m in REUSE_ROUND0 if same_round0_predictions(m)]


def get_filtered(w):
    """The teacher's filtered rationales for every strategy of the method."""
    return [f"{R}/teacher/{TEACHER}/{s}/filtered.jsonl" for s in METHODS[w.method]["strategies"]]


def get_round_inputs(w):
    """Inputs of build_round: per method type (later types add the round r-1 checkpoint)."""
    kind = METHODS[w.method]["type"]
    if kind in ("single", "etd", "combined"):
        if int(w.round) != 0:
            raise ValueError(f"method {w.method}: type {kind!r} has one round (round0 only)")
        return {"rationales": get_filtered(w)}
    if kind == "siked":  # round r >= 1: the samples of the round r-1 student (rules/siked.smk)
        extra = {"self_samples": f"{round_dir(w)}/self_samples.jsonl"} if int(w.round) else {}
        return {"rationales": get_filtered(w), **extra}
    if kind == "fdd":  # D_0 + the programs of rounds 1..r (rules/fdd.smk)
        return fdd_round_inputs(w)
    if kind == "tailored":  # exam, mistakes, teacher data / feedback (rules/tailored.smk)
        return tailored_round_inputs(w)
    raise ValueError(f"method {w.method}: unknown type {kind!r}")


def all_metrics():
    return [f"{R}/{m}/{st}/round{r}/metrics/{d}.json"
            for m in METHODS for st in method_students(m) for r in rounds(m) for d in EVAL_SETS]


def all_filter_stats():
    return [f"{R}/teacher/{TEACHER}/{s}/filter_stats.json" for s in used_strategies()]


def all_teacher_costs():
    return [f"{R}/teacher/{TEACHER}/{s}/cost.json" for s in used_strategies()]


def all_train_logs():
    return [f"{R}/{m}/{st}/round{r}/train_log.json"
            for m in METHODS for st in method_students(m) for r in rounds(m)]


def _alt(names):
    return "|".join(sorted((re.escape(n) for n in names), key=len, reverse=True))


def only(names):
    """A rule-level wildcard constraint matching exactly `names` (none: matches nothing)."""
    return _alt(names) if names else "(?!)"


wildcard_constraints:
    method=_alt(METHODS),
    student=_alt(STUDENTS),
    dataset=_alt(list(EVAL_SETS) + ["train"]),
    strategy=_alt(STRATEGIES),
    teacher=_alt([TEACHER]),
    round=r"\d+",


# ---- paper tables (rules/paper.smk): the papers in config/paper_results.yaml
PAPER_RESULTS = _rel(Path(workflow.basedir) / "config" / "paper_results.yaml")
with open(PAPER_RESULTS, encoding="utf-8") as _f:
    PAPERS = list(yaml.safe_load(_f)["papers"])


def paper_keys(kind):
    """{config name: paper_results.yaml key} for students or methods with a `paper_key`."""
    return {name: cfg["paper_key"] for name, cfg in config[kind].items() if cfg.get("paper_key")}


def paper_train_dataset():
    """ETD Table 1 (teacher data) compares only when the teacher annotated GSM8K train."""
    spec = config["train_set"]
    return "gsm8k" if (spec["dataset"], spec["split"]) == ("gsm8k", "train") else None


def print_tables(paths):
    """Print the Markdown tables (called when the run succeeds)."""
    for path in paths:
        if path.endswith(".md") and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                print(f"\n{f.read()}")
