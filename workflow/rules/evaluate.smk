rule evaluate_baseline:
    input:
        model=f"{R}/{{experiment}}/baseline/seed{{seed}}/train/model.pt",
    output:
        f"{R}/{{experiment}}/baseline/seed{{seed}}/evaluate/evaluate.json",
    params:
        config=CONFIG_JSON,
        out=lambda w, output: str(Path(output[0]).parent),
    log:
        f"{R}/logs/evaluate/{{experiment}}/baseline/seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/evaluate/{{experiment}}/baseline/seed{{seed}}.tsv"
    threads: 1
    conda:
        CONDA_ENV
    resources:
        gpu=1,
    shell:
        "gdbench stage evaluate --config {params.config:q} --experiment {wildcards.experiment:q} "
        "--stage-name baseline --seed {wildcards.seed} --model {input.model:q} "
        "--baseline {input.model:q} --out {params.out:q} --gpus 1 > {log:q} 2>&1"


rule evaluate:
    """The test set, once per trained model, with FLOPs and params reductions vs its baseline."""
    input:
        model=f"{R}/{{experiment}}/{{method}}/{{target}}/seed{{seed}}/{{stage}}/train/model.pt",
        baseline=f"{R}/{{experiment}}/baseline/seed{{seed}}/train/model.pt",
    output:
        f"{R}/{{experiment}}/{{method}}/{{target}}/seed{{seed}}/{{stage}}/evaluate/evaluate.json",
    params:
        config=CONFIG_JSON,
        out=lambda w, output: str(Path(output[0]).parent),
    log:
        f"{R}/logs/evaluate/{{experiment}}/{{method}}/{{target}}/seed{{seed}}/{{stage}}.log",
    benchmark:
        f"{R}/benchmarks/evaluate/{{experiment}}/{{method}}/{{target}}/seed{{seed}}/{{stage}}.tsv"
    threads: 1
    conda:
        CONDA_ENV
    resources:
        gpu=1,
    shell:
        "gdbench stage evaluate --config {params.config:q} --experiment {wildcards.experiment:q} "
        "--stage-name {wildcards.stage} --seed {wildcards.seed} --method {wildcards.method:q} "
        "--target {wildcards.target} --model {input.model:q} --baseline {input.baseline:q} "
        "--out {params.out:q} --gpus 1 > {log:q} 2>&1"
