rule init_tracking:
    """Create the MLflow store and its experiments before any parallel job logs to it."""
    input:
        config=CONFIG_INPUT,
    output:
        f"{R}/tracking_ready.json",
    params:
        experiments=lambda w: sorted(EXPERIMENTS),
        tracking_uri=RUN["mlflow"]["tracking_uri"] or "",
    log:
        f"{R}/logs/init_tracking.log",
    benchmark:
        f"{R}/benchmarks/init_tracking.tsv"
    threads: 1
    conda:
        CONDA_ENV
    shell:
        "gdbench stage init_tracking --config {input.config:q} > {log:q} 2>&1 && "
        "echo '{{\"experiments\": \"{params.experiments}\"}}' > {output:q}"
