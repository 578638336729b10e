"""The command line, end to end through `main([...])`: prepare -> teach -> filter -> solve."""

import json

import pytest

from mathdistill.cli import main
from mathdistill.io import read_json, read_jsonl


def run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_gsm8k_pipeline(tmp_path, data_dir, capsys):
    problems, raw = tmp_path / "gsm8k.jsonl", tmp_path / "raw.jsonl"
    kept, stats, solved = tmp_path / "kept.jsonl", tmp_path / "stats.json", tmp_path / "s.jsonl"

    rc, out, _ = run(capsys, "prepare", "--dataset", "gsm8k", "--split", "train", "--out",
                     problems, "--limit", 40, "--data-dir", data_dir)
    assert rc == 0 and "wrote 40" in out
    rows = read_jsonl(problems)
    assert len(rows) == 40 and rows[0]["id"] == "gsm8k/train/0"

    rc, out, _ = run(capsys, "teach", "--teacher", "annotated", "--strategy", "pot",
                     "--problems", problems, "--out", raw)
    assert rc == 0
    rationales = read_jsonl(raw)
    with_ann = sum("<<" in r["gold"]["solution"] for r in rows)
    assert len(rationales) == with_ann and f"wrote {with_ann} pot rationales" in out
    assert all(r["strategy"] == "pot" and r["correct"] is None for r in rationales)

    rc, out, _ = run(capsys, "filter", "--in", raw, "--out", kept, "--stats", stats)
    assert rc == 0
    s = read_json(stats)
    assert s["kept"] + s["dropped"] == len(rationales) and s["kept"] > 0
    assert f"kept {s['kept']}, dropped {s['dropped']}" in out and "drop rate" in out
    kept_rows = read_jsonl(kept)
    assert len(kept_rows) == s["kept"] and all(r["correct"] for r in kept_rows)

    # solve the raw file: every row answered, the same verdicts as filter
    rc, out, _ = run(capsys, "solve", "--strategy", "pot", "--in", raw, "--out", solved)
    assert rc == 0
    solved_rows = read_jsonl(solved)
    assert [r["id"] for r in solved_rows] == [r["id"] for r in rationales]
    assert sum(r["correct"] for r in solved_rows) == s["kept"]
    assert f"{s['kept']} of {len(rationales)} correct" in out


@pytest.mark.parametrize("strategy", ["cot", "eot", "l2m"])
def test_synthetic_pipeline(tmp_path, capsys, strategy):
    problems, raw, kept = tmp_path / "syn.jsonl", tmp_path / "raw.jsonl", tmp_path / "kept.jsonl"
    rc, _, _ = run(capsys, "prepare", "--dataset", "synthetic", "--split", "train", "--out",
                   problems, "--n", 12, "--seed", 5)
    assert rc == 0 and len(read_jsonl(problems)) == 12
    assert run(capsys, "teach", "--strategy", strategy, "--problems", problems,
               "--out", raw, "--n", 2, "-o", "repeat=true")[0] == 0
    assert len(read_jsonl(raw)) == 24
    rc, out, _ = run(capsys, "filter", "--in", raw, "--out", kept)
    assert rc == 0 and "kept 24, dropped 0" in out


def test_solve_predictions_without_answers(tmp_path, capsys):
    inp, out_path = tmp_path / "pred.jsonl", tmp_path / "out.jsonl"
    rows = [{"id": "a", "strategy": "pot", "text": "x = 6\nanswer = x * 7", "answer": 42},
            {"id": "b", "strategy": "cot", "text": "So the answer is 5.", "answer": 6},
            {"id": "c", "strategy": "pot", "text": "answer = (", "extra": 1},
            {"id": "d", "strategy": "eot", "text": "a = 2\nans = a + 1"}]
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rc, out, _ = run(capsys, "solve", "--in", inp, "--out", out_path)
    assert rc == 0
    got = read_jsonl(out_path)
    assert [(g["pred"], g["correct"], g["error"]) for g in got] == [
        (pytest.approx(42.0), True, None), (5.0, False, None), (None, None, "syntax"),
        (pytest.approx(3.0), None, None)]
    assert got[2]["extra"] == 1
    assert "3 of 4 texts answered, 1 of 2 correct" in out


