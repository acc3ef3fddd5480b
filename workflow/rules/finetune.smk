rule finetune:
    """A pruned checkpoint trained on: triangular lr, no sparsity term (authors' code)."""
    input:
        config=CONFIG_INPUT,
        pruned=f"{R}/{{experiment}}/{{method}}/{{target}}/seed{{seed}}/save_point/model.pt",
        data=dataset_flag,
    output:
        f"{R}/{{experiment}}/{{method}}/{{target}}/seed{{seed}}/finetune/train/model.pt",
    params:
        settings=job_settings("finetune"),
        out=lambda w, output: str(Path(output[0]).parent),
        gpus=job_gpus("finetune"),
    log:
        f"{R}/logs/finetune/{{experiment}}/{{method}}/{{target}}/seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/finetune/{{experiment}}/{{method}}/{{target}}/seed{{seed}}.tsv"
    threads: 1
    conda:
        CONDA_ENV
    resources:
        gpu=job_gpus("finetune"),
    shell:
        "gdbench stage finetune --config {input.config:q} --settings {params.settings} "
        "--experiment {wildcards.experiment:q} "
        "--method {wildcards.method:q} --target {wildcards.target} --seed {wildcards.seed} "
        "--pruned {input.pruned:q} --out {params.out:q} --gpus {params.gpus} > {log:q} 2>&1"
