"""Data sets as `Problem` records: the real benchmarks and a synthetic generator.

    from mathdistill import data
    data.DATASETS                                   # ("gsm8k", "svamp", ..., "synthetic")
    test = data.load("gsm8k", "test")               # 1319 problems, ids "gsm8k/test/<i>"
    few = data.load("svamp", "test", limit=5)
    train = data.load("synthetic", "train", n=2000, seed=0, max_steps=4, difficulty=1)
    data.data_dir()                 # arg > $MATHDISTILL_DATA > ../shared/data > fetch cache
    data.skipped("asdiv", "test")                   # ASDiv problems left out (not one number)

Loaders: `mathdistill.data.loaders`; paths: `mathdistill.data.paths`; the generator
(`generate`, `perturb`, `extend`): `mathdistill.data.synthetic`; the public sources, pinned
revisions and sha256 of every data file: `mathdistill.data.sources`; downloading them
(`python -m mathdistill data fetch`): `mathdistill.data.fetch`.
"""

from mathdistill.data.loaders import DATASETS, REGISTRY, SPLITS, load, skipped
from mathdistill.data.paths import ENV_VAR, cache_dir, data_dir, data_file

__all__ = ["DATASETS", "ENV_VAR", "REGISTRY", "SPLITS", "cache_dir", "data_dir", "data_file",
           "load", "skipped"]
