rule prepare_data:
    output:
        f"{R}/data_ready/{{dataset}}.json",
    params:
        config=CONFIG_JSON,
        per_class=lambda w: next((e["data"].get("synthetic_per_class", 0) for e in EXPERIMENTS.values()
                                  if e["data"]["dataset"] == w.dataset), 0),
    log:
        f"{R}/logs/prepare_data/{{dataset}}.log",
    benchmark:
        f"{R}/benchmarks/prepare_data/{{dataset}}.tsv"
    threads: 1
    conda:
        CONDA_ENV
    shell:
        "gdbench stage prepare_data --config {params.config:q} --dataset {wildcards.dataset:q} "
        "--flag {output:q} --per-class {params.per_class} > {log:q} 2>&1"


rule init_tracking:
    """Create the MLflow store and its experiments before any parallel job logs to it."""
    output:
        f"{R}/tracking_ready.json",
    params:
        config=CONFIG_JSON,
        experiments=lambda w: sorted(EXPERIMENTS),
    log:
        f"{R}/logs/init_tracking.log",
    benchmark:
        f"{R}/benchmarks/init_tracking.tsv"
    threads: 1
    conda:
        CONDA_ENV
    shell:
        "gdbench stage init_tracking --config {params.config:q} > {log:q} 2>&1 && "
        "echo '{{\"experiments\": \"{params.experiments}\"}}' > {output:q}"
