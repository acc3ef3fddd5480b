rule scratch:
    """The pruned architecture re-initialised: Scratch-E (baseline epochs) or Scratch-B
    (baseline compute), Liu et al. 2019; then its one evaluation, in the same job."""
    input:
        config=CONFIG_INPUT,
        pruned=f"{R}/{{experiment}}/{{method}}/{{target}}/seed{{seed}}/save_point/model.pt",
        baseline=f"{R}/{{experiment}}/baseline/seed{{seed}}/train/model.pt",
        data=dataset_flag,
    output:
        model=f"{R}/{{experiment}}/{{method}}/{{target}}/seed{{seed}}/{{variant}}/train/model.pt",
        evaluation=f"{R}/{{experiment}}/{{method}}/{{target}}/seed{{seed}}/{{variant}}/evaluate/evaluate.json",
    params:
        settings=job_settings("scratch"),
        out=lambda w, output: str(Path(output.model).parent),
        gpus=job_gpus("scratch"),
    log:
        f"{R}/logs/scratch/{{experiment}}/{{method}}/{{target}}/seed{{seed}}/{{variant}}.log",
    benchmark:
        f"{R}/benchmarks/scratch/{{experiment}}/{{method}}/{{target}}/seed{{seed}}/{{variant}}.tsv"
    threads: 1
    conda:
        CONDA_ENV
    resources:
        gpu=job_gpus("scratch"),
        runtime=job_request("scratch", "runtime"),
        mem_mb=job_request("scratch", "mem_mb"),
    shell:
        "gdbench stage scratch --config {input.config:q} --settings {params.settings} "
        "--experiment {wildcards.experiment:q} "
        "--method {wildcards.method:q} --target {wildcards.target} --seed {wildcards.seed} "
        "--variant {wildcards.variant} --pruned {input.pruned:q} --baseline {input.baseline:q} "
        "--out {params.out:q} --gpus {params.gpus} > {log:q} 2>&1"
