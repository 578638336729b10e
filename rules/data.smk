# Stage 1: load each data set split (train set + eval sets) into Problem JSONL. The data
# directory (config data_dir, $MATHDISTILL_DATA, ../shared/data) is where the files are,
# not what they are: it is read from the config in the job, not a param.


rule prepare_data:
    output:
        f"{R}/data/{{dataset}}.jsonl",
    params:
        spec=lambda w: GRID.loader(w.dataset),
        code=JOBS.code("prepare_data"),
    log:
        f"{R}/logs/prepare_data/{{dataset}}.log",
    conda:
        "../envs/data.yaml"
    threads: res("default", "threads")
    script:
        "../workflow/scripts/prepare_data.py"
