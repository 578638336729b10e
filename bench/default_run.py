"""Time each stage of the embedded default run (`snakemake --cores 2`), so its budget stays visible.

    python bench/default_run.py                      # the latest run's Snakemake log
    python bench/default_run.py --log .snakemake/log/2026-...snakemake.log --json t.json
    python bench/default_run.py --run --cores 2      # run the default into a fresh results
                                                     # dir (bench-results/) and time it

Per rule (stage): jobs, the sum of the jobs' wall seconds (from the start and finish
lines of Snakemake's log, 1 s resolution), the longest job, and the CPU seconds of the rules
that write a `benchmark:` file (the train and generation rules: `cpu_time` of
results/benchmarks/<rule>/**.tsv).
The run's span is the first job start to the last finish; `--run` adds the wall time
and the CPU seconds of the whole `snakemake` process tree (resource.getrusage), and a
machine-speed probe before and after (`cpu_probe`: a fixed Python loop). Jobs run
in parallel on the cores, so the summed job seconds exceed the span. Numbers depend on the
machine's load: say whether it was shared when you quote them.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import resource
import subprocess
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
START = re.compile(r"^(?:local)?(?:checkpoint|rule) (\S+):$")
JOBID = re.compile(r"^\s+jobid: (\d+)$")
FINISHED = re.compile(r"^Finished (?:jobid: |job )(\d+)")


def parse_log(text: str) -> list[dict]:
    """Jobs of a Snakemake log: {rule, jobid, start, end, seconds} (unfinished: end None)."""
    jobs: dict[int, dict] = {}
    stamp = pending = None
    for line in text.splitlines():
        if m := STAMP.match(line.strip()):
            stamp = datetime.strptime(m.group(1).replace("  ", " "), "%a %b %d %H:%M:%S %Y")
        elif m := START.match(line):
            pending = {"rule": m.group(1), "start": stamp, "end": None}
        elif (m := JOBID.match(line)) and pending is not None:
            jobs[int(m.group(1))] = {**pending, "jobid": int(m.group(1))}
            pending = None
        elif (m := FINISHED.match(line)) and int(m.group(1)) in jobs:
            jobs[int(m.group(1))]["end"] = stamp
    for job in jobs.values():
        done = job["end"] is not None and job["start"] is not None
        job["seconds"] = (job["end"] - job["start"]).total_seconds() if done else None
    return sorted(jobs.values(), key=lambda j: (j["start"] or datetime.min, j["jobid"]))


def benchmark_cpu(results: Path) -> dict[str, float]:
    """rule -> summed `cpu_time` of its benchmark TSVs (results/benchmarks/<rule>/...)."""
    out: dict[str, float] = defaultdict(float)
    for tsv in sorted((results / "benchmarks").rglob("*.tsv")):
        rule = tsv.relative_to(results / "benchmarks").parts[0]
        with tsv.open(newline="") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                try:
                    out[rule] += float(row.get("cpu_time") or "nan")
                except ValueError:
                    continue
    return dict(out)


def summarize(jobs: list[dict], cpu: dict[str, float]) -> dict:
    """Per-rule totals (jobs, job seconds, longest, CPU seconds) and the run's span."""
    by_rule: dict[str, list[dict]] = defaultdict(list)
    for job in jobs:
        by_rule[job["rule"]].append(job)
    rows = []
    for rule, js in by_rule.items():
        secs = [j["seconds"] for j in js if j["seconds"] is not None]
        rows.append({"rule": rule, "jobs": len(js), "unfinished": len(js) - len(secs),
                     "job_s": sum(secs), "longest_s": max(secs, default=0.0),
                     "cpu_s": cpu.get(rule)})
    rows.sort(key=lambda r: -r["job_s"])
    starts = [j["start"] for j in jobs if j["start"]]
    ends = [j["end"] for j in jobs if j["end"]]
    span = (max(ends) - min(starts)).total_seconds() if starts and ends else None
    return {"rules": rows, "span_s": span, "jobs": len(jobs),
            "job_s": sum(r["job_s"] for r in rows)}


def markdown(summary: dict) -> str:
    lines = ["| stage (rule) | jobs | job seconds | longest job s | CPU s (benchmark) |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for r in summary["rules"]:
        cpu = "-" if r["cpu_s"] is None else f"{r['cpu_s']:.0f}"
        left = f" ({r['unfinished']} unfinished)" if r["unfinished"] else ""
        lines.append(f"| {r['rule']} | {r['jobs']}{left} | {r['job_s']:.0f} | "
                     f"{r['longest_s']:.0f} | {cpu} |")
    span = summary["span_s"]
    lines.append(f"\n{summary['jobs']} jobs, {summary['job_s']:.0f} job seconds, span "
                 f"{'-' if span is None else f'{span:.0f} s'}")
    if "wall_s" in summary:
        lines.append(f"snakemake: {summary['wall_s']:.0f} s wall, {summary['cpu_all_s']:.0f} "
                     "CPU seconds (all processes)")
    if "probe_s" in summary:
        before, after = summary["probe_s"]
        lines.append(f"machine speed (cpu_probe, lower is faster): {before:.2f} s before the "
                     f"run, {after:.2f} s after")
    return "\n".join(lines) + "\n"


def latest_log(workdir: Path) -> Path:
    logs = sorted((workdir / ".snakemake" / "log").glob("*.snakemake.log"))
    if not logs:
        sys.exit(f"no Snakemake log in {workdir / '.snakemake' / 'log'}; run snakemake first")
    return logs[-1]


def cpu_probe(n: int = 20_000_000) -> float:
    """Seconds of a fixed one-core Python loop: how fast this machine is right now (the
    development machine's varied 1.7-2.6 s within a day), to compare runs across machines."""
    t0 = time.perf_counter()
    x = 0
    for i in range(n):
        x += i
    return time.perf_counter() - t0


def run(cores: int, results: str, extra: list[str]) -> tuple[float, float, int]:
    """Run the default into `results` (must not exist); (wall s, CPU s, exit code)."""
    if Path(results).exists():
        sys.exit(f"{results} exists: --run times a fresh run; remove it or pass --results")
    cmd = [sys.executable, "-m", "snakemake", "--cores", str(cores),
           "--config", f"results_dir={results}", *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    code = subprocess.call(cmd)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, code


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--log", type=Path, help="a Snakemake log (default: the latest)")
    ap.add_argument("--results", default=None,
                    help="results dir with benchmarks/ (default: results, with --run: "
                         "bench-results)")
    ap.add_argument("--run", action="store_true", help="run the default first (fresh dir)")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the summary here")
    ap.add_argument("snakemake_args", nargs="*", help="extra snakemake arguments (after --)")
    args = ap.parse_args(argv)
    workdir = Path.cwd()
    results = args.results or ("bench-results" if args.run else "results")
    timing = {}
    if args.run:
        probe = cpu_probe()
        wall, cpu, code = run(args.cores, results, args.snakemake_args)
        timing = {"wall_s": wall, "cpu_all_s": cpu, "exit_code": code, "cores": args.cores,
                  "probe_s": [probe, cpu_probe()]}
    log = args.log or latest_log(workdir)
    summary = {**summarize(parse_log(log.read_text(encoding="utf-8")),
                           benchmark_cpu(Path(results))), **timing, "log": str(log)}
    print(markdown(summary))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1, default=str) + "\n", encoding="utf-8")
    return int(timing.get("exit_code", 0))


if __name__ == "__main__":
    sys.exit(main())
