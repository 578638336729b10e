"""Where every data file comes from: the one registry of public sources, pinned revisions
and sha256 checksums (`python -m mathdistill data fetch` downloads from it).

    from mathdistill.data import sources
    sources.DATASETS                      # ("gsm8k", "svamp", "asdiv", ...)
    for f in sources.files(["gsm8k"]):    # DataFile records
        f.path, f.sha256, f.urls()        # "gsm8k/train.jsonl", "17f3...", ["https://..."]
    f.urls(mirror="http://host/data")     # ["http://host/data/gsm8k/train.jsonl"]

`DataFile.path` is the file's place in the data directory (`../shared/data`, the fetch
cache, or a `--mirror` serving the same layout), so the loaders (`data.loaders.REGISTRY`)
and the fetcher name files the same way. A file may have several URLs: they are tried in
order and every copy must have the pinned sha256 (a URL is only a place to get those bytes).

Adding a file (e.g. a paper's train/test split): append a `DataFile` to `FILES` with its
dataset name, its path in the data dir, its sha256 and size, and one or more
`(Source, path at the source)` pairs; a new host is a `Source` (`github()` for a repository
at a commit). Record in `Source.verified` how the checksum was checked against that source.

How the pins below were verified (the machine that pinned them reaches no GitHub, so each source
was read from a stored snapshot of the public repository): every file's git blob id at the
pinned commit equals `git hash-object` of the file in ../shared/data (byte-identical
content), and the sha256 of those blobs equals the pinned sha256. The CommonsenseQA files
come from the authors' S3 bucket (not versioned): their sha256 are the ones ParlAI pins for
the same URLs (facebookresearch/ParlAI, parlai/tasks/commonsenseqa/build.py), and the same
bytes are in the zero_shot_cot repository at the pinned commit, the fallback URL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["DATASETS", "FILES", "DataFile", "Source", "files", "github"]


@dataclass(frozen=True)
class Source:
    """A host of data files: `base` + a file's path at the source is its URL."""

    name: str
    base: str  # ends with "/"
    revision: str  # the pinned git commit, or what pins an unversioned host
    verified: str  # how the checksums were checked against this source

    def url(self, remote: str) -> str:
        return self.base + remote


def github(repo: str, commit: str, verified: str) -> Source:
    """A GitHub repository at a pinned commit (raw file URLs)."""
    return Source(repo, f"https://raw.githubusercontent.com/{repo}/{commit}/", commit, verified)


@dataclass(frozen=True)
class DataFile:
    """One file of the data directory and where to download it."""

    dataset: str
    path: str  # relative to the data dir (and to a --mirror URL)
    sha256: str
    size: int  # bytes
    remotes: tuple[tuple[Source, str], ...]  # (source, path at the source), tried in order
    license: str

    def urls(self, mirror: str | None = None) -> list[str]:
        """The URLs to try: the sources' (in order), or the one under `mirror`."""
        if mirror:
            return [f"{mirror.rstrip('/')}/{self.path}"]
        return [source.url(remote) for source, remote in self.remotes]


_BLOB = ("git blob id of each file at this commit == git hash-object of the ../shared/data "
         "copy; sha256 of the blob == the pinned sha256 (stored snapshot of the repository)")

GSM8K = github("openai/grade-school-math", "3101c7d5072418e28b9008a6636bde82a006892c", _BLOB)
SVAMP = github("arkilpatel/SVAMP", "689d7ccac74b9983a2ac7cc3b264f441b99e7c53", _BLOB)
ASDIV = github("chaochun/nlu-asdiv-dataset", "883f90a9a65bf00304ba8f37423910fe743abc47", _BLOB)
# Kojima et al. (Zero-shot CoT) keep unmodified copies of MultiArith (Roy & Roth 2015, whose
# own host is not a versioned repository), CommonsenseQA and BIG-bench's StrategyQA task.
ZERO_SHOT_COT = github("kojima-takeshi188/zero_shot_cot",
                       "5ef330fcdeec0cd26aee27943504f91f8ec1c33c", _BLOB)
