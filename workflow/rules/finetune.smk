rule finetune:
    input:
        pruned=f"{R}/{{experiment}}/{{method}}/seed{{seed}}/prune/prune.json",
    output:
        f"{R}/{{experiment}}/{{method}}/{{target}}/seed{{seed}}/finetune/train/model.pt",
    params:
        config=CONFIG_JSON,
        settings=settings,
        checkpoint=lambda w, input: str(Path(input.pruned).parent / f"flops_{w.target}.pt"),
        out=lambda w, output: str(Path(output[0]).parent),
        gpus=gpus,
    log:
        f"{R}/logs/finetune/{{experiment}}/{{method}}/{{target}}/seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/finetune/{{experiment}}/{{method}}/{{target}}/seed{{seed}}.tsv"
    threads: 1
    conda:
        CONDA_ENV
    resources:
        gpu=gpus,
    shell:
        "gdbench stage finetune --config {params.config:q} --experiment {wildcards.experiment:q} "
        "--method {wildcards.method:q} --target {wildcards.target} --seed {wildcards.seed} "
        "--pruned {params.checkpoint:q} --out {params.out:q} --gpus {params.gpus} > {log:q} 2>&1"