def _error(capsys, *argv):
    rc, out, err = run(capsys, *argv)
    assert rc == 2, (out, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def test_missing_file(tmp_path, capsys):
    missing = tmp_path / "nope.jsonl"
    err = _error(capsys, "teach", "--strategy", "cot", "--problems", missing,
                 "--out", tmp_path / "o.jsonl")
    assert f"{missing}: file not found" in err
    assert not (tmp_path / "o.jsonl").exists()
    err = _error(capsys, "prepare", "--dataset", "gsm8k", "--split", "train",
                 "--out", tmp_path / "o.jsonl", "--data-dir", tmp_path / "nodata")
    assert "nodata" in err


def test_malformed_lines_name_file_and_line(tmp_path, capsys):
    bad_json = tmp_path / "bad.jsonl"
    good = {"id": "a", "question": "?", "answer": 1, "strategy": "cot", "text": "1"}
    bad_json.write_text(json.dumps(good) + '\n{"id": \n')
    err = _error(capsys, "filter", "--in", bad_json, "--out", tmp_path / "o.jsonl")
    assert f"{bad_json}:2:" in err

    bad_record = tmp_path / "rec.jsonl"
    ok = {"id": "p", "dataset": "gsm8k", "question": "?", "answer": 1}
    bad_record.write_text(json.dumps(ok) + "\n\n" + json.dumps({"id": "q"}) + "\n")
    err = _error(capsys, "teach", "--strategy", "pot", "--problems", bad_record,
                 "--out", tmp_path / "o.jsonl")
    assert f"{bad_record}:3:" in err and "missing field" in err

    no_text = tmp_path / "notext.jsonl"
    no_text.write_text('{"id": "a", "strategy": "cot"}\n')
    assert f"{no_text}:1:" in _error(capsys, "solve", "--in", no_text, "--out", tmp_path / "o")
    no_strategy = tmp_path / "nostrat.jsonl"
    no_strategy.write_text('{"id": "a", "text": "The answer is 1."}\n')
    err = _error(capsys, "solve", "--in", no_strategy, "--out", tmp_path / "o")
    assert f"{no_strategy}:1:" in err and "--strategy" in err


def test_bad_names(tmp_path, capsys):
    problems = tmp_path / "p.jsonl"
    problems.write_text(json.dumps({"id": "svamp/test/0", "dataset": "svamp",
                                    "question": "?", "answer": 3}) + "\n")
    err = _error(capsys, "teach", "--teacher", "nope", "--strategy", "cot",
                 "--problems", problems, "--out", tmp_path / "o.jsonl")
    assert "unknown teacher 'nope'" in err
    err = _error(capsys, "teach", "--strategy", "cot", "--problems", problems,
                 "--out", tmp_path / "o.jsonl")
    assert "svamp/test/0" in err and "no annotations" in err
    assert main(["teach", "--strategy", "tot", "--problems", str(problems),
                 "--out", "x"]) == 2  # argparse usage error
    assert main(["frobnicate"]) == 2


def test_prepare_bad_options(tmp_path, capsys):
    out = tmp_path / "o.jsonl"
    assert "unknown dataset 'nope'" in _error(capsys, "prepare", "--dataset", "nope",
                                              "--split", "test", "--out", out)
    assert "synthetic" in _error(capsys, "prepare", "--dataset", "gsm8k", "--split", "test",
                                 "--out", out, "--n", 3)
    _error(capsys, "prepare", "--dataset", "gsm8k", "--split", "validation", "--out", out)
    _error(capsys, "prepare", "--dataset", "synthetic", "--split", "train", "--out", out,
           "--n", 3, "--min-steps", 0)
    assert not out.exists()


def test_filter_bad_rows_name_file_and_line(tmp_path, capsys):
    good = {"id": "a", "question": "?", "answer": 1, "strategy": "cot", "text": "The answer is 1."}
    for bad, match in [({**good, "strategy": "tot"}, "strategy 'tot' is not one of"),
                       ({**good, "answer": True}, "answer must be"),
                       ({**good, "text": 5}, "'text' must be a string")]:
        path = tmp_path / "r.jsonl"
        path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
        err = _error(capsys, "filter", "--in", path, "--out", tmp_path / "o.jsonl")
        assert f"{path}:2: " in err and match in err, err
    assert not (tmp_path / "o.jsonl").exists()


def test_output_errors_name_the_output(tmp_path, capsys):
    problems = tmp_path / "p.jsonl"
    problems.write_text(json.dumps({"id": "a", "dataset": "x", "question": "?", "answer": 1,
                                    "gold": {"steps": [{"var": "a", "expr": "1",
                                                        "text": "a is 1."}]}}) + "\n")
    err = _error(capsys, "teach", "--strategy", "cot", "--problems", problems,
                 "--out", tmp_path)  # a directory
    assert f"{tmp_path}: Is a directory" in err and ".tmp" not in err


def test_help_shows_examples(capsys):
    rc, out, _ = run(capsys, "--help")
    assert rc == 0 and "examples:" in out and "mathdistill filter --in" in out
    rc, out, _ = run(capsys, "--version")
    assert rc == 0 and out.startswith("mathdistill 0.")
    for command in ("prepare", "teach", "filter", "solve"):
        rc, out, _ = run(capsys, command, "--help")
        assert rc == 0 and f"usage: mathdistill {command}" in out


# ---------------------------------------------------------------- the stage commands
SUBCOMMANDS = ["prepare", "teach", "filter", "solve", "data fetch", "data verify",
               "build-student", "train", "predict", "evaluate", "build-round",
               "siked generate", "fdd pool", "fdd generate", "tailored exam",
               "tailored feedback", "tailored train"]


def test_every_command_has_help(capsys):
    rc, out, _ = run(capsys, "--help")
    for command in {c.split()[0] for c in SUBCOMMANDS}:
        assert f"    {command} " in out or f"    {command}\n" in out, command
    for command in SUBCOMMANDS:
        rc, out, _ = run(capsys, *command.split(), "--help")
        assert rc == 0 and f"usage: mathdistill {command}" in out, command


@pytest.fixture(scope="module")
def teacher_files(tmp_path_factory):
    """Synthetic train problems and the annotated teacher's filtered rationales per strategy."""
    root = tmp_path_factory.mktemp("teacher")
    train = root / "train.jsonl"
    assert main(["prepare", "--dataset", "synthetic", "--split", "train", "--out", str(train),
                 "--n", "30", "--seed", "3", "--max-steps", "3"]) == 0
    files = {}
    for s in ("cot", "pot", "eot", "l2m"):
        raw, kept = root / f"{s}.raw.jsonl", root / f"{s}.jsonl"
        assert main(["teach", "--strategy", s, "--problems", str(train), "--out", str(raw)]) == 0
        assert main(["filter", "--in", str(raw), "--out", str(kept)]) == 0
        files[s] = kept
    return train, files


def test_build_round_equals_the_workflow_stage(tmp_path, teacher_files, capsys):
    from mathdistill.stages.rounds import build_round

    _, files = teacher_files
    for kind, strategies in [("single", ["pot"]), ("etd", ["cot", "pot", "eot"]),
                             ("combined", ["cot", "pot", "l2m"])]:
        out, ref = tmp_path / f"{kind}.jsonl", tmp_path / f"{kind}.ref.jsonl"
        rc, stdout, _ = run(capsys, "build-round", "--type", kind, "--strategies",
                            ",".join(strategies), "--rationales",
                            *[files[s] for s in strategies], "--out", out, "--seed", 1)
        n = build_round({"type": kind, "strategies": strategies, "options": {}}, 0,
                        {"rationales": [str(files[s]) for s in strategies]}, ref, seed=1)
        assert rc == 0 and f"{kind} round 0: {n} examples" in stdout and n > 0
        assert out.read_bytes() == ref.read_bytes()

    rc, stdout, _ = run(capsys, "build-round", "--type", "siked", "--strategies", "cot,pot,l2m",
                        "--rationales", files["cot"], files["pot"], files["l2m"],
                        "--out", tmp_path / "siked" / "mixed.jsonl")
    assert rc == 0 and read_json(tmp_path / "siked" / "mix_stats.json")["alpha"] == 1.0


def test_fdd_steps(tmp_path, teacher_files, capsys):
    """pool -> (a hand-made exam) -> generate with the annotated teacher -> D_1."""
    train, files = teacher_files
    pool, exam = tmp_path / "pool.jsonl", tmp_path / "exam.jsonl"
    rc, out, _ = run(capsys, "fdd", "pool", "--train", train, "--d0", files["pot"],
                     "--out", pool, "--limit", 10, "--seed", 1)
    problems = read_jsonl(pool)
    assert rc == 0 and len(problems) == 10 and "10 questions" in out
    exam.write_text("".join(json.dumps(
        {"id": p["id"], "dataset": p["dataset"], "strategy": "pot", "text": "",
         "pred": p["answer"] if i % 2 else None, "correct": bool(i % 2), "error": None,
         "answer": p["answer"]}) + "\n" for i, p in enumerate(problems)))
    rc, out, _ = run(capsys, "fdd", "generate", "--pool", pool, "--exam", exam, "--previous",
                     files["pot"], "--round", 1, "--out-dir", tmp_path, "-m", "k=1",
                     "-m", "min_agree=1")
    stats = read_json(tmp_path / "fdd_stats.json")
    assert rc == 0 and stats["easy"] == 5 and stats["hard"] == 5 and stats["generated"] > 0
    assert len(read_jsonl(tmp_path / "programs.jsonl")) == stats["rationales_added"]
    rc, out, _ = run(capsys, "build-round", "--type", "fdd", "--strategies", "pot", "--round", 1,
                     "--rationales", files["pot"], tmp_path / "programs.jsonl",
                     "--out", tmp_path / "mixed.jsonl")
    n_d0 = len(read_jsonl(files["pot"]))
    assert rc == 0 and len(read_jsonl(tmp_path / "mixed.jsonl")) == \
        n_d0 + stats["rationales_added"]
    rc, out, _ = run(capsys, "fdd", "pool", "--pool", pool, "--exam", exam, "--generated",
                     tmp_path / "generated.jsonl", "--out", tmp_path / "pool2.jsonl")
    assert rc == 0 and len(read_jsonl(tmp_path / "pool2.jsonl")) == 5 + stats["generated"]


def test_tailored_round_data(tmp_path, teacher_files, capsys):
    """A hand-made exam (every other question wrong) -> round 0 data; feedback -> round 1."""
    train, files = teacher_files
    cot = read_jsonl(files["cot"])[:8]
    exam = [{**r, "source": "student", "text": r["text"] if i % 2 else "The answer is 0.",
             "correct": bool(i % 2), "pred": r["answer"] if i % 2 else 0.0}
            for i, r in enumerate(cot)]
    (tmp_path / "exam.jsonl").write_text("".join(json.dumps(r) + "\n" for r in exam))
    mistakes = {r["id"]: [r["text"]] for r in exam if not r["correct"]}
    (tmp_path / "mistakes.json").write_text(json.dumps(mistakes))
    common = ["--type", "tailored", "--strategies", "cot", "--exam", tmp_path / "exam.jsonl",
              "--mistakes", tmp_path / "mistakes.json"]
    rc, out, _ = run(capsys, "build-round", *common, "--round", 0, "--rationales", files["cot"],
                     "--positives", files["l2m"], "--out", tmp_path / "r0" / "mixed.jsonl")
    stats = read_json(tmp_path / "r0" / "tailored_stats.json")
    assert rc == 0 and stats["exam"]["questions_with_mistakes"] == 4
    assert stats["data"]["examples"] == len(read_jsonl(files["cot"]))

    rc, out, _ = run(capsys, "tailored", "feedback", "--train", train, "--mistakes",
                     tmp_path / "mistakes.json", "--out", tmp_path / "feedback.jsonl")
    feedback = read_jsonl(tmp_path / "feedback.jsonl")
    assert rc == 0 and {r["id"] for r in feedback} == set(mistakes)
    rc, out, _ = run(capsys, "build-round", *common, "--round", 1, "--feedback",
                     tmp_path / "feedback.jsonl", "--out", tmp_path / "r1" / "mixed.jsonl")
    assert rc == 0 and "tailored round 1: " in out
    assert 0 < len(read_jsonl(tmp_path / "r1" / "mixed.jsonl")) <= len(feedback)


def test_evaluate(tmp_path, capsys):
    from mathdistill.metrics import compute
    from mathdistill.records import Prediction

    rows = [{"id": str(i), "dataset": "d", "strategy": "pot", "text": "", "pred": float(i),
             "correct": i < 3, "error": None if i < 4 else "syntax", "answer": 1.0}
            for i in range(5)]
    preds = tmp_path / "p.jsonl"
    preds.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rc, out, _ = run(capsys, "evaluate", "--predictions", preds, "--out", tmp_path / "m.json",
                     "--meta", "method=potd", "--meta", "round=0")
    metrics = read_json(tmp_path / "m.json")
    assert rc == 0 and "accuracy 60.0% (3 of 5)" in out
    assert metrics == {"method": "potd", "round": 0,
                       **compute([Prediction.from_dict(r) for r in rows])}
    preds.write_text(json.dumps(rows[0]) + "\n" + json.dumps(rows[0]) + "\n")
    assert "predicted more than once" in _error(capsys, "evaluate", "--predictions", preds,
                                                "--out", tmp_path / "m2.json")


def test_bad_options_are_caught_before_any_model_loads(tmp_path, teacher_files, capsys):
    """Every error below would otherwise surface only after loading `nomodel`."""
    _, files = teacher_files
    train = ["train", "--base", tmp_path / "nomodel", "--examples", files["pot"],
             "--out", tmp_path / "ckpt"]
    err = _error(capsys, *train, "-o", "epochs=eight")
    assert "-o epochs: TrainConfig.epochs must be float, got 'eight'" in err
    cfg = tmp_path / "train.yaml"
    cfg.write_text("epochs: 3\nlearning_rate: 0.1\n")
    err = _error(capsys, *train, "--config", cfg)
    assert f"{cfg}: key 'learning_rate': TrainConfig has no field 'learning_rate'" in err
    cfg.write_text("epochs: [3\n")
    assert f"{cfg}:2: invalid YAML" in _error(capsys, *train, "--config", cfg)
    assert "unknown lora keys ['rank']" in _error(capsys, *train, "--lora", "rank=4")
    assert "TrainConfig.batch_size must be >= 1" in _error(capsys, *train, "-o", "batch_size=0")
    assert not (tmp_path / "ckpt").exists()

    predict = ["predict", "--checkpoint", tmp_path / "nomodel", "--problems", files["pot"],
               "--out", tmp_path / "p.jsonl"]
    assert "give --strategy (one strategy) or --type" in _error(capsys, *predict)
    assert "max_new_tokens must be >= 1" in _error(capsys, *predict, "--strategy", "pot",
                                                   "-o", "max_new_tokens=0")
    assert "GenerationConfig.do_sample must be bool" in _error(
        capsys, *predict, "--strategy", "pot", "-o", "do_sample=yes")
    assert "strategies ['l2m'] are not in the fallback order" in _error(
        capsys, *predict, "--type", "etd", "--strategies", "pot,l2m")
    assert "siked: unknown option(s) ['kk']" in _error(
        capsys, "siked", "generate", "--checkpoint", tmp_path / "nomodel", "--problems",
        files["pot"], "--round", 1, "--out", tmp_path / "s.jsonl", "-m", "kk=2")
    assert "rounds >= 1, not 0" in _error(
        capsys, "siked", "generate", "--checkpoint", tmp_path / "nomodel", "--problems",
        files["pot"], "--round", 0, "--out", tmp_path / "s.jsonl")
    assert "tailored options: unknown ['lamda']" in _error(
        capsys, "tailored", "train", "--base", tmp_path / "nomodel", "--examples", files["cot"],
        "--out", tmp_path / "ckpt", "-m", "lamda=0.5")

    rnd = ["build-round", "--out", tmp_path / "m.jsonl"]
    assert "--rationales required for --type single" in _error(
        capsys, *rnd, "--type", "single", "--strategies", "pot")
    assert "--exam and --mistakes required for --type tailored" in _error(
        capsys, *rnd, "--type", "tailored", "--strategies", "cot", "--rationales", files["cot"])
    assert "--self-samples required for siked round 1" in _error(
        capsys, *rnd, "--type", "siked", "--strategies", "cot", "--round", 1,
        "--rationales", files["cot"])
    assert "learns one strategy" in _error(capsys, *rnd, "--type", "fdd", "--strategies",
                                           "pot,cot", "--rationales", files["pot"])
    assert "--strategies is required" in _error(capsys, *rnd, "--type", "single",
                                                 "--rationales", files["pot"])
    assert "give --train and --d0" in _error(capsys, "fdd", "pool", "--out", tmp_path / "p")
    assert "unknown preset 'tiny-gpt9'" in _error(
        capsys, "build-student", "--preset", "tiny-gpt9", "--train", files["pot"],
        "--out", tmp_path / "b")
    assert not (tmp_path / "m.jsonl").exists()


@pytest.mark.slow
def test_tiny_student_end_to_end(tmp_path, teacher_files, capsys, one_torch_thread):
    """build-student -> build-round -> train -> predict (one strategy and ETD's fallback)
    -> evaluate; SIKeD self-samples; Tailored exam -> round data -> train: a tiny-t5 student,
    a few steps each (the CLI runs the stages; their quality is tested elsewhere)."""
    train, files = teacher_files
    test = tmp_path / "test.jsonl"
    assert main(["prepare", "--dataset", "synthetic", "--split", "test", "--out", str(test),
                 "--n", "6", "--seed", "4"]) == 0
    base, gen = tmp_path / "base", ["-o", "max_new_tokens=24", "-o", "progress=false"]
    rc, out, _ = run(capsys, "build-student", "--preset", "tiny-t5", "--train", train,
                     "--out", base, "-o", "vocab_size=300")
    assert rc == 0 and (base / "config.json").is_file()

    mixed = tmp_path / "etd" / "mixed.jsonl"
    assert run(capsys, "build-round", "--type", "etd", "--strategies", "cot,pot,eot",
               "--rationales", files["cot"], files["pot"], files["eot"], "--out", mixed)[0] == 0
    ckpt = tmp_path / "etd" / "checkpoint"
    rc, out, _ = run(capsys, "train", "--base", base, "--examples", mixed, "--out", ckpt,
                     "-o", "max_steps=3", "-o", "batch_size=8", "-o", "logging_steps=1",
                     "--meta", "method=etd")
    log = read_json(tmp_path / "etd" / "train_log.json")
    assert rc == 0 and log["steps"] == 3 and log["method"] == "etd" and len(log["losses"]) == 3
    assert f"checkpoint {ckpt}" in out

    preds = tmp_path / "etd" / "pot.jsonl"
    rc, out, _ = run(capsys, "predict", "--checkpoint", ckpt, "--problems", test,
                     "--strategy", "pot", "--out", preds, *gen)
    assert rc == 0 and len(read_jsonl(preds)) == 6 and " of 6 correct" in out
    fallback = tmp_path / "etd" / "etd.jsonl"
    rc, out, _ = run(capsys, "predict", "--checkpoint", ckpt, "--problems", test,
                     "--type", "etd", "--out", fallback, *gen)
    rows = read_jsonl(fallback)
    assert rc == 0 and len(rows) == 6 and set(rows[0]["meta"]["queried"]) == {"cot", "pot", "eot"}
    rc, out, _ = run(capsys, "evaluate", "--predictions", fallback, "--out", tmp_path / "m.json")
    assert rc == 0 and set(read_json(tmp_path / "m.json")["queried_as"]) == {"cot", "pot", "eot"}

    samples = tmp_path / "siked" / "self_samples.jsonl"
    rc, out, _ = run(capsys, "siked", "generate", "--checkpoint", ckpt, "--problems", train,
                     "--round", 1, "--out", samples, "-m", "k=2", "-m", "questions=3",
                     "-m", "max_new_tokens=16", *gen)
    got = read_jsonl(samples)
    assert rc == 0 and len(got) == 3 * 3 * 2 and all(r["source"] == "student" for r in got)

    tl = tmp_path / "tl"
    rc, out, _ = run(capsys, "tailored", "exam", "--model", base, "--train", train,
                     "--round", 0, "--out-dir", tl, "-m", "exam_limit=4", *gen)
    assert rc == 0 and len(read_jsonl(tl / "exam.jsonl")) == 4 * 4  # upstream: 4 samples each
    assert run(capsys, "build-round", "--type", "tailored", "--strategies", "cot",
               "--rationales", files["cot"], "--exam", tl / "exam.jsonl", "--mistakes",
               tl / "mistakes.json", "--out", tl / "mixed.jsonl")[0] == 0
    rc, out, _ = run(capsys, "tailored", "train", "--base", base, "--examples",
                     tl / "mixed.jsonl", "--out", tl / "checkpoint", "-o", "max_steps=2",
                     "-o", "batch_size=4", "-o", "logging_steps=1", "-m", "lambda=0.5")
    log = read_json(tl / "train_log.json")
    assert rc == 0 and log["steps"] == 2 and len(log["sr_losses"]) == 2
