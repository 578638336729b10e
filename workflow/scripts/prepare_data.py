"""Rule prepare_data: load one data set split -> Problem JSONL."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.data import prepare

with log_to(snakemake.log[0]):  # data_dir: where the files are (config), not a param
    prepare({**snakemake.params.spec, "data_dir": snakemake.config.get("data_dir")},
            snakemake.output[0])
