"""Throughput of the PoT sandbox vs. plain `exec`, on the GSM8K train programs.

    python bench/sandbox.py                          # workers 1 and 2, best of 3 runs each
    python bench/sandbox.py --workers 1 2 4 --repeat 5 --limit 2000 --out results/sandbox.json

Programs: the annotated teacher's PoT rationales for GSM8K train (`get_teacher("annotated")`,
~7.4k programs of 2-8 lines); if it cannot be imported, the `<<expr=result>>` calculator
annotations are chained into `v0 = expr ...; answer = vN` programs by `chain_annotations`.

Baseline ("plain exec"): a child Python process that only does, per program, what an
unsandboxed runner needs: copy a namespace holding the SIKeD prefix (`from math import *`,
SymPy `Symbol, Eq, solve, symbols`), `compile`, `exec`, read `answer`, `float()`. It runs in
a child so that this process never executes program text (project rule); its time is
measured inside the child, so process start-up is not counted. The sandbox is timed from
this process for a whole `run_programs` call (workers already started), so it includes
batching, JSON over pipes, the static checks, the CPU timer per program, and the answer
conversion. Both sides must agree on every value (checked). Numbers depend on the load of
the machine: report it (the load average is printed before and after).

Isolation cost ("layers" table): one child process per configuration runs every program
through the worker's own per-item path (`worker.run_item`: compile, static check, exec,
answer, CPU timer) after applying none / only the audit hook / only the OS layers (rlimits,
Landlock, seccomp, uid switch and network namespace as root) / both (`guard.harden`), and
reports CPU microseconds per program (best of `--repeat`). The difference to "none" is what
the isolation costs per program; the pool's throughput above already includes it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from mathdistill.execution import Sandbox

REPO = Path(__file__).resolve().parents[1]
ANNOTATION = re.compile(r"<<([^=<>]*)=([^<>]*)>>")

BASELINE = r"""
import json, sys, time, math
from sympy import Symbol, Eq, solve, symbols
programs = json.load(sys.stdin)
ns = {k: getattr(math, k) for k in dir(math) if not k.startswith("_")}
ns.update(Symbol=Symbol, Eq=Eq, solve=solve, symbols=symbols)
best, cpu, values = None, None, None
for _ in range(int(sys.argv[1])):
    out = []
    t, c = time.perf_counter(), time.process_time()
    for p in programs:
        g = ns.copy()
        try:
            exec(compile(p, "<program>", "exec", dont_inherit=True), g)
            out.append(float(g["answer"]))
        except Exception:
            out.append(None)
    dt, dc = time.perf_counter() - t, time.process_time() - c
    best = dt if best is None else min(best, dt)
    cpu = dc if cpu is None else min(cpu, dc)
    values = out
json.dump({"seconds": best, "cpu": cpu, "values": values}, sys.stdout)
"""


LAYERS = r"""
import json, os, signal, sys, tempfile, time
from mathdistill.execution import guard, namespace, worker
programs = json.load(sys.stdin)
audit, os_layers, repeat = sys.argv[1] == "1", sys.argv[2] == "1", int(sys.argv[3])
namespace.build()
signal.signal(signal.SIGPROF, worker._on_sigprof)
tmp = tempfile.mkdtemp(prefix="mathdistill-bench-")
if os.getuid() == 0:
    os.chown(tmp, 65534, 65534)
info = {}
if audit or os_layers:
    info = guard.harden(memory_mb=1024, tmpdir=tmp, audit=audit, os_layers=os_layers)
best, values = None, None
for _ in range(repeat):
    c = time.process_time()
    out = [worker.run_item("pot", p, 5.0) for p in programs]
    dc = time.process_time() - c
    best = dc if best is None else min(best, dc)
    values = [v for v, _, _ in out]
json.dump({"cpu": best, "values": values, "info": info}, sys.stdout)
"""
LAYER_CONFIGS = [("none", "0", "0"), ("audit hook only", "1", "0"),
                 ("OS layers only", "0", "1"), ("OS layers + audit hook", "1", "1")]


def layer_costs(programs: list[str], repeat: int, rounds: int = 3) -> list[dict]:
    """CPU us/program of the worker's item loop under each isolation configuration: the
    configurations take turns (`rounds` times, a fresh child each), best time kept, so that
    a change of the machine's load hits all of them alike."""
    rows = {name: None for name, _, _ in LAYER_CONFIGS}
    for _ in range(rounds):
        for name, audit, os_layers in LAYER_CONFIGS:
            proc = subprocess.run([sys.executable, "-c", LAYERS, audit, os_layers, str(repeat)],
                                  input=json.dumps(programs), capture_output=True, text=True,
                                  check=True)
            out = json.loads(proc.stdout)
            cpu_us = out["cpu"] / len(programs) * 1e6
            if rows[name] is None or cpu_us < rows[name]["cpu_us"]:
                rows[name] = {"layers": name, "cpu_us": cpu_us, "values": out["values"],
                              "info": out["info"]}
    return list(rows.values())