CSQA_S3 = Source(
    "CommonsenseQA (authors' S3 bucket)", "https://s3.amazonaws.com/commensenseqa/",
    "unversioned: pinned by sha256",
    "sha256 == the checksums facebookresearch/ParlAI pins for these URLs "
    "(parlai/tasks/commonsenseqa/build.py); same bytes as zero_shot_cot@5ef330f")

_GSM = "grade_school_math/data/"
_ZS = "dataset/"

FILES: tuple[DataFile, ...] = (
    DataFile("gsm8k", "gsm8k/train.jsonl",
             "17f347dc51477c50d4efb83959dbb7c56297aba886e5544ee2aaed3024813465", 4166206,
             ((GSM8K, _GSM + "train.jsonl"),), "MIT"),
    DataFile("gsm8k", "gsm8k/test.jsonl",
             "3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14", 749738,
             ((GSM8K, _GSM + "test.jsonl"),), "MIT"),
    DataFile("gsm8k", "gsm8k/test_socratic.jsonl",
             "c96673362fa7a699f4836a9b6474a067448f95fe58064727501ee63ba4c3fdb6", 972978,
             ((GSM8K, _GSM + "test_socratic.jsonl"),), "MIT"),
    DataFile("gsm8k", "gsm8k/LICENSE",
             "86bbb73e855821d7c401912fd4bf82e34313e6e3b6fd6f909f2b6cc9e209a53b", 1062,
             ((GSM8K, "LICENSE"),), "MIT"),
    DataFile("svamp", "svamp/SVAMP.json",
             "5be77703a6d891ae476d7c082787ad361392aa02453b132516cdd5f4e7934e3e", 339970,
             ((SVAMP, "SVAMP.json"),), "MIT"),
    DataFile("svamp", "svamp/LICENSE",
             "07ce3a34de7a865345634f9278bc26ddcacc2d0defd348c28e3f4603448b9ba4", 1068,
             ((SVAMP, "LICENSE"),), "MIT"),
    DataFile("asdiv", "asdiv/ASDiv.xml",
             "ef8904068482919ac48c8eeaaf6df344b8a308ba66d048c2d4d87eab82dc4929", 947401,
             ((ASDIV, "dataset/ASDiv.xml"),), "CC BY-NC 4.0"),
    DataFile("multiarith", "multiarith/MultiArith.json",
             "dc9db1b6cc68b1ecc2dec830d15aaf8c9a0932aa31d5ffce88ef3628179d36f4", 254012,
             ((ZERO_SHOT_COT, _ZS + "MultiArith/MultiArith.json"),), "research use"),
    DataFile("csqa", "csqa/train_rand_split.jsonl",
             "58ffa3c8472410e24b8c43f423d89c8a003d8284698a6ed7874355dedd09a2fb", 3785890,
             ((CSQA_S3, "train_rand_split.jsonl"),
              (ZERO_SHOT_COT, _ZS + "CommonsenseQA/train_rand_split.jsonl")), "MIT"),
    DataFile("csqa", "csqa/dev_rand_split.jsonl",
             "3210497fdaae614ac085d9eb873dd7f4d49b6f965a93adadc803e1229fd8a02a", 471653,
             ((CSQA_S3, "dev_rand_split.jsonl"),
              (ZERO_SHOT_COT, _ZS + "CommonsenseQA/dev_rand_split.jsonl")), "MIT"),
    DataFile("strategyqa", "strategyqa/task.json",
             "60af9081fed20102fd8bb1e02dc7d9f12238efcba33e4c1a56b4d61cb6409803", 854248,
             ((ZERO_SHOT_COT, _ZS + "StrategyQA/task.json"),), "Apache-2.0"),
)

DATASETS: tuple[str, ...] = tuple(dict.fromkeys(f.dataset for f in FILES))


def files(datasets: Iterable[str] | None = None) -> list[DataFile]:
    """The registry's files of `datasets` (all when None/empty); ValueError naming an
    unknown data set and the known ones."""
    if not datasets:
        return list(FILES)
    wanted: Sequence[str] = list(dict.fromkeys(datasets))
    unknown = [d for d in wanted if d not in DATASETS]
    if unknown:
        raise ValueError(f"unknown data set {unknown[0]!r}; known: "
                         f"{', '.join(DATASETS)} (synthetic needs no download)")
    return [f for f in FILES if f.dataset in wanted]
