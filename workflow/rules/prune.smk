rule prune:
    """Tick-Tock (or another method), one job per experiment × method × seed, writing every FLOPs
    save point."""
    input:
        config=CONFIG_INPUT,
        baseline=f"{R}/{{experiment}}/baseline/seed{{seed}}/train/model.pt",
        data=dataset_flag,
    output:
        f"{R}/{{experiment}}/{{method}}/seed{{seed}}/prune/prune.json",
    params:
        settings=job_settings("prune"),
        out=lambda w, output: str(Path(output[0]).parent),
        gpus=job_gpus("prune"),
    log:
        f"{R}/logs/prune/{{experiment}}/{{method}}/seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/prune/{{experiment}}/{{method}}/seed{{seed}}.tsv"
    threads: 1
    conda:
        CONDA_ENV
    resources:
        gpu=job_gpus("prune"),
        runtime=job_request("prune", "runtime"),
        mem_mb=job_request("prune", "mem_mb"),
    shell:
        "gdbench stage prune --config {input.config:q} --settings {params.settings} "
        "--experiment {wildcards.experiment:q} "
        "--method {wildcards.method:q} --seed {wildcards.seed} --baseline {input.baseline:q} "
        "--out {params.out:q} --gpus {params.gpus} > {log:q} 2>&1"


rule save_point:
    """One save point of a prune job as a file of its own: the checkpoint each fine-tune and
    scratch job loads is then its declared input (a prune job writes a variable number of them,
    which one rule's outputs cannot list)."""
    input:
        f"{R}/{{experiment}}/{{method}}/seed{{seed}}/prune/prune.json",
    output:
        f"{R}/{{experiment}}/{{method}}/{{target}}/seed{{seed}}/save_point/model.pt",
    params:
        source=lambda w, input: str(Path(input[0]).parent / f"flops_{w.target}.pt"),
    log:
        f"{R}/logs/save_point/{{experiment}}/{{method}}/{{target}}/seed{{seed}}.log",
    localrule: True
    conda:
        CONDA_ENV
    shell:
        "cp {params.source:q} {output:q} > {log:q} 2>&1"
