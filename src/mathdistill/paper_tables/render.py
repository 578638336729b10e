"""Writers: one Markdown, CSV and LaTeX (booktabs) file per paper from a comparison frame.

    from mathdistill.paper_tables.render import write_paper_tables, to_markdown
    paths = write_paper_tables(cmp, "results/tables", reported)
    # {"etd": {"md": .../paper_etd.md, "csv": ..., "tex": ...}, "siked": {...}, ...}
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from mathdistill.io import write_text
from mathdistill.paper_tables.reported import METRICS, Reported, load_reported
from mathdistill.stats import Z975

__all__ = ["tex_escape", "to_latex", "to_markdown", "write_paper_tables"]

DASH = "–"

COLUMNS = ["student", "method", "queried as", "round", "dataset", "reported", "reproduced",
           "95% CI", "Δ", "CI"]
STRING = "string ="  # a paper whose runs report upstream's string-equality score (Tailored)


def _has_string(cmp: pd.DataFrame, paper: str) -> bool:
    return "reproduced_string" in cmp and bool(
        cmp.loc[cmp["paper"] == paper, "reproduced_string"].notna().any())


def _columns(string: bool) -> list[str]:
    return [*COLUMNS[:7], STRING, *COLUMNS[7:]] if string else COLUMNS


def _num(x, digits=2, sign=False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return DASH
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


def _display(row, notes: list[str], table_setting: str, string: bool = False) -> list[str]:
    digits = 2 if METRICS[row["metric"]] == "percent" else 0
    reported = _num(row["reported"], digits)
    if row["flag"]:
        if row["flag"] not in notes:
            notes.append(row["flag"])
        reported += f" †{notes.index(row['flag']) + 1}"
    rnd = str(row["round"])
    if row["round"] == "final" and not pd.isna(row["reproduced_round"]):
        rnd = f"final ({int(row['reproduced_round'])})"
    ci = (DASH if pd.isna(row["ci_low"]) else
          f"[{_num(row['ci_low'], digits)}, {_num(row['ci_high'], digits)}]")
    kind = {"t": lambda: f"t, {row['seeds']} seeds",
            "wilson": lambda: f"Wilson, n={row['n_examples']:.0f}",
            "normal": lambda: "normal, 1 seed"}.get(row["ci_kind"], lambda: DASH)()
    student = row["student"] or "(teacher)"
    if row["reproduced_setting"]:
        student += f" [{row['reproduced_setting']}]"
    method = row["method"]
    if row["setting"] != table_setting:  # a row-level setting (e.g. ETD Fig. 5 data sizes)
        method += f" [{row['setting']}]"
    shown = [student, method, row["queried_as"] or DASH, rnd, row["dataset"], reported,
             _num(row["reproduced"], digits), ci, _num(row["diff"], digits, sign=True), kind]
    if string:
        shown.insert(7, _num(row.get("reproduced_string"), digits))
    return shown


LEGEND = ("Δ = reproduced − reported (percentage points; counts for sampled/kept). "
          "reproduced = mean over seeds. 95% CI: t over seeds when seeds ≥ 2; for one seed "
          "the Wilson score interval of that run's accuracy over its n test problems, or a "
          f"normal interval (z = {Z975:.2f}) for an average of several sets. "
          "round final (r) = the last round the grid ran (r); pretrained = the untrained "
          "student. string = (where shown): the accuracy by the authors' string equality, "
          "beside the numeric one. † = flagged reported value.")


def _sections(cmp: pd.DataFrame, reported: Reported, paper: str):
    """(table meta, rows as display strings, footnotes) for each table of `paper`."""
    for meta in reported.papers[paper]["tables"]:
        sub = cmp[(cmp["paper"] == paper) & (cmp["table"] == meta["id"])]
        notes: list[str] = []
        setting = ", ".join(f"{k}={v}" for k, v in sorted((meta.get("setting") or {}).items()))
        string = _has_string(cmp, paper)
        rows = [_display(r, notes, setting, string) for _, r in sub.iterrows()]
        yield meta, rows, notes


def _describe(meta) -> str:
    bits = [f"metric: {meta['metric']}", f"provenance: [{meta['tag']}]"]
    if meta.get("setting"):
        bits.append("paper setting: " + ", ".join(f"{k}={v}" for k, v in meta["setting"].items()))
    if meta.get("note"):
        bits.append(meta["note"])
    return "; ".join(bits)


def to_markdown(cmp: pd.DataFrame, reported: Reported, paper: str) -> str:
    p = reported.papers[paper]
    out = [f"# {paper}: {p['title']}", "", f"Source: {p['source']}", "", LEGEND, ""]
    cols = _columns(_has_string(cmp, paper))
    for meta, rows, notes in _sections(cmp, reported, paper):
        out += [f"## {meta['id']}: {meta['caption']}", "", _describe(meta), "",
                "| " + " | ".join(cols) + " |", "|" + "|".join(" --- " for _ in cols) + "|"]
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
        out += [""] + [f"†{i}: {n}" for i, n in enumerate(notes, 1)] + ([""] if notes else [])
    return "\n".join(out)


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
        "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
        "–": "--", "−": "-", "†": r"\textsuperscript{\dag}", "§": r"\S{}", "Δ": r"$\Delta$",
        "≥": r"$\geq$", "×": r"$\times$", "→": r"$\rightarrow$"}


def tex_escape(s: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in str(s))


def to_latex(cmp: pd.DataFrame, reported: Reported, paper: str) -> str:
    """booktabs + longtable tables (\\usepackage{booktabs,longtable}): one per paper table,
    so SIKeD's 120-row Table 1 breaks across pages; footnotes below each table."""
    p = reported.papers[paper]
    cols = _columns(_has_string(cmp, paper))
    head = " & ".join(tex_escape(c) for c in cols) + r" \\"
    out = [f"% {paper}: {tex_escape(p['title'])}", f"% {tex_escape(LEGEND)}", ""]
    for meta, rows, notes in _sections(cmp, reported, paper):
        caption = tex_escape(f"{paper} {meta['id']}: {meta['caption']}. {_describe(meta)}")
        align = "lllllrr" + "r" * (len(cols) - 8) + "l"
        out += [r"{\small", r"\begin{longtable}{" + align + "}",
                r"\caption{" + caption + r"}\label{tab:" + f"{paper}-{meta['id']}" + r"} \\",
                r"\toprule", head, r"\midrule", r"\endfirsthead",
                r"\toprule", head, r"\midrule", r"\endhead", r"\bottomrule", r"\endfoot"]
        out += [" & ".join(tex_escape(c) for c in r) + r" \\" for r in rows]
        out += [r"\end{longtable}", "}"]
        if notes:
            out += [r"{\footnotesize " + r" \\ ".join(
                tex_escape(f"†{i}: {n}") for i, n in enumerate(notes, 1)) + r"\par}"]
        out += [""]
    return "\n".join(out)


def write_paper_tables(cmp: pd.DataFrame, outdir, reported: Reported | None = None
                       ) -> dict[str, dict[str, Path]]:
    """Write paper_<id>.md / .csv / .tex (atomically) for every paper; returns the paths."""
    reported = reported or load_reported()
    outdir, written = Path(outdir), {}
    for paper in reported.papers:
        paths = {fmt: outdir / f"paper_{paper}.{fmt}" for fmt in ("md", "csv", "tex")}
        write_text(paths["md"], to_markdown(cmp, reported, paper))
        write_text(paths["csv"], cmp[cmp["paper"] == paper].to_csv(index=False))
        write_text(paths["tex"], to_latex(cmp, reported, paper))
        written[paper] = paths
    return written
