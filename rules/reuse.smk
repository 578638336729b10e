# Round-0 reuse: methods.<name>.round0_from names the run whose round 0 this method's round
# 0 is (SIKeD: a combined method; FDD, and Tailored Learning without self-reflection: a
# single method on the same strategy, e.g. potd / cotd). Its
# round-0 checkpoint (same seed) is copied instead of training the same model again (rule
# reuse_round0), and its predictions folder when the generation settings, eval strategy
# and eval sets match (reuse_predictions, which scores the copies: metrics with this run's
# meta). The
# method's own `train` overrides then apply to rounds >= 1 only.
# Which runs reuse what: mathdistill.workflow.grid.Grid.round0_from.


ruleorder: reuse_round0 > train
ruleorder: reuse_round0 > siked_train
ruleorder: reuse_round0 > fdd_train
ruleorder: reuse_round0 > tailored_train
ruleorder: reuse_predictions > predict_multi
ruleorder: reuse_predictions > predict


rule reuse_round0:
    wildcard_constraints:
        method=only(GRID.reuse_round0),
        round="0",
    input:
        checkpoint=lambda w: JOBS.reused(w.method, w.student, "checkpoint"),
        log_json=lambda w: JOBS.reused(w.method, w.student, "train_log.json"),
    output:
        checkpoint=directory(f"{R}/{{method}}/{{student}}/round{{round}}/checkpoint"),
        log_json=f"{R}/{{method}}/{{student}}/round{{round}}/train_log.json",
    params:
        meta=lambda w: {**round_meta(w), "reused_from": GRID.round0_from(w.method)},
        code=JOBS.code("reuse_round0"),
    log:
        f"{R}/logs/reuse_round0/{{method}}/{{student}}/round{{round}}.log",
    conda:
        "../envs/data.yaml"
    priority: round_priority
    threads: 1
    script:
        "../workflow/scripts/reuse_round0.py"


rule reuse_predictions:
    wildcard_constraints:
        method=only(GRID.reuse_predictions),
        round="0",
    input:
        predictions=lambda w: JOBS.reused(w.method, w.student, "predictions"),
    output:
        predictions=directory(f"{R}/{{method}}/{{student}}/round{{round}}/predictions"),
        metrics=directory(f"{R}/{{method}}/{{student}}/round{{round}}/metrics"),
    params:
        datasets=eval_sets,
        meta=round_meta,
        code=JOBS.code("reuse_predictions"),
    log:
        f"{R}/logs/reuse_predictions/{{method}}/{{student}}/round{{round}}.log",
    conda:
        "../envs/data.yaml"
    threads: 1
    script:
        "../workflow/scripts/reuse_predictions.py"
