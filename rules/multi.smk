# Functions of the multi-strategy methods' rules (ETD, Combined, SIKeD: rules/predict.smk
# predict_multi, rules/siked.smk, rules/report.smk plots). Functions only (snakemake --lint).
MULTI_TYPES = ("etd", "combined", "siked")  # predicted by rule predict_multi


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
