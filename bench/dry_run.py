"""Time the workflow's dry run (`snakemake -n -q --configfile <config>`): planning cost per config.

    python bench/dry_run.py                              # config/paper.yaml, config/config.yaml
    python bench/dry_run.py -n 3 config/paper.yaml       # one config, 3 timed runs
    python bench/dry_run.py --workdir ../main --json t.json   # another checkout's workflow
    python bench/dry_run.py -n 8 --against /tmp/old config/paper.yaml  # two checkouts,
                                                         # their runs interleaved

Per config: the jobs of its DAG (the "Job stats" total of one untimed dry run, which also
fills the caches a repeated dry run finds: Snakemake's source cache and the code-analysis
cache, .snakemake/mathdistill/), then N timed quiet dry runs in a row: the median and
minimum wall seconds (the whole `snakemake` process: Python start, imports, config checks,
code digests, the DAG) and the median CPU seconds. The paper grid's goal (issue 14) is a
<= 3 s dry run. Snakemake needs about 1 s to start and 2-4 ms per job (about 1.4 ms of it
its check of the rule's `script:`, docs/cluster.md); the workflow's own code is about 0.3 s.
Numbers depend on the machine's load: say whether it was shared when you quote them, and
compare two checkouts under the same load: `--against` interleaves their runs (A, B, A,
B, ...), since this machine's speed drifts within minutes. A dry run is
one process on one core; run nothing else of yours meanwhile.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIGS = ["config/paper.yaml", "config/config.yaml"]
TOTAL = re.compile(r"^total\s+(\d+)\s*$", re.MULTILINE)


def snakemake_cmd() -> list[str]:
    """The `snakemake` of this interpreter's environment (else the one on PATH)."""
    exe = Path(sys.executable).with_name("snakemake")
    return [str(exe)] if exe.exists() else [shutil.which("snakemake") or "snakemake"]


def dry_run(workdir: Path, config: str, quiet: bool = True) -> tuple[float, float, str]:
    """One dry run: (wall s, CPU s of the process, its output)."""
    cmd = [*snakemake_cmd(), "-n", *(["-q"] if quiet else []), "--configfile", config]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        sys.exit(f"{' '.join(cmd)} (in {workdir}) failed:\n{proc.stdout}{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout + proc.stderr


def jobs_of(output: str) -> int | None:
    """The "total" row of a dry run's Job stats (None: nothing to be done)."""
    m = TOTAL.search(output)
    return int(m.group(1)) if m else None


def bench(workdirs: list[Path], config: str, runs: int) -> list[dict]:
    """`runs` timed dry runs of `config` in each checkout, interleaved (A, B, A, B, ...)."""
    # one untimed run per checkout: its job count, and the caches warmed
    jobs = {wd: jobs_of(dry_run(wd, config, quiet=False)[2]) for wd in workdirs}
    walls = {wd: [] for wd in workdirs}
    cpus = {wd: [] for wd in workdirs}
    for _ in range(runs):
        for wd in workdirs:
            wall, cpu, _ = dry_run(wd, config)
            walls[wd].append(wall)
            cpus[wd].append(cpu)
    return [{"workdir": str(wd), "config": config, "jobs": jobs[wd], "runs": runs,
             "median_s": statistics.median(walls[wd]), "min_s": min(walls[wd]),
             "cpu_median_s": statistics.median(cpus[wd]), "wall_s": walls[wd]}
            for wd in workdirs]


def markdown(rows: list[dict]) -> str:
    lines = ["| checkout | config | jobs | runs | median s | min s | CPU s (median) |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['workdir']} | {r['config']} | "
                     f"{r['jobs'] if r['jobs'] is not None else '-'} | {r['runs']} | "
                     f"{r['median_s']:.2f} | {r['min_s']:.2f} | {r['cpu_median_s']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("configs", nargs="*", default=CONFIGS,
                    help=f"config files, relative to --workdir (default: {' '.join(CONFIGS)})")
    ap.add_argument("-n", "--runs", type=int, default=5, help="timed runs per config")
    ap.add_argument("--workdir", type=Path, default=REPO,
                    help="the checkout whose Snakefile runs (default: this one)")
    ap.add_argument("--against", type=Path, metavar="DIR",
                    help="a second checkout, timed in turn with --workdir")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be >= 1")
    workdirs = [d.resolve() for d in (args.workdir, args.against) if d is not None]
    for wd in workdirs:
        if not (wd / "Snakefile").is_file():
            ap.error(f"{wd}: no Snakefile (not a mathdistill checkout)")
    rows = [r for config in args.configs for r in bench(workdirs, config, args.runs)]
    print(markdown(rows))
    if args.json:
        args.json.write_text(json.dumps({"results": rows}, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
