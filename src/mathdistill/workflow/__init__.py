"""The workflow's grid as a library: what the Snakefile plans, checked before any job.

    from mathdistill.workflow.validate import check_config
    from mathdistill.workflow.data_check import check_data
    from mathdistill.workflow.jobs import Jobs
    grid = check_config(config, ["config/config.yaml"], schema="config/schema.yaml")
    check_data(grid)                   # the data sets' files are there (DataMissing if not)
    jobs = Jobs(grid, root=".")
    jobs.metrics()                     # every metrics file: runs x students x rounds x sets
    jobs.code("train")                 # digest of workflow/scripts/train.py + its library

Modules: `grid` (method runs per seed, students, rounds, eval sets, teachers, round-0
reuse, each rule's experiment settings), `jobs` (paths, input files, code digests),
`closure` (the library modules a script runs; normalised-source digests), `settings`
(experiment vs operational settings; what a job reads from the config), `validate` (JSON
Schema + grid checks, every error with its file and line), `data_check` (data files
present), `resources` (local per-rule resources, visible GPUs). Snakemake is not needed
to import any of them; rules/common.smk wires them in.

This package file imports nothing: workflow scripts import `workflow.settings`, and their
code digests must not depend on the planning modules.
"""
