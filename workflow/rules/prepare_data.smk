rule prepare_data:
    """Generated data (smoke) or the real dataset's download and checks; the flag marks it done."""
    input:
        config=CONFIG_INPUT,
    output:
        f"{R}/data_ready/{{dataset}}.json",
    params:
        per_class=lambda w: next((e["data"].get("synthetic_per_class", 0) for e in EXPERIMENTS.values()
                                  if e["data"]["dataset"] == w.dataset), 0),
        settings=lambda w: fingerprint({"data_root": RUN["data_root"], "synthetic_data": RUN["synthetic_data"]}),
    log:
        f"{R}/logs/prepare_data/{{dataset}}.log",
    benchmark:
        f"{R}/benchmarks/prepare_data/{{dataset}}.tsv"
    threads: 1
    conda:
        CONDA_ENV
    shell:
        "gdbench stage prepare_data --config {input.config:q} --dataset {wildcards.dataset:q} "
        "--flag {output:q} --per-class {params.per_class} > {log:q} 2>&1"