def chain_annotations(solution: str) -> str | None:
    """A GSM8K solution's calculator annotations as a program: `v0 = 48/2 ... answer = v1`."""
    exprs = [e for e, _ in ANNOTATION.findall(solution)]
    if not exprs:
        return None
    lines = [f"v{i} = {e}" for i, e in enumerate(exprs)]
    return "\n".join(lines + [f"answer = v{len(exprs) - 1}"])


def load_programs(data_dir: Path) -> tuple[list[str], str]:
    try:
        from mathdistill.data import load
        from mathdistill.teachers import get_teacher

        problems = load("gsm8k", "train", data_dir=data_dir)
        rationales = get_teacher("annotated").generate(problems, "pot")
        return [r.text for r in rationales], "annotated teacher (gsm8k train)"
    except ImportError:
        with open(data_dir / "gsm8k" / "train.jsonl") as f:
            rows = [json.loads(line) for line in f]
        programs = [p for p in (chain_annotations(r["answer"]) for r in rows) if p]
        return programs, "chained calculator annotations (gsm8k train)"


def plain_exec(programs: list[str], repeat: int) -> tuple[float, float, list]:
    proc = subprocess.run([sys.executable, "-c", BASELINE, str(repeat)], input=json.dumps(programs),
                          capture_output=True, text=True, check=True)
    out = json.loads(proc.stdout)
    return out["seconds"], out["cpu"], out["values"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sandbox(programs: list[str], workers: int, repeat: int):
    """Best wall time, best CPU time (parent + workers), values, pool stats."""
    times, cpus = [], []
    with Sandbox(workers=workers, timeout=5.0) as box:
        box.run_programs([f"answer = {i}" for i in range(4 * workers)])  # start the workers
        for _ in range(repeat):
            pids = box.pids
            c0 = time.process_time() + sum(cpu_seconds(p) for p in pids)
            t = time.perf_counter()
            results = box.run_programs(programs)
            times.append(time.perf_counter() - t)
            cpus.append(time.process_time() + sum(cpu_seconds(p) for p in pids) - c0)
        return min(times), min(cpus), [r.value for r in results], dict(box.stats)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--data-dir", type=Path, default=Path(os.environ.get(
        "MATHDISTILL_DATA", REPO.parent / "shared" / "data")))
    ap.add_argument("--out", type=Path, default=None, help="also write the rows as JSON")
    args = ap.parse_args(argv)

    programs, source = load_programs(args.data_dir)
    programs = programs[: args.limit]
    n = len(programs)
    print(f"{n} programs ({len(set(programs))} distinct) from {source}; "
          f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} "
          f"(the machine is shared: other processes compete for the cores)")

    base_s, base_cpu, base_values = plain_exec(programs, args.repeat)
    rows = [{"method": "plain exec (1 process)", "workers": 1, "seconds": base_s,
             "per_s": n / base_s, "cpu_us": base_cpu / n * 1e6}]
    for w in args.workers:
        best, cpu, values, stats = sandbox(programs, w, args.repeat)
        agree = sum(a == b for a, b in zip(values, base_values, strict=True))
        rows.append({"method": "sandbox", "workers": w, "seconds": best, "per_s": n / best,
                     "cpu_us": cpu / n * 1e6, "agree": agree, "stats": stats})

    print("\n| method | workers | best wall s | programs/s | vs plain exec | CPU us/program "
          "| agree |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['method']} | {r['workers']} | {r['seconds']:.3f} | {r['per_s']:,.0f} | "
              f"{r['per_s'] / rows[0]['per_s']:.2f}x | {r['cpu_us']:.1f} | "
              f"{r.get('agree', n)}/{n} |")
    print("\nCPU us/program: parent + all workers for the sandbox (load-independent cost); "
          "programs/s: wall clock, depends on the machine's load.")
    layers = layer_costs(programs, args.repeat)
    none = layers[0]["cpu_us"]
    print("\n| isolation layers (worker item loop, 1 process) | CPU us/program | cost vs none "
          "| agree |")
    print("| --- | ---: | ---: | ---: |")
    for r in layers:
        agree = sum(a == b for a, b in zip(r["values"], layers[0]["values"], strict=True))
        print(f"| {r['layers']} | {r['cpu_us']:.1f} | {r['cpu_us'] - none:+.1f} us | "
              f"{agree}/{n} |")
    from mathdistill.execution.isolation import describe

    print(f"\nactive with both: {describe(layers[-1]['info'])}; "
          f"missing: {layers[-1]['info'].get('missing') or 'none'}")
    for r in layers:
        r.pop("values")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"n": n, "source": source, "rows": rows,
                                        "layers": layers}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
