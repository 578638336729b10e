# mathdistill: distil math reasoning from a teacher LLM into small students.
#   snakemake --cores 2            # the embedded default (config/config.yaml), tables in results/tables/
#   snakemake -n                   # dry run: the jobs that would run
# DAG: prepare_data -> teacher_generate -> filter_rationales -> train (the round's examples,
#      then fine-tuning)
#      -> predict (per model: predictions + metrics of each eval set) -> tables, claims
#      (+ build_student for tiny-*)
# The grid, config checks and code digests are library code (src/mathdistill/workflow/);
# rules/common.smk wires them in.
import os
import sys

from snakemake.utils import min_version

min_version("8.20")


# The embedded default applies only when no --configfile is given: `--configfile
# config/paper.yaml` replaces it (several files merge in order, e.g. `--configfile
# config/config.yaml my-overrides.yaml`); `--config key=value` overrides either. Job steps
# (SLURM) get the same --configfiles from Snakemake, so they load the same config.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


# The library of this checkout: imported here, and by the scripts (PYTHONPATH; nothing
# needs to be installed inside the rule envs).
SRC = os.path.join(workflow.basedir, "src")
sys.path.insert(0, SRC)
_paths = [SRC, os.environ.get("PYTHONPATH")]
os.environ.update(PYTHONPATH=os.pathsep.join(p for p in _paths if p))

from mathdistill.workflow.data_check import DataMissing, check_data
from mathdistill.workflow.jobs import Jobs
from mathdistill.workflow.validate import ConfigError, check_config

# Every config problem at once (file, line, key path), then the data files: a bad config
# or missing data stops here, before any job is planned. (A config the schema accepted
# before is not validated again: .snakemake/mathdistill/valid-configs.json.)
try:
    GRID = check_config(
        config,
        list(workflow.overwrite_configfiles) or list(workflow.configfiles),
        workflow.config_settings.config,
        schema=os.path.join(workflow.basedir, "config", "schema.yaml"),
        cache_file=".snakemake/mathdistill/valid-configs.json",
    )
    check_data(GRID)
except (ConfigError, DataMissing) as e:
    sys.exit(f"mathdistill: {e}")
# Code digests (params `code`); each file's analysis is kept in .snakemake/ between runs.
JOBS = Jobs(GRID, workflow.basedir, cache_file=".snakemake/mathdistill/code-analysis.json")


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/teacher.smk"
include: "rules/students.smk"
include: "rules/siked.smk"
include: "rules/reuse.smk"
include: "rules/fdd.smk"
include: "rules/tailored.smk"
include: "rules/tailored_eval.smk"
include: "rules/train.smk"
include: "rules/predict.smk"
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
