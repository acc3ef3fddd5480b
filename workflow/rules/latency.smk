rule latency:
    """Latency of every evaluated model of an experiment (p50/p90/p99 per runtime, CPU threads and
    batch, gdbench.timing), once they all exist. It takes every core the DAG has (`threads:
    workflow.cores`), so Snakemake starts it only when no other job runs and starts none beside it:
    no training shares its cores while it times (unless latency.alone is false)."""
    input:
        config=CONFIG_INPUT,
        tracking=[] if QUEUED else ancient(f"{R}/tracking_ready.json"),
        evaluations=lambda w: evaluations(w.experiment),
    output:
        f"{R}/{{experiment}}/latency/latency.json",
    params:
        settings=job_settings("latency"),
        out=lambda w, output: str(Path(output[0]).parent),
        gpus=job_gpus("latency"),
    log:
        f"{R}/logs/latency/{{experiment}}.log",
    benchmark:
        f"{R}/benchmarks/latency/{{experiment}}.tsv"
    # every core, so that nothing runs beside it; latency.alone: false (the test suite) shares one
    threads: lambda w: workflow.cores if EXPERIMENTS[w.experiment]["latency"]["alone"] else 1
    conda:
        CONDA_ENV
    resources:
        gpu=job_gpus("latency"),
        runtime=job_request("latency", "runtime"),
        mem_mb=job_request("latency", "mem_mb"),
    shell:
        "gdbench stage latency --config {input.config:q} --settings {params.settings} "
        "--experiment {wildcards.experiment:q} --evaluations {input.evaluations:q} --out {params.out:q} "
        "--gpus {params.gpus} > {log:q} 2>&1"
