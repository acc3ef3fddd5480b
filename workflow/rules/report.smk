rule report:
    """Tables from the MLflow runs (never from ad-hoc files); `snakemake report` reruns it alone."""
    input:
        evaluations(),
    output:
        f"{R}/report/summary.md",
        f"{R}/report/summary.csv",
    params:
        config=CONFIG_JSON,
        out=lambda w, output: str(Path(output[0]).parent),
    log:
        f"{R}/logs/report.log",
    benchmark:
        f"{R}/benchmarks/report.tsv"
    threads: 1
    conda:
        CONDA_ENV
    shell:
        "gdbench stage report --config {params.config:q} --out {params.out:q} > {log:q} 2>&1"
