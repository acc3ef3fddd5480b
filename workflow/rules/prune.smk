rule prune:
    """Tick-Tock, one job per experiment × method × seed, writing every FLOPs save point."""
    input:
        baseline=f"{R}/{{experiment}}/baseline/seed{{seed}}/train/model.pt",
        data=dataset_flag,
    output:
        f"{R}/{{experiment}}/{{method}}/seed{{seed}}/prune/prune.json",
    params:
        config=CONFIG_JSON,
        settings=settings,
        out=lambda w, output: str(Path(output[0]).parent),
    log:
        f"{R}/logs/prune/{{experiment}}/{{method}}/seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/prune/{{experiment}}/{{method}}/seed{{seed}}.tsv"
    threads: 1
    conda:
        CONDA_ENV
    resources:
        gpu=1,
    shell:
        "gdbench stage prune --config {params.config:q} --experiment {wildcards.experiment:q} "
        "--method {wildcards.method:q} --seed {wildcards.seed} --baseline {input.baseline:q} "
        "--out {params.out:q} --gpus 1 > {log:q} 2>&1"
