"""Plots of a run (matplotlib, Agg backend): accuracy per round, strategy share per round.

    from mathdistill.plots import write_plots
    paths = write_plots(metrics_files, mix_stats_files, "results/plots",
                        share_methods=["combined", "siked_all"])
    # results/plots/accuracy.png        accuracy (%) per round: one panel per data set + mean,
    #                                   one line per (method, student); one-round methods are dots
    # results/plots/strategy_share.png  per (method, student) of `share_methods`: the share of
    #                                   each strategy among its answers per round (stacked
    #                                   bars, pooled over the eval sets), with SIKeD's alpha
    #                                   (mix_stats.json) above each round that mixed its own
    #                                   data (not a round 0 copied by round0_from)

Inputs are the metrics JSON files (`metrics.evaluate_file`: method, student, round,
dataset, accuracy, n, strategy_share, seed) and the SIKeD mix statistics
(`stages.siked.build_round`: method, student, round, alpha). Seed replicates of a method are
averaged (accuracy, alpha) or pooled (shares). A missing accuracy is not drawn (never 0).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from mathdistill.io import atomic_open, read_json

__all__ = ["plot_accuracy", "plot_strategy_share", "pooled_share", "write_plots"]

logger = logging.getLogger(__name__)

STRATEGY_ORDER = ("cot", "pot", "eot", "l2m", "untagged")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(out, "wb") as f:
        fig.savefig(f, format="png", dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return out


def _runs(metrics: Sequence[dict]) -> dict[tuple[str, str], dict[int, dict[str, list[dict]]]]:
    """(method, student) -> round -> dataset -> the metrics of its seed replicates."""
    runs: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for m in metrics:
        runs[(m["method"], m["student"])][int(m["round"])][m["dataset"]].append(m)
    return runs


def _mean_accuracy(replicates: Sequence[dict]) -> float | None:
    accs = [m.get("accuracy") for m in replicates]
    return sum(accs) / len(accs) if accs and None not in accs else None


def plot_accuracy(metrics: Sequence[dict], out) -> Path:
    """Accuracy (%) per round, one panel per data set and one for the mean over them."""
    plt = _plt()
    datasets = list(dict.fromkeys(m["dataset"] for m in metrics))
    panels = [*datasets, "mean"] if len(datasets) > 1 else datasets or ["mean"]
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    runs = _runs(metrics)
    top = 0.0
    for ax, panel in zip(axes.flat, panels):
        for (method, student), by_round in sorted(runs.items()):
            xs, ys = [], []
            for r in sorted(by_round):
                accs = [_mean_accuracy(by_round[r].get(d, [])) for d in
                        (datasets if panel == "mean" else [panel])]
                if accs and all(a is not None for a in accs):
                    xs.append(r)
                    ys.append(100.0 * sum(accs) / len(accs))
            label = method if len({s for _, s in runs}) == 1 else f"{method}/{student}"
            ax.plot(xs, ys, marker="o", label=label)
            top = max([top, *ys])
        ax.set_title(panel)
        ax.set_xlabel("round")
        ax.set_ylabel("accuracy (%)")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[:len(panels)]:
        ax.set_ylim(0, max(5.0, 1.1 * top))  # one scale; 0 % is the bottom, not the middle
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    fig.suptitle("Accuracy per round")
    fig.tight_layout()
    return _save(fig, out)


def pooled_share(metrics: Sequence[dict]) -> dict[str, float]:
    """Strategy share over several metrics (data sets, seeds), weighted by their n."""
    counts: dict[str, float] = defaultdict(float)
    total = 0
    for m in metrics:
        n = m.get("n") or 0
        total += n
        for s, share in (m.get("strategy_share") or {}).items():
            counts[s] += share * n
    return {s: c / total for s, c in counts.items()} if total else {}


def plot_strategy_share(metrics: Sequence[dict], out, methods: Sequence[str] | None = None,
                        mix_stats: Sequence[dict] = ()) -> Path:
    """Stacked bars of each strategy's share per round, one panel per (method, student)."""
    plt = _plt()
    runs = {k: v for k, v in sorted(_runs(metrics).items())
            if methods is None or k[0] in methods}
    alphas: dict = defaultdict(list)  # (method, student, round) -> alpha per seed
    for st in mix_stats:
        if "method" in st and "student" in st and st.get("alpha") is not None:
            alphas[(st["method"], st["student"], int(st["round"]))].append(st["alpha"])
    cols = max(1, min(3, len(runs)))
    rows = max(1, -(-len(runs) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    if not runs:
        axes[0, 0].text(0.5, 0.5, "no multi-strategy method in this run", ha="center")
        axes[0, 0].axis("off")
    colors = {s: f"C{i}" for i, s in enumerate(STRATEGY_ORDER)}
    for ax, ((method, student), by_round) in zip(axes.flat, runs.items()):
        rounds = sorted(by_round)
        shares = {r: pooled_share([m for ms in by_round[r].values() for m in ms]) for r in rounds}
        names = sorted({s for sh in shares.values() for s in sh},
                       key=lambda s: (STRATEGY_ORDER.index(s) if s in STRATEGY_ORDER else 99, s))
        bottom = [0.0] * len(rounds)
        for s in names:
            vals = [100.0 * shares[r].get(s, 0.0) for r in rounds]
            ax.bar(rounds, vals, bottom=bottom, label=s, color=colors.get(s), width=0.6)
            bottom = [b + v for b, v in zip(bottom, vals)]
        for r in rounds:
            a = alphas.get((method, student, r))
            if a:  # the mean over seeds
                ax.text(r, 102, f"α={sum(a) / len(a):.2f}", ha="center", fontsize=8)
        ax.set_title(f"{method}/{student}", fontsize=10)
        ax.set_xlabel("round")
        ax.set_ylabel("share of answers (%)")
        ax.set_ylim(0, 112)
        ax.set_xticks(rounds)
        ax.legend(fontsize=7, loc="lower right")
    for ax in list(axes.flat)[max(1, len(runs)):]:
        ax.axis("off")
    fig.suptitle("Strategy share per round (pooled over the eval sets)")
    fig.tight_layout()
    return _save(fig, out)


def write_plots(metrics_files: Sequence, mix_stats_files: Sequence, outdir,
                share_methods: Sequence[str] | None = None) -> list[Path]:
    """accuracy.png and strategy_share.png in `outdir`."""
    metrics = [read_json(p) for p in metrics_files]
    mix = [read_json(p) for p in mix_stats_files]
    outdir = Path(outdir)
    paths = [plot_accuracy(metrics, outdir / "accuracy.png"),
             plot_strategy_share(metrics, outdir / "strategy_share.png", share_methods, mix)]
    logger.info("plots: %s", ", ".join(map(str, paths)))
    return paths
