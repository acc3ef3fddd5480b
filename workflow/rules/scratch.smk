rule scratch:
    """The pruned architecture re-initialised: Scratch-E (baseline epochs) or Scratch-B
    (baseline compute), Liu et al. 2019."""
    input:
        pruned=f"{R}/{{experiment}}/{{method}}/seed{{seed}}/prune/prune.json",
    output:
        f"{R}/{{experiment}}/{{method}}/{{target}}/seed{{seed}}/{{variant}}/train/model.pt",
    params:
        config=CONFIG_JSON,
        settings=settings,
        checkpoint=lambda w, input: str(Path(input.pruned).parent / f"flops_{w.target}.pt"),
        out=lambda w, output: str(Path(output[0]).parent),
        gpus=gpus,
    log:
        f"{R}/logs/scratch/{{experiment}}/{{method}}/{{target}}/seed{{seed}}/{{variant}}.log",
    benchmark:
        f"{R}/benchmarks/scratch/{{experiment}}/{{method}}/{{target}}/seed{{seed}}/{{variant}}.tsv"
    threads: 1
    conda:
        CONDA_ENV
    resources:
        gpu=gpus,
    shell:
        "gdbench stage scratch --config {params.config:q} --experiment {wildcards.experiment:q} "
        "--method {wildcards.method:q} --target {wildcards.target} --seed {wildcards.seed} "
        "--variant {wildcards.variant} --pruned {params.checkpoint:q} --out {params.out:q} "
        "--gpus {params.gpus} > {log:q} 2>&1"
