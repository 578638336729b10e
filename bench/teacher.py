"""Throughput of the OpenAI-compatible teacher client against the local fake server.

    python bench/teacher.py                      # concurrency 1, 16, 64; latency 0 and 50 ms
    python bench/teacher.py --concurrency 1 8 --latency 0.2 --out results/bench/teacher.json

The server (`python -m mathdistill.teachers.fake_server`) runs in its own process, so the
client's CPU time (`time.process_time()` of this process) is the client's own overhead:
8-shot prompt building, cache keys, the HTTP round trip in the SDK, response parsing and
the fsync'ed cache append. With a server latency L, concurrency c can at best reach c / L
requests/s; "efficiency" is the share of that reached. Numbers depend on the machine's load.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mathdistill.records import Problem
from mathdistill.teachers.openai_backend import OpenAITeacher


def start_server(latency: float) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mathdistill.teachers.fake_server", "--port", "0",
         "--latency", str(latency)], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("listening on "):
        proc.kill()
        raise RuntimeError(f"fake server did not start: {line!r}")
    return proc, line.split()[-1]


def problems(n: int, tag: str) -> list[Problem]:
    return [Problem(id=f"b/{i}", dataset="bench", answer=float(i),
                    question=f"[{tag}] A shop sells {i} pens a day for 3 days and 2 more on the "
                             f"fourth day. How many pens does it sell?") for i in range(n)]


def run(url: str, concurrency: int, n: int, cache: Path | None, tag: str) -> dict:
    t = OpenAITeacher("fake-model", base_url=url, concurrency=concurrency, cache=cache or False,
                      timeout=30, progress=False)
    probs = problems(n, tag)
    cpu0, t0 = time.process_time(), time.perf_counter()
    out = t.generate(probs, "cot")
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    assert len(out) == n and not any(r.error for r in out), "bench run had failures"
    cost = t.cost()
    return {"concurrency": concurrency, "requests": cost["requests"], "wall_s": round(wall, 3),
            "req_per_s": round(n / wall, 1), "client_cpu_ms_per_req": round(1000 * cpu / n, 3),
            "prompt_kb": round(len(json.dumps(t.prompts.rationale(probs[0], "cot").messages)) / 1024, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    ap.add_argument("--latency", type=float, nargs="+", default=[0.0, 0.05],
                    help="server latency per request, seconds")
    ap.add_argument("--requests", type=int, default=0,
                    help="requests per run (default: enough for ~2-4 s per run)")
    ap.add_argument("--no-cache", action="store_true", help="no on-disk cache (no fsync)")
    ap.add_argument("--out", help="also write the rows as JSON here")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for latency in a.latency:
            proc, url = start_server(latency)
            try:
                run(url, 4, 20, None, "warmup")
                for c in a.concurrency:
                    n = a.requests or (max(100, 30 * c) if latency == 0 else
                                       max(40, min(1000, int(3 * c / latency))))
                    cache = None if a.no_cache else Path(tmp) / f"c{latency}-{c}.jsonl"
                    row = {"latency_s": latency, **run(url, c, n, cache, f"{latency}-{c}")}
                    if latency:
                        row["efficiency"] = round(row["req_per_s"] / (c / latency), 3)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
            finally:
                proc.terminate()
                proc.wait()
    print("\n| server latency | concurrency | requests | req/s | client CPU ms/req | of ideal |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        eff = f"{100 * r['efficiency']:.0f}%" if "efficiency" in r else "-"
        print(f"| {1000 * r['latency_s']:.0f} ms | {r['concurrency']} | {r['requests']} | "
              f"{r['req_per_s']} | {r['client_cpu_ms_per_req']} | {eff} |")
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
