"""How long a teach job takes to give up on a broken endpoint, with the default options.

    python bench/teacher_giveup.py                        # 200 problems, concurrency 8 and 1
    python bench/teacher_giveup.py --problems 50 --concurrency 8 --out giveup.json

Cases: "dead" (nothing listens on the port: connection refused), "blackhole" (a port whose
listen queue is full: connects time out after connect_timeout), "401" (the fake server
rejects the key), "500" (the fake server answers 500 to every request: retried
`max_attempts` times each, until `max_failed_streak` requests in a row gave up) and "drop"
(the server closes every connection without answering). Each run goes through
`stages.teacher.teach` (TeacherJob), so the time includes writing the cost record; the
number of requests sent is the fake server's count (the cost ledger's for "dead").
Numbers depend on the machine's load.
"""

from __future__ import annotations

import argparse
import json
import socket
import tempfile
import time
from pathlib import Path

from mathdistill.io import read_json, write_jsonl
from mathdistill.records import Problem
from mathdistill.stages.teacher import teach
from mathdistill.teachers.fake_server import FakeOpenAIServer, fault_plan
from mathdistill.teachers.job import TeacherFailed


def free_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/v1"


def one(case: str, n_problems: int, concurrency: int, tmp: Path) -> dict:
    probs = [Problem(id=f"g/{i}", dataset="g", answer=1.0, question=f"Q{i}: what is 1?")
             for i in range(n_problems)]
    write_jsonl(tmp / "p.jsonl", probs)
    srv, hole = None, None
    if case == "dead":
        url = free_url()
    elif case == "blackhole":
        hole, filler = socket.socket(), socket.socket()
        hole.bind(("127.0.0.1", 0))
        hole.listen(0)
        filler.connect(hole.getsockname())  # takes the one queue slot; nothing is accepted
        url = f"http://127.0.0.1:{hole.getsockname()[1]}/v1"
    else:
        faults = None if case == "401" else fault_plan([], always=["what is"], always_kind="500")
        if case == "drop":
            faults = fault_plan(["drop"], rate=1.0, attempts=10**6)
        srv = FakeOpenAIServer(faults=faults, api_key="right" if case == "401" else None).start()
        url = srv.url
    opts = {"model": "fake-model", "base_url": url, "cache": str(tmp / "c.jsonl"),
            "concurrency": concurrency, "progress": False,
            "api_key": "wrong" if case == "401" else "EMPTY"}
    out = tmp / "t" / "raw.jsonl"
    t0 = time.perf_counter()
    try:
        teach(tmp / "p.jsonl", "openai", "cot", out, options=opts)
        message = "exited 0"
    except TeacherFailed as e:
        message = str(e)
    took = time.perf_counter() - t0
    cost = read_json(out.parent / "cost.json")
    sent = sum(srv.requests().values()) if srv else cost["ledger"]["requests"]
    if srv:
        srv.stop()
    if hole:
        hole.close()
        filler.close()
    return {"case": case, "concurrency": concurrency, "problems": n_problems,
            "seconds_to_give_up": round(took, 2), "requests": sent,
            "status": cost.get("status"), "names_url": url in message,
            "message": message[:300]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", type=int, default=200)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[8, 1])
    ap.add_argument("--cases", nargs="+", default=["dead", "blackhole", "401", "drop", "500"])
    ap.add_argument("--out", help="write the rows as JSON here")
    a = ap.parse_args(argv)
    rows = []
    for case in a.cases:
        for c in a.concurrency:
            with tempfile.TemporaryDirectory() as d:
                rows.append(one(case, a.problems, c, Path(d)))
            r = rows[-1]
            print(f"{case:>5} c={c}: gave up after {r['seconds_to_give_up']:.1f} s, "
                  f"{r['requests']} requests, status {r['status']}, URL named: "
                  f"{r['names_url']}", flush=True)
    if a.out:
        Path(a.out).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
