rule finetune:
    """A pruned checkpoint trained on: triangular lr, no sparsity term (authors' code); then its
    one evaluation on the test set against the same seed's baseline, in the same job. A
    compute-matched method (`<method>_matched`) also takes Gate Decorator's save point of the same
    target and seed, whose recorded training epochs its fine-tuning matches."""
    input:
        config=CONFIG_INPUT,
        pruned=f"{R}/{{experiment}}/{{method}}/{{target}}/seed{{seed}}/save_point/model.pt",
        baseline=f"{R}/{{experiment}}/baseline/seed{{seed}}/train/model.pt",
        data=dataset_flag,
        budget=budget_source,
    output:
        model=f"{R}/{{experiment}}/{{method}}/{{target}}/seed{{seed}}/finetune/train/model.pt",
        evaluation=f"{R}/{{experiment}}/{{method}}/{{target}}/seed{{seed}}/finetune/evaluate/evaluate.json",
    params:
        settings=job_settings("finetune"),
        out=lambda w, output: str(Path(output.model).parent),
        gpus=job_gpus("finetune"),
        budget=lambda w, input: str(input.budget) if input.budget else "",
    log:
        f"{R}/logs/finetune/{{experiment}}/{{method}}/{{target}}/seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/finetune/{{experiment}}/{{method}}/{{target}}/seed{{seed}}.tsv"
    threads: 1
    conda:
        CONDA_ENV
    resources:
        gpu=job_gpus("finetune"),
        runtime=job_request("finetune", "runtime"),
        mem_mb=job_request("finetune", "mem_mb"),
    shell:
        "gdbench stage finetune --config {input.config:q} --settings {params.settings} "
        "--experiment {wildcards.experiment:q} "
        "--method {wildcards.method:q} --target {wildcards.target} --seed {wildcards.seed} "
        "--pruned {input.pruned:q} --baseline {input.baseline:q} --out {params.out:q} "
        "--gpus {params.gpus} --budget-of={params.budget:q} > {log:q} 2>&1"
