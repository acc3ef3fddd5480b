rule train_baseline:
    input:
        data=dataset_flag,
        tracking=f"{R}/tracking_ready.json",
        # ImageNet backbone weights, placed by hand: missing, the DAG stops before any job runs
        weights=lambda w: spec(w)["model"].get("pretrained") or [],
    output:
        f"{R}/{{experiment}}/baseline/seed{{seed}}/train/model.pt",
    params:
        config=CONFIG_JSON,
        settings=settings,
        out=lambda w, output: str(Path(output[0]).parent),
        gpus=gpus,
    log:
        f"{R}/logs/train_baseline/{{experiment}}/seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/train_baseline/{{experiment}}/seed{{seed}}.tsv"
    threads: 1
    conda:
        CONDA_ENV
    resources:
        gpu=gpus,
    shell:
        "gdbench stage train_baseline --config {params.config:q} --experiment {wildcards.experiment:q} "
        "--seed {wildcards.seed} --out {params.out:q} --gpus {params.gpus} > {log:q} 2>&1"
