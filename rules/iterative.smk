# Input functions, per-rule option subsets and config checks of the iterative methods FDD
# (type fdd) and Tailored Learning (type tailored); their rules are in rules/fdd.smk and
# rules/tailored.smk (Snakemake's linter wants functions and rules in separate files).


# ---- FDD
FDD = methods_of("fdd")


def fdd_strategy(m):
    strategies = METHODS[m]["strategies"]
    if len(strategies) != 1:
        raise ValueError(f"config: methods.{m} (fdd) learns one strategy, got {strategies}")
    return strategies[0]


def fdd_dir(w, r):
    return f"{R}/{w.method}/{w.student}/round{r}"


def fdd_d0(w):
    return f"{R}/teacher/{TEACHER}/{fdd_strategy(w.method)}/filtered.jsonl"


def fdd_rationales(w, upto):
    """D_upto's files: D_0, then G_1 .. G_upto (programs.jsonl of those rounds)."""
    return [fdd_d0(w)] + [f"{fdd_dir(w, r)}/programs.jsonl" for r in range(1, upto + 1)]


def fdd_round_inputs(w):
    """build inputs of round r (get_round_inputs): D_r = D_0 ∪ G_1 .. G_r."""
    return {"rationales": fdd_rationales(w, int(w.round))}


def fdd_need_round(w):
    r = int(w.round)
    if r < 1:
        raise ValueError(f"method {w.method}: FDD's exam/generation run in rounds >= 1, not {r}")
    return r


def fdd_pool_inputs(w):
    r = fdd_need_round(w)
    if r == 1:  # P_1: the questions of D_0
        return {"train": f"{R}/data/train.jsonl", "d0": fdd_d0(w)}
    prev = fdd_dir(w, r - 1)  # P_r = hard(P_{r-1}) ∪ the questions generated in round r-1
    return {"pool": f"{prev}/pool.jsonl", "exam": f"{prev}/exam.jsonl",
            "generated": f"{prev}/generated.jsonl"}


# the options each rule reads (its params); changing one reruns only the rules that use it
FDD_KEYS = {"pool": ["pool_limit"], "exam": ["exam"],
            "generate": ["k", "min_agree", "rouge_threshold", "dedup_within_round"]}


def fdd_options(step):
    def get(w):
        opts = METHODS[w.method].get("options") or {}
        return canon({k: opts[k] for k in FDD_KEYS[step] if k in opts})

    return get


def fdd_check(m):
    """Fail fast on a bad FDD config: one strategy, known options, init base|previous."""
    fdd_strategy(m)
    opts = METHODS[m].get("options") or {}
    allowed = {k for keys in FDD_KEYS.values() for k in keys} | {"init"}
    unknown = sorted(set(opts) - allowed)
    if unknown:
        raise ValueError(f"config: methods.{METHOD_BASE[m]}.options: unknown {unknown} "
                         f"(FDD options: {', '.join(sorted(allowed))})")
    if opts.get("init", "base") not in ("base", "previous"):
        raise ValueError(f"config: methods.{METHOD_BASE[m]}.options.init: base or previous")


for _m in FDD:
    fdd_check(_m)


# ---- Tailored Learning
TAILORED = methods_of("tailored")


def tl_strategy(m):
    strategies = METHODS[m]["strategies"]
    if len(strategies) != 1:
        raise ValueError(f"config: methods.{m} (tailored) learns one strategy, got {strategies}")
    return strategies[0]


# the options each rule reads (its params); changing one reruns only the rules that use it
TL_KEYS = {"exam": ["exam_limit", "exam"], "feedback": ["feedback_per_question"],
           "round": ["max_pos", "max_neg", "accumulate", "positives_from_exam",
                     "positive_strategies"],
           "train": ["margin", "lambda", "max_sr_len", "prompt_loss_weight"]}


def tl_options(step):
    def get(w):
        opts = METHODS[w.method].get("options") or {}
        return canon({k: opts[k] for k in TL_KEYS[step] if k in opts})

    return get


def tl_check(m):
    """Fail fast on a bad Tailored config: one strategy, known options, init base|previous."""
    tl_strategy(m)
    opts = METHODS[m].get("options") or {}
    allowed = {k for keys in TL_KEYS.values() for k in keys} | {"init"}
    unknown = sorted(set(opts) - allowed)
    if unknown:
        raise ValueError(f"config: methods.{METHOD_BASE[m]}.options: unknown {unknown} "
                         f"(Tailored Learning options: {', '.join(sorted(allowed))})")
    if opts.get("init", "previous") not in ("base", "previous"):
        raise ValueError(f"config: methods.{METHOD_BASE[m]}.options.init: base or previous")
    bad = sorted(set(opts.get("positive_strategies", [])) - set(STRATEGIES))
    if bad:
        raise ValueError(f"config: methods.{METHOD_BASE[m]}.options.positive_strategies: "
                         f"unknown {bad} (strategies: {', '.join(STRATEGIES)})")


for _m in TAILORED:
    tl_check(_m)


def tl_dir(w, r):
    return f"{R}/{w.method}/{w.student}/round{r}"


def tl_teacher(w, strategy=None):
    return f"{R}/teacher/{TEACHER}/{strategy or tl_strategy(w.method)}/filtered.jsonl"


def tl_exam_model(w):
    """The student that sits round r's exam: round r-1's checkpoint; round 0: the base
    (a tiny-* build; a hub model is loaded by name, params.model)."""
    r = int(w.round)
    if r > 0:
        return {"model": f"{tl_dir(w, r - 1)}/checkpoint"}
    return {"model": f"{R}/students/{w.student}/base"} if is_tiny(w.student) else {}


def tailored_round_inputs(w):
    """build inputs of round r (get_round_inputs): this round's exam and mistakes, the
    teacher's data (round 0) or feedback (r >= 1; + earlier rounds' with `accumulate`),
    and the extra positives (`positive_strategies`)."""
    r, opts = int(w.round), METHODS[w.method].get("options") or {}
    d = tl_dir(w, r)
    out = {"exam_file": f"{d}/exam.jsonl", "mistakes_file": f"{d}/mistakes.json",
           "positive_files": [tl_teacher(w, s) for s in opts.get("positive_strategies", [])]}
    if r == 0:
        out["teacher_files"] = [tl_teacher(w)]
    else:
        out["feedback_files"] = [f"{d}/feedback.jsonl"]
        if opts.get("accumulate", False):
            out["previous_files"] = [tl_teacher(w)] + [
                f"{tl_dir(w, k)}/feedback.jsonl" for k in range(1, r)]
    return out
