"""Rule tailored_feedback: the teacher's rationale for each of the student's mistakes."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.tailored import feedback
from mathdistill.workflow.settings import full

with log_to(snakemake.log[0]):
    p = snakemake.params
    options = full("teacher", p.teacher["options"], snakemake.config, {"teacher": p.teacher["name"]})
    feedback(snakemake.input.train, snakemake.input.mistakes, snakemake.output.feedback,
             teacher=p.teacher["backend"], teacher_options=options, options=p.options,
             cost_out=snakemake.output.cost)
