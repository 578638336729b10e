# tiny-* students: a random-init model of the preset's family with a tokenizer trained on
# the prepared train set (questions + reference solutions). Every method and round starts
# from this one directory, so all methods share the same tokenizer and initial weights.
# (The corpus does not include teacher rationales: the base model must not depend on any
# one strategy's data.)


rule build_student:
    input:
        train=f"{R}/data/train.jsonl",
    output:
        directory(f"{R}/students/{{student}}/base"),
    params:
        preset=lambda w: GRID.students[w.student]["model"],
        options=lambda w: canon(GRID.students[w.student].get("build", {})),
        seed=GRID.seed,
        code=JOBS.code("build_student"),
    log:
        f"{R}/logs/build_student/{{student}}.log",
    conda:
        "../envs/torch.yaml"
    threads: res("default", "threads")
    script:
        "../workflow/scripts/build_student.py"
