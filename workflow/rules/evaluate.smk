rule evaluate_baseline:
    """The test set, once, for the unpruned model."""
    input:
        config=CONFIG_INPUT,
        model=f"{R}/{{experiment}}/baseline/seed{{seed}}/train/model.pt",
        data=dataset_flag,
    output:
        f"{R}/{{experiment}}/baseline/seed{{seed}}/evaluate/evaluate.json",
    params:
        settings=job_settings("evaluate"),
        out=lambda w, output: str(Path(output[0]).parent),
        gpus=job_gpus("evaluate"),
    log:
        f"{R}/logs/evaluate/{{experiment}}/baseline/seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/evaluate/{{experiment}}/baseline/seed{{seed}}.tsv"
    threads: 1
    conda:
        CONDA_ENV
    resources:
        gpu=job_gpus("evaluate"),
    shell:
        "gdbench stage evaluate --config {input.config:q} --settings {params.settings} "
        "--experiment {wildcards.experiment:q} "
        "--stage-name baseline --seed {wildcards.seed} --model {input.model:q} "
        "--baseline {input.model:q} --out {params.out:q} --gpus {params.gpus} > {log:q} 2>&1"


rule evaluate:
    """The test set, once per trained model, with FLOPs and params reductions vs its baseline."""
    input:
        config=CONFIG_INPUT,
        model=f"{R}/{{experiment}}/{{method}}/{{target}}/seed{{seed}}/{{stage}}/train/model.pt",
        baseline=f"{R}/{{experiment}}/baseline/seed{{seed}}/train/model.pt",
        data=dataset_flag,
    output:
        f"{R}/{{experiment}}/{{method}}/{{target}}/seed{{seed}}/{{stage}}/evaluate/evaluate.json",
    params:
        settings=job_settings("evaluate"),
        out=lambda w, output: str(Path(output[0]).parent),
        gpus=job_gpus("evaluate"),
    log:
        f"{R}/logs/evaluate/{{experiment}}/{{method}}/{{target}}/seed{{seed}}/{{stage}}.log",
    benchmark:
        f"{R}/benchmarks/evaluate/{{experiment}}/{{method}}/{{target}}/seed{{seed}}/{{stage}}.tsv"
    threads: 1
    conda:
        CONDA_ENV
    resources:
        gpu=job_gpus("evaluate"),
    shell:
        "gdbench stage evaluate --config {input.config:q} --settings {params.settings} "
        "--experiment {wildcards.experiment:q} "
        "--stage-name {wildcards.stage} --seed {wildcards.seed} --method {wildcards.method:q} "
        "--target {wildcards.target} --model {input.model:q} --baseline {input.baseline:q} "
        "--out {params.out:q} --gpus {params.gpus} > {log:q} 2>&1"
