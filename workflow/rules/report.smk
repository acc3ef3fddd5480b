rule report:
    """Tables and figures from the MLflow runs (never from ad-hoc files); `snakemake report`
    regenerates them. report.html is report.md in one self-contained file, the paper comparison a
    browser opens on; `snakemake --report report.html` wraps it with the CSVs and figures."""
    input:
        config=CONFIG_INPUT,
        evaluations=evaluations(),
        latency=[f"{R}/{name}/latency/latency.json" for name in EXPERIMENTS],
        tracking=ancient(f"{R}/tracking_ready.json"),
    output:
        f"{R}/report/summary.md",
        f"{R}/report/report.md",
        report(f"{R}/report/report.html", caption="../report/comparison.rst", category="1. Paper comparison"),
        report(directory(f"{R}/report/figures"), patterns=["{name}.png"],
               caption="../report/figures.rst", category="3. Figures"),
        report(directory(f"{R}/report/tables"), patterns=["{name}.csv"],
               caption="../report/tables.rst", category="2. Tables"),
    params:
        # the report reads every part of the config (titles, expected numbers, methods, seeds)
        settings=fingerprint(without_cluster(RUN)),  # a scheduler request reruns nothing
        out=lambda w, output: str(Path(output[0]).parent),
    log:
        f"{R}/logs/report.log",
    benchmark:
        f"{R}/benchmarks/report.tsv"
    threads: 1
    conda:
        CONDA_ENV
    resources:
        runtime=job_request("report", "runtime"),
        mem_mb=job_request("report", "mem_mb"),
    shell:
        "gdbench stage report --config {input.config:q} --out {params.out:q} > {log:q} 2>&1"
