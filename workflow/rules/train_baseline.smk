rule train_baseline:
    """The unpruned model, one per experiment and seed, then its one evaluation on the test set
    (in the same job: one process start per model)."""
    input:
        config=CONFIG_INPUT,
        data=dataset_flag,
        # the store must exist before parallel jobs log; a new experiment re-creates it, which
        # must not retrain the existing ones. Jobs that only queue their runs (log_at: report)
        # never open it: then the report job waits for it instead, and training starts without it
        tracking=[] if QUEUED else ancient(f"{R}/tracking_ready.json"),
        # ImageNet backbone weights: the fetch_weights rule downloads torchvision's files into
        # weights/; any other path is placed by hand, and missing it stops the DAG before any job
        weights=lambda w: spec(w)["model"].get("pretrained") or [],
    output:
        model=f"{R}/{{experiment}}/baseline/seed{{seed}}/train/model.pt",
        evaluation=f"{R}/{{experiment}}/baseline/seed{{seed}}/evaluate/evaluate.json",
    params:
        settings=job_settings("train_baseline"),
        out=lambda w, output: str(Path(output.model).parent),
        gpus=job_gpus("train_baseline"),
    log:
        f"{R}/logs/train_baseline/{{experiment}}/seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/train_baseline/{{experiment}}/seed{{seed}}.tsv"
    threads: 1
    conda:
        CONDA_ENV
    resources:
        gpu=job_gpus("train_baseline"),
        runtime=job_request("train_baseline", "runtime"),
        mem_mb=job_request("train_baseline", "mem_mb"),
    shell:
        "gdbench stage train_baseline --config {input.config:q} --settings {params.settings} "
        "--experiment {wildcards.experiment:q} "
        "--seed {wildcards.seed} --out {params.out:q} --evaluate --gpus {params.gpus} > {log:q} 2>&1"
