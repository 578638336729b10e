"""Papers' own test splits and gold rules that the local files do not give directly.

    from mathdistill import data
    data.load("asdiv", "test", all_problems=True)   # SIKeD: all 2,305 ASDiv problems
    data.load("multiarith", "chilled_test")          # SIKeD: the 180-problem MultiArith split
    data.load("multiarith", "chilled_train")         # its 420 other problems (Tailored [D])
    chilled_split("test")                            # its 180 positions in MultiArith.json
    data.load("svamp", "chilled_test")               # ChilleD/SVAMP 300 (700 train) [D]

ASDiv, all problems (SIKeD §4: "ASDiv ... with 2,300 test samples"; the authors' code [C],
github.com/shivam0109/SIKeD inference/inference_all_checkpoints.py `load_asdiv`): every
problem is scored. Gold = the `Answer` text without its parenthesised parts (`9 (apples)` ->
9) when that is a number; otherwise the first integer after the last `=` of the `Formula`
(`12:16=3:4` -> 3, `4+5=9 apples < 10 apples` -> 9): of the 2,305 problems 2,084 get the
same gold as the single-number subset, 217 a formula-derived number, and 4 none (the code's
-2048 sentinel, never matched; here the label "[unscorable] <answer>", which no number
matches). The accuracy denominator is all 2,305 problems (the code divides by the row
count before dropping anything). `gold["answer_rule"]` says which rule gave the gold:
"number" | "formula" | "none". The paper is silent on all of this; the code is explicit.

MultiArith, 180 problems (SIKeD §4: "MultiArith ... with 180 samples"): the authors' code
loads `datasets.load_dataset('ChilleD/MultiArith', split='test')` [C], a 420/180 split of the
600 problems. It is derived from the local MultiArith.json by a committed list of positions
(`splits/chilled_multiarith.yaml`, with how it was verified against a public copy of
ChilleD's files; `chilled_split`), and every load checks that the selected problems are
those of the reference copy (a digest of their question/answer lines): a different local
file stops with a DataError. Ho et al.'s 420/180 split (reasoning-teacher) is another one.
ChilleD/SVAMP (700/300, fields as SVAMP.json), the train split Tailored Learning needs for
its SVAMP student (spec §2.8-4, [D]), is not derivable here: the loader reads it from the
data dir (`svamp/chilled/{train,test}.json`) and stops with a message naming the public
source when it is absent (`SOURCES`).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path

from mathdistill.data.paths import FETCH_HINT
from mathdistill.io import DataError, iter_jsonl, read_yaml

__all__ = ["SOURCES", "chilled_split", "json_rows", "missing_message", "siked_asdiv_gold",
           "split_digest"]

# (dataset, split) -> the public source of a file the data fetch provides
SOURCES: dict[tuple[str, str], str] = {
    ("svamp", "chilled_test"): "https://huggingface.co/datasets/ChilleD/SVAMP "
                               "(its test split, 300 problems, SVAMP.json's fields)",
    ("svamp", "chilled_train"): "https://huggingface.co/datasets/ChilleD/SVAMP "
                                "(its train split, 700 problems, SVAMP.json's fields)",
}

_PARENS = re.compile(r"\s*\(.*?\)")
_INT = re.compile(r"\d+")


def siked_asdiv_gold(answer_text: str, formula: str | None) -> tuple[float | str, str]:
    """(gold, rule) of one ASDiv problem by the SIKeD authors' rule (module docstring)."""
    text = _PARENS.sub("", answer_text)
    try:
        value = float(text)  # Python's float(), as the authors' code: " 9 " and "-2.5" parse
        if math.isfinite(value):
            return value, "number"
    except ValueError:
        pass
    m = _INT.search((formula or "").split("=")[-1])
    if m:
        return float(m.group()), "formula"
    return f"[unscorable] {answer_text.strip()}", "none"


def missing_message(path: Path, name: str, split: str) -> str:
    """The error for an absent data file; names the public source when there is one."""
    msg = f"{path}: data file not found (dataset {name!r}, split {split!r})"
    source = SOURCES.get((name, split))
    if not source:
        return f"{msg}; `{FETCH_HINT} --datasets {name}` downloads it"
    return (f"{msg}. This split is not derivable from the local files: it comes from "
            f"{source}. Put it into the data dir as {path.name} in {path.parent}")


def json_rows(path: Path) -> list:
    """The records of a JSON array file or a JSON-lines file (HF dataset exports use both)."""
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}:{e.lineno}: invalid JSON: {e.msg}") from None
        return rows
    return [row for _, row in iter_jsonl(path)]


_SPLIT_FILE = resources.files("mathdistill.data") / "splits" / "chilled_multiarith.yaml"


@cache
def _chilled() -> dict:
    data = read_yaml(_SPLIT_FILE)
    positions = [*data["test"], *data["train"]]
    if sorted(positions) != list(range(600)) or len(data["test"]) != 180:
        raise DataError(f"{_SPLIT_FILE}: test + train must be a 180/420 partition of 0..599")
    return data


def chilled_split(split: str) -> list[int]:
    """ChilleD/MultiArith's `split` ("test": 180, "train": 420) as positions into the local
    MultiArith.json, in ChilleD's row order."""
    if split not in ("test", "train"):
        raise ValueError(f"ChilleD/MultiArith has splits test and train, not {split!r}")
    return list(_chilled()[split])


def split_digest(rows: Sequence[tuple[str, str]]) -> str:
    """sha256 of the sorted "question<TAB>answer" lines (the split file's `digest`)."""
    lines = sorted(f"{q.strip()}\t{a}" for q, a in rows)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def check_chilled(path: Path, split: str, rows: Sequence[tuple[str, str]]) -> None:
    """DataError unless `rows` (question, answer string) are the reference copy's."""
    want = _chilled()["digest"][split]
    if split_digest(rows) != want:
        raise DataError(f"{path}: the ChilleD/MultiArith {split} problems selected from this "
                        f"file differ from the reference split ({_SPLIT_FILE}): this is not "
                        "the MultiArith.json the split was derived from (data.sources pins it)")
