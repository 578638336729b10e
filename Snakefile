# mathdistill: distil math reasoning from a teacher LLM into small students.
#   snakemake --cores 2            # the embedded default (config/config.yaml), tables in results/tables/
#   snakemake -n                   # dry run: the jobs that would run
# DAG: prepare_data -> teacher_generate -> filter_rationales -> build_round -> train
#      -> predict (per eval set) -> evaluate -> tables, claims   (+ build_student for tiny-*)
import os

from snakemake.utils import min_version, validate

min_version("8.20")


# The embedded default applies only when no --configfile is given: `--configfile
# config/paper.yaml` replaces it (several files merge in order, e.g. `--configfile
# config/config.yaml my-overrides.yaml`); `--config key=value` overrides either. Job steps
# (SLURM) get the same --configfiles from Snakemake, so they load the same config.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


validate(config, "config/schema.yaml")


report: "report/workflow.rst"

# Scripts import the library from this checkout (no install needed inside rule envs).
_paths = [os.path.join(workflow.basedir, "src"), os.environ.get("PYTHONPATH")]
os.environ.update(PYTHONPATH=os.pathsep.join(p for p in _paths if p))


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/teacher.smk"
include: "rules/students.smk"
include: "rules/methods.smk"
include: "rules/multi.smk"
include: "rules/siked.smk"
include: "rules/reuse.smk"
include: "rules/iterative.smk"
include: "rules/fdd.smk"
include: "rules/tailored.smk"
include: "rules/train.smk"
include: "rules/predict.smk"
include: "rules/evaluate.smk"
include: "rules/report.smk"
include: "rules/paper.smk"


rule all:
    default_target: True
    input:
        rules.tables.output,
        rules.claims.output,
        rules.plots.output,
        rules.paper_tables.output,


onsuccess:
    print_tables([*rules.tables.output, *rules.claims.output])
