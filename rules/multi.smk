# Functions of the multi-strategy methods' rules (ETD, Combined, SIKeD: rules/predict.smk
# predict_multi, rules/siked.smk, rules/report.smk plots). Functions only (snakemake --lint).
MULTI_TYPES = ("etd", "combined", "siked")  # predicted by rule predict_multi


def round0_from(m):
    """The combined run whose round 0 the siked run `m` reuses (same seed), or None."""
    src = METHODS[m].get("round0_from")
    if not src:
        return None
    where = f"config: methods.{METHOD_BASE[m]}.round0_from: {src!r}"
    runs = [r for r in METHODS if METHOD_BASE[r] == src and METHOD_SEED[r] == METHOD_SEED[m]]
    if METHODS[m]["type"] != "siked" or not runs:
        raise ValueError(f"{where}: only a siked method can reuse round 0, of a method that "
                         f"runs with seed {METHOD_SEED[m]}")
    cfg, base = METHODS[m], METHODS[runs[0]]
    same = (base["type"] == "combined" and set(base["strategies"]) == set(cfg["strategies"])
            and (base.get("options") or {}).get("instruction")
            == (cfg.get("options") or {}).get("instruction")
            and set(method_students(m)) <= set(method_students(runs[0])))
    if not same:
        raise ValueError(f"{where}: needs a combined method with the same strategies, "
                         "instruction and students")
    return runs[0]


REUSE_ROUND0 = [m for m in METHODS if round0_from(m)]
REUSE_PREDICTIONS = [m for m in REUSE_ROUND0 if all(
    student_generation(m, st) == student_generation(round0_from(m), st)
    for st in method_students(m))]


def siked_previous_checkpoint(w):
    r = int(w.round)
    if r < 1:
        raise ValueError(f"method {w.method}: self-generation needs round >= 1, got {r}")
    return f"{R}/{w.method}/{w.student}/round{r - 1}/checkpoint"


def siked_cfg(w):
    return canon({k: METHODS[w.method].get(k) for k in ("type", "strategies", "options")})


def all_mix_stats():
    """SIKeD's per-round mix statistics (alpha) of every siked method."""
    return [f"{R}/{m}/{st}/round{r}/mix_stats.json"
            for m in methods_of("siked") for st in method_students(m) for r in rounds(m)]
